"""Red team round 11, RE8812 L1 (low): once consent was withdrawn (by the returnee, or by an official, perhaps by
mistake) the returnee could never take part again: the receiving authority's consent answered 409 "consent is
recorded after arrival (it is 'closed')", as if they had not arrived, and an operator's lookup 404. Consent is
voluntary both ways (SPEC.md 4.8): it may be given again, as a new consent, recorded by the receiving authority or
the operator that held the intake at the withdrawal (red team round 15, H2); what the withdrawal erased (the intake's
answers, the follow-ups) stays erased."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.edit_helpers import INTAKE, returnee
from tests.factories import Api, World, ok

REASON = "prueba de retiro por el ministerio"


def test_a_returnee_who_withdrew_may_consent_again_and_what_was_erased_stays_erased(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = returnee(api)
    ref = case["reference"]
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", INTAKE))
    already = api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {})
    assert already.status_code == 409 and "already recorded" in already.text, already.text
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": REASON}))
    # The receiving authority records the new consent: the returnee takes part again, their old answers gone.
    again = ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {}), 201)
    assert again["state"] == "reintegration_intake", again
    intake = ok(api.get("op2.officer", f"/api/v1/cases/{ref}/intake"))  # taken in anew: any operator, while none has
    assert intake["municipality"] is None and intake["skills"] == [] and intake["needs"] == [], intake
    assert ref in {r["reference"] for r in ok(api.get("op2.officer", "/api/v1/returnees"))}
    # The operator holding the intake takes them in again after a second withdrawal: found by reference and birth
    # date; no other operator may (red team round 15, H2, tests/reintegration/test_consent_again_by_whom.py).
    ok(api.put("op2.officer", f"/api/v1/cases/{ref}/intake", INTAKE))
    ok(api.post("op2.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": REASON}))
    wrong = api.post("op2.officer", f"/api/v1/cases/{ref}/consent", {"birth_date": "1901-01-01"})
    assert wrong.status_code == 404, wrong.text
    back = ok(api.post("op2.officer", f"/api/v1/cases/{ref}/consent", {"birth_date": case["birth_date"]}), 201)
    assert back["state"] == "reintegration_intake", back
    assert _intake_status(api, "op2.officer", ref) == 200 and _intake_status(api, "op.officer", ref) == 403


def _intake_status(api: Api, user: str, ref: str) -> int:
    return int(api.get(user, f"/api/v1/cases/{ref}/intake").status_code)


def test_an_offer_the_withdrawal_declined_is_made_again_after_a_new_consent(client: TestClient, world: World) -> None:
    from tests.edit_helpers import offered
    api = Api(client, world)
    case, placement = offered(api)
    ref = case["reference"]
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": REASON}))
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {}), 201)
    seat = placement["opportunity_id"]
    (wanted,) = [o for o in ok(api.get("op.officer", "/api/v1/opportunities")) if o["reference"]]
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {**INTAKE, "preferences": [wanted["reference"]]}))
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    placements = ok(api.get("op.officer", f"/api/v1/cases/{ref}/placements"))
    assert sorted((p["opportunity_id"], p["status"]) for p in placements) == [(seat, "declined"), (seat, "offered")]
