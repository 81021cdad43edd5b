"""The operator's command line, on a database of its own: demo, db, audit verify, import, template."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retorno.cli.main import app
from retorno.synthetic.case_files import synthetic_case_file
from tests.demo_copy import DemoCopy, sqlite_demo
from tests.test_import_unpacked import _bomb as unpacking_bomb

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoCopy:
    built = sqlite_demo(tmp_path_factory, "demo")
    assert "inm.oficial" in built.output and "saime.supervisor" in built.output
    # The receiving side's registry and trained model are left for `retorno verify`.
    assert (built.folder / "registro-civil-demo.parquet").is_file()
    assert (built.folder / "verification-model.json").is_file()
    return built


@pytest.fixture(scope="module")
def demo_folder(demo: DemoCopy) -> Path:
    return demo.folder


@pytest.fixture(scope="module")
def demo_db(demo: DemoCopy) -> str:
    return demo.url


def test_demo_builds_the_scenario_and_the_audit_chain_verifies(demo_db: str, demo_folder: Path) -> None:
    # The demo's audit key lives in its data directory, beside the database.
    result = runner.invoke(app, ["audit", "verify", "--database-url", demo_db],
                           env={"RETORNO_DATA_DIR": str(demo_folder)})
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    with sqlite3.connect(demo_db.removeprefix("sqlite:///")) as conn:
        states = dict(conn.execute("select state, count(*) from cases group by state").fetchall())
        flights = dict(conn.execute("select flight_number, state from flights").fetchall())
    assert states.get("arrived", 0) + states.get("reintegration_intake", 0) + states.get("matched", 0) \
        + states.get("placed", 0) + states.get("closed", 0) > 100
    assert {"registered", "screened", "verification_requested", "ready"} <= set(states)
    with sqlite3.connect(demo_db.removeprefix("sqlite:///")) as conn:
        linked = dict(conn.execute("select outcome, count(*) from verification_decisions"
                                   " where method = 'linkage' group by outcome").fetchall())
    # The waiting requests were linked against the registry: most verified, some for review.
    assert linked.get("verified", 0) > 0 and linked.get("review", 0) + linked.get("not_found", 0) > 0
    assert sorted(flights.values()).count("arrived") == 2


def test_audit_verify_fails_on_a_tampered_row(demo_db: str, demo_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "tampered.sqlite3"
    with sqlite3.connect(demo_db.removeprefix("sqlite:///")) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("update audit_records set reason = 'nada' where seq = 40")
        # As the database's administrator could: drop the trigger first.
        conn.execute("drop trigger audit_records_no_update")
        conn.execute("update audit_records set reason = 'nada' where seq = 40")
    result = runner.invoke(app, ["audit", "verify", "--database-url", f"sqlite:///{copy}"],
                           env={"RETORNO_DATA_DIR": str(demo_folder)})
    assert result.exit_code == 1
    assert "record 40" in result.output


def test_audit_verify_and_demo_check_name_screenings_changed_outside_the_service(
        demo_db: str, demo_folder: Path, tmp_path: Path) -> None:
    """Red team round 90, F3 (medium): an open asylum claim emptied in the database (and the case made ready) was
    vouched for by `audit verify`, `db restore` and `demo check`, the chain being intact; the person went onto a
    manifest. The screenings stored are compared with those the trail describes (`screening.trail.off_trail`)."""
    copy = tmp_path / "edited.sqlite3"
    with sqlite3.connect(demo_db.removeprefix("sqlite:///")) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        # The sealed tables' triggers call functions the service registers (migrations 0049, 0050): a forger gives them.
        conn.create_function("retorno_seal_token", 0, lambda: None)
        conn.create_function("retorno_seal_before", 2, lambda table, row: None)
        raised, case = conn.execute(
            "select s.id, c.reference from screenings s join cases c on c.id = s.case_id where s.concerns like "
            "'%pending_asylum_claim%' and not exists (select 1 from screening_resolutions r where r.screening_id = "
            "s.id) order by s.id limit 1").fetchone()
        conn.execute("update screenings set concerns = '[]' where id = ?", (raised,))
        conn.execute("update cases set concern_open_since = null, state = 'ready' where reference = ?", (case,))
        resolved = conn.execute("select screening_id from screening_resolutions order by id limit 1").fetchone()[0]
        conn.execute("delete from screening_resolutions where screening_id = ?", (resolved,))
        lowered = conn.execute("select id from screenings where medical_escorts > 0 order by id limit 1").fetchone()[0]
        conn.execute("update screenings set medical_escorts = 0 where id = ?", (lowered,))
    url = f"sqlite:///{copy}"
    env = {"RETORNO_DATA_DIR": str(demo_folder)}
    verified = runner.invoke(app, ["audit", "verify", "--database-url", url], env=env)
    assert verified.exit_code == 1, verified.output
    assert "audit chain intact" in verified.output and "stored otherwise than the audit trail says" in verified.output
    said = " ".join(verified.output.split())
    for screening in (raised, resolved, lowered):
        assert f"screening {screening}:" in said, (screening, said)
    assert f"case {case}, screening {raised}: concerns: ('pending_asylum_claim',) on the trail, () stored" in said
    checked = runner.invoke(app, ["demo", "check", "--database-url", url], env=env)
    assert checked.exit_code == 1 and "screenings_on_trail" in checked.output, checked.output


def test_audit_verify_and_demo_check_name_safeguard_records_changed_outside_the_service(
        demo_db: str, demo_folder: Path, tmp_path: Path) -> None:
    """Red team round 91, F3 to F6: in a copy of the demo a decision that the person is not a national (`rejected`)
    was made `verified`, a household split and a best-interests determination inserted, a resolution's author changed
    and a consent to change a locked manifest added (around the triggers' function, as the database's administrator
    could); `audit verify` said the copy intact. Each row is now compared with its seal on the trail
    (`audit.seals.unsealed`)."""
    copy = tmp_path / "forged.sqlite3"
    with sqlite3.connect(demo_db.removeprefix("sqlite:///")) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        # The sealed tables' triggers call functions the service registers (migrations 0049, 0050): a forger gives them.
        conn.create_function("retorno_seal_token", 0, lambda: None)
        conn.create_function("retorno_seal_before", 2, lambda table, row: None)
        decision = conn.execute("select id from verification_decisions where outcome = 'rejected' order by id "
                                "limit 1").fetchone()[0]
        conn.execute("update verification_decisions set outcome = 'verified' where id = ?", (decision,))
        resolution, supervisor = conn.execute("select r.id, u.id from screening_resolutions r join users u on "
                                              "u.id <> r.resolved_by order by r.id limit 1").fetchone()
        conn.execute("update screening_resolutions set resolved_by = ? where id = ?", (supervisor, resolution))
        household, child = conn.execute("select c.household_id, c.id from cases c where c.household_id is not null "
                                        "and not exists (select 1 from best_interests_determinations b where "
                                        "b.case_id = c.id) order by c.id limit 1").fetchone()
        split = conn.execute("insert into household_splits (household_id, authorised_by, reason, created_at) values "
                             "(?, ?, 'x', '2026-01-01 00:00:00')", (household, supervisor)).lastrowid
        determination = conn.execute(
            "insert into best_interests_determinations (case_id, decided_by, decided_at, summary, receiving_guardian)"
            " values (?, ?, '2026-01-01 00:00:00', 'x', 'x')", (child, supervisor)).lastrowid
        flight = conn.execute("select id from flights order by id limit 1").fetchone()[0]
        consent = conn.execute(
            "insert into locked_change_approvals (flight_id, case_id, change, side, approved_by, reason, used, "
            "created_at) values (?, ?, 'remove', 'receiving', ?, 'x', 0, '2026-01-01 00:00:00')",
            (flight, child, supervisor)).lastrowid
    url = f"sqlite:///{copy}"
    env = {"RETORNO_DATA_DIR": str(demo_folder)}
    verified = runner.invoke(app, ["audit", "verify", "--database-url", url], env=env)
    assert verified.exit_code == 1, verified.output
    said = " ".join(verified.output.split())
    assert "audit chain intact" in said and "protection screenings as audited" in said, said
    assert "safeguard records stored otherwise than the audit trail sealed them" in said, said
    for named in (f"verification_decisions {decision}: stored otherwise", f"screening_resolutions {resolution}: "
                  "stored otherwise", f"household_splits {split}: stored, never sealed",
                  f"best_interests_determinations {determination}: stored, never sealed",
                  f"locked_change_approvals {consent}: stored, never sealed"):
        assert named in said, (named, said)
    checked = runner.invoke(app, ["demo", "check", "--database-url", url], env=env)
    assert checked.exit_code == 1 and "records_as_sealed" in checked.output, checked.output


def test_import_command_refuses_a_bad_file_and_writes_the_report(demo_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "lista.csv"
    bad.write_bytes(synthetic_case_file(50, seed=3, bad_row=20))
    result = runner.invoke(app, ["import", "cases", str(bad), "--agency", "MX-INM", "--as", "inm.oficial",
                                 "--database-url", demo_db])
    assert result.exit_code == 1, result.output
    report = (tmp_path / "lista.informe.csv").read_text(encoding="utf-8-sig")
    assert report.splitlines()[1].startswith("20,")
    good = tmp_path / "buena.csv"
    good.write_bytes(synthetic_case_file(50, seed=4))
    ok = runner.invoke(app, ["import", "cases", str(good), "--agency", "MX-INM", "--as", "inm.oficial",
                             "--database-url", demo_db])
    assert ok.exit_code == 0, ok.output
    assert "50 created" in ok.output
    wrong = runner.invoke(app, ["import", "cases", str(good), "--agency", "MX-INM", "--as", "saime.oficial",
                                "--database-url", demo_db])
    assert wrong.exit_code != 0


def test_import_command_refuses_a_workbook_past_the_unpacked_bound(demo_db: str, tmp_path: Path) -> None:
    """Red team (medium): the command line bounds what a workbook unpacks to as the web does
    (RETORNO_MAX_UNPACKED_BYTES), and writes nothing (tests/test_import_unpacked.py)."""
    bomb = tmp_path / "casos.xlsx"
    bomb.write_bytes(unpacking_bomb())
    database = demo_db.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        before = conn.execute("select count(*) from cases").fetchone()
    result = runner.invoke(app, ["import", "cases", str(bomb), "--agency", "MX-INM", "--as", "inm.oficial",
                                 "--database-url", demo_db], env={"RETORNO_MAX_UNPACKED_BYTES": str(2**20)})
    assert result.exit_code == 1, result.output
    report = (tmp_path / "casos.informe.csv").read_text(encoding="utf-8-sig")
    assert "descomprimido ocupe como máximo 1 MB" in report
    with sqlite3.connect(database) as conn:
        assert conn.execute("select count(*) from cases").fetchone() == before


def test_template_and_db_check(tmp_path: Path) -> None:
    out = tmp_path / "casos.xlsx"
    assert runner.invoke(app, ["template", "cases", "--format", "xlsx", "--output", str(out)]).exit_code == 0
    assert out.read_bytes()[:2] == b"PK"
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    assert runner.invoke(app, ["db", "check", "--database-url", url]).exit_code == 0


@pytest.mark.parametrize("arguments", [
    ["mrz", "check", "{tmp}/missing-mrz.txt"],
    ["verify", "--registry", "{tmp}/missing-registry.parquet", "--requests", "{tmp}/missing.jsonl",
     "--decisions-out", "{tmp}/decisions.jsonl"],
], ids=["mrz-check", "verify-offline"])
def test_a_file_that_cannot_be_read_is_one_line_not_a_traceback(tmp_path: Path, arguments: list[str]) -> None:
    """Red team round 15: `retorno verify --requests FILE` with a missing file printed a Python traceback."""
    result = runner.invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in arguments])
    assert result.exit_code == 2, result.output
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)
    assert "error (file): " in result.output and "missing" in result.output, result.output
