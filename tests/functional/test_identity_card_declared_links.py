"""An identity card's number declared on a record is a national ID: it links the records of that cédula (red team
round 60, F3; SPEC.md 4.1).

INM imported a row declaring an 'ID' document whose number was the cédula of a person with an open asylum claim: it
linked nobody, reached 'ready' and was approved on a flight, while the same number in the cédula column, or declared
as a passport's filed on her record, linked the two. Now a declared number of an identity card (any type that is not a
passport's, or none) links a record of that cédula by its digits, whichever was written first; a passport's number is
another document's and links a cédula of the same digits to nobody.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import records_alike
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


def test_an_identity_card_of_her_cedula_declared_later_is_her_record(client: TestClient, world: World,
                                                                     session: Session) -> None:
    api = Api(client, world)
    carmen = _with_concern(api, "V19384756")
    _import(client, world, "RT-ID", "ID", "V19384756")
    card, hers = _ids(session, "RT-ID", carmen["reference"])
    assert hers in records_alike(session, [card]).get(card, set())
    _held(api, str(session.execute(sa.select(Case.reference).where(Case.id == card)).scalar_one()))


def test_her_cedula_recorded_after_the_card_was_declared_is_her_record(client: TestClient, world: World,
                                                                       session: Session) -> None:
    api = Api(client, world)
    _import(client, world, "RT-ID2", "ID", "19384756")  # its letter left out
    carmen = _with_concern(api, "E-19.384.756")
    card, hers = _ids(session, "RT-ID2", carmen["reference"])
    assert card in records_alike(session, [hers]).get(hers, set())


def test_a_passports_number_of_the_same_digits_is_another_document(client: TestClient, world: World,
                                                                   session: Session) -> None:
    api = Api(client, world)
    carmen = _with_concern(api, "V19384756")
    _import(client, world, "RT-P", "P", "19384756")
    passport, hers = _ids(session, "RT-P", carmen["reference"])
    assert hers not in records_alike(session, [passport]).get(passport, set())
