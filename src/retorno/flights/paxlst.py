"""The locked manifest as a UN/EDIFACT PAXLST message (Advance Passenger Information), and its reader.

Layout follows the WCO/IATA/ICAO API PAXLST implementation guide (directory D05B,
controlling agency IATA), one message per interchange:

    UNA:+.? '
    UNB+UNOA:4+SENDER+RECIPIENT+YYMMDD:HHMM+REFERENCE'
    UNH+ref+PAXLST:D:05B:UN:IATA+V01234/231230/0815+01:F'   flight/local date/time, only part
    BGM+745'                                                  passenger list
    NAD+MS+++REPORTING PARTY'                                 the sending authority
    TDT+20+V01234+++V0'                                       flight and carrier
    LOC+125+VSA'  DTM+189:2312300815:201'                     departure, origin local time
    LOC+87+CCS'   DTM+232:2312301530:201'                     arrival, destination local time
    per passenger:
      NAD+FL+++SURNAMES:FIRST GIVEN NAME:OTHER GIVEN NAMES'
      ATT+2++M'  DTM+329:YYMMDD'  NAT+2+VEN'  RFF+SEA:12A' (when seated)
      DOC+P:110:111+NUMBER'  DTM+36:YYMMDD' (when it expires)  LOC+91+MEX'
    CNT+42:n'
    UNT+segments from UNH to UNT+ref'
    UNZ+1+REFERENCE'

Left out, as optional in the guide and without data in the manifest: the UNG/UNE
functional group (the reader accepts one), COM contact details of the reporting party,
passenger addresses in NAD+FL, GEI verification flag, MEA/FTX baggage, LOC+178/179/174/180
(embarkation, debarkation, residence, birth place), RFF+AVF booking reference, EMP,
and the crew variant (BGM+250). Each interchange is complete in itself (UNH status 01:F).

Text is written in syntax level A (UNOA): upper case letters, digits, space and
. , - ( ) / = ' + : ? ! " % & * ; < >. Letters are transliterated as ICAO Doc 9303 does
(`retorno.names.fold`: accents dropped, Ñ as N). Names are written as the travel document's
machine readable zone writes them (`retorno.names.icao_words`, ICAO Doc 9303 Part 3): apostrophes
omitted, other punctuation a space, so O'Brien and O’Brien both travel as OBRIEN, as in the MRZ.
Elsewhere the punctuation UNOA allows is kept, released with the question mark (?' ?+ ?: ??).
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydifact.control import Characters
from pydifact.exceptions import EDISyntaxError, MissingImplementationWarning
from pydifact.parser import Parser
from pydifact.segmentcollection import Interchange, Message
from pydifact.segments import Segment

from retorno.exports import exported_record, exported_text
from retorno.flights.airports import to_local
from retorno.flights.manifest_data import FlightManifest, Passenger
from retorno.names import fold, icao_words

MESSAGE_TYPE = ("PAXLST", "D", "05B", "UN", "IATA")
# The guide's service string advice uses a full stop as decimal mark; pydifact's default is a comma.
CHARACTERS = Characters(decimal_point=".")
UNOA_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/='+:?!\"%&*;<>")

_SPACES = re.compile(r"\s+")


class PaxlstError(ValueError):
    """A PAXLST that cannot be written from the manifest, or that does not add up when read."""


@dataclass(frozen=True)
class PaxlstPassenger:
    """One passenger as a PAXLST carries it (names in UNOA upper case)."""

    surnames: str
    given_names: str
    sex: str
    birth_date: date
    nationality: str
    document_type: str
    document_number: str
    document_expiry: date | None
    document_issuing_state: str
    seat: str | None


@dataclass(frozen=True)
class ParsedPaxlst:
    """What a PAXLST interchange says, once its counts have been checked."""

    sender: str
    recipient: str
    interchange_reference: str
    message_reference: str
    reporting_party: str
    flight_number: str  # as in TDT, without spaces: "V01234"
    carrier_code: str
    origin: str
    destination: str
    departure_local: datetime  # naive wall-clock time at the origin
    arrival_local: datetime  # naive wall-clock time at the destination
    passengers: tuple[PaxlstPassenger, ...]
    declared_segment_count: int  # UNT
    declared_passenger_count: int  # CNT+42


def unoa(text: str | None) -> str:
    """Write `text` in UNOA: upper case, letters transliterated ICAO-style, allowed punctuation kept."""
    out: list[str] = []
    # The export sanitiser first: an invisible character would otherwise become a space inside a word.
    for char in exported_text(text):
        upper = char.upper()
        if all(c in UNOA_CHARACTERS for c in upper):
            out.append(upper)
        else:
            # fold() turns É into E and Ñ into N; whatever it cannot spell becomes a space.
            out.append(fold(char) or " ")
    return _SPACES.sub(" ", "".join(out)).strip()


def _yymmdd(day: date) -> str:
    return f"{day:%y%m%d}"


def _passenger_segments(passenger: Passenger) -> list[Segment]:
    surnames = " ".join(icao_words(passenger.surnames))
    if not surnames:
        raise PaxlstError(f"passenger {passenger.case_reference}: surnames are empty once written in UNOA")
    given = " ".join(icao_words(passenger.given_names)).split(" ", 1)
    # Family name, first given name, other given names: the guide's three name components.
    name: list[str] = [surnames, *given]
    segments = [
        Segment("NAD", "FL", "", "", name),
        Segment("ATT", "2", "", unoa(passenger.sex)),
        Segment("DTM", ["329", _yymmdd(passenger.birth_date)]),
        Segment("NAT", "2", unoa(passenger.nationality)),
    ]
    if passenger.seat:
        segments.append(Segment("RFF", ["SEA", unoa(passenger.seat)]))
    document_name = [unoa(passenger.document_type), "110", "111"]  # code list 110, agency 111: IATA
    segments.append(Segment("DOC", document_name, unoa(passenger.document_number)))
    if passenger.document_expiry is not None:
        segments.append(Segment("DTM", ["36", _yymmdd(passenger.document_expiry)]))
    segments.append(Segment("LOC", "91", unoa(passenger.document_issuing_state)))
    return segments


def build_paxlst(
    manifest: FlightManifest,
    *,
    sender: str,
    recipient: str,
    interchange_reference: str,
    prepared_at: datetime,
    message_reference: str | None = None,
) -> str:
    """Write the manifest as a PAXLST interchange (UNA to UNZ, no line breaks).

    `interchange_reference` (UNB/UNZ) and `message_reference` (UNH/UNT, by default the same) must be
    new for every message written: receivers tell messages apart by them.
    """
    # Every text written goes through the exports' one sanitiser (names included, which `icao_words` spells).
    manifest = exported_record(manifest)
    reference = unoa(interchange_reference)
    message_ref = unoa(message_reference) if message_reference is not None else reference
    for given, written in ((interchange_reference, reference), (message_reference, message_ref)):
        if not 0 < len(written) <= 14:
            # UNB 0020 and UNH 0062 are an..14; a longer reference would be cut by receivers.
            raise PaxlstError(f"interchange reference {given!r} must be 1 to 14 characters")
    flight_id = unoa(manifest.flight_number).replace(" ", "")
    departure = to_local(manifest.departure_utc, manifest.origin)
    arrival = to_local(manifest.arrival_utc, manifest.destination)
    prepared_utc = prepared_at.astimezone(UTC) if prepared_at.tzinfo else prepared_at
    interchange = Interchange(
        sender=unoa(sender),
        recipient=unoa(recipient),
        control_reference=reference,
        syntax_identifier=("UNOA", 4),
        timestamp=prepared_utc,
        characters=CHARACTERS,
    )
    interchange.has_una_segment = True
    message = Message(
        message_ref,
        list(MESSAGE_TYPE),
        extra_header_elements=[f"{flight_id}/{departure:%y%m%d/%H%M}", ["01", "F"]],
        characters=CHARACTERS,
    )
    message.add_segments(
        [
            Segment("BGM", "745"),
            Segment("NAD", "MS", "", "", unoa(manifest.sending_authority)),
            Segment("TDT", "20", flight_id, "", "", unoa(manifest.carrier_code)),
            Segment("LOC", "125", unoa(manifest.origin)),
            Segment("DTM", ["189", f"{departure:%y%m%d%H%M}", "201"]),
            Segment("LOC", "87", unoa(manifest.destination)),
            Segment("DTM", ["232", f"{arrival:%y%m%d%H%M}", "201"]),
        ]
    )
    for passenger in manifest.passengers:
        message.add_segments(_passenger_segments(passenger))
    message.add_segment(Segment("CNT", ["42", str(len(manifest.passengers))]))
    interchange.add_message(message)
    return interchange.serialize()


# ---- reading -------------------------------------------------------------------------


def _components(element: object) -> list[str]:
    """Components of a data element; pydifact gives a plain string when there is only one."""
    if isinstance(element, list):
        return [str(component) for component in element]
    return [str(element or "")]


def _element(segment: Segment, index: int, component: int = 0) -> str:
    parts = _components(segment[index])
    return parts[component] if component < len(parts) else ""


def _qualified_date(text: str, reference: date, *, past: bool) -> date:
    """Read a YYMMDD (or CCYYMMDD) date, choosing the century from a reference date.

    Birth dates (`past`) take the latest century not after the reference; expiry dates
    the century within fifty years of it either side.
    """
    try:
        if len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").date()
        if len(text) != 6 or not text.isdigit():
            raise ValueError(text)
        yy, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
        century = reference.year - reference.year % 100
        if past:
            years = [century + yy, century + yy - 100, century + yy - 200]
        else:
            year = century + yy
            year += 100 if year < reference.year - 50 else -100 if year > reference.year + 50 else 0
            years = [year]
        for year in years:
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if not past or candidate <= reference:
                return candidate
    except ValueError:
        pass
    raise PaxlstError(f"date {text!r} is not a valid YYMMDD date")


def _local_datetime(segment: Segment, qualifier: str) -> datetime:
    parts = _components(segment[0])
    if parts[0] != qualifier or len(parts) < 2:
        raise PaxlstError(f"expected DTM+{qualifier}, found {parts}")
    try:
        return datetime.strptime(parts[1], "%y%m%d%H%M" if len(parts[1]) == 10 else "%Y%m%d%H%M")
    except ValueError as error:
        raise PaxlstError(f"DTM+{qualifier}: {parts[1]!r} is not a YYMMDDHHMM date and time") from error


def _parse_passenger(segments: list[Segment], reference: date) -> PaxlstPassenger:
    """Read one NAD+FL group (the segments up to the next NAD+FL or CNT)."""
    name = _components(segments[0][3])
    fields: dict[str, str] = {}
    expiry: date | None = None
    in_document = False
    for segment in segments[1:]:
        if segment.tag == "ATT" and _element(segment, 0) == "2":
            fields["sex"] = _element(segment, 2)
        elif segment.tag == "NAT" and _element(segment, 0) == "2":
            fields["nationality"] = _element(segment, 1)
        elif segment.tag == "RFF" and _element(segment, 0) == "SEA":
            fields["seat"] = _element(segment, 0, 1)
        elif segment.tag == "DOC":
            in_document = True
            fields["document_type"] = _element(segment, 0)
            fields["document_number"] = _element(segment, 1)
        elif segment.tag == "DTM" and _element(segment, 0) == "329":
            fields["birth"] = _element(segment, 0, 1)
        elif segment.tag == "DTM" and _element(segment, 0) == "36" and in_document:
            expiry = _qualified_date(_element(segment, 0, 1), reference, past=False)
        elif segment.tag == "LOC" and _element(segment, 0) == "91" and in_document:
            fields["issuing_state"] = _element(segment, 1)
    surnames = name[0] if name else ""
    missing = [key for key in ("sex", "birth", "nationality", "document_number") if not fields.get(key)]
    if missing or not surnames:
        what = ", ".join(missing) or "surname"
        raise PaxlstError(f"passenger {surnames or '(no surname)'}: missing {what}")
    return PaxlstPassenger(
        surnames=surnames,
        given_names=" ".join(part for part in name[1:] if part),
        sex=fields["sex"],
        birth_date=_qualified_date(fields["birth"], reference, past=True),
        nationality=fields["nationality"],
        document_type=fields.get("document_type", ""),
        document_number=fields["document_number"],
        document_expiry=expiry,
        document_issuing_state=fields.get("issuing_state", ""),
        seat=fields.get("seat") or None,
    )


def _message_segments(segments: list[Segment]) -> list[Segment]:
    """The one UNH..UNT message of the interchange, checking the envelope counts around it."""
    starts = [i for i, segment in enumerate(segments) if segment.tag == "UNH"]
    ends = [i for i, segment in enumerate(segments) if segment.tag == "UNT"]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise PaxlstError(
            f"expected exactly one UNH..UNT message, found {len(starts)} UNH and {len(ends)} UNT segments"
        )
    message = segments[starts[0] : ends[0] + 1]
    trailer = message[-1]
    declared = _element(trailer, 0)
    if not declared.isdigit() or int(declared) != len(message):
        raise PaxlstError(f"UNT declares {declared} segments but the message has {len(message)} (UNH to UNT)")
    if _element(trailer, 1) != _element(message[0], 0):
        raise PaxlstError(
            f"UNT reference {_element(trailer, 1)!r} does not match UNH reference {_element(message[0], 0)!r}"
        )
    # UNZ counts functional groups when there are any, messages otherwise.
    expected = sum(1 for segment in segments if segment.tag == "UNG") or 1
    if segments[-1].tag != "UNZ" or _element(segments[-1], 0) != str(expected):
        raise PaxlstError(f"the interchange must end with UNZ declaring {expected} message or group")
    return message


def _dated_location(message: list[Segment], qualifier: str, date_qualifier: str) -> tuple[str, datetime]:
    """Airport of a LOC segment and the local date and time of the DTM that must follow it."""
    for index, segment in enumerate(message[:-1]):
        if segment.tag == "LOC" and _element(segment, 0) == qualifier:
            following = message[index + 1]
            if following.tag != "DTM":
                raise PaxlstError(f"LOC+{qualifier} must be followed by DTM+{date_qualifier}")
            return _element(segment, 1), _local_datetime(following, date_qualifier)
    raise PaxlstError(f"the message has no LOC+{qualifier} segment")


def _first(message: list[Segment], tag: str, qualifier: str) -> Segment:
    for segment in message:
        if segment.tag == tag and _element(segment, 0) == qualifier:
            return segment
    raise PaxlstError(f"the message has no {tag}+{qualifier} segment")


def _segments(text: str) -> list[Segment]:
    """All segments of an interchange, UNA and UNB to UNZ, as pydifact reads them."""
    try:
        # pydifact validates service segments against directories it does not ship and
        # warns about each; the checks that matter here are made by the caller.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingImplementationWarning)
            segments = [segment for segment in Parser().parse(text.strip()) if segment.tag != "UNA"]
    except (EDISyntaxError, IndexError, ValueError) as error:
        raise PaxlstError(f"not a readable EDIFACT interchange: {error}") from error
    if not segments or segments[0].tag != "UNB":
        raise PaxlstError("an interchange must start with UNB (after an optional UNA)")
    return segments


def parse_paxlst(text: str) -> ParsedPaxlst:
    """Read a PAXLST interchange, checking the UNT segment count and the CNT+42 passenger count."""
    segments = _segments(text)
    # Interchange.get_messages() cannot cope with a UNG group, so the message is cut out by hand.
    message = _message_segments(segments)
    header = message[0]
    if tuple(_components(header[1])[:5]) != MESSAGE_TYPE:
        raise PaxlstError(f"not a PAXLST D05B message: UNH says {':'.join(_components(header[1]))}")
    transport = _first(message, "TDT", "20")
    origin, departure = _dated_location(message, "125", "189")
    destination, arrival = _dated_location(message, "87", "232")
    count = _first(message, "CNT", "42")
    reporting = _first(message, "NAD", "MS")

    starts = [i for i, segment in enumerate(message) if segment.tag == "NAD" and _element(segment, 0) == "FL"]
    bounds = [*starts, message.index(count)]
    passengers = tuple(
        _parse_passenger(message[start:end], departure.date()) for start, end in itertools.pairwise(bounds)
    )
    declared_passengers = _element(count, 0, 1)
    if not declared_passengers.isdigit() or int(declared_passengers) != len(passengers):
        raise PaxlstError(
            f"CNT+42 declares {declared_passengers} passengers but the message lists {len(passengers)}"
        )

    unb = segments[0]
    return ParsedPaxlst(
        sender=_element(unb, 1),
        recipient=_element(unb, 2),
        interchange_reference=_element(unb, 4),
        message_reference=_element(header, 0),
        reporting_party=" ".join(part for part in _components(reporting[3]) if part),
        flight_number=_element(transport, 1),
        carrier_code=_element(transport, 4),
        origin=origin,
        destination=destination,
        departure_local=departure,
        arrival_local=arrival,
        passengers=passengers,
        declared_segment_count=int(_element(message[-1], 0)),
        declared_passenger_count=int(declared_passengers),
    )
