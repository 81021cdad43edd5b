"""Actions whose consequences cross domains: the one way in for each of them, from every door.

A new protection concern, a changed identity, a new travel document or a withdrawal all
change whether a person may stay on a manifest. The domain packages below record the change
itself (`screening`, `cases`, `documents`, `verification`); this module, above them and above
`flights`, owns the consequence: the person (with their household) taken off every manifest
of a flight not yet flown, with an alert to both sides. Imports run the same actions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from retorno import identifiers
from retorno.agencies.models import User
from retorno.agencies.permissions import END_OF_STEP, STEP_WORK, acting, action, in_step, reader
from retorno.agencies.visibility import followed_after
from retorno.audit.service import record
from retorno.audit.versions import IMPORTED, AuditObject, check_version
from retorno.cases import lifecycle
from retorno.cases.facts import (
    births_elsewhere,
    counted_together,
    current_documents,
    open_concern_codes,
    own_medical_escorts,
    protection_status,
    records_alike,
    same_person,
    traveller_facts,
)
from retorno.cases.models import Case, Household, cedula_digits, national_id_digits
from retorno.cases.service import (
    HEADS,
    HOUSEHOLD_REACTIONS,
    LINKED_RECORD_REACTIONS,
    NOT_NATIONAL_REACTIONS,
    REGISTRY_DATE_REACTIONS,
    VERIFIED_REACTIONS,
    CaseInput,
    advance,
    change_fields,
    ensure_owner,
    household_for,
    household_members,
    identity_changed,
    relationship_code,
    transition,
)
from retorno.cases.service import register_case as register_in_cases
from retorno.db import among, utcnow
from retorno.documents import service as documents
from retorno.documents.models import TravelDocument
from retorno.errors import Forbidden, InvalidInput, InvalidTransition, Message, Term
from retorno.flights.models import ACTIVE_APPROVALS, NOT_YET_FLOWN_STATES, Flight, HouseholdSplit, Passenger
from retorno.flights.service import (
    LEAVING,
    SEATS_LEFT_REACTIONS,
    lower_counted_needs,
    take_off_for_higher_needs,
    take_off_manifests,
)
from retorno.reasons import written_reason
from retorno.safeguards import STAYING_BEHIND, counts_as_minor, is_minor
from retorno.screening import service as screening
from retorno.screening.models import BestInterestsDetermination, Screening
from retorno.travel import (
    duplicates,  # its reaction (a possible duplicate's concern holds a passenger), its flagging
    households,
    seats,
)
from retorno.travel.invariants import TOUCHED_CASES, TOUCHED_HOUSEHOLDS
from retorno.verification.models import VerificationDecision, VerificationRequest
from retorno.verification.service import reopen, verified_decision


@action("case.register")
def register_case(session: Session, actor: User, data: CaseInput) -> Case:
    """Register one person; joining a household already on a manifest takes that household off it.

    A record alike of any agency's (the names typed otherwise, the surnames or the day and month of birth swapped) is
    flagged a possible duplicate, as an import flags it: while undecided, a concern open on either holds the other back.
    """
    case = register_in_cases(session, actor, data)
    if case.household_id is not None:
        household_grew(session, actor, [case.household_id], newcomers=[case.id])
    duplicates.flag_possible_duplicates(session, actor, [case])
    # ... and so is a record holding its declared number under another kind of document (red team round 63, F1).
    duplicates.flag_other_kind_number(session, actor, [case.id])
    # Its cédula or declared document may make two passengers' records one person: the link is kept, with one seat
    # (red team round 14, L1: the registration was refused, and the person registered under another cédula).
    seats.keep_one_seat(session, actor, [case.id])
    # A minor by its declaration makes the person's other records minors too (round 29b, F3); an adult of a household
    # linked now to a person travelling leaves its minors (round 30, F2).
    _link_made(session, actor, case)
    return case


def household_grew(session: Session, by: User, household_ids: list[int], newcomers: Collection[int] = (), *,
                   moved: bool = False) -> list[str]:
    """New members joined these households: members on a manifest not yet flown leave it, with an alert.

    Family unity (SPEC.md 4.3) holds for the household as it is now: the newcomer must travel with
    the others, so the manifest is planned again (or a supervisor splits the household). `moved`: a supervisor's
    household correction moved the newcomer in (`households.refuse_joining_boarded`).
    """
    households.refuse_joining_boarded(session, household_ids, newcomers, moved=moved)
    # A supervisor's split was written for the household as it was: a newcomer is not in it (red team, medium: a
    # seven-year-old registered into a split household stayed behind, the split's reason covering him). The split
    # ends, on the audit trail, and the household is planned again as one (or split again, newcomer included).
    for split in session.execute(sa.select(HouseholdSplit).where(HouseholdSplit.household_id.in_(household_ids))
                                 .order_by(HouseholdSplit.id)).scalars().all():
        household = session.get(Household, split.household_id)
        assert household is not None
        record(session, by, "household.split_ended", "household", household.reference,
               before={"split": split.id}, reason="a new member joined the household after it was split")
        session.delete(split)
    # A newcomer is a change of the household, as a split is: its version moves (on the audit trail, which names who
    # changed it to whoever sends an older one), so a split decided on the household as it was before is refused (red
    # team round 10, M1: a second supervisor's split sent with the version read before a 12-year-old joined was
    # accepted and covered him).
    for household_id in sorted(set(household_ids)):
        household = session.get(Household, household_id)
        assert household is not None
        flag_modified(household, "reference")
        record(session, by, "household.member_joined", "household", household.reference)
    # ... and a child's best-interests determination answered a separation that an adult waiting with them now ends
    # (red team round 68, F1).
    screening.spend_determinations(session, by, household_ids)
    session.flush()
    waiting = household_ids
    if not waiting:
        return []
    members = list(session.execute(
        sa.select(Case).join(Passenger, Passenger.case_id == Case.id).join(Flight, Flight.id == Passenger.flight_id)
        .where(Case.household_id.in_(waiting), Passenger.approval.in_(ACTIVE_APPROVALS),
               Flight.state.in_(NOT_YET_FLOWN_STATES)).order_by(Case.id)).scalars())
    taken: list[str] = []
    for member in members:
        if member.reference not in taken:
            taken += take_off_manifests(session, by, member, kind="household_changed", back_to="ready",
                                        reason="a new member joined the household")
    return taken


# Where a case's household may be corrected (`households.CORRECTABLE`).
HOUSEHOLD_CORRECTABLE = households.CORRECTABLE


def _household_correctable(session: Session, case: Case) -> None:
    """Refused (409 `household_correction_state`) unless the household and relationship of `case` may be changed now
    (`households.fixed`), at whichever door."""
    if case.id in households.fixed(session, [case]):
        raise InvalidTransition("case %(case)s is '%(state)s': its household is corrected only while it waits off "
                                "every manifest, before boarding (take it off its manifest first)",
                                code="household_correction_state", case=case.reference,
                                state=Term("case_state", case.state))


@action("household.split")
def correct_household(session: Session, actor: User, case: Case, *, household_reference: str | None,
                      relationship: str | None, reason: str, expected_version: int | None = None) -> list[str]:
    """A supervisor corrects which household of their agency a case belongs to, and its relationship to the head,
    with a written reason (red team round 44b, F1: a child registered into the wrong family had no way out but her
    record withdrawn and registered again, which left the wrong family to be split and held her new record by the
    withdrawn one's concern). Returns the references taken off a manifest.

    Each household keeps one head. The household left is a change of it (its version moves, `household.member_left`):
    the minors it holds whom no adult waits with any longer get the unaccompanied-child concern, as when a member leaves
    its waiting; the household joined is one a newcomer joins (`household_grew`: a split of it ends, its members on a
    manifest not flown leave it); the case itself, a minor with no adult waiting in the household joined, gets the
    concern. Only for a case waiting off every manifest, before boarding, of the supervisor's own agency."""
    if case.agency_id != actor.agency_id:
        raise Forbidden("case %(case)s is another agency's: its households are that agency's to correct",
                        code="forbidden.household.correct", case=case.reference)
    _check_case_version(session, actor, case, expected_version)
    reason = written_reason(reason)
    _household_correctable(session, case)
    code = relationship_code(relationship)
    named = identifiers.reference(household_reference or "") or None
    if named is not None and (unclear := identifiers.reference_problem(named)):
        raise InvalidInput("%(field)s holds characters other than ASCII letters, digits and keyboard signs "
                           "(%(characters)s): two references that look the same must be one; type it again",
                           code="reference_characters", field=Term("field", "household_reference"),
                           characters=unclear)
    if named is not None and identifiers.system_shaped(named):
        raise InvalidInput("household_reference '%(value)s' is in the form of a system reference (CC-YYYY-NNNNNN), "
                           "the one Retorno gives each case: give a household code of your own",
                           code="household_system_shaped", value=named)
    old_id = case.household_id
    target = household_for(session, actor.agency_id, named)
    new_id = target.id if target is not None else None
    if new_id == old_id and code == case.relationship_to_head:
        raise InvalidInput("case %(case)s is already so in its household: nothing to correct",
                           code="household_unchanged", case=case.reference)
    if new_id is not None and new_id != old_id:
        households.refuse_joining_boarded(session, [new_id], moved=True)
    before = {"household": _household_code(session, old_id), "relationship_to_head": case.relationship_to_head}
    case.household_id, case.relationship_to_head = new_id, code
    session.flush()
    # Each household keeps one head, checked on the households as they now are.
    for household_id in sorted(h for h in {old_id, new_id} if h is not None):
        heads = session.execute(sa.select(sa.func.count()).select_from(Case).where(
            Case.household_id == household_id, Case.relationship_to_head.in_(HEADS))).scalar_one()
        members = session.execute(sa.select(sa.func.count()).select_from(Case).where(
            Case.household_id == household_id)).scalar_one()
        if members and heads != 1:
            raise InvalidInput("household %(household)s would have %(heads)s heads: a household has one (correct the "
                               "head's relationship first)", code="household_one_head",
                               household=_household_code(session, household_id), heads=heads)
    record(session, actor, "case.household_corrected", "case", case.reference, before=before,
           after={"household": _household_code(session, new_id), "relationship_to_head": code}, reason=reason)
    taken: list[str] = []
    if old_id is not None and old_id != new_id:
        left = session.get(Household, old_id)
        assert left is not None
        flag_modified(left, "reference")
        record(session, actor, "household.member_left", "household", left.reference, reason=reason)
        session.flush()
        why = f"case {case.reference} was moved to another household"
        _minors_left_alone(session, actor, case, left=why, household_id=old_id)
        _minors_behind_alone(session, actor, case, household_id=old_id)
    if new_id is not None and new_id != old_id:
        taken = household_grew(session, actor, [new_id], newcomers=[case.id], moved=True)
        # ... nor does a record of someone aboard a flight that has left join a household that waits (round 55, F1).
        households.refuse_flown_apart(session, case)
    joined = _household_code(session, new_id)
    _minors_left_alone(session, actor, case, became=f"this minor was moved to household {joined}",
                       left=f"case {case.reference} joined the household")
    return taken


def _household_code(session: Session, household_id: int | None) -> str | None:
    household = session.get(Household, household_id) if household_id is not None else None
    return household.reference if household is not None else None


@reader("duplicate.read")
def read_possible_duplicates(session: Session, actor: User, case: Case) -> list[duplicates.DuplicateShown]:
    """The possible duplicates of `case` as `actor` may be told of them, an audited read (SPEC.md 4.7): whether a
    pair holds the case back tells that a look-alike the reader may read has a protection concern open (never one
    another country holds: `duplicates._concerns_seen`), as reading the screenings (`screening.read`), the concern
    filter and the timeline do. Every door reads them here.
    A case with no possible duplicate tells nothing of anyone else: its read (every view of its page) is not
    recorded."""
    shown = duplicates.possible_duplicates(session, actor, case)
    if shown:
        record(session, actor, "duplicate.read", "case", case.reference)
    return shown


def departed_on(session: Session, case: Case) -> str | None:
    """The flight `case` boarded that has departed, while they are still `boarded` (not yet received); else None."""
    if case.state != "boarded" or session.execute(
            sa.select(Passenger.id).join(Flight, Flight.id == Passenger.flight_id).where(
                Passenger.case_id == case.id, Passenger.boarding == "boarded",
                Flight.state.in_(NOT_YET_FLOWN_STATES))).first():
        return None
    return session.execute(
        sa.select(Flight.reference).join(Passenger, Passenger.flight_id == Flight.id)
        .where(Passenger.case_id == case.id, Passenger.boarding == "boarded")
        .order_by(Flight.departure_utc.desc())).scalars().first()


@action("screening.record")
def record_screening(session: Session, actor: User, case: Case, *, concerns: list[str], notes: str | None = None,
                     medical_escorts: int = 0, reason: str | None = None) -> Screening:
    """Record a protection screening; a person with an open concern leaves every manifest at once.

    Also at the aircraft door: a boarded person whose flight has not departed is taken off it. A concern raised
    once the flight has departed (a claim made at the door as it closed, a race with the departure) is recorded
    all the same, never lost: it takes nobody off a flown flight, but it stands on the case, open, in the
    supervisors' queue and on the audit trail, and every door tells the official the flight had departed
    (`departed_on`) so they pass it on. It is not sent to the receiving side, the state a claim of protection may
    be against. A screening raising nothing new is refused then, as it changes nothing for a flown person.
    """
    flown = departed_on(session, case)
    if flown is not None and not set(concerns) - set(open_concern_codes(session, case.id)):
        raise InvalidTransition("case %(case)s: flight %(flight)s has departed; only a new protection concern is "
                                "recorded now (it is kept on the case, and takes nobody off a flown flight)",
                                code="invalid_transition.case", case=case.reference, flight=flown)
    others = [other for other_id in same_person(session, [case.id]).get(case.id, {})
              if (other := session.get(Case, other_id)) is not None]
    own_before = own_medical_escorts(session, [case.id]).get(case.id, 0)
    recorded = screening.record_screening(session, actor, case, concerns=concerns, notes=notes,
                                          medical_escorts=medical_escorts, reason=reason)
    if recorded.medical_escorts < own_before:
        # A supervisor's written resolution lowered the need: the manifests count the person's need now.
        for record_ in (case, *others):
            if record_.state in ("manifested", "boarded"):
                lower_counted_needs(session, record_, traveller_facts(session, [record_])[record_.id].medical_escorts)
    _screened(session, actor, case, recorded)
    for other in others:
        _medical_needs_rose(session, actor, other, "on another record of the same person")
    return recorded


def _medical_needs_rose(session: Session, actor: User | None, case: Case, where: str = "") -> None:
    """A manifested or boarded person whose medical escort needs rose above those their manifest counted leaves it
    (`flights.service.take_off_for_higher_needs`). A person with an open concern left already."""
    if case.state not in ("manifested", "boarded"):
        return
    facts = traveller_facts(session, [case])[case.id]
    if not facts.open_concerns:
        take_off_for_higher_needs(session, actor, case, facts.medical_escorts, where=where)


def _screened(session: Session, actor: User, case: Case, recorded: Screening) -> None:
    """What a screening recorded changes about travel: off every manifest with a new concern (the same person's
    other records too) or higher medical needs, and back from ready."""
    if case.state in ("manifested", "boarded"):
        facts = traveller_facts(session, [case])[case.id]
        if facts.open_concerns:
            take_off_manifests(session, actor, case, kind="protection_pull", back_to="documented",
                               reason="protection concern raised after manifesting")
        else:
            _medical_needs_rose(session, actor, case)
    if recorded.concerns:
        # The same person's other records carry the concern too: none of them stays on a manifest.
        for other_id in same_person(session, [case.id]).get(case.id, {}):
            other = session.get(Case, other_id)
            if other is not None and other.state in ("manifested", "boarded"):
                take_off_manifests(session, actor, other, kind="protection_pull", back_to="documented",
                                   reason="protection concern raised on another record of the same person")
            if other is not None:
                advance(session, actor, other)
    advance(session, actor, case)


_CHILDREN_CHECKS = "children_checks"


def _at_end_of_step(check: Callable[..., None]) -> Callable[..., None]:
    """A children's check asked during an action runs once the step's changes are all made (`permissions.
    END_OF_STEP`), each asked check once: whom an adult waits with is read from where everyone ends up, not from a
    moment between two of the step's changes (red team round 50b, F1; round 51b, F3: her own record elsewhere, pulled
    off its flight later in the same correction, made a mother look seated, and her child was named unaccompanied)."""
    @functools.wraps(check)
    def asked(session: Session, by: User | None, case: Case, *args: Any, **kwargs: Any) -> None:
        if not in_step(session):
            check(session, by, case, *args, **kwargs)
            return
        key = (check.__name__, by.id if by is not None else None, case.id,
               *(value.id if isinstance(value, Case) else value for value in args),
               *((name, value.id if isinstance(value, Case) else value) for name, value in sorted(kwargs.items())))
        session.info.setdefault(STEP_WORK, {}).setdefault(_CHILDREN_CHECKS, {}).setdefault(
            key, (check, by, case, args, kwargs))
    return asked


def _settle_children(session: Session) -> None:
    """The children's checks the step asked for (`_at_end_of_step`), now; those they lead to run at once."""
    asked = session.info.get(STEP_WORK, {}).pop(_CHILDREN_CHECKS, {})
    for check, by, case, args, kwargs in asked.values():
        check(session, by, case, *args, **kwargs)


END_OF_STEP.append(_settle_children)


def _spent_where_accompanied(session: Session) -> None:
    """At the end of a step, the determinations of the children of the households it touched with whom an adult waits
    again are spent (`screening.spend_determinations`), by whoever acted."""
    session.flush()
    cases = sorted(session.info.get(TOUCHED_CASES, set()))
    households = set(session.info.get(TOUCHED_HOUSEHOLDS, set())) - {None}
    for start in range(0, len(cases), 5000):
        households.update(session.execute(sa.select(Case.household_id).where(
            among(Case.id, cases[start:start + 5000]), Case.household_id.is_not(None))).scalars())
    if households:
        ids = acting(session)
        screening.spend_determinations(session, session.get(User, min(ids)) if ids else None, households)


END_OF_STEP.append(_spent_where_accompanied)


@_at_end_of_step
def _minors_left_alone(session: Session, by: User | None, case: Case,
                       became: str = "the birth date now makes this case a minor", left: str | None = None,
                       once: bool = False, household_id: int | None = None) -> None:
    """Safeguard 2 (children) after `case` changed: the minors of its household (or `case` alone) screened and
    waiting whom no adult of the household now waits with, and who have no best-interests determination, are
    unaccompanied children. Their concern is recorded here, in the transaction of the change, by whoever made it
    (`screening.raise_unaccompanied`), and then acts as any concern raised at a screening: off every manifest, back
    from ready (`_screened`). Run when a member leaves the household's waiting (`cases.service.HOUSEHOLD_REACTIONS`,
    from `transition`: withdrawn, unfit to fly, not a national, a no-show, arrived) and when a correction of the
    birth date makes someone a minor (`update_case`).

    `once`: for a check run where a link may have been made, and nothing else may have changed (`_link_made`): a minor
    off every manifest named an unaccompanied child before is not named again (a supervisor's resolution of that
    concern would be undone by each document filed: the children's rules still hold them at every step); one holding
    a seat is, and leaves it."""
    today = utcnow().date()
    # `household_id`: the household `case` has just left, whose minors are looked at (`correct_household`).
    household_id = household_id or case.household_id
    members = household_members(session, household_id) if household_id is not None else [case]
    # A member boarded at the door of a flight not yet departed is still here: one a change makes a minor with no
    # adult leaves the aircraft with the concern (red team round 30, F1: ICE's registration of the person as a
    # minor was refused by the commit-time guard, and the household stayed aboard).
    waiting = [m for m in members if m.state in lifecycle.WAITING_SCREENED
               or (m.state == "boarded" and departed_on(session, m) is None)]
    alone = screening.left_alone(session, waiting, today)
    if once and alone:
        named = _named_unaccompanied(session, [m.id for m in alone])
        seated = _seated(session, [m.id for m in alone])
        alone = [m for m in alone if m.id not in named or m.id in seated or m.state == "boarded"]
    # Every minor the change left alone is named for it first; then each concern takes its effect, which may ask these
    # checks again (red team round 66, F4: the mother's concern, taking effect, named her son unaccompanied before
    # this loop reached him, for her being "a person travelling by another record", which she was not).
    raised_now: list[tuple[Case, Screening]] = []
    for minor in alone:
        assert by is not None, "every change that ends a case's waiting is made by an official"
        why = ((left or f"case {case.reference} is now '{case.state}'") + ": no adult of the household waits with "
               "this minor" if case.id != minor.id else f"{became}, with no adult of the household waiting with them")
        raised = screening.raise_unaccompanied(session, by, minor, reason=f"unaccompanied child: {why}")
        if raised is not None:
            raised_now.append((minor, raised))
    for minor, raised in raised_now:
        assert by is not None
        _screened(session, by, minor, raised)


# Whom a minor who stays behind (`safeguards.STAYING_BEHIND`) stays with: an adult of the household waiting off every
# manifest (holding no seat), or staying behind too. An adult holding a seat, aboard or arrived has left them. One
# still 'manifested' with no seat is being taken off with the household, and moved by the change after its seats are
# gone (`flights.service.take_off_manifests`, `back_to=None`): off every manifest, she stays with them (red team round
# 50b, F1: a mother's verification revoked, or her identity corrected, named her child, taken off with her, an
# unaccompanied child).
_STAYING_WITH = frozenset(lifecycle.BEFORE_BOARDING) | set(STAYING_BEHIND)
# A minor waiting off every manifest, screened (a minor not yet screened is named unaccompanied at the screening:
# `screening.service`).
_WAITING_OFF = lifecycle.WAITING_SCREENED - {"manifested"}


def _seated(session: Session, case_ids: list[int]) -> set[int]:
    """Those of `case_ids` holding a seat on the manifest of a flight not yet flown (going on it in this transaction
    too: `flights.service.add_passengers` seats a request's cases before it moves them)."""
    return set(session.execute(
        sa.select(Passenger.case_id).join(Flight, Flight.id == Passenger.flight_id)
        .where(Passenger.case_id.in_(case_ids), Passenger.approval.in_(ACTIVE_APPROVALS),
               Flight.state.in_(NOT_YET_FLOWN_STATES))).scalars())


@_at_end_of_step
def _minors_behind_alone(session: Session, by: User | None, case: Case, moved: Case | None = None,
                         household_id: int | None = None) -> None:
    """Safeguard 2 for the minors of `case`'s household who stay behind: in a state that does not travel (not a
    national, withdrawn, unfit to fly, a no-show: `safeguards.STAYING_BEHIND`), or waiting off every manifest (held
    by a concern, or not yet ready). One whom no adult of the household stays with any longer (`_STAYING_WITH`, and
    holding no seat), because the last such adult went on a manifest (which a supervisor's split allowed:
    `safeguards.family_unity`), or who stayed behind after the household's adults had gone, is a separated child, and
    gets the unaccompanied-child concern at that moment, by whoever made the change, as `_minors_left_alone` records
    it for a minor still to travel (red team round 13, F7: a seven-year-old found not a national was left behind with
    nothing recorded; round 14, L2: a girl held back by a medical concern got nothing when, the household split, her
    mother went on a manifest, and was later `ready` alone). A best-interests determination recorded answers it
    already. The minors going on the same manifest in the same request hold their seats already
    (`flights.service.add_passengers`), so a household manifested together leaves nobody behind."""
    household_id = household_id or case.household_id
    assert household_id is not None
    moved = moved or case
    today = utcnow().date()
    members = household_members(session, household_id)
    registry = births_elsewhere(session, [m.id for m in members])
    adults = [m for m in members if not counts_as_minor(m.birth_date, registry.get(m.id), today)]
    seated = _seated(session, [m.id for m in members])
    # An adult holding a seat by another record of their person (any agency's, as family unity reads it) has left the
    # minors as one seated by their own (red team round 28b, F3: SRE's record of a split household's mother went on a
    # flight, and her child, staying behind, got no concern).
    alike = records_alike(session, [m.id for m in adults if m.id not in seated])
    if alike:
        elsewhere = _seated(session, sorted({other for others in alike.values() for other in others}))
        seated |= {adult_id for adult_id, others in alike.items() if others & elsewhere}
    if not adults or any(m.state in _STAYING_WITH and m.id not in seated for m in adults):
        return
    behind = [m for m in members if counts_as_minor(m.birth_date, registry.get(m.id), today) and (
        m.state in STAYING_BEHIND or (m.state in _WAITING_OFF and m.id not in seated))]
    if not behind:
        return
    determined = set(session.execute(sa.select(BestInterestsDetermination.case_id).where(
        BestInterestsDetermination.case_id.in_([m.id for m in behind]),
        BestInterestsDetermination.spent_at.is_(None))).scalars())
    # Recorded once: a supervisor's resolution of it (the child's protection arranged where they stay) is not undone
    # by the next step of the household's adults (their arrival). Once since the household's last split: a separation
    # the split allowed is a new one, which a concern named and resolved before it does not answer (red team round
    # 50b, F2: a false concern resolved, the household split and the mother put on a flight alone, the child was left
    # behind with nothing recorded).
    # And a separation is the seat the adults took after it (round 51b, F4: a concern named and resolved after the
    # split, while the mother still waited with the child, answered the separation that came when she took a seat).
    split = session.execute(sa.select(sa.func.max(HouseholdSplit.created_at)).where(
        HouseholdSplit.household_id == household_id)).scalar_one_or_none()
    holders = sorted({m.id for m in adults} | {other for others in alike.values() for other in others})
    took_seat = session.execute(sa.select(sa.func.max(Passenger.added_at)).where(
        among(Passenger.case_id, holders), Passenger.approval.in_(ACTIVE_APPROVALS))).scalar_one_or_none()
    since = max((moment for moment in (split, took_seat) if moment is not None), default=None)
    determined |= _named_unaccompanied(session, [m.id for m in behind], since=since)
    for minor in behind:
        if minor.id in determined:
            continue
        assert by is not None, "every change that leaves a minor behind is made by an official"
        why = (f"case {moved.reference} is now '{moved.state}': no adult of the household stays with this minor, who "
               f"stays behind ('{minor.state}')" if moved.id != minor.id else
               f"this minor stays behind ('{minor.state}') and no adult of the household stays with them")
        raised = screening.raise_unaccompanied(session, by, minor, reason=f"unaccompanied child: {why}")
        if raised is not None:
            _screened(session, by, minor, raised)


def _member_left(session: Session, by: User | None, case: Case) -> None:
    """A member left the household's waiting or went on a manifest: if an adult, the minors waiting may now be alone
    (`_minors_left_alone`); and the minors who stay behind, whoever moved (`_minors_behind_alone`)."""
    if case.household_id is not None:
        if not _minor_now(session, case) and case.state != "manifested":
            _minors_left_alone(session, by, case)
        _minors_behind_alone(session, by, case)
    if case.state != "manifested":
        return
    # The person went on a manifest by this record: the households of their other records (any agency's) are left by
    # them as by a member of their own (red team round 28b, F3).
    for other_id in sorted(records_alike(session, [case.id]).get(case.id, set())):
        other = session.get(Case, other_id)
        if other is not None and other.household_id is not None and other.household_id != case.household_id:
            _minors_behind_alone(session, by, other, moved=case)


HOUSEHOLD_REACTIONS.append(_member_left)


def _seats_left(session: Session, by: User | None, taken: list[Case]) -> None:
    """Passengers a step took off a manifest together are all off (`flights.service.left_seats`): the minors of their
    households who stay off every manifest while an adult of it keeps a seat (a split household) are separated
    children, as when that adult goes on the manifest after them (`_minors_behind_alone`; red team round 40, F1: the
    child removed or rejected alone, her mother staying on the manifest, rested in 'ready' with nothing recorded)."""
    households: set[int] = set()
    for case in taken:
        if case.household_id is not None and case.household_id not in households:
            households.add(case.household_id)
            _minors_behind_alone(session, by, case)


SEATS_LEFT_REACTIONS.append(_seats_left)


def _minor_now(session: Session, case: Case) -> bool:
    """Whether `case` is a minor today by its declared birth date or its verified registry record's."""
    return counts_as_minor(case.birth_date, births_elsewhere(session, [case.id]).get(case.id), utcnow().date())


def _verified_a_minor(session: Session, by: User | None, case: Case) -> None:
    """Safeguard 2 once a verification is recorded: a registry record whose birth date makes the person a minor where
    the declared one does not (`safeguards.counts_as_minor`) makes them a minor from now on, for every children's rule;
    one with no adult of the household waiting with them, or a household whose last adult they were, gets the
    unaccompanied-child concern now, as a correction of the birth date into a minor's does (`update_case`)."""
    if not is_minor(case.birth_date, utcnow().date()) and _minor_now(session, case):
        _minors_left_alone(session, by, case,
                           became="the verified registry record's birth date makes this case a minor")
    # The registry date is the person's: it makes their other records minors too (`facts.births_elsewhere`), one on a
    # manifest included, which the concern takes off as any concern does (red team round 16, F2b).
    _others_now_minors(session, by, sorted(same_person(session, [case.id]).get(case.id, {})),
                       became="a verified registry record of the same person makes this case a minor")


def _registry_date_recorded(session: Session, by: User, case: Case, record: str) -> None:
    """Safeguard 2 once a decision that verifies nothing (a review, a not_found, a rejection) of `case` records the
    birth date of registry record `record`: the records verified against it, and their person's other records, count
    it from now on (`facts.people_registry_births`, red team round 17, O-F4), one on a manifest included, as
    `_verified_a_minor` has it for a verification. `case` itself counts it once verified against `record`, when the
    verification's reaction records its concern."""
    verified = set(session.execute(
        sa.select(VerificationRequest.case_id)
        .join(VerificationDecision, VerificationDecision.request_id == VerificationRequest.id)
        .where(VerificationDecision.outcome == "verified",
               cedula_digits(VerificationDecision.registry_record) == national_id_digits(record))).scalars())
    linked = same_person(session, sorted(verified | {case.id}))
    others = verified.union(*(set(found) for found in linked.values())) - {case.id}
    _others_now_minors(session, by, sorted(others),
                       became="a birth date recorded for the verified registry record of this person makes this "
                              "case a minor")


def _others_now_minors(session: Session, by: User | None, others: list[int], *, became: str) -> None:
    """Those of `others` (records of a person a birth date was just recorded for: a registry record's, or another
    record's declaration) an adult by their declared birth date whom that date makes a minor now
    (`facts.births_elsewhere`): each with no adult of the household waiting with them gets the unaccompanied-child
    concern (`_minors_left_alone`), which takes them off a manifest as any concern does. Recorded once on each: a
    record whose unaccompanied-child concern a supervisor resolved is not held again by every verification of another
    record of the person (the children's rules still hold them at every step)."""
    if not others:
        return
    named = _named_unaccompanied(session, others)
    today = utcnow().date()
    born = births_elsewhere(session, others)
    for other_id in others:
        other = session.get(Case, other_id) if other_id in born and other_id not in named else None
        if (other is not None and not is_minor(other.birth_date, today)
                and counts_as_minor(other.birth_date, born[other_id], today)):
            _minors_left_alone(session, by, other, became=became)


def _named_unaccompanied(session: Session, case_ids: list[int], since: datetime | None = None) -> set[int]:
    """Those of `case_ids` a screening (an official's, or one recorded by a change) ever named unaccompanied, or
    since `since`."""
    return {case_id for case_id, concerns in session.execute(
        sa.select(Screening.case_id, Screening.concerns).where(
            among(Screening.case_id, case_ids), *([Screening.screened_at >= since] if since is not None else [])))
        if "unaccompanied_child" in (concerns or [])}


_DECLARED_ELSEWHERE = "another record of the same person declares a birth date that makes this case a minor"


def _declared_a_minor(session: Session, by: User | None, case: Case) -> None:
    """Safeguard 2 across records: a record that declares its person a minor makes their other records minors too
    (`facts.births_elsewhere`), as a registry record's birth date does (`_verified_a_minor`): each of them an adult by
    its own declaration, one on a manifest included, now gets the unaccompanied-child concern if no adult of its
    household waits with it (red team round 29b, F3: INM declared a person born in 2010, and ICE's record of the same
    cédula, born 1990 by its declaration, flew as the only adult of a child). Run where a record may newly be one
    person with another: its registration, a correction of its birth date or of what links it, a link made to it
    (`cases.service.LINKED_RECORD_REACTIONS`); and for an import's rows, over the passengers (`passengers_now_minors`).
    Only a record declaring a minor can make another one a minor, so an adult's record reads nothing more here."""
    if by is None or not is_minor(case.birth_date, utcnow().date()):
        return
    _others_now_minors(session, by, sorted(records_alike(session, [case.id]).get(case.id, set())),
                       became=_DECLARED_ELSEWHERE)


def _link_made(session: Session, by: User, case: Case) -> None:
    """A link may just have been made to `case` (its registration, a correction of what links it or makes it alike to
    another record, a document filed): the other records a minor's declaration of this one makes minors
    (`_declared_a_minor`), and the minors of the households of the person's records whom an adult no longer waits
    with, that adult travelling, or having travelled, by another record of theirs (`screening.left_alone`: red team
    round 29b, F1, by a cédula; round 30, F2: by a likeness flagged as a possible duplicate of a passenger in the air,
    the child, whom the screening counted alone, got no concern and went on to 'ready'); and a "different people" of
    one country on two records, one of which is linked now to another country's record, flags that record with the
    other (`duplicates.keep_decided_apart`: red team round 53, F1)."""
    duplicates.keep_decided_apart(session, by, [case.id])
    if case.state not in STAYING_BEHIND:
        # ... nor may a link tie a household that waits to someone on a flight that has left (red team round 55, F1).
        # A record leaving the process (withdrawn, say) makes no link, and is not held by one.
        households.refuse_flown_apart(session, case)
    person = records_alike(session, [case.id]).get(case.id, set())
    _declared_a_minor(session, by, case)
    households_: set[int] = set()
    for record_id in sorted({case.id, *person}):
        record_ = case if record_id == case.id else session.get(Case, record_id)
        if record_ is None or record_.household_id is None or record_.household_id in households_:
            continue
        households_.add(record_.household_id)
        # The check finds the minor alone, not why: the note says what was read, and claims no cause (red team round
        # 68, F3: it said a 12-year-old's brother was "a person travelling by another record", who had no other).
        _minors_left_alone(session, by, record_, became=_LINKED_AWAY, once=True,
                           left=f"found when the records of case {record_.reference} were read again (a record "
                                "linked to it, or its person travelling by another record, may take the adult away)")


_LINKED_AWAY = "a record linked now makes this case a minor, or takes away the adult who waited with them"


def passengers_now_minors(session: Session, by: User) -> None:
    """`_declared_a_minor` after an import's new rows, any of which may declare a minor the person of a passenger
    (of a flight not yet flown) holding a seat as an adult: read from the passengers (they are few; the rows may be
    many), as `seats.keep_one_seat_of_passengers` reads them. A record waiting off every manifest is held by the
    children's rules at every step it takes next (its screening, the flight's add and approval)."""
    seated = session.execute(
        sa.select(Passenger.case_id).join(Flight, Flight.id == Passenger.flight_id)
        .where(Passenger.approval.in_(ACTIVE_APPROVALS), Flight.state.in_(NOT_YET_FLOWN_STATES))).scalars().all()
    _others_now_minors(session, by, sorted(set(seated)), became=_DECLARED_ELSEWHERE)


VERIFIED_REACTIONS.append(_verified_a_minor)
def _linked_now(session: Session, by: User | None, case: Case) -> None:
    """`_link_made` after any change of a case's facts (`cases.service.advance`): a supervisor's decision that two
    records are one person, a verification against another person's registry record, may make a household's adult one
    person with someone holding a seat (red team round 51b, F1 and F2: the split household's child stayed 'ready',
    alone, with nothing recorded)."""
    if by is None:
        _declared_a_minor(session, by, case)
        return
    _link_made(session, by, case)


LINKED_RECORD_REACTIONS.append(_linked_now)
REGISTRY_DATE_REACTIONS.append(_registry_date_recorded)


def _others_in_doubt(session: Session, actor: User, case: Case) -> None:
    """`case` was just found not a national: the records of its person verified before no longer count as verified
    (`cases.facts._found_not_national_since`). Those on a manifest leave it at once, locked or not, both sides alerted
    (`nationality_doubt`), and go back to 'documented'; a ready one goes back to 'documented' too, until the authority
    verifies it again (red team round 28b, F4: SRE's record, verified the day before, was added and approved after the
    finding on INM's)."""
    for other_id in sorted(records_alike(session, [case.id]).get(case.id, set())):
        other = session.get(Case, other_id)
        if other is None:
            continue
        if other.state in ("manifested", "boarded"):  # at the aircraft's door, they leave it (`_must_deboard`)
            take_off_manifests(session, actor, other, kind="nationality_doubt", back_to="documented",
                               reason="another record of the same person was found not a national")
        elif other.state == "ready":
            advance(session, actor, other)


NOT_NATIONAL_REACTIONS.append(_others_in_doubt)


def _pull_linked_records(session: Session, by: User | None, case: Case) -> None:
    """Take off every manifest the records of `case`'s person that now carry an open concern through a link
    (a verification or a document that made two records one person): rule 1 across records."""
    if session.info.get(_PULLING):
        return
    links = same_person(session, [case.id]).get(case.id)
    if not links:
        return
    everyone = [case.id, *links]
    status = protection_status(session, everyone)
    session.info[_PULLING] = True
    try:
        for case_id in everyone:
            _, concerns, escorts = status.get(case_id, (False, (), 0))
            record_ = session.get(Case, case_id)
            if record_ is None or record_.state not in ("manifested", "boarded"):
                continue
            if concerns:
                take_off_manifests(session, by, record_, kind="protection_pull", back_to="documented",
                                   reason="protection concern open on another record of the same person")
            else:
                # A need recorded on a record now linked is the person's (red team round 5, C-F4: a corrected cédula
                # raised a locked passenger's need with no one's consent while the medical staff sufficed).
                take_off_for_higher_needs(session, by, record_, escorts, where="on another record of the same person")
    finally:
        session.info.pop(_PULLING, None)


_PULLING = "retorno.pulling_linked_records"
# The fields of a case by which it is the same person as another record (`cases.facts._linked_pairs`).
LINKING_FIELDS = frozenset({"national_id", "declared_document_number", "declared_document_type"})
LINKED_RECORD_REACTIONS.append(_pull_linked_records)
# Last: one person keeps one seat when a link is made (red team round 14, L1), once the concern pulls have run.
LINKED_RECORD_REACTIONS.append(seats.kept_one_seat)


@reader("case.read")
def ensure_editable(actor: User, case: Case) -> None:
    """Refuse the sending side's edit of a case that has arrived: its work ends at arrival (SPEC.md 4.6), and the
    case's version, which an edit names, moves with the reintegration steps it is not told of
    (`agencies.visibility.versions_told`); refused alike whatever the case's state after arrival."""
    if followed_after(actor, case.state):
        raise InvalidTransition("case %(case)s: the person has arrived; the sending side no longer changes the case",
                                code="case_arrived", case=case.reference)


def _check_case_version(session: Session, actor: User, case: Case, expected_version: int | None) -> None:
    """Refuse an official's edit of `case` made from a version changed since (`audit.versions.check_version`); first,
    an edit naming a version of a case whose version the official is not told (the sending side's, from arrival on:
    `ensure_editable`), whatever it changes. Else the refusal named the steps taken since and the version they moved
    it to (red team round 46b, F2: a household correction, or an edit changing nothing, sent with a stale If-Match
    was answered 412 naming the operator's placement, the intake, a consent withdrawn, unaudited)."""
    if expected_version is not None:
        ensure_editable(actor, case)
    check_version(session, case, expected_version, label=Message("case %(case)s", {"case": case.reference}),
                  audited=AuditObject("case", case.reference), reader=actor)


# Why the identity of a case found not a national stays as decided (`update_case`; an import's rows: `cases.rows`).
NOT_NATIONAL_IDENTITY = ("case %(case)s: the receiving authority found this person not a national on the identity as "
                         "recorded; it stays as decided, so that the finding follows the person to their other "
                         "records (a person whose identity was recorded wrong is registered again as a new case)")
# Why the identity of a closed case stays as recorded (`update_case`; an import's rows: `cases.rows`).
CLOSED_IDENTITY = ("case %(case)s is '%(state)s', a final state: the case is closed and its identity stays as recorded "
                   "(a person who comes back into the process is registered again as a new case)")


@action("case.update")
def update_case(session: Session, actor: User, case: Case, changes: dict[str, Any], *,
                expected_version: int | None = None, imported: bool = False) -> bool:
    """Change declared fields of a case (edit, API or import); returns whether anything changed.

    A change to an identity field after the verification request re-opens verification and takes
    the person off every manifest: the identity that travels is the identity verified (SPEC.md 4.4).
    An official's edit names the version they opened (`expected_version`): if the case changed since,
    it is refused before anything is written. An import (`imported`) updates the case as it is now, but no field an
    official changed by another door since (`travel.load`, red team round 22, X-F1); its audit record says so.
    """
    ensure_owner(actor, case)
    if any(getattr(case, k, v) != v for k, v in changes.items()):
        # A row re-imported as it stands changes nothing, and is no edit of a case that has arrived.
        ensure_editable(actor, case)
    _check_case_version(session, actor, case, expected_version)
    reopens = case.state in lifecycle.IDENTITY_BOUND
    if lifecycle.identity_locked(case.state):
        proposed = {k: v for k, v in changes.items() if getattr(case, k, v) != v}
        if identity_changed(proposed):
            raise InvalidTransition("case %(case)s: the identity of a person who has boarded cannot be changed "
                                    "(the case is '%(state)s')", code="identity_locked", case=case.reference,
                                    state=Term("case_state", case.state))
    if identity_changed({k: v for k, v in changes.items() if getattr(case, k, v) != v}):
        _not_leaving_an_aircraft(session, case)
    if case.state == "not_national" and identity_changed({k: v for k, v in changes.items()
                                                          if getattr(case, k, v) != v}):
        # The receiving authority's finding holds the person's other records through the cédula and documents this
        # record declares (`verification.service.earlier_not_national`): edited, it would let go of them (red team
        # round 13, F2), and the record would no longer say who was found not a national.
        raise InvalidTransition(NOT_NATIONAL_IDENTITY, code="identity_decided", case=case.reference)
    if case.state in lifecycle.CLOSED_EXITS and identity_changed({k: v for k, v in changes.items()
                                                                  if getattr(case, k, v) != v}):
        # Withdrawn or unfit to fly, a case is closed (no step leaves it): an edit of its identity re-opened nothing,
        # and went on reaching the receiving authority under the old request (red team round 16, N2); the record still
        # holds the person's other records through its cédula and documents (a concern open on it), which an edit
        # would let go of, as for a finding of 'not a national'.
        raise InvalidTransition(CLOSED_IDENTITY, code="identity_closed", case=case.reference,
                                state=Term("case_state", case.state))
    if changes.get("relationship_to_head", case.relationship_to_head) != case.relationship_to_head:
        # A relationship changed by an import row (its check refuses it at the cell; this is the second line).
        _household_correctable(session, case)
    was_minor = _minor_now(session, case)
    # A cédula or declared document corrected may undo a link: who counted as one person with whom before is kept
    # until supervisors decide (`duplicates.keep_counted`), as for a document withdrawn (red team round 16, F3).
    counted = (counted_together(session, [case.id])
               if any(getattr(case, k) != v for k, v in changes.items() if k in LINKING_FIELDS) else None)
    compared = duplicates.as_compared(case)  # the person as before: is a pair decided two people more alike now?
    changed = change_fields(session, actor, case, changes, reason=IMPORTED if imported else None)
    if counted is not None and changed.keys() & LINKING_FIELDS:
        duplicates.keep_counted(session, actor, counted, holders=[case.id], since=None,
                                linked_reason="linked_by_corrected_identifier",
                                alike_reason="counted_through_corrected_identifier")
    if changed.keys() & LINKING_FIELDS:
        # A cédula or a declared document number recorded now may make this case one person with another record,
        # whichever agency holds it: a concern open on either takes the other off its manifest at once, as a
        # verification or a document that links them does (red team: the official who learned the person's cédula
        # could not record it while the other agency's record of the person stood on a manifest, so the records
        # stayed apart; the guard's refusal also named that agency's case). So does a concern on a record the person
        # is now linked to for the undecided possible duplicates of theirs (red team round 54, F1: the passenger of
        # whom the corrected record was a possible duplicate kept the seat, and the whole correction was refused at
        # the commit, its message telling another country's officer that the person was on a manifest).
        _pull_linked_records(session, actor, case)
        duplicates.pull_possible_duplicates(session, actor, case)
    if changed and reopens and identity_changed(changed):
        if case.state == "manifested":
            take_off_manifests(session, actor, case, kind="identity_changed", back_to=None,
                               reason="identity changed after verification")
        reopen(session, actor, case)
    if changed.keys() & LINKING_FIELDS:
        # ... and two records of the person holding a seat each keep one, the link kept (red team round 14, L1: the
        # correction was refused); after the identity take-off, so that this record, leaving anyway, is the one off.
        seats.keep_one_seat(session, actor, [case.id])
    if changed.keys() & {"birth_date", *LINKING_FIELDS} and not was_minor and _minor_now(session, case):
        # The household's last adult, or someone alone, may now be a minor with nobody waiting with them (by the
        # birth date corrected, or by another record of the person the correction links it to: round 29b, F3).
        _minors_left_alone(session, actor, case,
                           became="the birth date now makes this case a minor" if "birth_date" in changed
                           else _DECLARED_ELSEWHERE,
                           left=f"the birth date of case {case.reference} now makes them a minor"
                           if "birth_date" in changed else None)
    if changed.keys() & duplicates.COMPARED_FIELDS:
        # Corrected names, birth date or cédula may make the record alike to another, whichever agency holds it: it is
        # flagged as a new record would be (red team: a correction made a case look like a person with an open
        # trafficking concern, and nothing compared them).
        duplicates.flag_possible_duplicates(session, actor, [case], before=[compared])
    if changed.keys() & LINKING_FIELDS:
        # A number now declared, or now of another kind, or a cédula now recorded, that another record holds under the
        # other kind (red team rounds 63 and 64, F1).
        appeared = {"declared_document_type": case.declared_document_number,
                    "declared_document_number": case.declared_document_number, "national_id": case.national_id}
        duplicates.flag_other_kind_number(session, actor, [case.id],
                                          numbers={appeared[name] for name in changed.keys() & LINKING_FIELDS})
    if changed.keys() & {"birth_date", *LINKING_FIELDS, *duplicates.COMPARED_FIELDS}:
        # A minor by its declaration now, or one person with another record now (a link, a possible duplicate): the
        # person's other records may be minors by it (round 29b, F3), and a household's adult one person with someone
        # travelling, by a cédula or a likeness (round 29b, F1; round 30, F2): after the flagging.
        _link_made(session, actor, case)
    return bool(changed)


def leaving_an_aircraft(session: Session, case_ids: Sequence[int]) -> set[int]:
    """Those of `case_ids` taken off a manifest after boarding and still in their seat (`flights.service.LEAVING`)
    until the sending side or the carrier records that they left the aircraft."""
    return set(session.execute(sa.select(Passenger.case_id).where(
        among(Passenger.case_id, list(case_ids)), Passenger.boarding == LEAVING)).scalars()) if case_ids else set()


def _not_leaving_an_aircraft(session: Session, case: Case) -> None:
    """A person taken off after boarding is aboard until they are recorded off the aircraft: their identity and the
    document they boarded with stay as they boarded (red team round 42, F1: her given names were changed while she
    was 'leaving', and the carrier's list of who must leave the aircraft named someone her boarding pass did not)."""
    if leaving_an_aircraft(session, [case.id]):
        raise InvalidTransition("case %(case)s: the person boarded and has not yet been recorded off the aircraft; "
                                "their identity and the document they boarded with do not change until then",
                                code="identity_locked", case=case.reference)


@action("document.add")
def add_document(session: Session, actor: User, case: Case, *, mrz_text: str) -> TravelDocument:
    """File a travel document; a manifested person leaves the manifest, since approval covers the document."""
    _not_leaving_an_aircraft(session, case)
    if case.state == "manifested":
        take_off_manifests(session, actor, case, kind="document_changed", back_to="ready",
                           reason="a new travel document was filed after manifesting")
    filed = documents.add_document(session, actor, case, mrz_text=mrz_text)
    _link_made(session, actor, case)  # its number may make the case one person with another record
    return filed


@action("document.withdraw")
def withdraw_document(session: Session, actor: User, case: Case, document_id: int, *, reason: str) -> TravelDocument:
    """Withdraw a travel document filed in error (`documents.service.withdraw_document`); a manifested person whose
    document on file it is leaves the manifest first, as when another document is filed: the approval covered it."""
    document, _ = documents.withdrawable_document(session, actor, case, document_id, reason=reason)
    withdrawn = [document, *documents.copies_of(session, document)]
    on_file = current_documents(session, [d.case_id for d in withdrawn])
    for each in withdrawn:
        holder = case if each.case_id == case.id else session.get(Case, each.case_id)
        found = on_file.get(each.case_id)
        if holder is not None and holder.state == "manifested" and found is not None and found.id == each.id:
            take_off_manifests(session, actor, holder, kind="document_changed", back_to="ready",
                               reason="the travel document on file was withdrawn as filed in error",
                               said_as="document_withdrawn")
    return documents.withdraw_document(session, actor, case, document_id, reason=reason)


@action("case.withdraw")
def withdraw(session: Session, actor: User, case: Case, *, reason: str, target: str = "withdrawn") -> None:
    """Take a case out before boarding: released, protection granted, left by other means, unfit to fly."""
    ensure_owner(actor, case)
    reason = written_reason(reason)
    if target not in ("withdrawn", "unfit_to_fly"):
        raise InvalidInput("a case is withdrawn or found unfit to fly", code="invalid_input")
    lifecycle.check_transition(case.reference, case.state, target)
    take_off_manifests(session, actor, case, kind="withdrawn", back_to=None, reason=f"withdrawn: {reason}")
    transition(session, actor, case, target, action="case." + target, reason=reason)


# Where a verification may be revoked: verified, and not yet at the aircraft's door.
_REVOCABLE = ("verified", "documented", "ready", "manifested")


@action("verification.revoke")
def revoke_verification(session: Session, actor: User, case: Case, *, reason: str | None) -> VerificationRequest:
    """The receiving authority withdraws a `verified` decision it made in error (red team round 44b, F5 and round
    45a, F5: nothing undid one; the person stayed verified and could be put on manifests again). A supervisor of the
    authority that verified, with a written reason; before the person boards (at the door, the boarding's own steps).

    The decision stops counting (its outcome becomes `revoked`, on the audit trail before and after): the registry
    record it named no longer links the person's records, and the person is no longer verified. Off every manifest at
    once, locked or not, with the household, both sides alerted (`verification_revoked`: safeguard 4 does not wait);
    then a new request goes to the authority, which decides again."""
    reason = written_reason(reason)
    decision = verified_decision(session, case)
    if decision is None or case.state not in _REVOCABLE:
        raise InvalidTransition("case %(case)s: there is no verification to revoke (the case is '%(state)s'): a "
                                "verification is revoked while the person is verified and has not boarded",
                                code="nothing_to_revoke", case=case.reference, state=Term("case_state", case.state))
    request = session.get(VerificationRequest, decision.request_id)
    assert request is not None
    if request.receiving_agency_id != actor.agency_id:
        raise Forbidden("only the authority that verified case %(case)s revokes its verification",
                        code="forbidden.verification.other_authority", case=case.reference)
    # The registry record linked the person's records: each record counted with another before stays counted with
    # it, a possible duplicate supervisors decide (red team round 46b, F1: revoking either of two records verified
    # against one registry record freed the other from the first's open asylum claim, at once and unseen).
    counted = counted_together(session, [case.id])
    decision.outcome = "revoked"
    session.flush()
    record(session, actor, "verification.revoked", "case", case.reference,
           before={"outcome": "verified", "request": request.reference, "registry_record": decision.registry_record},
           after={"outcome": "revoked"}, reason=reason)
    duplicates.keep_counted(session, actor, counted, holders=[case.id], since=None,
                            linked_reason="linked_by_revoked_verification",
                            alike_reason="counted_through_revoked_verification")
    if case.state == "manifested":
        take_off_manifests(session, actor, case, kind="verification_revoked", back_to=None,
                           reason="the receiving authority revoked the verification")
    return reopen(session, actor, case, reason=reason, audited_as="verification.revoke")

