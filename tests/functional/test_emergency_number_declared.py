"""A number of the emergency travel document series declared on a record is that document, whatever type the row
gives it (red team round 63, F1; SPEC.md 4.1).

ICE imported a row declaring an 'ID' document whose number was the emergency travel document SAIME had issued to
INM's passenger: it was read as the cédula of its digits, linked a stranger of that cédula, and not the document's
holder, who stayed on the manifest while ICE's record held an open asylum claim. A number of the series (`E` and
eight digits) names one document this system issues to one person: declared under any type, or none, it links the
record holding that document, and records declaring it, and it is no cédula (a cédula of its digits is a possible
duplicate of the document's holder: round 65, F3).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import records_alike, same_person
from retorno.cases.models import Case
from tests.factories import Api, World, ok

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def _import(client: TestClient, world: World, rows: list[tuple[str, str, str]]) -> None:
    """Men nothing like her by name or birth date, each declaring a document (reference, type, number)."""
    entered = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    text = HEADER + "".join(f"{reference},Rosendo,Guaramato,{surname},M,1975-02-1{n},VEN,,{kind},{number},Tapachula,"
                            f"TAP,{entered}\n" for n, ((reference, kind, number), surname) in enumerate(
                                zip(rows, ("Lucena", "Lugo", "Luna", "Lara"), strict=False)))
    upload = {"file": ("lista.csv", text.encode(), "text/csv")}
    ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")), 201)


def _id(session: Session, reference: str) -> int:
    return session.execute(sa.select(Case.id).where(sa.or_(Case.reference == reference,
                                                            Case.agency_reference == reference))).scalar_one()


def _linked(session: Session, one: int, other: int) -> bool:
    forth, back = other in same_person(session, [one]).get(one, {}), one in same_person(session, [other]).get(
        other, {})
    assert forth == back
    return forth


@pytest.mark.parametrize("kinds", [("ID", "P", "PE")])
def test_an_emergency_number_declared_under_any_type_is_that_document_and_no_cedula(
        client: TestClient, world: World, session: Session, kinds: tuple[str, ...]) -> None:
    api = Api(client, world)
    holder = api.register(given_names="Paloma", first_surname="Cedeño", second_surname="Rivas",
                          birth_date="1991-06-23")
    api.screen(holder["reference"])
    api.verify(holder["reference"])
    number = ok(api.post("saime.officer", f"/api/v1/cases/{holder['reference']}/emergency-document"), 201)["number"]
    # A stranger whose cédula is the number's digits.
    stranger = api.register(national_id="V" + number[1:], given_names="Wilfredo", first_surname="Escalona",
                            second_surname="Briceño", birth_date="1968-09-02")
    _import(client, world, [(f"RT-E{n}", kind, number) for n, kind in enumerate(kinds)])
    holder_id, stranger_id = _id(session, holder["reference"]), _id(session, stranger["reference"])
    for n, kind in enumerate(kinds):
        declaring = _id(session, f"RT-E{n}")
        assert _linked(session, declaring, holder_id), kind
        assert not _linked(session, declaring, stranger_id), kind
    # The stranger of the document's digits is no record of its holder's, but a possible duplicate of it: one number
    # under two kinds, for supervisors to decide (red team round 65, F3).
    assert not _linked(session, holder_id, stranger_id)
    assert stranger_id in records_alike(session, [holder_id]).get(holder_id, set())
    # Declared on two records under different types, the number links them too.
    assert _linked(session, _id(session, "RT-E0"), _id(session, "RT-E1"))
