"""An identity card's number declared on a record is a national ID: it links the records of that cédula (red team
round 60, F3; SPEC.md 4.1).

INM imported a row declaring an 'ID' document whose number was the cédula of a person with an open asylum claim: it
linked nobody, reached 'ready' and was approved on a flight, while the same number in the cédula column, or declared
as a passport's filed on her record, linked the two. Now a declared number of an identity card (any type that is not a
passport's, or none) links a record of that cédula by its digits, whichever was written first; a passport's number is
another document's and links a cédula of the same digits to nobody: the two are possible duplicates (round 64, F1).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import records_alike, same_person
from retorno.cases.models import Case
from tests.factories import Api, World, ok

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def _import(client: TestClient, world: World, reference: str, kind: str, number: str) -> None:
    """A man nothing like her by name or birth date, declaring a document."""
    row = (f"{reference},Rosendo,Guaramato,Lucena,M,1975-02-11,VEN,,{kind},{number},Tapachula,TAP,"
           f"{(date.today() - timedelta(days=30)).strftime('%Y-%m-%d')}\n")
    upload = {"file": ("lista.csv", (HEADER + row).encode(), "text/csv")}
    ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")), 201)


def _ids(session: Session, *references: str) -> list[int]:
    return [session.execute(sa.select(Case.id).where(sa.or_(Case.reference == reference,
                                                             Case.agency_reference == reference))).scalar_one()
            for reference in references]


def _with_concern(api: Api, cedula: str) -> dict[str, Any]:
    case = api.register(national_id=cedula, given_names="Carmen Luisa", first_surname="Suárez",
                        second_surname="Núñez", birth_date="1990-12-19")
    api.screen(case["reference"], ["pending_asylum_claim"])
    return case


def _held(api: Api, reference: str) -> None:
    """Screened clear and verified, with a valid passport: held back at 'documented' by the other record's concern."""
    api.screen(reference)
    api.verify(reference)
    case = ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))
    assert api.passport(case)["case_state"] == "documented"


@pytest.mark.parametrize(("kind", "number", "cedula", "card_first", "linked"), [
    ("ID", "V19384756", "V19384756", False, True),  # the card declared after her record
    ("ID", "19384756", "E-19.384.756", True, True),  # her cédula recorded after the card, its letter left out
    ("P", "19384756", "V19384756", False, False),  # a passport's number of the same digits: another document, alike
    # Round 61, F2: letters around the digits, leading zeros, whichever was written first.
    *(("ID", number, "V19384756", card_first, True) for number in (
        "V019384756", "0019384756", "VEN19384756", "CIV19384756", "19384756V", "V19384756A") for card_first in (
        False, True)),
])
def test_an_identity_cards_number_is_the_cedula_of_that_number(
        client: TestClient, world: World, session: Session, kind: str, number: str, cedula: str, card_first: bool,
        linked: bool) -> None:
    api = Api(client, world)
    if card_first:
        _import(client, world, "RT-ID", kind, number)
    carmen = _with_concern(api, cedula)
    if not card_first:
        _import(client, world, "RT-ID", kind, number)
    card, hers = _ids(session, "RT-ID", carmen["reference"])
    assert (hers in same_person(session, [card]).get(card, {})) is linked
    assert (card in same_person(session, [hers]).get(hers, {})) is linked
    # A passport's number of her cédula's digits is not her: the two are possible duplicates, held together until
    # supervisors decide (red team round 64, F1), not one person for good.
    assert hers in records_alike(session, [card]).get(card, set())
    assert card in records_alike(session, [hers]).get(hers, set())
    if linked:
        _held(api, str(session.execute(sa.select(Case.reference).where(Case.id == card)).scalar_one()))
