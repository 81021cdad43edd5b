"""Importing a sending agency's case list: all or nothing, idempotent, duplicates flagged for a person.

The file is validated row by row first (`importer.validate`, pure); only a file without a
single bad row is written, in the caller's one transaction. New cases are inserted in bulk
with one audit record each; a row whose case already exists (same agency reference) and
changed goes through `travel.service.update_case`, the same action an official's edit uses (so an
identity changed by a re-import re-opens verification and takes the person off every manifest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import action
from retorno.audit.service import Entry, record, record_many
from retorno.cases.duplicates import HeldCase
from retorno.cases.importer import CaseRow, ImportReport, validate
from retorno.cases.models import Case, Household, PossibleDuplicate
from retorno.cases.service import AUDITED_FIELDS, next_references, search_name
from retorno.db import bulk_insert, utcnow
from retorno.travel.service import household_grew, update_case

_ROW_TO_CASE = {"relationship": "relationship_to_head", "document_type": "declared_document_type",
                "document_number": "declared_document_number"}


@dataclass
class ImportOutcome:
    report: ImportReport
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates_flagged: int = 0
    created_references: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok


def _case_fields(row: CaseRow) -> dict[str, object]:
    fields = {name: getattr(row, name) for name in (
        "given_names", "first_surname", "second_surname", "sex", "birth_date", "place_of_birth",
        "country_of_birth", "nationality", "national_id", "held_at", "nearest_airport", "language", "contact",
        "notes")}
    fields["detained_since"] = row.detained_since
    for row_name, case_name in _ROW_TO_CASE.items():
        fields[case_name] = getattr(row, row_name)
    return fields


def _held_cases(session: Session, actor: User) -> tuple[dict[str, Case], list[HeldCase], dict[str, int]]:
    """This agency's cases by its own reference, and every case of the country for duplicate checks.

    Our own cases are named by our own reference, so a row re-importing one is recognised as
    that case (an update), not as a possible duplicate of itself; others by their public reference.
    """
    country_agencies = sa.select(Agency.id).where(Agency.country == actor.agency.country)
    cases = session.execute(sa.select(Case).where(Case.agency_id.in_(country_agencies))).scalars().all()
    own = {c.agency_reference: c for c in cases if c.agency_id == actor.agency_id}
    ids: dict[str, int] = {}
    held = []
    for c in cases:
        name = c.agency_reference if c.agency_id == actor.agency_id else c.reference
        ids[name] = c.id
        held.append(HeldCase(name, c.given_names, c.first_surname, c.second_surname, c.birth_date, c.national_id))
    return own, held, ids


@action("case.register")
def import_cases(session: Session, actor: User, data: bytes, filename: str, *, today: date | None = None,
                 locale: str = "es") -> ImportOutcome:
    """Validate a case list and, only if every row is good, create or update its cases."""
    today = today or utcnow().date()
    own, held, held_ids = _held_cases(session, actor)
    report = validate(data, filename, today=today, known_case_reference=lambda ref: ref in held_ids,
                      held=held, locale=locale)
    outcome = ImportOutcome(report)
    if not report.ok:
        return outcome
    new_rows = [row for row in report.rows if row.case_reference not in own]
    for row in report.rows:
        existing = own.get(row.case_reference)
        if existing is None:
            continue
        if update_case(session, actor, existing, _case_fields(row)):
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    references = _insert_new(session, actor, new_rows)
    wanted = sorted({row.household_reference for row in new_rows if row.household_reference})
    if wanted:
        # New members of households that may already be on a manifest (family unity holds for them too).
        for start in range(0, len(wanted), 5000):
            joined = list(session.execute(sa.select(Household.id).where(
                Household.agency_id == actor.agency_id, Household.reference.in_(wanted[start:start + 5000]))).scalars())
            household_grew(session, actor, joined)
    outcome.created = len(references)
    outcome.created_references = list(references.values())
    outcome.duplicates_flagged = _flag_duplicates(session, report, references, held_ids)
    if outcome.created or outcome.updated:
        record(session, actor, "import.cases", "import", filename,
               after={"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
                      "possible_duplicates": outcome.duplicates_flagged})
    return outcome


def _insert_new(session: Session, actor: User, rows: list[CaseRow]) -> dict[int, str]:
    """Insert new cases in bulk, each with its audit record; returns their references by file row."""
    if not rows:
        return {}
    wanted = {row.household_reference for row in rows if row.household_reference}
    agency_households = sa.select(Household.reference, Household.id).where(Household.agency_id == actor.agency_id)
    households = dict(session.execute(agency_households).all()) if wanted else {}
    missing = sorted(wanted - households.keys())
    if missing:
        bulk_insert(session, Household.__table__, [{"agency_id": actor.agency_id, "reference": r} for r in missing])
        households = dict(session.execute(agency_households).all())
    references = next_references(session, actor, len(rows))
    now = utcnow()
    values = []
    for row, reference in zip(rows, references, strict=True):
        fields = _case_fields(row)
        values.append({
            **fields, "reference": reference, "agency_id": actor.agency_id, "agency_reference": row.case_reference,
            "household_id": households.get(row.household_reference) if row.household_reference else None,
            "search_name": search_name(row.given_names, row.first_surname, row.second_surname),
            "state": "registered", "state_changed_at": now, "registered_at": now,
        })
    bulk_insert(session, Case.__table__, values)
    record_many(session, actor, (
        Entry("case.register", "case", str(v["reference"]),
              after={**{k: v.get(k) for k in AUDITED_FIELDS}, "state": "registered", "import": True})
        for v in values))
    return {row.row_number: ref for row, ref in zip(rows, references, strict=True)}


def _flag_duplicates(session: Session, report: ImportReport, created: dict[int, str],
                     held_ids: dict[str, int]) -> int:
    """Keep the possible duplicates among cases now held, for a person to decide."""
    involved = {created[n] for dup in report.duplicates for n in (dup.row_number, dup.other_row_number)
                if n in created}
    new_ids = dict(session.execute(sa.select(Case.reference, Case.id).where(
        Case.reference.in_(sorted(involved)))).all()) if involved else {}
    rows = []
    for dup in report.duplicates:
        mine = new_ids.get(created.get(dup.row_number, ""))
        if dup.other_row_number is not None:
            other = new_ids.get(created.get(dup.other_row_number, ""))
        else:
            other = held_ids.get(dup.other_case_reference or "")
        if mine and other:
            rows.append({"case_id": mine, "other_case_id": other, "score": dup.score, "reason": dup.reason[:200],
                         "created_at": utcnow()})
    if rows:
        session.execute(sa.insert(PossibleDuplicate), rows)
    return len(rows)
