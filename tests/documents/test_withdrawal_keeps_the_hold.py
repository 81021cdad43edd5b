"""Withdrawing a document never ends, by itself, the hold a link carried (red team RE8701, F1).

INM's record X held a valid passport; ICE filed the same number on its record V, which linked X and V as one person;
ICE recorded an asylum claim on V, and X was taken off its flight. INM's supervisor then withdrew X's passport "as
filed in error": the link went, INM filed an invented passport, and X was approved on a locked manifest while ICE's
claim was open. One agency alone undid a link to another agency's record, what its "different people" may not do
alone (`travel.duplicates._first_word`). Records a withdrawal makes two people again are now a possible duplicate,
decided by supervisors with the rules of any flag.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.flights.models import ACTIVE_APPROVALS
from tests.documents.test_document_withdrawal import (
    CONCERN,
    _addable,
    _documents,
    _passport,
    _state,
    _withdraw,
    filed_unchecked,
)
from tests.factories import Api, World, ok

DIFFERENT = {"decision": "different_people", "reason": "Huellas y fotografía distintas: son dos personas."}


def _flags(api: Api, user: str, reference: str) -> list[dict[str, Any]]:
    return list(ok(api.get(user, f"/api/v1/cases/{reference}/possible-duplicates")))


def _decide(api: Api, user: str, reference: str, other: str) -> Any:
    return api.post(user, f"/api/v1/cases/{reference}/possible-duplicates/{other}/decision", DIFFERENT)


def _flag_count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.execute(sa.text("SELECT count(*) FROM possible_duplicates")).scalar_one())


def test_one_agency_withdrawing_a_shared_passport_does_not_free_the_person(client: TestClient, world: World) -> None:
    api = Api(client, world)
    x = api.ready_case()
    number = _documents(api, x["reference"])[0]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [x["reference"]]}), 201)
    # ICE registers the person under other names and another cédula, and files the same passport number.
    v = api.register("ice.officer", given_names="Pedro Pablo", first_surname="Linares", second_surname="Vivas",
                     sex="M")
    with filed_unchecked():
        filed = ok(api.post("ice.officer", f"/api/v1/cases/{v['reference']}/documents",
                            {"mrz": _passport(v, number["number"])}), 201)
    assert filed["problems"] == [], filed
    api.screen(v["reference"], [CONCERN], user="ice.officer")
    assert _state(api, x["reference"]) == "documented"
    assert not _addable(api, x["reference"])

    # INM's supervisor withdraws X's (valid) passport, and INM files another under an invented number.
    ok(_withdraw(api, x["reference"], number["id"]))
    assert api.passport(x)["case_state"] == "documented"
    assert not _addable(api, x["reference"])
    listed = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert [p["case"] for p in listed if p["approval"] in ACTIVE_APPROVALS] == [], listed
    # The two records are a possible duplicate, each agency told only of "another agency".
    (ours,) = _flags(api, "inm.supervisor", x["reference"])
    assert ours["decision"] is None and ours["other"] != v["reference"], ours
    (theirs,) = _flags(api, "ice.supervisor", v["reference"])
    assert theirs["decision"] is None and theirs["holding"] is True, theirs
    # Across countries "different people" is each agency's word: INM's alone holds the person still.
    said = ok(_decide(api, "inm.supervisor", x["reference"], str(ours["flag"])), 201)
    assert _flags(api, "inm.supervisor", x["reference"])[0]["awaiting"] == "other_agency", said
    assert _state(api, x["reference"]) == "documented"
    assert not _addable(api, x["reference"])
    ok(_decide(api, "ice.supervisor", v["reference"], str(theirs["flag"])), 201)
    assert _state(api, x["reference"]) == "ready"
    assert _addable(api, x["reference"])


def test_a_withdrawal_between_one_agencys_records_is_its_supervisors_to_decide(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    clear = api.ready_case()
    concerned = api.ready_case(given_names="Pedro Pablo", first_surname="Linares", second_surname="Vivas", sex="M")
    api.screen(concerned["reference"], [CONCERN])
    passport = _documents(api, concerned["reference"])[0]
    with filed_unchecked():
        filed = ok(api.post("inm.officer", f"/api/v1/cases/{clear['reference']}/documents",
                            {"mrz": _passport(clear, passport["number"])}), 201)
    ok(_withdraw(api, clear["reference"], filed["id"]))
    (flag,) = _flags(api, "inm.supervisor", clear["reference"])
    assert flag["other"] == concerned["reference"] and flag["decision"] is None and flag["holding"] is True, flag
    assert flag["reason"] == "linked by a travel document withdrawn as filed in error", flag
    assert _state(api, clear["reference"]) == "documented"
    assert not _addable(api, clear["reference"])
    ok(_decide(api, "inm.supervisor", clear["reference"], concerned["reference"]), 201)
    assert _flags(api, "inm.supervisor", clear["reference"])[0]["decision"] == "different_people"
    assert _state(api, clear["reference"]) == "ready"
    assert _addable(api, clear["reference"])


def test_no_flag_when_the_withdrawal_unlinks_nobody(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    alone = api.ready_case()
    # Two records of one person by their cédula, the one's passport filed on the other too.
    first = api.ready_case()
    second = api.register(national_id=first["national_id"], given_names="Pedro Pablo", first_surname="Linares")
    passport = _documents(api, first["reference"])[0]
    filed = ok(api.post("inm.officer", f"/api/v1/cases/{second['reference']}/documents",
                        {"mrz": _passport(second, passport["number"])}), 201)
    flags = _flag_count(session_factory)
    ok(_withdraw(api, alone["reference"], _documents(api, alone["reference"])[0]["id"]))
    ok(_withdraw(api, second["reference"], filed["id"]))
    assert _flag_count(session_factory) == flags
    assert _state(api, alone["reference"]) == "documented"


def test_an_emergency_document_withdrawn_with_its_copy_keeps_the_hold_a_decision_before_it_did_not_end(
        client: TestClient, world: World) -> None:
    """The receiving authority withdraws the emergency document it issued, and its copy on another agency's record:
    the two supervisors' "different people", said before the document linked the two records, does not end the hold
    the document's link carried since."""
    api = Api(client, world)
    person = {"given_names": "Rosa Elena", "first_surname": "Peña", "second_surname": "Rodríguez",
              "birth_date": "1990-05-17"}
    x = api.ready_case(**person)
    y = api.register("ice.officer", **person)
    (ours,) = _flags(api, "inm.supervisor", x["reference"])
    (theirs,) = _flags(api, "ice.supervisor", y["reference"])
    ok(_decide(api, "inm.supervisor", x["reference"], str(ours["flag"])), 201)
    ok(_decide(api, "ice.supervisor", y["reference"], str(theirs["flag"])), 201)
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{x['reference']}/emergency-document"), 201)
    ok(api.post("ice.officer", f"/api/v1/cases/{y['reference']}/documents", {"mrz": issued["mrz"]}), 201)
    api.screen(y["reference"], [CONCERN], user="ice.officer")
    assert _state(api, x["reference"]) == "documented"

    ok(_withdraw(api, x["reference"], issued["id"], user="saime.supervisor"))
    assert [d["withdrawn"] for d in _documents(api, y["reference"], user="ice.officer")] == [True]
    assert _state(api, x["reference"]) == "documented"
    assert not _addable(api, x["reference"])
    assert [f["decision"] for f in _flags(api, "inm.supervisor", x["reference"])] == ["different_people", None]
