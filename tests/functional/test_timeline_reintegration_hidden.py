"""A returnee's reintegration is told in no timeline door to whom may not read it (red team round 11, RE8812 H1 high).

The sending state (INM, SRE) read the returnee's intake (municipality, skills, work history, needs) through the
`intake.record` entry of `GET /api/v1/cases/REF/timeline`, the reason they gave for declining an offer and for
withdrawing, and all of it still after the withdrawal had erased the intake for the operators. Now the timeline
shows an entry's snapshot and reason only to whom may read its record (`cases.timeline`), leaves the reintegration
out of the sending side's, and the audit trail keeps only digests of the returnee's words.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.audit.service import canonical_json, text_digest
from retorno.cases import timeline
from tests.edit_helpers import INTAKE, OPPORTUNITY
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login
from tests.web.test_timeline import audited_actions

MUNICIPALITY = "Municipio RT12-MUN"
SKILL = "RT12-SKILL costura fina"
WORK_HISTORY = "RT12-WH: trabajó como informante, teme represalias"
NEED = "RT12-NEED atención psicológica por violencia de género"
DECLINED = "RT12-DECLINE prefiere trabajar cerca de su familia"
DROPPED = "RT12-DROP dejó la pasantía por una amenaza"
WITHDRAWN = "RT12-WITHDRAW la persona retira su consentimiento hoy"
SECRETS = (MUNICIPALITY, SKILL, WORK_HISTORY, NEED, DECLINED, DROPPED, WITHDRAWN)
# Every role of every kind that could reach a door showing a case's audit records.
READERS = ("inm.officer", "inm.supervisor", "inm.viewer", "sre.officer", "ice.officer", "saime.officer",
           "saime.supervisor", "saime.viewer", "carrier.officer", "op.officer", "op.viewer", "op2.officer",
           "monitor.viewer", "monitor.supervisor", "admin")
SENDING = ("inm.officer", "inm.supervisor", "sre.officer")
# The actions of a case's reintegration, which the sending side's timeline leaves out.
REINTEGRATION = ("consent.", "intake.", "placement.", "matching.", "case.reintegration_intake", "case.matched",
                 "case.placed", "case.closed")


def returnee_through_reintegration(api: Api) -> tuple[str, list[dict[str, Any]]]:
    """An arrived returnee who consented, told their intake, declined one offer, accepted, started and left another."""
    first, second = (ok(api.post("op.officer", "/api/v1/opportunities", {**OPPORTUNITY, "title": f"Pasantía {n}",
                                                                       "seats": 1}), 201)["reference"]
                     for n in range(2))
    ref = api.arrive(1, name="Retornada")[0]["reference"]
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {}), 201)
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {
        **INTAKE, "municipality": MUNICIPALITY, "skills": ["soldadura", SKILL], "work_history": WORK_HISTORY,
        "needs": [NEED, "transporte"], "preferences": [first, second]}))
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    offered = ok(api.get("op.officer", f"/api/v1/cases/{ref}/placements"))[-1]
    ok(api.post("op.officer", f"/api/v1/placements/{offered['id']}", {"status": "declined", "reason": DECLINED}))
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    placements = ok(api.get("op.officer", f"/api/v1/cases/{ref}/placements"))
    taken = max(placements, key=lambda p: p["id"])
    assert taken["id"] != offered["id"], placements
    for status in ("accepted", "started"):
        ok(api.post("op.officer", f"/api/v1/placements/{taken['id']}", {"status": status}))
    ok(api.post("op.officer", f"/api/v1/placements/{taken['id']}", {"status": "dropped", "reason": DROPPED}))
    return ref, placements


def doors(api: Api, client: TestClient, user: str, ref: str) -> dict[str, str]:
    """What `user` reads through every door that shows a case's audit records: the timeline (API and case page),
    the audit view (API and pages)."""
    read = {"timeline": api.get(user, f"/api/v1/cases/{ref}/timeline").text,
            "audit": api.get(user, "/api/v1/audit?limit=1000").text}
    login(client, user)
    for page in (f"/cases/{ref}", "/audit", "/monitor"):
        read[page] = client.get(page).text
    client.cookies.clear()
    return read


def check_doors(api: Api, client: TestClient, ref: str) -> None:
    for user in READERS:
        for door, text in doors(api, client, user, ref).items():
            told = [secret for secret in SECRETS if secret in text]
            assert told == [], (user, door, told)
            # Nothing of the intake, by field, in any door: not its municipality, skills, work history or needs.
            if door == "timeline" or door.startswith("/cases/"):
                for name in ('"municipality"', '"work_history"', '"needs"', '"skills"', "words_sha256"):
                    assert name not in text, (user, door, name)
                for action in REINTEGRATION:
                    assert f'"action":"{action}' not in text.replace(" ", ""), (user, door, action)
                    assert f'data-action="{action}' not in text, (user, door, action)
    for user in SENDING:
        entries = ok(api.get(user, f"/api/v1/cases/{ref}/timeline"))
        actions = [e["action"] for e in entries]
        assert "arrival.confirm" in actions, " ".join(actions)
        assert not [a for a in actions if a.startswith(REINTEGRATION)], actions
        # The receiving side's decision on the verification is its record: its step and reason, no snapshot.
        decided = [e for e in entries if e["action"] == "verification.verified"]
        assert decided and all(e["before"] is None and e["after"] is None for e in decided), decided


def test_no_timeline_door_tells_the_reintegration_to_whom_may_not_read_it(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ref, _ = returnee_through_reintegration(api)
    check_doors(api, client, ref)
    # The operator that took the returnee in still reads the intake itself (an audited read).
    intake = ok(api.get("op.officer", f"/api/v1/cases/{ref}/intake"))
    assert intake["work_history"] == WORK_HISTORY and NEED in intake["needs"]

    ok(api.post("op.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": WITHDRAWN}))
    assert api.get("op.officer", f"/api/v1/cases/{ref}/intake").status_code == 404
    check_doors(api, client, ref)

    # The audit trail keeps digests of the returnee's words, and the chain still checks.
    with session_factory() as session:
        rows = session.execute(sa.select(AuditRecord).where(
            AuditRecord.object_type == "case", AuditRecord.object_id == ref).order_by(AuditRecord.seq)).scalars().all()
        stored = json.dumps([[r.before, r.after, r.reason] for r in rows], ensure_ascii=False)
        assert [secret for secret in SECRETS if secret in stored] == []
        intake_rows = [r for r in rows if r.action == "intake.record"]
        words = [MUNICIPALITY, ["soldadura", SKILL], WORK_HISTORY, [NEED, "transporte"]]
        assert intake_rows[-1].after["words_sha256"] == text_digest(session, canonical_json(words))
        assert {"work_history", "needs", "municipality", "skills"} <= set(intake_rows[-1].after["changed"])
        digests = {r.action: (r.after or {}).get("reason_sha256") for r in rows}
        assert digests["placement.declined"] == text_digest(session, DECLINED)
        assert digests["placement.dropped"] == text_digest(session, DROPPED)
        assert digests["consent.withdraw"] == text_digest(session, WITHDRAWN)
    verified = ok(api.get("monitor.viewer", "/api/v1/audit/verify"))
    assert verified["ok"], verified


def test_every_action_written_on_a_case_is_declared_to_the_timeline() -> None:
    """An action the timeline does not know is shown as its step alone; each that can be on a case is declared."""
    case_families = ("case.", "consent.", "intake.", "placement.", "matching.offer", "screening.", "child.",
                     "document.", "verification.", "manifest.", "boarding.", "arrival.", "duplicate.",
                     "safeguard.")
    actions = {a for a in audited_actions() if a.startswith(case_families)} | {
        "duplicate.flag", "safeguard.refused_held_elsewhere", "intake.lookup_failed"}
    assert sorted(a for a in actions if timeline.record_of(a) is None) == []
    assert timeline.record_of("intake.record") == timeline.REINTEGRATION
    assert timeline.record_of("case.closed") == timeline.REINTEGRATION
    assert timeline.record_of("case.arrived") == timeline.CASE
    assert timeline.record_of("something.new") is None
