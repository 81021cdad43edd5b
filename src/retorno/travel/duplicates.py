"""Possible duplicates: two records an import found alike, for a supervisor to decide (SPEC.md 4.1).

An import flags two records that may be one person (`cases.duplicates`, `travel.load`). Until a supervisor decides,
a pair whose person has a protection concern open holds both records back (`cases.facts.protection_status`): the
same person typed twice, with no number in common, must not fly on the record without the asylum claim. The
supervisor decides once, with a written reason: `same_person` links the two records for good (`facts._linked_pairs`:
every concern of one holds the other), `different_people` ends the hold.

What follows for travel is the same as for any concern open on a record of the person: a passenger held so leaves
every manifest at once (`pull_held`), when a flag is made for them, when a concern is raised on their possible
duplicate, or when a decision makes them one person with a record holding one; the commit-time guard
(`travel.invariants`) checks the manifests of both records of every flag written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import action, reader
from retorno.audit.service import record, text_digest
from retorno.cases.duplicates import describe_reason
from retorno.cases.facts import protection_status, same_person, undecided_duplicates
from retorno.cases.models import DUPLICATE_DECISIONS, Case, PossibleDuplicate
from retorno.cases.service import LINKED_RECORD_REACTIONS, advance, ensure_owner
from retorno.db import among, utcnow
from retorno.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, written_reason
from retorno.flights.service import take_off_manifests


@dataclass(frozen=True)
class DuplicateShown:
    """A possible duplicate of a case as its page and the API show it."""

    other: str
    score: float
    # Why the import found them alike, in Spanish and in English (`cases.duplicates.describe_reason`).
    reason_es: str
    reason_en: str
    decision: str | None
    decided_at: datetime | None
    # Whether the pair holds the case back now (undecided, and a protection concern open on either person).
    holding: bool


def _pairs(session: Session, case: Case) -> list[tuple[PossibleDuplicate, Case]]:
    rows = session.execute(sa.select(PossibleDuplicate).where(
        sa.or_(PossibleDuplicate.case_id == case.id, PossibleDuplicate.other_case_id == case.id))
        .order_by(PossibleDuplicate.id)).scalars().all()
    pairs = []
    for pair in rows:
        other = session.get(Case, pair.other_case_id if pair.case_id == case.id else pair.case_id)
        assert other is not None
        pairs.append((pair, other))
    return pairs


@reader("duplicate.read")
def possible_duplicates(session: Session, actor: User, case: Case) -> list[DuplicateShown]:
    """The possible duplicates of `case`, either side of the pair, oldest first."""
    ensure_owner(actor, case)
    pairs = _pairs(session, case)
    if not pairs:
        return []
    status = protection_status(session, [case.id, *(other.id for _, other in pairs)])
    shown = []
    for pair, other in pairs:
        holding = pair.decision is None and bool(status[case.id][1] or status[other.id][1])
        shown.append(DuplicateShown(other.reference, round(pair.score, 3), describe_reason(pair.reason, "es"),
                                    describe_reason(pair.reason, "en"), pair.decision, pair.decided_at, holding))
    return shown


@action("duplicate.decide")
def decide_duplicate(session: Session, actor: User, case: Case, other_reference: str, *, decision: str,
                     reason: str) -> PossibleDuplicate:
    """A supervisor of an agency holding one of the two records decides whether they are one person, once.

    `same_person` links the records for good: a record of the person on a manifest with a concern open on the other
    leaves it (`advance`, whose reactions pull linked records); `different_people` ends the hold, and each record
    moves on as far as its own facts allow.
    """
    ensure_owner(actor, case)
    if decision not in DUPLICATE_DECISIONS:
        raise InvalidInput("decision must be 'same_person' or 'different_people'", code="invalid_decision")
    reason = written_reason(reason)
    pair = next((pair for pair, other in _pairs(session, case) if other.reference == other_reference), None)
    if pair is None:
        raise NotFound("case %(case)s has no possible duplicate %(other)s", case=case.reference,
                       other=other_reference)
    other = session.get(Case, pair.other_case_id if pair.case_id == case.id else pair.case_id)
    assert other is not None
    if actor.agency_id not in (case.agency_id, other.agency_id):
        raise Forbidden("cases %(case)s and %(other)s are other agencies' records: a supervisor of an agency holding "
                        "one of them decides", code="forbidden.duplicate.decide", case=case.reference,
                        other=other.reference)
    if pair.decision is not None:
        raise InvalidTransition("the possible duplicate %(case)s / %(other)s was decided already (%(decision)s)",
                                code="duplicate_decided", case=case.reference, other=other.reference,
                                decision=pair.decision)
    pair.decision, pair.decided_by, pair.decided_at = decision, actor.id, utcnow()
    pair.decision_reason = reason
    session.flush()
    record(session, actor, "duplicate.decide", "case", case.reference,
           after={"other": other.reference, "decision": decision, "reason_sha256": text_digest(reason)})
    for record_ in (case, other):
        advance(session, actor, record_)
    return pair


def pull_held(session: Session, by: User | None, case_ids: Iterable[int]) -> list[str]:
    """Take off every manifest not yet flown, or back from 'ready', the records among `case_ids` and the other records
    of their people whom a possible duplicate now holds back for protection (or any concern of theirs); returns the
    references taken off."""
    ids = sorted(set(case_ids))
    if not ids:
        return []
    people = sorted(set(ids).union(*same_person(session, ids).values()))
    waiting: list[int] = []
    for chunk in (people[i:i + 5000] for i in range(0, len(people), 5000)):
        waiting += session.execute(sa.select(Case.id).where(among(Case.id, chunk), Case.state.in_(_HELD_STATES))
                                   ).scalars()
    taken: list[str] = []
    for case_id, (_, concerns, _) in sorted(protection_status(session, sorted(waiting)).items()):
        record_ = session.get(Case, case_id)
        if not concerns or record_ is None or record_.reference in taken:
            continue
        if record_.state in ("manifested", "boarded"):
            taken += take_off_manifests(session, by, record_, kind="protection_pull", back_to="documented",
                                        reason="a possible duplicate of this person has a protection concern open")
        else:
            advance(session, by, record_)  # back from 'ready'
    return taken


# The states a hold changes: on a manifest (taken off), or ready to be put on one (back to 'documented').
_HELD_STATES = ("ready", "manifested", "boarded")


def _pull_possible_duplicates(session: Session, by: User | None, case: Case) -> None:
    """A change to `case` (a concern raised, a link made) may hold back the possible duplicates of its person."""
    if session.info.get(_PULLING):
        return
    records = [case.id, *same_person(session, [case.id]).get(case.id, {})]
    flagged = undecided_duplicates(session, records)
    if not flagged:
        return
    session.info[_PULLING] = True
    try:
        pull_held(session, by, {other for others in flagged.values() for other in others})
    finally:
        session.info.pop(_PULLING, None)


_PULLING = "retorno.pulling_possible_duplicates"
LINKED_RECORD_REACTIONS.append(_pull_possible_duplicates)
