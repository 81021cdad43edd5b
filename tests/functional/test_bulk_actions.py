"""Bulk actions through the API: each person one action with its own audit record, the same safeguards,
and all or nothing where asked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.flights.models import Flight, Passenger
from retorno.screening.models import Screening
from tests.factories import Api, World, ok


def _raise_concern_behind_the_guard(session_factory: sessionmaker[Session], world: World, reference: str) -> None:
    """A concern written straight to the table (a door without the travel reaction, by SQL the commit
    guard does not see): the state a bulk action must still never approve."""
    with session_factory() as session:
        case_id = session.execute(sa.select(Case.id).where(Case.reference == reference)).scalar_one()
        session.execute(sa.insert(Screening).values(case_id=case_id, screened_by=world.users["inm.officer"].id,
                                                    concerns=["pending_asylum_claim"], medical_escorts=0))
        session.commit()


def _approvals(session_factory: sessionmaker[Session], flight: str) -> dict[str, str]:
    with session_factory() as session:
        return dict(session.execute(
            sa.select(Case.reference, Passenger.approval).join(Passenger, Passenger.case_id == Case.id)
            .join(Flight, Flight.id == Passenger.flight_id).where(Flight.reference == flight)).all())


def _audited(session_factory: sessionmaker[Session], action: str, references: list[str]) -> dict[str, int]:
    with session_factory() as session:
        counts = dict(session.execute(
            sa.select(AuditRecord.object_id, sa.func.count()).where(
                AuditRecord.action == action, AuditRecord.object_id.in_(references))
            .group_by(AuditRecord.object_id)).all())
    return {ref: counts.get(ref, 0) for ref in references}


def _proposed_manifest(api: Api, people: int, **household: Any) -> tuple[str, list[str]]:
    refs = [api.ready_case(given_names=f"Pasajero {i}", **household)["reference"] for i in range(people)]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    return flight, refs


def test_approving_all_lists_who_cannot_be_approved_and_never_approves_them(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    flight, refs = _proposed_manifest(api, 4)
    blocked = refs[1]
    _raise_concern_behind_the_guard(session_factory, world, blocked)
    path = f"/api/v1/flights/{flight}/approvals"

    preview = ok(api.post("saime.officer", path, {"dry_run": True}))
    assert preview["applied"] is False and preview["done"] == 3 and preview["refused"] == 1
    refused = next(item for item in preview["items"] if not item["done"])
    assert refused["subject"] == blocked and refused["reasons"][0]["rule"] == "non_refoulement"
    # The receiving state learns that screening is not cleared, never which concern.
    assert "asylum" not in str(preview) and "screening is not cleared" in refused["reasons"][0]["message"]
    # The person stays on the manifest, which then breaks a rule: approving the others alone is refused.
    assert preview["would_apply"] is False and preview["blocking"]
    assert _approvals(session_factory, flight) == dict.fromkeys(refs, "proposed")

    as_they_are = api.post("saime.officer", path, {})
    assert as_they_are.status_code == 409 and as_they_are.json()["error"]["code"] == "safeguard.non_refoulement"
    all_or_nothing = api.post("saime.officer", path, {"all_or_nothing": True, "reject_reason": "No cumple."})
    assert all_or_nothing.status_code == 409 and all_or_nothing.json()["error"]["code"] == "bulk_refused"
    assert [i["subject"] for i in all_or_nothing.json()["error"]["details"]["items"] if not i["done"]] == [blocked]
    assert _approvals(session_factory, flight) == dict.fromkeys(refs, "proposed")
    assert _audited(session_factory, "manifest.approve", refs) == dict.fromkeys(refs, 0)

    done = ok(api.post("saime.officer", path, {"reject_reason": "evaluación de protección sin resolver"}))
    assert done["applied"] is True and done["done"] == 3
    assert next(i for i in done["items"] if i["subject"] == blocked)["instead"] == "rejected"
    assert _approvals(session_factory, flight) == {**dict.fromkeys(refs, "approved"), blocked: "rejected"}
    approved = [r for r in refs if r != blocked]
    assert _audited(session_factory, "manifest.approve", refs) == {**dict.fromkeys(approved, 1), blocked: 0}


def test_approving_all_of_a_clean_manifest_and_rejecting_a_selection_with_one_reason(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    flight, refs = _proposed_manifest(api, 3)
    single, = [api.ready_case(given_names="Sola")["reference"]]
    family = [api.ready_case(given_names=f"Familia {i}", household_reference="FAM-BULK")["reference"]
              for i in range(2)]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [single, *family]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))

    rejected = ok(api.post("saime.officer", f"/api/v1/flights/{flight}/rejections",
                           {"cases": [single, family[0]], "reason": "identidad dudosa", "dry_run": True}))
    # The household member not chosen leaves with the one rejected: the preview says so.
    assert next(i for i in rejected["items"] if i["subject"] == family[0])["also"] == [family[1]]
    assert _approvals(session_factory, flight)[single] == "proposed"
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/rejections",
                {"cases": [single, family[0]], "reason": "identidad dudosa"}))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/approvals", {}))
    assert _approvals(session_factory, flight) == {**dict.fromkeys(refs, "approved"), single: "rejected",
                                                   family[0]: "rejected", family[1]: "removed"}
    assert _audited(session_factory, "manifest.approve", refs) == dict.fromkeys(refs, 1)
    # Only the receiving side decides, and a carrier reaches no manifest to decide on.
    assert api.post("inm.officer", f"/api/v1/flights/{flight}/approvals", {}).status_code == 403
    assert api.post("carrier.officer", f"/api/v1/flights/{flight}/rejections",
                    {"cases": refs, "reason": "x"}).status_code == 403


def test_a_household_boards_together_adults_first_or_not_at_all(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    six = (date.today() - timedelta(days=365 * 6 + 30)).isoformat()
    # Two families' children of one age: named apart, or they are possible duplicates of each other (Niña, Niño).
    child = api.ready_case(given_names="Valentina", birth_date=six, household_reference="FAM-DOOR")["reference"]
    adult = api.ready_case(given_names="Madre", household_reference="FAM-DOOR")["reference"]
    other_child = api.ready_case(given_names="Santiago", birth_date=six, household_reference="FAM-DOOR-2")["reference"]
    other_adult = api.ready_case(given_names="Padre", household_reference="FAM-DOOR-2")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    flight = api.build_manifest([child, adult, other_child, other_adult], departure=departure)
    path = f"/api/v1/flights/{flight}/boardings"

    with api.clock(departure - timedelta(hours=1)):
        # One at a time, the child first is refused: no adult of the household has boarded.
        alone = api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{child}/boarding",
                         {"status": "boarded"})
        assert alone.status_code == 409 and alone.json()["error"]["code"] == "safeguard.children"
        preview = ok(api.post("carrier.officer", path, {"cases": [child, adult], "dry_run": True}))
        assert preview["would_apply"] and [i["subject"] for i in preview["items"]] == [adult, child]
        ok(api.post("carrier.officer", path, {"cases": [child, adult]}))
        _raise_concern_behind_the_guard(session_factory, world, other_adult)
        refused = api.post("carrier.officer", path, {"cases": [other_child, other_adult]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "bulk_refused"
    with session_factory() as session:
        boarding = dict(session.execute(
            sa.select(Case.reference, Passenger.boarding).join(Passenger, Passenger.case_id == Case.id)).all())
    assert boarding[child] == boarding[adult] == "boarded"
    # All or nothing: the child of the refused adult did not board either.
    assert boarding[other_child] == boarding[other_adult] == "pending"
    assert _audited(session_factory, "boarding.boarded", [child, adult, other_child]) == {
        child: 1, adult: 1, other_child: 0}


def test_cases_are_assigned_to_an_officer_one_audit_record_each(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    refs = [api.register()["reference"] for _ in range(3)]
    preview = ok(api.post("inm.supervisor", "/api/v1/cases/assignments",
                          {"cases": refs, "officer": "inm.officer", "dry_run": True}))
    assert preview["done"] == 3 and _audited(session_factory, "case.assign", refs) == dict.fromkeys(refs, 0)
    ok(api.post("inm.supervisor", "/api/v1/cases/assignments", {"cases": refs, "officer": "inm.officer"}))
    assert _audited(session_factory, "case.assign", refs) == dict.fromkeys(refs, 1)
    mine = ok(api.get("inm.officer", "/api/v1/cases?assigned=me&limit=500"))
    assert {c["reference"] for c in mine["items"]} == set(refs)
    # Another agency's officer is nobody to assign to; a viewer assigns nothing.
    assert api.post("inm.supervisor", "/api/v1/cases/assignments",
                    {"cases": refs, "officer": "sre.officer"}).status_code == 404
    assert api.post("inm.viewer", "/api/v1/cases/assignments",
                    {"cases": refs, "officer": None}).status_code == 403
    # Red team: a dry run that would do nothing (a viewer is no officer to assign to) said would_apply: true.
    nothing = ok(api.post("inm.supervisor", "/api/v1/cases/assignments",
                          {"cases": refs[:1], "officer": "inm.viewer", "dry_run": True}))
    assert (nothing["done"], nothing["refused"], nothing["would_apply"]) == (0, 1, False), nothing


def test_a_filtered_selection_goes_on_a_manifest_in_whole_households(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    place = "Estación Migratoria Bulk"
    whole = [api.ready_case(held_at=place, household_reference="FAM-SEL-1")["reference"] for _ in range(2)]
    single = api.ready_case(held_at=place)["reference"]
    ready_half = api.ready_case(held_at=place, household_reference="FAM-SEL-2")["reference"]
    # The other member of FAM-SEL-2 is registered elsewhere and not ready: the household cannot go.
    api.register(household_reference="FAM-SEL-2", held_at="Otro lugar")
    flight = api.flight()["reference"]
    path = f"/api/v1/flights/{flight}/selection"
    body: dict[str, Any] = {"filter": {"held": "migratoria bulk"}}

    preview = ok(api.post("inm.officer", path, {**body, "dry_run": True}))
    outcomes = {i["subject"]: i for i in preview["items"]}
    assert outcomes["FAM-SEL-1"]["done"] and sorted(outcomes["FAM-SEL-1"]["also"]) == sorted(whole)
    assert outcomes[single]["done"]
    assert not outcomes["FAM-SEL-2"]["done"]
    assert {r["rule"] for r in outcomes["FAM-SEL-2"]["reasons"]} == {"family_unity"}
    assert _approvals(session_factory, flight) == {}

    refused = api.post("inm.officer", path, {**body, "all_or_nothing": True})
    assert refused.status_code == 409 and _approvals(session_factory, flight) == {}
    ok(api.post("inm.officer", path, body))
    assert _approvals(session_factory, flight) == dict.fromkeys([*whole, single], "proposed")
    assert _audited(session_factory, "manifest.add", [*whole, single, ready_half]) == {
        **dict.fromkeys([*whole, single], 1), ready_half: 0}
