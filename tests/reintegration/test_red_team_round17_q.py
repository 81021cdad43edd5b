"""Red team round 17, Q-F1..F4 (reintegration).

- Q-F1 (medium): a 17-year-old was offered, accepted and started in a paid internship whose operator set `min_age` 14.
  An internship's minimum age is 18 at least (422 at every door that writes one); a minor on the day of the offer or
  on the start is never offered one (matching, either mode), nor accepts or starts one (409, whatever matching did);
  `retorno demo check` names one. Productive projects keep their minimum age from 14.
- Q-F2 (low): a withdrawal ended a placement 'started' on a day still ahead as a drop dated before its start. A start
  is dated not after today (422); a seat not begun yet ends as an acceptance cancelled (dropped, no start).
- Q-F3 (low): 'Returnees to take in' went to every operator, also one another operator's intake shuts out.
- Q-F4 (low): the operator's placements page counted a withdrawn returnee's placements, which its list no longer shows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.demo.check import check_demo
from retorno.errors import InvalidTransition
from retorno.reintegration.load import import_opportunities
from retorno.reintegration.models import Opportunity, Placement
from retorno.reintegration.service import update_placement
from retorno.reporting.service import placements_by_status
from retorno.verification.models import VerificationDecision, VerificationRequest
from retorno.web.pages.programme import placements_context
from tests.edit_helpers import INTAKE, OPPORTUNITY
from tests.factories import Api, World, ok
from tests.reintegration.helpers import offers, patch, placement_of, post, refused, step, today

WITHDRAW = "la persona ya no desea participar en el programa"


def _years_ago(years: int, *, days: int = 0) -> date:
    now = today()
    return now.replace(year=now.year - years) + timedelta(days=days)


def _household(api: Api, name: str, child_born: date) -> tuple[dict[str, Any], dict[str, Any]]:
    """An adult and a child of one household arrived; the adult consented, then the child (with that adult)."""
    adult = api.ready_case(given_names=f"Madre {name}", household_reference=f"H-{name}", relationship_to_head="head")
    child = api.ready_case(given_names=f"Hijo {name}", household_reference=f"H-{name}", relationship_to_head="child",
                           birth_date=child_born.isoformat())
    api.fly_to_arrival([adult, child])
    for case in (adult, child):
        ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent", {}), 201)
    return adult, child


def _wants(api: Api, case: dict[str, Any], *references: str) -> None:
    ok(api.put("op.officer", f"/api/v1/cases/{case['reference']}/intake",
               {**INTAKE, "skills": ["soldadura"], "preferences": list(references)}))


def _opportunity(api: Api, **overrides: Any) -> dict[str, Any]:
    created: dict[str, Any] = ok(post(api, "/api/v1/opportunities", {**OPPORTUNITY, **overrides}), 201)
    return created


def _placements(api: Api, case: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(api.get("op.officer", f"/api/v1/cases/{case['reference']}/placements"))
    return found


# ----- Q-F1 ------------------------------------------------------------------------------------------------------


def test_an_internship_asks_18_at_least_at_every_door_a_project_may_ask_14(client: TestClient, world: World,
                                                                          session: Session) -> None:
    api = Api(client, world)
    for min_age in (14, 17):
        error = refused(post(api, "/api/v1/opportunities", {**OPPORTUNITY, "min_age": min_age}), 422,
                        "invalid_opportunity")
        assert "18" in error["message"] and "min_age" in error["message"], error
    internship = _opportunity(api)
    assert internship["min_age"] == 18
    refused(patch(api, internship["reference"], {"min_age": 16}), 422, "invalid_opportunity")
    project = _opportunity(api, kind="productive_project", min_age=14)
    assert project["min_age"] == 14
    # A project turned into an internship takes its minimum age with it, or is refused.
    refused(patch(api, project["reference"], {"kind": "internship"}), 422, "invalid_opportunity")
    assert ok(patch(api, project["reference"], {"kind": "internship", "min_age": 18}))["min_age"] == 18
    # The import refuses the row, naming the column; nothing is written.
    actor = world.bind(session).users["op.officer"]
    header = ("tipo;titulo;lugar_de_trabajo;sector;ocupacion_ciuo;estado;municipio;cupos;monto_mensual;moneda;"
              "fecha_inicio;duracion_meses;edad_minima\n")
    start = (today() + timedelta(days=30)).isoformat()
    row = f"pasantia;Pasantía Q;Taller Q;manufactura;7233;VE-A;Capital;2;130,00;USD;{start};6;15\n"
    outcome = import_opportunities(session, actor, (header + row).encode(), "oportunidades.csv")
    assert not outcome.report.ok and outcome.created == 0
    assert [(p.column, p.value) for p in outcome.report.problems] == [("edad_minima", "15")], outcome.report.problems
    project_row = row.replace("pasantia;", "proyecto_productivo;")
    assert import_opportunities(session, actor, (header + project_row).encode(), "oportunidades.csv").created == 1


@pytest.mark.parametrize("mode", ["stable", "welfare"])
def test_a_minor_is_not_offered_an_internship_a_project_yes(client: TestClient, world: World, session: Session,
                                                            mode: str) -> None:
    api = Api(client, world)
    internship = _opportunity(api, start_date=(today() + timedelta(days=20)).isoformat())
    # Stored from 14 before the rule, as the red team's was: matching reads it as 18.
    session.execute(sa.update(Opportunity).where(Opportunity.reference == internship["reference"]).values(min_age=14))
    project = _opportunity(api, kind="productive_project", min_age=14, title="Cooperativa")
    _adult, seventeen = _household(api, "A", _years_ago(17))
    # Seventeen today, eighteen in ten days, before the internship starts: a minor on the day of the offer.
    _adult2, almost = _household(api, "B", _years_ago(18, days=10))
    # Of age by the declared birth date, seventeen by the verified registry record's.
    (by_registry,) = api.arrive(1, name="Registro")
    ok(api.post("saime.officer", f"/api/v1/cases/{by_registry['reference']}/consent", {}), 201)
    for case in (seventeen, almost, by_registry):
        _wants(api, case, internship["reference"], project["reference"])
    session.execute(sa.update(VerificationDecision).where(
        VerificationDecision.outcome == "verified", VerificationDecision.request_id.in_(
            sa.select(VerificationRequest.id).join(Case, Case.id == VerificationRequest.case_id)
            .where(Case.reference == by_registry["reference"]))).values(registry_birth_date=_years_ago(17)))
    ok(api.post("op.officer", f"/api/v1/matching/runs?mode={mode}"), 201)
    ids = {reference: id_ for reference, id_ in session.execute(sa.select(Opportunity.reference, Opportunity.id))}
    for case in (seventeen, almost, by_registry):
        (offer,) = _placements(api, case)
        assert (offer["opportunity_id"], offer["status"]) == (ids[project["reference"]], "offered"), offer
        explanation = offer["explanation"]
        assert {(r["opportunity"], r["code"]) for r in explanation["passed_over"]} == {
            (ids[internship["reference"]], "requirement_not_met")}, explanation
        assert explanation["passed_over"][0]["requirement"] == "below_min_age", explanation
    # Once eighteen on the day of the offer and on the start, a run offers it (the project's offer declined first).
    ok(step(api, _placements(api, almost)[0], "declined"))
    with clock_at(datetime.combine(today() + timedelta(days=11), time(12), tzinfo=UTC)):
        ok(api.post("op.officer", f"/api/v1/matching/runs?mode={mode}"), 201)
        latest = placement_of(api, almost)
    assert (latest["opportunity_id"], latest["status"]) == (ids[internship["reference"]], "offered"), latest


def test_an_offer_made_to_a_minor_is_never_accepted_nor_started(client: TestClient, world: World,
                                                                session: Session) -> None:
    """A project's offer to a minor (allowed), its opportunity turned into an internship: the seat is not taken up,
    neither while a minor nor once eighteen (they were a minor on the day of the offer); `demo check` names it."""
    api = Api(client, world)
    project = _opportunity(api, kind="productive_project", min_age=14, title="Cooperativa")
    _adult, child = _household(api, "C", _years_ago(18, days=5))
    _wants(api, child, project["reference"])
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    (offer,) = _placements(api, child)
    # Since round 25 (AB-F1) the change is refused while the offer stands; stored as it was before that rule.
    refused(patch(api, project["reference"], {"kind": "internship", "min_age": 18}), 409, "placement.minor_internship")
    session.execute(sa.update(Opportunity).where(Opportunity.reference == project["reference"])
                    .values(kind="internship", min_age=18))
    error = refused(step(api, offer, "accepted"), 409, "placement.minor_internship")
    assert child["reference"] in error["message"]
    with clock_at(datetime.combine(today() + timedelta(days=6), time(12), tzinfo=UTC)):
        refused(step(api, offer, "accepted"), 409, "placement.minor_internship")
    # An acceptance recorded before (as the red team's was): it is not started, at the service's door either.
    session.execute(sa.update(Placement).where(Placement.id == offer["id"]).values(status="accepted"))
    refused(step(api, offer, "started", today().isoformat()), 409, "placement.minor_internship")
    operator = world.bind(session).users["op.officer"]
    with pytest.raises(InvalidTransition):
        update_placement(session, operator, offer["id"], status="started", on=today())
    problems = check_demo(session).problems("internships_adults_only")
    assert [p.subject for p in problems] == [f"case {child['reference']}"], problems
    # Declined, it is closed.
    session.execute(sa.update(Placement).where(Placement.id == offer["id"]).values(status="offered"))
    ok(step(api, offer, "declined"))


def test_the_demo_check_names_an_internship_open_under_18(client: TestClient, world: World,
                                                          session: Session) -> None:
    api = Api(client, world)
    internship = _opportunity(api)
    session.execute(sa.update(Opportunity).where(Opportunity.reference == internship["reference"]).values(min_age=14))
    problems = check_demo(session).problems("internships_adults_only")
    assert [p.subject for p in problems] == [f"opportunity {internship['reference']}"], problems


# ----- Q-F2 ------------------------------------------------------------------------------------------------------


def test_a_start_is_not_dated_ahead_and_a_withdrawal_never_ends_a_seat_before_its_start(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    cases, _ = offers(api, 1, seats=2)
    placement = placement_of(api, cases[0])
    ok(step(api, placement, "accepted"))
    error = refused(step(api, placement, "started", (today() + timedelta(days=8)).isoformat()), 422,
                    "invalid_date.placement")
    assert today().isoformat() in error["message"]
    # A start dated ahead as the red team's was, before the rule: the withdrawal cancels the acceptance.
    ahead = today() + timedelta(days=8)
    session.execute(sa.update(Placement).where(Placement.id == placement["id"]).values(status="started",
                                                                                         started_on=ahead))
    ok(api.post("op.officer", f"/api/v1/cases/{cases[0]['reference']}/consent/withdraw", {"reason": WITHDRAW}))
    ended = session.get(Placement, placement["id"])
    assert ended is not None
    session.refresh(ended)
    assert (ended.status, ended.started_on, ended.ended_on) == ("dropped", None, today())
    assert placements_by_status(session, None) == {"accepted": 1}
    # A seat under way since a day that has come is dropped on the withdrawal's day, after its start.
    others, _ = offers(api, 1, seats=2)
    seat = placement_of(api, others[0])
    ok(step(api, seat, "accepted"))
    ok(step(api, seat, "started", today().isoformat()))
    ok(api.post("op.officer", f"/api/v1/cases/{others[0]['reference']}/consent/withdraw", {"reason": WITHDRAW}))
    dropped = session.get(Placement, seat["id"])
    assert dropped is not None
    session.refresh(dropped)
    assert (dropped.status, dropped.started_on, dropped.ended_on) == ("dropped", today(), today())


# ----- Q-F3 ------------------------------------------------------------------------------------------------------


def _intakes(api: Api, user: str) -> list[str]:
    queue = ok(api.get(user, "/api/v1/inbox"))
    kinds = {kind["kind"]: kind for kind in queue["kinds"]}
    return [item["reference"] for item in kinds["intakes"]["items"]] if "intakes" in kinds else []


def test_returnees_to_take_in_go_only_to_whom_may_take_them(client: TestClient, world: World) -> None:
    api = Api(client, world)
    held, free = api.arrive(2, name="Retornada")
    ok(api.post("op.officer", f"/api/v1/cases/{held['reference']}/consent", {"birth_date": held["birth_date"]}), 201)
    ok(api.post("saime.officer", f"/api/v1/cases/{free['reference']}/consent", {}), 201)
    shut = api.get("op2.officer", f"/api/v1/cases/{held['reference']}/intake")
    assert shut.status_code == 403 and shut.json()["error"]["code"] == "forbidden.intake.other_operator", shut.text
    assert sorted(_intakes(api, "op.officer")) == sorted([held["reference"], free["reference"]])
    # FUNDAPRO may take in the returnee no operator holds, not VUELTA's: its queue and its count say so.
    assert _intakes(api, "op2.officer") == [free["reference"]]
    queue = ok(api.get("op2.officer", "/api/v1/inbox"))
    assert {kind["kind"]: kind["total"] for kind in queue["kinds"]}["intakes"] == 1
    ok(api.get("op2.officer", f"/api/v1/cases/{free['reference']}/intake"))


# ----- Q-F4 ------------------------------------------------------------------------------------------------------


def test_the_placements_page_counts_what_it_may_list(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    cases, _ = offers(api, 2, seats=2)
    gone, stays = cases
    ok(step(api, placement_of(api, gone), "accepted"))
    ok(api.post("saime.officer", f"/api/v1/cases/{gone['reference']}/consent/withdraw", {"reason": WITHDRAW}))
    operator = world.bind(session).users["op.officer"]
    shown = placements_context(session, operator, "", "es")
    assert shown["counts"] == {"offered": 1} and shown["total"] == shown["found"] == 1, shown["counts"]
    dashboard = ok(api.get("op.officer", "/api/v1/reports/dashboard"))["placements_by_status"]
    assert dashboard == shown["counts"]
    assert placement_of(api, stays)["status"] == "offered"
    dropped = placements_context(session, operator, "dropped", "es")
    assert dropped["found"] == 0 and "dropped" not in dropped["counts"]
