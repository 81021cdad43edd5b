"""A civil-registry record a verification matched is the cédula of its digits (red team round 61, F3; SPEC.md 4.1).

ICE's record of a woman with an open asylum claim was verified against the registry record V29518436; INM's record
of the cédula V29518436 was not linked to it, and, verified against another record, was approved on a flight. The
registry record and the cédula now link the two, whichever was written first.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import records_alike
from retorno.cases.models import Case
from tests.factories import Api, World

ICE = {"held_at": "Port Isabel Detention Center", "nearest_airport": "HRL"}
HER = {"given_names": "Carmen Luisa", "first_surname": "Suárez", "second_surname": "Núñez", "birth_date": "1990-12-19"}
HIM = {"given_names": "Rosendo", "first_surname": "Guaramato", "second_surname": "Lucena", "birth_date": "1975-02-11",
       "sex": "M"}


def _id(session: Session, reference: str) -> int:
    return int(session.execute(sa.select(Case.id).where(Case.reference == reference)).scalar_one())


@pytest.mark.parametrize(("record", "cedula"), [("V29518436", "V29518436"), ("CI-29518436", "E29518436"),
                                                ("29518436", "V-29.518.436")])
@pytest.mark.parametrize("verified_first", [True, False])
def test_a_registry_record_verified_is_the_cedula_of_its_digits(
        client: TestClient, world: World, session: Session, record: str, cedula: str, verified_first: bool) -> None:
    api = Api(client, world)
    hers = str(api.register("ice.officer", national_id=None, **HER, **ICE)["reference"])
    api.screen(hers, ["pending_asylum_claim"], user="ice.officer")
    if verified_first:
        api.verify(hers, "ice.officer", record=record)
    ours = str(api.register(national_id=cedula, **HIM)["reference"])
    if not verified_first:
        api.verify(hers, "ice.officer", record=record)
    mine, theirs = _id(session, ours), _id(session, hers)
    assert theirs in records_alike(session, [mine]).get(mine, set())
    assert mine in records_alike(session, [theirs]).get(theirs, set())


@pytest.mark.parametrize(("number", "record"), [("33963382", "33963382"), ("V033963382", "V-33963382"),
                                                ("CIV33963382", "CI33963382")])
@pytest.mark.parametrize("verified_first", [True, False])
def test_a_registry_record_verified_is_the_identity_card_of_its_digits(
        client: TestClient, world: World, session: Session, number: str, record: str, verified_first: bool) -> None:
    """Round 62, F1: a card declared with an asylum claim open, and a record verified against the registry record of
    its number, were not linked (each was linked to a cédula of those digits only), and the verified one flew."""
    api = Api(client, world)
    ours = str(api.register(national_id=None, **HIM)["reference"])
    api.screen(ours)
    if verified_first:
        api.verify(ours, record=record)
    header = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
              "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
    row = f"RT-CARD,Carmen Luisa,Suárez,Núñez,F,1990-12-19,VEN,,ID,{number},Tapachula,TAP,2026-10-01\n"
    answer = client.post("/api/v1/cases/import", files={"file": ("l.csv", (header + row).encode(), "text/csv")},
                         headers=world.headers("sre.officer"))
    assert answer.status_code == 201, answer.text
    card = int(session.execute(sa.select(Case.id).where(Case.agency_reference == "RT-CARD")).scalar_one())
    if not verified_first:
        api.verify(ours, record=record)
    mine = _id(session, ours)
    assert card in records_alike(session, [mine]).get(mine, set())
    assert mine in records_alike(session, [card]).get(card, set())
