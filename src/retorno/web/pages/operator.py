"""Pages of the reintegration operators: returnees, consent, intake and withdrawal; shared helpers.

Opportunities, matching, placements and follow-ups are in `programme.py`.

An operator sees a returnee only after the returnee consented (recorded here with the reference
given at arrival and the birth date, or by the receiving authority at the arrival desk); every
page goes through the reintegration actions, which check permission and write the audit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retorno import names
from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import can
from retorno.agencies.visibility import state_of
from retorno.cases.models import Case
from retorno.cases.service import get_case
from retorno.db import utcnow
from retorno.errors import InvalidInput, Message, NotFound, RetornoError, Term
from retorno.reintegration import followup, places, service
from retorno.reintegration.models import IntakeProfile, Opportunity, Placement
from retorno.web.deps import SessionDep
from retorno.web.pages.common import (
    FormDep,
    PageUser,
    form_text,
    form_values,
    locale_of,
    render,
    require_page,
    router,
)
from retorno.web.pages.conflicts import conflict_of, form_version, reopened
from retorno.web.pages.posts import Done, Page, done, form_post
from retorno.web.pages.sending import parse_date

pages = router()
BASE = "/reintegration"
LISTED = 200

# ISCED 2011 levels (UNESCO's Spanish names); the English catalog translates them.
EDUCATION = {
    "0": "Educación de la primera infancia",
    "1": "Educación primaria",
    "2": "Educación secundaria baja",
    "3": "Educación secundaria alta",
    "4": "Educación postsecundaria no terciaria",
    "5": "Educación terciaria de ciclo corto",
    "6": "Grado o nivel equivalente",
    "7": "Maestría o nivel equivalente",
    "8": "Doctorado o nivel equivalente",
}
# Frequent ISCO-08 unit groups offered as suggestions; any 4-digit code is accepted.
OCCUPATIONS = {
    "2221": ("Profesionales de enfermería", "Nursing professionals"),
    "2341": ("Maestros de enseñanza primaria", "Primary school teachers"),
    "2512": ("Desarrolladores de software", "Software developers"),
    "3221": ("Profesionales de nivel medio de enfermería", "Nursing associate professionals"),
    "3512": ("Técnicos en asistencia al usuario de TIC", "ICT user support technicians"),
    "4110": ("Oficinistas generales", "General office clerks"),
    "4311": ("Empleados de contabilidad", "Accounting and bookkeeping clerks"),
    "5120": ("Cocineros", "Cooks"),
    "5131": ("Camareros de mesa", "Waiters"),
    "5141": ("Peluqueros", "Hairdressers"),
    "5211": ("Vendedores de quioscos y puestos de mercado", "Stall and market salespersons"),
    "5223": ("Asistentes de venta de tiendas", "Shop sales assistants"),
    "5321": ("Trabajadores de cuidados personales en instituciones", "Health care assistants"),
    "5322": ("Trabajadores de cuidados personales a domicilio", "Home-based personal care workers"),
    "5414": ("Guardias de protección", "Security guards"),
    "6111": ("Agricultores de cultivos extensivos", "Field crop and vegetable growers"),
    "6121": ("Criadores de ganado", "Livestock and dairy producers"),
    "7112": ("Albañiles", "Bricklayers and related workers"),
    "7115": ("Carpinteros de armar y de obra blanca", "Carpenters and joiners"),
    "7126": ("Fontaneros e instaladores de tuberías", "Plumbers and pipe fitters"),
    "7212": ("Soldadores y oxicortadores", "Welders and flame cutters"),
    "7231": ("Mecánicos de vehículos de motor", "Motor vehicle mechanics and repairers"),
    "7233": ("Mecánicos de maquinaria agrícola e industrial", "Agricultural and industrial machinery mechanics"),
    "7411": ("Electricistas de obras", "Building and related electricians"),
    "7512": ("Panaderos, pasteleros y confiteros", "Bakers, pastry-cooks and confectionery makers"),
    "7522": ("Ebanistas", "Cabinet-makers and related workers"),
    "7531": ("Sastres y modistos", "Tailors and dressmakers"),
    "8322": ("Conductores de automóviles, taxis y camionetas", "Car, taxi and van drivers"),
    "8332": ("Conductores de camiones pesados", "Heavy truck and lorry drivers"),
    "9111": ("Limpiadores y asistentes domésticos", "Domestic cleaners and helpers"),
    "9211": ("Peones agrícolas", "Crop farm labourers"),
    "9313": ("Peones de la construcción de edificios", "Building construction labourers"),
}
NEEDS = ("vivienda", "salud", "apoyo psicosocial", "cuidado infantil", "documentos", "transporte")
OPPORTUNITY_KINDS = {"internship": "pasantía", "productive_project": "proyecto productivo"}
PLACEMENT_STATUSES = {
    "offered": "ofrecida",
    "accepted": "aceptada",
    "declined": "rechazada",
    "started": "iniciada",
    "completed": "completada",
    "dropped": "abandonada",
}
# The next steps of a placement, as (status, button label).
PLACEMENT_ACTIONS = {
    "offered": (("accepted", "Aceptar"), ("declined", "Rechazar la oferta")),
    "accepted": (("started", "Iniciar"), ("dropped", "Registrar abandono")),
    "started": (("completed", "Completar"), ("dropped", "Registrar abandono")),
}
MODES = {"stable": "estable", "welfare": "bienestar"}
# The follow-up questionnaire: answer name → (question, {choice: label}).
QUESTIONS = {
    "work": (
        "Trabajo",
        {
            "in_placement": "sigue en la colocación",
            "other_work": "tiene otro trabajo",
            "training": "estudia o se capacita",
            "no_work": "sin trabajo",
        },
    ),
    "income": (
        "Ingresos del hogar",
        {
            "none": "sin ingresos",
            "below_minimum": "menos del salario mínimo",
            "minimum": "alrededor del salario mínimo",
            "above_minimum": "más del salario mínimo",
        },
    ),
    "housing": (
        "Vivienda",
        {"stable": "vivienda estable", "temporary": "vivienda temporal", "none": "sin vivienda"},
    ),
    "household": (
        "Hogar",
        {"together": "vive junto", "partly": "vive junto en parte", "separated": "vive separado"},
    ),
    "intends_to_migrate": (
        "¿Piensa volver a migrar?",
        {"no": "no", "unsure": "no está seguro", "yes": "sí"},
    ),
}
assert all(set(QUESTIONS[name][1]) == set(choices) for name, choices in followup.CHOICES.items())
SCORE_BANDS = (
    (0.4, "baja (menos de 0,4)"),
    (0.7, "media (0,4 a 0,7)"),
    (1.01, "alta (0,7 o más)"),
)
OPPORTUNITY_TEXT = ("kind", "title", "workplace", "sector", "isco_code", "state_code", "municipality", "currency")
OPPORTUNITY_NUMBERS = ("seats", "tutors", "duration_months", "min_age")
MAX_LENGTHS = {"title": 200, "workplace": 200, "sector": 80, "municipality": 120, "work_history": 4000}
PREFERENCE_SLOTS = 5
OCCUPATION_SLOTS = 3


def split_list(text: str) -> list[str]:
    """A comma-separated list as typed, without blanks or repeats."""
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def check_lengths(values: dict[str, str]) -> None:
    long = [Message("%(field)s (at most %(limit)s characters)", {"field": Term("field", name), "limit": limit})
            for name, limit in MAX_LENGTHS.items() if len(values.get(name, "")) > limit]
    if long:
        raise InvalidInput("too long: %(fields)s", code="too_long", fields=long)


def common_context(request: Request) -> dict[str, Any]:
    """The labels every operator page uses, and the ISCO suggestions in the reader's language."""
    english = locale_of(request) == "en"
    return {
        "education_levels": EDUCATION,
        "occupations": {code: names_[1 if english else 0] for code, names_ in OCCUPATIONS.items()},
        "state_names": dict(sorted(places.state_names().items(), key=lambda item: item[1])),
        "opportunity_kinds": OPPORTUNITY_KINDS,
        "placement_statuses": PLACEMENT_STATUSES,
        "placement_actions": PLACEMENT_ACTIONS,
        "withdrawn": service.WITHDRAWN,
        "modes": MODES,
        "base": BASE,
    }


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, template, status=status, **common_context(request), **context)


def again_page(request: Request, template: str, context: dict[str, Any]) -> Page:
    """An operator page shown again after a refusal, with the labels every operator page uses."""
    return Page(template, {**common_context(request), **context})


def consented_ids() -> sa.Select[int]:
    return sa.select(IntakeProfile.case_id).where(IntakeProfile.consent)


# --- Returnees, consent, intake, withdrawal ---------------------------------------------------------


@dataclass
class ReturneeRow:
    case: Case
    profile: IntakeProfile
    placement: str | None
    # The state as the reader is told it (`agencies.visibility.state_column`).
    state: str


def returnee_rows(session: Session, user: User, q: str) -> list[ReturneeRow]:
    """The consented returnees matching a reference or a name (accents optional), with their last placement
    with the reader's own opportunities (another operator's placements are that operator's)."""
    folded = names.fold(q)
    rows = [
        (case, profile, state)
        for case, profile, state in service.returnees(session, user)
        if not folded or folded in names.fold(case.reference) or folded in names.fold(case.full_name)
    ]
    last: dict[int, str] = {}
    ids = [case.id for case, _, _ in rows]
    for start in range(0, len(ids), 5000):
        for case_id, status in session.execute(
            sa.select(Placement.case_id, Placement.status)
            .join(Opportunity, Opportunity.id == Placement.opportunity_id)
            .where(Placement.case_id.in_(ids[start : start + 5000]), Opportunity.operator_agency_id == user.agency_id)
            .order_by(Placement.id)
        ).all():
            last[case_id] = status
    return [ReturneeRow(case, profile, last.get(case.id), state) for case, profile, state in rows]


@pages.get(f"{BASE}/returnees", response_class=HTMLResponse)
def returnee_list(request: Request, session: SessionDep, user: PageUser, q: str = "") -> HTMLResponse:
    require_page(user, "returnee.read")
    return page(request, "reintegration_returnees.html", **returnees_context(session, user, q.strip()))


def returnees_context(session: Session, user: User, q: str, form: dict[str, str] | None = None) -> dict[str, Any]:
    rows = returnee_rows(session, user, q)
    return {"rows": rows[:LISTED], "total": len(rows), "q": q, "form": form or {}}


def consent_again(request: Request, session: Session, user: User, form: FormData) -> Page:
    return again_page(request, "reintegration_returnees.html", returnees_context(session, user, "", form_values(form)))


@pages.post(f"{BASE}/consent", response_model=None)
@form_post(consent_again)
def consent(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Done:
    require_page(user, "returnee.read")
    reference = form_text(form, "reference").upper()
    if not reference:
        raise InvalidInput("the reference given at arrival is needed", code="missing_reference")
    case = service.find_arrived(session, user, reference, parse_date(form_text(form, "birth_date"), "birth_date"))
    service.record_consent(session, user, case)
    return done(f"{BASE}/returnees/{case.reference}#intake",
                "Consentimiento de %(ref)s registrado. Complete la admisión.", ref=case.reference)


def opportunity_choices(session: Session) -> tuple[list[Opportunity], list[str]]:
    """The active opportunities and their sectors, for a returnee's ranked preferences."""
    active = list(session.execute(
        sa.select(Opportunity).where(Opportunity.active).order_by(Opportunity.reference)).scalars())
    return active, sorted({o.sector for o in active}, key=str.lower)


def intake_form(profile: IntakeProfile) -> dict[str, Any]:
    """The intake as the form shows it."""
    values: dict[str, Any] = {
        "home_state": profile.home_state or "",
        "municipality": profile.municipality or "",
        "education": profile.education or "",
        "skills": ", ".join(profile.skills),
        "languages": ", ".join(profile.languages) or "es",
        "work_history": profile.work_history or "",
        "needs": [n for n in profile.needs if n in NEEDS],
        "other_needs": ", ".join(n for n in profile.needs if n not in NEEDS),
    }
    for slot, code in enumerate(profile.occupations[:OCCUPATION_SLOTS], 1):
        values[f"occupation_{slot}"] = code
    for slot, wish in enumerate(profile.preferences[:PREFERENCE_SLOTS], 1):
        values[f"preference_{slot}"] = wish
    values["version"] = str(profile.version)
    return values


# The intake's answers as a refused save compares them (typed and current), with the form's labels.
INTAKE_LABELS = {
    "home_state": "Estado de origen", "municipality": "Municipio", "education": "Nivel educativo (CINE 2011)",
    "occupations": "Ocupaciones (códigos CIUO-08 de 4 cifras)", "skills": "Habilidades, separadas por comas",
    "languages": "Idiomas (códigos ISO 639-1, separados por comas)", "work_history": "Experiencia laboral",
    "preferences": "Preferencias, de la más deseada a la menos (oportunidades o sectores)", "needs": "Necesidades",
}


def intake_answers(values: dict[str, Any]) -> dict[str, object]:
    """An intake form's values (as typed or as `intake_form` shows them) answer by answer."""
    def slots(name: str, count: int) -> list[str]:
        return [str(values[f"{name}_{n}"]) for n in range(1, count + 1) if values.get(f"{name}_{n}")]
    answers: dict[str, object] = {name: values.get(name, "") for name in INTAKE_LABELS}
    answers.update(occupations=slots("occupation", OCCUPATION_SLOTS), preferences=slots("preference", PREFERENCE_SLOTS),
                   needs=[*values.get("needs", []), *split_list(str(values.get("other_needs", "")))])
    return answers


def posted_intake(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = form_values(form)
    values["needs"] = [n for n in form.getlist("needs") if isinstance(n, str)]
    return values


def explanation_view(explanation: dict[str, Any] | None, opportunities: dict[int, Opportunity], locale: str
                     ) -> dict[str, Any] | None:
    """A placement's stored explanation in the reader's language, with the opportunities named."""
    if not explanation:
        return None
    language = "en" if locale == "en" else "es"

    def reason(item: dict[str, Any]) -> dict[str, Any]:
        return {"choice": item.get("choice"), "opportunity": opportunities.get(item.get("opportunity", -1)),
                "message": item.get(language) or item.get("es") or ""}

    assigned = explanation.get("assigned")
    return {"assigned": reason(assigned) if assigned else None,
            "passed_over": [reason(item) for item in explanation.get("passed_over") or []]}


def returnee_context(
    session: Session, user: User, reference: str, locale: str, form: dict[str, Any] | None = None
) -> dict[str, Any]:
    case = get_case(session, user, reference)
    profile = session.execute(
        sa.select(IntakeProfile).where(IntakeProfile.case_id == case.id, IntakeProfile.consent)
    ).scalar_one_or_none()
    if profile is None:
        raise NotFound("no case %(reference)s that you may see", reference=reference)
    # The reader's own placements (`service.placements_of`), and the intake only for whom may record it.
    mine = service.placements_of(session, user, case)[::-1]
    offered = {o.id: o for o in session.execute(
        sa.select(Opportunity).where(Opportunity.id.in_({p.opportunity_id for p in mine}))).scalars()}
    placed = [(p, offered[p.opportunity_id]) for p in mine]
    holds = service.holds_intake(session, user, case, profile)
    reads = service.reads_intake(session, user, case, profile)
    wanted = {int(r["opportunity"]) for p, _ in placed if p.explanation
              for r in [p.explanation.get("assigned") or {}, *(p.explanation.get("passed_over") or [])]
              if "opportunity" in r}
    named = {o.id: o for o in session.execute(sa.select(Opportunity).where(Opportunity.id.in_(wanted))).scalars()}
    active, sectors = opportunity_choices(session)
    return {
        "case": case,
        # Its state as the reader is told it (`agencies.visibility.state_of`): another operator's placements are
        # that operator's.
        "case_state": state_of(user, case),
        "profile": profile,
        "placements": [(p, o, explanation_view(p.explanation, named, locale)) for p, o in placed],
        # From when each placement under way is completed without a supervisor's reason (red team round 77, F3).
        "completes_from": {p.id: service.completes_from(p, o) for p, o in placed if p.status == "started"},
        "opportunities": active,
        "sectors": sectors,
        "needs": NEEDS,
        "preference_slots": range(1, PREFERENCE_SLOTS + 1),
        "occupation_slots": range(1, OCCUPATION_SLOTS + 1),
        # The stored intake shown to whom holds it is a read of its needs, audited as the API's read is.
        "form": (form if form is not None else intake_form(service.intake_profile(session, user, case)))
        if reads else {},
        "holds_intake": holds,
        "reads_intake": reads,
        # Whom the reader may hand the intake to: shown to the operator holding it and to the receiving authority
        # (`service.transfer_intake` decides; the form only offers what it would accept).
        "transfer_to": _transfer_targets(session, user, case, profile),
        "own_agency": user.agency_id,
        "today": utcnow().date(),
    }


def _transfer_targets(session: Session, user: User, case: Case, profile: IntakeProfile) -> list[Agency]:
    """The other operators of the returnee's state, when `user` may hand them the intake, else none."""
    if not can(user, "intake.transfer") or (user.agency.kind == "reintegration_operator"
                                             and profile.operator_agency_id != user.agency_id):
        return []
    # Those that take returnees in (enabled, with officials: red team round 77, F2), as the transfer asks.
    return [agency for agency in service.operators_taking_in(session, case.nationality)
            if agency.id != profile.operator_agency_id]


@pages.get(BASE + "/returnees/{reference}", response_class=HTMLResponse)
def returnee_page(request: Request, session: SessionDep, user: PageUser, reference: str) -> HTMLResponse:
    require_page(user, "returnee.read")
    return page(request, "reintegration_returnee.html",
                **returnee_context(session, user, reference, locale_of(request)))


def intake_input(form: FormData) -> service.IntakeInput:
    text = {k: form_text(form, k) for k in ("home_state", "municipality", "education", "skills", "languages",
                                            "work_history", "other_needs")}
    check_lengths(text)
    if not text["home_state"] or not text["municipality"] or not text["education"]:
        raise InvalidInput("home state, municipality and education level are needed", code="missing_fields")
    occupations = list(dict.fromkeys(
        code for slot in range(1, OCCUPATION_SLOTS + 1) if (code := form_text(form, f"occupation_{slot}"))))
    preferences = list(dict.fromkeys(
        wish for slot in range(1, PREFERENCE_SLOTS + 1) if (wish := form_text(form, f"preference_{slot}"))))
    needs = [n for n in form.getlist("needs") if isinstance(n, str) and n in NEEDS]
    return service.IntakeInput(
        home_state=text["home_state"], municipality=text["municipality"], education=text["education"],
        occupations=occupations, skills=split_list(text["skills"]), languages=split_list(text["languages"]) or ["es"],
        work_history=text["work_history"] or None, preferences=preferences,
        needs=list(dict.fromkeys(needs + split_list(text["other_needs"]))))


def returnee_again(request: Request, session: Session, user: User, reference: str,
                   form: FormData | None = None, exc: RetornoError | None = None) -> Page:
    """The returnee's page as it is after the undo (with the intake as typed, when that was the form).

    An intake saved from a version changed since shows the answers typed beside the current ones.
    """
    typed = posted_intake(form) if form is not None and "home_state" in form else None
    context = returnee_context(session, user, reference, locale_of(request), typed)
    if typed is not None and exc is not None:
        conflict = conflict_of(exc, INTAKE_LABELS, intake_answers(typed),
                               intake_answers(intake_form(context["profile"])))
        context.update(conflict=conflict, form=reopened(typed, conflict))
    return again_page(request, "reintegration_returnee.html", context)


@pages.post(BASE + "/returnees/{reference}/intake", response_model=None)
@form_post(returnee_again)
def intake(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    require_page(user, "returnee.read")
    case = get_case(session, user, reference)
    service.record_intake(session, user, case, intake_input(form), expected_version=form_version(form, required=True))
    return done(f"{BASE}/returnees/{case.reference}", "Admisión de %(ref)s registrada.", ref=case.reference)


@pages.post(BASE + "/returnees/{reference}/intake/transfer", response_model=None)
@form_post(returnee_again)
def transfer(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    require_page(user, "returnee.read")
    case = get_case(session, user, reference)
    operator = form_text(form, "operator")
    service.transfer_intake(session, user, case, operator=operator, reason=form_text(form, "reason"))
    return done(f"{BASE}/returnees/{case.reference}", "Admisión de %(ref)s traspasada a %(operator)s.",
                ref=case.reference, operator=operator.strip().upper())


@pages.post(BASE + "/returnees/{reference}/withdraw", response_model=None)
@form_post(returnee_again)
def withdraw(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Done:
    require_page(user, "returnee.read")
    service.withdraw_consent(session, user, get_case(session, user, reference), reason=form_text(form, "reason"))
    return done(f"{BASE}/returnees", "Consentimiento de %(ref)s retirado: sus datos de admisión se borraron.",
                ref=reference)
