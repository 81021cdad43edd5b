"""Operator commands for flights: propose to arrival bulletin, the flight's documents, and the manifest planner."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from retorno.cli.common import (
    ActAs,
    DatabaseUrl,
    acting_user,
    console,
    key_value_table,
    refusals,
    settings,
    unit_of_work,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from retorno.agencies.models import User
    from retorno.cases.models import Case
    from retorno.flights.models import Flight

flights_app = typer.Typer(help="Return flights: propose, accept, manifest, approve, lock, board, depart, arrive.",
                          no_args_is_help=True)

Reason = Annotated[str, typer.Option(help="the written reason (kept on the audit trail)")]


def register(app: typer.Typer) -> None:
    app.add_typer(flights_app, name="flights")
    app.command("plan")(plan)


def _instant(value: str, airport: str, option: str) -> datetime:
    """An ISO time: with an offset as given, without one as the wall-clock time at `airport`."""
    from retorno.flights import airports
    from retorno.plaintext import iso_moment  # its day YYYY-MM-DD only, as at every door
    try:
        moment = iso_moment(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{option} takes an ISO time such as 2023-12-30T09:00, not {value!r}") from exc
    return airports.typed_at(moment, airport)


def _case(session: Session, actor: User, flight: Flight, reference: str) -> Case:
    """A case by reference; a carrier reaches passengers through the flight's manifest only
    (`outputs.manifest_cases`)."""
    from retorno.cases.service import get_case
    from retorno.flights.outputs import manifest_cases
    if actor.agency.kind == "carrier":
        return manifest_cases(session, actor, flight, [reference])[0]
    return get_case(session, actor, reference)


def _state_line(session: Session, flight: Flight) -> str:
    from retorno.flights.service import manifest_state_of

    return f"flight [bold]{flight.reference}[/bold] ({flight.flight_number}): {flight.state}, manifest " \
           f"{manifest_state_of(session, flight)}"


@flights_app.command("propose")
def propose(number: Annotated[str, typer.Option("--number", help="flight number, e.g. 'V0 3101'")],
            receiving: Annotated[str, typer.Option(help="the receiving authority's agency code")],
            carrier: Annotated[str, typer.Option(help="the carrier's agency code")],
            seats: Annotated[int, typer.Option(help="aircraft seats")],
            origin: Annotated[str, typer.Option(help="IATA code of the origin airport")],
            destination: Annotated[str, typer.Option(help="IATA code of the destination airport")],
            departure: Annotated[str, typer.Option(help="ISO time; without an offset, local time at the origin")],
            arrival: Annotated[str, typer.Option(
                help="ISO time; without an offset, local time at the destination")],
            escorts: Annotated[int, typer.Option(help="escorts on board")],
            medical_staff: Annotated[int, typer.Option(help="medical staff on board")] = 0,
            act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The sending side proposes a return flight to the receiving side."""
    from retorno.flights.service import FlightInput, propose_flight

    with refusals():
        data = FlightInput(flight_number=number, receiving_agency=receiving, carrier=carrier, seats=seats,
                           origin=origin.upper(), destination=destination.upper(),
                           departure_utc=_instant(departure, origin, "--departure"),
                           arrival_utc=_instant(arrival, destination, "--arrival"), escorts=escorts,
                           medical_staff=medical_staff)
        with unit_of_work(settings(database_url)) as session:
            flight = propose_flight(session, acting_user(session, act_as), data)
            console.print(_state_line(session, flight))


@flights_app.command("list")
def list_flights(act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The flights your agency takes part in, by departure."""
    from retorno.flights.models import Flight
    from retorno.flights.service import manifest_state_of, visible_flights

    with refusals(), unit_of_work(settings(database_url)) as session:
        flights = session.execute(visible_flights(acting_user(session, act_as))
                                  .order_by(Flight.departure_utc)).scalars().all()
        table = Table("vuelo / flight", "número / number", "ruta / route", "salida UTC / departure UTC",
                      "estado / state", "manifiesto / manifest", "asientos / seats")
        for f in flights:
            table.add_row(f.reference, f.flight_number, f"{f.origin}-{f.destination}",
                          f.departure_utc.isoformat(timespec="minutes"), f.state,
                          manifest_state_of(session, f), str(f.seats))
        console.print(table)


def _flight_step(reference: str, act_as: str | None, database_url: str | None, step: str, *,
                 at: str | None = None, reason: str | None = None) -> None:
    """Run one whole-flight action that needs nothing but the flight, the settings and when it happened."""
    from retorno.flights import lifecycle, service

    config = settings(database_url)
    with refusals(), unit_of_work(config) as session:
        actor = acting_user(session, act_as)
        flight = service.get_flight(session, actor, reference)
        if step == "accept":
            service.accept_flight(session, actor, flight)
        elif step == "propose-manifest":
            service.propose_manifest(session, actor, flight, passengers_per_escort=config.passengers_per_escort)
        elif step == "lock":
            service.lock_manifest(session, actor, flight, passengers_per_escort=config.passengers_per_escort)
        elif step == "depart":
            service.depart(session, actor, flight, window=lifecycle.DepartureWindow.of(config), reason=reason,
                           at=_instant(at, flight.origin, "--at") if at else None)
        else:
            service.record_landing(session, actor, flight,
                                   at=_instant(at, flight.destination, "--at") if at else None)
        console.print(_state_line(session, flight))


@flights_app.command("accept")
def accept(flight: str, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The receiving side grants landing permission."""
    _flight_step(flight, act_as, database_url, "accept")


@flights_app.command("propose-manifest")
def propose_manifest(flight: str, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Send the manifest to the receiving side for approval, passenger by passenger (every safeguard checked)."""
    _flight_step(flight, act_as, database_url, "propose-manifest")


@flights_app.command("lock")
def lock(flight: str, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Lock the manifest: every passenger decided and every safeguard holding for the approved set."""
    _flight_step(flight, act_as, database_url, "lock")


At = Annotated[str | None, typer.Option(
    "--at", help="when it happened, ISO time (without an offset: local time at the airport); default now")]


@flights_app.command("depart")
def depart(flight: str, at: At = None,
           reason: Annotated[str | None, typer.Option(
               help="a supervisor's written reason to depart outside the window around the scheduled time")] = None,
           act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Close the door: every approved passenger has a boarding status and the boarded set is safe."""
    _flight_step(flight, act_as, database_url, "depart", at=at, reason=reason)


@flights_app.command("land")
def land(flight: str, at: At = None, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The receiving side records that the aircraft landed (at the destination airport)."""
    _flight_step(flight, act_as, database_url, "land", at=at)


@flights_app.command("add")
def add(flight: str, cases: Annotated[list[str], typer.Argument(help="case references")],
        act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Put ready cases on a flight's manifest."""
    from retorno.cases.service import get_case
    from retorno.flights import service

    config = settings(database_url)
    with refusals(), unit_of_work(config) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        service.add_passengers(session, actor, target, [get_case(session, actor, ref) for ref in cases],
                               passengers_per_escort=config.passengers_per_escort,
                               lock_hours=config.lock_hours_before_departure)
        console.print(f"{len(cases)} added; {len(service.active_passengers(session, target))} on the manifest of "
                      f"{target.reference}")


@flights_app.command("remove")
def remove(flight: str, case: str, reason: Reason, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Take a case off a manifest (after locking, a supervisor of each side must have authorised it)."""
    from retorno.cases.service import get_case
    from retorno.flights import service

    config = settings(database_url)
    with refusals(), unit_of_work(config) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        passenger = get_case(session, actor, case)
        service.remove_passenger(session, actor, target, passenger, reason=reason,
                                 lock_hours=config.lock_hours_before_departure)
        console.print(f"case {passenger.reference} removed from {target.reference}; case state {passenger.state}")


@flights_app.command("decide")
def decide(flight: str, case: str,
           approve: Annotated[bool, typer.Option("--approve/--reject", help="approve or reject the passenger")],
           reason: Annotated[str | None, typer.Option(help="required to reject")] = None,
           act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The receiving side approves or rejects one passenger of a proposed manifest."""
    from retorno.cases.service import get_case
    from retorno.flights import service

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        passenger = get_case(session, actor, case)
        service.decide_passenger(session, actor, target, passenger, approve=approve, reason=reason)
        console.print(f"case {passenger.reference} {'approved' if approve else 'rejected'} on {target.reference}")


@flights_app.command("authorise-change")
def authorise_change(flight: str, case: str, reason: Reason, act_as: ActAs = None,
                     database_url: DatabaseUrl = None) -> None:
    """A supervisor of one side consents to removing a passenger from a locked manifest (both sides needed)."""
    from retorno.cases.service import get_case
    from retorno.flights import service

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        service.authorise_locked_change(session, actor, target, get_case(session, actor, case), change="remove",
                                        reason=reason)
        console.print(f"removal of {case} from {target.reference} authorised by {actor.agency.code}")


@flights_app.command("board")
def board(flight: str, case: str,
          status: Annotated[str, typer.Option(help="boarded, no_show or refused")] = "boarded",
          reason: Annotated[str | None, typer.Option(
              help="required when boarding is refused or when a no-show takes off household members already "
                   "boarded; no reason lets anything be recorded before the boarding window opens")] = None,
          act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """At the aircraft door: boarded, no-show or refused boarding (protection is checked again)."""
    from retorno.flights import lifecycle, service

    config = settings(database_url)
    with refusals(), unit_of_work(config) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        passenger = _case(session, actor, target, case)
        outcome = service.record_boarding(session, actor, target, passenger, status=status, reason=reason,
                                          window=lifecycle.DepartureWindow.of(config))
        console.print(f"case {passenger.reference}: {status} on {target.reference}")
        if outcome.taken_off:
            console.print(f"taken off the manifest with their household: {', '.join(outcome.taken_off)}")
        if outcome.deboard:
            console.print(f"boarded already, they must leave the aircraft: {', '.join(outcome.deboard)}")


@flights_app.command("deboard")
def deboard(flight: str, cases: Annotated[list[str], typer.Argument(help="the cases that left the aircraft")],
            act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """At the aircraft door: record that people taken off the manifest after boarding have left the aircraft (the
    sending side or the carrier); the flight departs once nobody is left to record."""
    from retorno.flights import service

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        done = service.confirm_deboarding(session, actor, target,
                                          service.deboarding_cases(session, actor, target, cases))
        console.print(f"recorded off the aircraft of {target.reference}: {', '.join(done)}")
        for person in service.must_leave_aircraft(session, actor, target):
            console.print(f"still to leave the aircraft: {person['case']} {escape(person['given_names'] or '')} "
                          f"{escape(person['surnames'] or '')}, seat {person['seat'] or '-'}", soft_wrap=True)


@flights_app.command("correct-no-show")
def correct_no_show(flight: str, case: str,
                    reason: Annotated[str, typer.Option(help="why the no-show was recorded by mistake (at least 10 "
                                                        "characters)")],
                    act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """A sending side's supervisor corrects a no-show recorded by mistake, before the flight departs: the case is back
    in line, to be put on a manifest and approved again (never back on the flight by this step)."""
    from retorno.cases.service import get_case
    from retorno.flights import no_show, service

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        person = get_case(session, actor, case)
        no_show.correct_no_show(session, actor, target, person, reason=reason)
        console.print(f"case {person.reference}: no-show on {target.reference} corrected; the case is "
                      f"'{person.state}'")


@flights_app.command("arrive")
def arrive(flight: str, cases: Annotated[list[str], typer.Argument(help="case references received")],
           act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The receiving side confirms, person by person, who was received at the destination airport."""
    from retorno.cases.service import get_case
    from retorno.flights import service

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        for reference in cases:
            service.confirm_arrival(session, actor, target, get_case(session, actor, reference))
        count = service.arrival_count(session, target)
        console.print(f"{len(cases)} confirmed received; {count.received} of {count.boarded} boarded on "
                      f"{target.reference}")


@flights_app.command("explain-difference")
def explain_difference(flight: str, reason: Reason, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Record why the count received differs from the count boarded."""
    from retorno.flights import service

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        service.explain_discrepancy(session, actor, target, explanation=reason)
        console.print(f"explanation recorded for {target.reference}")


@flights_app.command("show")
def show(flight: str, act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """A flight, its passengers, and the count boarded against the count received (flagged if they differ)."""
    from retorno.flights import airports, outputs, service

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        count = service.arrival_count(session, target)
        flag = ("not landed yet" if not count.under_way else "[red]FLAGGED[/red]" if count.flagged
                else f"explained: {escape(count.explanation or '')}" if count.difference else "ok")
        console.print(key_value_table(f"vuelo / flight {target.reference}", {
            "flight_number": target.flight_number, "state": target.state,
            "manifest": service.manifest_state_of(session, target),
            "route": f"{target.origin} → {target.destination}",
            "departure (local)": airports.to_local(target.departure_utc, target.origin).isoformat(timespec="minutes"),
            "arrival (local)": airports.to_local(target.arrival_utc, target.destination).isoformat(
                timespec="minutes"),
            "departed (local)": airports.to_local(target.actual_departure_utc, target.origin).isoformat(
                timespec="minutes") if target.actual_departure_utc else "—",
            "landed (local)": airports.to_local(target.actual_arrival_utc, target.destination).isoformat(
                timespec="minutes") if target.actual_arrival_utc else "—",
            "sending / receiving / carrier": f"{target.sending_agency.code} / {target.receiving_agency.code} / "
                                             f"{target.carrier.code}",
            "seats / escorts / medical staff": f"{target.seats} / {target.escorts} / {target.medical_staff}",
            "accepted with escorts / medical staff": "—" if target.accepted_escorts is None
            else f"{target.accepted_escorts} / {target.accepted_medical_staff}",
        }))
        table = Table("caso / case", "nombre / name", "asiento / seat", "aprobación / approval",
                      "embarque / boarding", "llegada / arrival")
        if actor.agency.kind == "carrier":
            for listed in outputs.load_manifest(session, actor, target).passengers:
                table.add_row(listed.case_reference, f"{listed.given_names} {listed.surnames}", listed.seat or "",
                              "approved", "", "")
        else:
            for p, c in service.active_passengers(session, target):
                table.add_row(c.reference, c.full_name, p.seat or "", p.approval, p.boarding, p.arrival or "")
        console.print(table)
        if actor.agency.kind in ("sending_authority", "carrier"):
            # Off the manifest, still in their seats until recorded off the aircraft (`retorno flights deboard`).
            for person in service.must_leave_aircraft(session, actor, target):
                console.print(f"must leave the aircraft (not yet recorded off it): {person['case']} "
                              f"{escape(person['given_names'] or '')} {escape(person['surnames'] or '')}, "
                              f"seat {person['seat'] or '-'}", soft_wrap=True)
        console.print(f"boarded {count.boarded}, received {count.received}, difference {count.difference}: {flag}")


@flights_app.command("paxlst")
def paxlst(flight: str, out: Annotated[Path, typer.Option(help="where to write the EDIFACT message")],
           act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Write the UN/EDIFACT PAXLST passenger list of a locked flight."""
    from retorno.flights import outputs, service

    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        message = outputs.paxlst_message(session, actor, service.get_flight(session, actor, flight))
    out.write_text(message, encoding="ascii")
    console.print(f"PAXLST written to {out}")


@flights_app.command("manifest")
def manifest(flight: str, pdf: Annotated[Path | None, typer.Option(help="write the printable manifest here")] = None,
             csv: Annotated[Path | None, typer.Option(help="write the manifest as CSV here")] = None,
             lang: Annotated[str, typer.Option(help="es or en")] = "es",
             act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Write the locked manifest as PDF and/or CSV."""
    from retorno.flights import outputs, service

    if pdf is None and csv is None:
        raise typer.BadParameter("give --pdf, --csv or both")
    with refusals(), unit_of_work(settings(database_url)) as session:
        actor = acting_user(session, act_as)
        target = service.get_flight(session, actor, flight)
        printable = outputs.manifest_pdf(session, actor, target, lang) if pdf else None
        table = outputs.manifest_csv(session, actor, target, lang) if csv else None
    if pdf and printable is not None:
        pdf.write_bytes(printable)
        console.print(f"manifest PDF written to {pdf}")
    if csv and table is not None:
        csv.write_text(table, encoding="utf-8")
        console.print(f"manifest CSV written to {csv}")


@flights_app.command("bulletin")
def bulletin(flight: str, lang: Annotated[str | None, typer.Option(help="es or en; default: both")] = None,
             act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """The public sentence for an arrived flight, counting the people confirmed received."""
    from retorno.flights import outputs, service

    with refusals(), unit_of_work(settings(database_url)) as session:
        target = service.get_flight(session, acting_user(session, act_as), flight)
        for language in ([lang] if lang else ["es", "en"]):
            console.print(outputs.flight_bulletin(session, target, language), highlight=False)


def plan(flights: Annotated[str, typer.Option(help="accepted flight references, comma-separated")],
         apply: Annotated[bool, typer.Option("--apply", help="put the plan on the manifests")] = False,
         time_limit: Annotated[float, typer.Option(help="seconds the solver may take")] = 20.0,
         act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Plan manifests over the ready cases (HiGHS): objective, bound, gap, households per flight, who is left off."""
    from retorno.flights import plan_service

    references = [ref.strip() for ref in flights.split(",") if ref.strip()]
    config = settings(database_url)
    with refusals(), unit_of_work(config) as session:
        actor = acting_user(session, act_as)
        with console.status("planning manifests…"):
            view = plan_service.propose_plan(session, actor, references, config, time_limit=time_limit)
        result = view.result
        console.print(f"objective {result.objective:,.0f} (greedy {result.greedy_objective:,.0f}), "
                      f"bound {result.bound:,.0f}, gap {result.gap:.2%}, {result.status}, "
                      f"{result.seconds:.1f} s", highlight=False)
        console.print(result.objective_description, markup=False, highlight=False)
        households = _households(session, view.manifests)
        table = Table("vuelo / flight", "pasajeros / passengers", "escoltas / escorts", "médicos / medical",
                      "hogares / households")
        for reference in references:
            cases = view.manifests.get(reference, [])
            table.add_row(reference, str(len(cases)), str(view.escorts.get(reference, 0)),
                          str(view.medical_staff.get(reference, 0)),
                          "; ".join(households.get(reference, [])))
        console.print(table)
        if view.left_off:
            left = Table("caso / case", "motivo / reason", "detalle / detail", title="left off / fuera del plan",
                         title_justify="left")
            for case_ref, (code, message) in sorted(view.left_off.items()):
                left.add_row(case_ref, code, str(message))
            console.print(left)
        if apply:
            plan_service.apply_plan(session, actor, view.manifests, config, escorts=view.escorts,
                                    medical_staff=view.medical_staff)
            console.print(f"[green]applied[/green]: {sum(len(c) for c in view.manifests.values())} cases put on "
                          f"{len(view.manifests)} manifests")


def _households(session: Session, manifests: dict[str, list[str]]) -> dict[str, list[str]]:
    """Per flight, each household as 'HOUSEHOLD: CASE, CASE' (a case alone by its reference)."""
    import sqlalchemy as sa

    from retorno.agencies.models import Agency
    from retorno.cases.facts import household_key
    from retorno.cases.models import Case, Household
    wanted = [ref for refs in manifests.values() for ref in refs]
    # Qualified by the agency ('MX-SRE/H00424'): a plan may put two agencies' households of one code on a flight.
    names = {case: household_key(agency, household) if household else None
             for case, household, agency in session.execute(
                 sa.select(Case.reference, Household.reference, Agency.code)
                 .join(Agency, Agency.id == Case.agency_id).outerjoin(Household, Household.id == Case.household_id)
                 .where(Case.reference.in_(wanted))).all()} if wanted else {}
    out: dict[str, list[str]] = {}
    for flight, refs in manifests.items():
        grouped: dict[str, list[str]] = {}
        for ref in refs:
            grouped.setdefault(names.get(ref) or ref, []).append(ref)
        out[flight] = [f"{h}: {', '.join(members)}" if members != [h] else h for h, members in grouped.items()]
    return out
