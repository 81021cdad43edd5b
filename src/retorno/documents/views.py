"""HTTP handlers for travel documents and emergency travel documents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from retorno.agencies.models import User
from retorno.agencies.visibility import cut, state_of
from retorno.cases.models import Case
from retorno.cases.service import get_case
from retorno.documents import service
from retorno.documents.models import TravelDocument
from retorno.documents.schemas import DocumentIn, DocumentOut, WithdrawalIn
from retorno.travel import service as travel
from retorno.travel.invariants import settle
from retorno.web.deps import CurrentUser, IdPath, LangQuery, SessionDep
from retorno.web.openapi import errors, media

router = APIRouter(prefix="/api/v1", tags=["documents"])


def document_out(user: User, document: TravelDocument, case: Case, **extra: Any) -> dict[str, Any]:
    """A travel document of `case` as the reader's agency may see it (an operator sees none)."""
    return cut(user, "document", {**_document_fields(document, case), **extra})


def _document_fields(document: TravelDocument, case: Case) -> dict[str, Any]:
    # `valid` and `problems` as every door shows them (`service.standing`): a withdrawn document is not valid (red
    # team round 15, L2: listed `valid: true` beside `withdrawn: true`), nor one whose case's identity changed since it
    # was filed (round 16, F6), told by the problem `identity_changed`; the others stay as found when it was filed.
    valid, problems = service.standing(document, case)
    return {"id": document.id, "number": document.number, "type": document.document_type,
            "issuing_state": document.issuing_state, "expiry_date": document.expiry_date,
            "valid": valid, "problems": problems, "emergency": document.emergency, "mrz": document.mrz,
            "withdrawn": document.withdrawn_at is not None, "withdrawn_at": document.withdrawn_at,
            "withdrawn_reason": document.withdrawn_reason}


@router.post("/cases/{reference}/documents", status_code=201, response_model=DocumentOut,
             response_model_exclude_unset=True, responses=errors(409))
def add(reference: str, body: DocumentIn, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    document = travel.add_document(session, user, case, mrz_text=body.mrz)
    settle(session)  # the answer tells the state committed (red team round 18, R-F3)
    return document_out(user, document, case, case_state=state_of(user, case))


@router.get("/cases/{reference}/documents", response_model=list[DocumentOut], response_model_exclude_unset=True)
def list_documents(reference: str, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    return [document_out(user, d, case) for d in service.documents_of(session, user, case)]


@router.post("/cases/{reference}/documents/{document_id}/withdraw", response_model=DocumentOut,
             response_model_exclude_unset=True, responses=errors(409))
def withdraw(reference: str, document_id: IdPath, body: WithdrawalIn, session: SessionDep, user: CurrentUser) -> Any:
    """Withdraw a travel document filed in error (a supervisor, with a written reason): kept for the record, it is no
    longer the person's document on file nor a link between records as one person."""
    case = get_case(session, user, reference)
    document = travel.withdraw_document(session, user, case, document_id, reason=body.reason)
    settle(session)  # the answer tells the state committed (red team round 18, R-F3)
    return document_out(user, document, case, case_state=state_of(user, case))


@router.post("/cases/{reference}/emergency-document", status_code=201, response_model=DocumentOut,
             response_model_exclude_unset=True, responses=errors(409))
def issue(reference: str, session: SessionDep, user: CurrentUser) -> Any:
    case = get_case(session, user, reference)
    document = service.issue_emergency_document(session, user, case)
    settle(session)  # the answer tells the state committed (red team round 18, R-F3)
    return document_out(user, document, case, case_state=state_of(user, case))


@router.get("/emergency-documents/{number}.pdf", response_class=Response,
            responses={**media("application/pdf", "The emergency travel document, printable.", binary=True),
                       **errors(409)})
def emergency_pdf(number: str, session: SessionDep, user: CurrentUser, lang: LangQuery) -> Response:
    pdf = service.emergency_document_pdf(session, user, number, locale=lang)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})
