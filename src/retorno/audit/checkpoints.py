"""Signed checkpoints of the audit chain: written when a transaction that wrote records commits.

The entry point that creates an engine (the app factory, a CLI command, the demo builder, the
tests) registers the installation's key for it with `sign_audit_commits`; from then on every
session on that engine signs, in the same transaction, the records it wrote (services still
never commit). A record that no checkpoint covers was therefore written without the key.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from retorno.agencies.permissions import action
from retorno.audit.models import AuditCheckpoint, AuditHead, AuditRecord
from retorno.audit.service import append_deferred, forget_unsigned, record, unsigned_from, written_hashes
from retorno.audit.signing import KeyFile, Keyring, PublicKey, checkpoint_payload
from retorno.db import utcnow
from retorno.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from retorno.agencies.models import User

# The action of the record that announces a new signing key (its checkpoint is signed by the old one).
KEY_ROTATED = "audit.key_rotated"

_signers: weakref.WeakKeyDictionary[Engine, KeyFile] = weakref.WeakKeyDictionary()


def sign_audit_commits(engine: Engine, signer: KeyFile) -> None:
    """Sign a checkpoint at the end of every transaction on `engine` that wrote audit records."""
    _signers[engine] = signer
    if not event.contains(Session, "before_commit", _sign_before_commit):
        event.listen(Session, "before_commit", _sign_before_commit)


def signer_for(session: Session) -> KeyFile | None:
    """The key registered for the engine this session talks to, if any."""
    bind = session.get_bind()
    return _signers.get(bind.engine if isinstance(bind, sa.Connection) else bind)


def _sign_before_commit(session: Session) -> None:
    # A savepoint's release is not the end of the transaction: its records are signed with the rest.
    if session.in_nested_transaction():
        return
    append_deferred(session)
    if unsigned_from(session) is None:
        return
    signer = signer_for(session)
    if signer is not None:
        write_checkpoint(session, signer)


def records_digest(record_hashes: str) -> str:
    return hashlib.sha256(record_hashes.encode()).hexdigest()


def write_checkpoint(session: Session, signer: KeyFile) -> AuditCheckpoint | None:
    """Sign the records this transaction wrote (first..head) and add the checkpoint to the transaction."""
    append_deferred(session)
    first = unsigned_from(session)
    if first is None:
        forget_unsigned(session)
        return None
    # The head as this transaction locked and moved it (no statement while every other writer waits for the
    # lock); read again only if a savepoint rolled back took its move along (which expires it).
    head = session.get(AuditHead, 1)
    if head is None or head.seq < first:
        forget_unsigned(session)
        return None  # its records were rolled back with a savepoint
    # As this transaction wrote them (an import's hundred thousand are not read back), else as stored.
    written = written_hashes(session, first, head.seq)
    forget_unsigned(session)
    hashes = "".join(written if written is not None else session.execute(
        sa.select(AuditRecord.hash).where(AuditRecord.seq.between(first, head.seq)).order_by(AuditRecord.seq)
    ).scalars())
    signed_at = utcnow()
    key_id = signer.public().key_id
    _, signature = signer.sign(checkpoint_payload(key_id, first, head.seq, head.hash, signed_at,
                                                  records_digest(hashes)))
    checkpoint = AuditCheckpoint(first_seq=first, seq=head.seq, hash=head.hash, record_hashes=hashes,
                                 signed_at=signed_at, key_id=key_id, signature=signature)
    session.add(checkpoint)
    session.flush()
    return checkpoint


@dataclass(frozen=True)
class ExportedCheckpoint:
    """A signed head as a monitor holds it: checkable with the public key it carries."""

    first_seq: int
    seq: int
    hash: str
    signed_at: str
    key_id: str
    public_key: str
    records_digest: str
    signature: str

    def signature_holds(self) -> bool:
        try:
            public = PublicKey.from_text(self.public_key)
            at = datetime.fromisoformat(self.signed_at)
        except ValueError:
            return False
        return public.key_id == self.key_id and public.verifies(self.signature, checkpoint_payload(
            self.key_id, self.first_seq, self.seq, self.hash, at, self.records_digest))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> ExportedCheckpoint:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return cls(first_seq=int(data["first_seq"]), seq=int(data["seq"]), hash=str(data["hash"]),
                       signed_at=str(data["signed_at"]), key_id=str(data["key_id"]),
                       public_key=str(data["public_key"]), records_digest=str(data["records_digest"]),
                       signature=str(data["signature"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput("%(path)s: not an exported audit checkpoint (%(problem)s)",
                               code="audit.checkpoint_file", path=str(path), problem=str(exc)) from exc


def announced_keys(session: Session) -> dict[str, str]:
    """Public keys announced by rotation records, by key id (their trust is checked by verify)."""
    rows = session.execute(sa.select(AuditRecord.after).where(AuditRecord.action == KEY_ROTATED)).scalars()
    return {str(after["key_id"]): str(after["public_key"]) for after in rows if after}


def latest_checkpoint(session: Session, keyring: Keyring) -> ExportedCheckpoint:
    """The last signed head, with the public key that checks it (from the key files or an announcement)."""
    checkpoint = session.execute(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc()).limit(1)
    ).scalar_one_or_none()
    if checkpoint is None:
        raise NotFound("the audit trail has no signed checkpoint yet", code="audit.no_checkpoint")
    known = keyring.get(checkpoint.key_id)
    public = known.text if known else announced_keys(session).get(checkpoint.key_id, "")
    return ExportedCheckpoint(first_seq=checkpoint.first_seq, seq=checkpoint.seq, hash=checkpoint.hash,
                              signed_at=checkpoint.signed_at.isoformat(), key_id=checkpoint.key_id,
                              public_key=public, records_digest=records_digest(checkpoint.record_hashes),
                              signature=checkpoint.signature)


@action("audit.keys", system=True)
def rotate_signing_key(session: Session, actor: User | None, signer: KeyFile) -> tuple[PublicKey, PublicKey]:
    """Announce a new key in a record whose checkpoint the old key signs, then sign with the new one.

    The caller commits, then calls `signer.forget_retired(old.key_id)`; if the commit fails it calls
    `signer.demote(old.key_id)` so the old key signs again. Returns (old, new).
    """
    old = signer.public()
    new = signer.stage_next()
    record(session, actor, KEY_ROTATED, "audit_key", new.key_id,
           before={"key_id": old.key_id, "public_key": old.text},
           after={"key_id": new.key_id, "public_key": new.text, "previous_key_id": old.key_id})
    # Signed now, with the old key, while this transaction still holds the chain head: no other
    # writer can sign between the announcement and the switch.
    write_checkpoint(session, signer)
    signer.promote_next()
    return old, new
