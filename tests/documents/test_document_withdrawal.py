"""A travel document filed in error is withdrawn; a receiving state's emergency series is its own (red team round 13).

F10: another person's passport filed on a record (its problem `document_held_by_another`) linked the two records as one
person for good: a protection concern on either held the other back, a supervisor's `different_people` decision did
not undo it, and no document could be withdrawn. A supervisor now withdraws it with a written reason: kept for the
record, it is no longer the person's document on file and links nobody.

F11: the sending side filed a Venezuelan "PE" document numbered in Venezuela's own emergency series, which this
system never issued. Such a number is filed only when this system issued exactly it to the person.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from retorno.cases.models import Case
from retorno.cli import cases as cli_cases
from retorno.cli.main import app as cli_app
from retorno.documents import mrz
from retorno.documents import service as documents_service
from retorno.flights.models import ACTIVE_APPROVALS
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

REASON = "Pasaporte de otra persona archivado por error: número tecleado de la lista equivocada."
CONCERN = "pending_asylum_claim"


def _passport(case: dict[str, Any], number: str, *, issuing_state: str = "VEN", code: str = "P") -> str:
    return mrz.build_td3(document_code=code, issuing_state=issuing_state,
                         surnames=f"{case['first_surname']} {case['second_surname'] or ''}".strip(),
                         given_names=case["given_names"], document_number=number, nationality="VEN",
                         birth_date=date.fromisoformat(case["birth_date"]), sex=case["sex"],
                         expiry_date=date.today() + timedelta(days=80))


@contextmanager
def filed_unchecked() -> Iterator[None]:
    """Filing as before red team round 13's F6 check, which marks a number another identity's record holds
    (`document_held_by_another`): the document is filed as valid and links the two records, as a document filed then
    may. One refused as another's links nobody (red team round 18, S-F2: `documents.models.links_records`), so these
    tests of what a withdrawal undoes make their link so."""
    with pytest.MonkeyPatch.context() as legacy:
        legacy.setattr(documents_service, "held_by_another_person", lambda *_args: [])
        yield


def _documents(api: Api, reference: str, user: str = "inm.officer") -> list[dict[str, Any]]:
    return list(ok(api.get(user, f"/api/v1/cases/{reference}/documents")))


def _withdraw(api: Api, reference: str, document: int, user: str = "inm.supervisor", reason: str = REASON) -> Any:
    return api.post(user, f"/api/v1/cases/{reference}/documents/{document}/withdraw", {"reason": reason})


def _addable(api: Api, reference: str) -> bool:
    """Whether the case may be put on a new flight's manifest now (nothing holds the person back)."""
    added = api.post("inm.officer", f"/api/v1/flights/{api.flight()['reference']}/passengers", {"cases": [reference]})
    assert added.status_code in (201, 409, 422), added.text
    return bool(added.status_code == 201)


def _state(api: Api, reference: str) -> str:
    return str(ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))["state"])


def _stranger(api: Api) -> dict[str, Any]:
    return api.ready_case(given_names="Pedro Pablo", first_surname="Linares", second_surname="Vivas", sex="M")


@pytest.mark.parametrize("filed_on", ["clear", "concerned"])
def test_a_withdrawn_document_links_nobody(client: TestClient, world: World, filed_on: str) -> None:
    api = Api(client, world)
    clear, concerned = api.ready_case(), _stranger(api)
    numbers = {ref: _documents(api, ref)[0]["number"] for ref in (clear["reference"], concerned["reference"])}
    api.screen(concerned["reference"], [CONCERN])
    # The other person's passport number filed on one of the two records: the two are linked as one person, so the
    # concern on one holds the other back, whichever record carries the wrong document.
    wrong, other = (clear, concerned) if filed_on == "clear" else (concerned, clear)
    with filed_unchecked():
        filed = ok(api.post("inm.officer", f"/api/v1/cases/{wrong['reference']}/documents",
                            {"mrz": _passport(wrong, numbers[other["reference"]])}), 201)
    assert filed["problems"] == [], filed
    assert filed["id"] and filed["withdrawn"] is False, filed
    assert not _addable(api, clear["reference"])

    withdrawn = ok(_withdraw(api, wrong["reference"], filed["id"]))
    assert withdrawn["withdrawn"] is True and withdrawn["withdrawn_reason"] == REASON, withdrawn
    # Kept for the record, listed as withdrawn with its reason; the person's own passport is theirs still.
    listed = _documents(api, wrong["reference"])
    assert [(d["number"], d["withdrawn"]) for d in listed] == [(numbers[wrong["reference"]], False),
                                                              (numbers[other["reference"]], True)], listed
    assert listed[1]["withdrawn_reason"] == REASON and listed[1]["withdrawn_at"], listed
    # The two records are a possible duplicate now: the hold the link carried stays until a supervisor decides (red
    # team RE8701 F1, tests/documents/test_withdrawal_keeps_the_hold.py); of two records of one agency, its own.
    assert _state(api, clear["reference"]) == "documented"
    assert not _addable(api, clear["reference"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{clear['reference']}/possible-duplicates/"
                f"{concerned['reference']}/decision",
                {"decision": "different_people", "reason": "Huellas y fotografía distintas: son dos personas."}), 201)
    # The concern on the other record no longer holds this one.
    assert _state(api, clear["reference"]) == "ready"
    assert _addable(api, clear["reference"])
    assert not _addable(api, concerned["reference"])
    # Withdrawn once.
    again = _withdraw(api, wrong["reference"], filed["id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "document_withdrawn", again.text


def test_different_people_does_not_undo_a_document_link_a_withdrawal_does(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    rosa = api.ready_case(national_id=None, given_names="Rosa Elena", first_surname="Peña",
                          second_surname="Rodríguez", birth_date="1990-05-17")
    number = _documents(api, rosa["reference"])[0]["number"]
    # Her names typed otherwise, another record: flagged a possible duplicate.
    twin = api.ready_case(national_id=None, given_names="Roza Elena", first_surname="Peña",
                          second_surname="Rodrigues", birth_date="1990-05-17")
    with session_factory() as session:
        assert session.execute(sa.text("SELECT count(*) FROM possible_duplicates")).scalar_one() >= 1
    with filed_unchecked():
        filed = ok(api.post("inm.officer", f"/api/v1/cases/{twin['reference']}/documents",
                            {"mrz": _passport(twin, number)}), 201)
    assert filed["problems"] == [], filed
    api.screen(rosa["reference"], [CONCERN])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{twin['reference']}/possible-duplicates/{rosa['reference']}/decision",
                {"decision": "different_people", "reason": "Huellas y fotografía distintas: son dos personas."}), 201)
    # The decision ends the duplicate's hold, not the link the document on file makes (the safe direction).
    assert not _addable(api, twin["reference"])
    ok(_withdraw(api, twin["reference"], filed["id"]))
    assert _addable(api, twin["reference"])


def test_a_withdrawn_document_is_no_document_on_file(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ready, manifested = api.ready_case(), _stranger(api)
    own = _documents(api, ready["reference"])[0]
    answer = ok(_withdraw(api, ready["reference"], own["id"]))
    assert answer["case_state"] == "documented", answer
    assert not _addable(api, ready["reference"])
    # A manifested person whose document it was leaves the manifest, as when another document is filed.
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [manifested["reference"]]}), 201)
    assert _state(api, manifested["reference"]) == "manifested"
    document = _documents(api, manifested["reference"])[0]["id"]
    ok(_withdraw(api, manifested["reference"], document))
    listed = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert [p["case"] for p in listed if p["approval"] in ACTIVE_APPROVALS] == [], listed
    assert _state(api, manifested["reference"]) == "documented"
    # A new document of the person's own makes them ready again.
    assert api.passport(ready)["case_state"] == "ready"


def test_who_withdraws_a_document(client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    case = api.ready_case()
    reference = case["reference"]
    passport = _documents(api, reference)[0]["id"]
    for user in ("inm.officer", "inm.viewer", "saime.officer", "carrier.supervisor", "monitor.supervisor"):
        refused = _withdraw(api, reference, passport, user=user)
        assert refused.status_code == 403, (user, refused.text)
    # Another country's sending authority does not see the case; nor a receiving authority it was not sent to.
    for user in ("ice.supervisor",):
        assert _withdraw(api, reference, passport, user=user).status_code == 404
    # A document of another case is none of this one's.
    other = api.ready_case()
    assert _withdraw(api, other["reference"], passport).status_code == 404
    # A written reason.
    for reason in ("", "  ", "no"):
        refused = _withdraw(api, reference, passport, reason=reason)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "reason_required", refused.text
    missing = api.post("inm.supervisor", f"/api/v1/cases/{reference}/documents/{passport}/withdraw", {})
    assert missing.status_code == 422, missing.text
    # The receiving authority sees the case, but withdraws only what it filed or issued.
    assert _withdraw(api, reference, passport, user="saime.supervisor").status_code == 403
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    refused = _withdraw(api, reference, issued["id"])
    assert refused.status_code == 403, refused.text
    assert all(not d["withdrawn"] for d in _documents(api, reference))
    # Its machine readable zone filed again on the person's record: a copy, withdrawn with it.
    ok(api.post("inm.officer", f"/api/v1/cases/{reference}/documents", {"mrz": issued["mrz"]}), 201)
    ok(_withdraw(api, reference, issued["id"], user="saime.supervisor"))
    assert [(d["number"], d["withdrawn"]) for d in _documents(api, reference)] == [
        (_documents(api, reference)[0]["number"], False), (issued["number"], True), (issued["number"], True)]
    printed = api.get("saime.officer", f"/api/v1/emergency-documents/{issued['number']}.pdf")
    assert printed.status_code == 409 and printed.json()["error"]["code"] == "document_withdrawn", printed.text
    # Nor filed again from its machine readable zone.
    refiled = api.post("inm.officer", f"/api/v1/cases/{reference}/documents", {"mrz": issued["mrz"]})
    assert refiled.status_code == 422 and refiled.json()["error"]["code"] == "document_withdrawn", refiled.text
    ok(_withdraw(api, reference, passport))
    with session_factory() as session:
        actions = session.execute(sa.text("SELECT action FROM audit_records WHERE action = 'document.withdraw'")
                                  ).scalars().all()
        assert len(actions) == 3
        assert session.execute(sa.select(Case.state).where(Case.reference == reference)).scalar_one() == "documented"


@pytest.mark.parametrize("user", ["inm.officer", "saime.officer"])
def test_an_emergency_number_this_system_never_issued_is_refused(client: TestClient, world: World, user: str) -> None:
    api = Api(client, world)
    case = api.register()
    api.screen(case["reference"])
    api.verify(case["reference"])
    for number, code in (("E26000123", "PE"), ("E26000124", "P"), ("E26000000", "PE")):
        refused = api.post(user, f"/api/v1/cases/{case['reference']}/documents",
                           {"mrz": _passport(case, number, code=code)})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "emergency_number_not_issued", refused.text
    assert _documents(api, case["reference"]) == []
    # A state with no receiving authority here has no series of its own in this system.
    ok(api.post(user, f"/api/v1/cases/{case['reference']}/documents",
                {"mrz": _passport(case, "E26000123", issuing_state="PER")}), 201)
    # The number issued to this person by the issue route may be filed from its machine readable zone.
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/emergency-document"), 201)
    ok(api.post(user, f"/api/v1/cases/{case['reference']}/documents", {"mrz": issued["mrz"]}), 201)


def test_the_pages_withdraw_a_document_and_refuse_an_unissued_emergency_number(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case()
    reference = case["reference"]
    passport = _documents(api, reference)[0]
    path = f"/cases/{reference}/documents/{passport['id']}/withdraw"
    login(client, "inm.officer")
    page = client.get(f"/cases/{reference}").text
    assert path not in page
    assert post_form(client, path, {"reason": REASON}, page=f"/cases/{reference}").status_code == 403
    unissued = post_form(client, f"/cases/{reference}/documents", {"mrz": _passport(case, "E26000123", code="PE")},
                         page=f"/cases/{reference}")
    assert unissued.status_code == 422, unissued.text
    assert "serie de documentos de viaje de emergencia" in unissued.text, unissued.text
    login(client, "inm.supervisor")
    page = client.get(f"/cases/{reference}").text
    assert path in page and "Motivo del retiro" in page
    refused = post_form(client, path, {"reason": ""}, page=f"/cases/{reference}")
    assert refused.status_code == 422, refused.text
    done = post_form(client, path, {"reason": REASON}, page=f"/cases/{reference}")
    assert done.status_code == 303, done.text
    page = client.get(f"/cases/{reference}").text
    assert "no: retirado" in page and REASON in page and path not in page
    assert [d["withdrawn"] for d in _documents(api, reference)] == [True]
    assert _state(api, reference) == "documented"


def test_the_command_line_withdraws_a_document_and_refuses_an_unissued_emergency_number(
        client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(client, world)
    case = api.ready_case()
    reference = case["reference"]
    passport = _documents(api, reference)[0]

    @contextmanager
    def in_test(_config: object) -> Iterator[Session]:
        yield session

    monkeypatch.setattr(cli_cases, "unit_of_work", in_test)

    def run(user: str, *args: str) -> Result:
        return CliRunner().invoke(cli_app, [*args, "--as", user], terminal_width=200)

    unissued = run("inm.officer", "documents", "add", reference, "--mrz", _passport(case, "E26000123", code="PE"))
    assert unissued.exit_code != 0 and "emergency_number_not_issued" in unissued.output, unissued.output
    officer = run("inm.officer", "documents", "withdraw", reference, str(passport["id"]), "--reason", REASON)
    assert officer.exit_code != 0, officer.output
    no_reason = run("inm.supervisor", "documents", "withdraw", reference, str(passport["id"]), "--reason", " ")
    assert no_reason.exit_code != 0 and "reason_required" in no_reason.output, no_reason.output
    done = run("inm.supervisor", "documents", "withdraw", reference, str(passport["id"]), "--reason", REASON)
    assert done.exit_code == 0, done.output
    assert f"document {passport['number']} withdrawn" in done.output, done.output
    shown = run("inm.supervisor", "cases", "show", reference)
    # The table wraps its cells: the reason's last word, and the mark.
    assert shown.exit_code == 0 and "withdrawn" in shown.output and "equivocada." in shown.output, shown.output


def test_an_emergency_document_for_a_passenger_is_refused_saying_so(client: TestClient, world: World) -> None:
    """Red team round 14 (low): the receiving authority asking for an emergency document for a manifested person was
    told the case was not verified; it is on a manifest, approved with the document on file."""
    api = Api(client, world)
    case = api.ready_case()
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]}), 201)
    response = api.post("saime.officer", f"/api/v1/cases/{case['reference']}/emergency-document")
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "on_a_manifest" and "taken off the manifest" in error["message"], error
