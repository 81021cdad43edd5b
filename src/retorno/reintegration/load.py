"""Writing a checked opportunity list: all or nothing, each opportunity through the service's action.

The file is checked first (`rows.validate_opportunities`, pure); only a file without a single
bad row is written, in the caller's one transaction. A row without a reference creates an
opportunity through `create_opportunity`; a row naming one of the operator's opportunities
changes only the fields that differ, through `update_opportunity`, so importing the same file
twice changes nothing the second time. An operator's list holds tens of opportunities, not
100,000 cases: each row keeps the service's own action and audit record.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import action
from retorno.audit.service import record
from retorno.audit.versions import changed_by_hand
from retorno.config import Settings
from retorno.db import utcnow
from retorno.errors import InvalidInput, InvalidTransition
from retorno.imports.rows import ImportOutcome, ImportReport, RowProblem, undone_by_file
from retorno.reintegration.models import Opportunity
from retorno.reintegration.rows import COLUMNS, MESSAGES, OpportunityRow, validate_opportunities
from retorno.reintegration.service import (
    check_change_holds,
    create_opportunity,
    internship_age_problem,
    update_opportunity,
)
from retorno.safeguards import INTERNSHIP_MIN_AGE

OpportunityImportOutcome = ImportOutcome[OpportunityRow]


@action("opportunity.manage")
def import_opportunities(session: Session, actor: User, data: bytes, filename: str, *, today: date | None = None,
                         locale: str = "es", max_unpacked: int = Settings.max_unpacked_bytes
                         ) -> OpportunityImportOutcome:
    """Check an opportunity list and, only if every row is good, create or update its opportunities (`max_unpacked`:
    the installation's bound on what a workbook unpacks to, `Settings.max_unpacked_bytes`)."""
    today = today or utcnow().date()
    own = {o.reference: o for o in session.execute(
        sa.select(Opportunity).where(Opportunity.operator_agency_id == actor.agency_id)).scalars()}
    report = validate_opportunities(data, filename, today=today, known_reference=own.__contains__, locale=locale,
                                    max_unpacked=max_unpacked)
    outcome = OpportunityImportOutcome(report)
    # A row naming one of the operator's opportunities changes the fields of the file's columns that differ; a column
    # absent from the file leaves what is stored (as a case list's does, `ImportReport.absent`). The rows read well are
    # held to the rules of what they change even beside rows that are not: the report names every bad row at once
    # (red team round 77, F1).
    changes = {row.row_number: {name: value for name, value in row.opportunity().__dict__.items()
                                if name not in report.absent and getattr(own[row.reference], name) != value}
               for row in report.rows if row.reference and row.reference in own}
    _check_as_changed(report, own, changes, locale)
    _refuse_changed_by_hand(session, report, own, changes, locale)
    _check_placements_hold(session, report, own, changes, locale)
    if not report.ok:
        return outcome
    for row in report.rows:
        existing = own.get(row.reference) if row.reference else None
        if existing is None:
            outcome.created_references.append(create_opportunity(session, actor, row.opportunity()).reference)
        elif changes[row.row_number]:
            update_opportunity(session, actor, existing, changes[row.row_number], imported=True)
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    outcome.created = len(outcome.created_references)
    if outcome.created or outcome.updated:
        record(session, actor, "import.opportunities", "import", filename,
               after={"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
                      "columns_kept": sorted(report.absent)})
    return outcome


def _check_as_changed(report: ImportReport[OpportunityRow], own: dict[str, Opportunity],
                      changes: dict[int, dict[str, object]], locale: str) -> None:
    """An internship's minimum age is held on the opportunity as the row leaves it, with the stored value of a column
    the file has not (`service.internship_age_problem`): a row making a productive project for 16-year-olds an
    internship in a file without `edad_minima` is refused at its kind's cell, as the page refuses that change."""
    english = locale != "es"
    kind = next(column for column in COLUMNS if column.field == "kind")
    for row in report.rows:
        changed = changes.get(row.row_number)
        if not changed or row.reference not in own:
            continue
        stored = own[row.reference]
        after_kind, min_age = changed.get("kind", stored.kind), changed.get("min_age", stored.min_age)
        if internship_age_problem(after_kind, min_age) is not None:
            expected = MESSAGES["internship_age"][english].format(adult=INTERNSHIP_MIN_AGE)
            report.problems.append(RowProblem(row.row_number, kind.en if english else kind.es, str(after_kind),
                                              f"{expected} ({'min_age' if english else 'edad_minima'}: {min_age})"))


# The rules an opportunity's placements hold its changes to, by the refusal's code: the columns a row's change of which
# is refused so (the first the row changes is named).
_HELD_BY_PLACEMENTS = {
    "opportunity.seats_held": ("seats",),
    "opportunity.placement_started_before": ("start_date",),
    "opportunity.placement_under_age": ("min_age", "start_date", "kind"),
    "placement.minor_internship": ("kind", "start_date", "min_age"),
    "opportunity.duration_under_way": ("duration_months",),
}


def _check_placements_hold(session: Session, report: ImportReport[OpportunityRow], own: dict[str, Opportunity],
                           changes: dict[int, dict[str, object]], locale: str) -> None:
    """Each row changing one of the operator's opportunities is held, before anything is written, to what its offers
    and placements hold it to (`service.check_change_holds`): every row so refused is in the report, at the column it
    changes (red team round 77, F1: a file with two such rows was refused naming the first only, with no row)."""
    english = locale != "es"
    columns = {column.field: column for column in COLUMNS}
    refused = {problem.row_number for problem in report.problems if problem.severity == "error"}
    for row in report.rows:
        changed = changes.get(row.row_number)
        if not changed or row.reference not in own or row.row_number in refused:
            continue
        try:
            check_change_holds(session, own[row.reference or ""], changed)
        except (InvalidInput, InvalidTransition) as refusal:
            # A rule the file's own checks have no words for is said as the service says it, at the first column the
            # row changes.
            fields = _HELD_BY_PLACEMENTS.get(refusal.code, tuple(changed))
            field = next((name for name in fields if name in changed), fields[0])
            column = columns[field]
            expected = (MESSAGES[refusal.code][english].format(**{k: str(v) for k, v in refusal.params.items()})
                        if refusal.code in MESSAGES else refusal.message)
            report.problems.append(RowProblem(row.row_number, column.en if english else column.es,
                                              str(getattr(row, field)), expected))


def _refuse_changed_by_hand(session: Session, report: ImportReport[OpportunityRow], own: dict[str, Opportunity],
                            changes: dict[int, dict[str, object]], locale: str) -> None:
    """A row may not change a field of an opportunity that an official changed on its page or through the API since
    an import last wrote it (as a case list may not: `travel.load`; red team round 22, X-F1)."""
    changing = [row for row in report.rows if changes.get(row.row_number)]
    by_hand = changed_by_hand(session, "opportunity", [row.reference or "" for row in changing], "opportunity.update")
    columns = {column.field: column for column in COLUMNS}
    for row in changing:
        made = by_hand.get(row.reference or "", {})
        undone = [name for name in changes[row.row_number] if name in made]
        if undone:
            newest = max((made[name] for name in undone), key=lambda change: change.at)
            report.problems.append(undone_by_file(
                row.row_number, own[row.reference or ""].reference,
                [(columns[name], getattr(row, name)) for name in undone],
                newest.actor, newest.agency, newest.at, locale))
