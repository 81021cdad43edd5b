"""Red team round 44b, F8 (low): a placement's end recorded by mistake (completed on the wrong returnee, a drop typed
for another) had no undo. The operator's supervisor takes it back with a written reason, at every door; the seat, the
internship's age rule and the returnee's consent hold as when the seat was first taken."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.audit.service import text_digest
from retorno.cases.models import Case
from retorno.errors import InvalidTransition
from retorno.reintegration.models import Placement
from retorno.reintegration.service import reopen_placement
from tests.edit_helpers import INTAKE
from tests.factories import Api, World, ok
from tests.reintegration.helpers import offers, patch, placement_of, post, refused, step, today
from tests.web.pages_helpers import login
from tests.web.test_operator_pages import alert, send

REASON = "completada por error: era otra persona retornada"


def reopen(api: Api, placement: dict[str, Any], user: str = "op.supervisor", reason: str | None = REASON) -> Any:
    return post(api, f"/api/v1/placements/{placement['id']}/reopen", {} if reason is None else {"reason": reason},
                user)


def test_a_completion_recorded_by_mistake_is_taken_back_by_the_operators_supervisor(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    (case,), _references = offers(api, 1, seats=1)
    placement = placement_of(api, case)
    ok(step(api, placement, "accepted"))
    ok(step(api, placement, "started", today().isoformat()))
    # Completed the day it started: early, the operator's supervisor's with a reason (`placement.completed_early`).
    ok(post(api, f"/api/v1/placements/{placement['id']}", {"status": "completed", "reason": "terminó el programa"},
            "op.supervisor"))
    # Not an officer, a viewer, the receiving authority or a monitor; not without a written reason.
    for user in ("op.officer", "op.viewer", "saime.supervisor", "monitor.officer"):
        assert reopen(api, placement, user).status_code in (403, 404), user
    refused(reopen(api, placement, reason="error"), 422)
    assert session.get(Placement, placement["id"]).status == "completed"
    again = ok(reopen(api, placement))
    assert again["status"] == "started"
    stored = session.get(Placement, placement["id"])
    session.refresh(stored)
    assert (stored.status, stored.ended_on, stored.reason, stored.started_on) == ("started", None, None, today())
    assert session.execute(sa.select(Case.state).where(Case.reference == case["reference"])).scalar_one() == "placed"
    entry = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "placement.reopen")).scalar_one()
    assert entry.object_id == case["reference"] and entry.after["status"] == "started"
    assert entry.after["reason_sha256"] == text_digest(session, REASON) and REASON not in str(entry.after)
    # Only an end is taken back; the placement goes on as before.
    refused(reopen(api, placement), 409, "placement_reopen.not_ended")
    ok(post(api, f"/api/v1/placements/{placement['id']}", {"status": "completed", "reason": "terminó el programa"},
            "op.supervisor"))


def test_a_drop_before_the_start_is_taken_back_to_accepted_only_while_its_seat_is_free(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    cases, (reference,) = offers(api, 2, seats=2)
    first, second = (placement_of(api, case) for case in cases)
    ok(step(api, first, "accepted"))
    ok(step(api, first, "dropped"))
    ok(patch(api, reference, {"seats": 1}))
    ok(step(api, second, "accepted"))
    # The one seat is held by another returnee now: refused as taking the seat would be.
    refused(reopen(api, first), 409, "placement.no_free_seat")
    ok(step(api, second, "dropped"))
    assert ok(reopen(api, first))["status"] == "accepted"
    assert session.execute(sa.select(Case.state).where(Case.reference == cases[0]["reference"])).scalar_one() \
        == "placed"


def test_a_placement_a_withdrawal_of_consent_ended_is_never_reopened(client: TestClient, world: World,
                                                                     session: Session) -> None:
    api = Api(client, world)
    (case,), _references = offers(api, 1, seats=1)
    placement = placement_of(api, case)
    ok(step(api, placement, "accepted"))
    ok(step(api, placement, "started", today().isoformat()))
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent/withdraw",
                {"reason": "la persona retira su consentimiento"}))
    # Out of the operator's view with the returnee: nothing to reopen.
    refused(reopen(api, placement), 404)
    # Consent given again: the placement ended under the earlier consent stays ended (a new offer follows).
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent", {}), 201)
    ok(api.put("op.officer", f"/api/v1/cases/{case['reference']}/intake", INTAKE))
    refused(reopen(api, placement), 409, "placement_reopen.consent")
    operator = world.bind(session).users["op.supervisor"]
    with pytest.raises(InvalidTransition) as taken:
        reopen_placement(session, operator, placement["id"], reason=REASON)
    assert taken.value.code == "placement_reopen.consent"
    assert session.get(Placement, placement["id"]).status == "dropped"


def test_the_page_offers_the_supervisor_alone_the_taking_back_and_it_is_refused_as_the_api_refuses(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    cases, (reference,) = offers(api, 2, seats=2)
    first, second = (placement_of(api, case) for case in cases)
    ok(step(api, first, "accepted"))
    ok(step(api, first, "started", today().isoformat()))
    ok(step(api, first, "dropped"))
    ok(patch(api, reference, {"seats": 1}))
    page_of = f"/reintegration/returnees/{cases[0]['reference']}"
    action = f"/reintegration/placements/{first['id']}/reopen"
    login(client, "op.officer")
    assert action not in client.get(page_of).text
    assert send(client, action, {"reason": REASON}).status_code == 403
    login(client, "op.supervisor")
    assert action in client.get(page_of).text
    ok(step(api, second, "accepted"))
    page = send(client, action, {"reason": REASON, "next": page_of})
    assert page.status_code == 409 and "plaza libre" in alert(page.text), alert(page.text)
    ok(step(api, second, "dropped"))
    page = send(client, action, {"reason": REASON, "next": page_of})
    assert page.status_code == 303, page.text
    assert session.get(Placement, first["id"]).status == "started"


def test_a_reopened_placement_is_held_to_the_opportunity_s_rules_as_they_are_now(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 51a, F1 to F3: reopen started a placement before its opportunity's start (moved after it while
    the placement was ended), put a returnee under the opportunity's raised minimum age into a seat, and gave one
    returnee a second seat beside the one matching gave them again; and 'error error' passed as a written reason."""
    api = Api(client, world)
    (case,), (reference,) = offers(api, 1, seats=2, start=today() - timedelta(days=30))
    placement = placement_of(api, case)
    ok(step(api, placement, "accepted"))
    ok(step(api, placement, "started", today().isoformat()))
    ok(step(api, placement, "dropped"))
    refused(reopen(api, placement, reason="error error"), 422, "reason_required")
    ok(patch(api, reference, {"start_date": (today() + timedelta(days=1)).isoformat()}))
    refused(reopen(api, placement), 409, "placement_reopen.before_start")
    ok(patch(api, reference, {"start_date": (today() - timedelta(days=30)).isoformat(), "min_age": 99}))
    refused(reopen(api, placement), 409, "placement_reopen.under_age")
    ok(patch(api, reference, {"min_age": 18}))
    # Matching offers the returnee the opportunity again, and they take it up: the old seat stays ended.
    ok(post(api, "/api/v1/matching/runs?mode=stable", {}), 201)
    again = placement_of(api, case)
    assert again["id"] != placement["id"]
    ok(step(api, again, "accepted"))
    refused(reopen(api, placement), 409, "placement_reopen.seat_held")
    assert session.get(Placement, placement["id"]).status == "dropped"


def test_a_dropped_internship_of_someone_a_minor_is_refused_without_an_offer_to_decline(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 51a, F5 (low): the internship's age rule refused the reopening of an ended seat with 'decline
    the offer', where there was no offer left to decline."""
    api = Api(client, world)
    (case,), _references = offers(api, 1, seats=1, start=today() - timedelta(days=30))
    placement = placement_of(api, case)
    ok(step(api, placement, "accepted"))
    ok(step(api, placement, "dropped"))
    # The birth date corrected since (as a registry's can be): the returnee was a minor on the day of the offer.
    session.execute(sa.update(Case).where(Case.reference == case["reference"])
                    .values(birth_date=today() - timedelta(days=365 * 17)))
    session.commit()
    error = refused(reopen(api, placement), 409, "placement_reopen.minor_internship")
    assert "decline" not in error["message"] and "not reopened" in error["message"], error["message"]
    assert session.get(Placement, placement["id"]).status == "dropped"
