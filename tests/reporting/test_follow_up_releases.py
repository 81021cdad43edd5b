"""Red team round 17, P-F1 (low) and Q-F5 (medium), round 16 N3: the public follow-up figures (and the dashboards of
the monitors and the receiving side, unrounded) were counted live, so each follow-up recorded moved them by one:
29 x 0.725 - 28 x 0.719 gave its score, 21 - 20 still placed that it was, and the first follow-up at a point was
published as a count of one with that person's score as the mean. Now they count the follow-ups of each point in the
order they were recorded, in whole batches of five, and hide a point with 1 to 4 follow-ups and any still-placed
figure whose change since an earlier release counts 1 to 4, at every door; an operator keeps its own live figures."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.reintegration.models import FollowUp, FollowUpResidue, Opportunity, Placement
from retorno.reporting import public
from tests.edit_helpers import ANSWERS, opportunity
from tests.factories import Api, World, ok

M = public.MARKER
# Those who do not hold the follow-ups: the monitor, the administrator, the receiving authority (and the sender,
# whose figures count none); the operator that recorded them is apart.
OTHERS = ("monitor.viewer", "admin", "saime.officer")
FIRST_DAY = datetime(2024, 4, 16, 9, tzinfo=UTC)


@pytest.fixture
def due(client: TestClient, world: World, session: Session) -> dict[str, Any]:
    """Ten returnees (one flight, consenting) with a started placement of op.officer's opportunity, each with its
    3-month follow-up due and not recorded yet, oldest first."""
    api = Api(client, world)
    cases = api.fly_to_arrival([api.ready_case(given_names=name, birth_date=f"1980-0{1 + n % 9}-1{n}")
                                for n, name in enumerate(("Ana", "Berta", "Celia", "Diana", "Eva", "Flor", "Gema",
                                                          "Hilda", "Inés", "Julia"))])
    for case in cases:
        ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent", {}), 201)
    reference = opportunity(api, seats=10)["reference"]
    opportunity_id = session.execute(sa.select(Opportunity.id).where(Opportunity.reference == reference)).scalar_one()
    follow_ups = []
    for case in cases:
        case_id = session.execute(sa.select(Case.id).where(Case.reference == case["reference"])).scalar_one()
        placement = Placement(case_id=case_id, opportunity_id=opportunity_id, status="started",
                              started_on=date(2024, 1, 15))
        session.add(placement)
        session.flush()
        follow_up = FollowUp(placement_id=placement.id, months_after_start=3, due_on=date(2024, 4, 15))
        session.add(follow_up)
        session.flush()
        follow_ups.append(follow_up.id)
    session.commit()
    return {"api": api, "cases": cases, "follow_ups": follow_ups, "recorded": 0}


def record(due: dict[str, Any], count: int, **answers: Any) -> None:
    """The next `count` follow-ups recorded by the operator, each an hour after the one before."""
    for _ in range(count):
        number = due["recorded"]
        with clock_at(FIRST_DAY + timedelta(hours=number)):
            ok(due["api"].post("op.officer", f"/api/v1/follow-ups/{due['follow_ups'][number]}",
                               {**ANSWERS, **answers}), 201)
        due["recorded"] += 1


def doors(due: dict[str, Any], client: TestClient) -> dict[str, Any]:
    """The 3-month follow-up figures at every door but the operator's own: the public API, its CSV, the page, and
    the dashboards of those who do not hold the follow-ups."""
    api: Api = due["api"]
    found: dict[str, Any] = {"public": ok(api.get("inm.officer", "/api/v1/reports/public"))["tables"]["follow_up"][0]}
    rows = list(csv.reader(io.StringIO(client.get("/api/v1/reports/public.csv?table=follow_up").text)))
    found["csv"] = rows[2]
    page = client.get("/estadisticas").text
    found["page"] = page[page.index('id="seguimiento"'):][:2500]
    for user in OTHERS:
        found[user] = ok(api.get(user, "/api/v1/reports/dashboard"))["follow_up"][0]
    return found


def test_one_recording_moves_no_published_figure_five_do(due: dict[str, Any], client: TestClient) -> None:
    record(due, 5)
    first = doors(due, client)
    assert first["public"] == {"months_after_start": 3, "follow_ups_done": 5, "still_placed": 5,
                               "share_still_placed": 1.0, "mean_sustainability_score": 0.903}, first["public"]
    assert first["csv"] == ["3", "5", "5", "1.0", "0.903"]
    for user in OTHERS:
        assert first[user] == {"months": 3, "done": 5, "still_placed": 5, "share_still_placed": 1.0,
                               "mean_score": 0.903}, user
    # Q-F5's recording: one returnee's worst answers. Nothing published moves, at any door, until five are in.
    record(due, 1, work="no_work", income="none", housing="none", household="separated", intends_to_migrate="yes",
           wellbeing=1)
    assert doors(due, client) == first
    record(due, 3)
    assert doors(due, client) == first
    # The operator that recorded them keeps its own figures as they stand.
    live = ok(due["api"].get("op.officer", "/api/v1/reports/dashboard"))["follow_up"][0]
    assert (live["done"], live["still_placed"]) == (9, 8), live
    record(due, 1)
    moved = doors(due, client)
    # Ten in: the batch of five moved together; its one no longer placed hides still placed (9 of 10: 1 not).
    assert moved["public"]["follow_ups_done"] == 10 and moved["public"]["still_placed"] == M, moved["public"]
    assert moved["public"]["share_still_placed"] == M and moved["csv"][1:3] == ["10", M]
    assert all(moved[user]["done"] == 10 and moved[user]["still_placed"] == M for user in OTHERS), moved


def test_a_point_with_one_to_four_follow_ups_is_suppressed_at_every_door(due: dict[str, Any],
                                                                       client: TestClient) -> None:
    # P-F1: the first follow-up at a point published "1" with that person's exact score as the mean.
    for count in range(1, 5):
        record(due, 1, wellbeing=count)
        found = doors(due, client)
        assert found["public"] == {"months_after_start": 3, "follow_ups_done": M, "still_placed": M,
                                   "share_still_placed": M, "mean_sustainability_score": M}, found["public"]
        assert found["csv"] == ["3", M, M, M, M], found["csv"]
        assert found["page"].count("suprimido") >= 4 and "0.9" not in found["page"] and "0,9" not in found["page"]
        for user in OTHERS:
            assert found[user] == {"months": 3, "done": M, "still_placed": M, "share_still_placed": M,
                                   "mean_score": M}, (user, found[user])
    # The sending side counts no follow-up at all (its work ends at arrival).
    sender = ok(due["api"].get("inm.officer", "/api/v1/reports/dashboard"))["follow_up"][0]
    assert sender["done"] == 0, sender
    # The chart leaves the point out rather than drawing a figure nobody published.
    page = client.get("/estadisticas").text
    assert "3 meses" not in page[:page.index('id="seguimiento"')], page


def test_a_withdrawal_keeps_each_follow_up_in_its_batch(due: dict[str, Any], client: TestClient,
                                                        session: Session) -> None:
    record(due, 5)
    record(due, 2, work="no_work", wellbeing=1)
    before = doors(due, client)
    assert before["public"]["follow_ups_done"] == 5 and before["public"]["still_placed"] == 5, before["public"]
    # The sixth follow-up, not yet in a published batch, is erased by its returnee's withdrawal: its residue keeps
    # its place after the first five (counted first, it would push the fifth out and move the figures by one).
    api: Api = due["api"]
    for case in (due["cases"][5], due["cases"][1]):
        ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent/withdraw",
                    {"reason": "la persona retira su consentimiento en la oficina"}))
        session.expire_all()
        assert doors(due, client) == before
    places = sorted(session.execute(sa.select(FollowUpResidue.done_rank)).scalars())
    assert places == [1, 5], places
    # The batch completes with the recordings after it, the residues in their places: five more none still placed.
    record(due, 3, work="no_work", wellbeing=1)
    after = doors(due, client)["public"]
    assert after["follow_ups_done"] == 10 and after["still_placed"] == 5, after


def test_still_placed_is_hidden_where_it_moved_by_one_to_four_since_a_release() -> None:
    placed, gone = (1, True, 0.9), (1, False, 0.2)
    # 10 still placed of 10, then a batch with one still placed: 11 of 15, a change of 1 (and 4 not).
    figures = public.released(3, [placed] * 10 + [placed] + [gone] * 4)
    assert (figures.done, figures.still_placed, figures.still_hidden) == (15, 11, True)
    assert public.follow_up_rows([figures])[0][1:4] == [15, M, M]
    # A hidden figure stays out of the differences after it: the next batch, all placed, is 16 of 20 against the
    # last one published (10 of 10): 6 more, 4 not placed — hidden too; another all placed, 21 of 25, 11 and 4: too.
    assert public.released(3, [placed] * 10 + [placed] + [gone] * 4 + [placed] * 5).still_hidden
    # Five more gone: 21 of 30, 9 not placed since 10 of 10, 11 placed: published.
    later = public.released(3, [placed] * 10 + [placed] + [gone] * 4 + [placed] * 10 + [gone] * 5)
    assert (later.done, later.still_placed, later.still_hidden) == (30, 21, False)
    # Fewer than five: nothing, not even the count, and nothing of the follow-ups after the last whole batch.
    assert public.follow_up_rows([public.released(6, [placed])])[0] == [6, M, M, M, M]
    assert public.released(3, [placed] * 5 + [gone] * 4) == public.released(3, [placed] * 5)


def test_an_operator_cannot_take_its_own_follow_ups_out_of_a_batch_to_read_another_operators() -> None:
    # Operator 1 knows the four it recorded: a batch of those and operator 2's one would give that one's score.
    own, other = (1, True, 0.9), (2, False, 0.1)
    assert public.follow_up_rows([public.released(3, [own] * 4 + [other])])[0] == [3, M, M, M, M]
    # Red team round 49, F1: the other's one no longer holds back the operator's: five of its own go alone, and the
    # other's one waits for a batch where the operator's own taken out leave five or more (it used to freeze them all).
    waiting = public.released(3, [own] * 4 + [other] + [own] * 20)
    assert (waiting.done, waiting.still_placed, waiting.withheld) == (20, 20, False)
    # Four of a third operator's join the operator's four waiting and the other's one: each one's others number 5+.
    three = public.released(3, [own] * 4 + [other] + [own] * 20 + [(3, True, 0.5)] * 4)
    assert (three.done, three.still_placed) == (29, 28)
    # Still placed moved by 4 and not placed by 1 for the operator's others: hidden, and after, until it is not.
    assert three.still_hidden and public.follow_up_rows([three])[0][1:4] == [29, M, M]
    # A batch closes once each operator's others number five or more: five of each here (or all of one operator).
    figures = public.released(3, [own] * 4 + [other] * 5 + [own])
    assert (figures.done, figures.still_placed, figures.still_hidden) == (10, 5, False)
    assert public.released(3, [own] * 5 + [other]).done == 5
    # Still placed is hidden where an operator's own taken out leaves 1 to 4 of the others' placed or not.
    mixed = public.released(3, [own] * 5 + [(2, True, 0.9)] * 4 + [other] * 1 + [own] * 5)
    assert (mixed.done, mixed.still_placed) == (10 + 5, 14) and mixed.still_hidden


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.booleans()), max_size=60))
def test_the_released_figures_are_every_batch_s_and_hide_what_moved_by_a_few_since_any_published(
        recorded: list[tuple[int, bool]]) -> None:
    """`released` against the rule worked out the slow way: the batches' follow-ups summed, and still placed hidden
    where any of its counts (all, and for each operator the others') moved by 1 to 4 since any release published."""
    counted = [(operator, placed, 0.5) for operator, placed in recorded]
    groups = public.release_groups([(operator, n) for n, (operator, _placed, _score) in enumerate(counted)])
    shown = [p for group in groups for p in group]
    assert len(set(shown)) == len(shown)
    operators = sorted({counted[p][0] for p in shown})

    def counts(positions: list[int]) -> list[int]:
        found = [sum(counted[p][1] for p in positions), sum(not counted[p][1] for p in positions)]
        for operator in operators:
            found += [sum(counted[p][1] for p in positions if counted[p][0] != operator),
                      sum(not counted[p][1] for p in positions if counted[p][0] != operator)]
        return found

    published: list[list[int]] = [[]]
    hidden = False
    for end in range(1, len(groups) + 1):
        now = [p for group in groups[:end] for p in group]
        hidden = any(0 < a - b < 5 for earlier in published for a, b in zip(counts(now), counts(earlier), strict=True))
        if not hidden:
            published.append(now)
    figures = public.released(3, counted)
    assert (figures.done, figures.still_placed) == (len(shown), sum(counted[p][1] for p in shown))
    assert figures.still_hidden == hidden and figures.withheld == (not groups and bool(counted))
    # Every batch: five or more, and for each operator in it the others' 0 or five or more.
    for group in groups:
        assert len(group) >= 5
        for operator in {counted[p][0] for p in group}:
            assert sum(counted[p][0] != operator for p in group) in (0, *range(5, len(group)))
    # Each operator has at most four waiting.
    waiting = set(range(len(counted))) - set(shown)
    assert all(sum(counted[p][0] == operator for p in waiting) <= 4 for operator in (1, 2, 3))
