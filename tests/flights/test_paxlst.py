import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydifact.segmentcollection import Interchange

from retorno.flights.manifest_data import FlightManifest, Passenger
from retorno.flights.paxlst import UNOA_CHARACTERS, PaxlstError, build_paxlst, parse_paxlst
from retorno.names import icao_words

DEPARTURE = datetime(2023, 12, 30, 14, 15, tzinfo=UTC)  # 08:15 at Villahermosa
PREPARED = datetime(2023, 12, 29, 18, 0, tzinfo=UTC)


def passenger(**changes) -> Passenger:
    base = Passenger(
        case_reference="MX-2023-000123",
        surnames="Muñoz Pérez",
        given_names="José Ángel",
        sex="M",
        birth_date=date(1990, 5, 14),
        nationality="VEN",
        document_type="PE",
        document_number="E1234567",
        document_expiry=date(2024, 6, 30),
        document_issuing_state="VEN",
        seat="12A",
        household_reference="H-77",
        escort_needs="",
    )
    return dataclasses.replace(base, **changes)


def manifest(passengers: list[Passenger]) -> FlightManifest:
    return FlightManifest(
        flight_number="V0 1234",
        carrier_code="V0",
        carrier_name="Conviasa",
        origin="VSA",
        destination="CCS",
        departure_utc=DEPARTURE,
        arrival_utc=DEPARTURE + timedelta(hours=5, minutes=15),
        sending_authority="Instituto Nacional de Migración",
        receiving_authority="SAIME",
        passengers=passengers,
        escorts=4,
        medical_staff=1,
    )


PASSENGERS = [
    passenger(),
    passenger(
        case_reference="MX-2023-000124",
        surnames="O'Brien D'Ávila",
        given_names="María+José: ¿Ana?",
        sex="F",
        birth_date=date(1925, 3, 1),
        document_type="P",
        document_number="V-12.345.678",
        document_expiry=None,
        seat=None,
    ),
    passenger(
        case_reference="MX-2023-000125",
        surnames="Ñáñez",
        given_names="",
        sex="X",
        birth_date=date(2020, 2, 29),
    ),
]


def write(passengers: list[Passenger] = PASSENGERS) -> str:
    return build_paxlst(
        manifest(passengers),
        sender="INM MEX",
        recipient="SAIME VEN",
        interchange_reference="000000042",
        prepared_at=PREPARED,
    )


def segments_of(text: str) -> list[str]:
    """Split on segment terminators the way a receiver does, honouring the release character."""
    segments, current, released = [], "", False
    for char in text.removeprefix("UNA:+.? '"):
        if released:
            current, released = current + char, False
        elif char == "?":
            current, released = current + char, True
        elif char == "'":
            segments.append(current)
            current = ""
        else:
            current += char
    assert current == ""
    return segments


def test_envelope_and_flight_segments_follow_the_implementation_guide():
    segments = segments_of(write())
    assert write().startswith("UNA:+.? 'UNB+UNOA:4+INM MEX+SAIME VEN+231229:1800+000000042'")
    assert segments[1] == "UNH+000000042+PAXLST:D:05B:UN:IATA+V01234/231230/0815+01:F"
    assert segments[2:10] == [
        "BGM+745",
        "NAD+MS+++INSTITUTO NACIONAL DE MIGRACION",
        "TDT+20+V01234+++V0",
        "LOC+125+VSA",
        "DTM+189:2312300815:201",
        "LOC+87+CCS",
        "DTM+232:2312301530:201",
        "NAD+FL+++MUNOZ PEREZ:JOSE:ANGEL",
    ]
    assert segments[10:17] == [
        "ATT+2++M",
        "DTM+329:900514",
        "NAT+2+VEN",
        "RFF+SEA:12A",
        "DOC+PE:110:111+E1234567",
        "DTM+36:240630",
        "LOC+91+VEN",
    ]
    assert segments[-3:] == ["CNT+42:3", "UNT+32+000000042", "UNZ+1+000000042"]


def test_unt_counts_the_segments_from_unh_to_unt():
    segments = segments_of(write())
    tags = [segment[:3] for segment in segments]
    declared = int(segments[tags.index("UNT")].split("+")[1])
    assert declared == tags.index("UNT") - tags.index("UNH") + 1


def test_names_are_written_as_the_mrz_writes_them_other_text_released_with_the_question_mark():
    """Issue 13 finding 6: a curly apostrophe became a space while a straight one was kept."""
    text = write()
    assert "NAD+FL+++OBRIEN DAVILA:MARIA:JOSE ANA'" in text
    assert "DOC+P:110:111+V-12.345.678'" in text
    curly = [dataclasses.replace(PASSENGERS[1], surnames="O\u2019Connor D\u2019Ávila-Pérez", given_names="Ana")]
    assert "NAD+FL+++OCONNOR DAVILA PEREZ:ANA'" in write(passengers=curly)
    assert icao_words("O\u2019Connor") == icao_words("O'Connor") == ["OCONNOR"]
    released = build_paxlst(dataclasses.replace(manifest(PASSENGERS), sending_authority="Migración+Extranjería: 'A'"),
                            sender="INM MEX", recipient="SAIME VEN", interchange_reference="7", prepared_at=PREPARED)
    assert "NAD+MS+++MIGRACION?+EXTRANJERIA?: ?'A?''" in released


def test_interchange_and_message_references_are_the_ones_given():
    """Issue 13 finding 6: the writer takes a fresh reference for the interchange and for the message."""
    text = build_paxlst(manifest(PASSENGERS), sender="INM MEX", recipient="SAIME VEN",
                        interchange_reference="A1B2C3D4E5F601", message_reference="0F1E2D3C4B5A69",
                        prepared_at=PREPARED)
    assert "+A1B2C3D4E5F601'UNH+0F1E2D3C4B5A69+" in text
    assert text.endswith("UNT+32+0F1E2D3C4B5A69'UNZ+1+A1B2C3D4E5F601'")
    with pytest.raises(PaxlstError):
        build_paxlst(manifest(PASSENGERS), sender="A", recipient="B", interchange_reference="1",
                     message_reference="X" * 15, prepared_at=PREPARED)


def test_output_is_upper_case_syntax_level_a_only():
    text = write()
    assert set(text) <= UNOA_CHARACTERS
    assert text == text.upper()


def test_manifest_round_trips_to_the_same_passengers_after_icao_folding():
    parsed = parse_paxlst(write())
    assert (parsed.flight_number, parsed.carrier_code, parsed.origin, parsed.destination) == (
        "V01234",
        "V0",
        "VSA",
        "CCS",
    )
    assert parsed.departure_local == datetime(2023, 12, 30, 8, 15)
    assert parsed.arrival_local == datetime(2023, 12, 30, 15, 30)
    assert (parsed.sender, parsed.recipient, parsed.interchange_reference) == (
        "INM MEX",
        "SAIME VEN",
        "000000042",
    )
    assert parsed.reporting_party == "INSTITUTO NACIONAL DE MIGRACION"
    assert parsed.declared_passenger_count == 3
    assert parsed.declared_segment_count == 32
    assert len(parsed.passengers) == len(PASSENGERS)
    for read, sent in zip(parsed.passengers, PASSENGERS, strict=True):
        assert read.surnames.split() == icao_words(sent.surnames)
        assert read.given_names.split() == icao_words(sent.given_names)
        assert (read.sex, read.birth_date, read.nationality) == (sent.sex, sent.birth_date, sent.nationality)
        assert (read.document_type, read.document_number, read.document_expiry) == (
            sent.document_type,
            sent.document_number,
            sent.document_expiry,
        )
        assert (read.document_issuing_state, read.seat) == (sent.document_issuing_state, sent.seat)
    assert parsed.passengers[1].surnames == "OBRIEN DAVILA"
    assert parsed.passengers[1].given_names == "MARIA JOSE ANA"
    assert parsed.passengers[2].given_names == ""


@pytest.mark.filterwarnings("ignore::pydifact.exceptions.MissingImplementationWarning")
def test_pydifact_reads_one_paxlst_message():
    messages = list(Interchange.from_str(write()).get_messages())
    assert [message.type for message in messages] == ["PAXLST"]
    assert messages[0].version == "D.05B"


def test_wrong_unt_count_is_refused():
    text = write().replace("UNT+32+", "UNT+31+")
    with pytest.raises(PaxlstError, match="UNT declares 31 segments but the message has 32"):
        parse_paxlst(text)


def test_wrong_passenger_count_is_refused():
    with pytest.raises(PaxlstError, match="CNT\\+42 declares 4 passengers but the message lists 3"):
        parse_paxlst(write().replace("CNT+42:3'", "CNT+42:4'"))


def test_a_dropped_segment_breaks_the_count():
    text = write().replace("RFF+SEA:12A'", "", 1)
    with pytest.raises(PaxlstError, match="UNT declares 32 segments but the message has 31"):
        parse_paxlst(text)


def test_a_functional_group_is_accepted():
    text = write()
    text = text.replace("'UNH+", "'UNG+PAXLST+INM MEX+SAIME VEN+231229:1800+1+UN+D:05B'UNH+")
    text = text.replace("'UNZ+1+", "'UNE+1+1'UNZ+1+")
    assert len(parse_paxlst(text).passengers) == 3


def test_line_breaks_after_segments_are_accepted():
    # Many senders break lines after each terminator although the syntax does not ask for it.
    text = "'\r\n".join(segments_of(write()))
    assert len(parse_paxlst("UNA:+.? '\r\n" + text + "'").passengers) == 3


def test_garbage_and_other_messages_are_refused():
    with pytest.raises(PaxlstError):
        parse_paxlst("hello")
    with pytest.raises(PaxlstError, match="not a PAXLST"):
        parse_paxlst(write().replace("PAXLST:D:05B", "CUSRES:D:05B"))


def test_a_passenger_without_surname_cannot_be_written():
    with pytest.raises(PaxlstError, match="MX-2023-000123"):
        write([passenger(surnames="  ")])


def test_interchange_reference_must_fit_the_envelope():
    with pytest.raises(PaxlstError, match="1 to 14 characters"):
        build_paxlst(
            manifest([passenger()]),
            sender="A",
            recipient="B",
            interchange_reference="X" * 15,
            prepared_at=PREPARED,
        )


NAME = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzñáéíóúüÑÁ '+:?-."),
    min_size=0,
    max_size=30,
)
PASSENGER = st.builds(
    passenger,
    surnames=NAME.filter(lambda name: any(char.isalpha() for char in name)),
    given_names=NAME,
    sex=st.sampled_from(["M", "F", "X"]),
    # Six-digit dates carry no century: a birth date is read as within the century before departure.
    birth_date=st.dates(min_value=date(1924, 1, 1), max_value=date(2023, 12, 30)),
    document_number=st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=1, max_size=12),
    document_expiry=st.none() | st.dates(min_value=date(1980, 1, 1), max_value=date(2070, 12, 31)),
    seat=st.none() | st.from_regex(r"[1-9][0-9]?[A-K]", fullmatch=True),
)


@settings(max_examples=60, deadline=None)
@given(passengers=st.lists(PASSENGER, min_size=0, max_size=6))
def test_any_manifest_round_trips(passengers):
    text = write(passengers)
    assert set(text) <= UNOA_CHARACTERS
    parsed = parse_paxlst(text)
    assert parsed.declared_passenger_count == len(passengers)
    for read, sent in zip(parsed.passengers, passengers, strict=True):
        assert read.surnames.split() == icao_words(sent.surnames)
        assert read.given_names.split() == icao_words(sent.given_names)
        assert (read.birth_date, read.document_expiry, read.document_number, read.seat, read.sex) == (
            sent.birth_date,
            sent.document_expiry,
            sent.document_number,
            sent.seat,
            sent.sex,
        )
