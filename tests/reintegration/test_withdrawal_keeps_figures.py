"""Red team round 11, RE8812 M1 (medium): the public follow-up figures (and every dashboard, unrounded) dropped a
returnee's follow-ups the moment they withdrew consent, so the mean before and after gave the erased score back by
subtraction (29 x 0.697 - 28 x 0.719 = 0.081, the person's 0.083) and the count still placed whether they still
worked there. At the withdrawal the follow-ups' answers are still erased, but what they added to the figures stays,
as an unlinked residue (which N-month point, the score, whether still placed, in whose figures: no case, placement,
opportunity or date), so nothing published moves at a withdrawal, at any door."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.reintegration.models import FollowUp, FollowUpResidue
from tests.edit_helpers import ANSWERS, follow_up_due, on_due_day
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

READERS = ("monitor.viewer", "op.officer", "saime.officer", "inm.officer")


def _published(api: Api, client: TestClient) -> dict[str, Any]:
    """Every door the follow-up figures are published at, as read by the public and each kind of reader."""
    doors: dict[str, Any] = {
        "public": ok(api.get("inm.officer", "/api/v1/reports/public"))["tables"]["follow_up"],
        "public.csv": client.get("/api/v1/reports/public.csv?table=follow_up").text,
    }
    for user in READERS:
        doors[user] = ok(api.get(user, "/api/v1/reports/dashboard"))["follow_up"]
    login(client, "op.officer")
    page = client.get("/reintegration/follow-ups").text
    doors["programme page"] = page[page.index("Puntuación media"):][:2000]
    return doors


def test_a_withdrawal_moves_no_published_follow_up_figure(client: TestClient, world: World,
                                                          session: Session) -> None:
    api = Api(client, world)
    case, due = follow_up_due(api)
    with on_due_day(due):
        ok(api.post("op.officer", f"/api/v1/follow-ups/{due['id']}",
                    {**ANSWERS, "work": "no_work", "wellbeing": 1, "intends_to_migrate": "yes"}), 201)
    before = _published(api, client)
    assert before["op.officer"][0]["done"] == 1 and before["op.officer"][0]["mean_score"] is not None, before
    # Those who do not hold the follow-up see them as published, a point with 1 to 4 hidden (red team round 17,
    # P-F1/Q-F5: `tests/reporting/test_follow_up_releases.py` keeps a withdrawal inside the batches of five).
    assert before["saime.officer"] == before["monitor.viewer"]
    assert before["monitor.viewer"][0]["done"] == before["public"][0]["follow_ups_done"] == "suppressed", before
    # The sending side's work ends at arrival: its figures count no follow-up (`reporting.service.scope_of`).
    assert all(point["done"] == 0 for point in before["inm.officer"]), before["inm.officer"]
    assert "3 meses" in before["programme page"], before["programme page"]
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent/withdraw",
                {"reason": "la persona retira su consentimiento en la oficina"}))
    # The answers are gone; the figures read the same at every door, so no subtraction gives the score back.
    session.expire_all()
    assert session.get(FollowUp, due["id"]) is None
    assert _published(api, client) == before
    # What stays tells no one whose it was: no case, placement, opportunity or moment (its place in the order its
    # point's follow-ups were recorded, not a date: round 17, P-F1/Q-F5).
    columns = {c.name for c in FollowUpResidue.__table__.columns}
    assert columns == {"id", "months_after_start", "score", "still_placed", "operator_agency_id",
                       "sending_country", "received_country", "done_rank"}, columns
    assert session.execute(sa.select(sa.func.count()).select_from(FollowUpResidue)).scalar_one() == 1
