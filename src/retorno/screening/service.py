"""Protection screening, its supervisor resolution, and best-interests determinations."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import names, safeguards
from retorno.agencies.models import User
from retorno.agencies.permissions import action, can, reader
from retorno.audit.refusals import note_concern_told
from retorno.audit.service import record, text_digest
from retorno.cases import lifecycle
from retorno.cases.facts import births_elsewhere, concern_term, open_by_screening, open_concern_codes, other_records
from retorno.cases.facts import own_medical_escorts as escorts_needed
from retorno.cases.models import Case
from retorno.cases.service import advance, ensure_owner, transition
from retorno.db import among, utcnow
from retorno.errors import InvalidInput, InvalidTransition, SafeguardViolation, Term
from retorno.flights.models import ACTIVE_APPROVALS, Flight, Passenger
from retorno.reasons import SAYS_NOTHING, said_words, telling, written_reason
from retorno.screening.models import CONCERNS, COUNTING, BestInterestsDetermination, Screening, ScreeningResolution

# A claim raised at the aircraft door is recorded too (travel.record_screening then takes the person
# off the aircraft, as long as it has not departed), and of a no-show, before or after the flight departs.
SCREENABLE = lifecycle.SCREENABLE


@action("screening.record")
def record_screening(session: Session, actor: User, case: Case, *, concerns: list[str], notes: str | None = None,
                     medical_escorts: int = 0, reason: str | None = None) -> Screening:
    """Record a protection screening: it adds concerns, never removes one (only a resolution closes them).

    The medical escorts the person needs (SPEC.md 4.5) follow the same rule: raised by any screening, lowered
    only by a supervisor's resolution with a written `reason` (red team M1: an officer's new screening asking for
    none let a case needing two onto a flight without medical staff). The lowering is kept as a resolution of
    the new screening that closes no concern, its reason encrypted with it.

    The domain step of `travel.service.record_screening`, which also takes a person with a new
    concern off any manifest.
    """
    ensure_owner(actor, case)
    unknown = sorted(set(concerns) - set(CONCERNS))
    if unknown:
        raise InvalidInput("unknown protection concerns %(unknown)s; known: %(known)s",
                           code="invalid_concern", unknown=", ".join(unknown), known=", ".join(CONCERNS))
    if case.state not in SCREENABLE:
        raise InvalidTransition("case %(case)s: cannot be screened in state '%(state)s'", case=case.reference,
                                state=Term("case_state", case.state))
    if not 0 <= medical_escorts <= 3:
        raise InvalidInput("medical_escorts must be between 0 and 3")
    still_open = open_concern_codes(session, case.id)
    if still_open and not concerns:
        # The refusal says that concerns are open on the case: an audited read, as every refusal saying so is (red team
        # round 76, F3).
        note_concern_told(session, actor.id, "refusal:screening.record", [case.reference])
        raise SafeguardViolation([safeguards.Violation(
            safeguards.NON_REFOULEMENT, case.reference,
            # Which concerns are open is not named: the case's screening, an audited read, says (round 35, F2).
            "a screening with no concerns cannot close the concerns open on the case (its screening names them); "
            "only a supervisor's written resolution closes a concern")])
    _unaccompanied_child_named(session, case, concerns, still_open)
    escorts_before = escorts_needed(session, [case.id]).get(case.id, 0)
    if set(concerns) - set(still_open):
        # A screening that raises a concern is recorded whatever escorts it asks for: it never lowers them (the need
        # stays), so nothing about escorts can stop a concern from being recorded and the person from leaving every
        # manifest at once (red team, high: an asylum claim on a case needing two escorts was refused as a lowering,
        # the API's and the page's escorts defaulting to 0, and the person stayed on the manifest).
        medical_escorts = max(medical_escorts, escorts_before)
    lowered = medical_escorts < escorts_before
    if lowered and not can(actor, "screening.resolve"):
        # Told that the case needs more, the officer reads that a need is recorded: an audited read, as the case
        # page's (red team round 36, F4).
        note_concern_told(session, actor.id, "refusal:screening.record", [case.reference],
                          action="screening.escorts_read")
        raise SafeguardViolation([safeguards.Violation(
            safeguards.MEDICAL_ESCORT, case.reference,
            # The need it was refused against is not named: it is read on the case's audited pages (round 8, L2).
            "case %(case)s needs more medical escorts than this screening asks for (%(after)s): asking for fewer is "
            "a supervisor's written resolution, as closing a concern is",
            {"case": case.reference, "after": medical_escorts})])
    if lowered:
        reason = written_reason(reason)
    screening = Screening(case_id=case.id, screened_by=actor.id, concerns=sorted(set(concerns)), notes=notes,
                          medical_escorts=medical_escorts)
    session.add(screening)
    session.flush()
    # Only the fact of a concern goes on the audit trail; details stay in the screening record.
    record(session, actor, "screening.record", "case", case.reference,
           after={"screening": screening.id, "concerns": screening.concerns, "medical_escorts": medical_escorts})
    if lowered:
        assert reason is not None
        session.add(ScreeningResolution(screening_id=screening.id, resolved_by=actor.id, decision="travel_permitted",
                                        reason=reason, concerns=[]))
        session.flush()
        record(session, actor, "screening.resolve", "case", case.reference,
               after={"screenings": [screening.id], "concerns": [], "decision": "travel_permitted",
                      "medical_escorts": {"from": escorts_before, "to": medical_escorts},
                      "reason_sha256": text_digest(session, reason)})
    if case.state == "registered":
        transition(session, actor, case, "screened", action="case.screened")
    return screening


def _unaccompanied_child_named(session: Session, case: Case, concerns: list[str], still_open: list[str]) -> None:
    """Safeguard 2 at screening: a minor with no adult of their household waiting with them is an unaccompanied
    child, and the screening says so (the concern a supervisor's best-interests determination answers), unless a
    determination is already recorded. Red team: a four-year-old registered alone and screened with no concern
    went on to 'ready', a state `retorno demo check` (`minors_with_an_adult`) calls broken."""
    if "unaccompanied_child" in {*concerns, *still_open} or not left_alone(session, [case], utcnow().date()):
        return
    if safeguards.is_minor(case.birth_date, utcnow().date()):
        why = ("case %(case)s is a minor with no adult of their household waiting with them: the screening names the "
               "unaccompanied-child concern (a supervisor's best-interests determination lets them travel)")
    else:
        # An adult by this record's declaration: the official is told where the minor's date is (round 29b, F3).
        why = ("case %(case)s is a minor by a birth date the service holds for the person elsewhere (the civil "
               "registry's, or another record's of theirs), with no adult of their household waiting with them: the "
               "screening names the unaccompanied-child concern (a supervisor's best-interests determination lets "
               "them travel; a wrong date is corrected on the record that holds it)")
    raise SafeguardViolation([safeguards.Violation(safeguards.CHILDREN, case.reference, why, {"case": case.reference})])


def left_alone(session: Session, cases: Sequence[Case], today: date, *, counting_determinations: bool = True
               ) -> list[Case]:
    """Those of `cases` who are minors with no adult of their household waiting with them and no best-interests
    determination recorded that counts (not spent: `spend_determinations`; none asked, with
    `counting_determinations` False). A minor by the declared birth date or the verified registry record's
    (`safeguards.counts_as_minor`), an adult by both. An adult waits with them before boarding; an adult aboard
    (`boarded`, until arrival) only with a minor on the manifest of the flight they boarded, at the aircraft's door
    (a household boards one by one): a minor off it, registered after the adults flew or left off their flight, is
    alone (red team round 28b, F5)."""
    registry = births_elsewhere(session, [c.id for c in cases])
    minors = [c for c in cases if safeguards.counts_as_minor(c.birth_date, registry.get(c.id), today)]
    if not minors:
        return []
    determined = set(session.execute(sa.select(BestInterestsDetermination.case_id).where(
        BestInterestsDetermination.case_id.in_([c.id for c in minors]), COUNTING)).scalars()) \
        if counting_determinations else set()
    households = {c.household_id for c in minors if c.household_id is not None}
    adults: dict[int | None, dict[int, str]] = {}
    if households:
        members = session.execute(
            sa.select(Case.household_id, Case.id, Case.birth_date, Case.state).where(
                Case.household_id.in_(sorted(households)), Case.state.in_(sorted(lifecycle.ACCOMPANYING)))).all()
        registry.update(births_elsewhere(session, [case_id for _, case_id, _, _ in members if case_id not in registry]))
        for household_id, case_id, birth, state in members:
            if not safeguards.counts_as_minor(birth, registry.get(case_id), today):
                adults.setdefault(household_id, {})[case_id] = state
    aboard = [case_id for household in adults.values() for case_id, state in household.items() if state == "boarded"]
    boarded_on = _flights_of(session, aboard, boarded=True)
    # An adult holding a seat on a manifest waits with a minor on that flight's manifest only, as one aboard does at
    # its door: the minor of a split household left off it is alone (red team round 40, F1: a child screened after her
    # mother went on a flight, the household split, was screened with no concern and went on to 'ready').
    seated = [case_id for household in adults.values() for case_id, state in household.items()
              if state == "manifested"]
    seated_on = _flights_of(session, seated, boarded=False)
    # An adult waiting by this record whose person holds a seat by another (on a manifest, aboard a flight until
    # received) or was received by one after this record was registered (`cases.facts.other_records`) waits with a
    # minor at the door of that flight only (red team round 29b, F1: a child registered into ICE's household of a
    # mother aboard INM's departed flight was screened as accompanied and made ready).
    waiting = [case_id for household in adults.values() for case_id, state in household.items() if state != "boarded"]
    away = {case_id: {o.flight for o in others if o.flight is not None} for case_id, others in other_records(
        session, list(session.execute(sa.select(Case).where(among(Case.id, waiting))).scalars())
        if waiting else []).items()}
    away = {case_id: flights for case_id, flights in away.items() if flights}
    manifested_on = _flights_of(session, [c.id for c in minors], boarded=False) if aboard or away or seated else {}

    def waits_with(minor: Case, adult: int) -> bool:
        if adult == minor.id:
            return False
        if adults[minor.household_id][adult] == "boarded":
            return bool(boarded_on.get(adult, set()) & manifested_on.get(minor.id, set()))
        if adults[minor.household_id][adult] == "manifested" and adult in seated_on:
            # One still 'manifested' holding no seat is being taken off every manifest (red team round 50b, F1): as
            # any adult waiting, below.
            return bool(seated_on[adult] & manifested_on.get(minor.id, set()))
        return adult not in away or bool(away[adult] & manifested_on.get(minor.id, set()))

    return [c for c in minors if c.id not in determined
            and not any(waits_with(c, adult) for adult in adults.get(c.household_id, {}))]


def _flights_of(session: Session, case_ids: list[int], *, boarded: bool) -> dict[int, set[str]]:
    """The flights (references) each of `case_ids` boarded (`boarded`), or whose manifest each is on."""
    if not case_ids:
        return {}
    which = Passenger.boarding == "boarded" if boarded else Passenger.approval.in_(ACTIVE_APPROVALS)
    flights: dict[int, set[str]] = {}
    for case_id, flight_id in session.execute(
            sa.select(Passenger.case_id, Flight.reference).join(Flight, Flight.id == Passenger.flight_id).where(
            among(Passenger.case_id, case_ids), which)):
        flights.setdefault(case_id, set()).add(flight_id)
    return flights


def raise_unaccompanied(session: Session, by: User, case: Case, *, reason: str) -> Screening | None:
    """Record the unaccompanied-child concern of `case`, a minor a change just left with no adult of their household
    waiting with them (`left_alone`), unless it is open already: by the official whose act left them so, in the
    same transaction, audited with `reason` (kept, as a screening's notes are, encrypted). The medical escorts the
    case needs stay as its last screening said. The caller takes the consequences (`travel.service`)."""
    if "unaccompanied_child" in open_concern_codes(session, case.id):
        return None
    escorts = escorts_needed(session, [case.id]).get(case.id, 0)
    screening = Screening(case_id=case.id, screened_by=by.id, concerns=["unaccompanied_child"], notes=reason,
                          medical_escorts=escorts)
    session.add(screening)
    session.flush()
    record(session, by, "screening.record", "case", case.reference,
           after={"screening": screening.id, "concerns": screening.concerns, "medical_escorts": escorts,
                  "automatic": True}, reason=reason)
    return screening


@action("screening.resolve")
def resolve_screening(session: Session, actor: User, case: Case, *, decision: str, reason: str,
                      concerns: list[str] | None = None, reverses_withdrawal: bool = False) -> ScreeningResolution:
    """A supervisor's written resolution of named open concerns, whichever screenings raised them.

    With one kind of concern open, `concerns` may be left out; with several, the resolution names
    those it closes, so a reason written for one concern (a medical escort arranged) never closes
    another (a pending asylum claim) unseen.

    'travel_permitted' closes the concerns. 'withdrawn' withdraws the case from return (the person is not to be
    returned): it closes nothing, and the concerns stay open, holding every other record of the person. Permitting
    travel on a case so withdrawn reverses that decision and releases the person's other records: it is refused
    unless the resolution says it reverses it (`reverses_withdrawal`), audited so (red team round 82, F1: a 'travel
    permitted' on a case withdrawn the minute before, for an asylum claim admitted, was taken as any other).
    """
    ensure_owner(actor, case)
    if decision not in ("travel_permitted", "withdrawn"):
        raise InvalidInput("decision must be 'travel_permitted' or 'withdrawn'")
    withdrawn_by = withdrawn_by_resolution(session, case)
    if decision == "withdrawn" and case.state == "withdrawn":
        raise InvalidTransition("case %(case)s is withdrawn already: its open concerns hold the person's other "
                                "records as they are", code="invalid_transition.case", case=case.reference)
    if withdrawn_by is not None and not reverses_withdrawal:
        raise InvalidTransition(
            "case %(case)s was withdrawn from return by a protection resolution on %(on)s (the person not to be "
            "returned); permitting travel now reverses that decision and releases the person's other records: say "
            "so (reverses_withdrawal), with the reason", code="resolution_reverses_withdrawal", case=case.reference,
            on=withdrawn_by.date())
    if reverses_withdrawal and withdrawn_by is None:
        raise InvalidInput("case %(case)s was not withdrawn by a protection resolution: there is no such decision to "
                           "reverse", code="nothing_to_reverse", case=case.reference)
    reason = written_reason(reason)
    still_open = open_concern_codes(session, case.id)
    if not still_open:
        raise InvalidInput("case %(case)s has no open screening concern to resolve",
                           code="nothing_to_resolve", case=case.reference)
    if concerns is None:
        if len(still_open) > 1 and decision == "travel_permitted":
            # Which are open is the screening's to tell, an audited read (red team round 35, F2), as below.
            raise InvalidInput("case %(case)s has several open concerns: name the ones this resolution closes (the "
                               "case's screening names them)", code="concerns_required", case=case.reference)
        concerns = still_open
    named = sorted(set(concerns))
    if not named:
        # An empty list closes nothing: said as such, not as "no concern is not an open concern" (red team round 70,
        # F1: a supervisor could read that there was no open concern).
        raise InvalidInput("case %(case)s: a resolution names the open concerns it closes, and this one names none "
                           "(leave the list out where one kind of concern is open; the case's screening names those "
                           "open)", code="concerns_required", case=case.reference)
    unknown = [c for c in named if c not in still_open]
    if unknown:
        raise InvalidInput("case %(case)s: %(unknown)s is not an open concern (the case's screening names those "
                           "open)", code="invalid_concern", case=case.reference,
                           unknown=[concern_term(c) for c in unknown])
    # Each screening on which a named concern is still open, for those open on it: a concern a resolution closed
    # already is not closed again (red team round 52, F5: a second 'travel permitted' on a closed concern; and the
    # supervisors' queue counts a screening's resolved concerns, `cases.facts._still_open`).
    still = open_by_screening(session, case.id)
    screenings = [sc for sc in session.execute(sa.select(Screening).where(Screening.case_id == case.id)
                                               .order_by(Screening.id)).scalars()
                  if set(still.get(sc.id, ())) & set(named)]
    resolution = None
    for screening in screenings:
        resolution = ScreeningResolution(screening_id=screening.id, resolved_by=actor.id, decision=decision,
                                         reason=reason,
                                         concerns=sorted(set(still[screening.id]) & set(named)))
        session.add(resolution)
    session.flush()
    after: dict[str, object] = {"screenings": [sc.id for sc in screenings], "concerns": named, "decision": decision,
                                "reason_sha256": text_digest(session, reason)}
    if reverses_withdrawal:
        after["reverses_withdrawal"] = True
    record(session, actor, "screening.resolve", "case", case.reference, after=after)
    if decision == "withdrawn":
        transition(session, actor, case, "withdrawn", action="case.withdrawn",
                   reason="protection resolution (reason kept encrypted with the resolution)")
    else:
        advance(session, actor, case)
    assert resolution is not None
    return resolution


def withdrawn_by_resolution(session: Session, case: Case) -> datetime | None:
    """When `case`, withdrawn, was withdrawn by a protection resolution ('withdrawn') no later resolution reversed;
    None otherwise."""
    if case.state != "withdrawn":
        return None
    last = session.execute(
        sa.select(ScreeningResolution.decision, ScreeningResolution.resolved_at)
        .join(Screening, Screening.id == ScreeningResolution.screening_id)
        .where(Screening.case_id == case.id).order_by(ScreeningResolution.id.desc()).limit(1)).first()
    return last.resolved_at if last is not None and last.decision == "withdrawn" else None


@reader("screening.read_details")
def escorts_needed_now(session: Session, actor: User, case: Case) -> int | None:
    """The medical escorts the case's latest screening asks for, which a new screening's form starts from (red team
    round 3: it started from 0, and re-screening someone needing three escorts was a lowering, refused to an officer
    and made with a written reason by a supervisor who only meant to add a concern); None before any screening.
    It is health information, kept out of the timeline: reading it is audited, as the screenings' read is."""
    ensure_owner(actor, case)
    needed = escorts_needed(session, [case.id]).get(case.id)
    if needed is not None:
        record(session, actor, "screening.escorts_read", "case", case.reference)
    return needed


@reader("screening.read_details")
def screening_details(session: Session, actor: User, case: Case) -> list[dict[str, object]]:
    """The sensitive screening history of a case; every read is written to the audit log."""
    ensure_owner(actor, case)
    screenings = list(session.execute(sa.select(Screening).where(Screening.case_id == case.id)
                                      .order_by(Screening.id)).scalars())
    resolutions: dict[int, list[ScreeningResolution]] = {}
    for resolution in session.execute(sa.select(ScreeningResolution).where(
            ScreeningResolution.screening_id.in_([s.id for s in screenings])).order_by(ScreeningResolution.id)
    ).scalars():
        resolutions.setdefault(resolution.screening_id, []).append(resolution)
    record(session, actor, "screening.read", "case", case.reference)
    return [{
        "id": s.id, "screened_at": s.screened_at, "concerns": s.concerns, "notes": s.notes,
        "medical_escorts": s.medical_escorts,
        "resolutions": [{"decision": r.decision, "reason": r.reason, "resolved_at": r.resolved_at,
                         "concerns": r.concerns if r.concerns is not None else s.concerns,
                         "closed": r.decision == "travel_permitted"}
                        for r in resolutions.get(s.id, [])],
    } for s in screenings]


# What a guardian field holds when it names nobody, folded (`names.fold`): placeholders officials type to get past a
# required field.
_NOBODY = frozenset({
    "NA", "N A", "NO APLICA", "NINGUNO", "NINGUNA", "NADIE", "NONE", "NOBODY", "NULL", "NIL", "UNKNOWN",
    "DESCONOCIDO", "DESCONOCIDA", "PENDIENTE", "PENDING", "POR DEFINIR", "POR CONFIRMAR", "A DEFINIR", "TBD", "TBC",
    "SIN DATOS", "SIN NOMBRE", "NO SE SABE", "XXX", "TEST", "PRUEBA", "GUARDIAN", "TUTOR", "TUTORA", "TUTOR LEGAL",
    "AUTORIDAD", "OTRO", "OTRA", "OTHER", "N D", "ND", "S D", "SD", "NO", "SI", "YES", "OK",
})


# Words that name nobody on their own, besides those that say nothing (`reasons.SAYS_NOTHING`): 'sin tutor', 'ninguna
# persona', 'to be determined' (red team round 39, F1: 'a determinar', 'no one' and 'Нет' let a child be approved
# alone).
_NOBODY_WORDS = SAYS_NOTHING | frozenset({
    "TUTOR", "TUTORA", "GUARDIAN", "GUARDIANA", "PERSONA", "PERSON", "LEGAL", "RECEPTOR", "RECEPTORA", "AUTORIDAD",
    "AUTHORITY", "SOMEONE", "SOMEBODY", "ALGUIEN", "OTRO", "OTRA", "OTHER", "FAMILIAR", "FAMILY", "FAMILIA",
})


def names_someone(text: str) -> bool:
    """Whether `text` names a person or an authority: three letters at least, not one letter repeated, not a
    placeholder (`_NOBODY`: 'n/a', 'ninguno', 'pendiente' ...), and a word that may be a name (`reasons.telling`)."""
    letters = [character for character in text if character.isalpha()]
    folded = " ".join(names.fold(text).split())
    return (len(letters) >= 3 and len(set(map(str.lower, letters))) > 1 and folded not in _NOBODY
            and any(telling(word, _NOBODY_WORDS) for word in said_words(text)))


def best_interests_problem(session: Session, case: Case) -> InvalidInput | InvalidTransition | None:
    """Why a best-interests determination may not be recorded for `case` now, or None: it is a decision about a child
    who waits, before boarding, with no adult of their household waiting with them (`left_alone`), once. The case page
    offers the form only where this is None.

    Red team round 66, F2: one recorded of an adult stood in for her when a corrected birth date later made her a minor
    alone (no unaccompanied-child concern was raised, and no supervisor ever looked at her as a child). Round 67, F1 and
    F2: one recorded of a child travelling with her parents, on a locked manifest, at the aircraft's door, in the air
    or arrived, made the arrival desk name her an unaccompanied minor to be handed to its guardian; and one recorded
    while the child's mother waited with him covered the separation an officer made later, withdrawing her: the child
    went alone on a manifest with no concern."""
    if case.state not in lifecycle.BEFORE_BOARDING:
        return InvalidTransition("case %(case)s is '%(state)s': a best-interests determination is recorded while the "
                                 "child waits, before boarding", code="best_interests_state", case=case.reference,
                                 state=Term("case_state", case.state))
    today = utcnow().date()
    if not safeguards.counts_as_minor(case.birth_date, births_elsewhere(session, [case.id]).get(case.id), today):
        return InvalidTransition("case %(case)s is not a minor: a best-interests determination is recorded for a "
                                 "child", code="best_interests_not_minor", case=case.reference)
    if session.execute(sa.select(BestInterestsDetermination.id)
                       .where(BestInterestsDetermination.case_id == case.id, COUNTING)).first() is not None:
        return InvalidInput("case %(case)s already has a best-interests determination", case=case.reference)
    if not left_alone(session, [case], today):
        return InvalidTransition("case %(case)s waits with an adult of their household: a best-interests "
                                 "determination is recorded for a child with none", code="best_interests_accompanied",
                                 case=case.reference)
    return None


@action("child.decide")
def record_best_interests(session: Session, actor: User, case: Case, *, summary: str,
                          receiving_guardian: str) -> BestInterestsDetermination:
    """Let an unaccompanied child travel: a supervisor's determination naming the receiving guardian."""
    ensure_owner(actor, case)
    summary = written_reason(summary)
    if not receiving_guardian.strip():
        raise InvalidInput("a best-interests determination needs a summary and a named receiving guardian",
                           code="reason_required")
    if not names_someone(receiving_guardian):
        # SPEC.md 4.2: a child travels alone only to a named guardian or child-protection authority; '-' or 'n/a'
        # names nobody (red team round 38, F1: a baby was approved alone on a manifest with the guardian '-').
        raise InvalidInput("the receiving guardian names a person or a child-protection authority (a name, not "
                           "'%(value)s')", code="guardian_required", value=receiving_guardian.strip())
    problem = best_interests_problem(session, case)
    if problem is not None:
        raise problem
    # A spent one's row takes the new determination (one row a case; the audit trail keeps each).
    determination = session.execute(sa.select(BestInterestsDetermination).where(
        BestInterestsDetermination.case_id == case.id)).scalar_one_or_none() or BestInterestsDetermination(
        case_id=case.id)
    determination.decided_by, determination.decided_at, determination.spent_at = actor.id, utcnow(), None
    determination.summary, determination.receiving_guardian = summary, receiving_guardian.strip()
    session.add(determination)
    session.flush()
    record(session, actor, "child.best_interests", "case", case.reference,
           after={"determination": determination.id, "summary_sha256": text_digest(session, summary),
                  "receiving_guardian_sha256": text_digest(session, receiving_guardian.strip())})
    return determination


def spend_determinations(session: Session, by: User | None, household_ids: Collection[int]) -> None:
    """The best-interests determinations of the minors of these households, each answering a separation, are spent
    once an adult of the household waits with the child again: a separation after it is a new one, which names the
    child unaccompanied again, for a supervisor to look at (and a new determination). Asked where someone joins a
    household (`travel.service.household_grew`) and at the end of every step for the households it touched
    (`travel.service._spent_where_accompanied`): an adult taken off a flight, whose concern is resolved, whose birth
    date is corrected to an adult's, or who joins. Red team round 68, F1: a boy moved out of his household, given a
    determination, and moved back in with his mother was left alone on a manifest with no concern when an officer later
    withdrew her; round 69, F1 and F2: the same after his mother was taken off her flight, after her concern was
    resolved, after her birth date was corrected back. A child holding a seat keeps the determination the manifest
    was approved with: whoever waits off it does not travel with them."""
    if not household_ids:
        return
    today = utcnow().date()
    found = session.execute(
        sa.select(BestInterestsDetermination, Case).join(Case, Case.id == BestInterestsDetermination.case_id)
        .where(among(Case.household_id, sorted(household_ids)), COUNTING,
               Case.state.in_(sorted(lifecycle.ACCOMPANYING)))).all()
    if not found:
        return
    seated = set(session.execute(sa.select(Passenger.case_id).where(
        among(Passenger.case_id, [child.id for _, child in found]),
        Passenger.approval.in_(ACTIVE_APPROVALS))).scalars())
    for determination, child in found:
        if child.id not in seated and not left_alone(session, [child], today, counting_determinations=False):
            determination.spent_at = utcnow()
            record(session, by, "child.best_interests_spent", "case", child.reference,
                   after={"determination": determination.id},
                   reason="an adult of the household waits with the child again")
    session.flush()


# The flight states in which the arrival desk names the guardians of the children it receives.
GUARDIAN_SHOWN = frozenset({"departed", "arrived"})


def receiving_guardians(session: Session, by: User, flight: Flight, case_ids: Sequence[int]) -> dict[int, str]:
    """The named receiving guardian or child-protection authority of each of `case_ids` (the approved passengers of
    `flight`) who travels under a best-interests determination, for the arrival desk that hands the child over
    (SPEC.md 4.2; red team round 45a, F4: the name was shown to nobody on the receiving side). Reading it is a read of
    a protection field: audited once per reading, on the flight, naming the cases. A step of the arrival desk, which
    is open only to those who confirm arrivals (`arrival.confirm`). From the flight's departure on, when the child is
    on the way to be handed over: not from the manifest's lock, weeks before (red team round 47b, F1)."""
    if flight.state not in GUARDIAN_SHOWN:
        return {}
    found: dict[int, str] = dict(session.execute(
        sa.select(BestInterestsDetermination.case_id, BestInterestsDetermination.receiving_guardian)
        .where(among(BestInterestsDetermination.case_id, list(case_ids)), COUNTING)).all()) if case_ids else {}
    if found:
        references = sorted(session.execute(sa.select(Case.reference).where(among(Case.id, list(found)))).scalars())
        record(session, by, "screening.guardian_read", "flight", flight.reference, after={"cases": references})
    return found

