"""Refusals and validation messages in the reader's language.

A refusal (`errors.RetornoError`) is an English template with parameters; the Spanish catalog
translates the template (its msgid is the English text) and the terms it names (case states,
concerns, fields...) come from the pages' own Spanish-first vocabularies, which the English catalog
translates. The API keeps its English `message` and adds the one in the language asked for by
`Accept-Language`; the pages say it in the reader's language.

Validation messages of the API's request bodies are pydantic's: its message templates
(`{name}` placeholders) are translated the same way, keyed by the template.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core._pydantic_core import list_all_errors
from starlette.requests import Request

from retorno import plaintext, safeguards
from retorno.cases import lifecycle
from retorno.errors import Message, RetornoError, SafeguardViolation, Term, Translate
from retorno.screening.models import CONCERNS
from retorno.travel.bulk import BulkRefused
from retorno.web import i18n

# The form fields that messages name beyond the case's own, in Spanish (the English catalog translates them).
FIELDS = {
    "origin": "Origen",
    "destination": "Destino",
    "departure": "Salida",
    "arrival": "Llegada",
    "seats": "Plazas",
    "escorts": "Escoltas",
    "medical_staff": "Personal médico",
    "medical_escorts": "Escoltas médicos necesarios",
    "start_date": "Fecha de inicio",
    "on": "Fecha",
    "tutors": "Tutores",
    "duration_months": "Duración en meses",
    "min_age": "Edad mínima",
    "title": "Título",
    "workplace": "Lugar de trabajo",
    "sector": "Sector de actividad",
    "isco_code": "Ocupación (código CIUO-08 de 4 cifras)",
    "municipality": "Municipio",
    "work_history": "Experiencia laboral",
    "registry_birth_date": "Fecha de nacimiento en el registro",
    "household_reference": "Código de hogar",
}
# The fields of a machine readable zone that its problems name.
MRZ_FIELDS = {
    "document_number": "número de documento",
    "birth_date": "fecha de nacimiento",
    "expiry_date": "fecha de vencimiento",
    "optional_data": "datos opcionales",
    "composite": "dígito de control compuesto",
    "issuing_state": "Estado emisor",
    "nationality": "nacionalidad",
}


@functools.cache
def vocabularies() -> dict[str, Mapping[str, str]]:
    """Each vocabulary a Term may come from: its codes and their Spanish labels (message ids of the catalogs).

    The labels are the pages' own, read when first needed (the pages import this module).
    """
    from retorno.web.pages.common import CASE_STATES, FLIGHT_STATES, KINDS, ROLES, STATUSES
    from retorno.web.pages.flights import MANIFEST_STATES
    from retorno.web.pages.operator import PLACEMENT_STATUSES, QUESTIONS
    from retorno.web.pages.sending import FIELD_LABELS

    return {
        "case_state": CASE_STATES,
        "flight_state": FLIGHT_STATES,
        "manifest_state": MANIFEST_STATES,
        "placement_status": PLACEMENT_STATUSES,
        "boarding": STATUSES,
        "agency_kind": KINDS,
        "role": ROLES,
        "concern": {code: labels[0] for code, labels in CONCERNS.items()} | {"": "ninguna"},
        "field": {**FIELD_LABELS, **FIELDS},
        "mrz_field": MRZ_FIELDS,
        "moment": {"departure": "salida", "landing": "aterrizaje"},
        "side": {"sending": "la autoridad de envío", "receiving": "la autoridad receptora", "carrier": "la aerolínea"},
        "locked_change": {"remove": "retirar", "cancel": "cancelar"},
        "followup_question": {name: question for name, (question, _c) in QUESTIONS.items()},
        "followup_choice": {f"{name}.{code}": label for name, (_q, choices) in QUESTIONS.items()
                            for code, label in choices.items()},
    }


class Catalog(Translate):
    """How one language of the pages says templates and terms."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.catalog = i18n.translations(locale)
        self.label = i18n.gettext_for(locale)

    def __call__(self, template: str) -> str:
        # Templates are English: only the Spanish catalog has them.
        return template if self.locale == "en" else self.catalog.gettext(template)

    def term(self, value: Term) -> str:
        if value.vocabulary == "concern" and value.code in CONCERNS:
            # The concerns carry their own names in both languages.
            return CONCERNS[value.code][0 if self.locale == "es" else 1]
        labels = vocabularies().get(value.vocabulary, {})
        if value.code in labels:
            return self.label(labels[value.code])
        return str(value)


def say(message: Message | RetornoError, locale: str) -> str:
    """A refusal or a message in `locale`."""
    return message.say(Catalog(locale))


# Set for each request by the access gate (`web.access`): whether its caller reads protection screenings.
READS_PROTECTION = "reads_protection"


# Set with it: whether the caller follows a case only until arrival (`agencies.visibility.ends_at_arrival`).
ENDS_AT_ARRIVAL = "ends_at_arrival"


# And the reader's agency code: its own households are named bare (`own_households`).
READER_AGENCY = "reader_agency"


def own_households(violation: safeguards.Violation, agency: str | None) -> safeguards.Violation:
    """A broken rule naming a household of the reader's own agency by its bare code, as every other place shows an
    agency's own households to it (`cases.schemas.household_shown`); the safeguards name each AGENCY/CODE (red team
    round 45b, L3: INM's officer was told of 'household MX-INM/H00206')."""
    household = violation.params.get("household")
    if agency and isinstance(household, str) and household.startswith(agency + "/"):
        return dataclasses.replace(violation, params={**violation.params, "household": household[len(agency) + 1:]})
    return violation


def told_to(refusal: RetornoError, *, reads_protection: bool, ends_at_arrival: bool = False,
            agency: str | None = None) -> RetornoError:
    """The refusal as its reader may be told it, whatever door it came through (SPEC.md 4.6): a broken
    non-refoulement rule names its concern only to those who read screenings (`safeguards.as_told`); the case
    states it names as `lifecycle.states_told_to` tells them (after arrival, 'arrived' to the sending side); the
    households of the reader's `agency` by their bare codes (`own_households`)."""
    if not reads_protection and isinstance(refusal, BulkRefused):
        told: RetornoError = BulkRefused(refusal.result, reads_protection=False)
        if isinstance(refusal.details, dict) and "items" in refusal.details:
            # The API's items, each already said as this reader may read it (`travel.schemas.bulk_items`).
            told.details = refusal.details
        refusal = told
    elif isinstance(refusal, SafeguardViolation) and refusal.violations and (agency or not reads_protection):
        violations = [v if reads_protection else safeguards.as_told(v, reads_protection=False)
                      for v in refusal.violations]
        said = SafeguardViolation([own_households(v, agency) for v in violations])
        if not reads_protection:
            return said
        refusal = said
    return lifecycle.states_told_to(refusal, reads_protection=reads_protection, ends_at_arrival=ends_at_arrival)


def told_in(request: Request, refusal: RetornoError) -> RetornoError:
    """The refusal as the caller of `request` may be told it (nobody known: as those who read no screenings)."""
    return told_to(refusal, reads_protection=bool(getattr(request.state, READS_PROTECTION, False)),
                   ends_at_arrival=bool(getattr(request.state, ENDS_AT_ARRIVAL, False)),
                   agency=getattr(request.state, READER_AGENCY, None))


def describe(request: Request, refusal: RetornoError, locale: str) -> str:
    """A refusal as the caller of `request` reads it on a page, in `locale`."""
    return say(told_in(request, refusal), locale)


def say_stored(problem: Mapping[str, Any], locale: str) -> str:
    """A problem kept with a record (`{"message", "template", "params"}`) in `locale`; the English message
    when it was kept without its template."""
    template, params = problem.get("template"), problem.get("params")
    if isinstance(template, str) and template and isinstance(params, dict):
        try:
            return say(Message(template, params), locale)
        except (KeyError, TypeError, ValueError):
            # What a page carried back (a plan's reasons) may have been altered in the browser.
            pass
    return str(problem.get("message", ""))


def in_language(value: Any, language: str | None) -> Any:
    """A body of the API with every Message in it said in English and, where a dict holds one as its `message` (or
    keeps a problem's `template` and `params`), the same in `language` beside it as `localized`
    (`{"language", "message"}`, the shape of a refusal's own) when that is a supported language other than English.

    One walk for every door: a refusal's `details`, a bulk action's reasons, a plan's people left off (red team round
    73, F3: those stayed English under `Accept-Language: es`)."""
    if isinstance(value, Message):
        return str(value)
    if isinstance(value, list | tuple):
        return [in_language(item, language) for item in value]
    if not isinstance(value, dict):
        return value
    said = {name: in_language(item, language) for name, item in value.items()}
    message = value.get("message")
    if language not in (None, "en") and "localized" not in value and message is not None:
        assert language is not None
        if isinstance(message, Message):
            said["localized"] = {"language": language, "message": say(message, language)}
        elif isinstance(value.get("template"), str) and isinstance(value.get("params"), dict):
            said["localized"] = {"language": language, "message": say_stored(value, language)}
    return said


def accepted_language(header: str | None) -> str | None:
    """The supported language an Accept-Language header prefers most (by q), or None when it names none."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((header or "").split(",")):
        tag, _, parameters = item.strip().partition(";")
        language = tag.strip().lower().replace("_", "-").split("-")[0]
        if language not in i18n.LOCALES:
            continue
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0 and (best is None or (weight, -position) > (best[0], best[1])):
            best = (weight, -position, language)
    return best[2] if best else None


# ---- the API's request validation (pydantic)

def validation_message(error: Mapping[str, Any], locale: str) -> str:
    """One pydantic validation error in `locale`: its template translated, filled from its context."""
    template = validation_templates().get(str(error.get("type")))
    context = error.get("ctx") or {}
    if template is None or locale == "en":
        return str(error.get("msg", ""))
    translated = i18n.translations(locale).gettext(template)
    try:
        return translated.format(**{name: value for name, value in context.items()})
    except (KeyError, IndexError, ValueError):
        return str(error.get("msg", ""))


def validation_summary(errors: Sequence[Mapping[str, Any]], locale: str,
                       field: Callable[[Mapping[str, Any]], str]) -> str:
    """The errors of one request as the API's one-line message, in `locale`."""
    return "; ".join(f"{field(error)}: {validation_message(error, locale)}" for error in errors)


@functools.cache
def validation_templates() -> dict[str, str]:
    """pydantic's message template of each error type (the keys of their translations), and those of our own types."""
    return {**{error["type"]: error["message_template_python"] for error in list_all_errors()},
            **plaintext.VALIDATION_TEMPLATES}
