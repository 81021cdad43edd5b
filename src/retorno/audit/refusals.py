"""Refused attempts on a case whose person another agency's record holds a protection concern for are audited.

Such a concern stops the case at every door (`safeguards.protection`), but what the refusal tells depends on
whether the case is ready by its own record; either way the attempt is written to the audit trail, so that
asking about a cédula again and again is seen. The facts (`cases.facts.traveller_facts`) note in the session
which cases they found so held; an action that is refused (`agencies.permissions.action`) turns those notes
into pending records; they are written when the unit of work commits, or, when it is rolled back with the
refusal, in a transaction of their own right after (`write_after_rollback`), as a failed login is.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import db
from retorno.agencies.models import User
from retorno.audit.service import record

# Per reference of a case whose person another agency holds a concern open for: whether the refusal may say
# so (the case is ready by its own record).
SEEN = "retorno.held_elsewhere_seen"
# (actor id, capability, reference, told) of the refused attempts not yet written.
PENDING = "retorno.held_elsewhere_refused"
ACTION = "safeguard.refused_held_elsewhere"


# The references of the cases the facts found with a concern open (any record of the person): a refusal of the action
# that read them says so ("a protection concern is not resolved"), which is the read `note_concern_told` records.
CONCERNS_SEEN = "retorno.concerns_seen"
# (actor id, action, door) to the references of the cases shown to that actor as held back by an open concern (or
# needing medical escorts), not yet written.
CONCERNS_TOLD = "retorno.concerns_told"
# The action of such a read: the one the case list's concern filter and the work queue write.
CONCERN_LIST = "cases.concern_list"


def note_seen(session: Session, reference: str, told: bool) -> None:
    session.info.setdefault(SEEN, {})[reference] = told


def note_concern_seen(session: Session, reference: str) -> None:
    """The facts found a concern open on the person of this case (`cases.facts.traveller_facts`)."""
    session.info.setdefault(CONCERNS_SEEN, set()).add(reference)


# The references of the cases the facts found needing medical escorts: a refusal of the action for the medical staff a
# flight lacks tells what they need together (one added alone, what that one needs: red team round 37, F4).
MEDICAL_SEEN = "retorno.medical_seen"


def note_medical_seen(session: Session, reference: str) -> None:
    session.info.setdefault(MEDICAL_SEEN, set()).add(reference)


def note_concern_told(session: Session, actor_id: int, door: str, references: list[str] | set[str],
                      action: str = CONCERN_LIST) -> None:
    """`actor_id` was shown, at `door`, that these cases' persons have a protection concern open (a refusal saying
    so; a case's state that for them means it, `agencies.visibility.state_of`): one audited read per actor and door
    (`CONCERN_LIST`), written when the unit of work commits or, rolled back, right after (SPEC.md 4.7; red team
    round 36, F1 and F2: `state=documented` and a refused manifest addition of 110 cases named who is held back,
    where the concern filter was audited). Another `action` is a read of one case each (`screening.escorts_read`:
    a refusal saying a case needs more medical escorts than asked, round 36, F4)."""
    if references:
        session.info.setdefault(CONCERNS_TOLD, {}).setdefault((actor_id, action, door), set()).update(references)


Noted = tuple[dict[str, bool], set[str], set[str]]


def begin_action(session: Session) -> Noted:
    """What the facts noted before an action began: set aside, so that the action's own notes are its alone."""
    outer: dict[str, bool] = session.info.pop(SEEN, {})
    return outer, session.info.pop(CONCERNS_SEEN, set()), session.info.pop(MEDICAL_SEEN, set())


def end_action(session: Session, outer: Noted, *, refused_by: int | None, capability: str,
               refusal: Exception | None = None) -> None:
    """After an action: a refused one turns the cases its facts noted into pending audit records (`refusal`: what it
    was refused with; one for the medical staff a flight lacks records what its cases needing escorts were read)."""
    seen: dict[str, bool] = session.info.pop(SEEN, {})
    concerns: set[str] = session.info.pop(CONCERNS_SEEN, set())
    medical: set[str] = session.info.pop(MEDICAL_SEEN, set())
    if refused_by is not None:
        session.info.setdefault(PENDING, []).extend(
            (refused_by, capability, reference, told) for reference, told in sorted(seen.items()))
        note_concern_told(session, refused_by, "refusal:" + capability, concerns)
        if any(getattr(v, "rule", None) == "medical_escort" for v in getattr(refusal, "violations", None) or []):
            note_concern_told(session, refused_by, "refusal:" + capability, medical, action="screening.escorts_read")
    session.info[SEEN] = {**outer[0], **seen}
    session.info[CONCERNS_SEEN] = outer[1] | concerns
    session.info[MEDICAL_SEEN] = outer[2] | medical


def _write(session: Session, pending: list[tuple[int, str, str, bool]]) -> None:
    for actor_id, capability, reference, told in dict.fromkeys(pending):
        record(session, session.get(User, actor_id), ACTION, "case", reference,
               after={"action": capability, "told_held_elsewhere": told})


def _write_concerns_told(session: Session, told: dict[tuple[int, str, str], set[str]]) -> None:
    for (actor_id, action, door), references in sorted(told.items()):
        actor = session.get(User, actor_id)
        if action == CONCERN_LIST:
            record(session, actor, CONCERN_LIST, "case_list", actor.agency.code if actor else "",
                   after={"from": door, "rows": len(references), "cases": sorted(references)})
            continue
        for reference in sorted(references):
            record(session, actor, action, "case", reference, after={"from": door})


def write_after_rollback(session: Session) -> None:
    """Write the refused attempts of a unit of work that was rolled back, and what it told of open concerns, in a
    transaction of their own."""
    pending = session.info.pop(PENDING, None)
    told = session.info.pop(CONCERNS_TOLD, None)
    session.info.pop(SEEN, None)
    session.info.pop(CONCERNS_SEEN, None)
    session.info.pop(MEDICAL_SEEN, None)
    if pending or told:
        if pending:
            _write(session, pending)
        if told:
            _write_concerns_told(session, told)
        session.commit()


# `db.transaction` rolls back a refused unit of work, then lets this write what it noted.
db.AFTER_ROLLBACK.append(write_after_rollback)


@sa.event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    """Refused attempts inside a unit of work that commits (a bulk action refused for some people) are written
    with it."""
    pending: Any = session.info.pop(PENDING, None)
    if pending:
        _write(session, pending)
    told: Any = session.info.pop(CONCERNS_TOLD, None)
    if told:
        _write_concerns_told(session, told)
