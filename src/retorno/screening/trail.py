"""Whether the protection screenings stored agree with the signed audit trail (SPEC.md 4.1 and 4.7).

The trail's hash chain and signed checkpoints show that no audit record was changed; they say nothing of the rows the
records describe. Whoever holds the database could empty a screening's concerns, lower its medical escorts, delete it,
or insert a resolution that closes a concern, and every record would still verify (red team round 90, F3: an open
asylum claim erased in a restored copy, `db restore`, `audit verify --against` and `demo check` all said intact, and
the person was put on a manifest). A concern is raised only by a screening and closed only by a supervisor's
resolution, each audited with what it raised or closed (`screening.service`): so the screenings and resolutions the
trail describes, replayed in order, must be exactly those stored. `off_trail` names each one that is not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.screening.models import Screening, ScreeningResolution

_RECORD, _RESOLVE = "screening.record", "screening.resolve"

# (screening id, decision, the concerns it closed on that screening): a resolution row as stored, or as the trail says.
_Resolution = tuple[int, str, tuple[str, ...]]


@dataclass(frozen=True)
class OffTrail:
    """A screening or resolution stored otherwise than the audit trail says: the case, the screening, what differs."""

    case: str
    screening: int
    problem: str


@dataclass
class TrailCheck:
    """What `off_trail` examined (screenings and resolutions on the trail) and what it found."""

    screenings: int
    resolutions: int
    problems: list[OffTrail]


def _concerns(value: Any) -> tuple[str, ...]:
    return tuple(sorted(set(value))) if isinstance(value, list) else ()


def off_trail(session: Session) -> TrailCheck:
    """Replay the screenings and resolutions on the audit trail and compare them with those stored: each screening
    (its case, concerns and medical escorts) and each resolution (its screening, decision and the concerns it
    closed) must be stored as audited, and nothing stored that the trail does not hold."""
    raised: dict[int, tuple[str, tuple[str, ...], int]] = {}
    closed: dict[int, set[str]] = {}
    expected: Counter[_Resolution] = Counter()
    problems: list[OffTrail] = []
    records = session.execute(sa.select(AuditRecord.action, AuditRecord.object_id, AuditRecord.after)
                              .where(AuditRecord.action.in_((_RECORD, _RESOLVE))).order_by(AuditRecord.seq))
    for action, case, after in records:
        after = after if isinstance(after, dict) else {}
        if action == _RECORD and isinstance(after.get("screening"), int):
            raised[after["screening"]] = (case, _concerns(after.get("concerns")),
                                          int(after.get("medical_escorts") or 0))
            continue
        if action != _RESOLVE:
            continue
        named, decision = set(_concerns(after.get("concerns"))), str(after.get("decision"))
        for sid in after.get("screenings") or []:
            if sid not in raised:
                problems.append(OffTrail(case, sid, "resolved on the trail, raised on it by no screening record"))
                continue
            closes = tuple(sorted((set(raised[sid][1]) - closed.get(sid, set())) & named))
            expected[(sid, decision, closes)] += 1
            if decision == "travel_permitted":
                closed.setdefault(sid, set()).update(closes)
    stored = {sid: (case, _concerns(concerns), escorts) for sid, case, concerns, escorts in session.execute(
        sa.select(Screening.id, Case.reference, Screening.concerns, Screening.medical_escorts)
        .join(Case, Case.id == Screening.case_id))}
    for sid in sorted(raised.keys() | stored.keys()):
        on_trail, kept = raised.get(sid), stored.get(sid)
        if on_trail != kept:
            problems.append(OffTrail((kept or on_trail or ("?",))[0], sid, _difference(on_trail, kept)))
    resolutions: Counter[_Resolution] = Counter(
        (sid, decision, _concerns(concerns)) for sid, decision, concerns in session.execute(
            sa.select(ScreeningResolution.screening_id, ScreeningResolution.decision, ScreeningResolution.concerns)))
    for (sid, decision, concerns), count in sorted((resolutions - expected).items()):
        problems.append(OffTrail(stored.get(sid, ("?",))[0], sid, f"{count} resolution(s) '{decision}' closing "
                                 f"{list(concerns)} stored, not on the trail"))
    for (sid, decision, concerns), count in sorted((expected - resolutions).items()):
        problems.append(OffTrail(stored.get(sid, raised.get(sid, ("?",)))[0], sid, f"{count} resolution(s) "
                                 f"'{decision}' closing {list(concerns)} on the trail, not stored"))
    return TrailCheck(len(raised), sum(expected.values()), problems)


def _difference(on_trail: tuple[str, tuple[str, ...], int] | None, kept: tuple[str, tuple[str, ...], int] | None
                ) -> str:
    if kept is None:
        return "on the trail, not stored (deleted)"
    if on_trail is None:
        return "stored, not on the trail"
    said = [f"{what}: {trail!r} on the trail, {stored!r} stored"
            for what, trail, stored in zip(("case", "concerns", "medical escorts"), on_trail, kept, strict=True)
            if trail != stored]
    return "; ".join(said)
