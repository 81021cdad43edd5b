"""ICAO Doc 9303 MRZ parsing, validation, name comparison and building."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retorno.documents.mrz import (
    MRZ_ALPHABET,
    Mrz,
    MrzFormatError,
    build_emergency_mrz,
    build_td1,
    build_td2,
    build_td3,
    check_digit,
    compare_name,
    emergency_document_number,
    icao_name_field,
    parse_emergency_document_number,
    parse_mrz,
)
from retorno.names import fold

# The specimens of Doc 9303 (Parts 4-7), for the fictitious state of Utopia.
SPECIMENS = {
    "TD3": "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10",
    "TD2": "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6",
    "TD1": "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    "MRVA": "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<",
    "MRVB": "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nL8988901C4XXX4009078F9612109<<<<<<<<",
}
# Doc 9303 Part 5: a TD1 document number longer than 9 characters continues in the optional data.
TD1_LONG_NUMBER = (
    "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<"
)
SPECIMEN_DAY = date(2010, 1, 1)
TODAY = date(2025, 6, 1)


def test_check_digit_of_the_specimen_fields() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"
    assert check_digit("L898902C3674081221204159ZE184226B<<<<<1") == "0"
    assert check_digit("D23145890734") == "9"
    assert check_digit("<<<<") == "0"


def test_check_digit_refuses_characters_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match="not an MRZ character"):
        check_digit("AB-12")


@pytest.mark.parametrize("kind", sorted(SPECIMENS))
def test_specimens_parse_valid(kind: str) -> None:
    mrz = parse_mrz(SPECIMENS[kind], today=SPECIMEN_DAY)
    assert mrz.kind == kind
    assert mrz.problems == ()
    assert mrz.valid
    assert (mrz.issuing_state, mrz.surnames, mrz.given_names) == ("UTO", "ERIKSSON", "ANNA MARIA")
    assert mrz.sex == "F"
    assert compare_name(mrz, "Eriksson", "Anna María") is None
    assert "\n".join(mrz.lines) == SPECIMENS[kind]


def test_specimen_fields_and_their_check_digits() -> None:
    td3 = parse_mrz(SPECIMENS["TD3"], today=SPECIMEN_DAY)
    assert (td3.document_code, td3.document_number, td3.nationality) == ("P", "L898902C3", "UTO")
    assert (td3.birth_date, td3.expiry_date, td3.optional_data) == (date(1974, 8, 12), date(2012, 4, 15),
                                                                   "ZE184226B")
    line = td3.lines[1]
    assert line[9] == check_digit(line[0:9])
    assert line[43] == check_digit(line[0:10] + line[13:20] + line[21:43])
    td1 = parse_mrz(SPECIMENS["TD1"], today=SPECIMEN_DAY)
    assert (td1.document_code, td1.document_number) == ("I", "D23145890")
    first, second = td1.lines[0], td1.lines[1]
    assert second[29] == check_digit(first[5:30] + second[0:7] + second[8:15] + second[18:29])
    visa = parse_mrz(SPECIMENS["MRVA"], today=SPECIMEN_DAY)
    assert (visa.document_number, visa.nationality, visa.birth_date) == ("L8988901C", "XXX", date(1940, 9, 7))
    # Expiry years are read as 20xx: the specimen dates from 1996, no document in use expires in the 1900s.
    assert visa.expiry_date == date(2096, 12, 10)
    assert visa.optional_data == "6ZE184226B"


def test_td1_long_document_number_continues_in_the_optional_data() -> None:
    mrz = parse_mrz(TD1_LONG_NUMBER, today=SPECIMEN_DAY)
    assert mrz.valid, mrz.problems
    assert mrz.document_number == "D23145890734"
    assert mrz.optional_data == ""
    rebuilt = build_td1(document_code="I", issuing_state="UTO", surnames="Stevenson",
                        given_names="Peter John", document_number="D23145890734", nationality="UTO",
                        birth_date=date(1934, 7, 12), sex="M", expiry_date=date(2095, 7, 12))
    assert rebuilt == TD1_LONG_NUMBER


def test_specimen_expired_later() -> None:
    mrz = parse_mrz(SPECIMENS["TD3"], today=date(2012, 4, 16))
    assert [problem.code for problem in mrz.problems] == ["expired"]
    assert parse_mrz(SPECIMENS["TD3"], today=date(2012, 4, 15)).valid


@pytest.mark.parametrize("text", [
    "  " + SPECIMENS["TD3"].lower() + "\n\n",
    SPECIMENS["TD3"].replace("\n", ""),
    SPECIMENS["TD3"].replace("\n", "\r\n"),
    SPECIMENS["TD3"].replace("\n", " "),
    SPECIMENS["TD3"][:20] + " " + SPECIMENS["TD3"][20:],
])
def test_tolerated_input(text: str) -> None:
    assert parse_mrz(text, today=SPECIMEN_DAY) == parse_mrz(SPECIMENS["TD3"], today=SPECIMEN_DAY)


def test_single_line_td1() -> None:
    assert parse_mrz(SPECIMENS["TD1"].replace("\n", ""), today=SPECIMEN_DAY).lines == tuple(
        SPECIMENS["TD1"].split("\n"))


@pytest.mark.parametrize("text", ["", "P<UTOERIKSSON", SPECIMENS["TD3"] + "<", SPECIMENS["TD3"] + "\nABC"])
def test_unknown_shapes_raise(text: str) -> None:
    with pytest.raises(MrzFormatError, match="expected 3 lines of 30"):
        parse_mrz(text)


def _td3(line1: str, line2_head: str) -> str:
    """A TD3 from its first line and the first 42 characters of its second, with fresh check digits."""
    optional = line2_head[28:42]
    birth, expiry = line2_head[13:19], line2_head[21:27]
    body = line2_head[:9] + check_digit(line2_head[:9]) + line2_head[10:13] + birth + check_digit(birth)
    body += line2_head[20] + expiry + check_digit(expiry)
    body += optional + check_digit(optional)
    return f"{line1}\n{body}{check_digit(body[0:10] + body[13:20] + body[21:43])}"


SPECIMEN_HEAD = SPECIMENS["TD3"].split("\n")[1][:42]
SPECIMEN_LINE1 = SPECIMENS["TD3"].split("\n")[0]


def _codes(text: str, today: date = SPECIMEN_DAY) -> list[tuple[str, str]]:
    return [(problem.code, problem.field) for problem in parse_mrz(text, today=today).problems]


def test_refreshing_check_digits_keeps_the_specimen() -> None:
    assert _td3(SPECIMEN_LINE1, SPECIMEN_HEAD) == SPECIMENS["TD3"]


def test_each_problem_has_its_code() -> None:
    line2 = SPECIMENS["TD3"].split("\n")[1]
    assert _codes(SPECIMEN_LINE1 + "\n" + line2.replace("C36", "C37")) == [
        ("check_digit", "document_number"), ("composite_check_digit", "composite")]
    assert _codes(SPECIMEN_LINE1 + "\n" + line2[:43] + "1") == [("composite_check_digit", "composite")]
    assert _codes(SPECIMEN_LINE1 + "\n" + line2[:42] + "<0") == [
        ("check_digit", "optional_data"), ("composite_check_digit", "composite")]
    head = SPECIMEN_HEAD
    assert _codes(_td3(SPECIMEN_LINE1, head.replace("740812", "741312"))) == [("date", "birth_date")]
    assert _codes(_td3(SPECIMEN_LINE1, head.replace("120415", "120431"))) == [("date", "expiry_date")]
    assert _codes(_td3(SPECIMEN_LINE1, head.replace("2F", "2Q"))) == [("sex", "sex")]
    assert _codes(_td3(SPECIMEN_LINE1, head.replace("6UTO", "6ZZZ"))) == [("country_code", "nationality")]
    assert _codes(_td3(SPECIMEN_LINE1.replace("P<UTO", "P<U<O"), SPECIMEN_HEAD)) == [
        ("country_code", "issuing_state")]
    assert _codes(_td3(SPECIMEN_LINE1.replace("P<", "X<"), SPECIMEN_HEAD)) == [("format", "document_code")]
    assert _codes(_td3(SPECIMEN_LINE1.replace("ANNA", "ANN4"), SPECIMEN_HEAD)) == [("charset", "name")]
    assert _codes(_td3(SPECIMEN_LINE1.replace("ANNA", "AN#A"), SPECIMEN_HEAD)) == [("charset", "line_1")]
    assert _codes(SPECIMENS["TD3"], today=date(2020, 1, 1)) == [("expired", "expiry_date")]


def test_problem_messages_say_what_was_expected() -> None:
    line2 = SPECIMENS["TD3"].split("\n")[1]
    problem = parse_mrz(SPECIMEN_LINE1 + "\n" + line2.replace("C36", "C37"), today=SPECIMEN_DAY).problems[0]
    assert problem.message == "document number check digit is '7', expected '6'"


def test_germany_and_unknown_birth_date() -> None:
    text = _td3(SPECIMEN_LINE1.replace("P<UTO", "P<D<<"), SPECIMEN_HEAD.replace("6UTO740812", "6D<<74<<<<"))
    mrz = parse_mrz(text, today=SPECIMEN_DAY)
    assert mrz.valid, mrz.problems
    assert (mrz.issuing_state, mrz.nationality, mrz.birth_date) == ("D", "D", None)
    half_known = _td3(SPECIMEN_LINE1, SPECIMEN_HEAD.replace("740812", "74<812"))
    assert _codes(half_known) == [("date", "birth_date")]


@pytest.mark.parametrize(("yymmdd", "today", "born"), [
    ("250101", date(2024, 6, 1), date(1925, 1, 1)),
    ("250101", date(2025, 1, 1), date(2025, 1, 1)),
    ("000229", date(2024, 6, 1), date(2000, 2, 29)),
    ("991231", date(2024, 6, 1), date(1999, 12, 31)),
])
def test_birth_century_is_never_in_the_future(yymmdd: str, today: date, born: date) -> None:
    text = _td3(SPECIMEN_LINE1, SPECIMEN_HEAD.replace("740812", yymmdd).replace("120415", "300101"))
    assert parse_mrz(text, today=today).birth_date == born


def test_icao_name_field() -> None:
    assert icao_name_field("Muñoz Peña", "José-María", 30) == "MUNOZ<PENA<<JOSE<MARIA<<<<<<<<"
    assert icao_name_field("O'Brien", "Seán", 20) == "OBRIEN<<SEAN<<<<<<<<"
    assert icao_name_field("", "Madonna", 10) == "MADONNA<<<"
    long_name = icao_name_field("Nilavadhanananda", "Chayapa Dejthamrong Krasuang", 39)
    assert long_name == "NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<KR"[:39]
    assert len(long_name) == 39


def test_compare_name() -> None:
    specimen = parse_mrz(SPECIMENS["TD3"], today=SPECIMEN_DAY)
    assert compare_name(specimen, "ERIKSSON", "ANNA-MARIA") is None
    swapped = compare_name(specimen, "Anna María", "Eriksson")
    assert swapped is not None and swapped.code == "name_mismatch"
    assert "ANNA<MARIA<<ERIKSSON" in swapped.message
    assert compare_name(specimen, "Eriksson", "Anna") is not None
    assert compare_name(specimen, "Eriksson", "Anna Marie") is not None
    # Separators placed differently by the issuer are not a mismatch when the letters agree.
    cruz = parse_mrz(_td3(SPECIMEN_LINE1.replace("ERIKSSON<<ANNA<MARIA<<<<<", "DE<LA<CRUZ<<ANA<<<<<<<<<<"),
                          SPECIMEN_HEAD), today=SPECIMEN_DAY)
    assert compare_name(cruz, "Delacruz", "Ana") is None
    assert compare_name(cruz, "De la Cruz", "Ana") is None
    assert compare_name(cruz, "De la Cruz", "Ana María") is not None


def test_truncated_name_still_matches() -> None:
    text = build_td1(document_code="I", issuing_state="VEN", surnames="Rodríguez de la Santísima Trinidad",
                     given_names="María de los Ángeles", document_number="V12345678", nationality="VEN",
                     birth_date=date(1990, 3, 4), sex="F", expiry_date=date(2030, 1, 1))
    mrz = parse_mrz(text, today=TODAY)
    assert mrz.valid
    assert mrz.lines[2] == "RODRIGUEZ<DE<LA<SANTISIMA<TRIN"
    assert compare_name(mrz, "Rodríguez de la Santísima Trinidad", "María de los Ángeles") is None
    assert compare_name(mrz, "Rodríguez de la Santísima Trinidad", "María") is None
    assert compare_name(mrz, "Rodríguez de la Santísima Trinity", "María") is None
    assert compare_name(mrz, "Rodríguez de la Santísima Tranidad", "María") is not None


def test_builders_refuse_bad_input() -> None:
    good = {"document_code": "P", "issuing_state": "VEN", "surnames": "Pérez", "given_names": "Ana",
            "document_number": "123456789", "nationality": "VEN", "birth_date": date(1990, 1, 1), "sex": "F",
            "expiry_date": date(2030, 1, 1)}
    assert parse_mrz(build_td3(**good), today=TODAY).valid  # type: ignore[arg-type]
    for bad in ({"issuing_state": "ZZZ"}, {"sex": "Q"}, {"document_number": "1234567890"},
                {"document_number": "12#4"}, {"optional_data": "X" * 15}, {"document_code": "1"}):
        with pytest.raises(ValueError):
            build_td3(**{**good, **bad})  # type: ignore[arg-type]


def test_emergency_document_number() -> None:
    assert emergency_document_number(2023, 207) == "E23000207"
    assert len(emergency_document_number(2099, 999_999)) == 9
    assert parse_emergency_document_number("e23000207") == (2023, 207)
    for year, sequence in ((1999, 1), (2100, 1), (2024, 0), (2024, 1_000_000)):
        with pytest.raises(ValueError):
            emergency_document_number(year, sequence)
    for number in ("E2300020", "P23000207", "E23000000"):
        with pytest.raises(ValueError):
            parse_emergency_document_number(number)


def test_emergency_mrz() -> None:
    text = build_emergency_mrz(number=emergency_document_number(2024, 31), surnames="Muñoz Gutiérrez",
                               given_names="Luis Ángel", birth_date=date(1988, 11, 2), sex="M",
                               expiry_date=date(2024, 12, 31))
    assert text.split("\n")[0].startswith("PEVENMUNOZ<GUTIERREZ<<LUIS<ANGEL<")
    mrz = parse_mrz(text, today=date(2024, 6, 1))
    assert mrz.valid, mrz.problems
    assert (mrz.document_code, mrz.issuing_state, mrz.nationality, mrz.document_number) == (
        "PE", "VEN", "VEN", "E24000031")
    with pytest.raises(ValueError):
        build_emergency_mrz(number="123456789", surnames="A", given_names="B", birth_date=date(1988, 1, 1),
                            sex="M", expiry_date=date(2024, 12, 31))


# --- Generated documents -------------------------------------------------------------------------

_WORD = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZÁÉÍÓÚÑÜabcdefghijklmnñopqrstuvwxyzáéíóú", min_size=1,
                max_size=12)
_NAME = st.lists(_WORD, min_size=1, max_size=3).flatmap(
    lambda words: st.sampled_from([" ", "-"]).map(lambda separator: separator.join(words)))
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_COUNTRY = st.sampled_from(["VEN", "MEX", "USA", "COL", "D", "UTO", "XXA", "XXB"])
_CODES = {"TD1": ["I", "ID", "AC", "C"], "TD2": ["I", "IR", "A"], "TD3": ["P", "PE", "PO"]}
_NUMBER_MAX = {"TD1": 14, "TD2": 12, "TD3": 9}
_OPTIONAL_ROOM = {"TD1": 15, "TD2": 7, "TD3": 14}
_BUILD = {"TD1": build_td1, "TD2": build_td2, "TD3": build_td3}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for one of the builders, with the kind under `kind`."""
    kind = draw(st.sampled_from(["TD1", "TD2", "TD3"]))
    number = draw(st.text(alphabet=_ALNUM, min_size=1, max_size=_NUMBER_MAX[kind]))
    # A long number takes its overflow, its check digit and a filler from the optional data.
    room = _OPTIONAL_ROOM[kind] - (len(number) - 9 + 2 if len(number) > 9 else 0)
    return {
        "kind": kind,
        "document_code": draw(st.sampled_from(_CODES[kind])),
        "issuing_state": draw(_COUNTRY),
        "surnames": draw(_NAME),
        "given_names": draw(st.one_of(st.just(""), _NAME)),
        "document_number": number,
        "nationality": draw(_COUNTRY),
        "birth_date": draw(st.dates(min_value=date(1925, 6, 2), max_value=TODAY)),
        "sex": draw(st.sampled_from("MFX")),
        "expiry_date": draw(st.dates(min_value=TODAY, max_value=date(2099, 12, 31))),
        "optional_data": draw(st.text(alphabet=_ALNUM, max_size=max(room, 0))),
    }


def _build(document: dict[str, Any]) -> str:
    arguments = {key: value for key, value in document.items() if key != "kind"}
    build: Callable[..., str] = _BUILD[document["kind"]]
    return build(**arguments)


@settings(max_examples=150, deadline=None)
@given(documents())
def test_generated_documents_round_trip(document: dict[str, Any]) -> None:
    mrz = parse_mrz(_build(document), today=TODAY)
    assert mrz.valid, mrz.problems
    assert mrz.kind == document["kind"]
    assert (mrz.document_code, mrz.issuing_state, mrz.nationality) == (
        document["document_code"], document["issuing_state"], document["nationality"])
    assert mrz.document_number == document["document_number"]
    assert mrz.optional_data == document["optional_data"]
    assert (mrz.birth_date, mrz.expiry_date, mrz.sex) == (
        document["birth_date"], document["expiry_date"], document["sex"])
    surnames, given_names = str(document["surnames"]), str(document["given_names"])
    assert compare_name(mrz, surnames, given_names) is None
    written = f"{fold(surnames)}<<{fold(given_names)}" if fold(given_names) else fold(surnames)
    if len(written) <= len(mrz.name_field):
        assert (mrz.surnames, mrz.given_names) == (fold(surnames), fold(given_names))
    assert parse_mrz(mrz.lines[0] + mrz.lines[1] + "".join(mrz.lines[2:]), today=TODAY) == mrz


# --- Single-character substitutions --------------------------------------------------------------
#
# The property: after any single substitution (any position, any other character of the MRZ
# alphabet) the MRZ is invalid, or a parsed field other than the name differs, or the name no
# longer matches the declared name. The name field is covered by no check digit in any format,
# so a change there counts only through `compare_name`. Check digits alone do not catch every
# substitution: characters whose values agree modulo 10 (0, A, K, U and <; 1, B, L, V; ...) give
# the same digit, and then the changed field itself is what differs. Two substitutions are
# undetectable by design, because Doc 9303 gives both characters the same meaning:
#   1. the sex position: `<` and `X` both mean "unspecified";
#   2. TD3 line 2 position 43, the check digit of an empty personal number: `<` and `0` are both
#      allowed, and both count 0 in the composite check digit.


def _fields(mrz: Mrz) -> tuple[object, ...]:
    return (mrz.kind, mrz.document_code, mrz.issuing_state, mrz.document_number, mrz.nationality,
            mrz.birth_date, mrz.sex, mrz.expiry_date, mrz.optional_data, mrz.optional_data_2)


def _undetectable_by_design(original: Mrz, line: int, position: int, replacement: str) -> bool:
    pair = {original.lines[line][position], replacement}
    sex_at = (1, 7) if original.kind == "TD1" else (1, 20)
    if (line, position) == sex_at and pair == {"<", "X"}:
        return True
    return (original.kind == "TD3" and (line, position) == (1, 42) and original.optional_data == ""
            and pair == {"<", "0"})


def _substitution_is_detected(original: Mrz, names: tuple[str, str], line: int, position: int,
                              replacement: str, today: date) -> bool:
    changed = list(original.lines)
    changed[line] = changed[line][:position] + replacement + changed[line][position + 1:]
    mutated = parse_mrz("\n".join(changed), today=today)
    return (not mutated.valid or _fields(mutated) != _fields(original)
            or compare_name(mutated, *names) is not None)


def _check_every_substitution(text: str, names: tuple[str, str], today: date) -> None:
    original = parse_mrz(text, today=today)
    assert original.valid
    for line, content in enumerate(original.lines):
        for position, current in enumerate(content):
            for replacement in MRZ_ALPHABET.replace(current, ""):
                detected = _substitution_is_detected(original, names, line, position, replacement, today)
                assert detected != _undetectable_by_design(original, line, position, replacement), (
                    line, position, current, replacement)


@pytest.mark.parametrize("kind", sorted(SPECIMENS))
def test_every_substitution_in_a_specimen_is_caught(kind: str) -> None:
    _check_every_substitution(SPECIMENS[kind], ("Eriksson", "Anna Maria"), SPECIMEN_DAY)


def test_every_substitution_in_long_and_truncated_documents_is_caught() -> None:
    _check_every_substitution(TD1_LONG_NUMBER, ("Stevenson", "Peter John"), SPECIMEN_DAY)
    names = ("Nilavadhanananda", "Chayapa Dejthamrong Krasuang")
    text = build_td2(document_code="I", issuing_state="UTO", surnames=names[0], given_names=names[1],
                     document_number="AB1234567890", nationality="XXA", birth_date=date(2001, 2, 3), sex="X",
                     expiry_date=date(2031, 2, 3), optional_data="")
    _check_every_substitution(text, names, TODAY)
    text = build_td3(document_code="P", issuing_state="VEN", surnames=names[0], given_names=names[1],
                     document_number="123", nationality="VEN", birth_date=date(2001, 2, 3), sex="X",
                     expiry_date=date(2031, 2, 3))
    _check_every_substitution(text, names, TODAY)


@settings(max_examples=200, deadline=None)
@given(documents(), st.data())
def test_any_single_substitution_is_caught(document: dict[str, Any], data: st.DataObject) -> None:
    text = _build(document)
    original = parse_mrz(text, today=TODAY)
    line = data.draw(st.integers(0, len(original.lines) - 1))
    position = data.draw(st.integers(0, len(original.lines[line]) - 1))
    replacement = data.draw(st.sampled_from(MRZ_ALPHABET.replace(original.lines[line][position], "")))
    names = (str(document["surnames"]), str(document["given_names"]))
    detected = _substitution_is_detected(original, names, line, position, replacement, TODAY)
    assert detected != _undetectable_by_design(original, line, position, replacement)


def _value(char: str) -> int:
    return 0 if char == "<" else int(char, 36)


@given(st.text(alphabet=MRZ_ALPHABET, min_size=1, max_size=20), st.data())
def test_check_digit_catches_substitutions_not_congruent_mod_10(field: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(field) - 1))
    replacement = data.draw(st.sampled_from(MRZ_ALPHABET.replace(field[position], "")))
    changed = field[:position] + replacement + field[position + 1:]
    values_agree = (_value(field[position]) - _value(replacement)) % 10 == 0
    assert (check_digit(changed) == check_digit(field)) == values_agree
