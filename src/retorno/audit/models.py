"""The append-only, hash-chained audit log (SPEC.md section 4.7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from retorno.db import Base


class AuditRecord(Base):
    """One change or sensitive read; `hash` chains it to the record before it."""

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(sa.String(80))
    agency: Mapped[str] = mapped_column(sa.String(40))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[str] = mapped_column(sa.String(60))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    # Random, hashed with the record and shown to nobody (`audit.service._head`): without it a record's hash was a
    # function of what the audit view shows and of a reference the view hides behind a pseudonym, which trying each
    # reference in turn recovered (red team round 26, I1). None in records written before (migration 0041).
    salt: Mapped[str | None] = mapped_column(sa.String(32))

    __table_args__ = (sa.Index("ix_audit_records_object", "object_type", "object_id"),)


class AuditHead(Base):
    """The single row holding the chain's last sequence number and hash; locked by every writer."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditCheckpoint(Base):
    """A signed statement that records `first_seq`..`seq` were written with these hashes, `hash` the last.

    Written in the same transaction as the records it covers, with a key held outside the
    database, so whoever can write to the database still cannot vouch for a record.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_seq: Mapped[int]
    seq: Mapped[int] = mapped_column(index=True)
    hash: Mapped[str] = mapped_column(sa.String(64))
    # The hashes of records first_seq..seq, 64 hex characters each, so `verify` names the altered one.
    record_hashes: Mapped[str] = mapped_column(sa.Text)
    signed_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(sa.String(16))
    signature: Mapped[str] = mapped_column(sa.String(128))


class SealedChange(Base):
    """A row of a sealed table changed in a transaction and not yet sealed on the trail (`audit.seals`).

    Written by the database's own triggers (migration 0049, 0050) on every insert, update and delete of a sealed table,
    whatever the statement (ORM, bulk, COPY, a hand-typed UPDATE), with the writing transaction's seal token; the
    transaction seals its own changes as it commits and deletes them here. A row left here was changed by something
    that is not the service (no token, or another's)."""

    __tablename__ = "sealed_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.String(40))
    row_id: Mapped[int]
    token: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    # The row as it was before the change, as JSON (PostgreSQL's trigger, migration 0050; on SQLite the service's
    # connection keeps it, `db.SEAL_BEFORE`): None for an insert.
    before: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_sealed_changes_token_row", "token", "table_name", "row_id"),
                      {"sqlite_autoincrement": True})
