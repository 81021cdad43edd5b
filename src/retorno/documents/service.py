"""Travel documents on file: MRZ checked on entry; emergency travel documents issued by the receiving side."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import identifiers
from retorno.agencies.models import User
from retorno.agencies.permissions import action, reader
from retorno.audit.service import record
from retorno.cases.facts import case_fingerprint
from retorno.cases.models import Case
from retorno.cases.service import advance, can_see, ensure_owner
from retorno.db import utcnow
from retorno.documents import mrz as mrz_checker
from retorno.documents.models import EmergencyDocumentCounter, TravelDocument
from retorno.documents.pdf import EmergencyDocumentPrint, UnprintableDocument, render_emergency_document
from retorno.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, Term

# An emergency travel document is for the one journey home: valid for this long.
EMERGENCY_VALIDITY = timedelta(days=90)


def _check_access(session: Session, actor: User, case: Case) -> None:
    if actor.agency.kind == "sending_authority":
        ensure_owner(actor, case)
    elif not can_see(session, actor, case):
        # A case the agency may not see does not exist for it.
        raise NotFound("no case %(case)s that you may see", case=case.reference)


@action("document.add")
def add_document(session: Session, actor: User, case: Case, *, mrz_text: str) -> TravelDocument:
    """File a travel document from its machine readable zone; problems are kept and shown, never hidden.

    The domain step of `travel.service.add_document`, which first takes a manifested person off the
    manifest (what the receiving side approved included the document on file).
    """
    _check_access(session, actor, case)
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
    problems = list(parsed.problems)
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
    if parsed.nationality and parsed.nationality != case.nationality:
        problems.append(mrz_checker.MrzProblem("nationality_mismatch", "nationality",
                                               "the MRZ nationality %(mrz)s differs from the declared %(declared)s",
                                               {"mrz": parsed.nationality, "declared": case.nationality}))
    document = TravelDocument(
        case_id=case.id, document_type=parsed.document_code.replace("<", "") or "P",
        number=parsed.document_number, issuing_state=parsed.issuing_state, nationality=parsed.nationality,
        expiry_date=parsed.expiry_date, mrz="\n".join(parsed.lines), mrz_valid=not problems,
        problems=[p.stored() for p in problems],
        identity_fingerprint=case_fingerprint(case),
    )
    session.add(document)
    session.flush()
    record(session, actor, "document.add", "case", case.reference,
           after={"document": document.number, "type": document.document_type, "valid": document.mrz_valid,
                  "problems": [p["code"] for p in document.problems]})
    advance(session, actor, case)
    return document


@action("document.issue_emergency")
def issue_emergency_document(session: Session, actor: User, case: Case, *, issued_on: date | None = None
                             ) -> TravelDocument:
    """The receiving authority issues an emergency travel document: number assigned, MRZ generated."""
    if not can_see(session, actor, case) or case.nationality != actor.agency.country:
        raise Forbidden("case %(case)s is not a national your agency may document", case=case.reference)
    if case.state not in ("verified", "documented", "ready"):
        raise InvalidInput("case %(case)s: an emergency travel document is issued once nationality is verified "
                           "(the case is '%(state)s')", code="not_verified", case=case.reference,
                           state=Term("case_state", case.state))
    issued = issued_on or utcnow().date()
    counter = session.execute(
        sa.select(EmergencyDocumentCounter).where(EmergencyDocumentCounter.agency_id == actor.agency_id,
                                                  EmergencyDocumentCounter.year == issued.year).with_for_update()
    ).scalar_one_or_none()
    if counter is None:
        counter = EmergencyDocumentCounter(agency_id=actor.agency_id, year=issued.year, last=0)
        session.add(counter)
    counter.last += 1
    number = mrz_checker.emergency_document_number(issued.year, counter.last)
    surnames = " ".join(filter(None, (case.first_surname, case.second_surname)))
    text = mrz_checker.build_emergency_mrz(
        number=number, surnames=surnames, given_names=case.given_names, birth_date=case.birth_date,
        sex=case.sex, expiry_date=issued + EMERGENCY_VALIDITY, nationality=case.nationality,
        issuing_state=actor.agency.country)
    document = TravelDocument(
        case_id=case.id, document_type=mrz_checker.EMERGENCY_DOCUMENT_CODE, number=number,
        issuing_state=actor.agency.country, nationality=case.nationality,
        expiry_date=issued + EMERGENCY_VALIDITY, mrz=text, mrz_valid=True, problems=[], emergency=True,
        issued_by_agency_id=actor.agency_id, identity_fingerprint=case_fingerprint(case))
    session.add(document)
    session.flush()
    record(session, actor, "document.issue_emergency", "case", case.reference,
           after={"document": number, "expires": document.expiry_date})
    advance(session, actor, case)
    return document


@reader("document.read")
def emergency_document_pdf(session: Session, actor: User, number: str, *, locale: str = "es") -> bytes:
    """The printable emergency travel document, for the issuing agency."""
    row = session.execute(sa.select(TravelDocument, Case).join(Case, Case.id == TravelDocument.case_id).where(
        TravelDocument.number == number, TravelDocument.emergency,
        TravelDocument.issued_by_agency_id == actor.agency_id)).first()
    if row is None:
        raise NotFound("no emergency travel document %(number)s issued by your agency", number=number)
    document, case = row
    assert document.expiry_date is not None
    try:
        return render_emergency_document(EmergencyDocumentPrint(
            number=document.number, surnames=" ".join(filter(None, (case.first_surname, case.second_surname))),
            given_names=case.given_names, nationality=case.nationality, birth_date=case.birth_date, sex=case.sex,
            place_of_birth=case.place_of_birth or "", issue_date=document.created_at.date(),
            expiry_date=document.expiry_date, issuing_authority=actor.agency.name, case_reference=case.reference,
            mrz=document.mrz), locale=locale)
    except UnprintableDocument as exc:
        # The case's identity was corrected after the document was issued: a new document is needed.
        raise InvalidTransition("emergency travel document %(number)s no longer matches case %(case)s: the MRZ cannot "
                                "be printed on this document: %(problems)s; issue a new one",
                                code="document_outdated", number=number, case=case.reference,
                                problems=exc.problems) from None


@reader("document.read")
def documents_of(session: Session, actor: User, case: Case) -> list[TravelDocument]:
    """The travel documents on file for a case the actor may see."""
    if not can_see(session, actor, case):
        raise NotFound("no case %(case)s that you may see", case=case.reference)
    return list(session.execute(sa.select(TravelDocument).where(TravelDocument.case_id == case.id)
                                .order_by(TravelDocument.id)).scalars())
