"""A link undone never ends a hold it carried two records away (red team round 16, F3 and F4).

F3: A (ICE, a `recognised_refugee` concern) was linked to INM's B by A's passport P1 filed on B, and B to INM's C by
B's passport P2 filed on C. Withdrawing P1 from B flagged B and A; withdrawing then P2 from C flagged C and B only,
and C, held by A only through B's flag (holds read one flag deep), was ready, manifested and approved while A's
concern was open. F3b: C a possible duplicate of B (undecided), B linked to A by P1: withdrawing P1 from B freed C at
once. Every record counted as one person with another before a link is undone (links and undecided possible
duplicates, as the holds read them) stays so: a possible duplicate of it, for supervisors to decide. So too when the
link undone was a cédula an officer corrected.

F4: the receiving authorities issued two valid emergency travel documents to one person, one on each of two records
linked as the same person: the check read the case alone.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case, PossibleDuplicate
from tests.documents import test_document_withdrawal as withdrawal
from tests.documents.test_document_withdrawal import _addable, _documents, _passport, _state, _withdraw
from tests.factories import Api, World, another_agency_officer, ok

REFUGEE = "recognised_refugee"
DIFFERENT = {"decision": "different_people", "reason": "Huellas y fotografía distintas: son dos personas."}


def _flags(api: Api, user: str, reference: str) -> list[dict[str, Any]]:
    return list(ok(api.get(user, f"/api/v1/cases/{reference}/possible-duplicates")))


def _reasons(session_factory: sessionmaker[Session], reference: str) -> dict[str, str]:
    """Why each flag of `reference` was written, by the other record's reference (read from the database: another
    country's agency is told none of it)."""
    with session_factory() as session:
        case_id = session.execute(sa.select(Case.id).where(Case.reference == reference)).scalar_one()
        found = {}
        for pair in session.execute(sa.select(PossibleDuplicate).where(sa.or_(
                PossibleDuplicate.case_id == case_id, PossibleDuplicate.other_case_id == case_id))).scalars():
            other = session.get(Case, pair.other_case_id if pair.case_id == case_id else pair.case_id)
            assert other is not None
            found[other.reference] = pair.reason
        return found


def _verified(api: Api, user: str = "inm.officer", **person: Any) -> dict[str, Any]:
    case = api.register(user, **person)
    api.screen(case["reference"], user=user)
    api.verify(case["reference"], user)
    return case


def _refugee(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """ICE's record A with an open refugee concern, and A's passport P1 filed on it."""
    a = api.register("ice.officer", given_names="Teodoro Ramon", first_surname="Quintana", second_surname="Salcedo",
                     sex="M", birth_date="1981-11-03")
    api.screen(a["reference"], [REFUGEE], user="ice.officer")
    return a, api.passport(a, user="ice.officer")


def _file(api: Api, case: dict[str, Any], number: str) -> dict[str, Any]:
    with withdrawal.filed_unchecked():
        filed = ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents",
                            {"mrz": _passport(case, number)}), 201)
    assert filed["problems"] == [], filed
    return dict(filed)


def _held(api: Api, reference: str) -> bool:
    """Whether the person of `reference` is held back: not ready, and refused on a manifest."""
    return _state(api, reference) != "ready" and not _addable(api, reference)


@pytest.mark.parametrize("first", ["on_b", "on_c"])
def test_two_withdrawals_along_a_chain_of_links_leave_the_third_record_held(
        client: TestClient, world: World, first: str) -> None:
    api = Api(client, world)
    _, p1 = _refugee(api)
    b = _verified(api, given_names="Ulises", first_surname="Barboza", second_surname="Fermin", sex="M",
                  birth_date="1975-05-05")
    c = _verified(api, given_names="Wilfredo", first_surname="Cordero", second_surname="Gil", sex="M",
                  birth_date="1969-09-09")
    on_b = _file(api, b, p1["number"])
    p2 = api.passport(b)
    on_c = _file(api, c, p2["number"])
    api.passport(c)
    assert _held(api, b["reference"]) and _held(api, c["reference"])

    withdrawals = [(b, on_b), (c, on_c)] if first == "on_b" else [(c, on_c), (b, on_b)]
    for holder, document in withdrawals:
        ok(_withdraw(api, holder["reference"], document["id"]))
        # Screened again, as the officer did: nothing lets the held person go.
        api.screen(c["reference"])
        api.screen(b["reference"])
        assert _held(api, c["reference"]), (first, holder["reference"])
        assert _held(api, b["reference"]), (first, holder["reference"])
    assert all(d["withdrawn"] for d in (_documents(api, b["reference"])[:1] + _documents(api, c["reference"])[:1]))
    # C's count of A is an ordinary possible duplicate, told to INM as "another agency" and undecided.
    flags = _flags(api, "inm.supervisor", c["reference"])
    assert [f["decision"] for f in flags] == [None] * len(flags), flags
    assert "another agency" in [f["other"] for f in flags], flags


def test_a_withdrawal_beside_a_possible_duplicate_leaves_the_duplicate_held(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    a, p1 = _refugee(api)
    b = api.ready_case(given_names="Feliciano", first_surname="Rojas", second_surname="Mata", sex="M",
                       birth_date="1984-08-14")
    c = api.register(given_names="Feliciano", first_surname="Roxas", second_surname="Mata", sex="M",
                     birth_date="1984-08-14")
    api.screen(c["reference"])
    api.verify(c["reference"])
    api.passport(c)
    ((flag,),) = [_flags(api, "inm.supervisor", c["reference"])]
    assert flag["other"] == b["reference"] and flag["decision"] is None, flag
    assert _state(api, c["reference"]) == "ready"
    on_b = _file(api, b, p1["number"])
    assert _held(api, b["reference"]) and _held(api, c["reference"])

    ok(_withdraw(api, b["reference"], on_b["id"]))
    api.screen(c["reference"])
    assert _held(api, c["reference"])
    assert _held(api, b["reference"])
    flags = _flags(api, "inm.supervisor", c["reference"])
    assert [(f["other"], f["decision"]) for f in flags] == [(b["reference"], None), ("another agency", None)], flags
    assert flags[1]["reason"] == "alike to a record another agency holds", flags[1]
    assert _reasons(session_factory, c["reference"])[a["reference"]] == "counted_through_withdrawn_document"
    assert _reasons(session_factory, b["reference"])[a["reference"]] == "linked_by_withdrawn_document"
    # ICE is told a flag of its record, undecided, and that A's concern holds it.
    theirs = _flags(api, "ice.supervisor", a["reference"])
    assert [(f["other"], f["decision"], f["holding"]) for f in theirs] == [("another agency", None, True)] * 2, theirs
    # Decided by supervisors as any flag: both agencies say "different people" of A, INM of B.
    ok(api.post("inm.supervisor", f"/api/v1/cases/{c['reference']}/possible-duplicates/{flags[1]['flag']}/decision",
                DIFFERENT), 201)
    assert _held(api, c["reference"])
    for flag in theirs:
        ok(api.post("ice.supervisor", f"/api/v1/cases/{a['reference']}/possible-duplicates/{flag['flag']}/decision",
                    DIFFERENT), 201)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{c['reference']}/possible-duplicates/{b['reference']}/decision",
                DIFFERENT), 201)
    api.screen(c["reference"])
    assert _state(api, c["reference"]) == "ready" and _addable(api, c["reference"])


@pytest.mark.parametrize("shape", ["linked", "beside_a_duplicate"])
def test_a_cedula_corrected_away_leaves_the_records_it_counted_held(
        client: TestClient, world: World, session_factory: sessionmaker[Session], shape: str) -> None:
    """An officer corrects the cédula that linked INM's B to ICE's A: B, and C alike to B, stay held by A's concern
    until supervisors decide."""
    api = Api(client, world)
    a, _ = _refugee(api)
    cedula = ok(api.get("ice.officer", f"/api/v1/cases/{a['reference']}"))["national_id"]
    b = _verified(api, given_names="Feliciano", first_surname="Rojas", second_surname="Mata", sex="M",
                  birth_date="1984-08-14", national_id=cedula)
    api.passport(b)
    c = None
    if shape == "beside_a_duplicate":
        c = _verified(api, given_names="Feliciano", first_surname="Roxas", second_surname="Mata", sex="M",
                      birth_date="1984-08-14")
        api.passport(c)
    held = [b] if c is None else [b, c]
    assert all(_held(api, case["reference"]) for case in held)

    ok(api.edit("PATCH", "inm.officer", f"/api/v1/cases/{b['reference']}", {"national_id": "V24681357"}))
    assert ok(api.get("inm.officer", f"/api/v1/cases/{b['reference']}"))["national_id"] == "V24681357"
    for case in held:
        api.screen(case["reference"])
        assert _held(api, case["reference"]), case["reference"]
    # B and A were flagged when B was registered with A's cédula (compared, as every registration): that flag,
    # undecided, holds B; C, alike to B, is counted with A through it (a chain of undecided possible duplicates holds,
    # red team round 53, F2), so no flag is needed yet.
    reasons = _reasons(session_factory, a["reference"])
    assert reasons.pop(b["reference"]).startswith("same_national_id"), reasons
    assert reasons == {}
    if c is None:
        return
    # INM's word that C is not B is Mexico's only: C is flagged with ICE's A then, and stays held until ICE decides.
    flag = next(f["flag"] for f in _flags(api, "inm.supervisor", c["reference"]) if f["other"] == b["reference"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{c['reference']}/possible-duplicates/{flag}/decision", DIFFERENT),
       201)
    assert _reasons(session_factory, a["reference"]).get(c["reference"]) == "counted_through_decided_record"
    assert _held(api, c["reference"])


@pytest.mark.parametrize("second", ["saime.officer", "mppt.officer"])
def test_a_person_holding_an_emergency_document_on_a_linked_record_is_not_issued_another(
        client: TestClient, world: World, session_factory: sessionmaker[Session], second: str) -> None:
    api = Api(client, world)
    with session_factory() as setup:
        headers = {"mppt.officer": another_agency_officer(setup, code="VE-MPPT", kind="receiving_authority",
                                                          country="VEN", username="mppt.officer"),
                   "saime.officer": world.headers("saime.officer")}
    person = {"given_names": "Nestor Jose", "first_surname": "Palencia", "second_surname": "Mendez", "sex": "M",
              "birth_date": "1986-04-22"}
    ours = _verified(api, **person)
    theirs = _verified(api, "ice.officer", **person, national_id=ours["national_id"])
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{ours['reference']}/emergency-document"), 201)
    refused = client.post(f"/api/v1/cases/{theirs['reference']}/emergency-document", headers=headers[second])
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "emergency_document_held" and issued["number"] in error["message"], error
    assert "another record of theirs" in error["message"], error
    assert [d["number"] for d in _documents(api, theirs["reference"], user="ice.officer")] == []
    # Withdrawn by the agency that issued it, the other record may be issued one.
    ok(_withdraw(api, ours["reference"], issued["id"], user="saime.supervisor"))
    ok(client.post(f"/api/v1/cases/{theirs['reference']}/emergency-document", headers=headers[second]), 201)
