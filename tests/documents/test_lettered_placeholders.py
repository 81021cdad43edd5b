"""Letters before or after a placeholder's digits do not make it a document's number, nor does a unit of four said
twice or a run of pairs (red team round 19, T-F3).

`11111111A`, `1111111AB`, `111111A`, `ABC111111` (`AB1111111` was refused), `P12341234`, `123412341`, `A12341234`,
`11223344`, `112233445` were taken at every door, and four strangers declaring them with a record that had filed one
were one person: a concern on that record held the strangers. The rule (`identifiers.placeholder_document_number`,
which the same-person query asks too: `cases.facts._linkable_keys`) reads the digits between up to 4 letters before
and after them (`identifiers.digit_core`) as a number: one digit repeated, a unit of up to four repeated, a run, a run
of pairs, or a number padded with 5 zeros in a row.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.facts import same_person
from retorno.cases.models import Case
from retorno.documents.models import TravelDocument
from retorno.identifiers import digit_core, placeholder_document_number
from tests.documents.test_padded_numbers import _row, refused_everywhere_else, refused_import
from tests.factories import Api, World

LETTERED = ("11111111A", "1111111AB", "111111A", "ABC111111", "ABCD11111", "P12341234", "123412341", "A12341234",
            "12341234", "11223344", "112233445", "998877665", "ABC000001", "AB0000012", "A00000123", "100000AB",
            "ABC123456", "12345678Z", "AB121212C")
# What names a document: passports of Venezuela, Mexico, Spain, Ireland, France, the ICAO specimen, this system's
# emergency documents (a sequence of one pattern is still issued), a unit of three said under three times, pairs.
REAL = ("C55500011", "G12345679", "XDA583920", "PA1000200", "09AA12345", "L898902C3", "E26002600", "E26000100",
        "12312312", "AB1234568", "A1B2C3D4E", "11335577", "112233446", "1234123", "ABCDE111111", "12341235")


def test_the_rule() -> None:
    # Before: each named a document.
    assert [number for number in LETTERED if not placeholder_document_number(number)] == []
    assert [number for number in REAL if placeholder_document_number(number)] == []
    assert (digit_core("ABC111111"), digit_core("1111111AB"), digit_core("P1A2B3"), digit_core("ABCDE1")) == (
        "111111", "1111111", "", "")


@pytest.mark.parametrize("number", LETTERED)
def test_every_door_refuses_the_number(
        client: TestClient, world: World, session_factory: sessionmaker[Session], number: str) -> None:
    """A row of the case list (named at its cell) and a machine readable zone filed at the API: 422
    `document_number_placeholder`, nothing written."""
    refused_import(client, world, "inm.officer", _row("RT19-F3", "Efrain", "Colmenares", "M", "1970-01-01", number))
    refused_everywhere_else(Api(client, world), session_factory, number)


def test_four_strangers_and_a_record_that_filed_one_on_file_are_not_one_person(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The finding's steps with the numbers on file as the red team's demo holds them: a record with a passport
    `11111111A` filed and a refugee concern; four strangers of two agencies declaring `11111111A`, `1111111AB`,
    `ABC111111`, `P12341234`... each pair one number. Each stranger, verified with their own passport, is ready
    (before: held by the concern)."""
    api = Api(client, world)
    holder = api.register(given_names="Efrain", first_surname="Colmenares", second_surname="Vivas", sex="M",
                          birth_date="1970-01-01")
    strangers = [api.register(user, given_names=given, first_surname=surname, second_surname="Gil", sex=sex,
                              birth_date=born)
                 for user, given, surname, sex, born in (
                     ("inm.officer", "Lisbeth", "Urbina", "F", "1995-05-05"),
                     ("ice.officer", "Teodoro", "Garmendia", "M", "1975-04-25"),
                     ("inm.officer", "Zenaida", "Acosta", "F", "1988-08-08"),
                     ("ice.officer", "Wilmer", "Bracho", "M", "1969-09-09"))]
    numbers = ("11111111A", "1111111AB", "ABC111111", "P12341234")
    with session_factory() as session:
        ids = dict(session.execute(sa.select(Case.reference, Case.id)).all())
        for number in numbers:
            session.add(TravelDocument(case_id=ids[holder["reference"]], document_type="P", number=number,
                                       issuing_state="VEN", nationality="VEN", mrz="<" * 88, mrz_valid=False,
                                       problems=[]))
        for stranger, number in zip(strangers, numbers, strict=True):
            session.execute(sa.update(Case).where(Case.id == ids[stranger["reference"]]).values(
                declared_document_type="P", declared_document_number=number))
        session.commit()
        # Before: the five were one person.
        assert same_person(session, list(ids.values())) == {}
    api.screen(holder["reference"], ["recognised_refugee"])
    for stranger in strangers:
        user = "ice.officer" if stranger["reference"].startswith("US") else "inm.officer"
        api.screen(stranger["reference"], user=user)
        api.verify(stranger["reference"], sender=user)
        assert api.passport(stranger, user=user)["case_state"] == "ready"
