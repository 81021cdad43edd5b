"""Importing an operator's opportunity list: all or nothing, each opportunity through the service's action.

The file is checked row by row first (`importer.validate_opportunities`, pure); only a file
without a single bad row is written, in the caller's one transaction. A row without a reference
creates an opportunity through `create_opportunity`; a row naming one of the operator's
opportunities changes only the fields that differ, through `update_opportunity`, so importing
the same file twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import action
from retorno.audit.service import record
from retorno.db import utcnow
from retorno.reintegration.importer import OpportunityReport, validate_opportunities
from retorno.reintegration.models import Opportunity
from retorno.reintegration.service import OpportunityInput, create_opportunity, update_opportunity


@dataclass
class OpportunityImportOutcome:
    report: OpportunityReport
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_references: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok


@action("opportunity.manage")
def import_opportunities(session: Session, actor: User, data: bytes, filename: str, *, today: date | None = None,
                         locale: str = "es") -> OpportunityImportOutcome:
    """Check an opportunity list and, only if every row is good, create or update its opportunities."""
    today = today or utcnow().date()
    own = {o.reference: o for o in session.execute(
        sa.select(Opportunity).where(Opportunity.operator_agency_id == actor.agency_id)).scalars()}
    report = validate_opportunities(data, filename, today=today, known_reference=lambda ref: ref in own,
                                    locale=locale)
    outcome = OpportunityImportOutcome(report)
    if not report.ok:
        return outcome
    for row in report.rows:
        values = row.opportunity_fields()
        existing = own.get(row.reference) if row.reference else None
        if existing is None:
            created = create_opportunity(session, actor, OpportunityInput(**values))  # type: ignore[arg-type]
            outcome.created_references.append(created.reference)
            continue
        changes = {name: value for name, value in values.items() if getattr(existing, name) != value}
        if changes:
            update_opportunity(session, actor, existing, changes)
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    outcome.created = len(outcome.created_references)
    if outcome.created or outcome.updated:
        record(session, actor, "import.opportunities", "import", filename,
               after={"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged})
    return outcome
