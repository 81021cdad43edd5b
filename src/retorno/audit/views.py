"""HTTP handlers for reading and verifying the audit trail (monitors and administrators)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request

from retorno.agencies.permissions import require
from retorno.agencies.visibility import cut_audit
from retorno.audit.checkpoints import latest_checkpoint
from retorno.audit.models import AuditRecord
from retorno.audit.schemas import AuditEntry, ChainVerification, SignedHead
from retorno.audit.signing import KeyFile
from retorno.audit.verify import verify_chain
from retorno.web.deps import CurrentUser, SeqQuery, SessionDep
from retorno.web.openapi import errors

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntry], response_model_exclude_unset=True)
def read(request: Request, session: SessionDep, user: CurrentUser, action: str | None = None,
         limit: int = Query(100, ge=1, le=1000), before_seq: SeqQuery = None) -> Any:
    require(user, "audit.read")
    query = sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit)
    if action:
        query = query.where(AuditRecord.action == action)
    if before_seq:
        query = query.where(AuditRecord.seq < before_seq)
    key = request.app.state.audit_pseudonym_key
    return [cut_audit(user, {
        "seq": r.seq, "at": r.at, "actor": r.actor, "agency": r.agency, "action": r.action,
        "object_type": r.object_type, "object_id": r.object_id, "before": r.before, "after": r.after,
        "reason": r.reason, "hash": r.hash}, key) for r in session.execute(query).scalars()]


@router.get("/verify", response_model=ChainVerification)
def verify(request: Request, session: SessionDep, user: CurrentUser) -> Any:
    require(user, "audit.read")
    signer: KeyFile = request.app.state.audit_signer
    report = verify_chain(session, signer.keyring())
    return {"ok": report.ok, "records": report.records, "first_broken_seq": report.first_broken_seq,
            "problem": report.problem, "checkpoints": report.checkpoints, "last_signed_seq": report.last_signed_seq,
            "problems": [{"seq": p.seq, "message": p.message} for p in report.problems]}


@router.get("/checkpoint", response_model=SignedHead, responses=errors(404))
def checkpoint(request: Request, session: SessionDep, user: CurrentUser) -> Any:
    """The latest signed head, in the format of `retorno audit checkpoint` (for `verify --against`)."""
    require(user, "audit.read")
    signer: KeyFile = request.app.state.audit_signer
    return asdict(latest_checkpoint(session, signer.keyring()))
