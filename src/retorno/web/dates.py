"""Dates typed in the interface's language: day/month/year in Spanish, month/day/year in English.

A browser's own date field writes dates the way the browser's language does, whatever the page's
language, so the pages use text fields that say which order they expect (`_fields.html`). The form
names those fields in `_day_fields` and `_moment_fields`; before any handler reads the form, the
values are rewritten as ISO 8601, which every handler parses. ISO typed as such is accepted too; a
value neither reads as is left for the handler to refuse with its own message.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from starlette.datastructures import FormData

DAY_FIELDS = "_day_fields"
MOMENT_FIELDS = "_moment_fields"
# The order of day and month, and how each language writes the hint (año / year).
_ORDER = {"es": ("day", "month"), "en": ("month", "day")}
_HINT = {"es": ("dd/mm/aaaa", "hh:mm"), "en": ("mm/dd/yyyy", "hh:mm")}
_TYPED_DAY = re.compile(r"\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})\s*")
_TYPED_MOMENT = re.compile(r"(.+?)[\sT,]+(\d{1,2}):(\d{2})\s*")


def _order(locale: str) -> tuple[str, str]:
    return _ORDER.get(locale, _ORDER["es"])


def day_hint(locale: str) -> str:
    return _HINT.get(locale, _HINT["es"])[0]


def moment_hint(locale: str) -> str:
    day, clock = _HINT.get(locale, _HINT["es"])
    return f"{day} {clock}"


def parse_day(text: str, locale: str) -> date | None:
    """A day typed in `locale`'s order, or as ISO; None if it is neither."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        pass
    match = _TYPED_DAY.fullmatch(text)
    if not match:
        return None
    first, second, year = (int(part) for part in match.groups())
    parts = dict(zip(_order(locale), (first, second), strict=True))
    try:
        return date(year, parts["month"], parts["day"])
    except ValueError:
        return None


def parse_moment(text: str, locale: str) -> datetime | None:
    """A wall-clock time typed in `locale`'s order ('dd/mm/aaaa hh:mm'), or as ISO; None if it is neither."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        pass
    match = _TYPED_MOMENT.fullmatch(text.strip())
    day = parse_day(match.group(1), locale) if match else None
    if match is None or day is None:
        return None
    try:
        return datetime(day.year, day.month, day.day, int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def shown_day(value: Any, locale: str) -> str:
    """A day as a field of `locale` shows it: what the reader would type."""
    day = value if isinstance(value, date) else parse_day(str(value or ""), locale) if value else None
    if day is None:
        return str(value or "")
    first, second = (day.day if part == "day" else day.month for part in _order(locale))
    return f"{first:02d}/{second:02d}/{day.year:04d}"


def shown_moment(value: Any, locale: str) -> str:
    moment = value if isinstance(value, datetime) else parse_moment(str(value or ""), locale) if value else None
    if moment is None:
        return str(value or "")
    return f"{shown_day(moment.date(), locale)} {moment:%H:%M}"


def as_iso(form: FormData, locale: str) -> FormData:
    """The form with its declared day and moment fields rewritten as ISO 8601 (others untouched)."""
    days = {name for value in form.getlist(DAY_FIELDS) if isinstance(value, str) for name in value.split(",")}
    moments = {name for value in form.getlist(MOMENT_FIELDS) if isinstance(value, str) for name in value.split(",")}
    if not days and not moments:
        return form
    items: list[tuple[str, Any]] = []
    for name, value in form.multi_items():
        if isinstance(value, str) and value.strip() and name in days:
            day = parse_day(value, locale)
            value = day.isoformat() if day else value
        elif isinstance(value, str) and value.strip() and name in moments:
            moment = parse_moment(value, locale)
            value = moment.strftime("%Y-%m-%dT%H:%M") if moment else value
        items.append((name, value))
    return FormData(items)
