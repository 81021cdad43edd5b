"""API shapes of the bulk actions: what is asked, and what happened to each person."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retorno.agencies.models import User
from retorno.plaintext import Input, LocalizedMessage
from retorno.travel.bulk import SELECTION_LIMIT, BulkResult, reasons_told, told


class CaseFilterIn(Input):
    """Which ready cases to take: the case list's filters, every one optional, all of them must hold."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str | None = Field(default=None, max_length=200, description="a name, a reference or a cédula")
    held: str | None = Field(default=None, max_length=120, description="part of where the person is held")
    days_min: int | None = Field(default=None, ge=0, le=36_500, description="detained at least this many days")
    days_max: int | None = Field(default=None, ge=0, le=36_500, description="detained at most this many days")
    verification: Literal["none", "pending", "review", "verified", "rejected"] | None = None
    household: str | None = Field(default=None, max_length=60)
    airport: str | None = Field(default=None, min_length=3, max_length=3, description="nearest airport (IATA)")
    concern: Literal["open", "none"] | None = Field(default=None, description="whether a protection concern is open")
    assigned: str | None = Field(default=None, max_length=80, description="'me', 'none' or a username")


class DryRun(Input):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(default=False, description="say what would happen, and write nothing")


class ApprovalsIn(DryRun):
    cases: list[str] | None = Field(default=None, min_length=1, max_length=900,
                                    description="default: every passenger the manifest proposes")
    reject_reason: str | None = Field(default=None, min_length=1, max_length=2000, description=(
        "reject, with this reason, each passenger who cannot be approved (otherwise they stay proposed)"))
    all_or_nothing: bool = Field(default=False, description="approve nobody unless everybody can be approved")


class RejectionsIn(DryRun):
    cases: list[str] = Field(min_length=1, max_length=900)
    reason: str = Field(min_length=1, max_length=2000)
    all_or_nothing: bool = True


class BoardingsIn(DryRun):
    cases: list[str] = Field(min_length=1, max_length=900, description="a household, boarded together, adults first")
    reason: str | None = Field(default=None, max_length=2000, description=(
        "kept on the audit trail with each boarding; a reason does not let anything be recorded at the door (boarded, "
        "no-show, refused boarding) before the boarding window opens"))


class AssignmentIn(DryRun):
    cases: list[str] = Field(min_length=1, max_length=2000)
    officer: str | None = Field(description="the username of an officer of your agency; null to unassign")
    all_or_nothing: bool = False


class SelectionIn(DryRun):
    filter: CaseFilterIn = Field(default_factory=CaseFilterIn, description="which ready cases (whole households)")
    limit: int | None = Field(default=None, ge=1, le=SELECTION_LIMIT, description=(
        "at most this many people; default the seats the flight has left for passengers"))
    sort: str = Field(default="-detained", max_length=20, description="which households first (default: "
                      "those detained longest)")
    all_or_nothing: bool = False


class Reason(BaseModel):
    rule: str = Field(description="the safeguard (non_refoulement, children, ...) or the refusal's code")
    message: str = Field(description="in English")
    localized: LocalizedMessage | None = Field(default=None, description=(
        "the message in the language asked for with Accept-Language, when that is one other than English (es)"))


class BulkItem(BaseModel):
    subject: str = Field(description="the case (or household) reference")
    done: bool
    instead: str | None = Field(description="what was done instead for a person the action refused (rejected)")
    also: list[str] = Field(description="others moved with this one (household members)")
    along_with: str | None = Field(description="the person whose action already moved this one")
    refusal: str | None = Field(description="the refusal's code")
    reasons: list[Reason]


class LeftOut(BaseModel):
    subject: str = Field(description="the household (or the case of nobody's household) the selection found")
    message: str = Field(description="why it was left out, in English")
    localized: LocalizedMessage | None = Field(default=None, description=(
        "the message in the language asked for with Accept-Language, when that is one other than English (es)"))


class BulkOut(BaseModel):
    action: str
    dry_run: bool
    all_or_nothing: bool
    applied: bool = Field(description="whether anything was written (false for a dry run)")
    would_apply: bool = Field(description="whether confirming the same request writes anything")
    done: int
    refused: int
    blocking: list[str] = Field(description="what the manifest would still break: then nothing is written")
    localized_blocking: list[str] | None = Field(default=None, description=(
        "`blocking` in the language asked for with Accept-Language, when that is one other than English (es)"))
    items: list[BulkItem]
    left_off: list[LeftOut] = Field(default_factory=list, description=(
        "households the selection found but left out, for want of room within its limit (a selection only)"))


def bulk_items(reader: User, result: BulkResult) -> list[dict[str, Any]]:
    return [{"subject": o.reference, "done": o.done, "instead": o.instead, "also": list(o.also),
             "along_with": o.along_with, "refusal": o.refusal.code if o.refusal else None,
             "reasons": [{"rule": rule, "message": message} for rule, message in reasons_told(reader, o.refusal)]
             if o.refusal else []}
            for o in result.outcomes]


def bulk_out(reader: User, result: BulkResult) -> dict[str, Any]:
    """A bulk action's result for the API, its messages still Messages (`web.refusals.in_language` says them)."""
    return {"action": result.action, "dry_run": result.dry_run, "all_or_nothing": result.all_or_nothing,
            "applied": result.applied, "would_apply": result.would_apply, "done": len(result.done),
            "refused": len(result.refused), "blocking": [told(reader, v) for v in result.blocking],
            "items": bulk_items(reader, result),
            "left_off": [{"subject": subject, "message": message} for subject, message in result.left_off]}
