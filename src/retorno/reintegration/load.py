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
from retorno.config import Settings
from retorno.db import utcnow
from retorno.imports.rows import ImportOutcome
from retorno.reintegration.models import Opportunity
from retorno.reintegration.rows import OpportunityRow, validate_opportunities
from retorno.reintegration.service import create_opportunity, update_opportunity

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
    if not report.ok:
        return outcome
    for row in report.rows:
        opportunity = row.opportunity()
        existing = own.get(row.reference) if row.reference else None
        if existing is None:
            outcome.created_references.append(create_opportunity(session, actor, opportunity).reference)
            continue
        changes = {name: value for name, value in opportunity.__dict__.items() if getattr(existing, name) != value}
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
