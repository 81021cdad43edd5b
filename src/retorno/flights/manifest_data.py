"""Plain data that the documents of a locked flight are written from: PAXLST, printed manifest, CSV.

The service layer loads a locked manifest into these types; the writers in `paxlst.py`,
`printing.py` and `bulletin.py` never touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from babel import Locale, UnknownLocaleError

SUPPORTED_LANGUAGES = ("es", "en")


@dataclass(frozen=True)
class Passenger:
    """One returnee on a locked manifest, with the fields the flight documents print."""

    case_reference: str
    surnames: str
    given_names: str
    sex: str  # ICAO 9303 code: M, F or X
    birth_date: date
    nationality: str  # ISO 3166-1 alpha-3
    document_type: str  # P passport, PE emergency travel document, ...
    document_number: str
    document_expiry: date | None
    document_issuing_state: str  # ISO 3166-1 alpha-3
    seat: str | None
    household_reference: str | None
    escort_needs: str  # "" or e.g. "medical"


def seat_order(seat: str | None) -> tuple[int, int, str]:
    """Sort key of a seat such as "12A": by row number, then letter (1A, 2A, ... 10A); no seat last."""
    if not seat:
        return (1, 0, "")
    row = "".join(ch for ch in seat if ch.isdigit())
    return (0, int(row) if row else 0, seat)


@dataclass(frozen=True)
class FlightManifest:
    """A locked flight and its passengers; times are instants in UTC (naive values are read as UTC)."""

    flight_number: str  # as people write it, e.g. "V0 1234"
    carrier_code: str  # IATA airline designator, e.g. "V0"
    carrier_name: str
    origin: str  # IATA airport code
    destination: str  # IATA airport code
    departure_utc: datetime
    arrival_utc: datetime
    sending_authority: str
    receiving_authority: str
    passengers: list[Passenger]
    escorts: int
    medical_staff: int


def document_locale(locale: str) -> Locale:
    """Babel locale in which a flight document is written, refusing languages it has no labels for.

    A bare "en" means international English (en_GB: "30 December 2023"), the form the
    mechanism's bulletins use; a locale with a territory ("en_US", "es-VE") is honoured.
    """
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError) as error:
        raise ValueError(f"unknown locale {locale!r}: use one of {', '.join(SUPPORTED_LANGUAGES)}") from error
    if parsed.language not in SUPPORTED_LANGUAGES:
        raise ValueError(
            f"no flight-document texts for locale {locale!r}: use one of {', '.join(SUPPORTED_LANGUAGES)}"
        )
    if parsed.language == "en" and parsed.territory is None:
        return Locale("en", "GB")
    return parsed
