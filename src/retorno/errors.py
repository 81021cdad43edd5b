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


class InvalidInput(RetornoError):
    status = 422
    code = "invalid_input"


class InvalidTransition(RetornoError):
    """A lifecycle step that the state machine does not allow from the current state."""

    status = 409
    code = "invalid_transition"


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
    """A spreadsheet with at least one bad row: nothing was imported; `details` lists every problem."""

    status = 422
    code = "import_refused"


def problems_of(report: object) -> list[dict[str, object]]:
    """The rows of an import report (cases or opportunities) as plain dicts for an API answer."""
    return [{"row": p.row_number, "column": p.column, "value": p.value, "expected": p.expected,
             "severity": p.severity} for p in report.problems]  # type: ignore[attr-defined]


def refuse_bad_import(report: object) -> list[dict[str, object]]:
    """Raise ImportRefused (the caller's transaction then writes nothing) unless the report has no error."""
    problems = problems_of(report)
    bad_rows = {p["row"] for p in problems if p["severity"] == "error"}
    if bad_rows:
        raise ImportRefused(f"nothing imported: {len(bad_rows)} bad rows", details=problems)
    return problems
