"""Server-rendered SVG charts for the pages: pure functions from plain data to SVG text.

No script and no CDN: the SVG is inlined in the page, carries a <title> and a <desc> that
states every figure for screen readers, and uses colours that keep 4.5:1 contrast on white.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

WIDTH = 640
# Text sizes in the SVG's own units; the page never draws a chart narrower than 34rem (544 px), so
# the smallest text stays at 11 px or more on screen (retorno.css, svg.chart).
FONT = 14
SMALL = 13
BAR_HEIGHT = 22
GAP = 8
# An estimate of a character's width at FONT, to leave every label its room (none is cut off).
CHAR_WIDTH = 8.2
# Room for the figure written after a bar.
VALUE_ROOM = 90
# The week chart's plot area.
WEEK_LEFT, WEEK_TOP, WEEK_PLOT_HEIGHT = 64, 30, 200
# Dark, distinguishable colours with at least 4.5:1 contrast against white.
PALETTE = ("#1f4e79", "#8a3b12", "#2d6a2e", "#6b2c91", "#7a5c00", "#00616b")


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, and optionally the total it is a part of (seats of a flight)."""

    label: str
    value: float
    total: float | None = None


# Characters XML 1.0 forbids; a label pasted from a spreadsheet may carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    """Text safe inside SVG: escaped, without the control characters XML cannot hold."""
    return escape(_NOT_XML.sub("", value))


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _svg(title: str, description: str, height: int, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{_text(title)}">'
        f"<title>{_text(title)}</title><desc>{_text(description)}</desc>{''.join(body)}</svg>"
    )


def _empty(title: str, empty_text: str) -> str:
    body = [f'<text x="8" y="28" font-size="{FONT}" fill="#222">{_text(empty_text)}</text>']
    return _svg(title, empty_text, 44, body)


def label_width(labels: Sequence[str]) -> int:
    """Room for the longest bar label at FONT, between a sixth and 45 % of the chart."""
    longest = max((len(label) for label in labels), default=0)
    return math.ceil(min(max(longest * CHAR_WIDTH + 12, WIDTH / 6), WIDTH * 0.45))


def _fit(label: str, room: float) -> str:
    """A label that fits `room` (an ellipsis past it): a chart never cuts a word off at its edge."""
    most = int((room - 12) / CHAR_WIDTH + 1e-9)
    return label if len(label) <= most else label[: max(1, most - 1)] + "…"


def bar_chart(title: str, bars: Sequence[Bar], *, empty_text: str = "sin datos", value_label: str | None = None,
              category_label: str | None = None) -> str:
    """Horizontal bars; a bar with a total is drawn as its share of that total, with 'value / total'.

    `category_label` names what the bars are (heading their labels), `value_label` what they count
    (heading the values, and under the axis that runs from 0 to the largest value or to the total).
    """
    if not bars:
        return _empty(title, empty_text)
    labels_room = label_width([b.label for b in bars] + ([category_label] if category_label else []))
    plot = WIDTH - labels_room - VALUE_ROOM
    largest = max((b.value for b in bars if b.total is None), default=0.0) or 1.0
    top = 24 if value_label or category_label else 0
    body: list[str] = []
    if category_label:
        body.append(f'<text x="{labels_room - 6}" y="16" font-size="{SMALL}" font-weight="bold" text-anchor="end" '
                    f'fill="#222">{_text(_fit(category_label, labels_room))}</text>')
    if value_label:
        body.append(f'<text x="{labels_room}" y="16" font-size="{SMALL}" font-weight="bold" fill="#222">'
                    f"{_text(value_label)}</text>")
    described = []
    for index, bar in enumerate(bars):
        y = top + GAP + index * (BAR_HEIGHT + GAP)
        share = (
            (bar.value / bar.total if bar.total else 0.0) if bar.total is not None else bar.value / largest
        )
        width = max(0.0, min(1.0, share)) * plot
        figure = _number(bar.value) if bar.total is None else f"{_number(bar.value)} / {_number(bar.total)}"
        described.append(f"{bar.label}: {figure}")
        body.append(
            f'<text x="{labels_room - 6}" y="{y + 16}" font-size="{FONT}" text-anchor="end" fill="#222">'
            f"{_text(_fit(bar.label, labels_room))}</text>"
        )
        if bar.total is not None:
            body.append(
                f'<rect x="{labels_room}" y="{y}" width="{plot}" height="{BAR_HEIGHT}" fill="#e6e6e6"/>'
            )
        body.append(
            f'<rect class="bar" x="{labels_room}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{PALETTE[0]}"/>'
        )
        body.append(
            f'<text x="{labels_room + width + 6:.1f}" y="{y + 16}" font-size="{FONT}" fill="#222">'
            f"{_text(figure)}</text>"
        )
    axis = top + GAP + len(bars) * (BAR_HEIGHT + GAP)
    shares = all(b.total is not None for b in bars)
    body.append(f'<line x1="{labels_room}" y1="{axis}" x2="{labels_room + plot}" y2="{axis}" stroke="#222"/>')
    body.append(f'<text x="{labels_room}" y="{axis + 16}" font-size="{SMALL}" fill="#222">0</text>')
    body.append(f'<text x="{labels_room + plot}" y="{axis + 16}" font-size="{SMALL}" text-anchor="end" fill="#222">'
                f'{"100 %" if shares else _number(largest)}</text>')
    return _svg(title, "; ".join(described), axis + 24, body)


def week_chart(
    title: str,
    weeks: Sequence[date],
    series: Mapping[str, Sequence[int | None]],
    *,
    week_label: str = "semana del",
    empty_text: str = "sin datos",
    gap_text: str = "suprimido",
    value_label: str | None = None,
    axis_label: str | None = None,
) -> str:
    """One line per series (a route) over consecutive weeks, with a legend and labelled axes.

    `value_label` names what the vertical axis counts, `axis_label` the weeks along the bottom. A
    week whose value is None (a suppressed figure) is left out: the line breaks there and the
    description says `gap_text`, never 0, which would be a figure nobody counted.
    """
    if not weeks or not series:
        return _empty(title, empty_text)
    left, top, plot_w, plot_h = WEEK_LEFT, WEEK_TOP, WIDTH - WEEK_LEFT - 16, WEEK_PLOT_HEIGHT
    largest = max((v for values in series.values() for v in values if v is not None), default=0) or 1
    step = plot_w / max(1, len(weeks) - 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#222"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#222"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="{SMALL}" text-anchor="end" fill="#222">{largest}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="{SMALL}" text-anchor="end" fill="#222">0</text>',
    ]
    if value_label:
        body.append(f'<text x="{left}" y="{top - 12}" font-size="{SMALL}" font-weight="bold" fill="#222">'
                    f"{_text(value_label)}</text>")
    for index, week in enumerate(weeks):
        if index in (0, len(weeks) - 1) or len(weeks) <= 6:
            x = left + index * step
            # The first and last dates stand inside the plot's edges, never across the chart's.
            anchor = "start" if index == 0 else "end" if index == len(weeks) - 1 else "middle"
            body.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 18}" font-size="{SMALL}" text-anchor="{anchor}" '
                f'fill="#222">{week.isoformat()}</text>'
            )
    below = top + plot_h + 18
    if axis_label:
        below += 20
        body.append(f'<text x="{left + plot_w / 2:.1f}" y="{below}" font-size="{SMALL}" font-weight="bold" '
                    f'text-anchor="middle" fill="#222">{_text(axis_label)}</text>')
    described = []
    for number, (name, values) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        points = [(left + i * step, top + plot_h - (v / largest) * plot_h) if v is not None else None
                  for i, v in enumerate(values)]
        # A move-to after each gap: the line stops at a suppressed week and starts again after it.
        path = "".join(f"{'L' if i and points[i - 1] else 'M'}{point[0]:.1f},{point[1]:.1f}"
                       for i, point in enumerate(points) if point)
        body.append(f'<path class="series" fill="none" stroke="{colour}" stroke-width="3" d="{path}"/>')
        for point in points:
            if point:
                body.append(f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3.5" fill="{colour}"/>')
        legend_y = below + 24 + number * 20
        body.append(f'<rect x="{left}" y="{legend_y - 10}" width="14" height="4" fill="{colour}"/>')
        body.append(f'<text x="{left + 20}" y="{legend_y}" font-size="{FONT}" fill="#222">'
                    f"{_text(_fit(name, plot_w - 20))}</text>")
        described.append(
            f"{name}: "
            + ", ".join(f"{week_label} {w.isoformat()} {gap_text if v is None else v}"
                        for w, v in zip(weeks, values, strict=False))
        )
    height = below + 24 + len(series) * 20
    return _svg(title, "; ".join(described), height, body)
