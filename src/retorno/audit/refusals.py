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


def note_seen(session: Session, reference: str, told: bool) -> None:
    session.info.setdefault(SEEN, {})[reference] = told


def begin_action(session: Session) -> dict[str, bool]:
    """What the facts noted before an action began: set aside, so that the action's own notes are its alone."""
    outer: dict[str, bool] = session.info.pop(SEEN, {})
    return outer


def end_action(session: Session, outer: dict[str, bool], *, refused_by: int | None, capability: str) -> None:
    """After an action: a refused one turns the cases its facts noted into pending audit records."""
    seen: dict[str, bool] = session.info.pop(SEEN, {})
    if refused_by is not None:
        session.info.setdefault(PENDING, []).extend(
            (refused_by, capability, reference, told) for reference, told in sorted(seen.items()))
    session.info[SEEN] = {**outer, **seen}


def _write(session: Session, pending: list[tuple[int, str, str, bool]]) -> None:
    for actor_id, capability, reference, told in dict.fromkeys(pending):
        record(session, session.get(User, actor_id), ACTION, "case", reference,
               after={"action": capability, "told_held_elsewhere": told})


def write_after_rollback(session: Session) -> None:
    """Write the refused attempts of a unit of work that was rolled back, in a transaction of their own."""
    pending = session.info.pop(PENDING, None)
    session.info.pop(SEEN, None)
    if pending:
        _write(session, pending)
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
