"""The sending side corrects a case's declared fields, through the same action as the API's PATCH.

The form carries the version of the case it showed: if another official (or a step of the case's
lifecycle) changed the case since, the save is refused and the form shows both versions
(`conflicts`). A change to the identity after the verification request re-opens verification and
takes the person off every manifest, as from every other door.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retorno.agencies.models import User
from retorno.cases import service
from retorno.cases.models import Case
from retorno.cases.schemas import CaseUpdate
from retorno.db import utcnow
from retorno.errors import InvalidInput, RetornoError
from retorno.flights.service import taken_off_in
from retorno.travel import service as travel
from retorno.web.deps import SessionDep
from retorno.web.pages.common import FormDep, PageUser, form_text, form_values, render, require_page, router
from retorno.web.pages.conflicts import conflict_of, form_version, reopened
from retorno.web.pages.posts import Done, Page, done, form_post
from retorno.web.pages.sending import FIELD_LABELS, warnings_said

pages = router()

# The fields an official corrects (those of the API's PATCH), in the form's order, with their Spanish labels.
EDITABLE = {name: FIELD_LABELS[name] for name in CaseUpdate.model_fields}


def case_form(case: Case) -> dict[str, str]:
    """The case as the form shows it, with the version it shows."""
    values = {name: "" if getattr(case, name) is None else str(getattr(case, name)) for name in EDITABLE}
    values["birth_date"] = case.birth_date.isoformat()
    values["version"] = str(case.version)
    return values


def edit_context(session: Session, user: User, reference: str, form: dict[str, Any] | None = None,
                 exc: RetornoError | None = None) -> dict[str, Any]:
    case = service.get_case(session, user, reference)
    service.ensure_owner(user, case)
    travel.ensure_editable(user, case)
    current = case_form(case)
    conflict = conflict_of(exc, EDITABLE, form, current) if exc is not None and form is not None else None
    return {"case": case, "fields": EDITABLE, "form": reopened(form, conflict) if form is not None else current,
            "conflict": conflict}


@pages.get("/cases/{reference}/edit", response_class=HTMLResponse)
def edit_form(request: Request, session: SessionDep, user: PageUser, reference: str) -> HTMLResponse:
    require_page(user, "case.update")
    return render(request, "case_edit.html", **edit_context(session, user, reference))


def changes_of(form: FormData) -> dict[str, Any]:
    """The corrected fields as typed, checked for their types and lengths as the API checks them."""
    typed = {name: form_text(form, name) or None for name in EDITABLE}
    try:
        checked = CaseUpdate.model_validate(typed)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in error["loc"]) for error in exc.errors()})
        raise InvalidInput("these fields are not valid: %(fields)s", code="invalid_case",
                           fields=', '.join(fields)) from None
    changes = checked.model_dump()
    service.check_changes(changes, utcnow().date())
    return changes


def edit_again(session: Session, user: User, reference: str, form: FormData, exc: RetornoError) -> Page:
    """The form as typed after a refusal; after a newer version's refusal, beside the case as it is now."""
    return Page("case_edit.html", edit_context(session, user, reference, form_values(form), exc))


@pages.post("/cases/{reference}/edit", response_model=None)
@form_post(edit_again)
def save(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    require_page(user, "case.update")
    case = service.get_case(session, user, reference)
    expected = form_version(form, required=True)
    changed = travel.update_case(session, user, case, changes_of(form), expected_version=expected)
    if changed and (taken := taken_off_in(session, user)):
        return done(f"/cases/{reference}", "Caso %(ref)s actualizado. Salieron del manifiesto: %(others)s.",
                    ref=reference, others=", ".join(taken))
    if changed and (warnings := warnings_said(request, session, case)):
        return done(f"/cases/{reference}", "Caso %(ref)s actualizado. Revise: %(warnings)s.", ref=reference,
                    warnings=warnings)
    return done(f"/cases/{reference}", "Caso %(ref)s actualizado." if changed else "Nada que cambiar en %(ref)s.",
                ref=reference)
