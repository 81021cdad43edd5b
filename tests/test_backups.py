"""Backups that restore: a small populated database backed up and restored into an empty one on each engine,
checked by the audit chain, the row counts and the data keys; what lives outside the database is named."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.audit.signing import KeyFile
from retorno.backups import row_counts
from retorno.cli.main import app as cli
from retorno.config import Settings
from retorno.datakeys import DataKeyring
from retorno.db import make_engine, use_data_keys
from retorno.migrations import upgrade
from retorno.web.app import create_app
from tests.factories import Api, build_world, ok
from tests.scratch import empty_database

runner = CliRunner()


def _populate(url: str, tmp_path: Path, data_keys: DataKeyring, audit_key: KeyFile) -> None:
    """Agencies, users and cases at several steps, with sensitive text encrypted and every change audited."""
    upgrade(url)
    audit_key.public()  # the test run's key, created by whichever test signs first
    settings = Settings(database_url=url, data_dir=tmp_path, secret_key="test-" + uuid.uuid4().hex,
                        data_key_file=data_keys.path, audit_key_file=audit_key.path).resolved()
    app = create_app(settings)
    with Session(app.state.engine) as session:
        world = build_world(session)
        session.commit()
    with TestClient(app) as client:
        api = Api(client, world)
        api.ready_case()
        held = api.register()
        ok(api.post("inm.officer", f"/api/v1/cases/{held['reference']}/screenings",
                    {"concerns": ["pending_asylum_claim"], "notes": "teme volver; su hermano fue amenazado"}), 201)
        ok(api.post("inm.supervisor", f"/api/v1/cases/{held['reference']}/screenings/resolution",
                    {"decision": "travel_permitted", "reason": "la solicitud fue retirada por escrito"}), 201)
    app.state.engine.dispose()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_backup_restores_into_an_empty_database_and_checks_out(engine: str, tmp_path: Path,
                                                                 data_keys: DataKeyring, audit_key: KeyFile) -> None:
    env = {"RETORNO_DATA_DIR": str(tmp_path), "RETORNO_DATA_KEY_FILE": str(data_keys.path),
           "RETORNO_AUDIT_KEY_FILE": str(audit_key.path)}
    with empty_database(engine, tmp_path, "backup_source") as source, \
            empty_database(engine, tmp_path, "backup_target") as target:
        _populate(source, tmp_path, data_keys, audit_key)
        out = tmp_path / "saved" / "retorno.backup"
        saved = runner.invoke(cli, ["db", "backup", "--out", str(out), "--database-url", source], env=env)
        assert saved.exit_code == 0, saved.output
        assert out.is_file() and (tmp_path / "saved" / "retorno.backup.manifest.json").is_file()
        assert str(data_keys.path) in saved.output and f"{audit_key.path}.pub" in saved.output
        assert "secret_key" in saved.output
        # Another backup never overwrites this one.
        again = runner.invoke(cli, ["db", "backup", "--out", str(out), "--database-url", source], env=env)
        assert again.exit_code == 2 and "exists" in again.output

        restored = runner.invoke(cli, ["db", "restore", str(out), "--database-url", target], env=env)
        assert restored.exit_code == 0, restored.output
        assert "audit chain intact" in restored.output and "row counts match" in restored.output
        assert str(data_keys.path) in restored.output
        source_engine, target_engine = make_engine(source), make_engine(target)
        use_data_keys(target_engine, data_keys)
        with source_engine.connect() as a, target_engine.connect() as b:
            counts = row_counts(a)
            assert counts == row_counts(b)
            assert counts["cases"] == 2 and counts["audit_records"] > 40
            reason = "SELECT reason FROM screening_resolutions"
            assert a.exec_driver_sql(reason).scalar_one() == b.exec_driver_sql(reason).scalar_one()
        source_engine.dispose()
        target_engine.dispose()

        # Never over a database that holds anything.
        over = runner.invoke(cli, ["db", "restore", str(out), "--database-url", source], env=env)
        assert over.exit_code == 2 and "not empty" in over.output


def test_a_restore_reports_what_does_not_match(tmp_path: Path, data_keys: DataKeyring, audit_key: KeyFile) -> None:
    env = {"RETORNO_DATA_DIR": str(tmp_path), "RETORNO_DATA_KEY_FILE": str(data_keys.path),
           "RETORNO_AUDIT_KEY_FILE": str(audit_key.path)}
    source = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    _populate(source, tmp_path, data_keys, audit_key)
    out = tmp_path / "retorno.backup"
    assert runner.invoke(cli, ["db", "backup", "--out", str(out), "--database-url", source], env=env
                         ).exit_code == 0
    # The copy altered after it was written: an audit record rewritten and a login attempt removed.
    with sqlite3.connect(out) as conn:
        conn.create_function("retorno_seal_token", 0, lambda: None)  # the sealed tables' triggers call it
        conn.create_function("retorno_seal_before", 2, lambda table, row: None)
        conn.execute("drop trigger audit_records_no_update")
        conn.execute("update audit_records set reason = 'otra cosa' where seq = 3")
        conn.execute("delete from users where username = 'inm.viewer'")
    target = f"sqlite:///{tmp_path / 'target.sqlite3'}"
    restored = runner.invoke(cli, ["db", "restore", str(out), "--database-url", target], env=env)
    assert restored.exit_code == 1
    assert "record 3" in restored.output and "table users" in restored.output
    # A PostgreSQL target for a SQLite backup is refused before anything is written.
    wrong = runner.invoke(cli, ["db", "restore", str(out), "--database-url",
                                      "postgresql+psycopg://postgres@127.0.0.1:5432/nowhere"], env=env)
    assert wrong.exit_code == 2 and "sqlite backup" in wrong.output
