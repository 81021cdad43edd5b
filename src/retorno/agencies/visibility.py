"""What each kind of agency may read of each kind of record (SPEC.md section 4.6), declared once.

Every API response, page, export and audit view that shows a case, a travel document, a
passenger or an audit record passes it through `cut`, so a field outside the reader's declared
set never leaves the service. A kind with no entry for a record type sees none of its fields.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import object_session

from retorno.agencies.models import User
from retorno.agencies.permissions import ADMINISTRATOR, CARRIER, MONITOR, OPERATOR, RECEIVING, SENDING, can
from retorno.audit.refusals import note_concern_told
from retorno.cases.models import Case
from retorno.errors import InvalidInput
from retorno.reintegration.models import IntakeProfile, Opportunity, Placement

# The receiving side verifies and approves identity and nationality: no detention details, contact or notes; the
# declared country of birth bears on nationality (red team round 45a, F6: Medellín was shown, Colombia was not).
_CASE_IDENTITY = frozenset({"reference", "state", "given_names", "first_surname", "second_surname", "sex",
                            "birth_date", "place_of_birth", "country_of_birth", "nationality", "national_id",
                            "household"})
_CASE_SENDING = _CASE_IDENTITY | {"agency", "agency_reference", "held_at", "nearest_airport",
                                  "detained_since", "language", "contact", "notes", "relationship_to_head",
                                  "registered_at", "state_changed_at", "declared_document_type",
                                  "declared_document_number"}
# An operator sees an arrived, consenting returnee: who they are and how to reach them; no documents.
_CASE_OPERATOR = frozenset({"reference", "state", "given_names", "first_surname", "second_surname", "sex",
                            "birth_date", "contact"})
_DOCUMENT = frozenset({"id", "number", "type", "issuing_state", "expiry_date", "valid", "problems", "emergency", "mrz",
                       "case_state", "withdrawn", "withdrawn_at", "withdrawn_reason"})
# The audit trail without personal fields: who did what to which record, and when; never the
# before/after snapshots (names, identifiers, contact, detention place, concern labels) or reasons.
_AUDIT_REDUCED = frozenset({"seq", "at", "actor", "agency", "action", "object_type", "object_id", "hash"})
_AUDIT_FULL = _AUDIT_REDUCED | {"before", "after", "reason"}

VISIBLE: dict[str, dict[str, frozenset[str]]] = {
    "case": {SENDING: _CASE_SENDING, RECEIVING: _CASE_IDENTITY, OPERATOR: _CASE_OPERATOR},
    "document": {SENDING: _DOCUMENT, RECEIVING: _DOCUMENT},
    # A case's own timeline, for the sending side that owns the case.
    "timeline": {SENDING: _AUDIT_FULL},
    "audit": {MONITOR: _AUDIT_REDUCED, ADMINISTRATOR: _AUDIT_REDUCED},
    # A manifest's rows for the two states: who, and where each stands in approval, boarding, arrival.
    "passenger": {
        SENDING: frozenset({"case", "name", "approval", "reason", "boarding", "arrival", "seat"}),
        RECEIVING: frozenset({"case", "name", "approval", "reason", "boarding", "arrival", "seat"}),
    },
    # The carrier's passenger list: what PAXLST carries, nothing about protection or detention.
    "passenger_list": {
        CARRIER: frozenset({"case_reference", "surnames", "given_names", "sex", "birth_date", "nationality",
                            "document_type", "document_number", "document_expiry", "document_issuing_state",
                            "seat", "household_reference", "escort_needs"}),
    },
}


# The moment a case's state last changed, which moves with the changes between the states `state_seen` merges (a
# concern raised on a ready case, a resolution, a protection pull): read by whoever may not tell those states
# apart, it would date every concern raised and closed. Told only to those who see protection.
_DATES_PROTECTION = frozenset({"state_changed_at"})


def visible_fields(user: User, record_type: str) -> frozenset[str]:
    """The fields of `record_type` that `user`'s agency kind may read (empty: none)."""
    fields = VISIBLE.get(record_type, {}).get(user.agency.kind, frozenset())
    if record_type == "case" and fields & _DATES_PROTECTION and not sees_protection(user):
        return fields - _DATES_PROTECTION
    return fields


def cut(user: User, record_type: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` reduced to the fields `user` may read."""
    allowed = visible_fields(user, record_type)
    return {name: value for name, value in values.items() if name in allowed}


# The audit records whose object is a person: a case's reference is one person's file, a household's one family's.
# Read by monitors and administrators (the "audit" view), who see no person (SPEC.md 4.6), such a reference is a
# pseudonym keyed with the installation's secret (`audit_pseudonym_key`): the records of one case still read as one
# object, so a pattern stands out (five overrides on one case), and which case it is stays with the sending side.
# Before, `screening.resolve` or `safeguard.refused_held_elsewhere` told a monitor which cases had a protection
# concern (red team, medium). An import's object is the uploaded file's name, which officials write as they like, and
# often after a person ("asilo_juan_perez.csv"): it is shown so too (red team round 3), the imports of one file still
# reading as one object.
PERSONAL_OBJECTS = frozenset({"case", "household", "import"})


def audit_pseudonym_key(secret: str) -> bytes:
    """The key of the audit view's pseudonyms, drawn from the installation's secret (`Settings.secret_key`)."""
    return hmac.new(secret.encode(), b"retorno audit view pseudonyms", hashlib.sha256).digest()


def audit_pseudonym(key: bytes, object_type: str, object_id: str) -> str:
    """The reference an audit view shows for a person's record: '~' and twelve hexadecimal digits, unlike any
    reference, the same for the same record, unguessable without the key."""
    return "~" + hmac.new(key, f"{object_type}:{object_id}".encode(), hashlib.sha256).hexdigest()[:12]


def cut_audit(user: User, values: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """An audit record as the audit view shows it to `user`: the fields it may read (`cut`), and the reference of a
    person's record as its pseudonym."""
    shown = cut(user, "audit", values)
    if shown.get("object_type") in PERSONAL_OBJECTS and "object_id" in shown:
        shown["object_id"] = NOT_TOLD if shown.get("action") in CREATIONS \
            else audit_pseudonym(key, shown["object_type"], str(shown["object_id"]))
    return shown


# The records that create a person's record: shown without its pseudonym. References were numbered in order of
# registration, so the n-th registration of an agency named its pseudonym the case reference (red team round 2:
# five pseudonyms reversed to MX-2026-000343 and others by counting each agency's `case.register` records). They are
# drawn at random now (`cases.service.next_references`, round 26c F1: a pseudonym's first appearance, in whatever
# record, ordered it as registrations did), and the references made before still are in order.
CREATIONS = frozenset({"case.register"})
NOT_TOLD = "~"


# ----- protection status: held back by a concern, or ready -------------------------------------------------
#
# A documented case with a valid document and verified nationality moves on to 'ready' unless a protection
# concern is open (`cases.service._advance`), and a protection pull takes a manifested case back to
# 'documented' where any other removal takes it to 'ready': told apart, the two states name who has an open
# concern. To whoever may not read protection screenings (`sees_protection`) they are one state, 'documented'
# (a valid document on file, not on a manifest): every door that shows, filters, sorts or counts a case's
# state asks `state_seen`, `state_condition`, `state_order` or `merged_counts`. The receiving side loses
# nothing it needs: it approves the passengers the sending side proposes, never picks who is ready.
# A no-show is one more way off a manifest, and the others read 'documented' (a protection pull) or 'ready' (told
# 'documented'): told as itself, it set the no-show apart from the protection exits it is told alike with
# (one `taken_off` alert, whatever the way), narrowing them down (red team RE8702 M2). It is 'documented' to them too.

# Each state those readers see for the states they may not tell apart.
_STATE_AS_SEEN = {"ready": "documented", "no_show": "documented"}


def sees_protection(user: User) -> bool:
    """Whether `user` may tell a case held back by a protection concern: those who read screenings, the same
    who may filter by an open concern (`reporting.caselist.available_filters`)."""
    return can(user, "screening.read_details")


def sees_protection_counts(user: User) -> bool:
    """Whether `user`'s figures may count protection apart: those who see cases' protection, and the monitors
    and administrators, who are shown how many concerns are open and never a person."""
    return sees_protection(user) or can(user, "audit.read")


# ----- the sending side's work ends at arrival ---------------------------------------------------------
#
# After arrival a returnee may consent to reintegration, be taken in, offered a place, placed, and withdraw: none
# of it is the sending state's concern (SPEC.md 4.6 and 4.8; its timeline leaves it out too, `cases.timeline`).
# To the sending side every state after arrival is 'arrived' (`closed` is reached only after arrival), at every
# door that shows, filters, sorts or counts a case's state, through the same four helpers; a filter on a state it
# is not told is refused (`states_meant`), the moment the state last changed is not told of an arrived case
# (`dates_state_change`), nor the case's version (`versions_told`), which moves with each of those steps.
AFTER_ARRIVAL = ("reintegration_intake", "matched", "placed", "closed")
_ARRIVAL_AS_SEEN = dict.fromkeys(AFTER_ARRIVAL, "arrived")


def ends_at_arrival(user: User) -> bool:
    """Whether `user`'s agency follows a case only until arrival (the sending side)."""
    return user.agency.kind == SENDING


def _merged_states(user: User, *, protection_apart: bool) -> dict[str, str]:
    """The states `user` is told as another one, each with the one told."""
    merged = {} if protection_apart else dict(_STATE_AS_SEEN)
    if ends_at_arrival(user):
        merged.update(_ARRIVAL_AS_SEEN)
    return merged


def followed_after(user: User, state: str) -> bool:
    """Whether a case in `state` is one `user` is told nothing new of: the sending side's, from arrival on."""
    return ends_at_arrival(user) and state_seen(user, state) == "arrived"


def dates_state_change(user: User, state: str) -> bool:
    """Whether `user` may be told when a case in `state` last changed state: whoever sees protection
    (`visible_fields`), but not the sending side of an arrived case, whose reintegration steps it would date."""
    return not followed_after(user, state)


def versions_told(user: User, state: str) -> bool:
    """Whether `user` may be told the version (ETag) of a case in `state`: it moves with every step after arrival,
    so not to the sending side from arrival on (which no longer edits the case: `travel.service.update_case`)."""
    return not followed_after(user, state)


def arrival_told(state: str) -> str:
    """The state of a case as it is told to the sending side (`ends_at_arrival`)."""
    return _ARRIVAL_AS_SEEN.get(state, state)


def arrival_told_alike(state: str) -> list[str]:
    """The stored states told to the sending side as `arrival_told(state)` (from arrival on; a state alone
    otherwise)."""
    told = arrival_told(state)
    return sorted({told, *(real for real, shown in _ARRIVAL_AS_SEEN.items() if shown == told)})


def state_seen(user: User, state: str) -> str:
    """The state of a case as `user` is told it."""
    return _merged_states(user, protection_apart=sees_protection(user)).get(state, state)


def state_told(state: str) -> str:
    """The state of a case as it is told to those who may not tell a case held back by a protection concern."""
    return _STATE_AS_SEEN.get(state, state)


def states_told_alike(state: str) -> list[str]:
    """The stored states told as `state_told(state)` (`ready`, `no_show` and `documented`; a state alone
    otherwise)."""
    told = state_told(state)
    return sorted({told, *(real for real, shown in _STATE_AS_SEEN.items() if shown == told)})


def states_meant(user: User, state: str) -> list[str]:
    """The stored states a filter on `state` stands for to `user` (all of them, for a merged one). A state after
    arrival is refused to the sending side, as a filter over what a reader may not see is (`caselist.check_filter`):
    `arrived` finds those cases."""
    if ends_at_arrival(user) and state in _ARRIVAL_AS_SEEN:
        raise InvalidInput("these filters are not available to your agency: %(not_yours)s",
                           code="filter_not_available", details={"filters": ["state"]}, not_yours="state")
    merged = _merged_states(user, protection_apart=sees_protection(user))
    seen = merged.get(state, state)
    return [seen, *sorted(real for real, shown in merged.items() if shown == seen)]


def state_condition(user: User, column: sa.SQLColumnExpression[str], state: str) -> sa.ColumnElement[bool]:
    """The SQL condition 'the case is in `state`' as `user` means it (`states_meant`); `column` is `Case.state`."""
    meant = states_meant(user, state)
    if follows_own_placements(user):
        return state_column(user, column) == meant[0] if len(meant) == 1 else state_column(user, column).in_(meant)
    return column == meant[0] if len(meant) == 1 else column.in_(meant)


def state_order(user: User, column: sa.SQLColumnExpression[str]) -> sa.SQLColumnExpression[str]:
    """What to sort cases by state on: the state as `user` sees it, so merged states interleave by the next key."""
    if follows_own_placements(user):
        return state_column(user, column)
    merged = _merged_states(user, protection_apart=sees_protection(user))
    if not merged:
        return column
    return sa.case(*((column == real, seen) for real, seen in merged.items()), else_=column)


def merged_counts(user: User, counts: Mapping[str, int]) -> dict[str, int]:
    """Counts by state as `user`'s figures may give them (`sees_protection_counts`, `ends_at_arrival`), in the
    order of `counts`."""
    merged_states = _merged_states(user, protection_apart=sees_protection_counts(user))
    merged: dict[str, int] = {}
    for state, n in counts.items():
        seen = merged_states.get(state, state)
        merged[seen] = merged.get(seen, 0) + n
    return merged


# ----- another operator's placements are that operator's ------------------------------------------------
#
# After intake a returnee's state moves with each offer, acceptance, start and drop (`reintegration.service.
# state_from_placements`): `matched` while an offer waits, `placed` while a seat is held. Told as stored to every
# operator of the state, it told each operator every other operator's offers and placements of the returnee, which
# are that operator's (red team round 13, F8: FUNDAPRO read VUELTA's returnee `placed`, then back in
# `reintegration_intake` when VUELTA dropped the placement). So an operator is told the state its own placements
# give, by the same rule: `placed` with a seat of its own accepted, started or completed, else `matched` with an
# offer of its own waiting, else `reintegration_intake` (taking part, nothing of its own under way), whatever the
# other operators' placements. The matching run reads the state as stored (`reintegration.service.preview_matching`):
# a returnee placed elsewhere is still offered no second seat, without the state being told (round 9 told it for
# that). Every door that shows, filters, sorts or counts a returnee's state to an operator asks `state_of`,
# `states_of`, `state_column`, `state_condition` or `state_order`.
PLACING = ("accepted", "started", "completed")
_FOLLOWING_PLACEMENTS = ("matched", "placed")


def follows_own_placements(user: User) -> bool:
    """Whether `user` is told a returnee's state from its own placements alone (a reintegration operator)."""
    return user.agency.kind == OPERATOR


def _own_placements(user: User, case_id: sa.SQLColumnExpression[int]) -> sa.Select[int]:
    """The placements of the current consent of `case_id` with `user`'s agency's opportunities."""
    return (sa.select(Placement.id).join(Opportunity, Opportunity.id == Placement.opportunity_id)
            .join(IntakeProfile, IntakeProfile.case_id == Placement.case_id)
            .where(Placement.case_id == case_id, Opportunity.operator_agency_id == user.agency_id,
                   Placement.offered_at >= IntakeProfile.consent_recorded_at))


def state_column(user: User, column: sa.SQLColumnExpression[str] = Case.state) -> sa.SQLColumnExpression[str]:
    """A case's state (`column`, `Case.state` of a query over cases) as `user` is told it in SQL: to an operator
    from its own placements (above); to anyone else as stored, their merged states told by `state_seen` and
    `merged_counts`."""
    if not follows_own_placements(user):
        return column
    own = _own_placements(user, Case.id)
    return sa.case((column.not_in(_FOLLOWING_PLACEMENTS), column),
                   (sa.exists(own.where(Placement.status.in_(PLACING))), "placed"),
                   (sa.exists(own.where(Placement.status == "offered")), "matched"),
                   else_="reintegration_intake")


def _note_held_back(user: User, cases: list[Case]) -> None:
    """To those who tell a case held back by a concern (`sees_protection`), `documented` says a concern is open on it:
    told so, it is an audited read, as the concern filter's list is (`audit.refusals.note_concern_told`; red team
    round 36, F1: `state=documented` listed who is held back and left no record)."""
    # Documented and not ready: held back by a concern of its own or of another record of the person (another
    # agency's included: round 38, F2), which the state tells either way.
    held = [case for case in cases if case.state == "documented"]
    if held and sees_protection(user):
        session = object_session(held[0])
        if session is not None:
            note_concern_told(session, user.id, "case_state", {case.reference for case in held})


def state_of(user: User, case: Case) -> str:
    """The state of `case` as `user` is told it (`state_seen`, and to an operator from its own placements); a case held
    back by a concern told so is noted as read (`_note_held_back`)."""
    _note_held_back(user, [case])
    if not follows_own_placements(user) or case.state not in _FOLLOWING_PLACEMENTS:
        return state_seen(user, case.state)
    session = object_session(case)
    assert session is not None
    return str(session.execute(sa.select(state_column(user)).where(Case.id == case.id)).scalar_one())


def states_of(user: User, cases: list[Case]) -> dict[int, str]:
    """`state_of` of many cases, by case id, in a few queries."""
    _note_held_back(user, cases)
    told = {case.id: state_seen(user, case.state) for case in cases}
    following = [case for case in cases if follows_own_placements(user) and case.state in _FOLLOWING_PLACEMENTS]
    session = object_session(following[0]) if following else None
    ids = [case.id for case in following]
    for start in range(0, len(ids), 5000):
        assert session is not None
        told.update((case_id, str(state)) for case_id, state in session.execute(
            sa.select(Case.id, state_column(user)).where(Case.id.in_(ids[start:start + 5000]))).all())
    return told


def told_as_another_agency(reader_country: str, agency_kind: str | None, agency_country: str | None,
                           action: str) -> bool:
    """Whether a change made by an agency (its kind and country) is told to an agency of `reader_country` as "another
    agency", neither its official nor its action named: THE rule of the case's timeline (`cases.service.case_timeline`)
    and of a stale edit's refusal (`audit.versions.told_change`). Another sending state's agency acts on a record only
    through its own record of the same person (red team round 37, F2); and a possible duplicate flagged by another
    state's agency's work on another record of the person (a receiving authority's revocation) tells that state's work
    on the person (red team round 47a, F2; round 48, F1: the refusal named who the timeline hid)."""
    if agency_country is None or agency_country == reader_country:
        return False
    return agency_kind == "sending_authority" or action.startswith("duplicate.")

