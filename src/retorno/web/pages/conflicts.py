"""Two officials editing one record from pages opened at the same time: the second save is refused, both shown.

Each edit form carries the version of the record it showed (a hidden `version` field). The action
refuses a save made from a version that is no longer current (`audit.versions.check_version`), and
the form comes back with the refusal: who changed the record and when, and a table of every field as
the official typed it beside the record as it is now. The form keeps what they typed and now holds the
current version, so saving again (after reading what changed) is a deliberate choice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from starlette.datastructures import FormData

from retorno.errors import EditConflict, PreconditionRequired, RetornoError
from retorno.web.pages.common import form_text, whole_number

VERSION_FIELD = "version"


def form_version(form: FormData, *, required: bool) -> int | None:
    """The version of the record the form was opened at.

    `required` for a form that overwrites fields (a case, an opportunity, an intake): without the
    version it could overwrite a change unseen, so it is refused. A step (a placement, a follow-up)
    is refused by its state machine when stale, and checks the version only when the form has one.
    """
    values = form.getlist(VERSION_FIELD)
    if len(values) > 1:
        # The last of two copies decided (red team round 46a, F6): a form names the one version it was opened at,
        # as an If-Match names one ETag.
        raise PreconditionRequired("this form names %(count)s versions of the record, not the one it was opened at: "
                                   "open the page again and make your change there", count=len(values))
    text = form_text(form, VERSION_FIELD)
    version = whole_number(text)
    if version is not None and str(version) == text:  # written as the page writes it: "01" is no version
        return version
    if required:
        raise PreconditionRequired("this form does not say which version of the record it was opened at: "
                                   "open the page again and make your change there")
    return None


@dataclass(frozen=True)
class ConflictRow:
    """One field: its label, as typed and as it is now; `translated`: the values are message ids (choices)."""

    label: str
    yours: str
    current: str
    translated: bool = False

    @property
    def differs(self) -> bool:
        return self.yours != self.current


@dataclass(frozen=True)
class Conflict:
    """What the refused form shows: who changed the record and when, and both versions field by field."""

    changed_by: str
    agency: str
    changed_at: datetime | None
    version: int
    rows: tuple[ConflictRow, ...]


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def conflict_of(exc: RetornoError, labels: Mapping[str, str], yours: Mapping[str, object],
                current: Mapping[str, object], *, translated: Collection[str] = ()) -> Conflict | None:
    """The conflict to show for a refusal, if it is one: `labels` (Spanish message ids) orders the fields.

    `translated`: the fields whose values are labels of choices (message ids), shown in the reader's language.
    """
    if not isinstance(exc, EditConflict) or not isinstance(exc.details, dict):
        return None
    details = exc.details
    at = details.get("changed_at")
    return Conflict(
        changed_by=str(details.get("changed_by") or "?"), agency=str(details.get("agency") or "?"),
        changed_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        version=int(details["current_version"]),
        rows=tuple(ConflictRow(label, _shown(yours.get(name)), _shown(current.get(name)), name in translated)
                   for name, label in labels.items()))


def reopened(form_values: Mapping[str, object], conflict: Conflict | None) -> dict[str, object]:
    """The form as typed, holding the current version when the save was refused for a newer one."""
    values = dict(form_values)
    if conflict is not None:
        values[VERSION_FIELD] = str(conflict.version)
    return values
