"""Verification requests to the receiving authority, its decisions, and the review queue."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from retorno import identifiers
from retorno.agencies.models import User
from retorno.agencies.permissions import action, reader
from retorno.agencies.service import receiving_authority_for
from retorno.audit.service import record
from retorno.cases import lifecycle
from retorno.cases.facts import case_fingerprint, records_alike, same_person, verified_fingerprints
from retorno.cases.models import Case, national_id_digits, registry_record_digits, registry_record_key
from retorno.cases.rows import EARLIEST_DATE
from retorno.cases.service import (
    IDENTITY_REVERIFICATION,
    LEFT_RECEIVING_VIEW,
    NOT_NATIONAL_REACTIONS,
    REGISTRY_DATE_REACTIONS,
    advance,
    ensure_owner,
    transition,
    visible_case_conditions,
)
from retorno.db import among, utcnow
from retorno.documents.service import _name_words
from retorno.errors import InvalidInput, InvalidTransition, NotFound, Term
from retorno.reasons import is_written_reason, written_reason
from retorno.verification.anchors import (
    ANCHOR_FIELDS,
    CEDULA_LETTER_DIFFERS,
    REGISTRY_FOREIGN_RESIDENT,
    is_deceased,
    nationality_held_back,
    record_agreement,
)
from retorno.verification.anchors import registry_birth_date as registry_birth_of
from retorno.verification.models import RegistryCandidate, VerificationDecision, VerificationRequest
from retorno.verification.records import canonical_or_none, canonical_record, record_digits, same_record

OUTCOMES = ("verified", "rejected", "review", "not_found")
# The outcomes that end a request: a decision, or a verification its authority revoked (`travel.service.
# revoke_verification`), after which an earlier verification of the same identity does not count again.
FINAL = ("verified", "rejected", "revoked")
# The statuses of a request waiting for the receiving authority (`VerificationRequest.status`).
OPEN = ("pending", "review")
# The method of decisions proposed by record linkage (`retorno verify`), as against "manual".
LINKAGE_METHOD = "linkage"
# The reason a linkage proposal carries when this authority found another record of the person not a national.
EARLIER_NOT_NATIONAL = "earlier_not_national"


@action("verification.request")
def request_verification(session: Session, actor: User, case: Case) -> VerificationRequest:
    """Ask the receiving authority of the declared nationality to verify identity and nationality: once the case is
    screened, and again for a case verified whose identity changed since (`reopen`)."""
    ensure_owner(actor, case)
    if case.state in lifecycle.VERIFIED_WAITING and identity_changed_since_verified(session, case):
        # Edited while a no-show, an exit that re-opens nothing, and put back in line before a correction re-opened it
        # (`cases.service.advance`; red team RE8701 F2: 'documented', refused here, its household held with it).
        return reopen(session, actor, case)
    if case.state != "screened":
        raise InvalidTransition("case %(case)s: verification is requested once the case is screened (it is "
                                "'%(state)s')", code="invalid_transition.case", case=case.reference,
                                state=Term("case_state", case.state))
    receiving = receiving_authority_for(session, case.nationality)
    request = _new_request(session, actor, case, receiving.id)
    transition(session, actor, case, "verification_requested", action="verification.request",
               extra={"request": request.reference, "to": receiving.code})
    return request


def _new_request(session: Session, by: User, case: Case, receiving_agency_id: int) -> VerificationRequest:
    earlier = session.execute(sa.select(sa.func.count()).select_from(VerificationRequest)
                              .where(VerificationRequest.case_id == case.id)).scalar_one()
    suffix = f"-{earlier + 1}" if earlier else ""
    request = VerificationRequest(reference=f"VR-{case.reference}{suffix}", case_id=case.id,
                                  receiving_agency_id=receiving_agency_id, requested_by=by.id,
                                  identity_fingerprint=case_fingerprint(case))
    session.add(request)
    session.flush()
    return request


def identity_changed_since_verified(session: Session, case: Case) -> bool:
    """Whether the identity the receiving authority last verified for `case` is no longer the one it has."""
    verified = verified_fingerprints(session, [case.id])
    return case.id in verified and verified[case.id] != case_fingerprint(case)


_IDENTITY_CHANGED = "identity fields changed after the verification request"


def reopen(session: Session, by: User, case: Case, *, reason: str = _IDENTITY_CHANGED,
           audited_as: str = "verification.reopen") -> VerificationRequest:
    """The identity changed after a verification request: supersede what is open and ask again.

    A step of `travel.service.update_case`; the case goes back to 'verification_requested' (the
    caller has already taken it off any manifest). And of `cases.service.advance`, for a case back in line whose
    identity changed since it was verified (`cases.service.IDENTITY_REVERIFICATION`). And of
    `travel.service.revoke_verification` (`reason`, `audited_as`: the authority's own, `verification.revoke`).
    """
    for request in session.execute(sa.select(VerificationRequest).where(
            VerificationRequest.case_id == case.id, VerificationRequest.status != "decided")).scalars():
        request.status = "superseded"
    request = _new_request(session, by, case, receiving_authority_for(session, case.nationality).id)
    if case.state != "verification_requested":
        transition(session, by, case, "verification_requested", action=audited_as, reason=reason,
                   extra={"request": request.reference})
    else:
        record(session, by, audited_as, "case", case.reference, after={"request": request.reference}, reason=reason)
    return request


def verified_decision(session: Session, case: Case) -> VerificationDecision | None:
    """The decision that verified the identity `case` has now, when its latest final decision is that one."""
    latest = session.execute(
        sa.select(VerificationDecision)
        .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
        .where(VerificationRequest.case_id == case.id, VerificationDecision.outcome.in_(FINAL))
        .order_by(VerificationDecision.id.desc()).limit(1)).scalar_one_or_none()
    if latest is None or latest.outcome != "verified" or latest.identity_fingerprint != case_fingerprint(case):
        return None
    return latest


IDENTITY_REVERIFICATION.append(reopen)


def cancel_open_requests(session: Session, by: User | None, case: Case) -> None:
    """The case left the receiving side's view (withdrawn, found unfit to fly: `cases.service.LEFT_RECEIVING_VIEW`):
    the request waiting for the receiving authority is cancelled, never to be decided, and leaves every queue (red team
    round 16, N2: a withdrawn case's request stayed in the queue, its exports and work counts with the person's
    identity and the state 'withdrawn', went on carrying the sending side's later edits, and nobody could decide it).
    On the audit trail of the case, for the sending side's timeline."""
    cancelled = []
    for request in session.execute(sa.select(VerificationRequest).where(
            VerificationRequest.case_id == case.id, VerificationRequest.status.in_(OPEN))
            .order_by(VerificationRequest.id)).scalars():
        request.status = "cancelled"
        cancelled.append(request.reference)
    if cancelled:
        session.flush()
        record(session, by, "verification.cancel", "case", case.reference,
               after={"requests": cancelled},
               reason="the case left the receiving authority's work before a decision")


LEFT_RECEIVING_VIEW.append(cancel_open_requests)


def requests_seen(session: Session, reader: User) -> list[sa.ColumnElement[bool]]:
    """The conditions on a query of requests joined with their cases that keep those `reader`'s receiving authority is
    shown: addressed to it, of a case it may see, by the rule of every case door (`cases.service.
    visible_case_conditions`). Every door that lists requests to it asks them (the review queue, its page and exports,
    the work counts, the audit sample, linkage's and the console's requests): a case the sending side withdrew left its
    view, and its request with it, whatever the request's status (red team round 16, N2)."""
    return [VerificationRequest.receiving_agency_id == reader.agency_id, *visible_case_conditions(session, reader)]


def open_request(session: Session, user: User, case: Case) -> VerificationRequest:
    request = session.execute(
        sa.select(VerificationRequest).where(VerificationRequest.case_id == case.id,
                                             VerificationRequest.status.in_(OPEN))
        .order_by(VerificationRequest.id.desc()).limit(1)
    ).scalar_one_or_none()
    # Another authority's request is answered as none at all: whether a case waits for another agency's verification
    # is that agency's to know (red team round 81: a 403 "addressed to another agency" told it).
    if request is None or request.receiving_agency_id != user.agency_id:
        raise NotFound("case %(case)s has no open verification request addressed to your agency", case=case.reference)
    return request


def request_to_decide(session: Session, user: User, case: Case) -> str | None:
    """The reference of the open request of `case` addressed to the user's agency, if there is one."""
    try:
        return open_request(session, user, case).reference
    except NotFound:
        return None


# Two recorded sexes that are two people's (`_held_by_another_person`).
SEXES_APART = frozenset({"F", "M"})
# The refusal of a registry record already verified for another identity, and the reason of a linkage's `verified`
# against one, recorded as a review (`_same_record_same_person`).
RECORD_OF_ANOTHER_PERSON = "registry_record_of_another_person"


def _held_by_another_person(session: Session, case: Case, request: VerificationRequest, registry_record: str) -> bool:
    """Whether `registry_record` is already the verified record (for the same receiving authority) of a case of
    another identity than `case`'s: names that differ as the system folds them, whatever field each word is in
    (`documents.service._name_words`: red team T-F4, "Sumasi Rivepenu" and "Conigo Rafanafi Birune", one sex and
    birth date, neither with a cédula, verified against one record became one person), a birth date, a cédula (by its
    digits: its letter alone, E or V, does not make another person, `cedula_digits`) or a recorded sex (F and M: red
    team round 18, R-F1; X says neither, no difference)."""
    others = session.execute(
        sa.select(Case)
        .join(VerificationRequest, VerificationRequest.case_id == Case.id)
        .join(VerificationDecision, VerificationDecision.request_id == VerificationRequest.id)
        .where(VerificationDecision.outcome == "verified",
               registry_record_key(VerificationDecision.registry_record)
               == identifiers.registry_record_key(record_digits(registry_record)),
               registry_record_digits(VerificationDecision.registry_record) == record_digits(registry_record),
               VerificationRequest.receiving_agency_id == request.receiving_agency_id, Case.id != case.id)
    ).scalars().unique().all()
    words, cedula = _name_words(case), national_id_digits(case.national_id)
    return any(other.birth_date != case.birth_date or {other.sex, case.sex} == SEXES_APART
               or _name_words(other) != words
               or (cedula and national_id_digits(other.national_id) and national_id_digits(other.national_id) != cedula)
               for other in others)


def _same_record_same_person(session: Session, actor: User, case: Case, request: VerificationRequest,
                             registry_record: str, reason: str | None, typed: str | None = None) -> None:
    """Refuse verifying a case against a registry record already verified for a case of another identity (names,
    cédula, birth date or recorded sex: `_held_by_another_person`), unless a supervisor decides it with a written
    reason.

    Two cases verified against one record are one person: a protection concern held on either stops both, and
    takes the other off its manifest at once, locked or not. One officer typing another person's record (red
    team: a case with a concern verified against a passenger's record pulled the passenger off a locked
    manifest) would otherwise change who travels alone and unseen. Record linkage never decides it either: its
    `verified` is recorded as a review with this code as its reason (`record_decision`).
    """
    if not _held_by_another_person(session, case, request, registry_record):
        return
    if actor.role == "supervisor" and reason and reason.strip():
        # A supervisor's reason decides it, if it is a written one (`written_reason`), refused as this place's
        # refusal otherwise.
        written_reason(reason, code=RECORD_OF_ANOTHER_PERSON)
        return
    raise InvalidTransition(
        "case %(case)s: registry record %(record)s is already the verified record of a person whose names, cédula, "
        "birth date or sex differ from this case's; verifying against it makes them one person (a protection concern "
        "on either stops both), so a supervisor decides it, with a written reason (at least 10 characters)",
        code=RECORD_OF_ANOTHER_PERSON, case=case.reference, record=typed or registry_record)


def proposals_standing(session: Session, request: VerificationRequest) -> list[tuple[VerificationDecision, str]]:
    """The linkage's proposals a person's decision on `request` is checked against, newest first, each with the
    reference of the request it was made on: those stored on this request, else on the case's earlier requests.

    A request superseded by an identity change leaves its proposal standing until linkage runs on the new one (red
    team round 14, F1: after a place of birth was corrected, the new request had no proposal, and an officer verified
    against the record linkage had found different in birth date and cédula, one it never proposed, and a dead
    person's, by the manual path, alone and with no reason). What linkage said of a registry record (dead, never a
    candidate, both anchors different) holds until it says otherwise: a person who corrected those anchors runs
    linkage again, or a supervisor overrides with a reason."""
    rows = session.execute(
        sa.select(VerificationDecision, VerificationRequest.reference)
        .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
        .where(VerificationRequest.case_id == request.case_id, VerificationRequest.id <= request.id,
               VerificationDecision.method == LINKAGE_METHOD)
        .order_by(VerificationRequest.id.desc(), VerificationDecision.id.desc())).all()
    return [(decision, reference) for decision, reference in rows]


class EarlierFinding(NamedTuple):
    """A decision of the receiving authority that another record of the person is not a national."""

    case: str
    decided_at: datetime
    reason: str | None


def earlier_not_national(session: Session, receiving_agency_id: int, case_ids: Sequence[int]
                         ) -> dict[int, list[EarlierFinding]]:
    """Per case, the 'not a national' decisions `receiving_agency_id` made on other records of the same person.

    A person registered again (by another agency, under another reference) is one person (`cases.facts.same_person`:
    a cédula, a document, a supervisor's decision): the authority's finding on one record is shown on the others'
    requests, and no linkage alone verifies them (red team round 13, F2: registering the person again brought a fresh,
    unmarked request, verified by the next officer). So is an undecided possible duplicate, in the safe direction as
    for concerns and seats (`cases.facts.records_alike`; red team round 14, F4: the same name and birth date without
    the cédula was verified by an officer with no reason, issued a document and manifested). Only this authority's
    findings: another state's 'not a national' says nothing of this nationality.
    """
    links = records_alike(session, case_ids)
    others = sorted({other for case_id in case_ids for other in links.get(case_id, set())})
    if not others:
        return {}
    found: dict[int, EarlierFinding] = {}
    for chunk in (others[i:i + 2000] for i in range(0, len(others), 2000)):
        for case_id, reference, decided_at, reason in session.execute(
                sa.select(Case.id, Case.reference, VerificationDecision.decided_at, VerificationDecision.reason)
                .join(VerificationRequest, VerificationRequest.case_id == Case.id)
                .join(VerificationDecision, VerificationDecision.request_id == VerificationRequest.id)
                .where(among(Case.id, chunk), VerificationDecision.outcome == "rejected",
                       VerificationRequest.receiving_agency_id == receiving_agency_id)
                .order_by(VerificationDecision.id)):
            found[case_id] = EarlierFinding(reference, decided_at, reason)
    # Only the linked records with a finding are sorted (red team round 14, F5: sorting every linked record by its
    # finding raised KeyError for one without, and the whole queue answered 500).
    return {case_id: sorted((found[other] for other in links[case_id] if other in found), key=lambda f: f.case)
            for case_id in case_ids if any(other in found for other in links.get(case_id, set()))}


class Revoked(NamedTuple):
    """This authority's revocation of a verification of the case, its last final word on it."""

    registry_record: str | None
    decided_at: datetime


def revoked_before(session: Session, receiving_agency_id: int, case_ids: Sequence[int]) -> dict[int, Revoked]:
    """Per case, the revocation that is `receiving_agency_id`'s last final decision on it (no verification or finding
    has followed since): verifying the case against that record again is a supervisor's decision (`EARLIER_REVOKED`),
    and the review queue says so before anyone tries (red team round 76, F2)."""
    last: dict[int, tuple[str, str | None, datetime]] = {}
    for chunk in (list(case_ids)[i:i + 2000] for i in range(0, len(case_ids), 2000)):
        for case_id, outcome, registry_record, decided_at in session.execute(
                sa.select(VerificationRequest.case_id, VerificationDecision.outcome,
                          VerificationDecision.registry_record, VerificationDecision.decided_at)
                .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
                .where(among(VerificationRequest.case_id, chunk),
                       VerificationRequest.receiving_agency_id == receiving_agency_id,
                       VerificationDecision.outcome.in_(FINAL))
                .order_by(VerificationRequest.id.desc(), VerificationDecision.id.desc())):
            last.setdefault(case_id, (outcome, registry_record, decided_at))
    return {case_id: Revoked(revoked, decided_at) for case_id, (outcome, revoked, decided_at) in last.items()
            if outcome == "revoked"}


# What makes a person's `verified` decision an override of the linkage (the refusals' codes).
NOT_A_CANDIDATE = "record_not_a_candidate"
ANCHORS_DISAGREE = "record_anchors_disagree"
RECORD_DECEASED = "record_deceased"
# Red team round 45a: a candidate of a "not found" (F1), one whose sex or whole name differs (F1), and a record other
# than the one another record of the person was verified against (F2).
RECORD_NOT_FOUND = "record_not_found"
IDENTITY_DIFFERS = "record_identity_differs"
PERSON_VERIFIED_ELSEWHERE = "person_verified_other_record"
# Red team round 76, F2: a verification this authority revoked was verified again at once, against the same record,
# by an officer with no reason: undoing a supervisor's revocation is a supervisor's decision.
EARLIER_REVOKED = "verification_revoked_before"


def _identity_differs(candidate: Mapping[str, Any]) -> bool:
    """Whether the candidate is another person by what a reader sees first: its sex differs from the request's, or
    its given names and first surname both do (a namesake shares one of them; a married name changes the surname
    only). Linkage's probability for such a record is near 0; verifying it is the identity of someone else."""
    agreement = candidate.get("agreement")
    return isinstance(agreement, dict) and (agreement.get("sex") == "disagree" or (
        agreement.get("given_names") == "disagree" and agreement.get("first_surname") == "disagree"))


def _person_proposals(session: Session, others: Sequence[int]) -> list[tuple[VerificationDecision, str]]:
    """The latest linkage proposal on each of `others` (the person's other records), newest first, each with the
    reference of the request it was made on."""
    latest: dict[int, tuple[VerificationDecision, str]] = {}
    for decision, reference, case_id in session.execute(
            sa.select(VerificationDecision, VerificationRequest.reference, VerificationRequest.case_id)
            .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
            .where(among(VerificationRequest.case_id, list(others)), VerificationDecision.method == LINKAGE_METHOD)
            .order_by(VerificationDecision.id.desc())):
        latest.setdefault(case_id, (decision, reference))
    return sorted(latest.values(), key=lambda item: -item[0].id)


def _verified_elsewhere(session: Session, others: Sequence[int], registry_record: str) -> list[str]:
    """Of the person's other records, those whose identity as it stands is verified against another registry record
    than `registry_record` (their references, each with that record)."""
    found = []
    latest: dict[int, VerificationDecision] = {}
    for decision, case_id in session.execute(
            sa.select(VerificationDecision, VerificationRequest.case_id)
            .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
            .where(among(VerificationRequest.case_id, list(others)),
                   VerificationDecision.outcome.in_(FINAL))
            .order_by(VerificationDecision.id.desc())):
        latest.setdefault(case_id, decision)
    for case_id, decision in sorted(latest.items()):
        other = session.get(Case, case_id)
        if (other is not None and decision.outcome == "verified" and decision.registry_record
                and decision.identity_fingerprint == case_fingerprint(other)
                and not same_record(decision.registry_record, registry_record)):
            found.append(f"{other.reference} ({decision.registry_record})")
    return found


def _anchors_disagree(candidate: Mapping[str, Any]) -> bool:
    """Whether both hard identifiers of the candidate, its birth date and its cédula, disagree with the request's.

    One of them missing is no disagreement: a request without a cédula and with a mistyped birth date is the review
    queue's daily work (the officer sees the rest side by side); both held and both different is another person."""
    agreement = candidate.get("agreement")
    return isinstance(agreement, dict) and all(agreement.get(name) == "disagree" for name in ANCHOR_FIELDS)


def _shown_elsewhere(session: Session, request: VerificationRequest, registry_record: str,
                     own: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The candidates showing `registry_record` that this authority's decisions on any request stored
    (`RegistryCandidate`), other than `own` (those the checks read already): what linkage showed of the record for
    another request, or for another record of no known link to this one."""
    if not registry_record:
        return []
    stored = session.execute(
        sa.select(VerificationDecision.candidates)
        .join(RegistryCandidate, RegistryCandidate.decision_id == VerificationDecision.id)
        .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
        .where(RegistryCandidate.record_key == record_digits(registry_record),
               VerificationRequest.receiving_agency_id == request.receiving_agency_id)
        .order_by(VerificationDecision.id.desc())).scalars()
    return [c for candidates in stored for c in candidates or []
            if isinstance(c, dict) and names_record(c, registry_record)
            and not any(c is mine or c == mine for mine in own)]


def names_record(candidate: Mapping[str, Any], registry_record: str) -> bool:
    """Whether `registry_record`, as an officer or a file names it, is the candidate's record: its id, or its cédula
    as linkage showed it (records link by a cédula's digits; red team round 84, F1: the dead record named by its
    cédula, V-30111001, passed where its id, 900001, was refused)."""
    shown = candidate.get("record")
    cedula = shown.get("cedula") if isinstance(shown, dict) else None
    return same_record(candidate.get("registry_record"), registry_record) or (
        isinstance(cedula, str) and bool(cedula.strip()) and same_record(cedula, registry_record))


def _record_names(registry_record: str, candidates: Sequence[Mapping[str, Any]]) -> list[str]:
    """`registry_record` and the cédula each candidate that is that record (by its id) shows for it, once each."""
    names = {record_digits(registry_record): registry_record}
    for candidate in candidates:
        shown = candidate.get("record")
        cedula = shown.get("cedula") if isinstance(shown, dict) else None
        if isinstance(cedula, str) and cedula.strip() and same_record(candidate.get("registry_record"),
                                                                      registry_record):
            names.setdefault(record_digits(cedula), cedula)
    return list(names.values())


def _declared(case: Case) -> dict[str, Any]:
    """A case's declared identity as a registry record is compared with it (`anchors.record_agreement`)."""
    return {"given_names": case.given_names, "first_surname": case.first_surname, "sex": case.sex,
            "birth_date": case.birth_date, "cedula": case.national_id}


def _overrides(session: Session, case: Case, request: VerificationRequest, registry_record: str,
               candidates: list[dict[str, Any]] | None) -> tuple[list[str], dict[str, Any]]:
    """What a `verified` decision against `registry_record` overrides, in order, and the values its refusal names.

    The checks read what the service stored for the request (the linkage's proposal, the authority's own findings),
    never what the decision brings: a decisions file's `deceased: false` does not make a dead person alive (red team
    round 13, F1b). A red flag the decision brings (a candidate it marks deceased) still counts."""
    kinds: list[str] = []
    values: dict[str, Any] = {"proposed_for": request.reference}
    standing = proposals_standing(session, request)
    # The person's other records (a cédula, a document, a registry record, a same-person decision; not an undecided
    # possible duplicate, which may be a namesake): what linkage said of them stands for this one too, when linkage
    # never ran on this one (red team round 45a, F2: a person whose proposal named other candidates, registered again
    # by another agency, was verified on the new record, which had none, against a record linkage never proposed, by
    # an officer alone).
    others = sorted(same_person(session, [case.id]).get(case.id, {}))
    linked = _person_proposals(session, others) if others else []
    governing = standing[:1] or linked
    stored = [(c, decision.outcome) for decision, _ in governing for c in decision.candidates or []
              if isinstance(c, dict)]
    brought = [c for c in candidates or [] if isinstance(c, dict)]
    matching = [(c, outcome) for c, outcome in stored if same_record(c.get("registry_record"), registry_record)]
    if governing and not matching:
        kinds.append(NOT_A_CANDIDATE)
        values["candidates"] = ", ".join(dict.fromkeys(str(c.get("registry_record")) for c, _ in stored)) or "—"
        values["proposed_for"] = ", ".join(reference for _, reference in governing)
    # What linkage showed of the record for other requests (another case's proposal, a record of the person never
    # linked to this one), compared here with this case's declared identity (red team round 81, F2).
    seen = [c for decision, _ in [*standing, *linked] for c in decision.candidates or [] if isinstance(c, dict)]
    # The record by each of its names: its id, and its cédula as any candidate naming it shows it. Two registry ids
    # with one cédula are one person by the registry's own key (red team round 86, F1: the record 990003, shown dead,
    # passed re-keyed as 9900030 with the same cédula).
    names = _record_names(registry_record, [*seen, *brought])
    shown = [c for name in names for c in _shown_elsewhere(session, request, name, seen)]
    compared = [{"agreement": record_agreement(c["record"], _declared(case))} for c in shown
                if isinstance(c.get("record"), dict)]
    if any(_anchors_disagree(c) for c in [*(c for c, _ in matching), *compared]):
        kinds.append(ANCHORS_DISAGREE)
    if any(_identity_differs(c) for c in [*(c for c, _ in matching), *compared]):
        kinds.append(IDENTITY_DIFFERS)
    if others and (elsewhere := _verified_elsewhere(session, others, registry_record)):
        kinds.append(PERSON_VERIFIED_ELSEWHERE)
        values["elsewhere"] = ", ".join(elsewhere)
    # A death linkage saw in the record, for whichever request of this authority (red team round 81, F1: shown on one
    # record of a person, verified on another not linked to it), stays a death.
    if any(is_deceased(c) for c in seen + brought if any(names_record(c, name) for name in names)) \
            or any(is_deceased(c) for c in shown):
        kinds.append(RECORD_DECEASED)
    # The letter of the record's cédula (the record's id, or its cédula as linkage showed it) is the nationality
    # verified: a foreign resident's E, or another letter than the declared one (red team round 81, F3).
    cedulas = [registry_record, *((c.get("record") or {}).get("cedula") for c in seen + brought + shown
                                  if names_record(c, registry_record) and isinstance(c.get("record"), dict))]
    held = {nationality_held_back(cedula, case.national_id) for cedula in cedulas} - {None}
    kinds += [kind for kind in (REGISTRY_FOREIGN_RESIDENT, CEDULA_LETTER_DIFFERS) if kind in held][:1]
    if matching and all(outcome == "not_found" for _, outcome in matching):
        # Linkage showed the record and found it is not the person (red team round 45a, F1).
        kinds.append(RECORD_NOT_FOUND)
        values["proposed_for"] = ", ".join(reference for _, reference in governing)
    # The authority's last final word on the case: a revocation no verification has followed since, of a verification
    # against this very record (another record is the error corrected, decided as any other).
    revoked = revoked_before(session, request.receiving_agency_id, [case.id]).get(case.id)
    if revoked is not None and same_record(revoked.registry_record, registry_record):
        kinds.append(EARLIER_REVOKED)
    earlier = earlier_not_national(session, request.receiving_agency_id, [case.id]).get(case.id)
    if earlier:
        kinds.append(EARLIER_NOT_NATIONAL)
        values["others"] = ", ".join(finding.case for finding in earlier)
    return kinds, values


def _check_override(session: Session, actor: User, case: Case, request: VerificationRequest, registry_record: str,
                    candidates: list[dict[str, Any]] | None, reason: str | None, typed: str | None) -> None:
    """Refuse a person's `verified` decision that overrides the linkage without who and why it needs (SPEC.md 4.7:
    overrides need a written reason; red team round 13, F1/F1b/F2).

    A record linkage did not propose, one whose birth date and cédula both disagree with the request, or one the
    registry marks deceased is a supervisor's, with a written reason: the identity approved would be another
    person's, or a dead person's, on one officer's word. A request whose person this authority already found not a
    national (on another record) needs a written reason of whoever verifies it. A request linkage never ran on keeps
    the manual path: the officer compares with the registry, and the decision names the record on the audit trail.
    """
    kinds, values = _overrides(session, case, request, registry_record, candidates)
    if not kinds:
        return
    supervisor = any(kind != EARLIER_NOT_NATIONAL for kind in kinds)
    written = reason is not None and reason.strip() and is_written_reason(reason)
    if written and (actor.role == "supervisor" or not supervisor):
        return
    record, kind = typed or registry_record, kinds[0]
    if kind == NOT_A_CANDIDATE:
        raise InvalidTransition(
            "case %(case)s: registry record %(record)s is not one of the candidates linkage proposed for request "
            "%(request)s (%(candidates)s): linkage never proposed it for this person, so verifying against it is an "
            "override a supervisor decides, with a written reason (at least 10 characters)",
            code=kind, case=case.reference, record=record, request=values["proposed_for"],
            candidates=values["candidates"])
    if kind == ANCHORS_DISAGREE:
        raise InvalidTransition(
            "case %(case)s: registry record %(record)s differs from the request in every hard identifier it compares "
            "(birth date and cédula): verifying against it is an override a supervisor decides, with a written "
            "reason (at least 10 characters)", code=kind, case=case.reference, record=record)
    if kind == RECORD_NOT_FOUND:
        raise InvalidTransition(
            "case %(case)s: linkage found registry record %(record)s is not the person of request %(request)s (not "
            "found): verifying against it is an override a supervisor decides, with a written reason (at least 10 "
            "characters)", code=kind, case=case.reference, record=record, request=values["proposed_for"])
    if kind == IDENTITY_DIFFERS:
        raise InvalidTransition(
            "case %(case)s: registry record %(record)s differs from the request in its sex, or in both its given "
            "names and first surname: verifying against it is an override a supervisor decides, with a written "
            "reason (at least 10 characters)", code=kind, case=case.reference, record=record)
    if kind == PERSON_VERIFIED_ELSEWHERE:
        raise InvalidTransition(
            "case %(case)s: another record of the same person, %(elsewhere)s, is verified against another registry "
            "record than %(record)s: one person has one record, so verifying this one is an override a supervisor "
            "decides, with a written reason (at least 10 characters)", code=kind, case=case.reference,
            record=record, elsewhere=values["elsewhere"])
    if kind == EARLIER_REVOKED:
        raise InvalidTransition(
            "case %(case)s: this authority revoked its verification against registry record %(record)s; verifying "
            "it against that record again undoes the revocation, so a supervisor decides it, with a written reason "
            "(at least 10 characters)", code=kind, case=case.reference, record=record)
    if kind in (REGISTRY_FOREIGN_RESIDENT, CEDULA_LETTER_DIFFERS):
        raise InvalidTransition(
            "case %(case)s: the cédula of registry record %(record)s is a foreign resident's (E), or of another "
            "letter than the declared one (%(declared)s): the letter is the nationality verified, so verifying against "
            "it is an override a supervisor decides, with a written reason (at least 10 characters)",
            code=kind, case=case.reference, record=record, declared=case.national_id or "—")
    if kind == RECORD_DECEASED:
        raise InvalidTransition(
            "case %(case)s: the registry records %(record)s as deceased, so someone may be travelling on a dead "
            "person's identity: verifying against it is an override a supervisor decides, with a written reason (at "
            "least 10 characters)", code=kind, case=case.reference, record=record)
    raise InvalidTransition(
        "case %(case)s: this authority decided that %(others)s, the same person, is not a national; verifying this "
        "record overturns that finding, so it needs a written reason (at least 10 characters)",
        code=kind, case=case.reference, others=values["others"])


@action("verification.decide")
def record_decision(session: Session, actor: User, case: Case, *, outcome: str, method: str = "manual",
                    registry_record: str | None = None, probability: float | None = None,
                    candidates: list[dict[str, Any]] | None = None, reason: str | None = None,
                    request_reference: str, registry_birth_date: date | None = None,
                    run: str | None = None) -> VerificationDecision:
    """Record the receiving side's decision; 'review' and 'not_found' leave the case for a person to decide.

    A decision naming a registry record, whatever its outcome, keeps the birth date the record holds
    (`VerificationDecision.registry_birth_date`), which every children's rule reads with the declared one: the
    youngest of the dates the linkage's stored candidates showed for the record (on any record of the person), the
    decision's own candidates (a decisions file) and the officer's (`registry_birth_date`, the manual path: the
    officer read the record; refused without a registry record, which it would be the date of). Verification accepts
    a registry date a slip off the declared one, and a person 17 by the registry is a minor whatever the declaration
    says (red team round 13); a date recorded on a review is the record's once it is verified without the date
    repeated (round 17, O-F4: `cases.facts.people_registry_births`).

    `run`: the console run that records it (`verification.console_run`), named on its audit record.

    A decision names the request it was made on (`request_reference`: the API's `request`, the pages'
    hidden field, a decisions file's line), so it is bound to the identity that request carried, the
    one the officer or the linkage saw. Once the sending side changed the identity, that request is
    superseded and a decision on it is refused (409 request_superseded): it never verifies an identity
    nobody on the receiving side has seen.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome must be one of %(outcomes)s", outcomes=", ".join(OUTCOMES))
    if outcome == "verified" and not registry_record:
        raise InvalidInput("a verified decision names the registry record it matched", code="registry_record_required")
    if registry_birth_date is not None:
        sane_registry_birth(registry_birth_date)
        if not registry_record:
            raise InvalidInput("a registry birth date is the date of the registry record the decision names: name "
                               "the record (registry_record)", code="registry_record_required")
    # One spelling per record, whichever door it came by (page, API, CLI, decisions file, linkage, demo): records
    # of one person are linked by equality of this text (`cases.facts._linked_pairs`, `_same_record_same_person`).
    # A rejection or a proposal naming a record nobody could verify is kept as given when it has no such form.
    typed = registry_record
    if registry_record:
        registry_record = (canonical_record(registry_record) if outcome == "verified"
                           else canonical_or_none(registry_record) or registry_record)
    if registry_record and identifiers.placeholder_registry_record(registry_record):
        # `0`, `000000`, `NA`, `XXXXXX`, `111111`: two strangers verified against `0` were one person (red team
        # round 17, O-F6); `23456789`, `V23456789`, `CI12345678` a woman and an unrelated man (round 18, R-F1).
        raise InvalidInput("registry record '%(record)s' names no record (no digit other than 0, or, as a placeholder "
                           "cédula, a character or a unit of two or three repeated or digits in a run): one person's "
                           "records are linked by it; name the record the registry holds",
                           code="registry_record_placeholder", record=typed)
    if outcome == "rejected":
        reason = written_reason(reason)
    request = open_request(session, actor, case)
    if request_reference != request.reference:
        if not session.execute(sa.select(VerificationRequest.id).where(
                VerificationRequest.case_id == case.id, VerificationRequest.reference == request_reference)).first():
            raise NotFound("case %(case)s has no verification request %(request_reference)s", case=case.reference,
                           request_reference=request_reference)
        raise InvalidTransition("case %(case)s: request %(request_reference)s was superseded by %(request)s "
                                "after the identity changed; decide on the new request",
                                code="request_superseded", case=case.reference, request_reference=request_reference,
                                request=request.reference)
    if request.identity_fingerprint != case_fingerprint(case):
        raise InvalidTransition("case %(case)s: the identity changed after request %(request)s was sent",
                                code="request_superseded", case=case.reference, request=request.reference)
    if outcome == "verified" and method == LINKAGE_METHOD:
        kinds, _ = _overrides(session, case, request, registry_record or "", candidates)
        if RECORD_DECEASED in kinds or ANCHORS_DISAGREE in kinds:
            # Linkage never proposes it (`linkage._decide`); a decisions file that does is refused here, whatever
            # flag the file itself carries: the stored proposal is what linkage said of the record.
            if RECORD_DECEASED in kinds:
                raise InvalidInput("the registry records %(record)s as deceased: a person decides, never linkage "
                                   "alone", code="deceased_not_auto_verified", record=registry_record)
            raise InvalidInput("registry record %(record)s differs from the request in its birth date and cédula: a "
                               "person decides, never linkage alone", code="unanchored_not_auto_verified",
                               record=registry_record)
        if EARLIER_NOT_NATIONAL in kinds:
            # The person was found not a national on another record: a person decides, seeing that finding.
            outcome, reason = "review", EARLIER_NOT_NATIONAL
        elif held := [kind for kind in kinds if kind in (REGISTRY_FOREIGN_RESIDENT, CEDULA_LETTER_DIFFERS)]:
            # A decisions file's verified line against a foreign resident's cédula, or another letter (red team round
            # 81, F3): a person decides, as linkage itself proposes (`linkage._decide`).
            outcome, reason = "review", held[0]
        elif PERSON_VERIFIED_ELSEWHERE in kinds:
            # Another record of the person is verified against another registry record: a person decides which is
            # the person's, a supervisor with a written reason (red team round 45a, F2).
            outcome, reason = "review", PERSON_VERIFIED_ELSEWHERE
        elif _held_by_another_person(session, case, request, registry_record or ""):
            # Another identity's verified record: linkage never makes the two one person (red team T-F4); a person
            # decides, a supervisor with a written reason (`_same_record_same_person`).
            outcome, reason = "review", RECORD_OF_ANOTHER_PERSON
    elif outcome == "verified":
        _check_override(session, actor, case, request, registry_record or "", candidates, reason, typed)
        _same_record_same_person(session, actor, case, request, registry_record or "", reason, typed)
    born = _registry_birth(session, case, registry_record, candidates, registry_birth_date,
                           stored=outcome == "verified") if registry_record else None
    decision = VerificationDecision(request_id=request.id, outcome=outcome, method=method,
                                    registry_record=registry_record, match_probability=probability,
                                    candidates=candidates, decided_by=actor.id, reason=reason,
                                    identity_fingerprint=request.identity_fingerprint, registry_birth_date=born)
    session.add(decision)
    request.status = "decided" if outcome in ("verified", "rejected") else "review"
    session.flush()
    shown = {record_digits(key) for c in candidates or [] if isinstance(c, dict)
             for key in (c.get("registry_record"), (c.get("record") or {}).get("cedula")
                         if isinstance(c.get("record"), dict) else None)
             if isinstance(key, str) and key.strip()}
    session.add_all([RegistryCandidate(decision_id=decision.id, record_key=key) for key in sorted(shown) if key])
    after: dict[str, Any] = {"request": request.reference, "method": method, "registry_record": registry_record,
                             "probability": probability}
    if born is not None:
        after["registry_birth_date"] = born.isoformat()
    if run is not None:
        after["run"] = run
    record(session, actor, "verification." + outcome, "case", case.reference, after=after, reason=reason)
    if outcome == "verified":
        transition(session, actor, case, "verified", action="case.verified")
        advance(session, actor, case)
    elif outcome == "rejected":
        transition(session, actor, case, "not_national", action="case.not_national", reason=reason)
        for in_doubt in NOT_NATIONAL_REACTIONS:
            in_doubt(session, actor, case)
    if born is not None and registry_record and outcome != "verified":
        for react in REGISTRY_DATE_REACTIONS:
            react(session, actor, case, registry_record)
    return decision


def sane_registry_birth(born: date) -> date:
    """`born`, a registry record's birth date a decision records, if it can be one: not in the future, not before 1900
    (as every birth date of a case, `cases.rows.EARLIEST_DATE`); else 422 `invalid_registry_birth_date`, before
    anything is written. It makes the person a minor for every children's rule (red team round 16, F7: 2030-01-01
    held an adult as a child, 0001-01-01 was taken as said)."""
    if born > utcnow().date():
        raise InvalidInput("registry_birth_date %(registry_birth_date)s is in the future",
                           code="invalid_registry_birth_date", registry_birth_date=born)
    if born < EARLIEST_DATE:
        raise InvalidInput("registry_birth_date %(registry_birth_date)s is before 1900",
                           code="invalid_registry_birth_date", registry_birth_date=born)
    return born


def _registry_birth(session: Session, case: Case, registry_record: str, candidates: list[dict[str, Any]] | None,
                    given: date | None, *, stored: bool) -> date | None:
    """The birth date `registry_record` holds (see `record_decision`), or None where nobody said: the youngest of
    the officer's `given` date and the decision's own candidates', and where `stored` (a verification) the candidates
    stored with every decision of a record of the person (linkage's proposals, a decisions file's lines, whatever
    record each named: `records_alike`), a minor when in doubt. A date another decision recorded as its own
    record's counts as it is (`cases.facts.people_registry_births`).

    Each source within the bounds of a birth date (`sane_registry_birth`): the decision's own candidates (a decisions
    file) are refused beyond them (422, nothing written), as the officer's `given` date is; a stored candidate's date
    beyond them is no reading of the record, and is passed over."""
    dates: list[date] = []
    if stored:
        records = [case.id, *sorted(records_alike(session, [case.id]).get(case.id, set()))]
        dates += [born for found in session.execute(
            sa.select(VerificationDecision.candidates)
            .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
            .where(among(VerificationRequest.case_id, records), VerificationDecision.candidates.is_not(None))).scalars()
            if (born := registry_birth_of(found, registry_record, same_record)) is not None
            and EARLIEST_DATE <= born <= utcnow().date()]
    own = registry_birth_of(candidates, registry_record, same_record)
    dates += [born for born in (sane_registry_birth(own) if own is not None else None, given) if born is not None]
    return max(dates, default=None)


@reader("verification.queue")
def review_queue(session: Session, actor: User, *, limit: int = 100, offset: int = 0
                 ) -> list[tuple[VerificationRequest, Case, VerificationDecision | None]]:
    """Requests to this receiving authority still waiting for a person, oldest first, with the latest proposal."""
    latest = (sa.select(VerificationDecision.request_id, sa.func.max(VerificationDecision.id).label("did"))
              .group_by(VerificationDecision.request_id).subquery())
    rows = session.execute(
        sa.select(VerificationRequest, Case, VerificationDecision)
        .join(Case, Case.id == VerificationRequest.case_id)
        .outerjoin(latest, latest.c.request_id == VerificationRequest.id)
        .outerjoin(VerificationDecision, VerificationDecision.id == latest.c.did)
        .where(*requests_seen(session, actor), VerificationRequest.status.in_(OPEN))
        .order_by(VerificationRequest.requested_at, VerificationRequest.id).limit(limit).offset(offset)
        # The queue shows each case's household: one query for all (not one per case: 43 at 100,000 cases).
        .options(selectinload(Case.household))
    ).all()
    return list(rows)


@reader("verification.queue")
def review_queue_size(session: Session, actor: User) -> int:
    """How many requests to this receiving authority still wait for a person."""
    return session.execute(sa.select(sa.func.count()).select_from(VerificationRequest)
                           .join(Case, Case.id == VerificationRequest.case_id)
                           .where(*requests_seen(session, actor), VerificationRequest.status.in_(OPEN))).scalar_one()


@action("verification.decide")
def sample_for_audit(session: Session, actor: User, share: float, seed: int, *,
                     since: datetime | None = None) -> list[tuple[VerificationDecision, VerificationRequest, Case]]:
    """Draw a share of the authority's auto-verified decisions for a person to re-check; the draw is audited.

    The same seed over the same decisions draws the same sample, so an auditor can reproduce it. The decisions are
    those on cases the authority still sees (`requests_seen`): a case withdrawn since left its view, and a re-check
    of it could not be done (red team round 16, N2: the draw answered a withdrawn case's reference and registry record).
    """
    if not 0.0 < share <= 1.0:
        raise InvalidInput("the audit share must be above 0 and at most 1, got %(share)s", share=share)
    query = (
        sa.select(VerificationDecision, VerificationRequest, Case)
        .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
        .join(Case, Case.id == VerificationRequest.case_id)
        .where(*requests_seen(session, actor),
               VerificationDecision.method == LINKAGE_METHOD, VerificationDecision.outcome == "verified")
        .order_by(VerificationDecision.id)
    )
    if since is not None:
        query = query.where(VerificationDecision.decided_at >= since)
    population = [(decision, request, case) for decision, request, case in session.execute(query).all()]
    size = math.ceil(share * len(population))
    drawn = sorted(random.Random(seed).sample(population, size), key=lambda row: row[0].id)
    record(session, actor, "verification.audit_sample", "agency", actor.agency.code,
           after={"share": share, "seed": seed, "since": since, "population": len(population),
                  "cases": [case.reference for _, _, case in drawn]})
    return drawn
