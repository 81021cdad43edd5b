"""Bulk actions: many people in one confirmation, each still one action through the service layer.

Each bulk action runs, once per person (or per household), the very action a single form runs, in
a savepoint of its own: the same safeguards decide and each person gets their own audit record.
`dry_run` runs it all and rolls it all back: a page states what will happen before it happens by
reading the outcome of the actions its confirmation will run. `all_or_nothing` refuses the whole
(`BulkRefused`, nothing written) when one person is refused; without it, the others go ahead and
each refusal is listed with the rule that stopped it.

A flight's manifest must rest in a state the rules allow after the whole run (the commit-time
guard, `travel.invariants`): a run that would leave it otherwise is refused as one, and its
preview says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from itertools import takewhile
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import safeguards
from retorno.agencies.models import User
from retorno.agencies.permissions import action, can
from retorno.agencies.visibility import ends_at_arrival, sees_protection
from retorno.cases import lifecycle as case_lifecycle
from retorno.cases.facts import births_elsewhere, traveller_facts
from retorno.cases.models import Case
from retorno.cases.schemas import household_shown
from retorno.cases.service import assign_case
from retorno.errors import InvalidTransition, Message, RetornoError, SafeguardViolation
from retorno.flights import lifecycle as flight_lifecycle
from retorno.flights.airports import children_day
from retorno.flights.models import Flight
from retorno.flights.service import (
    active_passengers,
    add_passengers,
    decide_passenger,
    manifest_open,
    record_boarding,
)
from retorno.reasons import written_reason
from retorno.travel.invariants import manifest_violations, rolled_back_after

Item = TypeVar("Item")

# People of a household still to travel: members in these states go on the manifest together.
STILL_TO_TRAVEL = ("registered", "screened", "verification_requested", "verified", "documented", "ready",
                   "manifested")


@dataclass(frozen=True)
class Outcome:
    """What the action did for one person (or household): done, or refused and why.

    `also` names the others the action moved with them (household members taken off or added);
    `along_with` the person whose action already took this one along; `instead` what was done
    instead of the action for a person it refused ("rejected").
    """

    reference: str
    done: bool
    refusal: RetornoError | None = None
    also: tuple[str, ...] = ()
    along_with: str | None = None
    instead: str | None = None


@dataclass
class BulkResult:
    """The outcome of a bulk action, person by person, and whether anything was written."""

    action: str
    outcomes: list[Outcome]
    dry_run: bool
    all_or_nothing: bool
    # What the flight's manifest would still break after the run (then nothing is written).
    blocking: list[safeguards.Violation] = field(default_factory=list)
    # The households the selection found but left out, for want of room within its limit (why, in words).
    left_off: list[tuple[str, Message]] = field(default_factory=list)

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.done]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.done]

    @property
    def allowed(self) -> bool:
        """Whether the run may be written: nothing breaks the manifest, and no refusal stops an all-or-nothing."""
        return not self.blocking and not (self.all_or_nothing and self.refused)

    @property
    def would_apply(self) -> bool:
        """Whether the run writes anything when confirmed as it is (a dry run that would do nothing says so)."""
        return bool(self.done) and self.allowed

    @property
    def applied(self) -> bool:
        return not self.dry_run and self.allowed


class BulkRefused(RetornoError):
    """An all-or-nothing bulk action with a refusal (or a manifest left breaking a rule): nothing was written."""

    status = 409
    code = "bulk_refused"

    def __init__(self, result: BulkResult, *, reads_protection: bool = True) -> None:
        """`reads_protection`: whether the reader may be told which protection concern stops a person."""
        refused = result.refused
        parts = [reason for o in refused for reason in _refusal_reasons(o, reads_protection)]
        blocking = [safeguards.as_told(v, reads_protection=reads_protection).sentence for v in result.blocking]
        super().__init__("nothing was done: %(reasons)s",
                         details={"refused": [o.reference for o in refused], "blocking": [str(b) for b in blocking]},
                         reasons=parts + blocking)
        self.result = result


def _refusal_reasons(outcome: Outcome, reads_protection: bool) -> list[Message]:
    """Why one person was refused: each broken rule (naming its case), or the refusal said of the person."""
    refusal = outcome.refusal
    if refusal is None:
        return []
    if isinstance(refusal, SafeguardViolation) and refusal.violations:
        return [safeguards.as_told(v, reads_protection=reads_protection).sentence for v in refusal.violations]
    return [Message("case %(case)s: %(refusal)s", {"case": outcome.reference, "refusal": list(refusal.parts)})]


def _run(session: Session, name: str, items: Iterable[Item], act: Callable[[Item], Outcome | None], *,
         dry_run: bool, all_or_nothing: bool, flight: Flight | None = None, passengers_per_escort: int = 0
         ) -> BulkResult:
    """Run `act` on each item in its own savepoint (an item it answers None for is left out, neither done nor
    refused); roll everything back for a dry run or a refused whole."""
    outcomes: list[Outcome] = []
    with ExitStack() as stack:
        if dry_run:
            stack.enter_context(rolled_back_after(session))
        whole = session.begin_nested()
        for item in items:
            try:
                with session.begin_nested():
                    outcome = act(item)
                if outcome is not None:
                    outcomes.append(outcome)
            except RetornoError as exc:
                outcomes.append(_refused(item, exc))
        result = BulkResult(name, outcomes, dry_run, all_or_nothing)
        if flight is not None and result.done:
            result.blocking = manifest_violations(session, flight, passengers_per_escort)
        if dry_run or not result.applied:
            whole.rollback()
        else:
            whole.commit()
    if not dry_run and not result.applied:
        if result.blocking and not (all_or_nothing and result.refused):
            raise SafeguardViolation(result.blocking)
        raise BulkRefused(result)
    return result


def _refused(item: object, exc: RetornoError) -> Outcome:
    reference = item.reference if isinstance(item, Case) else str(getattr(item, "key", item))
    return Outcome(reference, False, exc)


def _decisions_open(flight: Flight) -> None:
    """A bulk decision on a locked manifest can do nothing (every passenger is decided, and taking one off is a
    locked change): refused whole, 409 `manifest_locked`, as every door answers that rule (red team round 6, F8)."""
    if flight.state == "manifest_locked":
        raise InvalidTransition("flight %(flight)s: its manifest is locked, so its passengers are no longer approved "
                                "or rejected; taking one off needs a supervisor of each side (locked changes)",
                                code="manifest_locked", flight=flight.reference)


@action("manifest.decide")
def approve_all(session: Session, actor: User, flight: Flight, *, passengers_per_escort: int,
                cases: Sequence[Case] | None = None, reject_reason: str | None = None,
                all_or_nothing: bool = False, dry_run: bool = False) -> BulkResult:
    """The receiving side approves every proposed passenger who can be approved (or those of `cases`).

    Who cannot be approved is found by the rule approval itself applies (`safeguards.may_be_approved`)
    and is never approved; with `reject_reason` they are rejected with it in the same run (with the
    household members who cannot travel without them), so the manifest rests in a state the rules allow.
    """
    _decisions_open(flight)
    if reject_reason is not None:
        reject_reason = written_reason(reject_reason)
    chosen = None if cases is None else {c.id for c in cases}
    rows = [(p, c) for p, c in active_passengers(session, flight)
            if p.approval == "proposed" and (chosen is None or c.id in chosen)]
    facts = traveller_facts(session, [c for _, c in rows])
    departure = flight.departure_utc.date()
    state = flight.receiving_agency.country
    stopped = {c.id for _, c in rows
               if safeguards.may_be_approved(facts[c.id], departure, state, flight=flight.reference)}
    order = [c for _, c in rows if c.id in stopped] + [c for _, c in rows if c.id not in stopped]
    gone: dict[str, str] = {}

    def decide(case: Case) -> Outcome:
        if case.reference in gone:
            return Outcome(case.reference, False, None, along_with=gone[case.reference])
        if case.id in stopped and reject_reason:
            # The refusal approval gives is what the reader is told; then the rejection.
            refusal = SafeguardViolation(safeguards.may_be_approved(facts[case.id], departure, state,
                                                                    flight=flight.reference))
            leaving = decide_passenger(session, actor, flight, case, approve=False, reason=reject_reason)
            gone.update({ref: case.reference for ref in leaving if ref != case.reference})
            return Outcome(case.reference, False, refusal, tuple(r for r in leaving if r != case.reference),
                           instead="rejected")
        decide_passenger(session, actor, flight, case, approve=True)
        return Outcome(case.reference, True)

    return _run(session, "approve", order, decide, dry_run=dry_run, all_or_nothing=all_or_nothing, flight=flight,
                passengers_per_escort=passengers_per_escort)


@action("manifest.decide")
def reject_selection(session: Session, actor: User, flight: Flight, cases: Sequence[Case], *, reason: str,
                     passengers_per_escort: int, all_or_nothing: bool = True, dry_run: bool = False) -> BulkResult:
    """The receiving side rejects the chosen passengers with one reason, each a decision of its own."""
    _decisions_open(flight)
    reason = written_reason(reason)
    gone: dict[str, str] = {}

    def reject(case: Case) -> Outcome:
        if case.reference in gone:
            return Outcome(case.reference, True, along_with=gone[case.reference])
        leaving = decide_passenger(session, actor, flight, case, approve=False, reason=reason)
        gone.update({ref: case.reference for ref in leaving if ref != case.reference})
        return Outcome(case.reference, True, also=tuple(r for r in leaving if r != case.reference))

    return _run(session, "reject", list(cases), reject, dry_run=dry_run, all_or_nothing=all_or_nothing,
                flight=flight, passengers_per_escort=passengers_per_escort)


@action("boarding.record")
def board_together(session: Session, actor: User, flight: Flight, cases: Sequence[Case], *,
                   window: flight_lifecycle.DepartureWindow, reason: str | None = None,
                   dry_run: bool = False) -> BulkResult:
    """Board a household (or any group) together: adults first, so a child boards with them; all or nothing."""
    departure = children_day(flight)
    # Adults first by both birth dates a person may have (`safeguards.counts_as_minor`): a minor by the registry
    # boards after the household's adults, as the boarding check asks.
    registry = births_elsewhere(session, [c.id for c in cases])
    ordered = sorted(cases, key=lambda c: (safeguards.counts_as_minor(c.birth_date, registry.get(c.id), departure),
                                           c.birth_date, c.id))

    def board(case: Case) -> Outcome:
        record_boarding(session, actor, flight, case, status="boarded", window=window, reason=reason)
        return Outcome(case.reference, True)

    return _run(session, "board", ordered, board, dry_run=dry_run, all_or_nothing=True)


@action("case.assign")
def assign(session: Session, actor: User, cases: Sequence[Case], officer: User | None, *,
           all_or_nothing: bool = False, dry_run: bool = False) -> BulkResult:
    """Give the chosen cases to an official of the actor's agency (None: to nobody), one audit record each."""

    def give(case: Case) -> Outcome:
        assign_case(session, actor, case, officer)
        return Outcome(case.reference, True)

    return _run(session, "assign", list(cases), give, dry_run=dry_run, all_or_nothing=all_or_nothing)


@dataclass(frozen=True)
class HouseholdGroup:
    """The people who go on a manifest together: a household's members still to travel, or one person."""

    key: str
    cases: tuple[Case, ...]
    # The ids of those of `cases` the selection chose (the others are the household's, taken along).
    chosen: frozenset[int] = frozenset()


# A selection with a limit of people looks at this many ready cases per person of the limit, at most: households it
# refuses leave their room to the next ones (red team round 74, F1), and the looking stays bounded.
SELECTION_SCAN = 3
# A selection adds at most this many people at once (an aircraft's seats, with room to spare).
SELECTION_LIMIT = 900


def households_of(session: Session, cases: Sequence[Case], *, reader_agency: str = "") -> list[HouseholdGroup]:
    """The selection as whole households, in the selection's order: each household once, with every member still
    to travel, chosen or not; a member who is not ready stays in the group, for the safeguards to name."""
    groups: list[HouseholdGroup] = []
    seen: set[int] = set()
    members_of: dict[int, list[Case]] = {}
    household_ids = sorted({c.household_id for c in cases if c.household_id is not None})
    for start in range(0, len(household_ids), 500):
        chunk = household_ids[start:start + 500]
        for member in session.execute(sa.select(Case).where(Case.household_id.in_(chunk)).order_by(Case.id)).scalars():
            members_of.setdefault(member.household_id or 0, []).append(member)
    for case in cases:
        if case.id in seen:
            continue
        if case.household_id is None:
            members = [case]
            key = case.reference
        else:
            members = [m for m in members_of.get(case.household_id, [case]) if m.state in STILL_TO_TRAVEL or m is case]
            # Named as the reader (of agency code `reader_agency`) is told it: two agencies' households may share a
            # code (red team round 16, N1).
            key = (household_shown(reader_agency, case.agency.code, case.household.reference) or case.reference
                   if case.household is not None else case.reference)
        seen.update(m.id for m in members)
        seen.add(case.id)
        groups.append(HouseholdGroup(key, tuple(members)))
    chosen = {c.id for c in cases}
    return [replace(g, chosen=frozenset(m.id for m in g.cases if m.id in chosen)) for g in groups]


@action("manifest.propose")
def add_households(session: Session, actor: User, flight: Flight, groups: Sequence[HouseholdGroup], *,
                   passengers_per_escort: int, lock_hours: int, limit: int | None = None,
                   all_or_nothing: bool = False, dry_run: bool = False) -> BulkResult:
    """Put whole households on a flight's manifest, one `add_passengers` (and one audit record a person) each, in
    the selection's order, up to `limit` people added.

    Only the people added count against the limit: a household the safeguards refuse leaves its room to the next
    (red team round 74, F1: refused households used it up, and the answer said others were left out for want of
    room). One that would add more people than the room left is left out whole, and named with why (round 73, F4);
    once no room is left, the rest are not tried. On a manifest no longer open to the sending side it can do
    nothing: refused whole (409 `manifest_locked`)."""
    manifest_open(actor, flight, lock_hours)
    on_board = {c.id for _, c in active_passengers(session, flight)}
    room = limit
    left_off: list[tuple[str, Message]] = []

    def add(group: HouseholdGroup) -> Outcome | None:
        nonlocal room
        # Members not ready stay off: the safeguards then name the household they would split. One the selection
        # chose that is not ready is put forward all the same, for the rule that stops it to be named (red team round
        # 75, F2: a person held by an open concern, chosen, was refused as 'family unity, capacity').
        adding = [c for c in group.cases if c.id not in on_board and (c.state == "ready" or c.id in group.chosen)]
        with session.begin_nested() as trial:
            if adding:
                add_passengers(session, actor, flight, adding, passengers_per_escort=passengers_per_escort,
                               lock_hours=lock_hours)
            if room is not None and len(adding) > room:
                trial.rollback()
                left_off.append((group.key, Message(
                    "household %(subject)s left out: people it would add: %(people)s; room left within the "
                    "selection's limit: %(room)s (limit: %(limit)s)",
                    {"subject": group.key, "people": len(adding), "room": room, "limit": limit})))
                return None
        if room is not None:
            room -= len(adding)
        return Outcome(group.key, True, also=tuple(c.reference for c in adding))

    result = _run(session, "add", takewhile(lambda _group: room is None or room > 0, groups), add,
                  dry_run=dry_run, all_or_nothing=all_or_nothing, flight=flight,
                  passengers_per_escort=passengers_per_escort)
    result.left_off = left_off
    return result


def told(reader: User, violation: safeguards.Violation) -> Message:
    """A broken rule as `reader` may read it: protection details only to those who read screenings
    (the receiving state learns that the screening is not cleared, never why)."""
    return safeguards.as_told(violation, reads_protection=can(reader, "screening.read_details")).sentence


def reasons_told(reader: User, refusal: RetornoError) -> list[tuple[str, Message]]:
    """(rule, sentence) of each reason of a refusal, as `reader` may read them (the code when no rule)."""
    if isinstance(refusal, SafeguardViolation) and refusal.violations:
        return [(v.rule, told(reader, v)) for v in refusal.violations]
    # Each person's refusal tells their state as the reader is told it everywhere else (after arrival, to the
    # sending side, 'arrived'), as a whole refusal does (`web.refusals.told_to`).
    refusal = case_lifecycle.states_told_to(refusal, reads_protection=sees_protection(reader),
                                            ends_at_arrival=ends_at_arrival(reader))
    return [(refusal.code, part) for part in refusal.parts]


def seats_left(session: Session, flight: Flight) -> int:
    """Seats of `flight` not taken by its staff or by a passenger already on its manifest."""
    return max(0, flight.seats - flight.escorts - flight.medical_staff - len(active_passengers(session, flight)))
