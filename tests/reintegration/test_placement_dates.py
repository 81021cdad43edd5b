"""Red team, round 2 (G2, medium; G3, low): a placement's start date had no bounds (9999-12-31 was the red team's
only 500, 1900-01-01 scheduled follow-ups due in 1900), and a 12-month follow-up was recorded 4 months into the
placement. A step is dated from the returnee's consent on and not after today, a start too (red team round 17, Q-F2:
a start up to a year ahead was taken, 'started' before it began); a follow-up is recorded once it is due (or two weeks
before)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.cases.models import Case
from retorno.cli import reintegration as reintegration_cli
from retorno.cli.main import app as cli
from retorno.db import clock_at
from retorno.errors import InvalidInput, InvalidTransition
from retorno.reintegration import bounds
from retorno.reintegration.models import FollowUp, Opportunity, Placement
from retorno.reintegration.service import (
    record_follow_up,
    update_placement,
)
from tests.edit_helpers import ANSWERS
from tests.factories import Api, World, ok
from tests.reintegration.helpers import offers, patch, placement_of, post, refused, step, today
from tests.web.pages_helpers import login
from tests.web.test_operator_pages import alert, send


@pytest.fixture
def accepted(client: TestClient, world: World) -> Iterator[tuple[Api, dict[str, Any]]]:
    api = Api(client, world)
    cases, _ = offers(api, 1, seats=2, start=date(2027, 1, 15))
    placement = placement_of(api, cases[0])
    yield api, placement


def test_a_placement_starts_between_consent_and_today_never_a_500(
        accepted: tuple[Api, dict[str, Any]], client: TestClient, world: World, session: Session) -> None:
    api, placement = accepted
    now = today()
    for day in ("1900-01-01", (now - timedelta(days=1)).isoformat()):
        refused(step(api, placement, "accepted", day), 422, "invalid_date.placement")
    ok(step(api, placement, "accepted", now.isoformat()))
    # A start not before the consent, nor after today (it records that it began): 9999-12-31 was a 500.
    for day in ("9999-12-31", (bounds.latest_day(now) + timedelta(days=1)).isoformat(),
                (now + timedelta(days=1)).isoformat(), "1900-01-01", (now - timedelta(days=1)).isoformat()):
        error = refused(step(api, placement, "started", day), 422, "invalid_date.placement")
        assert day in error["message"]
    # The pages and the command line's action refuse the same day.
    login(client, "op.officer")
    page = send(client, f"/reintegration/placements/{placement['id']}", {"status": "started", "on": "9999-12-31"})
    assert page.status_code == 422 and "9999-12-31" in alert(page.text), alert(page.text)
    operator = world.bind(session).users["op.officer"]
    with pytest.raises(InvalidInput):
        update_placement(session, operator, placement["id"], status="started", on=date(1900, 1, 1))
    assert session.execute(sa.select(sa.func.count()).select_from(FollowUp)).scalar_one() == 0
    with clock_at(datetime.combine(date(2027, 1, 15), time(12), tzinfo=UTC)):
        started = ok(step(api, placement, "started", "2027-01-15"))
    assert started["started_on"] == "2027-01-15"
    due = sorted(session.execute(sa.select(FollowUp.due_on)).scalars())
    assert due == [date(2027, 4, 15), date(2027, 7, 15), date(2028, 1, 15)]
    # It ends on a day that has come, not before it started: a start in 2027 is not completed now.
    refused(step(api, placement, "completed", now.isoformat()), 422, "invalid_date.placement")
    refused(step(api, placement, "dropped", (now + timedelta(days=1)).isoformat()), 422, "invalid_date.placement")


def test_an_ended_placement_is_dated_from_its_start_to_today(accepted: tuple[Api, dict[str, Any]]) -> None:
    api, placement = accepted
    ok(step(api, placement, "accepted"))
    with clock_at(datetime.combine(date(2027, 1, 15), time(12), tzinfo=UTC)):
        ok(step(api, placement, "started", "2027-01-15"))
    with clock_at(datetime.combine(date(2027, 3, 1), time(12), tzinfo=UTC)):
        refused(step(api, placement, "completed", "2027-01-14"), 422, "invalid_date.placement")
        refused(step(api, placement, "completed", "2027-03-02"), 422, "invalid_date.placement")
        # Six weeks into the placement: early, so the operator's supervisor's, with a reason.
        done = ok(post(api, f"/api/v1/placements/{placement['id']}",
                       {"status": "completed", "on": "2027-03-01", "reason": "La empresa cerró el programa."},
                       "op.supervisor"))
    assert (done["started_on"], done["ended_on"]) == ("2027-01-15", "2027-03-01")




def started_on_15_january_2027(client: TestClient, world: World
                               ) -> tuple[Api, dict[str, Any], dict[int, dict[str, Any]]]:
    """A returnee's placement started on 15 January 2027: the API, the case and its follow-ups listed by months."""
    api = Api(client, world)
    cases, _ = offers(api, 1, seats=2, start=date(2027, 1, 15))
    placement = placement_of(api, cases[0])
    ok(step(api, placement, "accepted"))
    with clock_at(datetime.combine(date(2027, 1, 15), time(12), tzinfo=UTC)):
        ok(step(api, placement, "started", "2027-01-15"))
    return api, cases[0], {f["months"]: f for f in ok(api.get("op.officer", "/api/v1/follow-ups"))}


def test_a_follow_up_is_recorded_once_it_is_due_not_months_before(client: TestClient, world: World,
                                                                  session: Session) -> None:
    api, _case, due = started_on_15_january_2027(client, world)
    # Four months in: the 12-month follow-up is not due (409, naming its day), nor the 6-month one.
    with clock_at(datetime.combine(date(2027, 5, 15), time(12), tzinfo=UTC)):
        for months in (12, 6):
            error = refused(post(api, f"/api/v1/follow-ups/{due[months]['id']}", ANSWERS), 409,
                             "followup.not_due")
            assert due[months]["due_on"] in error["message"]
            # The list says from which day each may be recorded, the day the refusal names.
            opens = date.fromisoformat(due[months]["due_on"]) - timedelta(days=14)
            assert due[months]["opens_on"] == opens.isoformat()
            assert due[months]["opens_on"] in error["message"]
        ok(post(api, f"/api/v1/follow-ups/{due[3]['id']}", ANSWERS), 201)
        operator = world.bind(session).users["op.officer"]
        with pytest.raises(InvalidTransition):
            record_follow_up(session, operator, due[12]["id"], dict(ANSWERS))
        # The page refuses it too.
        login(client, "op.officer")
        page = send(client, f"/reintegration/follow-ups/{due[12]['id']}", {**ANSWERS, "wellbeing": "4"})
        assert page.status_code == 409 and "2028-01-15" in alert(page.text), alert(page.text)
    # From two weeks before its day it is recorded.
    early = date(2027, 7, 15) - bounds.FOLLOW_UP_EARLY
    with clock_at(datetime.combine(early - timedelta(days=1), time(12), tzinfo=UTC)):
        refused(post(api, f"/api/v1/follow-ups/{due[6]['id']}", ANSWERS), 409, "followup.not_due")
    with clock_at(datetime.combine(early, time(12), tzinfo=UTC)):
        ok(post(api, f"/api/v1/follow-ups/{due[6]['id']}", ANSWERS), 201)
    recorded = session.execute(sa.select(FollowUp.months_after_start).where(FollowUp.done_at.is_not(None))
                               .order_by(FollowUp.months_after_start)).scalars().all()
    assert recorded == [3, 6]


def test_every_door_shows_the_day_a_follow_up_opens_and_the_page_offers_no_form_before_it(
        client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Red team round 5, B-F4: `opens_on` was in GET /api/v1/follow-ups only. The page offered the record form on
    follow-ups weeks before they open (the service refused it, 409 followup.not_due), and neither it, its CSV/XLSX
    nor `retorno follow-ups list` said from which day each may be recorded."""
    _api, case, due = started_on_15_january_2027(client, world)
    # On 5 April 2027 the 3-month follow-up (due 15 April) is open, the 6 and 12-month ones are not.
    with clock_at(datetime.combine(date(2027, 4, 5), time(12), tzinfo=UTC)):
        login(client, "op.officer")
        listing = client.get("/reintegration/follow-ups").text
        assert f'action="/reintegration/follow-ups/{due[3]["id"]}"' in listing
        for months, opens in ((6, "1 jul 2027"), (12, "1 ene 2028")):
            assert f'action="/reintegration/follow-ups/{due[months]["id"]}"' not in listing
            assert f"se registra a partir del {opens}" in listing
            single = client.get(f"/reintegration/follow-ups/{due[months]['id']}").text
            assert 'name="wellbeing"' not in single
            assert f"se registra a partir del {opens}" in single
        assert "Se registra desde" in listing and "1 abr 2027" in listing
        exported = client.get("/reintegration/follow-ups.csv")
        assert exported.status_code == 200
        header, *rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
        column = header.index("Se registra desde")
        assert sorted(row[column] for row in rows) == ["2027-04-01", "2027-07-01", "2028-01-01"]
        # The command line's list, read in this test's transaction.
        listed = cli_list(session, monkeypatch)
        for months, opens in ((3, "2027-04-01"), (6, "2027-07-01"), (12, "2028-01-01")):
            row = f"{due[months]['id']} {case['reference']} {months} {due[months]['due_on']} {opens}"
            assert row in listed, listed


def cli_list(session: Session, monkeypatch: pytest.MonkeyPatch) -> str:
    """What `retorno follow-ups list --as op.officer` prints, on the test's own session."""

    @contextmanager
    def this_session(_settings: object) -> Iterator[Session]:
        yield session

    monkeypatch.setattr(reintegration_cli, "unit_of_work", this_session)
    monkeypatch.setattr(reintegration_cli, "settings", lambda _url: None)
    monkeypatch.setattr(reintegration_cli.console, "_width", 200)
    result = CliRunner().invoke(cli, ["follow-ups", "list", "--as", "op.officer"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.replace("│", " ").replace("┃", " ").split())


def test_a_placement_completed_before_its_duration_has_run_is_a_supervisors_decision(
        accepted: tuple[Api, dict[str, Any]], client: TestClient, session: Session) -> None:
    """Red team round 77, F3: an officer recorded a six-month internship completed five days after it started, with no
    reason, and it counted as a completion on every dashboard and in the public statistics. A completion before the
    opportunity's duration has run from the start is the operator's supervisor's, with a written reason; a returnee
    who left is 'dropped'. Once the duration has run, an officer records it as before."""
    api, placement = accepted  # a six-month internship
    ok(step(api, placement, "accepted"))
    with clock_at(datetime.combine(date(2027, 1, 15), time(12), tzinfo=UTC)):
        ok(step(api, placement, "started", "2027-01-15"))
    with clock_at(datetime.combine(date(2027, 1, 20), time(12), tzinfo=UTC)):
        error = refused(step(api, placement, "completed", "2027-01-20"), 409, "placement.completed_early")
        assert "2027-01-15" in error["message"], error
        refused(post(api, f"/api/v1/placements/{placement['id']}", {"status": "completed", "reason": "terminó"}),
                422, "placement.completed_early")
        refused(post(api, f"/api/v1/placements/{placement['id']}",
                     {"status": "completed", "reason": "Lo dice la empresa, terminó."}), 403)
        # Nothing written by the refusals.
        assert session.get(Placement, placement["id"]).status == "started"
        # The returnee's page says from when it is completed, before anyone tries.
        login(client, "op.officer")
        case = session.get(Case, session.get(Placement, placement["id"]).case_id)
        shown = client.get(f"/reintegration/returnees/{case.reference}").text
        assert "Se completa a partir del 15 jul 2027" in shown, shown
    with clock_at(datetime.combine(date(2027, 7, 15), time(12), tzinfo=UTC)):
        refused(step(api, placement, "completed", "2027-07-14"), 409, "placement.completed_early")
        done = ok(step(api, placement, "completed", "2027-07-15"))
    assert done["status"] == "completed" and done["ended_on"] == "2027-07-15"


def test_a_follow_up_does_not_count_in_the_placement_a_returnee_recorded_as_having_left(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 77, F4: a placement recorded dropped five days after its start had its 3-month follow-up
    recorded 'in placement' and counted in every 'still placed' figure. A drop recorded on or before the follow-up's
    day makes that answer a contradiction (409 naming it); the returnee's work as it is now is recorded."""
    api, case, due = started_on_15_january_2027(client, world)
    placement = placement_of(api, case)
    with clock_at(datetime.combine(date(2027, 1, 20), time(12), tzinfo=UTC)):
        ok(post(api, f"/api/v1/placements/{placement['id']}",
                {"status": "dropped", "on": "2027-01-20", "reason": "Dejó la pasantía."}))
    with clock_at(datetime.combine(date(2027, 4, 15), time(12), tzinfo=UTC)):
        error = refused(post(api, f"/api/v1/follow-ups/{due[3]['id']}", ANSWERS), 409, "followup.placement_dropped")
        assert "2027-01-20" in error["message"], error
        assert session.get(FollowUp, due[3]["id"]).done_at is None
        ok(post(api, f"/api/v1/follow-ups/{due[3]['id']}", {**ANSWERS, "work": "other_work"}), 201)
    session.expire_all()
    assert session.get(FollowUp, due[3]["id"]).answers["work"] == "other_work"


def test_a_drop_is_not_dated_back_before_a_follow_up_that_found_the_returnee_in_the_placement(
        client: TestClient, world: World, session: Session) -> None:
    """The other door of red team round 77, F4: a follow-up recorded 'in the placement' at three months, then the
    placement dropped dated back to the first week, would leave the two contradicting each other."""
    api, case, due = started_on_15_january_2027(client, world)
    placement = placement_of(api, case)
    with clock_at(datetime.combine(date(2027, 4, 15), time(12), tzinfo=UTC)):
        ok(post(api, f"/api/v1/follow-ups/{due[3]['id']}", ANSWERS), 201)
    with clock_at(datetime.combine(date(2027, 5, 1), time(12), tzinfo=UTC)):
        for day in ("2027-01-20", "2027-04-14"):
            refused(post(api, f"/api/v1/placements/{placement['id']}",
                         {"status": "dropped", "on": day, "reason": "Dejó la pasantía."}), 409,
                    "placement.drop_before_follow_up")
        assert session.get(Placement, placement["id"]).status == "started"
        ok(post(api, f"/api/v1/placements/{placement['id']}",
                {"status": "dropped", "on": "2027-04-15", "reason": "Dejó la pasantía."}))
    session.expire_all()
    assert session.get(Placement, placement["id"]).status == "dropped"


def test_the_duration_is_not_cut_under_placements_under_way(client: TestClient, world: World,
                                                            session: Session) -> None:
    """Red team round 79, F1: an officer cut an opportunity's duration from six months to one, completed its placements
    with no reason, and put the duration back. The duration is not cut while a placement started under it is under
    way (409 naming them), at the API and the import; lengthening it is not held back."""
    api, case, _due = started_on_15_january_2027(client, world)
    placement = placement_of(api, case)
    stored = session.get(Placement, placement["id"])
    reference = session.get(Opportunity, stored.opportunity_id).reference
    with clock_at(datetime.combine(date(2027, 2, 15), time(12), tzinfo=UTC)):
        refused(patch(api, reference, {"duration_months": 1}), 409, "opportunity.duration_under_way")
        ok(patch(api, reference, {"duration_months": 12}))
        refused(step(api, placement, "completed", "2027-02-15"), 409, "placement.completed_early")


def test_a_follow_up_recorded_after_a_drop_does_not_say_in_the_placement(client: TestClient, world: World,
                                                                         session: Session) -> None:
    """Red team round 79, F2: a seat dropped after its follow-up's day took that follow-up, recorded later, as "in the
    placement". The answer is the returnee's as the follow-up is recorded: after any drop, not in it."""
    api, case, due = started_on_15_january_2027(client, world)
    placement = placement_of(api, case)
    with clock_at(datetime.combine(date(2027, 5, 1), time(12), tzinfo=UTC)):
        ok(post(api, f"/api/v1/placements/{placement['id']}",
                {"status": "dropped", "on": "2027-05-01", "reason": "Dejó la pasantía."}))
        refused(post(api, f"/api/v1/follow-ups/{due[3]['id']}", ANSWERS), 409, "followup.placement_dropped")
        ok(post(api, f"/api/v1/follow-ups/{due[3]['id']}", {**ANSWERS, "work": "no_work"}), 201)
