"""Sensitive free text is encrypted at rest: a database dump alone shows none of it (SPEC.md section 4.6)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.audit.seals import unsealed
from retorno.cases.models import Case
from retorno.cli.common import settings as cli_settings
from retorno.cli.common import unit_of_work
from retorno.cli.main import app
from retorno.config import Settings
from retorno.datakeys import DataKeyError, DataKeyring, add_data_key, keyring_for
from retorno.db import reencrypt_sensitive_text, use_data_keys
from retorno.models import Base
from retorno.reintegration.models import IntakeProfile
from retorno.screening.models import BestInterestsDetermination, Screening, ScreeningResolution
from retorno.screening.service import resolve_screening
from retorno.travel.service import record_screening
from tests.factories import Api, World, build_world, ok

runner = CliRunner()
STORED = re.compile(r"v1:([0-9a-f]{8}):[A-Za-z0-9+/]+={0,2}\Z")
NOTES = "Refiere amenazas de una banda en Maracaibo; solicitó asilo en 2022."
REASON = "Asilo denegado en firme; la Defensoría confirmó que no hay riesgo actual."
SUMMARY = "La abuela materna la espera en Valencia; el CPNNA visitó el hogar."
GUARDIAN = "Carmen Rodríguez de Peña (abuela)"
BORN = date(1990, 5, 17)


def raw(connection: Connection, sql: str, **params: object) -> list[str]:
    """Column values exactly as stored, read with plain SQL and no column types."""
    return [row[0] for row in connection.execute(sa.text(sql), params)]


def test_the_api_writes_ciphertext_and_reads_back_the_text(client: TestClient, world: World, connection: Connection,
                                                           data_keys: DataKeyring) -> None:
    api = Api(client, world)
    # A child alone: her determination first (it is a child's with no adult of the household, red team round 67).
    ref = api.register(birth_date=date(date.today().year - 9, 3, 3).isoformat())["reference"]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{ref}/best-interests",
                {"summary": SUMMARY, "receiving_guardian": GUARDIAN}), 201)
    ok(api.post("inm.officer", f"/api/v1/cases/{ref}/screenings",
                {"concerns": ["pending_asylum_claim"], "notes": NOTES}), 201)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{ref}/screenings/resolution",
                {"decision": "travel_permitted", "reason": REASON}), 201)

    case_id = raw(connection, "select id from cases where reference = :ref", ref=ref)[0]
    stored = [
        *raw(connection, "select notes from screenings where case_id = :id", id=case_id),
        *raw(connection, "select r.reason from screening_resolutions r join screenings s on s.id = r.screening_id"
                         " where s.case_id = :id", id=case_id),
        *raw(connection, "select summary from best_interests_determinations where case_id = :id", id=case_id),
        *raw(connection, "select receiving_guardian from best_interests_determinations where case_id = :id",
             id=case_id),
    ]
    assert len(stored) == 4
    for value, text in zip(stored, (NOTES, REASON, SUMMARY, GUARDIAN), strict=True):
        match = STORED.match(value)
        assert match and match.group(1) == data_keys.newest_id, value
        assert text not in value and "Maracaibo" not in value
    # Nor does the audit trail keep a readable copy: only each text's digest, so it cannot change unnoticed.
    audit_text = " ".join(str(v) for row in connection.execute(sa.text(
        "select before, after, reason from audit_records where object_id = :ref"), {"ref": ref}) for v in row)
    for text in (NOTES, REASON, SUMMARY, GUARDIAN):
        assert text not in audit_text, text
    # The digest is keyed with the data keys: a plain SHA-256 let whoever read the table (a database administrator, a
    # copy) confirm a guess of a short text, a guardian's name (red team round 68, F4).
    for text in (NOTES, REASON, SUMMARY, GUARDIAN):
        assert hashlib.sha256(text.encode()).hexdigest() not in audit_text, text
        assert hashlib.sha256(text.strip().encode()).hexdigest() not in audit_text, text
    assert data_keys.digest(REASON) in audit_text and data_keys.digest(GUARDIAN.strip()) in audit_text
    # Two encryptions of one text differ (a fresh nonce each time): equal texts cannot be spotted in a dump.
    assert data_keys.encrypt(NOTES) != data_keys.encrypt(NOTES)

    details = ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings"))
    assert details[0]["notes"] == NOTES and details[0]["resolutions"][0]["reason"] == REASON


def test_intake_needs_are_encrypted_and_read_back(session: Session, world: World, connection: Connection) -> None:
    operator = world.users["op.officer"]
    case = Case(reference="MX-ENC-1", agency_id=world.users["inm.officer"].agency_id, agency_reference="ENC-1",
                given_names="Ana", first_surname="Pérez", search_name="ANA PEREZ", sex="F",
                birth_date=BORN, nationality="VEN", held_at="Tapachula",
                detained_since=BORN, state="reintegration_intake")
    session.add(case)
    session.flush()
    needs = ["salud", "diálisis tres veces por semana"]
    session.add(IntakeProfile(case_id=case.id, consent=True, occupations=[], skills=[], languages=["es"],
                              preferences=[], needs=needs, recorded_by=operator.id))
    session.flush()
    (stored,) = raw(connection, "select needs from intake_profiles where case_id = :id", id=case.id)
    assert STORED.match(stored) and "diálisis" not in stored and "salud" not in stored
    session.expire_all()
    profile = session.execute(sa.select(IntakeProfile).where(IntakeProfile.case_id == case.id)).scalar_one()
    assert profile.needs == needs


@pytest.fixture
def own_keys(database: tuple[str, Engine, World], tmp_path: Path, data_keys: DataKeyring) -> Iterator[DataKeyring]:
    """A copy of the test run's key file for the test database, so that rotating it touches no other test."""
    engine = database[1]
    path = tmp_path / "data_keys"
    shutil.copy(data_keys.path, path)
    keyring = DataKeyring(path)
    use_data_keys(engine, keyring)
    yield keyring
    use_data_keys(engine, data_keys)


def test_after_a_rotation_old_rows_read_and_re_encryption_moves_every_row(
        own_keys: DataKeyring, session: Session, world: World, connection: Connection) -> None:
    officer, supervisor = world.users["inm.officer"], world.users["inm.supervisor"]
    cases = []
    for number in range(3):
        case = Case(reference=f"MX-ROT-{number}", agency_id=officer.agency_id, agency_reference=f"ROT-{number}",
                    given_names="Ana", first_surname="Pérez", search_name="ANA PEREZ", sex="F",
                    birth_date=BORN, nationality="VEN", held_at="Tapachula",
                    detained_since=BORN, state="registered")
        session.add(case)
        cases.append(case)
    session.flush()
    old_key = own_keys.newest_id
    first = record_screening(session, officer, cases[0], concerns=["trafficking_victim"], notes=NOTES)
    resolve_screening(session, supervisor, cases[0], decision="travel_permitted", reason=REASON)
    # A row written before encryption existed: plain text, no prefix.
    legacy = record_screening(session, officer, cases[1], concerns=[], notes="x")
    session.flush()
    connection.execute(sa.text("update screenings set notes = :text where id = :id"),
                       {"text": "nota antigua sin cifrar", "id": legacy.id})
    session.expire_all()
    assert session.get(Screening, legacy.id).notes == "nota antigua sin cifrar"  # type: ignore[union-attr]

    new_key = add_data_key(own_keys.path)
    assert new_key != old_key and own_keys.newest_id == new_key
    later = record_screening(session, officer, cases[2], concerns=["pregnancy"], notes="nueva nota")
    session.flush()
    notes_by_id = dict(connection.execute(sa.text("select id, notes from screenings where id in (:a, :b, :c)"),
                                          {"a": first.id, "b": legacy.id, "c": later.id}).all())
    assert STORED.match(notes_by_id[first.id]).group(1) == old_key  # type: ignore[union-attr]
    assert STORED.match(notes_by_id[later.id]).group(1) == new_key  # type: ignore[union-attr]
    session.expire_all()
    assert session.get(Screening, first.id).notes == NOTES  # type: ignore[union-attr]

    moved = reencrypt_sensitive_text(session, Base.metadata)
    assert moved["screenings.notes"] >= 2 and moved["screening_resolutions.reason"] >= 1
    keys_now = {STORED.match(v).group(1) for v in raw(  # type: ignore[union-attr]
        connection, "select notes from screenings where notes is not null")}
    assert keys_now == {new_key}
    assert reencrypt_sensitive_text(session, Base.metadata)["screenings.notes"] == 0
    session.expire_all()
    assert session.get(Screening, first.id).notes == NOTES  # type: ignore[union-attr]
    assert session.get(Screening, legacy.id).notes == "nota antigua sin cifrar"  # type: ignore[union-attr]
    reason = session.execute(sa.select(ScreeningResolution.reason)
                             .where(ScreeningResolution.screening_id == first.id)).scalar_one()
    assert reason == REASON
    # The rotation is the service's change of the sealed rows: sealed as it commits, nothing named (`audit.seals`).
    session.commit()
    assert [problem for problem in unsealed(session).problems if problem.table.startswith("screening")] == []


def test_a_row_sealed_under_a_data_key_since_retired_checks_with_that_key(
        own_keys: DataKeyring, session: Session, world: World) -> None:
    """The seals on the trail are keyed digests (`audit.seals`): one made before a rotation is checked with its own
    key, named in it, not with the newest (which would name every row sealed before as changed)."""
    officer = world.users["inm.officer"]
    case = Case(reference="MX-SEAL-1", agency_id=officer.agency_id, agency_reference="SEAL-1", given_names="Ana",
                first_surname="Pérez", search_name="ANA PEREZ", sex="F", birth_date=BORN, nationality="VEN",
                held_at="Tapachula", detained_since=BORN, state="registered")
    session.add(case)
    session.flush()
    screening = record_screening(session, officer, case, concerns=["trafficking_victim"], notes=NOTES)
    session.commit()
    old_key = own_keys.newest_id

    def named() -> list[str]:
        return [problem.problem for problem in unsealed(session).problems
                if (problem.table, problem.row) == ("screenings", screening.id)]

    assert named() == []
    assert add_data_key(own_keys.path) != old_key
    assert named() == []
    session.execute(sa.update(Screening).where(Screening.id == screening.id).values(medical_escorts=2))
    session.commit()
    assert named() == []


def test_a_wrong_or_missing_key_is_a_clear_error_not_garbage(tmp_path: Path) -> None:
    keyring = keyring_for(Settings(data_dir=tmp_path / "a"))
    assert stat.S_IMODE(keyring.path.stat().st_mode) == 0o600
    stored = keyring.encrypt(NOTES)
    assert keyring.decrypt(stored) == NOTES

    other = keyring_for(Settings(data_dir=tmp_path / "b"))
    with pytest.raises(DataKeyError, match="does not hold"):
        other.decrypt(stored)
    # The same key id with another key (a swapped file), or an altered value: refused, never garbage.
    key_id = stored.split(":")[1]
    forged = tmp_path / "forged_keys"
    forged.write_text(f"{key_id} {base64.b64encode(bytes(32)).decode()}\n")
    with pytest.raises(DataKeyError, match="different key under that id, or the stored value was altered"):
        DataKeyring(forged).decrypt(stored)
    payload = base64.b64decode(stored.split(":")[2])
    altered = f"v1:{key_id}:{base64.b64encode(payload[:-1] + bytes([payload[-1] ^ 1])).decode()}"
    with pytest.raises(DataKeyError, match="altered"):
        keyring.decrypt(altered)
    # An explicit key file (production) is never created quietly.
    with pytest.raises(DataKeyError, match="does not exist"):
        keyring_for(Settings(data_dir=tmp_path / "c", data_key_file=tmp_path / "missing"))
    assert not (tmp_path / "missing").exists()


def test_rotate_data_command_re_encrypts_in_one_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETORNO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RETORNO_DATA_KEY_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'retorno.sqlite3'}"
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    config = cli_settings(url)
    with unit_of_work(config) as session:
        world = build_world(session)
    with unit_of_work(config) as session:
        world = world.bind(session)
        officer = world.users["inm.officer"]
        case = Case(reference="MX-CLI-1", agency_id=officer.agency_id, agency_reference="CLI-1",
                    given_names="María José", first_surname="Peña", search_name="MARIA JOSE PENA",
                    sex="F", birth_date=BORN, nationality="VEN", held_at="Tapachula",
                    detained_since=BORN, state="registered")
        session.add(case)
        session.flush()
        record_screening(session, officer, case, concerns=["pending_asylum_claim"], notes=NOTES)
        session.add(BestInterestsDetermination(case_id=case.id, decided_by=officer.id, summary=SUMMARY,
                                               receiving_guardian=GUARDIAN))
    database = tmp_path / "retorno.sqlite3"

    def stored_keys() -> set[str]:
        with sqlite3.connect(database) as conn:
            values = [v for (v,) in conn.execute("select notes from screenings union all select summary from "
                                                 "best_interests_determinations union all select receiving_guardian"
                                                 " from best_interests_determinations")]
        assert values and all(STORED.match(v) for v in values), values
        return {STORED.match(v).group(1) for v in values}  # type: ignore[union-attr]

    (first_key,) = stored_keys()
    result = runner.invoke(app, ["keys", "rotate-data", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "3 values re-encrypted" in " ".join(result.output.split())
    key_file = tmp_path / "data_keys"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    lines = [line for line in key_file.read_text().splitlines() if line and not line.startswith("#")]
    assert next(line[:8] for line in lines) == first_key and len(lines) == 2
    assert stored_keys() == {lines[1][:8]}
    with unit_of_work(config) as session:
        assert session.execute(sa.select(Screening.notes)).scalar_one() == NOTES
        assert session.execute(sa.select(BestInterestsDetermination.receiving_guardian)).scalar_one() == GUARDIAN
    assert runner.invoke(app, ["audit", "verify", "--database-url", url]).exit_code == 0

    # A row forged in the database (its seal not matching) stops a rotation before any key is added: the
    # re-encryption would seal it as found (red team round 92, F6).
    with sqlite3.connect(database) as conn:
        conn.create_function("retorno_seal_token", 0, lambda: None)
        conn.create_function("retorno_seal_before", 2, lambda table, row: None)
        conn.execute("update best_interests_determinations set decided_by = decided_by + 1")
    refused = runner.invoke(app, ["keys", "rotate-data", "--database-url", url])
    assert refused.exit_code == 1, refused.output
    said = " ".join(refused.output.split())
    assert "no key added, nothing re-encrypted" in said and "best_interests_determinations" in said, said
    assert len([line for line in key_file.read_text().splitlines() if line and not line.startswith("#")]) == 2
    assert runner.invoke(app, ["audit", "verify", "--database-url", url]).exit_code == 1

    # Without the key file the text cannot be read: a clear refusal naming the file, not garbage.
    key_file.rename(tmp_path / "data_keys.lost")
    monkeypatch.setenv("RETORNO_DATA_KEY_FILE", str(tmp_path / "data_keys"))
    result = runner.invoke(app, ["cases", "show", "MX-CLI-1", "--as", "inm.officer", "--database-url", url])
    assert result.exit_code == 2
    assert "error (data_key)" in result.output and "data_keys does not exist" in " ".join(result.output.split())
