"""Errors every entry point turns into a clear message: HTTP 4xx, a CLI line, a form error."""

from __future__ import annotations


class RetornoError(Exception):
    """A refusal a user can act on: a stable `code` and a human `message`."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


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

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


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
        message = "; ".join(str(v) for v in violations)
        rules = sorted({v.rule for v in violations})
        super().__init__(message, code="safeguard." + rules[0] if len(rules) == 1 else "safeguard.multiple",
                         details=[{"rule": v.rule, "case": v.case_reference, "message": str(v)}
                                  for v in violations])


class ImportRefused(RetornoError):
    """A spreadsheet with at least one bad row: nothing was imported.

    `details` lists the first PROBLEMS_LISTED problems; `summary` counts them all by kind.
    """

    status = 422
    code = "import_refused"

    def __init__(self, message: str, *, details: list[dict[str, object]], summary: dict[str, object]) -> None:
        super().__init__(message, details=details)
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
        listed = f"; the first {PROBLEMS_LISTED:,} of {total:,} problems are listed" if total > PROBLEMS_LISTED else ""
        raise ImportRefused(f"nothing imported: {summary['bad_rows']:,} bad rows{listed}",
                            details=problems_of(report), summary=summary)
    return problems_of(report)
