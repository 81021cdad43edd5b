"""Pages of the reintegration operators: consent, intake, opportunities, matching, placements and follow-ups.

An operator sees a returnee only after the returnee consented (recorded here with the reference
given at arrival and the birth date, or by the receiving authority at the arrival desk); every
page goes through the reintegration actions, which check permission and write the audit record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retorno import names
from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.cases.service import get_case
from retorno.db import utcnow
from retorno.errors import InvalidInput, NotFound, RetornoError
from retorno.reintegration import followup, places, service
from retorno.reintegration.models import FollowUp, IntakeProfile, Opportunity, Placement
from retorno.web import charts
from retorno.web.deps import SessionDep
from retorno.web.i18n import format_number, gettext_for
from retorno.web.pages.common import (
    FormDep,
    PageUser,
    form_text,
    form_values,
    locale_of,
    redirect,
    render,
    require_page,
    router,
)
from retorno.web.pages.sending import parse_date, parse_int

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
    long = [f"{name} (at most {limit} characters)" for name, limit in MAX_LENGTHS.items()
            if len(values.get(name, "")) > limit]
    if long:
        raise InvalidInput("too long: " + ", ".join(long), code="too_long")


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
        "modes": MODES,
        "base": BASE,
    }


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, template, status=status, **common_context(request), **context)


def failed(
    request: Request, session: Session, template: str, exc: RetornoError, build: Any, **extra: Any
) -> HTMLResponse:
    """Undo what the failed action wrote, then show the page again as it is with the service's message."""
    session.rollback()
    return page(request, template, status=exc.status, error=exc.message, **{**build(), **extra})


def done(request: Request, path: str, message: str, **values: object) -> Response:
    return redirect(request, path, gettext_for(locale_of(request))(message, **values))


def consented_ids() -> sa.Select[int]:
    return sa.select(IntakeProfile.case_id).where(IntakeProfile.consent)


# --- Returnees, consent, intake, withdrawal ---------------------------------------------------------


@dataclass
class ReturneeRow:
    case: Case
    profile: IntakeProfile
    placement: str | None


def returnee_rows(session: Session, user: User, q: str) -> list[ReturneeRow]:
    """The consented returnees matching a reference or a name (accents optional), with their last placement."""
    folded = names.fold(q)
    rows = [
        (case, profile)
        for case, profile in service.returnees(session, user)
        if not folded or folded in names.fold(case.reference) or folded in names.fold(case.full_name)
    ]
    last: dict[int, str] = {}
    ids = [case.id for case, _ in rows]
    for start in range(0, len(ids), 5000):
        for case_id, status in session.execute(
            sa.select(Placement.case_id, Placement.status)
            .where(Placement.case_id.in_(ids[start : start + 5000]))
            .order_by(Placement.id)
        ).all():
            last[case_id] = status
    return [ReturneeRow(case, profile, last.get(case.id)) for case, profile in rows]


@pages.get(f"{BASE}/returnees", response_class=HTMLResponse)
def returnee_list(request: Request, session: SessionDep, user: PageUser, q: str = "") -> HTMLResponse:
    require_page(user, "returnee.read")
    return page(request, "reintegration_returnees.html", **returnees_context(session, user, q.strip()))


def returnees_context(session: Session, user: User, q: str, form: dict[str, str] | None = None) -> dict[str, Any]:
    rows = returnee_rows(session, user, q)
    return {"rows": rows[:LISTED], "total": len(rows), "q": q, "form": form or {}}


@pages.post(f"{BASE}/consent", response_model=None)
def consent(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    require_page(user, "returnee.read")
    reference = form_text(form, "reference").upper()
    try:
        if not reference:
            raise InvalidInput("the reference given at arrival is needed", code="missing_reference")
        case = service.find_arrived(session, user, reference, parse_date(form_text(form, "birth_date"), "birth_date"))
        service.record_consent(session, user, case)
    except RetornoError as exc:
        return failed(
            request, session, "reintegration_returnees.html", exc,
            lambda: returnees_context(session, user, "", form_values(form)),
        )
    return done(request, f"{BASE}/returnees/{case.reference}#intake",
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
    return values


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
        raise NotFound(f"no case {reference} that you may see")
    placed = session.execute(
        sa.select(Placement, Opportunity).join(Opportunity, Opportunity.id == Placement.opportunity_id)
        .where(Placement.case_id == case.id).order_by(Placement.id.desc())).all()
    wanted = {int(r["opportunity"]) for p, _ in placed if p.explanation
              for r in [p.explanation.get("assigned") or {}, *(p.explanation.get("passed_over") or [])]
              if "opportunity" in r}
    named = {o.id: o for o in session.execute(sa.select(Opportunity).where(Opportunity.id.in_(wanted))).scalars()}
    active, sectors = opportunity_choices(session)
    return {
        "case": case,
        "profile": profile,
        "placements": [(p, o, explanation_view(p.explanation, named, locale)) for p, o in placed],
        "opportunities": active,
        "sectors": sectors,
        "needs": NEEDS,
        "preference_slots": range(1, PREFERENCE_SLOTS + 1),
        "occupation_slots": range(1, OCCUPATION_SLOTS + 1),
        "form": form if form is not None else intake_form(profile),
        "own_agency": user.agency_id,
        "today": utcnow().date(),
    }


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


@pages.post(BASE + "/returnees/{reference}/intake", response_model=None)
def intake(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Response:
    require_page(user, "returnee.read")
    try:
        case = get_case(session, user, reference)
        service.record_intake(session, user, case, intake_input(form))
    except RetornoError as exc:
        return failed(
            request, session, "reintegration_returnee.html", exc,
            lambda: returnee_context(session, user, reference, locale_of(request), posted_intake(form)),
        )
    return done(request, f"{BASE}/returnees/{case.reference}", "Admisión de %(ref)s registrada.", ref=case.reference)


@pages.post(BASE + "/returnees/{reference}/withdraw", response_model=None)
def withdraw(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str) -> Response:
    require_page(user, "returnee.read")
    try:
        reason = form_text(form, "reason")
        if not reason:
            raise InvalidInput("withdrawing consent needs the returnee's reason", code="missing_reason")
        service.withdraw_consent(session, user, get_case(session, user, reference), reason=reason)
    except RetornoError as exc:
        return failed(
            request, session, "reintegration_returnee.html", exc,
            lambda: returnee_context(session, user, reference, locale_of(request)),
        )
    return done(request, f"{BASE}/returnees",
                "Consentimiento de %(ref)s retirado: sus datos de admisión se borraron.", ref=reference)


# --- Opportunities -----------------------------------------------------------------------------------


def opportunities_context(session: Session, user: User) -> dict[str, Any]:
    own = list(session.execute(sa.select(Opportunity).where(Opportunity.operator_agency_id == user.agency_id)
                               .order_by(Opportunity.active.desc(), Opportunity.reference)).scalars())
    taken = dict(session.execute(
        sa.select(Placement.opportunity_id, sa.func.count())
        .where(Placement.status.in_(service.OPEN_PLACEMENTS), Placement.opportunity_id.in_([o.id for o in own]))
        .group_by(Placement.opportunity_id)).all()) if own else {}
    return {"opportunities": own, "taken": taken}


@pages.get(f"{BASE}/opportunities", response_class=HTMLResponse)
def opportunity_list(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    require_page(user, "returnee.read")
    return page(request, "opportunities.html", **opportunities_context(session, user))


def opportunity_input(form: FormData) -> service.OpportunityInput:
    """The opportunity as typed, every field checked for its type; the service checks the codes and ranges."""
    text = {k: form_text(form, k) for k in (*OPPORTUNITY_TEXT, *OPPORTUNITY_NUMBERS, "monthly_amount",
                                             "start_date", "min_education", "required_skills")}
    missing = [k for k in ("title", "workplace", "sector", "isco_code", "municipality") if not text[k]]
    if missing:
        raise InvalidInput(f"these fields are needed: {', '.join(missing)}", code="missing_fields")
    check_lengths(text)
    currency = text["currency"].upper()
    if not (len(currency) == 3 and currency.isalpha() and currency.isascii()):
        raise InvalidInput(f"currency: '{text['currency']}' is not a 3-letter ISO 4217 code", code="invalid_currency")
    try:
        amount = Decimal(text["monthly_amount"].replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(f"monthly_amount: '{text['monthly_amount']}' is not an amount",
                           code="invalid_number") from None
    if not amount.is_finite() or amount >= Decimal("1e10"):
        raise InvalidInput(f"monthly_amount: '{text['monthly_amount']}' is not an amount", code="invalid_number")
    numbers = {k: parse_int(text[k], k) for k in OPPORTUNITY_NUMBERS}
    if any(not 0 <= value <= 100_000 for value in numbers.values()):
        raise InvalidInput("seats, tutors, duration_months and min_age must be between 0 and 100000",
                           code="invalid_number")
    return service.OpportunityInput(
        kind=text["kind"], title=text["title"], workplace=text["workplace"], sector=text["sector"],
        isco_code=text["isco_code"], state_code=text["state_code"], municipality=text["municipality"],
        monthly_amount=amount.quantize(Decimal("0.01")), currency=currency,
        start_date=parse_date(text["start_date"], "start_date"), min_education=text["min_education"] or None,
        required_skills=split_list(text["required_skills"]), **numbers)


NEW_OPPORTUNITY = {"kind": "internship", "currency": "USD", "tutors": "1", "min_age": "18", "duration_months": "6",
                   "seats": "1"}


@pages.get(f"{BASE}/opportunities/new", response_class=HTMLResponse)
def new_opportunity_form(request: Request, user: PageUser) -> HTMLResponse:
    require_page(user, "opportunity.manage")
    return page(request, "opportunity_form.html", opportunity=None, form=NEW_OPPORTUNITY)


@pages.post(f"{BASE}/opportunities/new", response_model=None)
def new_opportunity(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    require_page(user, "opportunity.manage")
    try:
        opportunity = service.create_opportunity(session, user, opportunity_input(form))
    except RetornoError as exc:
        return failed(request, session, "opportunity_form.html", exc,
                      lambda: {"opportunity": None, "form": form_values(form)})
    return done(request, f"{BASE}/opportunities", "Oportunidad %(ref)s creada.", ref=opportunity.reference)


def own_opportunity(session: Session, user: User, reference: str) -> Opportunity:
    opportunity = service.get_opportunity(session, reference)
    if opportunity.operator_agency_id != user.agency_id:
        raise NotFound(f"no opportunity {reference} of your agency")
    return opportunity


def opportunity_form_values(o: Opportunity) -> dict[str, str]:
    values = {k: str(getattr(o, k)) for k in (*OPPORTUNITY_TEXT, *OPPORTUNITY_NUMBERS, "monthly_amount")}
    values.update(start_date=o.start_date.isoformat(), min_education=o.min_education or "",
                  required_skills=", ".join(o.required_skills), active="on" if o.active else "")
    return values


@pages.get(BASE + "/opportunities/{reference}", response_class=HTMLResponse)
def edit_opportunity_form(request: Request, session: SessionDep, user: PageUser, reference: str) -> HTMLResponse:
    require_page(user, "opportunity.manage")
    opportunity = own_opportunity(session, user, reference)
    return page(request, "opportunity_form.html", opportunity=opportunity, form=opportunity_form_values(opportunity))


@pages.post(BASE + "/opportunities/{reference}", response_model=None)
def edit_opportunity(request: Request, session: SessionDep, user: PageUser, form: FormDep, reference: str
                     ) -> Response:
    require_page(user, "opportunity.manage")
    opportunity = own_opportunity(session, user, reference)
    try:
        changes = dict(opportunity_input(form).__dict__)
        changes["active"] = form_text(form, "active") == "on"
        service.update_opportunity(session, user, opportunity, changes)
    except RetornoError as exc:
        session.rollback()
        return page(request, "opportunity_form.html", status=exc.status, error=exc.message,
                    opportunity=own_opportunity(session, user, reference), form=form_values(form))
    return done(request, f"{BASE}/opportunities", "Oportunidad %(ref)s actualizada.", ref=reference)


# --- Matching ----------------------------------------------------------------------------------------


def matching_context(session: Session, user: User) -> dict[str, Any]:
    """Both modes side by side on today's data, with who would get what in each; nothing is stored."""
    preview = service.preview_matching(session, user)
    cases = {c.id: c for c in session.execute(
        sa.select(Case).where(Case.id.in_(preview.returnee_ids[:LISTED]))).scalars()}
    opportunities = {o.id: o for o in session.execute(
        sa.select(Opportunity).where(Opportunity.id.in_(preview.opportunity_ids))).scalars()}
    counts = {mode: int((result.assigned >= 0).sum()) for mode, result in preview.results.items()}

    def got(mode: str, index: int) -> Opportunity | None:
        assigned = int(preview.results[mode].assigned[index])
        return opportunities[preview.opportunity_ids[assigned]] if assigned >= 0 else None

    rows = [(cases[case_id], got("stable", i), got("welfare", i))
            for i, case_id in enumerate(preview.returnee_ids[:LISTED])]
    return {
        "summary": preview.summary,
        "counts": counts,
        "waiting": len(preview.returnee_ids),
        "open_opportunities": len(preview.opportunity_ids),
        "rows": rows,
        "difference": counts["welfare"] - counts["stable"],
    }


@pages.get(f"{BASE}/matching", response_class=HTMLResponse)
def matching_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    require_page(user, "matching.run")
    return page(request, "matching.html", **matching_context(session, user))


@pages.post(f"{BASE}/matching/run", response_model=None)
def run_matching(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    require_page(user, "matching.run")
    mode = form_text(form, "mode") or "stable"
    try:
        run = service.run_matching(session, user, mode=mode)
    except RetornoError as exc:
        return failed(request, session, "matching.html", exc, lambda: matching_context(session, user))
    _ = gettext_for(locale_of(request))
    return done(request, f"{BASE}/placements", "Emparejamiento %(mode)s ejecutado. Ofertas hechas: %(n)s.",
                mode=_(MODES[mode]), n=run.summary.get("offers", 0))


# --- Placements --------------------------------------------------------------------------------------


def own_placements(user: User) -> sa.Select[Placement, Case, Opportunity]:
    """This operator's placements of returnees who still consent."""
    return (sa.select(Placement, Case, Opportunity).join(Opportunity, Opportunity.id == Placement.opportunity_id)
            .join(Case, Case.id == Placement.case_id)
            .where(Opportunity.operator_agency_id == user.agency_id, Case.id.in_(consented_ids())))


def placements_context(session: Session, user: User, status: str, locale: str) -> dict[str, Any]:
    _ = gettext_for(locale)
    query = own_placements(user)
    if status:
        query = query.where(Placement.status == status)
    rows = session.execute(query.order_by(Placement.id.desc()).limit(LISTED)).all()
    by_status = dict(session.execute(
        sa.select(Placement.status, sa.func.count()).join(Opportunity, Opportunity.id == Placement.opportunity_id)
        .where(Opportunity.operator_agency_id == user.agency_id).group_by(Placement.status)).all())
    title = _("Colocaciones por estado")
    chart = charts.bar_chart(
        title,
        [charts.Bar(_(label), by_status[code]) for code, label in PLACEMENT_STATUSES.items() if by_status.get(code)],
        empty_text=_("sin datos"),
    )
    return {"rows": rows, "status_filter": status, "counts": by_status, "total": sum(by_status.values()),
            "charts": [(title, chart)], "today": utcnow().date()}


@pages.get(f"{BASE}/placements", response_class=HTMLResponse)
def placement_list(request: Request, session: SessionDep, user: PageUser, status: str = "") -> HTMLResponse:
    require_page(user, "returnee.read")
    status = status if status in PLACEMENT_STATUSES else ""
    return page(request, "placements.html", **placements_context(session, user, status, locale_of(request)))


@pages.post(BASE + "/placements/{placement_id}", response_model=None)
def placement_step(request: Request, session: SessionDep, user: PageUser, form: FormDep, placement_id: int
                   ) -> Response:
    require_page(user, "returnee.read")
    back = form_text(form, "next")
    if not back.startswith(BASE + "/") or "//" in back:
        back = f"{BASE}/placements"
    on_text = form_text(form, "on")
    try:
        placement = service.update_placement(
            session, user, placement_id, status=form_text(form, "status"),
            on=parse_date(on_text, "on") if on_text else None, reason=form_text(form, "reason") or None)
    except RetornoError as exc:
        session.rollback()
        locale = locale_of(request)
        if back.startswith(f"{BASE}/returnees/"):
            reference = back.removeprefix(f"{BASE}/returnees/").split("#")[0]
            return page(request, "reintegration_returnee.html", status=exc.status, error=exc.message,
                        **returnee_context(session, user, reference, locale))
        return page(request, "placements.html", status=exc.status, error=exc.message,
                    **placements_context(session, user, "", locale))
    _ = gettext_for(locale_of(request))
    return redirect(request, back, _("Colocación %(id)s: %(status)s.", id=placement.id,
                                     status=_(PLACEMENT_STATUSES[placement.status])))


# --- Follow-ups --------------------------------------------------------------------------------------


def band_of(score: float) -> str:
    return next(label for limit, label in SCORE_BANDS if score < limit)


def follow_ups_context(session: Session, user: User, locale: str) -> dict[str, Any]:
    _ = gettext_for(locale)
    today = utcnow().date()
    due = service.follow_ups_due(session, user)
    consenting = set(session.execute(consented_ids()).scalars()) if due else set()
    due = [(f, c) for f, c in due if c.id in consenting]
    done_rows = session.execute(
        sa.select(FollowUp.months_after_start, FollowUp.score).join(Placement, Placement.id == FollowUp.placement_id)
        .join(Opportunity, Opportunity.id == Placement.opportunity_id)
        .where(Opportunity.operator_agency_id == user.agency_id, FollowUp.score.is_not(None))).all()
    bands = Counter(band_of(float(score or 0.0)) for _months, score in done_rows)
    by_months: dict[int, list[float]] = {}
    for months, score in done_rows:
        by_months.setdefault(int(months), []).append(float(score or 0.0))
    by_band = _("Seguimientos por puntuación de sostenibilidad")
    by_point = _("Puntuación media por momento del seguimiento (de 0 a 100)")
    chart_list = [
        (by_band, charts.bar_chart(
            by_band,
            [charts.Bar(_(label), bands[label]) for _limit, label in SCORE_BANDS if bands[label]],
            empty_text=_("sin datos"),
        )),
        (by_point, charts.bar_chart(
            by_point,
            [charts.Bar(_("%(n)s meses", n=months), round(100 * sum(v) / len(v)), 100)
             for months, v in sorted(by_months.items())],
            empty_text=_("sin datos"),
        )),
    ]
    return {"due": due, "today": today, "overdue": sum(1 for f, _c in due if f.due_on < today),
            "charts": chart_list, "recorded": len(done_rows)}


@pages.get(f"{BASE}/follow-ups", response_class=HTMLResponse)
def follow_up_list(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    require_page(user, "followup.record")
    return page(request, "follow_ups.html", **follow_ups_context(session, user, locale_of(request)))


def follow_up_context(session: Session, user: User, follow_up_id: int, form: dict[str, str] | None = None
                      ) -> dict[str, Any]:
    row = session.execute(
        sa.select(FollowUp, Placement, Opportunity, Case).join(Placement, Placement.id == FollowUp.placement_id)
        .join(Opportunity, Opportunity.id == Placement.opportunity_id).join(Case, Case.id == Placement.case_id)
        .where(FollowUp.id == follow_up_id, Opportunity.operator_agency_id == user.agency_id,
               Case.id.in_(consented_ids()))).one_or_none()
    if row is None:
        raise NotFound(f"no follow-up {follow_up_id} of your agency")
    follow_up, placement, opportunity, case = row
    return {"follow_up": follow_up, "placement": placement, "opportunity": opportunity, "case": case,
            "questions": QUESTIONS, "form": form or {}, "today": utcnow().date()}


@pages.get(BASE + "/follow-ups/{follow_up_id}", response_class=HTMLResponse)
def follow_up_form(request: Request, session: SessionDep, user: PageUser, follow_up_id: int) -> HTMLResponse:
    require_page(user, "followup.record")
    return page(request, "follow_up.html", **follow_up_context(session, user, follow_up_id))


def answers_of(form: FormData) -> dict[str, Any]:
    answers: dict[str, Any] = {name: form_text(form, name) for name in QUESTIONS}
    wellbeing = form_text(form, "wellbeing")
    answers["wellbeing"] = int(wellbeing) if wellbeing.isdigit() else wellbeing
    notes = form_text(form, "notes")
    if notes:
        answers["notes"] = notes[:2000]
    return answers


@pages.post(BASE + "/follow-ups/{follow_up_id}", response_model=None)
def record_follow_up(request: Request, session: SessionDep, user: PageUser, form: FormDep, follow_up_id: int
                     ) -> Response:
    require_page(user, "followup.record")
    try:
        follow_up_context(session, user, follow_up_id)
        recorded = service.record_follow_up(session, user, follow_up_id, answers_of(form))
    except RetornoError as exc:
        return failed(request, session, "follow_up.html", exc,
                      lambda: follow_up_context(session, user, follow_up_id, form_values(form)))
    score = recorded.score if recorded.score is not None else 0.0
    return done(request, f"{BASE}/follow-ups", "Seguimiento registrado: puntuación de sostenibilidad %(score)s.",
                score=format_number(round(score, 2), locale_of(request)))
