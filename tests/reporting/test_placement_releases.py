"""Red team round 17, P-F1 (placements, low): the public placements by status were counted live, so each step of one
placement moved one count by one between two readings: 'started' 10 -> 9 while 'dropped' stayed suppressed told anyone
who knew who changed then (the operator, a neighbour) that this returnee had dropped out. Now the public table counts
each placement as it stood at the end of the last whole batch of status steps, of at least five placements, in the
order they were recorded; every reader's own dashboard keeps them as they stand. The follow-up figures move by their
own batches: a follow-up and a placement step between two readings move neither."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.reintegration.models import FollowUp, PlacementStep
from retorno.reporting import service as reports
from tests.edit_helpers import offered
from tests.factories import Api, World, ok
from tests.reporting.test_follow_up_releases import due, record

__all__ = ["due"]  # the follow-up releases' fixture: ten returnees under way, their follow-ups due

LEFT = "se mudó a otra ciudad"
WITHDRAW = "la persona retira su consentimiento en la oficina"


@pytest.fixture
def started(due: dict[str, Any], session: Session) -> dict[str, Any]:
    """`due`'s ten returnees, each with a placement of op.officer's opportunity started in January, its 3-month
    follow-up due; and those placements, in the same order."""
    placement_of = dict(session.execute(sa.select(FollowUp.id, FollowUp.placement_id)
                                        .where(FollowUp.id.in_(due["follow_ups"]))).all())
    return {**due, "placements": [placement_of[number] for number in due["follow_ups"]], "dropped": 0}


def drop(started: dict[str, Any], count: int) -> None:
    """The next `count` placements dropped by their operator."""
    for _ in range(count):
        number = started["placements"][started["dropped"]]
        ok(started["api"].post("op.officer", f"/api/v1/placements/{number}", {"status": "dropped", "reason": LEFT}))
        started["dropped"] += 1


def published(started: dict[str, Any], client: TestClient) -> dict[str, Any]:
    """Everything the public statistics publish: the API's tables, each table's CSV, and the page's figures."""
    api: Api = started["api"]
    report = ok(api.get("inm.officer", "/api/v1/reports/public"))
    found: dict[str, Any] = {"tables": report["tables"]}
    for table in ("placements", "follow_up"):
        found[table + ".csv"] = list(csv.reader(io.StringIO(
            client.get(f"/api/v1/reports/public.csv?table={table}").text)))
    return found


def placements(found: dict[str, Any]) -> dict[str, Any]:
    return {row["status"]: row["placements"] for row in found["tables"]["placements"]}


def test_one_placement_step_moves_no_public_figure_five_do(started: dict[str, Any], client: TestClient) -> None:
    before = published(started, client)
    assert placements(before) == {"offered": 0, "accepted": 0, "declined": 0, "started": 10, "completed": 0,
                                  "dropped": 0, "total": 10}, before["tables"]["placements"]
    # One returnee under way drops out: counted live, 'started' went 10 -> 9 and 'dropped' (one) was hidden.
    drop(started, 1)
    assert published(started, client) == before
    drop(started, 3)
    assert published(started, client) == before
    # The operator's own dashboard, and the monitor's, count them as they stand.
    for user in ("op.officer", "monitor.viewer"):
        live = ok(started["api"].get(user, "/api/v1/reports/dashboard"))["placements_by_status"]
        assert live == {"started": 6, "dropped": 4}, (user, live)
    # The fifth completes a batch: the table moves by the five together.
    drop(started, 1)
    moved = published(started, client)
    assert placements(moved) == {"offered": 0, "accepted": 0, "declined": 0, "started": 5, "completed": 0,
                                 "dropped": 5, "total": 10}, moved["tables"]["placements"]
    assert moved["placements.csv"][2:] == [["offered", "0"], ["accepted", "0"], ["declined", "0"], ["started", "5"],
                                           ["completed", "0"], ["dropped", "5"], ["total", "10"]]
    assert moved["tables"]["follow_up"] == before["tables"]["follow_up"]


def test_a_follow_up_and_a_placement_step_between_two_readings_move_neither_table(started: dict[str, Any],
                                                                                   client: TestClient) -> None:
    record(started, 5)
    before = published(started, client)
    assert before["tables"]["follow_up"][0]["follow_ups_done"] == 5, before["tables"]["follow_up"]
    # The sixth returnee's follow-up (no longer working) and the first returnee's placement dropped, between readings.
    record(started, 1, work="no_work")
    drop(started, 1)
    assert published(started, client) == before


def test_every_door_that_moves_a_placement_keeps_its_steps(client: TestClient, world: World,
                                                           session: Session) -> None:
    """A matching run's offers (written in bulk), each step by the operator, and a withdrawal of consent: the steps
    kept are each placement's counted status at every change, in order (`reporting.service.STATUS_COUNTED`)."""
    api = Api(client, world)
    leaving, seat = offered(api)
    ok(api.post("op.officer", f"/api/v1/placements/{seat['id']}", {"status": "accepted"}))
    ok(api.post("op.officer", f"/api/v1/placements/{seat['id']}", {"status": "started"}))
    _declining, offer = offered(api)
    ok(api.post("op.officer", f"/api/v1/placements/{offer['id']}", {"status": "declined", "reason": "no le interesa"}))
    waiting, kept = offered(api)
    for case in (leaving, waiting):
        ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent/withdraw", {"reason": WITHDRAW}))
    steps: dict[int, list[str]] = {}
    for placement, status in session.execute(sa.select(PlacementStep.placement_id, PlacementStep.status)
                                             .order_by(PlacementStep.id)):
        steps.setdefault(placement, []).append(status)
    # The withdrawal dropped the seat under way and declined the offer waiting: as they stood, no step.
    assert steps == {seat["id"]: ["offered", "accepted", "started"], offer["id"]: ["offered", "declined"],
                     kept["id"]: ["offered"]}, steps
    assert reports.placements_by_status(session, None) == {"started": 1, "declined": 1, "offered": 1}
