"""Languages of the officials' pages: Spanish first, English by a remembered switch.

Message ids are the Spanish text itself, so a page with a missing translation still reads
in Spanish; the English catalog translates them. The .po files are the source; building the
package compiles each into the .mo beside it (setup.py), and an installed Retorno reads that. A
source checkout has no .mo, and compiles the .po in memory when a language is first used. Nothing
is ever written into the package, which may be read-only (a system package, a container image).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pycountry
from babel.core import Locale, get_global
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from retorno.flights import airports

LOCALES = ("es", "en")
DEFAULT_LOCALE = "es"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def compile_catalog(po_path: Path) -> NullTranslations:
    """The catalog of one messages.po, compiled in memory."""
    with po_path.open("rb") as source:
        catalog = read_po(source, locale=po_path.parent.parent.name)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, DOMAIN)


def catalog_path(locale: str) -> Path | None:
    """Where the catalog of `locale` is read from: the .mo compiled by the build, else its .po source."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    return next((path for path in (folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po") if path.exists()), None)


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The catalog of `locale` (Spanish falls back to the message ids themselves)."""
    path = catalog_path(locale)
    if path is None:
        return NullTranslations()
    if path.suffix == ".po":
        return compile_catalog(path)
    with path.open("rb") as compiled:
        return Translations(compiled, DOMAIN)


def negotiate(requested: str | None) -> str:
    """The supported locale for a cookie value or header, else Spanish."""
    if requested:
        language = requested.replace("-", "_").split("_")[0].lower()
        if language in LOCALES:
            return language
    return DEFAULT_LOCALE


def gettext_for(locale: str) -> Callable[..., str]:
    """The `_()` a template of `locale` uses; `%(name)s` placeholders are filled by keyword."""
    catalog = translations(locale)

    def _(message: str, **values: object) -> str:
        text = catalog.gettext(message)
        return text % values if values else text

    return _


def format_day(value: date | None, locale: str) -> str:
    """A calendar date as the reader writes it ("17 may 1990" / "May 17, 1990")."""
    return "" if value is None else babel_format_date(value, "medium", locale=locale)


def format_moment(value: datetime | None, locale: str) -> str:
    """A moment in UTC (for the audit trail and timelines), in the reader's format."""
    if value is None:
        return ""
    return babel_format_datetime(value, "medium", tzinfo=None, locale=locale) + " UTC"


def format_at_airport(value: datetime | None, iata: str, locale: str) -> str:
    """A moment in the local time of an airport, with the zone's abbreviation and the airport code."""
    if value is None:
        return ""
    local = airports.to_local(value, iata)
    text = f"{babel_format_date(local.date(), 'medium', locale=locale)}, {local:%H:%M}"
    return f"{text} {airports.zone_abbreviation(local)} ({iata})"


def country_zone(alpha3: str) -> str | None:
    """The time zone of a country that has only one (Venezuela, Colombia), else None (Mexico, the United States)."""
    country = pycountry.countries.get(alpha_3=alpha3)
    zones = get_global("territory_zones").get(country.alpha_2, []) if country else []
    return zones[0] if len(zones) == 1 else None


def format_in_zone(value: datetime | None, zone: str | None, locale: str) -> str:
    """A moment in the local time of a zone, with its abbreviation and its name ("hora de Venezuela"); in UTC
    when there is no zone."""
    if value is None:
        return ""
    if zone is None:
        return format_moment(value, locale)
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone))
    text = f"{babel_format_date(local.date(), 'medium', locale=locale)}, {local:%H:%M}"
    name = get_timezone_name(get_timezone(zone), "long", locale=locale)
    return f"{text} {airports.zone_abbreviation(local)} ({name})"


def format_number(value: float | int, locale: str) -> str:
    """A count or measure with the reader's digit grouping ("100.000" / "100,000")."""
    return format_decimal(value, locale=locale)


def format_share(value: float, locale: str) -> str:
    """A share between 0 and 1 as a percentage; near the ends with two decimals, never a rounded 0 % or 100 %."""
    if 0 < value < 0.01 or 0.99 < value < 1:
        whole, symbol = Locale.parse(locale).percent_formats[None].pattern.rsplit("0", 1)
        return format_percent(value, f"{whole}0.00######{symbol}", locale=locale)
    return format_percent(value, locale=locale)
