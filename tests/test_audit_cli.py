"""`retorno audit checkpoint / verify --against / rotate-key` on a database and data directory of their own."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from retorno.audit.models import AuditCheckpoint, AuditRecord
from retorno.audit.service import record
from retorno.cli.common import unit_of_work
from retorno.cli.main import app
from retorno.config import Settings
from retorno.db import make_engine
from tests.factories import build_world
from tests.test_audit import bypass_triggers, rehash_from

runner = CliRunner()


def said(result: Result) -> str:
    """The output with the console's line wrapping undone."""
    return " ".join(result.output.split())


class Installation:
    """A SQLite database with the test agencies and users, its data directory holding the audit key."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "retorno.sqlite3"
        self.url = f"sqlite:///{self.db}"
        self.config = Settings(database_url=self.url, data_dir=folder).resolved()

    def run(self, *args: str, code: int = 0, url: str | None = None) -> Result:
        result = runner.invoke(app, [*args, "--database-url", url or self.url],
                               env={"RETORNO_DATA_DIR": str(self.folder)})
        assert result.exit_code == code, result.output
        return result

    def write(self, count: int, tag: str) -> None:
        """`count` audited changes, one command each."""
        for n in range(count):
            with unit_of_work(self.config) as session:
                record(session, None, "case.update", "case", f"{tag}-{n}", after={"n": n})

    def copy(self, name: str) -> Path:
        target = self.folder / name
        with sqlite3.connect(self.db) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return target


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Installation]:
    site = Installation(tmp_path)
    site.run("db", "upgrade")
    with unit_of_work(site.config) as session:
        build_world(session)
    site.write(3, "before")
    yield site


def rewrite(db: Path, sql: list[str]) -> None:
    """Change a copy as its database administrator could: the append-only triggers dropped first."""
    with sqlite3.connect(db) as conn:
        for table in ("audit_records", "audit_checkpoints"):
            for verb in ("update", "delete"):
                conn.execute(f"drop trigger {table}_no_{verb}")
        for statement in sql:
            conn.execute(statement)


def test_an_exported_checkpoint_proves_the_log_only_grew(site: Installation) -> None:
    exported = site.folder / "punto.json"
    out = said(site.run("audit", "checkpoint", "--out", str(exported)))
    held = json.loads(exported.read_text())
    assert {"seq", "hash", "signed_at", "key_id", "public_key", "signature"} <= set(held)
    assert f"record {held['seq']}" in out
    site.write(2, "after")
    told = said(site.run("audit", "verify", "--against", str(exported)))
    assert "audit chain intact" in told and "extends 1 exported" in told


def test_a_tail_cut_back_to_a_checkpoint_is_caught_only_by_the_export(site: Installation) -> None:
    exported = site.folder / "punto.json"
    site.run("audit", "checkpoint", "--out", str(exported))
    held = json.loads(exported.read_text())
    site.write(2, "after")
    # The last three transactions (one record each) cut off, their checkpoints with them: the
    # database alone now looks whole.
    keep = held["seq"] - 1
    cut = site.copy("cut.sqlite3")
    rewrite(cut, [f"delete from audit_records where seq > {keep}", f"delete from audit_checkpoints where seq > {keep}",
                  f"update audit_head set seq = {keep}, hash = (select hash from audit_records where seq = {keep})"])
    url = f"sqlite:///{cut}"
    assert "audit chain intact" in said(site.run("audit", "verify", url=url))
    refused = said(site.run("audit", "verify", "--against", str(exported), url=url, code=1))
    assert f"broken at record {keep + 1}" in refused and f"records up to {held['seq']} were deleted" in refused


def test_a_log_rewritten_before_an_exported_checkpoint_fails_against_it(site: Installation) -> None:
    exported = site.folder / "punto.json"
    site.run("audit", "checkpoint", "--out", str(exported))
    held = json.loads(exported.read_text())
    rewritten = site.copy("rewritten.sqlite3")
    target = held["seq"] - 1
    # A record before the export changed, every later hash recomputed, the checkpoints from it on removed.
    engine = make_engine(f"sqlite:///{rewritten}")
    with Session(engine) as session:
        bypass_triggers(session)
        session.execute(sa.update(AuditRecord).where(AuditRecord.seq == target).values(reason="nada"))
        rehash_from(session, target)
        session.execute(sa.delete(AuditCheckpoint).where(AuditCheckpoint.seq >= target))
        session.commit()
    engine.dispose()
    refused = said(site.run("audit", "verify", "--against", str(exported), url=f"sqlite:///{rewritten}", code=1))
    assert f"broken at record {target}" in refused
    assert f"the log was rewritten up to record {held['seq']}; it does not extend this checkpoint" in refused


def test_an_altered_export_is_refused(site: Installation) -> None:
    exported = site.folder / "punto.json"
    site.run("audit", "checkpoint", "--out", str(exported))
    held = json.loads(exported.read_text())
    held["seq"] -= 1
    exported.write_text(json.dumps(held))
    refused = said(site.run("audit", "verify", "--against", str(exported), code=1))
    assert "its signature does not verify" in refused
    exported.write_text("not json")
    assert "audit.checkpoint_file" in said(site.run("audit", "verify", "--against", str(exported), code=2))


def test_rotate_key_announces_the_new_key_and_old_exports_still_verify(site: Installation) -> None:
    exported = site.folder / "antes.json"
    site.run("audit", "checkpoint", "--out", str(exported))
    old_id = json.loads(exported.read_text())["key_id"]
    key = site.folder / "audit_signing_key"
    old_public = (site.folder / "audit_signing_key.pub").read_text()
    told = said(site.run("audit", "rotate-key", "--as", "admin"))
    assert f"signing key {old_id} retired" in told
    assert (site.folder / f"audit_signing_key.retired-{old_id}.pub").read_text() == old_public
    assert not (site.folder / f"audit_signing_key.retired-{old_id}").exists() and key.exists()
    site.write(2, "after")
    newest = site.folder / "despues.json"
    site.run("audit", "checkpoint", "--out", str(newest))
    new_id = json.loads(newest.read_text())["key_id"]
    assert new_id != old_id
    told = said(site.run("audit", "verify", "--against", str(exported), "--against", str(newest)))
    assert "audit chain intact" in told and "extends 2 exported" in told
    # Without the retired public key the first checkpoints cannot be checked: it must be kept.
    shutil.move(site.folder / f"audit_signing_key.retired-{old_id}.pub", site.folder / "elsewhere.pub")
    assert "not among this installation's public keys" in said(site.run("audit", "verify", code=1))


def test_the_key_file_setting_points_outside_the_data_directory(site: Installation, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "secrets" / "audit.key"
    monkeypatch.setenv("RETORNO_AUDIT_KEY_FILE", str(elsewhere))
    assert Settings.from_env(data_dir=site.folder).audit_key_file == elsewhere
    site.write(1, "moved")  # the site's own settings: the data directory's key
    assert not elsewhere.exists()
    monkeypatch.setenv("RETORNO_DATA_DIR", str(site.folder))
    result = runner.invoke(app, ["audit", "verify", "--database-url", site.url])
    # A different key than the one that signed: verify says so rather than vouching for the log.
    assert result.exit_code == 1 and "not among this installation's public keys" in said(result)


def test_a_missing_configured_key_refuses_to_write_rather_than_making_a_new_one(site: Installation,
                                                                               tmp_path: Path) -> None:
    missing = tmp_path / "vault" / "audit.key"
    config = Settings(database_url=site.url, data_dir=site.folder, audit_key_file=missing).resolved()
    before = site.run("audit", "verify").output
    with pytest.raises(Exception, match="does not exist"), unit_of_work(config) as session:
        record(session, None, "case.update", "case", "lost-key", after={"n": 1})
    assert not missing.exists()
    # Nothing was written: the log is as it was, and still verifies.
    assert site.run("audit", "verify").output == before


def test_new_key_creates_the_first_key_once(tmp_path: Path) -> None:
    path = tmp_path / "vault" / "audit.key"
    first = runner.invoke(app, ["audit", "new-key", str(path)])
    assert first.exit_code == 0 and path.exists() and path.with_name("audit.key.pub").exists()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = runner.invoke(app, ["audit", "new-key", str(path)])
    assert again.exit_code == 2 and "rotate-key" in said(again)


def test_a_head_moved_back_is_named_at_the_first_record_past_it(site: Installation) -> None:
    """Red team round 56, L3 (low): the head row moved back to an earlier record was caught, but named at a record
    after the last one, which does not exist. It is named at the first record past the head."""
    site.write(3, "after")
    moved = site.copy("moved.sqlite3")
    with Session(engine := make_engine(f"sqlite:///{moved}")) as session:
        last = int(session.execute(sa.select(sa.func.max(AuditRecord.seq))).scalar_one())
    engine.dispose()
    keep = last - 2
    rewrite(moved, [f"update audit_head set seq = {keep}, hash = (select hash from audit_records where seq = {keep})"])
    refused = said(site.run("audit", "verify", url=f"sqlite:///{moved}", code=1))
    assert f"broken at record {keep + 1}" in refused, refused
    assert f"records {keep + 1}–{last} are past the head" in refused, refused
    assert f"record {last + 1}" not in refused, refused
