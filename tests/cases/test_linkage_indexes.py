"""Who is the same person as whom (`cases.facts._linked_pairs`) is asked by every write, screening, boarding and
manifest check, of the records it touches: each kind of link is looked up off an index, never by reading a whole
table. A verified civil-registry record was not: with 500,000 verified decisions (a few years of returns) the
question about one manifest's 60 passengers took 1.3-2.2 s on PostgreSQL, every decision read each time
(migration 0021 indexes the record's digits)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.cases.facts import _LINKED_PAIRS, _linkable_keys
from retorno.cases.models import Case
from retorno.db import insert_columns
from retorno.synthetic.work import fill_cases
from retorno.verification.models import VerificationDecision, VerificationRequest
from tests.factories import World

# Enough verified decisions that reading them all costs more than looking one up: what the planner decides on
# (a manifest's 60 passengers asked about).
_DECISIONS = 3000


def _plan(session: Session, statement: sa.Executable, parameters: dict[str, Any]) -> str:
    """The plan of `statement` as the driver receives it (its parameters bound the way the service binds them)."""
    connection = session.connection()
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        sent.append((sql, params))

    sa.event.listen(connection, "before_cursor_execute", keep)
    try:
        connection.execute(statement, parameters).all()
    finally:
        sa.event.remove(connection, "before_cursor_execute", keep)
    sql, params = sent[-1]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if connection.dialect.name == "postgresql":
        # The few test rows would be scanned: asked not to, the planner shows which index answers each join.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        return plan
    cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
    return "\n".join(str(row[3]) for row in cursor.fetchall())


def _verified_decisions(session: Session, world: World) -> list[int]:
    """Many cases, each verified once against its own civil-registry record (as rows: the planner sees them)."""
    officer, receiver = world.users["inm.officer"], world.users["saime.officer"]
    fill_cases(session, officer, receiver, _DECISIONS, random.Random(1), states={"registered": 1})
    case_ids = list(session.execute(sa.select(Case.id).order_by(Case.id)).scalars())
    now, count = datetime.now(UTC), len(case_ids)
    insert_columns(session, VerificationRequest.__table__, {
        "reference": [f"VR-TEST-{n}" for n in range(count)], "case_id": case_ids,
        "receiving_agency_id": [receiver.agency_id] * count, "requested_by": [officer.id] * count,
        "requested_at": [now] * count, "status": ["decided"] * count})
    requests = list(session.execute(sa.select(VerificationRequest.id)).scalars())
    insert_columns(session, VerificationDecision.__table__, {
        "request_id": requests, "outcome": ["verified"] * count, "method": ["automatic"] * count,
        "registry_record": [f"V{30_000_000 + n}" for n in range(count)],
        "decided_by": [receiver.id] * count, "decided_at": [now] * count})
    session.execute(sa.text("ANALYZE"))
    return case_ids


def test_a_verified_registry_record_links_off_its_index(session: Session, world: World) -> None:
    case_ids = _verified_decisions(session, world)
    plan = _plan(session, _LINKED_PAIRS, _linkable_keys(session, case_ids[100:160]))
    assert "ix_verification_decisions_registry_digits" in plan, plan
    if session.get_bind().dialect.name == "postgresql":
        # The production database reads none of the verification tables whole for the question.
        assert not [line for line in plan.splitlines() if "Seq Scan on verification_" in line], plan
