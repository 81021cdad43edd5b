"""API shapes of the audit trail: its records as a reader may see them, its verification, its signed head."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntry(BaseModel):
    """An audit record; the before/after snapshots and the reason only for readers who may see them.

    Answered with `response_model_exclude_unset`: a field the reader may not see is absent, not null.
    """

    seq: int
    at: datetime
    actor: str
    agency: str
    action: str
    object_type: str
    object_id: str
    hash: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None


class ChainProblem(BaseModel):
    seq: int
    message: str


class ChainVerification(BaseModel):
    ok: bool
    records: int
    first_broken_seq: int | None
    problem: str | None
    checkpoints: int
    last_signed_seq: int | None
    problems: list[ChainProblem]


class SignedHead(BaseModel):
    """The latest signed checkpoint, in the format of `retorno audit checkpoint` (for `verify --against`)."""

    first_seq: int
    seq: int
    hash: str
    signed_at: str
    key_id: str
    public_key: str
    records_digest: str
    signature: str
