"""Operator commands for reintegration: opportunities, consent and intake, matching, placements, follow-ups."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from retorno.cli.common import (
    ActAs,
    DatabaseUrl,
    VersionOption,
    acting_user,
    console,
    refusals,
    report_import,
    settings,
    unit_of_work,
)

opportunities_app = typer.Typer(help="Productive projects and paid internships.", no_args_is_help=True)
returnees_app = typer.Typer(help="Arrived returnees: consent, intake and its hand-over, withdrawal of consent.",
                             no_args_is_help=True)
match_app = typer.Typer(help="Matching returnees to opportunities (stable or welfare-optimal), explained.",
                        no_args_is_help=True)
placements_app = typer.Typer(help="Placements: offered → accepted / declined → started → completed / dropped.",
                             no_args_is_help=True)
follow_ups_app = typer.Typer(help="Follow-ups at 3, 6 and 12 months.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(opportunities_app, name="opportunities")
    app.add_typer(returnees_app, name="returnees")
    app.add_typer(match_app, name="match")
    app.add_typer(placements_app, name="placements")
    app.add_typer(follow_ups_app, name="follow-ups")


def _amount(value: str) -> Decimal:
    """An amount as every door reads one (`reintegration.bounds.amount`)."""
    from retorno.reintegration import bounds

    amount = bounds.amount(value)
    if amount is None:
        raise typer.BadParameter(f"--amount takes a number such as 1500.00, not {value!r}")
    return amount


def _day(value: str | None, option: str) -> date | None:
    from retorno.plaintext import iso_day  # YYYY-MM-DD only, as at every door

    try:
        return iso_day(value) if value else None
    except ValueError as exc:
        raise typer.BadParameter(f"{option} takes a date as YYYY-MM-DD, not {value!r}") from exc


def _opportunity_row(o: Any) -> list[str]:
    return [o.reference, o.kind, o.title, o.workplace, o.isco_code, f"{o.state_code} {o.municipality}",
            str(o.seats), f"{o.monthly_amount} {o.currency}", o.start_date.isoformat(), str(o.duration_months),
            "sí / yes" if o.active else "no"]


def _opportunity_table() -> Table:
    return Table("ref", "tipo / kind", "título / title", "lugar / workplace", "CIUO / ISCO", "lugar / place",
                 "cupos / seats", "monto / amount", "inicio / start", "meses / months", "activa / active")


@opportunities_app.command("add")
def add_opportunity(
    kind: Annotated[str, typer.Option(help="productive_project or internship")],
    title: Annotated[str, typer.Option()],
    workplace: Annotated[str, typer.Option()],
    sector: Annotated[str, typer.Option()],
    isco: Annotated[str, typer.Option(help="4-digit ISCO-08 occupation code")],
    state: Annotated[str, typer.Option(help="ISO 3166-2 code of the Venezuelan state, e.g. VE-A")],
    municipality: Annotated[str, typer.Option()],
    seats: Annotated[int, typer.Option()],
    amount: Annotated[str, typer.Option(help="monthly stipend or funding")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. VES or USD")],
    start: Annotated[str, typer.Option(help="start date, YYYY-MM-DD")],
    duration: Annotated[int, typer.Option(help="duration in months")],
    tutors: int = 1, min_age: int = 18,
    min_education: Annotated[str | None, typer.Option(help="ISCED 2011 level 0-8")] = None,
    skill: Annotated[list[str] | None, typer.Option(help="a required skill (repeatable)")] = None,
    act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Publish an opportunity."""
    from retorno.reintegration.service import OpportunityInput, create_opportunity

    start_date = _day(start, "--start")
    assert start_date is not None
    data = OpportunityInput(kind=kind, title=title, workplace=workplace, sector=sector, isco_code=isco,
                            state_code=state.upper(), municipality=municipality, seats=seats,
                            monthly_amount=_amount(amount), currency=currency.upper(), start_date=start_date,
                            duration_months=duration, tutors=tutors, min_age=min_age, min_education=min_education,
                            required_skills=list(skill or []))
    with refusals(), unit_of_work(settings(database_url)) as session:
        opportunity = create_opportunity(session, acting_user(session, act_as), data)
        console.print(f"opportunity [bold]{opportunity.reference}[/bold] published")


@opportunities_app.command("edit")
def edit_opportunity(
    reference: str,
    title: str | None = None, workplace: str | None = None, sector: str | None = None,
    isco: Annotated[str | None, typer.Option(help="4-digit ISCO-08 code")] = None,
    state: Annotated[str | None, typer.Option(help="ISO 3166-2 state code")] = None,
    municipality: str | None = None, seats: int | None = None, tutors: int | None = None,
    amount: str | None = None, currency: str | None = None,
    start: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    duration: Annotated[int | None, typer.Option(help="months")] = None,
    min_age: int | None = None, min_education: str | None = None,
    skill: Annotated[list[str] | None, typer.Option(help="replaces the required skills (repeatable)")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="open or close it to matching")]
    = None,
    version: VersionOption = None, act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Change fields of one of your opportunities (only the options given)."""
    from retorno.reintegration.service import get_opportunity, update_opportunity

    given: dict[str, Any] = {
        "title": title, "workplace": workplace, "sector": sector, "isco_code": isco,
        "state_code": state.upper() if state else None, "municipality": municipality, "seats": seats,
        "tutors": tutors, "monthly_amount": _amount(amount) if amount else None,
        "currency": currency.upper() if currency else None, "start_date": _day(start, "--start"),
        "duration_months": duration, "min_age": min_age, "min_education": min_education,
        "required_skills": list(skill) if skill else None, "active": active}
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise typer.BadParameter("say what to change, e.g. --seats 12")
    with refusals(), unit_of_work(settings(database_url)) as session:
        opportunity = get_opportunity(session, reference)
        update_opportunity(session, acting_user(session, act_as), opportunity, changes, expected_version=version)
        console.print(f"opportunity [bold]{opportunity.reference}[/bold] updated: {', '.join(sorted(changes))}")


@opportunities_app.command("list")
def list_opportunities(mine: Annotated[bool, typer.Option(help="only your agency's")] = False,
                       act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The published opportunities."""
    import sqlalchemy as sa

    from retorno.agencies.permissions import require
    from retorno.reintegration.models import Opportunity

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        require(actor, "returnee.read")
        query = sa.select(Opportunity).order_by(Opportunity.id)
        if mine:
            query = query.where(Opportunity.operator_agency_id == actor.agency_id)
        table = _opportunity_table()
        for opportunity in session.execute(query).scalars():
            table.add_row(*_opportunity_row(opportunity))
        console.print(table)


@opportunities_app.command("import")
def import_opportunities_command(
    file: Path, act_as: ActAs = None, database_url: DatabaseUrl = None,
    lang: Annotated[str, typer.Option(help="language of the report: es or en")] = "es",
) -> None:
    """Import an opportunity list; a file with any bad row imports nothing and gets a report CSV next to it."""
    from retorno.reintegration.load import import_opportunities

    data = file.read_bytes()
    config = settings(database_url)
    with refusals(), unit_of_work(config) as session:
        actor = acting_user(session, act_as)
        outcome = import_opportunities(session, actor, data, file.name, locale=lang,
                                       max_unpacked=config.max_unpacked_bytes)
        if not outcome.ok:
            # Leave the transaction with nothing written, then report.
            session.rollback()
    created = f"; created: {', '.join(outcome.created_references)}" if outcome.created_references else ""
    kept = (f"; columns not in the file, kept as stored for opportunities already held: "
            f"{', '.join(outcome.report.absent.values())}" if outcome.report.absent else "")
    report_import(file, outcome, lang, f"{outcome.created} created, {outcome.updated} updated, "
                  f"{outcome.unchanged} unchanged{created}{kept}")


@returnees_app.command("list")
def list_returnees(act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Arrived returnees who consented: the only people an operator sees."""
    from retorno.reintegration.service import returnees

    with refusals(), unit_of_work(settings(database_url)) as session:
        table = Table("caso / case", "nombre / name", "estado / state", "hogar / home", "educación / education",
                      "ocupaciones / occupations", "preferencias / preferences")
        for case, profile, state in returnees(session, acting_user(session, act_as)):
            table.add_row(case.reference, case.full_name, state, profile.home_state or "",
                          profile.education or "", ", ".join(profile.occupations),
                          ", ".join(profile.preferences))
        console.print(table)


@returnees_app.command("consent")
def consent(reference: str,
            birth_date: Annotated[str | None, typer.Option(
                help="an operator confirms the returnee with their birth date (YYYY-MM-DD)")] = None,
            act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Record that an arrived returnee agrees to take part in reintegration."""
    from retorno.cases.service import get_case
    from retorno.errors import InvalidInput
    from retorno.reintegration.service import find_arrived, record_consent

    born = _day(birth_date, "--birth-date")
    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        if actor.agency.kind == "reintegration_operator":
            if born is None:
                raise InvalidInput("an operator confirms the returnee with --birth-date")
            case = find_arrived(session, actor, reference, born)
        else:
            case = get_case(session, actor, reference)
        record_consent(session, actor, case)
        console.print(f"consent recorded for {case.reference}; state {case.state}")


@returnees_app.command("intake")
def intake(reference: str,
           home_state: Annotated[str | None, typer.Option(help="ISO 3166-2 code of the home state, e.g. VE-V")] = None,
           municipality: Annotated[str | None, typer.Option()] = None,
           education: Annotated[str | None, typer.Option(help="ISCED 2011 level 0-8")] = None,
           occupation: Annotated[list[str] | None, typer.Option(help="ISCO-08 code (repeatable)")] = None,
           skill: Annotated[list[str] | None, typer.Option(help="a skill (repeatable)")] = None,
           language: Annotated[list[str] | None, typer.Option(help="ISO 639 code (repeatable); default es")] = None,
           work_history: Annotated[str | None, typer.Option()] = None,
           preference: Annotated[list[str] | None, typer.Option(
               help="an opportunity reference or a sector, best first (repeatable)")] = None,
           need: Annotated[list[str] | None, typer.Option(help="e.g. childcare, transport (repeatable)")] = None,
           version: VersionOption = None, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The intake interview after arrival (only with the returnee's recorded consent). A first intake names the home
    state, municipality and education; an intake recorded already changes in the options given only (a repeatable
    option replaces its whole list), the rest kept as recorded."""
    from retorno.cases.service import get_case
    from retorno.reintegration.service import INTAKE_FIELDS, IntakeInput, intake_profile, record_intake

    given: dict[str, Any] = {
        "home_state": home_state.upper() if home_state else None, "municipality": municipality,
        "education": education, "occupations": list(occupation) if occupation else None,
        "skills": list(skill) if skill else None, "languages": list(language) if language else None,
        "work_history": work_history, "preferences": list(preference) if preference else None,
        "needs": list(need) if need else None}
    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        # What is recorded stays unless an option changes it (red team round 46a, F1: the command replaced the whole
        # intake, and a colleague's work history, skills, preferences and needs were erased unseen).
        current = intake_profile(session, actor, case)
        values = {name: getattr(current, name) for name in INTAKE_FIELDS}
        values.update({name: value for name, value in given.items() if value is not None})
        missing = [f"--{name.replace('_', '-')}" for name in ("home_state", "municipality", "education")
                   if not values[name]]
        if missing:
            raise typer.BadParameter(f"a first intake names {', '.join(missing)}")
        values["languages"] = values["languages"] or ["es"]
        record_intake(session, actor, case, IntakeInput(**values), expected_version=version)
        session.flush()
        console.print(f"intake recorded for {case.reference} (version {current.version})")


@returnees_app.command("withdraw-consent")
def withdraw_consent(reference: str, reason: Annotated[str, typer.Option()], act_as: ActAs = None,
                     database_url: DatabaseUrl = None) -> None:
    """The returnee withdraws consent: their intake data is erased and they leave every operator's view."""
    from retorno.cases.service import get_case
    from retorno.reintegration.service import withdraw_consent as withdraw

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        withdraw(session, actor, case, reason=reason)
        console.print(f"consent withdrawn for {case.reference}; state {case.state}")


@returnees_app.command("transfer-intake")
def transfer_intake(reference: str,
                    operator: Annotated[str, typer.Option(help="code of the operator taking the intake over")],
                    reason: Annotated[str, typer.Option()], act_as: ActAs = None,
                    database_url: DatabaseUrl = None) -> None:
    """Hand the returnee's intake to another operator of their state (by the operator holding it or the receiving
    authority, with a written reason; audited as intake.transfer)."""
    from retorno.cases.service import get_case
    from retorno.reintegration.service import transfer_intake as transfer

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        case = get_case(session, actor, reference)
        transfer(session, actor, case, operator=operator, reason=reason)
        console.print(f"intake of {case.reference} handed to {operator.strip().upper()}")


_METRICS = (("matched_share", "emparejados / matched share", "{:.1%}"),
            ("mean_rank", "rango medio / mean rank of the match", "{:.2f}"),
            ("blocking_pairs", "pares bloqueantes / blocking pairs", "{}"),
            ("seconds", "segundos / seconds", "{:.3f}"))


@match_app.command("preview")
def preview(act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Both modes side by side (stable and welfare-optimal), without making any offer."""
    from retorno.reintegration.service import preview_matching

    with refusals(), unit_of_work(settings(database_url)) as session:
        with console.status("matching…"):
            result = preview_matching(session, acting_user(session, act_as))
        table = Table("", "stable / estable", "welfare / bienestar",
                      title=f"{len(result.returnee_ids)} returnees, {len(result.opportunity_ids)} opportunities",
                      title_justify="left")
        for name, label, fmt in _METRICS:
            table.add_row(label, *(fmt.format(result.summary[mode][name]) for mode in ("stable", "welfare")))
        console.print(table)


@match_app.command("run")
def run(mode: Annotated[str, typer.Option(help="stable or welfare")] = "stable", act_as: ActAs = None,
        database_url: DatabaseUrl = None) -> None:
    """Run matching and offer each matched returnee their seat; prints the offers."""
    import sqlalchemy as sa

    from retorno.cases.models import Case
    from retorno.reintegration.models import Opportunity, Placement
    from retorno.reintegration.service import run_matching

    with refusals(), unit_of_work(settings(database_url)) as session:
        with console.status("matching…"):
            matching_run = run_matching(session, acting_user(session, act_as), mode=mode)
        offers = session.execute(
            sa.select(Placement.id, Case.reference, Opportunity.reference, Opportunity.title)
            .join(Case, Case.id == Placement.case_id).join(Opportunity, Opportunity.id == Placement.opportunity_id)
            .where(Placement.matching_run_id == matching_run.id).order_by(Case.reference)).all()
        table = Table("colocación / placement", "caso / case", "oportunidad / opportunity", "título / title")
        for placement_id, case_ref, opportunity_ref, title in offers:
            table.add_row(str(placement_id), case_ref, opportunity_ref, title)
        console.print(table)
        console.print(f"run {matching_run.id} ({mode}): {len(offers)} offers made", highlight=False)


@match_app.command("explain")
def explain(case: str, lang: Annotated[str, typer.Option(help="es or en")] = "es", act_as: ActAs = None,
            database_url: DatabaseUrl = None) -> None:
    """Why this opportunity and why not those ranked higher, from the case's latest matching offer."""
    import sqlalchemy as sa

    from retorno.cases.service import get_case
    from retorno.errors import NotFound
    from retorno.reintegration.models import Opportunity, Placement

    if lang not in ("es", "en"):
        raise typer.BadParameter("--lang is es or en")
    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        returnee = get_case(session, actor, case)
        placement = session.execute(
            sa.select(Placement).join(Opportunity, Opportunity.id == Placement.opportunity_id)
            .where(Placement.case_id == returnee.id, Placement.explanation.is_not(None),
                   Opportunity.operator_agency_id == actor.agency_id)
            .order_by(Placement.id.desc()).limit(1)).scalar_one_or_none()
        if placement is None or not placement.explanation:
            raise NotFound("case %(returnee)s has no matching offer of your agency to explain",
                           returnee=returnee.reference)
        why = placement.explanation
        reasons = ([why["assigned"]] if why.get("assigned") else []) + list(why.get("passed_over", []))
        ids = {r["opportunity"] for r in reasons}
        references = dict(session.execute(sa.select(Opportunity.id, Opportunity.reference)
                                          .where(Opportunity.id.in_(ids))).all()) if ids else {}
        table = Table("opción / choice", "oportunidad / opportunity", "motivo / reason",
                      title=f"{returnee.reference}: placement {placement.id} ({placement.status})",
                      title_justify="left")
        for reason in sorted(reasons, key=lambda r: r.get("choice") or 0):
            table.add_row(str(reason.get("choice") or ""), references.get(reason["opportunity"], "?"), reason[lang])
        console.print(table)


@placements_app.command("step")
def step(placement_id: int,
         status: Annotated[str, typer.Option(help="accepted, declined, started, completed or dropped")],
         on: Annotated[str | None, typer.Option(help="the day it happened, YYYY-MM-DD; default today")] = None,
         reason: Annotated[str | None, typer.Option(help="why (for declined, completed, dropped)")] = None,
         act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Move a placement along; starting it schedules the 3, 6 and 12-month follow-ups."""
    from retorno.reintegration.service import update_placement

    day = _day(on, "--on")
    with refusals(), unit_of_work(settings(database_url)) as session:
        placement = update_placement(session, acting_user(session, act_as), placement_id, status=status, on=day,
                                     reason=reason)
        console.print(f"placement {placement.id}: {placement.status}")


@placements_app.command("reopen")
def reopen(placement_id: int,
           reason: Annotated[str, typer.Option(help="why the end was recorded by mistake (at least 10 characters)")],
           version: VersionOption = None, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Take back a completion or a drop recorded by mistake (the operator's supervisor): started again, or accepted
    if it had not started."""
    from retorno.reintegration.service import reopen_placement

    with refusals(), unit_of_work(settings(database_url)) as session:
        placement = reopen_placement(session, acting_user(session, act_as), placement_id, reason=reason,
                                     expected_version=version)
        console.print(f"placement {placement.id}: {placement.status}")


@follow_ups_app.command("list")
def list_follow_ups(overdue: Annotated[bool, typer.Option("--overdue", help="only those past due")] = False,
                    act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The follow-ups of your placements still to do, oldest due first, with the day each may be recorded from."""
    from retorno.db import utcnow
    from retorno.reintegration.bounds import follow_up_opens
    from retorno.reintegration.service import follow_ups_due

    with refusals(), unit_of_work(settings(database_url)) as session:
        today = utcnow().date()
        table = Table("id", "caso / case", "meses / months", "vence / due", "se registra desde / recorded from",
                      "atrasado / overdue")
        for follow_up, case in follow_ups_due(session, acting_user(session, act_as), overdue_only=overdue):
            table.add_row(str(follow_up.id), case.reference, str(follow_up.months_after_start),
                          follow_up.due_on.isoformat(), follow_up_opens(follow_up.due_on).isoformat(),
                          "sí / yes" if follow_up.due_on < today else "")
        console.print(table)


@follow_ups_app.command("record")
def record_follow_up(
    follow_up_id: int,
    work: Annotated[str, typer.Option(help="in_placement, other_work, training or no_work")],
    income: Annotated[str, typer.Option(help="none, below_minimum, minimum or above_minimum")],
    housing: Annotated[str, typer.Option(help="stable, temporary or none")],
    household: Annotated[str, typer.Option(help="together, partly or separated")],
    wellbeing: Annotated[int, typer.Option(help="1 (bad) to 5 (good)")],
    intends_to_migrate: Annotated[str, typer.Option(help="no, unsure or yes")],
    notes: Annotated[str | None, typer.Option()] = None,
    act_as: ActAs = None, database_url: DatabaseUrl = None,
) -> None:
    """Record a follow-up questionnaire and its reintegration sustainability score."""
    from retorno.reintegration.service import record_follow_up as record

    answers: dict[str, Any] = {"work": work, "income": income, "housing": housing, "household": household,
                               "wellbeing": wellbeing, "intends_to_migrate": intends_to_migrate}
    if notes:
        answers["notes"] = notes
    with refusals(), unit_of_work(settings(database_url)) as session:
        follow_up = record(session, acting_user(session, act_as), follow_up_id, answers)
        console.print(f"follow-up {follow_up.id} ({follow_up.months_after_start} months) recorded; "
                      f"score {follow_up.score}", highlight=False)
