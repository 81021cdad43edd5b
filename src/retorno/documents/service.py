"""Travel documents on file: MRZ checked on entry; emergency travel documents issued by the receiving side."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from retorno import identifiers, names
from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import SENDING, acting, action, reader
from retorno.audit.service import record, text_digest
from retorno.cases import lifecycle
from retorno.cases.duplicates import national_id_key
from retorno.cases.facts import (
    CountedTogether,
    case_fingerprint,
    counted_together,
    current_documents,
    records_alike,
    same_person,
)
from retorno.cases.models import ONE_PERSON, Case, PossibleDuplicate
from retorno.cases.service import advance, can_see, ensure_owner
from retorno.db import among, utcnow
from retorno.documents import mrz as mrz_checker
from retorno.documents.models import ON_FILE, EmergencyDocumentCounter, TravelDocument, links_records
from retorno.documents.pdf import EmergencyDocumentPrint, UnprintableDocument, render_emergency_document
from retorno.errors import Forbidden, InvalidInput, InvalidTransition, Message, NotFound, Term
from retorno.reasons import written_reason
from retorno.verification.models import VerificationDecision, VerificationRequest

# An emergency travel document is for the one journey home: valid for this long.
EMERGENCY_VALIDITY = timedelta(days=90)


def _check_access(session: Session, actor: User, case: Case) -> None:
    if actor.agency.kind == "sending_authority":
        ensure_owner(actor, case)
    elif not can_see(session, actor, case):
        # A case the agency may not see does not exist for it.
        raise NotFound("no case %(case)s that you may see", case=case.reference)


def _name_words(case: Case) -> list[str]:
    """A person's names as a document carries them: the words of all of them, folded, whatever field each is in."""
    return sorted(" ".join(names.key(part) for part in (case.given_names, case.first_surname,
                                                         case.second_surname)).split())


def _one_person(session: Session, case: Case, holders: Sequence[Case]) -> set[int]:
    """The records of `holders` that are `case`'s person: of the same identity (the names, whatever field each word
    is in, and the birth date), or linked as one person by something else than a travel document (a cédula by its
    digits, a civil-registry record one receiving authority verified both against, a supervisor's decision:
    `cases.facts._linked_pairs`), directly or through one another."""
    people = {record.id: record for record in (case, *holders)}
    ids = list(people)
    identities = {record.id: (_name_words(record), record.birth_date) for record in people.values()}
    cedulas = {record.id: national_id_key(record.national_id) for record in people.values()}
    pairs = {(first, second) for first in ids for second in ids if first < second and (
        identities[first] == identities[second] or (cedulas[first] != "" and cedulas[first] == cedulas[second]))}
    records: dict[tuple[int, str], set[int]] = {}
    for case_id, agency_id, registry_record in session.execute(
            sa.select(VerificationRequest.case_id, VerificationRequest.receiving_agency_id,
                      VerificationDecision.registry_record)
            .join(VerificationDecision, VerificationDecision.request_id == VerificationRequest.id)
            .where(VerificationRequest.case_id.in_(ids), VerificationDecision.outcome == "verified",
                   VerificationDecision.registry_record.is_not(None))):
        if national_id_key(registry_record):
            records.setdefault((agency_id, national_id_key(registry_record)), set()).add(case_id)
    pairs |= {(first, second) for verified in records.values() for first in verified for second in verified
              if first < second}
    pairs |= {(first, second) for first, second in session.execute(
        sa.select(PossibleDuplicate.case_id, PossibleDuplicate.other_case_id).where(
            PossibleDuplicate.decision == ONE_PERSON, PossibleDuplicate.case_id.in_(ids),
            PossibleDuplicate.other_case_id.in_(ids)))}
    same, added = {case.id}, True
    while added:
        reached = {b for a, b in pairs if a in same} | {a for a, b in pairs if b in same}
        added = bool(reached - same)
        same |= reached
    return same - {case.id}


def held_by_another_person(session: Session, case: Case, issuing_state: str, number: str) -> list[TravelDocument]:
    """The documents of `issuing_state` and `number` filed on the records of other people than `case`'s.

    A travel document is one person's (red team round 13, F6: a passport number another passenger's record held
    was filed as valid for a stranger, and both were approved on one manifest under it). Another record's document
    counts when it links records (`models.links_records`): on file (one withdrawn as filed in error is nobody's) and
    not itself filed with this problem (which does not make the rightful holder's a problem in turn), valid or not
    (red team round 18, S-F2: otherwise a number filed first with another problem, an expiry say, on a stranger's
    record would make the person's own passport filed after it a link between the two); and its record is another
    person unless `_one_person` finds it this one's.
    """
    if identifiers.placeholder_document_number(number):
        return []  # a number that names no document is nobody's (red team round 16, F1)
    held = session.execute(
        sa.select(TravelDocument, Case).join(Case, Case.id == TravelDocument.case_id)
        .where(TravelDocument.issuing_state == issuing_state, TravelDocument.number == number,
               TravelDocument.case_id != case.id, links_records(TravelDocument))
        .order_by(TravelDocument.id)).all()
    if not held:
        return []
    same = _one_person(session, case, list({holder.id: holder for _document, holder in held}.values()))
    return [document for document, holder in held if holder.id not in same]


def _readable(parsed: mrz_checker.Mrz) -> None:
    """Refuse a machine readable zone that names no document: no issuing state, no document number, or a number
    that names none (`identifiers.placeholder_document_number`: zeros, a word, a run such as 123456789, a pattern
    repeated, under 5 characters). Filed, a failed scan of fillers had an empty number and state, and every record
    holding one was the same person: concerns and one-seat removals flowed between strangers of any agency (red team
    round 16, F1; round 17, O-F1, a sequence). Nothing is written."""
    if not re.fullmatch(r"[A-Z]{1,3}", parsed.issuing_state):
        raise InvalidInput("the machine readable zone cannot be read: it has no issuing state (%(found)s); scan or "
                           "type the document again, nothing was filed", code="mrz_unreadable",
                           found=repr(parsed.issuing_state or "<<<"))
    if not parsed.document_number.replace("<", ""):
        raise InvalidInput("the machine readable zone cannot be read: it has no document number; scan or type the "
                           "document again, nothing was filed", code="mrz_unreadable")
    if identifiers.placeholder_document_number(parsed.document_number):
        raise InvalidInput("the document number %(number)s names no document (under 5 characters, no digit other "
                           "than 0, a run of digits such as 123456789, or a character or a short pattern repeated): "
                           "one person's records are linked by the number, so it is not filed",
                           code="document_number_placeholder", number=parsed.document_number)


@action("document.add")
def add_document(session: Session, actor: User, case: Case, *, mrz_text: str) -> TravelDocument:
    """File a travel document from its machine readable zone; problems are kept and shown, never hidden.

    The domain step of `travel.service.add_document`, which first takes a manifested person off the
    manifest (what the receiving side approved included the document on file).
    """
    _check_access(session, actor, case)
    if lifecycle.identity_locked(case.state):
        # The document they boarded with is the record of their journey, and the manifest, the carrier's list and the
        # PAXLST name it: another filed after boarding became the document on file and rewrote them, and let the one
        # travelled on be withdrawn (red team round 28b, F2), as an edit of the identity is refused (`identity_locked`).
        raise InvalidTransition("case %(case)s: the person has boarded (the case is '%(state)s'); the travel document "
                                "they boarded with stays the document of their journey, and no other is filed",
                                code="document_travelled", case=case.reference, state=Term("case_state", case.state))
    try:
        parsed = mrz_checker.parse_mrz(mrz_text, today=utcnow().date())
    except mrz_checker.MrzFormatError as exc:
        raise InvalidInput("the machine readable zone cannot be read: %(problem)s", code="mrz_unreadable",
                           problem=exc.sentence) from exc
    if not parsed.document_number.isascii():
        # Documents of one person are linked by equality of their number: one holding a letter of another alphabet
        # (what is left once `mrz._normalise` folded full-width and other-script digits) would link nobody.
        raise InvalidInput("the document number %(number)s holds %(found)s: a machine readable zone is written in "
                           "Latin letters (A-Z), digits (0-9) and <, and one person's records are linked by the number",
                           code="identifier_not_ascii", number=parsed.document_number,
                           found=identifiers.non_ascii(parsed.document_number))
    _readable(parsed)
    problems = list(parsed.problems)
    held = held_by_another_person(session, case, parsed.issuing_state, parsed.document_number)
    if any(document.emergency and document.issued_by_agency_id is not None for document in held):
        # A number this system's receiving authority gave another person is theirs for certain (F3). Told so only to
        # the issuing state's own agencies: to anyone else it is a number not issued to this person, as one never
        # issued is (red team round 15, L2: the refusal told a sending officer which numbers of the series exist).
        if actor.agency.country != parsed.issuing_state:
            raise _not_issued(case, parsed.issuing_state, parsed.document_number)
        raise InvalidInput("the emergency travel document %(issuing_state)s %(number)s was issued to another person: "
                           "it is not filed on case %(case)s", code="document_issued_to_another",
                           issuing_state=parsed.issuing_state, number=parsed.document_number, case=case.reference)
    _emergency_series_issued(session, actor, case, parsed.issuing_state, parsed.document_number,
                             "\n".join(parsed.lines), document_code=parsed.document_code.replace("<", ""))
    if held:
        # Not which record nor whose: another agency's record is named to nobody (SPEC.md section 4.6).
        problems.append(mrz_checker.MrzProblem(
            "document_held_by_another", "document_number",
            "the document %(issuing_state)s %(number)s is already filed on the record of another person (another "
            "identity): a travel document is one person's, and it is not valid for this one; correct the number on "
            "the record that has it wrong", {"issuing_state": parsed.issuing_state, "number": parsed.document_number}))
    mismatch = mrz_checker.compare_name(parsed, " ".join(filter(None, (case.first_surname, case.second_surname))),
                                        case.given_names)
    if mismatch:
        problems.append(mismatch)
    if parsed.birth_date and parsed.birth_date != case.birth_date:
        problems.append(mrz_checker.MrzProblem("birth_date_mismatch", "birth_date",
                                               "the MRZ birth date %(mrz)s differs from the declared %(declared)s",
                                               {"mrz": parsed.birth_date, "declared": case.birth_date}))
    # The MRZ writes an unspecified sex as '<' (ICAO 9303); the case as X.
    if parsed.sex in ("M", "F", "X", "<") and parsed.sex.replace("<", "X") != case.sex:
        problems.append(mrz_checker.MrzProblem("sex_mismatch", "sex",
                                               "the MRZ sex %(mrz)s differs from the declared %(declared)s",
                                               {"mrz": parsed.sex, "declared": case.sex}))
    if parsed.document_code.startswith("V"):
        # A visa lets its holder into the state that issued it; it carries nobody home (safeguard 4: a valid
        # document before approval). Filed, it is kept with this problem and never valid (red team round 15).
        problems.append(mrz_checker.MrzProblem(
            "not_a_travel_document", "document_code",
            "a visa (document code %(code)s) is not a travel document: it carries nobody home; file the person's "
            "passport, identity card or emergency travel document", {"code": parsed.document_code.replace("<", "")}))
    if parsed.issuing_state in mrz_checker.country_codes() and not mrz_checker.issued_by_a_state(parsed.issuing_state):
        # An ICAO code of no state: the specimen's Utopia, a nationality category (XXA, GBD), an international
        # organisation (UNO, EUE, XPO). Filed, it is kept with this problem and never valid (red team round 19, T-F2).
        problems.append(mrz_checker.MrzProblem(
            "issuing_state_not_a_state", "issuing_state",
            "the issuing state %(code)s is not a state (the ICAO specimen Utopia, a nationality or refugee category, "
            "or an international organisation): a travel document a person is returned on is issued by a state; file "
            "the person's passport, identity card or emergency travel document", {"code": parsed.issuing_state}))
    elif mrz_checker.issued_by_a_state(parsed.issuing_state) and parsed.issuing_state != case.nationality:
        # A person is returned to the state they are a national of, on its document: another state's passport, or its
        # refugee travel document (a sign of the protection the person holds there), admits nobody to that state, and
        # was valid, the case ready on it (red team round 47b, F2). Filed, it is kept with this problem, never valid.
        problems.append(mrz_checker.MrzProblem(
            "issuing_state_not_nationality", "issuing_state",
            "the document is issued by %(code)s, not by %(nationality)s, the state the person is a national of and "
            "is returned to: file the person's passport, identity card or emergency travel document of that state",
            {"code": parsed.issuing_state, "nationality": case.nationality}))
    if parsed.nationality and parsed.nationality != case.nationality:
        problems.append(mrz_checker.MrzProblem("nationality_mismatch", "nationality",
                                               "the MRZ nationality %(mrz)s differs from the declared %(declared)s",
                                               {"mrz": parsed.nationality, "declared": case.nationality}))
    document = TravelDocument(
        case_id=case.id, document_type=parsed.document_code.replace("<", "") or "P",
        number=parsed.document_number, issuing_state=parsed.issuing_state, nationality=parsed.nationality,
        expiry_date=parsed.expiry_date, mrz="\n".join(parsed.lines), mrz_valid=not problems,
        problems=[p.stored() for p in problems],
        identity_fingerprint=case_fingerprint(case), filed_by_agency_id=actor.agency_id,
    )
    session.add(document)
    session.flush()
    record(session, actor, "document.add", "case", case.reference,
           after={"document": document.number, "type": document.document_type, "valid": document.mrz_valid,
                  "problems": [p["code"] for p in document.problems]})
    advance(session, actor, case)
    if held:
        # Not one person, nor strangers for certain: two identities under one number may be one person, and a concern
        # open on either holds the other until supervisors decide (`HELD_REACTIONS`; red team round 19, T-F1).
        for react in HELD_REACTIONS:
            react(session, actor, case, held)
    for filed in FILED_REACTIONS:
        filed(session, actor, case, document)
    return document


# What filing a document with a number other people's records hold (`held_by_another_person`) does besides: the
# records become possible duplicates (`travel.duplicates.flag_held_document`).
HELD_REACTIONS: list[Callable[[Session, User, Case, list[TravelDocument]], object]] = []
# ... and what filing any document does besides: a number another record holds under another kind of document makes
# the two possible duplicates (`travel.duplicates.flag_other_kind_number`; red team round 63, F1).
FILED_REACTIONS: list[Callable[[Session, User, Case, TravelDocument], object]] = []


def _not_issued(case: Case, issuing_state: str, number: str) -> InvalidInput:
    """The refusal of a number of `issuing_state`'s emergency series this system did not issue to `case`'s person:
    never issued, or, told to an agency not of that state, issued to another person (`add_document`)."""
    return InvalidInput("%(number)s is a number of the emergency travel document series of %(issuing_state)s that "
                        "this system did not issue to the person of case %(case)s: it is not filed on it; the "
                        "receiving authority issues the person an emergency travel document, or the person's own "
                        "document is filed", code="emergency_number_not_issued", issuing_state=issuing_state,
                        number=number, case=case.reference)


def _emergency_series_issued(session: Session, actor: User, case: Case, issuing_state: str, number: str,
                             filed_mrz: str, *, document_code: str) -> None:
    """Refuse a document of a receiving state's own emergency travel document series this system did not issue to
    `case`'s person (red team round 13, F11).

    The numbers a receiving state installed here issues (`_next_emergency_number`) are one series; one filed from its
    machine readable zone that the state never issued (an INM or ICE officer filing a Venezuelan "PE" document
    E26000123), or issued to nobody now (withdrawn), is no document of that state, and a number it issues later would
    collide with it. So a document of such a state whose number has the series' shape (`mrz.in_emergency_series`) is
    filed only when the state issued exactly that number to this case or a record of its person (`_one_person`); the
    receiving authority's own officials issue one by the issue route. Issued to another person, it was refused before
    (`document_issued_to_another`). Decided on the issuing state and the number alone, whatever the document's kind
    or format (red team round 15, H1: asked of passports only, the withdrawn E26001050 and the never-issued E26009998
    filed as TD1 identity cards, type I, were valid and the person approved on a manifest): a document is identified
    by its state and number (README, "A travel document is one person's").

    And a document this system issued is what it issued (red team round 14, F3b: after an identity change the sending
    side filed the number issued to the person with the new names and recomputed check digits, and it counted as
    valid): filed from a machine readable zone that differs from the one issued, it is not that document, and is
    refused (`emergency_document_altered`); the receiving authority issues the person a new one for the new identity.
    """
    # Nor a document of the series' kind ("PE") whatever its number, nor a number of the series with a letter read as
    # a digit ("E2635345O", "E263534" and "50" in the optional data: red team round 47b, F3: each was valid, a
    # Venezuelan emergency passport that state never issued, on the carrier's list as one it had).
    if not (mrz_checker.in_emergency_series(number) or mrz_checker.like_emergency_series(number)
            or document_code == mrz_checker.EMERGENCY_DOCUMENT_CODE):
        return
    installed = session.execute(sa.select(Agency.id).where(
        Agency.kind == "receiving_authority", Agency.country == issuing_state).limit(1)).first()
    if installed is None:
        return
    issued = session.execute(
        sa.select(TravelDocument, Case).join(Case, Case.id == TravelDocument.case_id)
        .where(TravelDocument.issuing_state == issuing_state, TravelDocument.number == number,
               TravelDocument.emergency, TravelDocument.issued_by_agency_id.is_not(None))).all()
    person = {case.id} | _one_person(session, case, [holder for _, holder in issued if holder.id != case.id])
    theirs = [document for document, holder in issued if document.withdrawn_at is None and holder.id in person]
    ended = [document for document in theirs if superseded(document)
             or closed_with_case(document, next(holder for d, holder in issued if d is document))]
    if ended and len(ended) == len(theirs):
        # Superseded, or of a case closed before boarding: no longer the person's document, so not filed again as a
        # valid copy on another record (red team round 17, O-F3: a copy of a withdrawn case's document was filed).
        raise InvalidInput("the emergency travel document %(issuing_state)s %(number)s is no longer valid (superseded "
                           "by another of the person's, or issued on a case that left the return process): it is not "
                           "filed on case %(case)s; file the person's valid one, or the receiving authority issues one",
                           code="document_superseded", issuing_state=issuing_state, number=number,
                           case=case.reference)
    if theirs:
        if all(document.mrz.strip() != filed_mrz for document in theirs):
            raise InvalidInput("the emergency travel document %(issuing_state)s %(number)s was issued with another "
                               "machine readable zone: the one given differs from what was issued, so it is not "
                               "that document, and it is not filed on case %(case)s; after a change of identity "
                               "the receiving authority issues a new one", code="emergency_document_altered",
                               issuing_state=issuing_state, number=number, case=case.reference)
        return
    # Withdrawn: told so to the issuing state's agencies, and to anyone of a number issued to this person (their
    # document list shows it withdrawn); to anyone else, a number not issued to this person, as one never issued.
    if issued and (actor.agency.country == issuing_state or any(holder.id in person for _, holder in issued)):
        raise InvalidInput("the emergency travel document %(issuing_state)s %(number)s was withdrawn by the agency "
                           "that issued it: it is no document on file, and it is not filed again on case %(case)s",
                           code="document_withdrawn", issuing_state=issuing_state, number=number,
                           case=case.reference)
    raise _not_issued(case, issuing_state, number)


def withdraws(user: User, case: Case, document: TravelDocument) -> bool:
    """Whether `user`'s agency is the one to withdraw `document` of `case` (`withdrawable_document`; the role is the
    capability's): the issuing agency for an emergency travel document this system issued; for any other, the agency
    that filed it or a sending authority of the case's country. A rule, not an action: the page asks it to show the
    form where it applies."""
    if document.issued_by_agency_id is not None:
        return user.agency_id == document.issued_by_agency_id
    return user.agency_id == document.filed_by_agency_id or (
        user.agency.kind == SENDING and user.agency.country == case.agency.country)


def copies_of(session: Session, document: TravelDocument) -> list[TravelDocument]:
    """The copies on file of an emergency travel document this system issued: the same number filed from its machine
    readable zone, on the person's records only (`_emergency_series_issued`). Withdrawn by the agency that issued it,
    they go with it: a copy would still be the document on file. None for any other document."""
    if document.issued_by_agency_id is None:
        return []
    return list(session.execute(sa.select(TravelDocument).where(
        TravelDocument.issuing_state == document.issuing_state, TravelDocument.number == document.number,
        TravelDocument.id != document.id, ON_FILE).order_by(TravelDocument.id)).scalars())


# What follows a withdrawal for the records the withdrawn documents made one person with their holders: called with
# the documents withdrawn and who counted as one person with whom around the holders before (`counted_together`:
# links and undecided possible duplicates); `travel.duplicates` makes every record no longer counted with another
# it was counted with a possible duplicate of it: a withdrawal alone never ends the hold a link carried (red team
# RE8701 F1), nor one it carried through a possible duplicate or another link (red team round 16, F3).
UNLINKED_REACTIONS: list[Callable[[Session, User, list[TravelDocument], CountedTogether], None]] = []


@action("document.withdraw")
def withdrawable_document(session: Session, actor: User, case: Case, document_id: int, *, reason: str
                          ) -> tuple[TravelDocument, str]:
    """The document of `case` that `actor` may withdraw, and the written reason (refused otherwise, nothing written).

    Who withdraws a document: a supervisor (the capability) of the agency that filed it, or of a sending authority of
    the case's country (the record's holder); an emergency travel document this system issued, a supervisor of the
    agency that issued it only: the sending side does not undo the receiving state's document. Withdrawing changes
    who is linked to whom (a concern on a record the document linked no longer holds this one), so it is for a
    document filed in error, said in writing. The document the person travelled on stays: once they boarded, it is
    the record of their journey.
    """
    if not can_see(session, actor, case):
        raise NotFound("no case %(case)s that you may see", case=case.reference)
    document = session.get(TravelDocument, document_id)
    if document is None or document.case_id != case.id:
        raise NotFound("no travel document %(document)s on case %(case)s", document=document_id, case=case.reference)
    if not withdraws(actor, case, document):
        if document.issued_by_agency_id is not None:
            raise Forbidden("the emergency travel document %(number)s was issued by the receiving authority: a "
                            "supervisor of the agency that issued it withdraws it", number=document.number)
        raise Forbidden("the travel document %(number)s was filed by another agency: only a supervisor of that "
                        "agency, or of a sending authority of the case's country, withdraws it",
                        number=document.number)
    reason = written_reason(reason)
    if document.withdrawn_at is not None:
        raise InvalidTransition("the travel document %(number)s of case %(case)s is withdrawn already",
                                code="document_withdrawn", number=document.number, case=case.reference)
    on_file = current_documents(session, [case.id]).get(case.id)
    if lifecycle.identity_locked(case.state) and on_file is not None and on_file.id == document.id:
        raise InvalidTransition("case %(case)s: the person has boarded with the travel document %(number)s; it stays "
                                "on file as the document of their journey", code="document_travelled",
                                case=case.reference, number=document.number)
    return document, reason


@action("document.withdraw")
def withdraw_document(session: Session, actor: User, case: Case, document_id: int, *, reason: str) -> TravelDocument:
    """Withdraw a travel document filed in error: kept for the record, no longer the person's document on file, and
    no longer a link between records (red team round 13, F10); audited with the reason's digest.

    The domain step of `travel.service.withdraw_document`, which first takes a manifested person off the manifest
    when it is their document on file (what the receiving side approved). The records it linked to this one move on
    as their guards now allow (a concern of the stranger's no longer holds them), and this one as its own do.
    """
    document, reason = withdrawable_document(session, actor, case, document_id, reason=reason)
    withdrawn = [document, *copies_of(session, document)]
    holders = list(dict.fromkeys(d.case_id for d in withdrawn))
    linked = same_person(session, holders)
    counted = counted_together(session, holders)
    now = utcnow()
    for each in withdrawn:
        each.withdrawn_at, each.withdrawn_by, each.withdrawn_reason = now, actor.id, reason
    session.flush()
    for each in withdrawn:
        holder = case if each.case_id == case.id else session.get(Case, each.case_id)
        assert holder is not None
        record(session, actor, "document.withdraw", "case", holder.reference,
               before={"document": each.number, "type": each.document_type, "valid": each.mrz_valid},
               after={"document": each.number, "withdrawn": True, "reason_sha256": text_digest(session, reason),
                      **({"copy_of": "the emergency travel document issued"} if each is not document else {})})
    now_linked = same_person(session, holders)
    # Records it made one person that are two again: possible duplicates now, before any of them moves on, so the
    # hold the link carried stays until supervisors decide (`UNLINKED_REACTIONS`; red team RE8701 F1).
    for react in UNLINKED_REACTIONS:
        react(session, actor, withdrawn, counted)
    for holder_id in holders:
        holder = case if holder_id == case.id else session.get(Case, holder_id)
        assert holder is not None
        advance(session, actor, holder)
        for other_id in linked.get(holder_id, {}):
            other = session.get(Case, other_id)
            if other is not None and other_id not in now_linked.get(holder_id, {}):
                advance(session, actor, other)
    return document


@action("document.issue_emergency")
def issue_emergency_document(session: Session, actor: User, case: Case, *, issued_on: date | None = None
                             ) -> TravelDocument:
    """The receiving authority issues an emergency travel document: number assigned, MRZ generated."""
    if not can_see(session, actor, case) or case.nationality != actor.agency.country:
        raise Forbidden("case %(case)s is not a national your agency may document", case=case.reference)
    if case.state in ("manifested", "boarded"):
        # Red team round 14: it was refused as 'not verified', which a manifested person is.
        raise InvalidTransition("case %(case)s is on a manifest ('%(state)s'): the passenger was approved with the "
                                "document on file, so a new one is issued once the person is taken off the manifest "
                                "(a locked one with both sides' consent)", code="on_a_manifest", case=case.reference,
                                state=Term("case_state", case.state))
    # A no-show too, whom the receiving side is told as 'documented' (`agencies.visibility.state_seen`): refused, the
    # refusal would set apart the no-show it is told alike with the other ways off a manifest (red team RE8702 M2).
    if case.state not in ("verified", "documented", "ready", "no_show"):
        raise InvalidInput("case %(case)s: an emergency travel document is issued once nationality is verified "
                           "(the case is '%(state)s')", code="not_verified", case=case.reference,
                           state=Term("case_state", case.state))
    issued = issued_on or utcnow().date()
    # The number drawn first: drawing holds the state's counter until the transaction ends, so of two issuing to one
    # person at once the second asks after the first committed (PostgreSQL's read committed); refused, nothing is
    # drawn either.
    number = _next_emergency_number(session, actor.agency.country, issued.year)
    held = emergency_document_held(session, case, actor.agency.country, issued)
    if held is not None and held.case_id != case.id:
        # Held on another record of the person: the number is the actor's own state's (the issuing state is the
        # actor's), the record named only to an agency that may read it.
        holder = session.get(Case, held.case_id)
        told = {"case": case.reference, "number": held.number, "issuing_state": held.issuing_state,
                "other": holder.reference if holder is not None and can_see(session, actor, holder)
                else Message("another agency's record")}
        if held.case_id not in same_person(session, [case.id]).get(case.id, {}):
            # Not linked: a possible duplicate no supervisor has decided (the same names, sex and birth date) may be
            # the person, and the safe reading counts it (red team round 17, O-F2).
            raise InvalidTransition("the person of case %(case)s may hold the emergency travel document %(number)s of "
                                    "%(issuing_state)s, valid and on file, on a record that may be theirs (%(other)s, "
                                    "a possible duplicate no supervisor has decided): a second one is not issued; the "
                                    "sending side's supervisor decides whether they are one person first",
                                    code="emergency_document_held", **told)
        raise InvalidTransition("the person of case %(case)s holds the emergency travel document %(number)s of "
                                "%(issuing_state)s, valid and on file, on another record of theirs (%(other)s): a "
                                "second one is not issued; if it was issued in error, a supervisor of the agency "
                                "that issued it withdraws it first, with a written reason",
                                code="emergency_document_held", **told)
    if held is not None:
        raise InvalidTransition("case %(case)s holds the emergency travel document %(number)s of %(issuing_state)s, "
                                "valid and on file: a second one is not issued; if it was issued in error, a "
                                "supervisor of the agency that issued it withdraws it first, with a written reason",
                                code="emergency_document_held", case=case.reference, number=held.number,
                                issuing_state=held.issuing_state)
    surnames = _surnames(case)
    text = mrz_checker.build_emergency_mrz(
        number=number, surnames=surnames, given_names=case.given_names, birth_date=case.birth_date,
        sex=case.sex, expiry_date=issued + EMERGENCY_VALIDITY, nationality=case.nationality,
        issuing_state=actor.agency.country)
    document = TravelDocument(
        case_id=case.id, document_type=mrz_checker.EMERGENCY_DOCUMENT_CODE, number=number,
        issuing_state=actor.agency.country, nationality=case.nationality,
        expiry_date=issued + EMERGENCY_VALIDITY, mrz=text, mrz_valid=True, problems=[], emergency=True,
        issued_by_agency_id=actor.agency_id, filed_by_agency_id=actor.agency_id,
        identity_fingerprint=case_fingerprint(case), issued_identity=_printed_identity(case, issued))
    session.add(document)
    session.flush()
    record(session, actor, "document.issue_emergency", "case", case.reference,
           after={"document": number, "expires": document.expiry_date})
    advance(session, actor, case)
    for filed in FILED_REACTIONS:
        filed(session, actor, case, document)
    return document


def emergency_document_held(session: Session, case: Case, issuing_state: str, today: date) -> TravelDocument | None:
    """The emergency travel document of `issuing_state` this system issued to `case` that is still the person's: on
    file (not withdrawn), valid when issued, for the identity the case has now, and not expired on `today`.

    One person holds one (red team round 15, L2: a second receiving authority of the state issued another to a
    person holding a valid one, two documents of the state for one journey). After an identity change the one held
    is for the old identity and a new one is issued (README, "A travel document is one person's"); an expired one is
    replaced; one issued in error is withdrawn first (`withdraw_document`).

    Of every record of the person (`same_person`: a person registered twice is one person), the case's own first,
    each document for the identity of the record it was issued to (red team round 16, F4: SAIME issued one on INM's
    record and MPPT another on ICE's record of the same person, two valid emergency passports for one person), and
    of every record that may be theirs, in the safe direction (`records_alike`: an undecided possible duplicate, same
    names, sex and birth date, and its own records, as the one-seat and children's rules read them; red team round 17,
    O-F2: one each was issued to two alike records, and a later link left both valid). A document of a case closed
    before boarding (withdrawn, unfit to fly) is no longer the person's (round 17, O-F3), nor one superseded when its
    record was linked to the holder of an earlier one (`one_emergency_document`)."""
    records = {case.id: case}
    for other_id in sorted(records_alike(session, [case.id]).get(case.id, set())):
        other = session.get(Case, other_id)
        if other is not None:
            records[other_id] = other
    documents = session.execute(sa.select(TravelDocument).where(
        among(TravelDocument.case_id, sorted(records)), TravelDocument.issuing_state == issuing_state,
        TravelDocument.emergency, TravelDocument.issued_by_agency_id.is_not(None), TravelDocument.mrz_valid,
        ON_FILE)).scalars().all()
    for document in sorted(documents, key=lambda d: (d.case_id != case.id, d.id)):
        if _counts(document, records[document.case_id], today):
            return document
    return None


def _counts(document: TravelDocument, case: Case, today: date) -> bool:
    """Whether `document` (an emergency travel document issued here, valid when issued, on file) of `case` is still
    the person's: for the identity the case has now, not expired on `today`, and of a case not closed before boarding
    (`lifecycle.CLOSED_EXITS`: withdrawn or unfit to fly, it left the process and the receiving side's view)."""
    return (document.identity_fingerprint == case_fingerprint(case) and case.state not in lifecycle.CLOSED_EXITS
            and (document.expiry_date is None or document.expiry_date >= today))


def _next_emergency_number(session: Session, issuing_state: str, year: int) -> str:
    """A new emergency travel document number of `issuing_state` in `year`, whichever of its agencies issues it:
    drawn at random among the year's series, none the state has on file.

    Drawn, not counted: numbered in order of issue, the n-th `document.issue_emergency` record a monitor reads (on a
    case's pseudonym) was the document numbered n, printed on it and on every passenger list, which named the person
    behind the pseudonym (red team round 27, F2; the same class as case references, round 26c F1). One draw at a
    time per state (red team round 13, F3: two receiving authorities of Venezuela, each with a counter of its own,
    issued E26000001 to two people): the state's counter row is made if missing (a second transaction making it at
    the same time does nothing) and bumped in one UPDATE, which holds its row until the transaction ends, so two
    issuing at once draw one after the other, on PostgreSQL and on SQLite (whose writers run one at a time), and the
    second sees the first's number on file. The counter tells how many the state issued in the year.
    """
    counters = cast(sa.Table, EmergencyDocumentCounter.__table__)
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(counters)
    session.execute(insert.values(issuing_state=issuing_state, year=year, last=0).on_conflict_do_nothing())
    session.execute(sa.update(counters).where(counters.c.issuing_state == issuing_state, counters.c.year == year)
                    .values(last=counters.c.last + 1))
    while True:
        number = mrz_checker.emergency_document_number(year, 1 + secrets.randbelow(mrz_checker.EMERGENCY_SERIES))
        on_file = sa.select(TravelDocument.id).where(TravelDocument.issuing_state == issuing_state,
                                                     TravelDocument.number == number).limit(1)
        if session.execute(on_file).first() is None:
            return number


def _surnames(case: Case) -> str:
    return " ".join(filter(None, (case.first_surname, case.second_surname)))


def _printed_identity(case: Case, issued: date) -> dict[str, str]:
    """What an emergency travel document issued to `case` on `issued` prints in its visual zone (`issued_identity`)."""
    return {"surnames": _surnames(case), "given_names": case.given_names, "nationality": case.nationality,
            "birth_date": case.birth_date.isoformat(), "sex": case.sex, "place_of_birth": case.place_of_birth or "",
            "issue_date": issued.isoformat()}


def _replaced(session: Session, document: TravelDocument) -> bool:
    """Whether the person of `document`'s case holds a newer emergency travel document issued here for the same
    identity, on file: the one they travel on (an expired one is replaced so)."""
    return session.execute(sa.select(TravelDocument.id).where(
        TravelDocument.case_id == document.case_id, TravelDocument.id > document.id, TravelDocument.emergency,
        TravelDocument.issued_by_agency_id.is_not(None), TravelDocument.mrz_valid, ON_FILE,
        TravelDocument.identity_fingerprint == document.identity_fingerprint).limit(1)).first() is not None


def identity_changed(document: TravelDocument, case: Case) -> bool:
    """Whether `case` (the document's) no longer has the identity `document` was checked against when filed, or
    issued for: it then counts for no safeguard (`cases.facts.traveller_facts`, a document for another identity)."""
    return document.identity_fingerprint != case_fingerprint(case)


# Told of a document on file whose case's identity changed since it was filed (red team round 16, F6: such a document
# read `valid: true` with no problem, though the safeguards no longer count it).
IDENTITY_CHANGED = mrz_checker.MrzProblem(
    "identity_changed", "identity",
    "the case's identity was changed after this document was filed: it was checked against an identity the case no "
    "longer has, and is not the person's document for travel; file the document of the identity the case has now, or "
    "the receiving authority issues a new emergency travel document", {})


# Told of an emergency travel document superseded when its record was linked to another record of the person holding
# an earlier one of the same state (`one_emergency_document`; red team round 17, O-F2). Stored with the document, which
# is then not valid (`mrz_valid` false): every door that reads a document's validity reads it so.
SUPERSEDED = mrz_checker.MrzProblem(
    "document_superseded", "document",
    "superseded: the person holds an earlier emergency travel document of the same state, valid, on another record of "
    "theirs (the records were found to be one person): that one is the person's document for travel, and this one "
    "is not valid nor printed; if the records are not one person, what links them is corrected first (a document "
    "filed in error withdrawn, a cédula corrected) and the receiving authority issues a new one", {})
# ... and of one issued on a case closed before boarding (withdrawn, unfit to fly: red team round 17, O-F3).
CASE_CLOSED = mrz_checker.MrzProblem(
    "case_closed", "case",
    "the case this emergency travel document was issued on left the return process before boarding (withdrawn or "
    "unfit to fly): it is not the person's document for travel and is not printed", {})


def superseded(document: TravelDocument) -> bool:
    """Whether `document` was superseded (`one_emergency_document`)."""
    return any(problem.get("code") == SUPERSEDED.code for problem in document.problems)


def closed_with_case(document: TravelDocument, case: Case) -> bool:
    """Whether `document`, an emergency travel document this system issued, is of a case closed before boarding."""
    return document.issued_by_agency_id is not None and case.state in lifecycle.CLOSED_EXITS


# Up to this many records touched, `held_twice` reads their people's documents; above, every valid one held.
FEW_RECORDS = 1000


def held_twice(session: Session, case_ids: Sequence[int] | None) -> list[list[tuple[TravelDocument, Case]]]:
    """The people among `case_ids` (None: everyone) holding more than one valid emergency travel document of a state
    (`one_emergency_document`): per person and state, the documents with their records, the one to keep first (the
    one of a record on a manifest or that travelled, what the receiving side approved; else the earliest issued).
    Reads only: a check of the whole database may ask it (`one_emergency_document`'s invariant)."""
    query = (sa.select(TravelDocument, Case).join(Case, Case.id == TravelDocument.case_id)
             .where(TravelDocument.emergency, TravelDocument.issued_by_agency_id.is_not(None),
                    TravelDocument.mrz_valid, ON_FILE))
    today = utcnow().date()
    if case_ids is not None:
        ids = sorted(set(case_ids))
        if not ids:
            return []
        # A few records touched (a step of one case or two): their people's documents, by the records' index; many
        # (a bulk action): the documents held, few, and their holders' people.
        if len(ids) <= FEW_RECORDS:
            linked = same_person(session, ids)
            everyone = sorted(set(ids).union(*(set(others) for others in linked.values())))
            query = query.where(among(TravelDocument.case_id, everyone))
    valid = [(document, case) for document, case in session.execute(query).all() if _counts(document, case, today)]
    if len(valid) < 2:
        return []
    people = same_person(session, sorted({case.id for _, case in valid}))
    groups: dict[tuple[str, frozenset[int]], list[tuple[TravelDocument, Case]]] = {}
    for document, case in valid:
        person = frozenset({case.id, *people.get(case.id, {})})
        groups.setdefault((document.issuing_state, person), []).append((document, case))
    return [sorted(held, key=lambda pair: (not _travels_on(pair[1]), pair[0].created_at, pair[0].id))
            for held in groups.values() if len(held) > 1]


def _travels_on(case: Case) -> bool:
    """Whether `case` is on a manifest, or boarded with its document (the record of the journey): its document is the
    one the receiving side approved, kept when the person holds two (`held_twice`)."""
    return case.state == "manifested" or lifecycle.identity_locked(case.state)


def one_emergency_document(session: Session, case_ids: Sequence[int] | None) -> list[TravelDocument]:
    """The invariant, checked when every transaction that touched `case_ids` commits (`travel.invariants`): a person
    holds at most one valid emergency travel document of a state. Of the records of each person among `case_ids` and
    their linked records (`same_person`: a cédula, a registry record, a document, a supervisor's `same_person`, made
    by whatever door: an edit, a document filed, a verification, a decision, an import), when more than one holds a
    valid one of the same state (issued here, valid, on file, for the identity of its record, not expired, of a case
    not closed: `_counts`), one stays: the one the person is on a manifest or travelled with, else the earliest
    issued; the others are superseded in the same transaction (red team round 17, O-F2: issued to two records alike
    before a supervisor linked them, both stayed valid and printable). Superseded: not valid (`mrz_valid` false, the
    problem `document_superseded`, and its copies filed from its machine readable zone with it), not printed,
    audited, and told to the agency that issued it (its work queue, `inbox.service`). Returns those superseded.

    `case_ids` None: every person's (a batch written through the driver, an import, or `retorno demo check`)."""
    superseded_now: list[TravelDocument] = []
    moved: list[int] = []
    actors = [user for user_id in sorted(acting(session)) if (user := session.get(User, user_id)) is not None]
    by = actors[0] if actors else None
    for held in held_twice(session, case_ids):
        kept, kept_on = held[0]
        for document, case in held[1:]:
            for each in (document, *copies_of(session, document)):
                if not each.mrz_valid:
                    continue
                each.mrz_valid = False
                each.problems = [*each.problems, SUPERSEDED.stored()]
                moved.append(each.case_id)
                holder = case if each.case_id == case.id else session.get(Case, each.case_id)
                # The document kept is named only where its record is the same agency's: the timeline of this one is
                # read by its agency, and another agency's record's documents are named to nobody (SPEC.md 4.6; red
                # team round 18, S-F2: INM's timeline named the emergency passport on ICE's record).
                told = ({"kept": kept.number} if holder is not None and holder.agency_id == kept_on.agency_id
                        else {"kept_on": "another agency's record"})
                record(session, by, "document.superseded", "case", holder.reference if holder else each.case_id,
                       before={"document": each.number, "valid": True},
                       after={"document": each.number, "valid": False, **told,
                              **({"copy_of": "the emergency travel document superseded"} if each is not document
                                 else {})})
            superseded_now.append(document)
    if superseded_now:
        session.flush()
        # A record whose document on file was superseded is no longer ready by it (ready → documented).
        for case_id in dict.fromkeys(moved):
            holder = session.get(Case, case_id)
            if holder is not None:
                advance(session, by, holder)
    return superseded_now


def standing(document: TravelDocument, case: Case) -> tuple[bool, list[dict[str, Any]]]:
    """Whether `document` of `case` is valid now, and its problems, as every door shows them (the API, the case page,
    the command line): valid while it was filed without problems, is on file (not withdrawn) and its case still has
    the identity it was checked against, as the safeguards count it; the problems found when it was filed, and
    `identity_changed` when the identity is no longer that one."""
    problems = list(document.problems)
    changed = document.withdrawn_at is None and identity_changed(document, case)
    if changed:
        problems.append(IDENTITY_CHANGED.stored())
    closed = document.withdrawn_at is None and closed_with_case(document, case)
    if closed:
        problems.append(CASE_CLOSED.stored())
    return document.mrz_valid and document.withdrawn_at is None and not changed and not closed, problems


@reader("document.read")
def emergency_document_pdf(session: Session, actor: User, number: str, *, locale: str = "es") -> bytes:
    """The printable emergency travel document, for the issuing agency."""
    row = session.execute(sa.select(TravelDocument, Case).join(Case, Case.id == TravelDocument.case_id).where(
        TravelDocument.number == number, TravelDocument.emergency,
        TravelDocument.issued_by_agency_id == actor.agency_id)).first()
    if row is None:
        raise NotFound("no emergency travel document %(number)s issued by your agency", number=number)
    document, case = row
    if document.withdrawn_at is not None:
        # Withdrawn, it is no document to travel on: a print of it would be one.
        raise InvalidTransition("emergency travel document %(number)s was withdrawn: it is not printed",
                                code="document_withdrawn", number=number)
    if case.state in lifecycle.CLOSED_EXITS:
        # The case left the process, and the receiving side's view, before boarding: a print would be a live travel
        # document of a person whose return was ended, read through a door every other of which hides the case (red
        # team round 17, O-F3). Told as closed, never which exit: the receiving side is told neither.
        raise InvalidTransition("emergency travel document %(number)s was issued on a case that left the return "
                                "process before boarding: it is not the person's document for travel and is not "
                                "printed", code="case_closed", number=number)
    if not can_see(session, actor, case):
        # Any other case the issuing agency may no longer see: the document is not its to print.
        raise NotFound("no emergency travel document %(number)s issued by your agency", number=number)
    if superseded(document):
        raise InvalidTransition("emergency travel document %(number)s was superseded: the person of case %(case)s "
                                "holds an earlier one of the same state, valid, on another record of theirs; it is "
                                "not the person's document for travel and is not printed",
                                code="document_superseded", number=number, case=case.reference)
    # Superseded, it is no longer the person's document for travel either: a print of it would be a second emergency
    # passport of one person, for an identity they no longer have (red team round 16, F10).
    if identity_changed(document, case):
        raise InvalidTransition("emergency travel document %(number)s was issued for an identity case %(case)s no "
                                "longer has (corrected since): it is not the person's document for travel and is not "
                                "printed; the receiving authority issues one for the identity verified now",
                                code="document_superseded", number=number, case=case.reference)
    if _replaced(session, document):
        raise InvalidTransition("emergency travel document %(number)s was replaced by a newer one issued to the person "
                                "of case %(case)s: it is not the person's document for travel and is not printed; "
                                "print the newer one", code="document_superseded", number=number,
                                case=case.reference)
    assert document.expiry_date is not None
    # Printed exactly as issued: the identity it was issued for (one issued before that was stored prints the case's,
    # which is the same while its identity fingerprint is the case's), never the case's of the day.
    issued = document.issued_identity or _printed_identity(case, document.created_at.date())
    try:
        printed = render_emergency_document(EmergencyDocumentPrint(
            number=document.number, surnames=issued["surnames"], given_names=issued["given_names"],
            nationality=issued["nationality"], birth_date=date.fromisoformat(issued["birth_date"]),
            sex=issued["sex"], place_of_birth=issued["place_of_birth"],
            issue_date=date.fromisoformat(issued["issue_date"]), expiry_date=document.expiry_date,
            issuing_authority=actor.agency.name, case_reference=case.reference, mrz=document.mrz), locale=locale)
    except UnprintableDocument as exc:
        # The case's identity was corrected after the document was issued: a new document is needed.
        raise InvalidTransition("emergency travel document %(number)s no longer matches case %(case)s: the MRZ cannot "
                                "be printed on this document: %(problems)s; issue a new one",
                                code="document_outdated", number=number, case=case.reference,
                                problems=exc.problems) from None
    # A print is an export of the person's whole identity (name, birth date and place, MRZ): on the audit trail, who
    # and which agency took which document of which case, at every door (API, page cookie, command line), as the
    # manifest's (`manifest.read`) and the lists' (`list.export`, `cases.export`) are (red team round 25, AB-F3).
    record(session, actor, "document.export", "case", case.reference,
           after={"document": document.number, "format": "pdf", "locale": locale})
    return printed


@reader("document.read")
def documents_of(session: Session, actor: User, case: Case) -> list[TravelDocument]:
    """The travel documents on file for a case the actor may see."""
    if not can_see(session, actor, case):
        raise NotFound("no case %(case)s that you may see", case=case.reference)
    return list(session.execute(sa.select(TravelDocument).where(TravelDocument.case_id == case.id)
                                .order_by(TravelDocument.id)).scalars())
