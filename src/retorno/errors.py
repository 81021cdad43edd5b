"""Errors every entry point turns into a clear message: HTTP 4xx, a CLI line, a form error.

A refusal is said in words by its template and parameters: the template is the English sentence
with `%(name)s` for each value (the API's and the CLI's message), and the key of its translation
in the Spanish catalog (`web/locale/es/LC_MESSAGES/messages.po`), from which the pages and the
API's `Accept-Language: es` say it in Spanish. Templates are literal strings at the place that
raises, so a test finds every one in the source and fails on any without a translation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Term:
    """A value from a fixed vocabulary (a case state, a protection concern, a role) named in a message.

    `vocabulary` says which: the pages name the code in the reader's language; the English
    message says `english` (the code itself when there is no other English name).
    """

    vocabulary: str
    code: str
    english: str | None = None

    def __str__(self) -> str:
        return self.english or self.code


@dataclass(frozen=True)
class Message:
    """One sentence a person reads: an English template and the values it names.

    A value may be a Term, another Message, a sequence of Messages (said one after the other,
    separated by semicolons) or of Terms (separated by commas); each is said in the language of the
    sentence around it.
    """

    template: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)

    def say(self, translate: Translate) -> str:
        """The sentence in a language: `translate` gives a template's or a term's words in it."""
        return translate(self.template) % {name: say_value(value, translate) for name, value in self.params.items()}

    def __str__(self) -> str:
        return self.say(english)


class Worded:
    """A record that says itself (a problem, a reason): its `template` and `params` fields make its sentence."""

    template: str
    params: Mapping[str, object]

    @property
    def sentence(self) -> Message:
        return Message(self.template, self.params)

    @property
    def message(self) -> str:
        """In English."""
        return str(self.sentence)


class Translate:
    """How a language says templates and terms; English is the templates as written and the terms' own words."""

    def __call__(self, template: str) -> str:
        return template

    def term(self, value: Term) -> str:
        return str(value)


english = Translate()


def say_value(value: object, translate: Translate) -> object:
    """A message's parameter as said in a language (numbers and plain text as they are)."""
    if isinstance(value, Message):
        return value.say(translate)
    if isinstance(value, Term):
        return translate.term(value)
    if isinstance(value, list | tuple) and value and all(isinstance(v, Message) for v in value):
        return "; ".join(v.say(translate) for v in value)
    if isinstance(value, list | tuple) and value and all(isinstance(v, Term) for v in value):
        return ", ".join(translate.term(v) for v in value)
    return value


def plain(value: object) -> object:
    """A message's parameter as programs read it in the API: codes for terms, English for messages."""
    if isinstance(value, Term):
        return value.code
    if isinstance(value, Message):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


class RetornoError(Exception):
    """A refusal a user can act on: a stable `code`, its parameters, and the message they make.

    `message` is an English template whose `%(name)s` are filled from the keyword parameters, or
    a sequence of Messages when one refusal has several reasons (each said in turn).
    """

    status = 400
    code = "error"

    def __init__(self, message: str | Sequence[Message], *, code: str | None = None, details: object = None,
                 **params: object) -> None:
        self.parts: tuple[Message, ...] = (
            (Message(message, params),) if isinstance(message, str) else tuple(message))
        self.params = params
        self.message = "; ".join(str(part) for part in self.parts)
        super().__init__(self.message)
        if code:
            self.code = code
        self.details = details

    def say(self, translate: Translate) -> str:
        """The refusal in a language."""
        return "; ".join(part.say(translate) for part in self.parts)

    @property
    def headers(self) -> dict[str, str]:
        """The HTTP headers every answer of this refusal carries, the API's and the pages' alike."""
        return {}


class NotFound(RetornoError):
    status = 404
    code = "not_found"


class Forbidden(RetornoError):
    status = 403
    code = "forbidden"


class NotAuthenticated(RetornoError):
    status = 401
    code = "not_authenticated"


class TooManyAttempts(RetornoError):
    """Refused for now, not for good: the client may try again after `retry_after` seconds."""

    status = 429
    code = "login_throttled"

    def __init__(self, message: str, *, retry_after: int, **params: Any) -> None:
        super().__init__(message, details={"retry_after": retry_after}, retry_after=retry_after, **params)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """Every 429 says when to try again (RFC 9110's Retry-After, in seconds), whichever door answers it."""
        return {"Retry-After": str(self.retry_after)}


class TooLarge(RetornoError):
    status = 413
    code = "too_large"


class InvalidInput(RetornoError):
    status = 422
    code = "invalid_input"


class InvalidTransition(RetornoError):
    """A lifecycle step that the state machine does not allow from the current state."""

    status = 409
    code = "invalid_transition"


class EditConflict(RetornoError):
    """An edit made from a version of a record that has changed since it was read (If-Match, a form's version).

    `details` names who changed it and when, the version the edit was made from and the current one.
    """

    status = 412
    code = "edit_conflict"


class UnreadableTag(RetornoError):
    """An If-Match whose one tag names no version as the ETag is written (weak, unquoted, garbled): 412, since it can
    match nothing, but told as what it is rather than as a change made since (red team round 51a, F5)."""

    status = 412
    code = "edit_conflict.unreadable_tag"


class PreconditionRequired(RetornoError):
    """An overwriting edit sent without the version it was made from (the API's If-Match)."""

    status = 428
    code = "precondition_required"


class ConcurrentEdit(RetornoError):
    """Two transactions changed one record at the same moment; the later one is refused, nothing written."""

    status = 409
    code = "edit_conflict.concurrent"


class SafeguardViolation(RetornoError):
    """An action refused because it would break a rule of SPEC.md section 4."""

    status = 409
    code = "safeguard"

    def __init__(self, violations: list) -> None:  # list[safeguards.Violation]
        self.violations = violations
        rules = sorted({v.rule for v in violations})
        super().__init__([v.sentence for v in violations],
                         code="safeguard." + rules[0] if len(rules) == 1 else "safeguard.multiple",
                         details=[{"rule": v.rule, "case": v.case_reference, "message": v.sentence}
                                  for v in violations])


class ImportRefused(RetornoError):
    """A spreadsheet with at least one bad row: nothing was imported.

    `details` lists the first PROBLEMS_LISTED problems; `summary` counts them all by kind.
    """

    status = 422
    code = "import_refused"

    def __init__(self, message: str, *, details: list[dict[str, object]], summary: dict[str, object],
                 **params: Any) -> None:
        super().__init__(message, details=details, **params)
        self.summary = summary


# A report lists at most this many problems: a file of 100,000 bad rows must not answer with 50 MB.
# The whole report stays available as a file (the CLI's FILE.informe.csv, the page's download).
PROBLEMS_LISTED = 1000


def problems_of(report: object) -> list[dict[str, object]]:
    """The first PROBLEMS_LISTED rows of an import report (cases or opportunities) as plain dicts."""
    problems = report.problems[:PROBLEMS_LISTED]  # type: ignore[attr-defined]
    return [{"row": p.row_number, "column": p.column, "value": p.value, "expected": p.expected,
             "severity": p.severity} for p in problems]


def problem_summary(report: object) -> dict[str, object]:
    """How many problems an import report has, how many are listed, and how many of each kind."""
    problems = report.problems  # type: ignore[attr-defined]
    kinds: dict[tuple[str, str, str], int] = {}
    for p in problems:
        key = (p.severity, p.column, p.expected)
        kinds[key] = kinds.get(key, 0) + 1
    ranked = sorted(kinds.items(), key=lambda item: (-item[1], item[0]))[:PROBLEMS_LISTED]
    return {"problems": len(problems), "listed": min(len(problems), PROBLEMS_LISTED),
            "bad_rows": len({p.row_number for p in problems if p.severity == "error"}),
            "by_kind": [{"severity": severity, "column": column, "expected": expected, "count": count}
                        for (severity, column, expected), count in ranked]}


def refuse_bad_import(report: object) -> list[dict[str, object]]:
    """Raise ImportRefused (the caller's transaction then writes nothing) unless the report has no error.

    Returns the warnings (at most PROBLEMS_LISTED) of an acceptable file.
    """
    summary = problem_summary(report)
    total = len(report.problems)  # type: ignore[attr-defined]
    if summary["bad_rows"]:
        if total > PROBLEMS_LISTED:
            raise ImportRefused("nothing imported: rows with errors: %(bad_rows)s; the first %(listed)s of %(total)s "
                                "problems are listed", details=problems_of(report), summary=summary,
                                bad_rows=f"{summary['bad_rows']:,}", listed=f"{PROBLEMS_LISTED:,}", total=f"{total:,}")
        raise ImportRefused("nothing imported: rows with errors: %(bad_rows)s", details=problems_of(report),
                            summary=summary, bad_rows=f"{summary['bad_rows']:,}")
    return problems_of(report)
