"""Charts are well-formed accessible SVG drawn to scale; every page text has its English translation."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from retorno.web import charts, i18n

SVG = "{http://www.w3.org/2000/svg}"
labels = st.text(min_size=1, max_size=30)


@given(st.lists(st.tuples(labels, st.integers(0, 10_000)), min_size=1, max_size=20))
def test_bars_are_drawn_to_scale_and_every_figure_is_described(bars: list[tuple[str, int]]) -> None:
    svg = charts.bar_chart("Casos <por> estado", [charts.Bar(label, value) for label, value in bars])
    root = ET.fromstring(svg)
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(widths) == len(bars)
    largest = max(v for _, v in bars)
    plot = charts.WIDTH - charts.label_width([label for label, _ in bars]) - charts.VALUE_ROOM
    for width, (_, value) in zip(widths, bars, strict=True):
        assert 0 <= width <= plot
        if largest:
            assert abs(width - value / largest * plot) < 0.1
    assert root.findtext(f"{SVG}title") == "Casos <por> estado"
    description = root.findtext(f"{SVG}desc") or ""
    assert all(f"{label}: {value}" in description for label, value in bars if label.isprintable())


@given(st.integers(0, 900), st.integers(1, 900))
def test_a_share_bar_never_overflows_its_total(value: int, total: int) -> None:
    root = ET.fromstring(charts.bar_chart("Ocupación", [charts.Bar("RF-1", value, total)]))
    bar = next(r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar")
    assert float(bar.get("width", "0")) <= charts.WIDTH - charts.label_width(["RF-1"]) - charts.VALUE_ROOM
    assert f"{value} / {total}" in (root.findtext(f"{SVG}desc") or "")


@given(st.dictionaries(labels, st.lists(st.one_of(st.integers(0, 500), st.none()), min_size=4, max_size=4),
                       max_size=5))
def test_week_chart_has_one_line_per_route_and_a_gap_for_each_suppressed_week(
    series: dict[str, list[int | None]]
) -> None:
    weeks = [date(2023, 12, 4) + timedelta(weeks=i) for i in range(4)]
    root = ET.fromstring(charts.week_chart("Retornos", weeks, series))
    lines = [p for p in root.iter(f"{SVG}path") if p.get("class") == "series"]
    assert len(lines) == len(series)
    if not series:
        assert "sin datos" in ET.tostring(root, encoding="unicode")
    bottom = charts.WEEK_TOP + charts.WEEK_PLOT_HEIGHT
    for line, values in zip(lines, series.values(), strict=True):
        # One point per published week, none for a suppressed one; the line starts again after each gap.
        points = (line.get("d") or "").replace("M", " M").replace("L", " L").split()
        assert len(points) == sum(v is not None for v in values)
        assert sum(p.startswith("M") for p in points) == sum(
            1 for i, v in enumerate(values) if v is not None and (i == 0 or values[i - 1] is None))
        # A suppressed week is never drawn at the bottom of the chart as a 0.
        assert sum(float(p[1:].split(",")[1]) == bottom for p in points) == sum(v == 0 for v in values)
    description = root.findtext(f"{SVG}desc") or ""
    assert description.count("suprimido") >= sum(v is None for values in series.values() for v in values)


def test_every_text_of_the_templates_has_an_english_translation() -> None:
    english = i18n.translations("en")
    templates = Path(i18n.__file__).parent / "templates"
    texts = {m for t in templates.glob("*.html") for m in re.findall(r'_\(\s*"([^"]+)"', t.read_text())}
    assert len(texts) > 150
    untranslated = sorted(
        t for t in texts if english.gettext(t) == t and t not in ("supervisor", "error", "no")
    )
    assert not untranslated


def test_catalogs_compile_in_memory_and_nothing_is_written_into_the_package() -> None:
    before = sorted(p.name for p in i18n.LOCALE_DIR.rglob("*"))
    i18n.translations.cache_clear()
    assert i18n.translations("en").gettext("Casos") != "Casos"
    assert sorted(p.name for p in i18n.LOCALE_DIR.rglob("*")) == before


def test_dates_numbers_and_airport_times_follow_the_locale() -> None:
    from datetime import UTC, datetime

    moment = datetime(2023, 12, 30, 18, 0, tzinfo=UTC)
    assert i18n.format_at_airport(moment, "CCS", "es") == "30 dic 2023, 14:00 UTC-04 (CCS)"
    assert i18n.format_at_airport(moment, "VSA", "en") == "Dec 30, 2023, 12:00 CST (VSA)"
    assert i18n.format_number(100000, "es") == "100.000" and i18n.format_number(100000, "en") == "100,000"
    assert i18n.negotiate("en-US") == "en" and i18n.negotiate("fr") == "es" and i18n.negotiate(None) == "es"
