"""The verification review in words: what the match probability means, and why a person decides this one.

Each sentence is a Spanish message id with its values already written in the reader's format; the
review page translates and shows them above the side-by-side comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from retorno.config import Settings
from retorno.verification.anchors import (
    AGE_OF_MAJORITY,
    BIRTH_DATE_DISAGREES,
    CEDULA_LETTER_DIFFERS,
    DECEASED,
    INCOMPLETE_DATE_PROBABILITY,
    INEXACT_NAME,
    REGISTRY_FOREIGN_RESIDENT,
    birth_parts,
    crosses_majority,
    is_deceased,
    name_threshold,
)
from retorno.verification.models import VerificationDecision
from retorno.verification.service import PERSON_VERIFIED_ELSEWHERE, RECORD_OF_ANOTHER_PERSON

# A second candidate at least this likely is worth comparing with the first.
RIVAL_SHARE = 0.05

Sentence = tuple[str, dict[str, str]]


class Shares(Protocol):
    def share(self, value: float) -> str: ...

    def day(self, value: Any) -> str: ...


def _record(candidate: Mapping[str, Any]) -> str:
    return str(candidate.get("registry_record") or candidate.get("id") or "?")


def review_reasons(decision: VerificationDecision | None, candidates: Sequence[Mapping[str, Any]], unanchored: bool,
                   settings: Settings, fmt: Shares, declared_birth: date | None = None) -> list[Sentence]:
    """Why this request waits for a person, in sentences: the probability, the rule, what stopped it.

    `declared_birth` is the birth date the case declares: where the best candidate's differs by more
    than a slip, or puts the person on the other side of the age of majority, both dates are said."""
    upper, lower = fmt.share(settings.verification_upper_threshold), fmt.share(settings.verification_lower_threshold)
    if decision is None:
        return [("La comparación automática con el registro aún no se ha hecho: compare usted los datos con el "
                 "registro civil.", {})]
    sentences: list[Sentence] = []
    best = candidates[0] if candidates else None
    probability = decision.match_probability
    if best is not None and probability is not None:
        sentences.append((
            "Probabilidad de que el registro %(record)s sea esta persona: %(p)s. Se calcula comparando nombres, "
            "apellidos, sexo, fecha y lugar de nacimiento y cédula, y se reparte entre todos los registros "
            "parecidos que se encontraron.", {"record": _record(best), "p": fmt.share(probability)}))
    sentences.append((
        "El sistema verifica sin una persona solo con una probabilidad de %(upper)s o más, si coincide la fecha "
        "de nacimiento o la cédula y si la fecha de nacimiento del registro no difiere de la declarada más que "
        "un dígito o el día y el mes intercambiados; por debajo de %(lower)s propone «no encontrado».",
        {"upper": upper, "lower": lower}))
    if best is not None and decision.outcome != "not_found" and (decision.reason == DECEASED or is_deceased(best)):
        sentences.append(("El registro civil da por fallecida a la persona del registro %(record)s: una solicitud "
                          "a nombre de una persona fallecida nunca se verifica sin una persona. Compruebe quién "
                          "viaja con esta identidad.", {"record": _record(best)}))
    elif decision.outcome == "not_found" or best is None:
        sentences.append(("Aquí ningún registro llega a %(lower)s: confirme que no está en el registro civil o "
                          "busque con otros datos.", {"lower": lower}))
    elif decision.reason == RECORD_OF_ANOTHER_PERSON:
        sentences.append(("Esta autoridad ya verificó el registro %(record)s para otro caso de otra identidad (otros "
                          "nombres, cédula, fecha de nacimiento o sexo): verificar este caso con él haría de los dos "
                          "una persona, y eso lo decide un supervisor con un motivo escrito.",
                          {"record": _record(best)}))
    elif decision.reason == PERSON_VERIFIED_ELSEWHERE:
        sentences.append(("Otro caso de la misma persona está verificado con otro registro civil: una persona tiene "
                          "un registro, y verificar este caso con el registro %(record)s lo decide un supervisor con "
                          "un motivo escrito.", {"record": _record(best)}))
    elif decision.reason == REGISTRY_FOREIGN_RESIDENT:
        sentences.append(("La cédula del registro %(record)s es de extranjero (E): esa persona es residente "
                          "extranjera, y su nacionalidad venezolana nunca se verifica sin una persona.",
                          {"record": _record(best)}))
    elif decision.reason == CEDULA_LETTER_DIFFERS:
        sentences.append(("La letra de la cédula declarada (V o E) no es la del registro %(record)s: la letra dice "
                          "la nacionalidad, y eso lo decide una persona.", {"record": _record(best)}))
    elif decision.reason in (AGE_OF_MAJORITY, BIRTH_DATE_DISAGREES):
        sentences.append(_birth_dates(decision.reason, best, declared_birth, fmt))
    elif decision.reason == INEXACT_NAME:
        sentences.append(("Aquí la probabilidad es alta y coincide la fecha de nacimiento, pero el nombre no es "
                          "exactamente el del registro (nombres y apellidos como los tiene, en su orden) y ninguna "
                          "cédula coincide: sin cédula, un nombre que no es exacto solo basta con una probabilidad "
                          "de %(strict)s o más; decide una persona.",
                          {"strict": fmt.share(name_threshold(best.get("agreement") or {},
                                                              settings.verification_inexact_name_threshold))}))
    elif unanchored and (best.get("agreement") or {}).get("birth_date") == "incomplete":
        sentences.append(("Aquí la probabilidad es alta, pero la fecha de nacimiento consta solo en parte (sin día o "
                          "sin mes) y ninguna cédula coincide: una fecha incompleta solo basta con el nombre completo "
                          "exacto, sin que discrepen el lugar de nacimiento ni el sexo, y con una probabilidad de "
                          "%(strict)s o más; decide una persona.", {"strict": fmt.share(INCOMPLETE_DATE_PROBABILITY)}))
    elif unanchored:
        sentences.append(("Aquí la probabilidad es alta, pero ni la fecha de nacimiento ni la cédula coinciden, y "
                          "un nombre, por raro que sea, no basta: decide una persona.", {}))
    elif probability is not None and probability < settings.verification_upper_threshold:
        sentences.append(("Aquí queda por debajo de %(upper)s: los datos se parecen, pero no lo bastante para "
                          "afirmarlo sin una persona.", {"upper": upper}))
    if (best is not None and decision.outcome != "not_found" and decision.reason != AGE_OF_MAJORITY
            and _crosses(best, declared_birth)):
        # Waiting for another reason (a probability below the threshold, no anchor): the ages are said all the same.
        sentences.append(_birth_dates(AGE_OF_MAJORITY, best, declared_birth, fmt))
    rivals = [c for c in candidates[1:] if float(c.get("probability") or 0) >= RIVAL_SHARE]
    for rival in rivals:
        sentences.append(("Otro registro, %(record)s, también podría ser esta persona (%(p)s): compárelos en la "
                          "tabla.", {"record": _record(rival), "p": fmt.share(float(rival.get("probability") or 0))}))
    return sentences


def _registry_birth(best: Mapping[str, Any]) -> str:
    return str((best.get("record") or {}).get("birth_date") or "")


def _crosses(best: Mapping[str, Any], declared_birth: date | None) -> bool:
    """Whether the best candidate's birth date and the declared one straddle the age of majority today."""
    if declared_birth is None:
        return False
    return crosses_majority(birth_parts(declared_birth), birth_parts(_registry_birth(best)), date.today())


def _said_day(text: str, fmt: Shares) -> str:
    """A registry date in the reader's format; one known in part (YYYY-00-00) as the registry holds it."""
    try:
        return fmt.day(date.fromisoformat(text[:10]))
    except ValueError:
        return text


def _birth_dates(reason: str | None, best: Mapping[str, Any], declared_birth: date | None, fmt: Shares
                 ) -> Sentence:
    """The registry's birth date against the declared one, and what a person checks."""
    registry = _said_day(_registry_birth(best), fmt)
    declared = fmt.day(declared_birth) if declared_birth is not None else "?"
    values = {"record": _record(best), "registry": registry or "?", "declared": declared}
    if reason == AGE_OF_MAJORITY:
        return ("El registro %(record)s da como fecha de nacimiento %(registry)s y la solicitud declara "
                "%(declared)s: por una fecha la persona es menor de edad y por la otra es adulta, y nunca se "
                "verifica sin una persona. Compruebe la edad: todas las reglas de niños y niñas se aplican a la "
                "fecha declarada.", values)
    return ("El registro %(record)s da como fecha de nacimiento %(registry)s y la solicitud declara %(declared)s: "
            "difieren más que un dígito o el día y el mes intercambiados, y aunque coincida la cédula no se "
            "verifica sin una persona. Compruebe cuál es la fecha de la persona.", values)
