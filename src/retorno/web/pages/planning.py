"""Manifest planning for the sending authority: run the planner, review, remove households, apply, propose.

The proposal is not stored: the page carries it (flight → case references, escorts, figures,
and the codes of the cases left off) in one hidden field, and the officer's removals as
checkboxes. Applying goes through `apply_plan`, which checks every safeguard again, so a
plan edited or forged in the browser can do no more than the flight page's own form.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import FormData

from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.cases.schemas import household_shown
from retorno.cases.service import visible_cases
from retorno.db import utcnow
from retorno.errors import InvalidInput, plain
from retorno.flights import service as flights
from retorno.flights.models import ACTIVE_APPROVALS, Flight, Passenger
from retorno.flights.plan_service import PlanView, apply_plan, propose_plan
from retorno.web.deps import SessionDep, SettingsDep
from retorno.web.pages.common import (
    FormDep,
    PageUser,
    form_text,
    render,
    require_page,
    router,
    whole_number,
)
from retorno.web.pages.posts import Done, Page, form_post

pages = router()
DEFAULT_TIME_LIMIT = 10.0
# Cases left off shown per reason and page.
LEFT_PAGE = 25
MAX_TIME_LIMIT = 60.0

# Why a ready case is on no flight of the plan, in Spanish; the English catalog translates them.
LEFT_OFF = {
    "household_not_ready": "otros miembros del hogar aún no están listos",
    "no_adult": "un menor del hogar no tiene un adulto con quien viajar",
    "no_reachable_flight": "ningún vuelo elegido sale de un aeropuerto al que pueda llegar",
    "household_too_large": "ningún vuelo tiene sitio para el hogar entero con sus escoltas",
    "no_seat": "los vuelos a los que puede llegar están llenos",
    "medical_staff": "los vuelos a los que puede llegar no llevan el personal médico que su necesidad requiere",
    "minor_stays_behind": "un menor del hogar se queda: un supervisor separa el hogar primero",
    "document_expires": "un documento de viaje del hogar vence antes de todo vuelo al que puede llegar",
    "one_seat": "otro registro de la misma persona (o un posible duplicado sin decidir) ocupa o tomaría un asiento",
    "still_aboard_another_flight": "la persona (o un miembro del hogar) sigue a bordo de la aeronave de otro vuelo",
}


def accepted_flights(session: Session, user: User) -> list[Flight]:
    """The accepted flights of the officer's country whose manifest lock time has not come, soonest first
    (a plan for a flight past it would be refused: `propose_plan`)."""
    lock_time = utcnow() + timedelta(hours=flights.lock_hours_of(session))
    return list(session.execute(
        flights.visible_flights(user).where(Flight.state == "accepted", Flight.departure_utc > lock_time)
        .order_by(Flight.departure_utc)).scalars())


def plan_data(view: PlanView) -> dict[str, Any]:
    """What the page carries of a proposal between the review and the apply."""
    result = view.result
    return {
        "manifests": view.manifests,
        "escorts": view.escorts,
        "medical_staff": view.medical_staff,
        # Each reason with its English message and what says it again in the reader's language.
        "left_off": {ref: [code, str(message), message.template, {k: plain(v) for k, v in message.params.items()}]
                     for ref, (code, message) in view.left_off.items()},
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "greedy": result.greedy_objective,
        "status": result.status,
        "seconds": result.seconds,
    }


def read_plan(text: str) -> dict[str, Any]:
    """The proposal carried by the form, checked for shape (its content is checked again by apply_plan)."""
    try:
        data = json.loads(text)
        manifests = {str(f): [str(c) for c in refs] for f, refs in data["manifests"].items()}
        figures = {k: float(data[k]) for k in ("objective", "bound", "gap", "greedy", "seconds")}
        left_off = {str(ref): [str(why[0]), str(why[1]) if len(why) > 1 else "",
                               str(why[2]) if len(why) > 2 else "", dict(why[3]) if len(why) > 3 else {}]
                    for ref, why in data.get("left_off", {}).items()}
        escorts = {str(f): int(n) for f, n in data.get("escorts", {}).items()}
        medical = {str(f): int(n) for f, n in data.get("medical_staff", {}).items()}
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError):
        raise InvalidInput("the proposed plan in the form is damaged; run the planner again",
                           code="invalid_plan") from None
    return {**figures, "manifests": manifests, "left_off": left_off, "escorts": escorts, "medical_staff": medical,
            "status": str(data.get("status", ""))}


def left_off_groups(data: dict[str, Any], pages: dict[str, int]) -> list[dict[str, Any]]:
    """The cases left off, by reason (the most common first), each reason a page of LEFT_PAGE at a time."""
    by_code: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for ref, (code, message, template, params) in sorted(data["left_off"].items()):
        by_code.setdefault(code, []).append((ref, {"message": message, "template": template, "params": params}))
    groups = []
    for code, rows in sorted(by_code.items(), key=lambda item: (-len(item[1]), item[0])):
        pages_count = max(1, -(-len(rows) // LEFT_PAGE))
        page = min(max(1, pages.get(code, 1)), pages_count)
        groups.append({"code": code, "count": len(rows), "page": page, "pages_count": pages_count,
                       "rows": rows[(page - 1) * LEFT_PAGE: page * LEFT_PAGE]})
    return groups


def left_pages_of(form: FormData) -> dict[str, int]:
    """Which page of each reason's list the form asks for: its hidden pages, then the button pressed."""
    pages: dict[str, int] = {}
    for value in [*form.getlist("left_pages"), form.get("left_page")]:
        if isinstance(value, str) and ":" in value:
            code, _, number = value.rpartition(":")
            page_number = whole_number(number, digits=6)
            if page_number is not None:
                pages[code] = page_number
    return pages


def review(session: Session, user: User, data: dict[str, Any], removed: set[str],
           left_pages: dict[str, int] | None = None) -> dict[str, Any]:
    """The proposal as the officer reviews it: per flight its households (with names), then the cases left
    off by reason, a page of each reason at a time."""
    left_groups = left_off_groups(data, left_pages or {})
    shown_left = {ref for group in left_groups for ref, _message in group["rows"]}
    refs = {ref for refs in data["manifests"].values() for ref in refs} | shown_left
    cases: dict[str, Case] = {}
    listed = sorted(refs)
    for start in range(0, len(listed), 5000):
        for case in session.execute(visible_cases(user).where(Case.reference.in_(listed[start : start + 5000]))
                                    .options(selectinload(Case.household))).scalars():
            cases[case.reference] = case
    today = utcnow().date()
    # The flights and their booked counts in one query each, however many flights and passengers.
    shown = {f.reference: f for f in session.execute(
        flights.visible_flights(user).where(Flight.reference.in_(list(data["manifests"])))).scalars()}
    booked_counts = dict(session.execute(
        sa.select(Passenger.flight_id, sa.func.count())
        .where(Passenger.flight_id.in_([f.id for f in shown.values()]), Passenger.approval.in_(ACTIVE_APPROVALS))
        .group_by(Passenger.flight_id)).all())
    planned = []
    for flight_ref, case_refs in sorted(data["manifests"].items()):
        flight = shown.get(flight_ref)
        households: dict[str, list[str]] = {}
        for ref in case_refs:
            member = cases.get(ref)
            key = (household_shown(user.agency.code, member.agency.code, member.household.reference) or ref
                   if member is not None and member.household is not None else ref)
            households.setdefault(key, []).append(ref)
        rows: list[dict[str, Any]] = []
        for key, members in households.items():
            value = f"{flight_ref}|{' '.join(members)}"
            people = [cases.get(ref) for ref in members]
            waited = max(((today - c.detained_since).days for c in people if c is not None and c.detained_since),
                         default=0)
            rows.append({"value": value, "household": key if len(members) > 1 or key not in members else None,
                         "members": [(ref, cases.get(ref)) for ref in members], "waited": waited,
                         "removed": value in removed})
        rows.sort(key=lambda row: -row["waited"])
        booked = booked_counts.get(flight.id, 0) if flight is not None else 0
        planned.append({"reference": flight_ref, "flight": flight, "households": rows, "passengers": len(case_refs),
                        "booked": booked, "escorts": data["escorts"].get(flight_ref, 0),
                        "medical_staff": data["medical_staff"].get(flight_ref, 0)})
    for group in left_groups:
        group["rows"] = [(ref, cases.get(ref), message) for ref, message in group["rows"]]
    return {"plan": data, "planned": planned, "left_groups": left_groups, "left_count": len(data["left_off"]),
            "plan_json": json.dumps(data, default=str), "optimal": data["gap"] <= 1e-4}


def planning_context(session: Session, user: User, chosen: list[str], time_limit: float) -> dict[str, Any]:
    return {"flights": accepted_flights(session, user), "chosen": set(chosen), "time_limit": time_limit,
            "left_off_reasons": LEFT_OFF, "plan": None}


@pages.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    require_page(user, "manifest.propose")
    available = accepted_flights(session, user)
    return render(request, "planning.html",
                  **planning_context(session, user, [f.reference for f in available], DEFAULT_TIME_LIMIT))


def parse_time_limit(text: str) -> float:
    try:
        value = float(text.replace(",", ".")) if text else DEFAULT_TIME_LIMIT
    except ValueError:
        raise InvalidInput("time limit: '%(text)s' is not a number of seconds", code="invalid_number",
                           text=text) from None
    if not 1 <= value <= MAX_TIME_LIMIT:
        raise InvalidInput("time limit: between 1 and %(most)s seconds", code="invalid_number",
                           most=f"{MAX_TIME_LIMIT:g}")
    return value


def chosen_flights(form: FormData) -> list[str]:
    return list(dict.fromkeys(f for f in form.getlist("flights") if isinstance(f, str) and f))


def planner_again(session: Session, user: User, form: FormData) -> Page:
    """The planning form as it was filled in (the time limit as typed when it was a number)."""
    try:
        time_limit = parse_time_limit(form_text(form, "time_limit"))
    except InvalidInput:
        time_limit = DEFAULT_TIME_LIMIT
    return Page("planning.html", planning_context(session, user, chosen_flights(form), time_limit))


@pages.post("/planning", response_model=None)
@form_post(planner_again)
def run_planner(
    request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, form: FormDep
) -> HTMLResponse:
    """Run the planner and show its proposal for review (nothing is stored until it is applied)."""
    require_page(user, "manifest.propose")
    chosen = chosen_flights(form)
    time_limit = parse_time_limit(form_text(form, "time_limit"))
    view = propose_plan(session, user, chosen, settings, time_limit=time_limit)
    context = planning_context(session, user, chosen, time_limit)
    context.update(review(session, user, plan_data(view), set()))
    return render(request, "planning.html", **context)


def kept_manifests(data: dict[str, Any], removed: set[str]) -> dict[str, list[str]]:
    """The proposal without the households the officer removed."""
    gone: dict[str, set[str]] = {}
    for value in removed:
        flight_ref, _, members = value.partition("|")
        gone.setdefault(flight_ref, set()).update(members.split())
    kept = {flight_ref: [ref for ref in refs if ref not in gone.get(flight_ref, set())]
            for flight_ref, refs in data["manifests"].items()}
    return {flight_ref: refs for flight_ref, refs in kept.items() if refs}


def removed_households(form: FormData) -> set[str]:
    return {v for v in form.getlist("remove") if isinstance(v, str)}


def apply_again(session: Session, user: User, form: FormData) -> Page:
    """The same proposal as the officer reviewed it, with their removals (the partly applied plan is undone)."""
    context = planning_context(session, user, chosen_flights(form), DEFAULT_TIME_LIMIT)
    try:
        data = read_plan(form_text(form, "plan"))
    except InvalidInput:
        return Page("planning.html", context)
    context.update(review(session, user, data, removed_households(form), left_pages_of(form)))
    return Page("planning.html", context)


@pages.post("/planning/review", response_model=None)
@form_post(apply_again)
def review_again(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> HTMLResponse:
    """The same proposal, with the officer's removals, at the pages of the left-off lists they asked for."""
    require_page(user, "manifest.propose")
    context = planning_context(session, user, chosen_flights(form), DEFAULT_TIME_LIMIT)
    context.update(review(session, user, read_plan(form_text(form, "plan")), removed_households(form),
                          left_pages_of(form)))
    return render(request, "planning.html", **context)


@pages.post("/planning/apply", response_model=None)
@form_post(apply_again)
def apply(request: Request, session: SessionDep, user: PageUser, settings: SettingsDep, form: FormDep) -> Done:
    require_page(user, "manifest.propose")
    data = read_plan(form_text(form, "plan"))
    manifests = kept_manifests(data, removed_households(form))
    if not manifests:
        raise InvalidInput("every household was removed from the plan: nothing to apply", code="empty_plan")
    apply_plan(session, user, manifests, settings, escorts=data["escorts"], medical_staff=data["medical_staff"])
    proposed = form_text(form, "propose") == "on"
    if proposed:
        for flight_ref in manifests:
            flights.propose_manifest(session, user, flights.get_flight(session, user, flight_ref),
                                     passengers_per_escort=settings.passengers_per_escort)
    target = f"/flights/{next(iter(manifests))}" if len(manifests) == 1 else "/flights"
    return Done(target, "Plan aplicado. Pasajeros: %(n)s; vuelos: %(f)s.",
                {"n": sum(len(refs) for refs in manifests.values()), "f": len(manifests)},
                ("Manifiestos propuestos a la autoridad receptora.",) if proposed else ())
