"""Red team round 13, F12 (low/medium): FUNDAPRO took VE-VUELTA's returnee (intake: municipality, occupations, needs,
work history; and the power to withdraw their consent) by stepping its own offer to 'accepted', with no reason and no
one else's word, and VUELTA, which took the returnee in, was refused the intake. No step of a placement moves the intake
now: the operator holding it (`IntakeProfile.operator_agency_id`) or the receiving authority hands it to another
operator with a written reason, audited as `intake.transfer` (SPEC.md 4.6 need-to-know, 4.8 consent)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.logins import enable_user
from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.db import utcnow
from retorno.reintegration.models import Opportunity, Placement
from tests.edit_helpers import INTAKE, OPPORTUNITY, returnee
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

REASON = "la persona eligió la pasantía de FUNDAPRO, cerca de su casa"
WITHDRAW = "la persona retira su consentimiento en la oficina"


def _intake(api: Api, user: str, ref: str) -> int:
    return int(api.get(user, f"/api/v1/cases/{ref}/intake").status_code)


def _offered_by_fundapro(api: Api) -> tuple[str, int]:
    """A returnee VUELTA took in (recorded the intake), offered a seat by FUNDAPRO's matching run."""
    ref = returnee(api)["reference"]
    seat = ok(api.post("op2.officer", "/api/v1/opportunities", OPPORTUNITY), 201)
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {**INTAKE, "preferences": [seat["reference"]]}))
    ok(api.post("op2.officer", "/api/v1/matching/runs?mode=stable"), 201)
    (offer,) = ok(api.get("op2.officer", f"/api/v1/cases/{ref}/placements"))
    return ref, int(offer["id"])


def test_an_operator_accepting_its_own_offer_does_not_take_the_intake(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ref, offer = _offered_by_fundapro(api)
    # The tester's door: FUNDAPRO records, itself, that the returnee accepted its offer.
    ok(api.post("op2.officer", f"/api/v1/placements/{offer}", {"status": "accepted"}))
    assert _intake(api, "op2.officer", ref) == 403 and _intake(api, "op.officer", ref) == 200
    refused = api.post("op2.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": WITHDRAW})
    assert refused.status_code == 403, refused.text
    # Nor does it hand the intake to itself.
    grab = api.post("op2.officer", f"/api/v1/cases/{ref}/intake/transfer", {"operator": "VE-FUNDAPRO",
                                                                             "reason": REASON})
    assert grab.status_code == 403 and grab.json()["error"]["code"] == "forbidden.intake.transfer", grab.text
    assert _intake(api, "op2.officer", ref) == 403


def test_the_operator_holding_the_intake_hands_it_over_with_a_reason_on_the_audit_trail(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref, offer = _offered_by_fundapro(api)
    ok(api.post("op2.officer", f"/api/v1/placements/{offer}", {"status": "accepted"}))
    path = f"/api/v1/cases/{ref}/intake/transfer"
    assert api.post("op.officer", path, {"operator": "VE-FUNDAPRO"}).status_code == 422
    assert api.post("op.officer", path, {"operator": "VE-FUNDAPRO", "reason": "  "}).status_code == 422
    assert api.post("op.officer", path, {"operator": "MX-INM", "reason": REASON}).status_code == 404
    ok(api.post("op.officer", path, {"operator": "ve-fundapro", "reason": REASON}))
    assert _intake(api, "op2.officer", ref) == 200 and _intake(api, "op.officer", ref) == 403
    (entry,) = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "intake.transfer",
                                                            AuditRecord.object_id == ref)).scalars()
    assert entry.before == {"operator": "VE-VUELTA"} and entry.after["operator"] == "VE-FUNDAPRO"
    assert REASON not in str(entry.after) and REASON not in str(entry.reason) and "reason_sha256" in entry.after
    # The receiving authority may hand it back; the operator now holding it withdraws, the one before no longer.
    again = api.post("saime.officer", path, {"operator": "VE-FUNDAPRO", "reason": REASON})
    assert again.status_code == 409, again.text
    ok(api.post("saime.officer", path, {"operator": "VE-VUELTA", "reason": "vuelve con VUELTA"}))
    assert _intake(api, "op.officer", ref) == 200
    refused = api.post("op2.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": WITHDRAW})
    assert refused.status_code == 403, refused.text
    ok(api.post("op.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": WITHDRAW}))


def test_a_seat_taken_while_no_operator_holds_the_intake_gives_it_to_the_seat(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = returnee(api)["reference"]
    # The receiving authority took the returnee in; no operator has recorded the intake, so none holds it.
    assert _intake(api, "op.officer", ref) == 200 and _intake(api, "op2.officer", ref) == 200
    seat = ok(api.post("op2.officer", "/api/v1/opportunities", OPPORTUNITY), 201)
    case_id = session.execute(sa.select(Case.id).where(Case.reference == ref)).scalar_one()
    opportunity_id = session.execute(sa.select(Opportunity.id).where(
        Opportunity.reference == seat["reference"])).scalar_one()
    # An offer as FUNDAPRO's matching run makes it (the run needs an intake to match on).
    offer = Placement(case_id=case_id, opportunity_id=opportunity_id, status="offered", offered_at=utcnow())
    session.add(offer)
    session.execute(sa.update(Case).where(Case.id == case_id).values(state="matched"))
    session.commit()
    ok(api.post("op2.officer", f"/api/v1/placements/{offer.id}", {"status": "accepted"}))
    assert _intake(api, "op2.officer", ref) == 200 and _intake(api, "op.officer", ref) == 403


def test_the_returnee_page_hands_the_intake_over_to_whom_may_and_offers_it_to_no_one_else(
        client: TestClient, world: World, session: Session) -> None:
    """The page's door to the same hand-over (the operators' returnee page; the receiving authority hands it over by
    the API or the console): its form only for the operator holding the intake, listing the other operators of the
    returnee's state; a reason needed; audited as the API's."""
    api = Api(client, world)
    ref = returnee(api)["reference"]
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", INTAKE))
    page, action = f"/reintegration/returnees/{ref}", f"/reintegration/returnees/{ref}/intake/transfer"
    login(client, "op2.officer")
    assert action not in client.get(page).text
    assert post_form(client, action, {"operator": "VE-FUNDAPRO", "reason": REASON}, page="/login").status_code == 403
    login(client, "op.officer")
    shown = client.get(page).text
    assert action in shown and 'value="VE-FUNDAPRO"' in shown and 'value="VE-VUELTA"' not in shown
    refused = post_form(client, action, {"operator": "VE-FUNDAPRO", "reason": ""}, page="/login")
    assert refused.status_code == 422
    assert not session.execute(sa.select(AuditRecord).where(AuditRecord.action == "intake.transfer")).first()
    handed = post_form(client, action, {"operator": "VE-FUNDAPRO", "reason": REASON}, page="/login")
    assert handed.status_code == 303, handed.text
    assert "VE-FUNDAPRO" in client.get(handed.headers["location"]).text
    (entry,) = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "intake.transfer")).scalars()
    assert entry.actor == "op.officer" and entry.after["operator"] == "VE-FUNDAPRO"
    assert _intake(api, "op2.officer", ref) == 200 and _intake(api, "op.officer", ref) == 403
    # No longer holding it, VUELTA is offered no form, and FUNDAPRO is, listing VUELTA.
    assert action not in client.get(page).text
    login(client, "op2.officer")
    shown = client.get(page).text
    assert action in shown and 'value="VE-VUELTA"' in shown and 'value="VE-FUNDAPRO"' not in shown


def test_a_disabled_operator_takes_in_no_returnee_and_its_offers_not_answered_are_declined(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 46a, F2: an intake was handed to a disabled operator (API and command line), which read it in
    full once enabled; and a returnee offered a seat of an operator then disabled stayed `matched` on it, where no other
    operator's matching run could reach them. A disabled operator takes in nobody; disabling one declines its offers
    not answered, and the returnee waits for the next run of another."""
    api = Api(client, world)
    ref, offer = _offered_by_fundapro(api)
    assert ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))["state"] == "matched"
    ok(api.post("admin", "/api/v1/agencies/VE-FUNDAPRO/disable", {"reason": "operador suspendido por la autoridad"}))
    session.expire_all()
    placement = session.get(Placement, offer)
    assert placement is not None and (placement.status, placement.reason) == ("declined", "the operator was disabled")
    assert ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))["state"] == "reintegration_intake"
    declined = session.execute(sa.select(AuditRecord).where(AuditRecord.object_id == ref, AuditRecord.action
                                                            == "placement.declined")).scalar_one()
    assert declined.reason == "the operator was disabled"
    for user in ("op.officer", "saime.officer"):
        refused = api.post(user, f"/api/v1/cases/{ref}/intake/transfer", {"operator": "VE-FUNDAPRO",
                                                                         "reason": REASON})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "agency.disabled", refused.text
    assert _intake(api, "op.officer", ref) == 200
    # Enabled again, it takes in returnees once one of its officials is enabled too (its users stay disabled until
    # each is: red team round 77, F2); the offer declined stays declined.
    ok(api.post("admin", "/api/v1/agencies/VE-FUNDAPRO/enable", {"reason": "suspensión levantada por la autoridad"}))
    refused = api.post("op.officer", f"/api/v1/cases/{ref}/intake/transfer", {"operator": "VE-FUNDAPRO",
                                                                             "reason": REASON})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "agency.no_officials", refused.text
    enable_user(session, None, "op2.officer", reason="suspensión levantada por la autoridad")
    session.commit()
    ok(api.post("op.officer", f"/api/v1/cases/{ref}/intake/transfer", {"operator": "VE-FUNDAPRO", "reason": REASON}))


def test_an_operator_nobody_of_which_can_act_takes_in_no_returnee(client: TestClient, world: World) -> None:
    """Red team round 77, F2: an administrator created an operator with no user, and an operator's officer handed a
    returnee's intake to it: nobody could act on the returnee, and only the receiving authority could take them back.
    An operator with no active officer or supervisor takes in nobody (409 naming it), by either party's transfer."""
    api = Api(client, world)
    ok(api.post("admin", "/api/v1/agencies", {"code": "VE-NUEVO", "name": "Operador nuevo",
                                              "kind": "reintegration_operator", "country": "VEN"}), 201)
    ref, _ = _offered_by_fundapro(api)
    for user in ("op.officer", "saime.officer"):
        refused = api.post(user, f"/api/v1/cases/{ref}/intake/transfer", {"operator": "VE-NUEVO", "reason": REASON})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "agency.no_officials", refused.text
        assert "VE-NUEVO" in refused.json()["error"]["message"]
    assert _intake(api, "op.officer", ref) == 200


def test_the_receiving_authority_is_told_of_returnees_whose_operator_cannot_act(
        client: TestClient, world: World, session: Session) -> None:
    """Round 77's leftover: the last officer and supervisor of VE-VUELTA, which held a returnee's intake, were disabled;
    nobody could act on the returnee, no other operator might, and nothing told the receiving authority. Its queue now
    lists such returnees ('intakes_stranded'), and the case page says so and hands the intake on."""
    from retorno.agencies.logins import disable_user

    api = Api(client, world)
    ref, _ = _offered_by_fundapro(api)

    def stranded(user: str = "saime.officer") -> list[str]:
        kinds = {kind["kind"]: kind for kind in ok(api.get(user, "/api/v1/inbox"))["kinds"]}
        assert user.startswith("saime") or "intakes_stranded" not in kinds, kinds
        return [item["reference"] for item in kinds.get("intakes_stranded", {"items": []})["items"]]

    assert stranded() == [] and stranded("op2.officer") == []
    for username in ("op.officer", "op.supervisor"):
        disable_user(session, None, username, reason="dejó la institución en noviembre")
    session.commit()
    assert stranded() == [ref]
    login(client, "saime.officer")
    page = client.get(f"/cases/{ref}")
    assert page.status_code == 200 and 'id="intake-stranded"' in page.text, page.text[:3000]
    assert 'value="VE-FUNDAPRO"' in page.text and 'value="VE-VUELTA"' not in page.text
    moved = post_form(client, f"/cases/{ref}/intake/transfer", {"operator": "VE-FUNDAPRO", "reason": REASON},
                      page=f"/cases/{ref}")
    assert moved.status_code == 303, moved.text[:2000]
    assert stranded() == [] and _intake(api, "op2.officer", ref) == 200
    # One enabled again takes its returnees back into view: nothing is stranded by an operator that can act.
    enable_user(session, None, "op.officer", reason="volvió a la institución en diciembre")
    session.commit()
    assert stranded() == []
