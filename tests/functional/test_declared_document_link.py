"""Red team H2: a document number declared on a case (registration, the case list) made no two records one person.

Records sharing a declared number, declared on the other or filed there (a travel document of that number), are
one person (`cases.facts._linked_pairs`): a concern open on one holds the other back, whichever was written first,
and a number written later that links a passenger to such a record takes the passenger off, or is refused.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno import safeguards
from retorno.cases.facts import same_person, traveller_facts
from retorno.cases.models import Case
from retorno.cases.service import normal_document_number
from retorno.documents import mrz
from retorno.errors import SafeguardViolation
from tests.factories import Api, World, ok

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "tipo_documento,numero_documento,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


OTHER_PERSON = "Yolanda"


def _import(client: TestClient, world: World, reference: str, *, number: str, kind: str = "pasaporte",
            cedula: str = "", given: str = "Rosa Elena", status: int = 201) -> Any:
    """One row of the case list, the person born 1990-05-17, declaring a document."""
    row = (f"{reference},{given},Peña,Rodríguez,F,1990-05-17,VEN,{cedula},{kind},{number},Tapachula,TAP,"
           f"{(date.today() - timedelta(days=30)).strftime('%Y-%m-%d')}\n")
    upload = {"file": ("lista.csv", (HEADER + row).encode(), "text/csv")}
    return ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")), status)


def _reference(session_factory: sessionmaker[Session], agency_reference: str) -> str | None:
    with session_factory() as session:
        return session.execute(sa.select(Case.reference).where(Case.agency_reference == agency_reference)
                               ).scalar_one_or_none()


def _passport(api: Api, case: dict[str, Any], number: str) -> Any:
    """File a valid Venezuelan passport of `number` on `case` (the answer: the case's state after)."""
    text = mrz.build_td3(document_code="P", issuing_state="VEN",
                         surnames=f"{case['first_surname']} {case['second_surname'] or ''}".strip(),
                         given_names=case["given_names"], document_number=number, nationality="VEN",
                         birth_date=date.fromisoformat(case["birth_date"]), sex=case["sex"],
                         expiry_date=date.today() + timedelta(days=1000))
    return ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents", {"mrz": text}), 201)


def _same_person_twice(api: Api) -> dict[str, Any]:
    """B of the red team: the same name and birth date as the imported row, no cédula, screened clear, verified."""
    again = api.register(national_id=None, given_names="Rosa Elena", birth_date="1990-05-17",
                         agency_reference="INM-RT-H2-B")
    api.screen(again["reference"])
    api.verify(again["reference"])
    return again


def _state(api: Api, reference: str) -> str:
    return str(ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))["state"])


def _kept_off(api: Api, reference: str) -> None:
    assert _state(api, reference) == "documented"
    flight = api.flight()["reference"]
    response = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [reference]})
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"].startswith("invalid_transition"), response.text


def test_a_passport_filed_with_a_number_a_concern_case_declared_holds_the_person(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _import(client, world, "RT-H2-A", number="c 4417-0021")  # stored as C44170021
    declared = _reference(session_factory, "RT-H2-A")
    assert declared is not None
    api.screen(declared, ["trafficking_victim"])
    again = _same_person_twice(api)
    assert _passport(api, again, "C44170021")["case_state"] == "documented"
    _kept_off(api, again["reference"])


def test_a_case_declaring_the_number_of_a_concern_cases_passport_is_held(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    filed = api.ready_case(national_id=None, given_names="Rosa Elena", birth_date="1990-05-17")
    _passport(api, filed, "C44170022")
    api.screen(filed["reference"], ["trafficking_victim"])
    _import(client, world, "RT-H2-B2", number="C-44170022")
    declaring = ok(api.get("inm.officer", f"/api/v1/cases/{_reference(session_factory, 'RT-H2-B2')}"))
    api.screen(declaring["reference"])
    api.verify(declaring["reference"])
    assert _passport(api, declaring, "C44170099")["case_state"] == "documented"
    _kept_off(api, declaring["reference"])


def test_two_cases_declaring_one_number_are_one_person_unless_one_is_a_passport_the_other_not(
        client: TestClient, world: World, session: Session) -> None:
    _import(client, world, "RT-H2-D1", number="C44170023")
    _import(client, world, "RT-H2-D2", number="c44170023", given="Rosa")
    _import(client, world, "RT-H2-D3", number="C44170023", kind="ID", given="Rosaura")
    ids = dict(session.execute(sa.select(Case.agency_reference, Case.id)
                               .where(Case.agency_reference.like("RT-H2-D%"))).all())
    links = same_person(session, [ids["RT-H2-D1"], ids["RT-H2-D3"]])
    assert links[ids["RT-H2-D1"]].keys() == {ids["RT-H2-D2"]}
    assert ids["RT-H2-D3"] not in links


def _passenger_and_concern(client: TestClient, world: World, session_factory: sessionmaker[Session],
                           number: str) -> tuple[Api, str, str]:
    """A ready passenger on a flight with a passport of `number`, and an imported case RT-H2-C with an open
    concern that declares another number."""
    api = Api(client, world)
    passenger = api.ready_case(national_id=None, given_names="Rosa Elena", birth_date="1990-05-17")
    _passport(api, passenger, number)
    assert _state(api, passenger["reference"]) == "ready"
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger["reference"]]}), 201)
    assert _state(api, passenger["reference"]) == "manifested"
    # Another person (no possible duplicate of the passenger's: an undecided one would hold the passenger too).
    _import(client, world, "RT-H2-C", number="C04821735", given=OTHER_PERSON)
    concern = _reference(session_factory, "RT-H2-C")
    assert concern is not None
    api.screen(concern, ["trafficking_victim"])
    return api, passenger["reference"], flight


def _aboard(api: Api, reference: str, flight: str) -> bool:
    passengers = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    return reference in [p["case"] for p in passengers if p["approval"] in ("proposed", "approved")]


def test_a_number_declared_later_on_a_concern_case_takes_the_linked_passenger_off(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """As a cédula recorded later on a concern case is: the link is kept and the passenger it makes the same person
    leaves the manifest at once (`travel.service.update_case`). Refusing the write, as before, kept the two records
    apart, and the official who knew the number could not record it (red team)."""
    api, passenger, flight = _passenger_and_concern(client, world, session_factory, "C44170024")
    assert _import(client, world, "RT-H2-C", number="C44170024", given=OTHER_PERSON)["updated"] == 1
    with session_factory() as session:
        assert session.execute(sa.select(Case.declared_document_number)
                               .where(Case.agency_reference == "RT-H2-C")).scalar_one() == "C44170024"
    assert not _aboard(api, passenger, flight)
    assert _state(api, passenger) == "documented"


def test_a_number_declared_later_on_the_passengers_case_takes_the_passenger_off(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api, passenger, flight = _passenger_and_concern(client, world, session_factory, "C44170025")
    stored = ok(api.get("inm.officer", f"/api/v1/cases/{passenger}"))
    row = (f"{stored['agency_reference']},Rosa Elena,Peña,Rodríguez,F,1990-05-17,VEN,,pasaporte,C04821735,"
           f"\"{stored['held_at']}\",TAP,{date.fromisoformat(stored['detained_since']).strftime('%Y-%m-%d')}\n")
    upload = {"file": ("lista.csv", (HEADER + row).encode(), "text/csv")}
    assert ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")),
              201)["updated"] == 1
    assert not _aboard(api, passenger, flight)
    assert _state(api, passenger) == "verification_requested"


def test_a_concern_raised_on_a_case_declaring_a_passengers_number_takes_the_passenger_off(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api, passenger, flight = _passenger_and_concern(client, world, session_factory, "C44170028")
    _import(client, world, "RT-H2-LATER", number="C44170028", given="Rosa")
    later = _reference(session_factory, "RT-H2-LATER")
    assert later is not None and _aboard(api, passenger, flight)
    api.screen(later, ["pending_asylum_claim"])
    assert not _aboard(api, passenger, flight)
    assert _state(api, passenger) == "documented"


def test_a_new_case_joining_a_passenger_to_a_concern_by_a_declared_number_takes_the_passenger_off(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The case list writes new cases through the driver: a row whose cédula is a concern case's and whose declared
    number is a passenger's passport makes them one person. The row is also a possible duplicate of the passenger
    (the same name and birth date), whose person now has the concern: the import takes the passenger off, as a flag
    that holds a passenger does (`travel.duplicates.pull_held`), and the manifest guard finds nothing left."""
    api, passenger, flight = _passenger_and_concern(client, world, session_factory, "C44170026")
    claimant = api.register(national_id="V20444555", given_names="Rosa Elena", agency_reference="INM-RT-H2-CED")
    api.screen(claimant["reference"], ["pending_asylum_claim"])
    assert _import(client, world, "RT-H2-BRIDGE", number="C44170026", cedula="V20444555")["possible_duplicates"]
    assert _reference(session_factory, "RT-H2-BRIDGE") is not None
    assert not _aboard(api, passenger, flight)
    assert _state(api, passenger) == "documented"


def test_a_number_declared_in_the_transaction_is_seen_by_the_same_person_cache(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    passenger = api.ready_case(national_id="V31000777")
    _passport(api, passenger, "C44170027")
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger["reference"]]}), 201)
    other = api.register(national_id="V31000888", agency_reference="INM-RT-H2-CACHE")
    api.screen(other["reference"], ["pending_asylum_claim"])
    mine = session.execute(sa.select(Case).where(Case.reference == passenger["reference"])).scalar_one()
    theirs = session.execute(sa.select(Case).where(Case.reference == other["reference"])).scalar_one()
    assert same_person(session, [mine.id, theirs.id]) == {}
    theirs.declared_document_type, theirs.declared_document_number = "P", "C44170027"
    assert same_person(session, [mine.id])[mine.id].keys() == {theirs.id}
    assert safeguards.protection(traveller_facts(session, [mine])[mine.id])
    with pytest.raises(SafeguardViolation):
        session.commit()


def test_a_declared_number_is_stored_in_one_form_at_every_door() -> None:
    assert normal_document_number(" c-4417 0021 ") == "C44170021"
    assert normal_document_number(" - ") is None
    assert normal_document_number(None) is None
