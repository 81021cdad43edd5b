"""Edits made from an older version of a record are refused, naming who changed it since and when.

Every record people edit carries a version (`db.Versioned`). A page's form holds the version it
showed, the API's If-Match the ETag it read; the action compares it with the record's version before
writing anything. Who changed the record and when is read from the audit trail, which every change
writes to: the newest change recorded on the record's audit object is one made since the editor
opened it, since the version moved after they read it and every move writes a record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency, User
from retorno.agencies.visibility import told_as_another_agency
from retorno.audit.models import AuditRecord
from retorno.db import Versioned, among
from retorno.errors import EditConflict, Message

# The newest records of an object searched for the change that `about` picks out.
SEARCHED = 200
# The reason on the audit record of each change an import makes to a record held before. A spreadsheet is a copy
# of records made some time ago: what an import wrote, a later import may change; a field an official changed by
# other doors since (a page, the API) it may not change unseen (`changed_by_hand`; red team round 22, X-F1).
IMPORTED = "import"


@dataclass(frozen=True)
class AuditObject:
    """Where the changes of a record are written in the audit trail, and which of its records they are.

    `actions`: prefixes of the actions that change it (empty: any action but a read); `about`: for a
    record audited under another object (a placement under its case), whether an audit record is about it.
    """

    object_type: str
    object_id: str
    actions: tuple[str, ...] = ()
    about: Callable[[AuditRecord], bool] | None = None


@dataclass(frozen=True)
class Change:
    """Who last changed a record, and when."""

    actor: str
    agency: str
    at: datetime
    action: str


# Records on an object that change nothing of it: reads, an export, a refused attempt audited (red team round 38, F3:
# a refused manifest addition on the case was named as the change made since the editor opened it).
NOT_CHANGES = ("document.export", "intake.lookup_failed", "import.alike_elsewhere")
NOT_CHANGE_PREFIXES = ("safeguard.refused",)


def last_change(session: Session, audited: AuditObject) -> Change | None:
    """The newest change the audit trail holds for `audited` (reads, exports and refused attempts are not changes)."""
    query = sa.select(AuditRecord).where(AuditRecord.object_type == audited.object_type,
                                         AuditRecord.object_id == audited.object_id,
                                         ~AuditRecord.action.endswith("read"), AuditRecord.action.not_in(NOT_CHANGES),
                                         *(~AuditRecord.action.startswith(prefix) for prefix in NOT_CHANGE_PREFIXES))
    if audited.actions:
        query = query.where(sa.or_(*(AuditRecord.action.startswith(prefix) for prefix in audited.actions)))
    for row in session.execute(query.order_by(AuditRecord.seq.desc()).limit(SEARCHED)).scalars():
        if audited.about is None or audited.about(row):
            return Change(row.actor, row.agency, row.at, row.action)
    return None


def changed_by_hand(session: Session, object_type: str, object_ids: Sequence[str], action: str
                    ) -> dict[str, dict[str, Change]]:
    """Per record (by its audit object id), the fields whose newest change (`action` records, their `after`'s keys)
    was not made by an import (`IMPORTED`), with who made it and when."""
    newest: dict[str, dict[str, Change | None]] = {}
    ids = sorted(set(object_ids))
    for start in range(0, len(ids), 5000):
        rows = session.execute(
            sa.select(AuditRecord.object_id, AuditRecord.actor, AuditRecord.agency, AuditRecord.at,
                      AuditRecord.action, AuditRecord.after, AuditRecord.reason)
            .where(AuditRecord.object_type == object_type, among(AuditRecord.object_id, ids[start:start + 5000]),
                   AuditRecord.action == action)
            .order_by(AuditRecord.seq.desc()))
        for object_id, actor, agency, at, done, after, reason in rows:
            fields = newest.setdefault(object_id, {})
            for name in after or {}:
                if name not in fields:
                    fields[name] = None if reason == IMPORTED else Change(actor, agency, at, done)
    return {object_id: {name: change for name, change in fields.items() if change is not None}
            for object_id, fields in newest.items()}


# Who a refusal says changed a record when it was another sending state's agency (through its record of the same
# person: a protection concern it holds pulls this one off a manifest), as the case's timeline says it
# (`cases.service.ANOTHER_AGENCY`).
ANOTHER_AGENCY = "another agency"


def told_change(session: Session, reader: User | None, change: Change | None) -> Change | None:
    """`change` as `reader` may be told it: an official of another country's sending agency, and what they did, are
    named to nobody (red team round 37, F2: INM's stale edit was told "changed by ice.oficial (US-ICE)", action
    `manifest.removed`, where the timeline says "another agency")."""
    if change is None or reader is None or change.agency == reader.agency.code:
        return change
    kind, country = session.execute(sa.select(Agency.kind, Agency.country).where(Agency.code == change.agency)
                                    ).one_or_none() or (None, None)
    if told_as_another_agency(reader.agency.country, kind, country, change.action):
        return Change(ANOTHER_AGENCY, ANOTHER_AGENCY, change.at, "")
    return change


def check_version(session: Session, record: Versioned, expected: int | None, *, label: Message,
                  audited: AuditObject, reader: User | None = None) -> None:
    """Refuse (EditConflict) an edit made from version `expected` of `record` if it is no longer current.

    `expected` None: the caller states no version (a step whose state machine refuses stale steps).
    `label` names the record in the message ("case %(case)s"); who changed it is told as `reader` may be told it
    (`told_change`).
    """
    if expected is None or expected == record.version:
        return
    change = told_change(session, reader, last_change(session, audited))
    details = {"changed_by": change.actor if change else None, "agency": change.agency if change else None,
               "changed_at": change.at.isoformat() if change else None,
               "action": (change.action or None) if change else None,
               "your_version": expected, "current_version": record.version}
    if change is not None and change.actor == ANOTHER_AGENCY:
        raise EditConflict(
            "%(label)s was changed by another agency at %(when)s UTC since you opened it (you opened version "
            "%(expected)s; it is now at version %(version)s): nothing was saved; read it again and make your change "
            "on the current version", details=details, label=label, when=f"{change.at:%Y-%m-%d %H:%M:%S}",
            expected=expected, version=record.version)
    if change is None:
        raise EditConflict(
            "%(label)s was changed by another user since you opened it (you opened version %(expected)s; it is now "
            "at version %(version)s): nothing was saved; read it again and make your change on the current version",
            details=details, label=label, expected=expected, version=record.version)
    raise EditConflict(
        "%(label)s was changed by %(by)s (%(agency)s) at %(when)s UTC since you opened it (you opened version "
        "%(expected)s; it is now at version %(version)s): nothing was saved; read it again and make your change on "
        "the current version",
        details=details, label=label, by=change.actor, agency=change.agency, when=f"{change.at:%Y-%m-%d %H:%M:%S}",
        expected=expected, version=record.version)
