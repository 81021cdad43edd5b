"""The audit chain: append-only, hash-chained, signed with a key outside the database.

The forgeries are made the way the database's administrator could: full access to the tables
(triggers switched off), but not the signing key.
"""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.checkpoints import (
    KEY_ROTATED,
    ExportedCheckpoint,
    latest_checkpoint,
    records_digest,
    rotate_signing_key,
    sign_audit_commits,
    signer_for,
)
from retorno.audit.models import AuditCheckpoint, AuditHead, AuditRecord
from retorno.audit.service import recomputed_hash, record
from retorno.audit.signing import KeyFile, Keyring, checkpoint_payload
from retorno.audit.verify import verify_chain
from retorno.config import Settings
from retorno.db import utcnow
from retorno.web.app import create_app
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

PROTECTED = ("audit_records", "audit_checkpoints")


def bypass_triggers(session: Session) -> None:
    """What a database administrator can do: switch the append-only triggers off (for this test's transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    else:
        for table in PROTECTED:
            for verb in ("update", "delete"):
                session.execute(sa.text(f"DROP TRIGGER {table}_no_{verb}"))


def write(session: Session, world: World, transactions: int, per_transaction: int, tag: str = "X") -> list[int]:
    """Legitimate records, each transaction committed (and so signed); returns their sequence numbers."""
    actor = world.users["inm.officer"]
    written = []
    for t in range(transactions):
        for n in range(per_transaction):
            record(session, actor, "case.update", "case", f"{tag}-{t}-{n}", before={"held_at": "A"},
                   after={"held_at": "B", "n": n}, reason="traslado")
        session.commit()
        written.extend(range(head(session).seq - per_transaction + 1, head(session).seq + 1))
    return written


def signer_path(session: Session) -> Path:
    signer = signer_for(session)
    assert signer is not None
    return signer.path


def head(session: Session) -> AuditHead:
    found = session.execute(sa.select(AuditHead).where(AuditHead.id == 1).execution_options(
        populate_existing=True)).scalar_one()
    return found


def rehash_from(session: Session, seq: int) -> None:
    """Recompute the hash of record `seq` and of every record after it, and move the head: a consistent chain."""
    prev = session.execute(sa.select(AuditRecord.hash).where(AuditRecord.seq == seq - 1)).scalar_one()
    for rec in session.execute(sa.select(AuditRecord).where(AuditRecord.seq >= seq)
                               .order_by(AuditRecord.seq)).scalars().all():
        digest = recomputed_hash(rec, prev)
        session.execute(sa.update(AuditRecord).where(AuditRecord.seq == rec.seq)
                        .values(prev_hash=prev, hash=digest))
        prev = digest
    top = head(session)
    top.hash = prev
    session.flush()
    session.expire_all()


def forge_append(session: Session, action: str = "screening.resolve", object_id: str = "MX-2026-000001") -> int:
    """Append a record with its hash computed and the head moved: no trigger stands in the way of an INSERT."""
    top = head(session)
    rec = AuditRecord(seq=top.seq + 1, at=utcnow(), actor_id=None, actor="inm.supervisor", agency="MX-INM",
                      action=action, object_type="case", object_id=object_id, before={"concern": "open"},
                      after={"concern": "resolved"}, reason="sin riesgo", prev_hash=top.hash, hash="")
    rec.hash = recomputed_hash(rec, top.hash)
    session.add(rec)
    top.seq, top.hash = rec.seq, rec.hash
    session.flush()
    return rec.seq


def test_an_intact_signed_chain_verifies(session: Session, world: World) -> None:
    write(session, world, 3, 4)
    report = verify_chain(session)
    assert report.ok, report.problems
    assert report.last_signed_seq == head(session).seq and report.checkpoints >= 4


def test_each_writing_transaction_signs_exactly_its_own_records(session: Session, world: World) -> None:
    before = session.execute(sa.select(sa.func.count()).select_from(AuditCheckpoint)).scalar_one()
    (first, *_, last) = write(session, world, 1, 3)
    checkpoint = session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar_one()
    assert (checkpoint.first_seq, checkpoint.seq, checkpoint.hash) == (first, last, head(session).hash)
    # A transaction that writes no audit record signs nothing.
    session.execute(sa.select(AuditRecord.seq).limit(1))
    session.commit()
    # Records rolled back with a savepoint are not signed; the ones kept are.
    actor = world.users["inm.officer"]
    record(session, actor, "case.update", "case", "kept-1")
    savepoint = session.begin_nested()
    record(session, actor, "case.update", "case", "dropped")
    savepoint.rollback()
    record(session, actor, "case.update", "case", "kept-2")
    session.commit()
    count = session.execute(sa.select(sa.func.count()).select_from(AuditCheckpoint)).scalar_one()
    assert count == before + 2
    newest = session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar_one()
    assert (newest.first_seq, newest.seq) == (last + 1, last + 2)
    assert verify_chain(session).ok


def test_a_checkpoint_signs_the_records_as_stored_after_a_savepoint_rolled_back_written_ones(
        session: Session, world: World) -> None:
    """A checkpoint takes the hashes of the records its transaction wrote from what it wrote (not read back):
    records appended in a savepoint rolled back give their seqs to the next ones, and are not signed."""
    from retorno.audit.service import record_columns

    actor = world.users["inm.officer"]
    session.commit()
    start = head(session).seq
    record_columns(session, actor, "case.register", "case", ["a-1", "a-2"], {"n": [1, 2]})
    savepoint = session.begin_nested()
    record_columns(session, actor, "case.register", "case", ["dropped-1", "dropped-2", "dropped-3"],
                   {"n": [3, 4, 5]})
    savepoint.rollback()
    record_columns(session, actor, "case.register", "case", ["b-1"], {"n": [6]})
    session.commit()
    checkpoint = session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)).scalar_one()
    stored = session.execute(sa.select(AuditRecord.object_id, AuditRecord.hash).where(AuditRecord.seq > start)
                             .order_by(AuditRecord.seq)).all()
    assert [object_id for object_id, _ in stored] == ["a-1", "a-2", "b-1"]
    assert (checkpoint.first_seq, checkpoint.seq) == (start + 1, start + 3)
    assert checkpoint.record_hashes == "".join(hash_ for _, hash_ in stored)
    assert verify_chain(session).ok


def test_a_session_verifying_its_own_unsigned_records_is_not_alarmed(session: Session, world: World) -> None:
    record(session, world.users["inm.officer"], "case.update", "case", "pending")
    session.flush()
    assert verify_chain(session).ok


def test_chain_catches_an_altered_row(session: Session, world: World) -> None:
    seqs = write(session, world, 1, 5)
    bypass_triggers(session)
    session.execute(sa.update(AuditRecord).where(AuditRecord.seq == seqs[2]).values(after={"held_at": "C", "n": 2}))
    session.expire_all()
    broken = verify_chain(session)
    assert not broken.ok and broken.first_broken_seq == seqs[2]
    assert "altered" in (broken.problem or "")


def test_chain_catches_a_deleted_row(session: Session, world: World) -> None:
    seqs = write(session, world, 1, 3)
    bypass_triggers(session)
    session.execute(sa.delete(AuditRecord).where(AuditRecord.seq == seqs[1]))
    session.expire_all()
    broken = verify_chain(session)
    assert not broken.ok and broken.first_broken_seq == seqs[1]


def test_forgery_a_record_appended_without_the_key_is_named(session: Session, world: World) -> None:
    write(session, world, 2, 2)
    forged = forge_append(session)
    session.commit()
    report = verify_chain(session)
    assert not report.ok and report.first_broken_seq == forged
    assert f"record {forged} was written without the signing key" in (report.problem or "")
    # The service's next signed transaction does not vouch for the record forged before it.
    write(session, world, 1, 1)
    assert verify_chain(session).first_broken_seq == forged


def test_forgery_a_checkpoint_signed_with_another_key_is_refused(session: Session, world: World,
                                                                 tmp_path: Path) -> None:
    write(session, world, 1, 2)
    forged = forge_append(session)
    # The administrator signs the forged record with a key of their own making.
    write_forged = KeyFile(tmp_path / "forger")
    hashes = session.execute(sa.select(AuditRecord.hash).where(AuditRecord.seq == forged)).scalar_one()
    at = utcnow()
    key_id, signature = write_forged.sign(checkpoint_payload(write_forged.public().key_id, forged, forged, hashes,
                                                             at, records_digest(hashes)))
    session.add(AuditCheckpoint(first_seq=forged, seq=forged, hash=hashes, record_hashes=hashes, signed_at=at,
                                key_id=key_id, signature=signature))
    session.commit()
    report = verify_chain(session)
    assert report.first_broken_seq == forged
    assert any(f"signed by key {key_id}" in p.message for p in report.problems)


def test_forgery_a_record_altered_and_every_later_hash_recomputed_is_named(session: Session, world: World) -> None:
    seqs = write(session, world, 3, 4)
    target = seqs[5]
    bypass_triggers(session)
    session.execute(sa.update(AuditRecord).where(AuditRecord.seq == target).values(reason="nada"))
    rehash_from(session, target)
    session.commit()
    report = verify_chain(session)
    assert not report.ok and report.first_broken_seq == target
    assert f"record {target} was altered after it was signed" in (report.problem or "")
    assert len(report.problems) == 1  # the hash chain alone holds: only the signature names it


def test_forgery_the_tail_deleted_and_the_head_moved_back_is_named(session: Session, world: World) -> None:
    seqs = write(session, world, 10, 7)  # the cut falls inside a transaction's records
    last = seqs[-1]
    keep = last - 50
    bypass_triggers(session)
    session.execute(sa.delete(AuditRecord).where(AuditRecord.seq > keep))
    top = head(session)
    top.seq = keep
    top.hash = session.execute(sa.select(AuditRecord.hash).where(AuditRecord.seq == keep)).scalar_one()
    session.commit()
    report = verify_chain(session)
    assert not report.ok and report.first_broken_seq == keep + 1
    assert f"records {keep + 1}–{last} were deleted" in (report.problem or "")
    assert len(report.problems) == 1  # the records left of a cut transaction are still vouched for


def test_the_database_refuses_to_update_or_delete_audit_rows(session: Session, world: World) -> None:
    write(session, world, 1, 1)
    statements = [
        sa.update(AuditRecord).where(AuditRecord.seq == 1).values(reason="nada"),
        sa.delete(AuditRecord).where(AuditRecord.seq == 1),
        sa.update(AuditCheckpoint).values(key_id="0" * 16),
        sa.delete(AuditCheckpoint),
    ]
    for statement in statements:
        savepoint = session.begin_nested()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            session.execute(statement)
        savepoint.rollback()
    assert verify_chain(session).ok


@pytest.fixture
def own_key(session: Session, audit_key: KeyFile, tmp_path: Path) -> Iterator[KeyFile]:
    """A copy of the run's signing key that signs this test's transactions, so rotating it changes nothing else."""
    audit_key.public()
    copy = KeyFile(tmp_path / "own" / "audit_signing_key")
    copy.path.parent.mkdir()
    shutil.copy(audit_key.path, copy.path)
    shutil.copy(audit_key.public_path, copy.public_path)
    engine = session.get_bind().engine
    sign_audit_commits(engine, copy)
    yield copy
    sign_audit_commits(engine, audit_key)


def test_key_rotation_is_announced_under_the_old_key(session: Session, world: World, own_key: KeyFile,
                                                     tmp_path: Path) -> None:
    write(session, world, 1, 1)
    leaked = KeyFile(tmp_path / "leaked")
    shutil.copy(own_key.path, leaked.path)
    old, new = rotate_signing_key(session, world.users["admin"], own_key)
    session.commit()
    own_key.forget_retired(old.key_id)
    announcement = session.execute(sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
    assert announcement.action == KEY_ROTATED and announcement.after["public_key"] == new.text
    signed_by = session.execute(sa.select(AuditCheckpoint.key_id).where(AuditCheckpoint.seq == announcement.seq)
                                ).scalar_one()
    assert signed_by == old.key_id
    assert own_key.public().key_id == new.key_id and not own_key.path.with_name(
        f"audit_signing_key.retired-{old.key_id}").exists()
    later = write(session, world, 1, 2)
    assert session.execute(sa.select(AuditCheckpoint.key_id).where(AuditCheckpoint.seq == later[-1])
                           ).scalar_one() == new.key_id
    assert verify_chain(session, own_key.keyring()).ok
    # Someone who only ever held the old public key follows the announcement to the new one.
    assert verify_chain(session, Keyring([old])).ok
    # A copy of the retired key is worth nothing after the rotation.
    forged = forge_append(session)
    digest = session.execute(sa.select(AuditRecord.hash).where(AuditRecord.seq == forged)).scalar_one()
    at = utcnow()
    _, signature = leaked.sign(checkpoint_payload(old.key_id, forged, forged, digest, at, records_digest(digest)))
    session.add(AuditCheckpoint(first_seq=forged, seq=forged, hash=digest, record_hashes=digest, signed_at=at,
                                key_id=old.key_id, signature=signature))
    session.commit()
    report = verify_chain(session, own_key.keyring())
    assert report.first_broken_seq == forged
    assert f"signed by key {old.key_id}, but the key in use is {new.key_id}" in (report.problem or "")


def test_the_signing_key_is_created_on_first_use_only_readable_by_its_owner(tmp_path: Path) -> None:
    signer = KeyFile(tmp_path / "keys" / "audit_signing_key")
    assert not signer.path.exists()
    key_id, signature = signer.sign(b"payload")
    assert stat.S_IMODE(signer.path.stat().st_mode) == 0o600
    assert signer.public_path.exists() and signer.keyring().get(key_id) is not None
    assert signer.keyring().get(key_id).verifies(signature, b"payload")  # type: ignore[union-attr]


def test_the_app_reads_no_key_until_it_signs(tmp_path: Path, settings: Settings) -> None:
    config = Settings(database_url=settings.database_url, data_dir=tmp_path, secret_key="x")
    app = create_app(config)
    assert not (tmp_path / "audit_signing_key").exists()
    app.state.engine.dispose()


def test_latest_checkpoint_carries_what_a_monitor_needs(session: Session, world: World) -> None:
    write(session, world, 1, 2)
    exported = latest_checkpoint(session, KeyFile(signer_path(session)).keyring())
    assert exported.seq == head(session).seq and exported.hash == head(session).hash
    assert exported.signature_holds()
    assert abs(utcnow() - datetime.fromisoformat(exported.signed_at)) < timedelta(minutes=5)


def test_the_api_and_the_monitor_page_show_the_latest_signed_head(client: TestClient, world: World) -> None:
    api = Api(client, world)
    api.register()
    signed = ok(api.get("monitor.viewer", "/api/v1/audit/checkpoint"))
    held = ExportedCheckpoint(**signed)
    assert held.signature_holds() and held.public_key
    assert api.get("inm.officer", "/api/v1/audit/checkpoint").status_code == 403
    verified = ok(api.get("monitor.viewer", "/api/v1/audit/verify"))
    assert verified["ok"] and verified["last_signed_seq"] == held.seq
    login(client, "monitor.viewer")  # audited, so signed anew
    page = client.get("/monitor").text
    held = ExportedCheckpoint(**ok(api.get("monitor.viewer", "/api/v1/audit/checkpoint")))
    assert f'<dd id="signed-head-seq">{held.seq}</dd>' in page and held.key_id in page and held.hash in page
