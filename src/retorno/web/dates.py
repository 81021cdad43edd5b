"""Dates typed in the pages: YYYY-MM-DD, as at every other door (the API, an import, the command line), whatever
the interface's language; a time, its day and then hh:mm ('2026-12-03 14:30').

The pages once read a day in the language's order (day first in Spanish, month first in English) and took
'4-3-1990', '04.03.1990' and '19900304' besides, while an import read day first and the API ISO only: the same
'03-04-2009' was a different birth date by door and by language, and a birth date decides who is a minor (red team
round 16, F5). Now one parser reads them all (`plaintext.iso_day`, `plaintext.iso_moment`). A browser's own date
field writes dates the way the browser's language does, whatever the page's language, so the pages use text fields
that say the form they expect (`_fields.html`). The form names those fields in `_day_fields` and `_moment_fields`;
before any handler reads the form, their values are stripped and checked; a value that is no such date is left as
typed for the handler to refuse with its own message, naming the field and the form.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.datastructures import FormData

from retorno import plaintext

DAY_FIELDS = "_day_fields"
MOMENT_FIELDS = "_moment_fields"
# How each language writes the hint (año / year); the form is the same in both.
_HINT = {"es": ("aaaa-mm-dd", "hh:mm"), "en": ("yyyy-mm-dd", "hh:mm")}


def day_hint(locale: str) -> str:
    return _HINT.get(locale, _HINT["es"])[0]


def moment_hint(locale: str) -> str:
    day, clock = _HINT.get(locale, _HINT["es"])
    return f"{day} {clock}"


def parse_day(text: str, locale: str = "es") -> date | None:
    """A day typed as YYYY-MM-DD (spaces around it aside); None otherwise. The same in every language."""
    try:
        return plaintext.iso_day(text.strip())
    except ValueError:
        return None


def parse_moment(text: str, locale: str = "es") -> datetime | None:
    """A wall-clock time typed as 'YYYY-MM-DD hh:mm' (or with a T); None otherwise."""
    try:
        return plaintext.iso_moment(text.strip())
    except ValueError:
        return None


def shown_day(value: Any, locale: str) -> str:
    """A day as a field shows it: what the reader would type."""
    day = value if isinstance(value, date) else parse_day(str(value or "")) if value else None
    if day is None:
        return str(value or "")
    if isinstance(day, datetime):
        day = day.date()
    return day.isoformat()


def _written(moment: datetime, separator: str) -> str:
    """A moment as the form writes it back: to the minute, with the offset it was typed with, if any (red team round
    71, F1: an offset dropped here left the digits to be read as the airport's local time)."""
    return moment.isoformat(sep=separator, timespec="minutes") if moment.tzinfo is not None \
        else moment.strftime(f"%Y-%m-%d{separator}%H:%M")


def shown_moment(value: Any, locale: str) -> str:
    moment = value if isinstance(value, datetime) else parse_moment(str(value or "")) if value else None
    if moment is None:
        return str(value or "")
    return _written(moment, " ")


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
            value = _written(moment, "T") if moment else value
        items.append((name, value))
    return FormData(items)
