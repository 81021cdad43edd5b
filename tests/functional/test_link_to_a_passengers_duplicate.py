"""Red team round 54, F1 (high): a correction (an edit or a re-import of a cédula) that linked a passenger's undecided
possible duplicate to a record with an open protection concern was refused whole (409 at the commit-time guard, its
message telling another country's officer that the person was on a manifest it holds): the cédula was not recorded,
the link was lost, and the passenger kept the seat, boarded too. A link made later is never refused for the
passenger's sake: it is kept, and the passenger, now held, leaves the manifest (the aircraft's door when boarded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from tests.factories import Api, World, case_payload, ok

PASSENGER = {"given_names": "Paola", "first_surname": "Alegre", "second_surname": "Gil", "sex": "F",
             "birth_date": "1983-08-17", "national_id": "V15500001"}
CLAIMANT = {"given_names": "Olga", "first_surname": "Berrío", "second_surname": "Lara", "sex": "F",
            "birth_date": "1955-02-04", "national_id": "V15500002"}


def _state(session: Session, reference: str) -> str:
    session.expire_all()
    return str(session.execute(sa.select(Case.state).where(Case.reference == reference)).scalar_one())


def test_a_cedula_corrected_onto_a_passengers_duplicate_takes_the_passenger_off(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    passenger = api.ready_case(**PASSENGER)["reference"]
    flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5))["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger]}), 201)
    claimant = api.register("sre.officer", **CLAIMANT)["reference"]
    api.screen(claimant, ["pending_asylum_claim"], user="sre.officer")
    alike = api.register("ice.officer", **{**PASSENGER, "birth_date": "1983-08-18", "national_id": None})["reference"]
    assert _state(session, passenger) == "manifested"
    answer = api.patch("ice.officer", f"/api/v1/cases/{alike}", {"national_id": CLAIMANT["national_id"]})
    assert answer.status_code == 200, answer.text
    assert _state(session, passenger) == "documented"


IMPORT_HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
                 "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def test_by_a_re_import_and_for_a_boarded_passenger_and_through_a_claimants_look_alike(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    person = {**PASSENGER, "given_names": "Rosaura", "national_id": "V15500011"}
    passenger = api.ready_case(**person)["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([passenger], departure=departure)
    with api.clock(departure - timedelta(minutes=30)):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{passenger}/boarding",
                    {"status": "boarded"}))
    # The concern is on a look-alike of the record the cédula will link: reached through its flag.
    claimant = api.register("sre.officer", **{**CLAIMANT, "national_id": "V15500012"})["reference"]
    look_alike = api.register("sre.officer", **{**CLAIMANT, "national_id": None, "birth_date": "1955-02-05"})
    api.screen(look_alike["reference"], ["pending_asylum_claim"], user="sre.officer")
    del claimant
    row = (f"ICE-54,{person['given_names']},Alegre,Gil,F,1983-08-18,VEN,{{cedula}},Harlingen,HRL,2026-10-01\n")
    first = client.post("/api/v1/cases/import", headers=world.headers("ice.officer"),
                        files={"file": ("casos.csv", (IMPORT_HEADER + row.format(cedula="")).encode(), "text/csv")})
    assert first.status_code in (200, 201), first.text
    with api.clock(departure - timedelta(minutes=20)):
        again = client.post("/api/v1/cases/import", headers=world.headers("ice.officer"), files={
            "file": ("casos.csv", (IMPORT_HEADER + row.format(cedula="V15500012")).encode(), "text/csv")})
    assert again.status_code in (200, 201), again.text
    assert _state(session, passenger) == "documented"
    leaving = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/deboardings"))
    assert passenger in str(leaving), leaving


def test_a_registration_linking_a_passengers_duplicate_to_a_claimant_takes_the_passenger_off(
        client: TestClient, world: World, session: Session) -> None:
    """The same path by a new record: the cédula of the passenger's possible duplicate, and the names and birth date of
    a claimant (a possible duplicate of the claimant): passenger ~ duplicate = new record ~ claimant."""
    api = Api(client, world)
    person = {**PASSENGER, "given_names": "Maribel", "national_id": "V15500021"}
    passenger = api.ready_case(**person)["reference"]
    flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5))["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger]}), 201)
    claimant = api.register("sre.officer", **{**CLAIMANT, "national_id": "V15500022"})["reference"]
    api.screen(claimant, ["pending_asylum_claim"], user="sre.officer")
    api.register("ice.officer", **{**person, "birth_date": "1983-08-18", "national_id": "V15500023"})
    assert _state(session, passenger) == "manifested"
    answer = api.post("sre.officer", "/api/v1/cases", case_payload(**{**CLAIMANT, "national_id": "V15500023"}))
    assert answer.status_code == 201, answer.text
    assert _state(session, passenger) == "documented"
