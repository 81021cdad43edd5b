"""Airport reference: names, countries and time zones by IATA code, from the `airportsdata` package.

Flights are stored in UTC and shown in each airport's local time; documents name airports
the way people of the mechanism do ("Maiquetía", not "Simon Bolivar International").
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import airportsdata

# Names people use for the airports of this mechanism, where airportsdata's city is not
# it (CCS serves Caracas but is known by its town, Maiquetía) or has lost its accents.
# Keyed by language; a missing language falls back to Spanish, since these are places
# in Spanish-speaking countries whose names English texts keep.
_PLACE_NAMES: dict[str, dict[str, str]] = {
    "CCS": {"es": "Maiquetía"},
    "MAR": {"es": "Maracaibo"},
    "VLN": {"es": "Valencia"},
    "BLA": {"es": "Barcelona"},
    "BRM": {"es": "Barquisimeto"},
    "PZO": {"es": "Puerto Ordaz"},
    "MUN": {"es": "Maturín"},
    "SVZ": {"es": "San Antonio del Táchira"},
    "PMV": {"es": "Porlamar"},
    "LSP": {"es": "Las Piedras"},
    "VSA": {"es": "Villahermosa"},
    "TAP": {"es": "Tapachula"},
    "MEX": {"es": "Ciudad de México", "en": "Mexico City"},
    "NLU": {"es": "Santa Lucía"},
    "CUN": {"es": "Cancún"},
    "CJS": {"es": "Ciudad Juárez"},
    "MTY": {"es": "Monterrey"},
    "TIJ": {"es": "Tijuana"},
    "HRL": {"es": "Harlingen"},
    "BRO": {"es": "Brownsville"},
    "ELP": {"es": "El Paso"},
    "SAT": {"es": "San Antonio"},
    "AEX": {"es": "Alexandria"},
    "MIA": {"es": "Miami"},
    "IAH": {"es": "Houston"},
}


class UnknownAirport(ValueError):
    """An IATA code that the airport reference does not know."""


@dataclass(frozen=True)
class Airport:
    """One airport as the flight documents need it."""

    iata: str
    name: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    tz: str  # IANA time zone, e.g. "America/Caracas"


@functools.cache
def _airports_by_iata() -> dict[str, airportsdata.Airport]:
    # Loading parses a ~30k-row CSV; do it once per process, on first use only.
    return airportsdata.load("IATA")


def load_airports() -> None:
    """Read the airports' table now (a worker that is starting: `web.app.load_reference_data`)."""
    _airports_by_iata()


def airport(iata: str) -> Airport:
    """Look up an airport by IATA code (case and surrounding spaces ignored)."""
    code = iata.strip().upper()
    record = _airports_by_iata().get(code)
    if record is None:
        raise UnknownAirport(f"unknown airport code {iata!r}: expected a three-letter IATA code such as CCS")
    return Airport(
        iata=code, name=record["name"], city=record["city"], country=record["country"], tz=record["tz"]
    )


# The mean radius of the Earth, for great-circle distances.
EARTH_RADIUS_KM = 6371.0088


def distance_km(origin: str, destination: str) -> float:
    """The great-circle distance between two airports (haversine, on the mean radius), from their coordinates."""
    one, other = (_airports_by_iata()[airport(code).iata] for code in (origin, destination))
    lat1, lon1, lat2, lon2 = map(math.radians, (float(one["lat"]), float(one["lon"]), float(other["lat"]),
                                                float(other["lon"])))
    half = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(half))


def _zone(iata: str) -> ZoneInfo:
    return ZoneInfo(airport(iata).tz)


def to_local(utc: datetime, iata: str) -> datetime:
    """Convert an instant (aware, or naive meaning UTC) to the airport's local time, as an aware datetime."""
    instant = utc.replace(tzinfo=UTC) if utc.tzinfo is None else utc
    return instant.astimezone(_zone(iata))


def typed_at(moment: datetime, iata: str) -> datetime:
    """A time as an official typed it for an airport, as an aware UTC moment: with an offset ('Z', '+00:00',
    '-05:00') the instant it names; without one the wall-clock time at `iata` (`to_utc`). Every door that reads a
    typed time (the pages' fields, the command line) reads it so: the pages once dropped the offset and read the
    digits as local time, 4 hours off at Caracas for a time typed in UTC (red team round 71, F1)."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else to_utc(moment, iata)


def to_utc(local_naive: datetime, iata: str) -> datetime:
    """Convert a wall-clock time at the airport to an aware UTC datetime.

    A time that the clocks skip (the spring daylight-saving gap) is refused; a time they
    pass twice (the autumn change) is read as the first of the two.
    """
    if local_naive.tzinfo is not None:
        raise ValueError(f"expected a wall-clock time without a time zone, got {local_naive.isoformat()}")
    zone = _zone(iata)
    instant = local_naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local_naive:
        raise ValueError(
            f"{local_naive:%Y-%m-%d %H:%M} does not exist at {iata.upper()} ({zone.key}): "
            "the clocks skip it for daylight saving time"
        )
    return instant


# The westernmost civil time (UTC-12): the earliest calendar date any clock shows at an instant.
_WESTMOST = timedelta(hours=12)


def earliest_day(instant: datetime, *iatas: str) -> date:
    """The earliest calendar date `instant` (aware, or naive meaning UTC) falls on: in UTC and at each airport's local
    time. The children's rules count a person's age on a flight's departure by it (`children_day`): under 18
    on that day in any calendar the flight concerns is a minor (red team round 16, F9: counted on the UTC date, a
    flight leaving Texas at 20:36 local, 02:36 UTC the next day, took a girl who turned 18 only the next day as an
    adult). An airport the reference does not know counts as the westernmost time zone."""
    moment = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    days = [moment.date()]
    for iata in iatas:
        try:
            days.append(to_local(moment, iata).date())
        except (UnknownAirport, ValueError, KeyError):
            days.append((moment - _WESTMOST).date())
    return min(days)


def zone_abbreviation(local: datetime) -> str:
    """Short name of the time zone of an aware local time, e.g. "CST", or "UTC-04" where the zone has none."""
    name = local.tzname() or "UTC"
    # The tz database writes zones without a customary abbreviation (Caracas, Bogotá) as "-04".
    if name[0] in "+-":
        sign, digits = name[0], name[1:]
        return f"UTC{sign}{digits[:2]}" + (f":{digits[2:]}" if digits[2:] else "")
    return name


def display_name(iata: str, locale: str) -> str:
    """Name people use for the airport in the given locale ("Maiquetía" for CCS), else airportsdata's city."""
    found = airport(iata)
    language = locale.replace("-", "_").split("_")[0].lower()
    names = _PLACE_NAMES.get(found.iata)
    if names:
        return names.get(language, names["es"])
    return found.city or found.name


class _Scheduled(Protocol):
    departure_utc: datetime
    origin: str
    destination: str


def children_day(flight: _Scheduled) -> date:
    """The day every children's rule counts a passenger's age on (`safeguards.counts_as_minor`): the scheduled
    departure's earliest calendar date, in UTC or local at the origin or the destination airport (`earliest_day`),
    so that nobody 17 on the departure day in any of them is taken for an adult."""
    return earliest_day(flight.departure_utc, flight.origin, flight.destination)
