"""Red team round 44b (F5) and round 45a (F5): a verification made in error could not be undone by the authority
that made it. The person stayed verified (or ready), and could be put on manifests again; the authority could only
reject them on each manifest. A supervisor of that authority now revokes it with a written reason, at the API and on
the case page: the person leaves every manifest at once, locked or not, with the household, both sides alerted, and a
new request waits for a decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.verification.models import VerificationDecision
from tests.factories import Api, World, ok, registry_record
from tests.functional.test_guarantees import refused
from tests.web.pages_helpers import login, post_form

REASON = "Se verificó por error contra el registro de otra persona."


def _revoke(api: Api, user: str, ref: str, reason: str | None = REASON) -> object:
    return api.post(user, f"/api/v1/cases/{ref}/verification-revocation", {} if reason is None else {"reason": reason})


def test_the_authority_revokes_a_verification_and_the_person_leaves_a_locked_manifest(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = api.ready_case(given_names="Libia")
    ref = case["reference"]
    flight = api.build_manifest([ref], departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=3))
    aboard = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert [(p["case"], p["approval"]) for p in aboard] == [(ref, "approved")], aboard
    for user in ("saime.officer", "saime.viewer", "inm.supervisor", "carrier.supervisor", "monitor.officer",
                 "op.officer"):
        answer = _revoke(api, user, ref)
        assert answer.status_code in (403, 404), (user, answer.text)  # type: ignore[attr-defined]
    refused(_revoke(api, "saime.supervisor", ref, reason="x"), 422, "reason_required")
    answer = ok(_revoke(api, "saime.supervisor", ref), 201)
    assert answer["state"] == "verification_requested" and answer["request"] != f"VR-{ref}", answer
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "verification_requested"
    passengers = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert not [p for p in passengers if p["approval"] == "approved"], passengers
    session.expire_all()
    alerts = session.execute(sa.select(AuditRecord.after).where(AuditRecord.action == "alert.verification_revoked"))
    assert len(alerts.all()) == 1
    assert session.execute(sa.select(VerificationDecision.outcome)).scalars().all() == ["revoked"]
    revoked = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "verification.revoked")).scalar_one()
    assert revoked.before["outcome"] == "verified" and revoked.reason == REASON
    # Nothing left to revoke; the new request is decided as any other.
    refused(_revoke(api, "saime.supervisor", ref), 409, "nothing_to_revoke")
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision",
                {"outcome": "verified", "request": answer["request"], "registry_record": "81234567"}), 201)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] in ("verified", "documented", "ready")


def test_a_case_not_verified_has_nothing_to_revoke_and_the_page_revokes_too(client: TestClient, world: World) -> None:
    api = Api(client, world)
    waiting = api.register(given_names="Rosa")["reference"]
    api.screen(waiting)
    ok(api.post("inm.officer", f"/api/v1/cases/{waiting}/verification-request"), 201)
    refused(_revoke(api, "saime.supervisor", waiting), 409, "nothing_to_revoke")
    ready = api.ready_case(given_names="Luis")["reference"]
    login(client, "saime.officer")
    assert "Revocar la verificación" not in client.get(f"/cases/{ready}").text
    login(client, "saime.supervisor")
    assert "Revocar la verificación" in client.get(f"/cases/{ready}").text
    page = post_form(client, f"/cases/{ready}/verification-revocation", {"reason": REASON}, page=f"/cases/{ready}")
    assert page.status_code == 303, page.text
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ready}"))["state"] == "verification_requested"


def test_verifying_again_against_the_revoked_record_is_a_supervisors_decision(client: TestClient, world: World
                                                                             ) -> None:
    """Red team round 76, F2: right after a supervisor revoked a verification made in error, an officer verified the
    case again against the same registry record, with no reason, and it went back to 'ready'. Undoing the revocation
    is a supervisor's decision with a written reason; another record (the error corrected) is decided as any other."""
    api = Api(client, world)
    ref = api.ready_case(given_names="Nydia")["reference"]
    answer = ok(_revoke(api, "saime.supervisor", ref), 201)
    path = f"/api/v1/cases/{ref}/verification-decision"
    same = {"outcome": "verified", "request": answer["request"], "registry_record": registry_record(ref)}
    # The queue says so before anyone tries, at the API and on the page.
    (entry,) = [e for e in ok(api.get("saime.officer", "/api/v1/verification/queue?limit=500"))
                if e["case"]["reference"] == ref]
    assert entry["revoked_before"]["registry_record"] == registry_record(ref).replace("-", ""), entry
    login(client, "saime.officer")
    assert "revocó el" in client.get("/verification").text
    refused(api.post("saime.officer", path, same), 409, "verification_revoked_before")
    refused(api.post("saime.officer", path, {**same, "reason": "Lo revisé y es la misma persona."}), 409,
            "verification_revoked_before")
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "verification_requested"
    undone = {**same, "reason": "Revisado con el expediente: la revocación fue un error."}
    ok(api.post("saime.supervisor", path, undone), 201)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] in ("verified", "documented", "ready")
    # A queue entry with nothing revoked says nothing of it.
    waiting = api.register(given_names="Otra")["reference"]
    api.screen(waiting)
    ok(api.post("inm.officer", f"/api/v1/cases/{waiting}/verification-request"), 201)
    (other,) = [e for e in ok(api.get("saime.officer", "/api/v1/verification/queue?limit=500"))
                if e["case"]["reference"] == waiting]
    assert other["revoked_before"] is None
