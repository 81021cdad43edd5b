"""Crashes lose nothing (issue 17, item 3): a real `retorno` process killed with SIGKILL in the middle of its work,
on SQLite and PostgreSQL, leaves nothing half-written, an intact audit trail, and work that runs again to the
result an uninterrupted run gives.

Each test sets one database up, copies it twice (`pristine`, never touched; `reference`, where the command runs
to its end) and starts the same command on the original, killing it once its transaction has written half of
what the reference run wrote (`tests.crash_kit` says how that is seen from outside on each engine). Then: the
database holds exactly what `pristine` holds (the kill landed mid-transaction and nothing of it stayed),
SQLite's file is sound, `retorno audit verify` passes, and the command run again leaves exactly what
`reference` holds (ids compared by rank, timestamps and hashes left out: `crash_kit.content`).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from http.client import HTTPException
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.service import create_agency, create_user
from retorno.audit.signing import KeyFile
from retorno.cases.template import synthetic_case_file
from retorno.datakeys import DataKeyring
from retorno.migrations import upgrade
from retorno.reintegration.bench_db import fill_returnees
from retorno.verification.linkage import train
from retorno.verification.synth import make_registry
from retorno.web.app import create_app
from retorno.web.testpause import PAUSED
from tests.crash_kit import (
    Databases,
    Installation,
    Watch,
    assert_same_content,
    audit_intact,
    content,
    databases,
    kill_mid_write,
    run,
    small_sqlite_cache,
    sqlite_sound,
    start,
    wait_until,
)
from tests.factories import PASSWORD, Api, World, build_world, ok
from tests.test_installation import _free_port as free_port
from tests.test_installation import _http as http
from tests.test_installation import _serve as serve
from tests.verification.test_jobs import _person, misdated, open_case

ENGINES = ("sqlite", "postgresql")
# Rows of the killed import. 100,000 is the figure; RETORNO_CRASH_IMPORT_ROWS sets another.
IMPORT_ROWS = int(os.environ.get("RETORNO_CRASH_IMPORT_ROWS", "100000"))
# The kill lands once the killed run has written this share of what the uninterrupted run wrote.
KILL_AT = 0.5


@pytest.fixture(params=ENGINES)
def dbs(request: pytest.FixtureRequest, tmp_path: Path, data_keys: DataKeyring,
        audit_key: KeyFile) -> Iterator[Databases]:
    with databases(request.param, tmp_path, data_keys, audit_key) as made:
        yield made


def set_up(dbs: Databases, label: str) -> tuple[Installation, World]:
    """A migrated database with the test world's agencies, users and tokens."""
    installation = dbs.new(label)
    upgrade(installation.url)
    with installation.engine() as engine, Session(engine) as session:
        world = build_world(session)
        session.commit()
    return installation, world


def crash_and_rerun(dbs: Databases, original: Installation, command: tuple[str, ...], tables: tuple[str, ...],
                    tmp_path: Path) -> dict[str, Any]:
    """Run `command` uninterrupted on a copy, killed mid-write on the original, then again; compare each state.

    `tables`: where the command writes (watched for the kill). Returns what was measured.
    """
    small_sqlite_cache(original)
    pristine = dbs.new(original.data_dir.name + "-pristine", template=original)
    reference = dbs.new(original.data_dir.name + "-reference", template=original)
    before = content(pristine)

    watch = Watch(reference, tables)
    reference_out = run(reference, *command).stdout
    reference_bytes = watch.grown()
    watch.close()
    expected = content(reference)
    assert expected != before, "the command changed nothing: there is no crash to test"

    log = tmp_path / "killed.log"
    watch = Watch(original, tables)
    process = start(original, *command, log=log)
    try:
        seen = kill_mid_write(process, watch, at_bytes=int(reference_bytes * KILL_AT), log=log)
    finally:
        if process.poll() is None:
            process.kill()
        watch.close()

    after_kill = content(original)
    if after_kill == expected:
        raise AssertionError("the kill landed after the commit: nothing was tested mid-transaction")
    # Nothing half-written: the database is as it was before the command started.
    assert_same_content(after_kill, before, "after the kill")
    sqlite_sound(original)
    audit_intact(original)

    again_out = run(original, *command).stdout
    assert_same_content(content(original), expected, "run again after the kill, against the uninterrupted run")
    sqlite_sound(original)
    return {**seen, "reference_bytes": reference_bytes, "reference_output": last_line(reference_out),
            "again_output": last_line(again_out), "audit": audit_intact(original)}


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1] if output.strip() else ""


def test_a_killed_import_leaves_nothing_and_imports_everything_when_run_again(dbs: Databases,
                                                                              tmp_path: Path) -> None:
    original, _ = set_up(dbs, "import")
    case_list = tmp_path / "casos.csv"
    case_list.write_bytes(synthetic_case_file(IMPORT_ROWS, seed=17))
    figures = crash_and_rerun(dbs, original, ("import", "cases", str(case_list), "--agency", "MX-INM",
                                              "--as", "inm.officer"), ("cases", "audit_records"), tmp_path)
    created = f"{IMPORT_ROWS} created"
    assert created in " ".join(figures["reference_output"].split())
    assert created in " ".join(figures["again_output"].split())
    print(figures)


# Returnees waiting for matching: enough that storing the offers (placements, case moves, audit records) takes
# long enough to be caught mid-write.
RETURNEES, OPPORTUNITIES = 5000, 400


def test_a_killed_matching_run_leaves_no_offer_and_offers_the_same_when_run_again(dbs: Databases,
                                                                                  tmp_path: Path) -> None:
    original, _ = set_up(dbs, "matching")
    with original.engine() as engine, Session(engine) as session:
        create_agency(session, None, code="VE-OP", name="Operador", kind="reintegration_operator", country="VEN")
        create_user(session, None, username="op.bench", full_name="op.bench", agency_code="VE-OP", role="officer",
                    password=PASSWORD)
        fill_returnees(session, RETURNEES, OPPORTUNITIES, prefs=5, seat_ratio=0.6, seed=3)
        session.commit()
    figures = crash_and_rerun(dbs, original, ("match", "run", "--as", "op.bench"),
                              ("placements", "cases", "audit_records"), tmp_path)
    print(figures)


# Requests the killed verification run decides: each decision is its own savepoint with its audit records and
# the case's move, about 10 ms of work apiece, so recording them is caught mid-way.
VERIFICATION_REQUESTS = 200


@pytest.fixture(scope="module")
def linkage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic civil registry and a linkage model trained on it, once for both engines."""
    folder = tmp_path_factory.mktemp("crash-registry")
    registry = make_registry(3_000, 41, folder / "registry.parquet")
    model = folder / "model.json"
    train(registry, model, seed=42, u_pairs=2e5)
    return registry, model


def test_a_killed_verification_run_records_no_decision_and_the_same_ones_when_run_again(
        dbs: Databases, linkage: tuple[Path, Path], tmp_path: Path) -> None:
    registry, model = linkage
    original, world = set_up(dbs, "verification")
    people = pq.read_table(registry).to_pylist()[:VERIFICATION_REQUESTS]
    with original.engine() as engine, Session(engine) as session:
        sender = world.bind(session).users["inm.officer"]
        for number, person in enumerate(people):
            # Every fifth written with the year of birth wrong and no cédula: proposed for a person's review.
            open_case(session, sender, misdated(person) if number % 5 == 0 else _person(person))
        session.commit()
    figures = crash_and_rerun(dbs, original, ("verify", "--registry", str(registry), "--model", str(model),
                                              "--as", "saime.officer"),
                              ("verification_decisions", "verification_requests", "cases", "audit_records"),
                              tmp_path)
    print(figures)


LOCK_ROUTE = "POST /api/v1/flights/{reference}/manifest/lock"
PASSENGERS = 6


def flight_to_lock(original: Installation, world: World) -> str:
    """A flight whose proposed manifest the receiving side has approved passenger by passenger (committed)."""
    app = create_app(original.settings())
    with TestClient(app) as client:
        api = Api(client, world)
        cases = [api.ready_case()["reference"] for _ in range(PASSENGERS)]
        flight: str = api.flight()["reference"]
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": cases}), 201)
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
        for case in cases:
            ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{case}/decision", {"approve": True}))
    app.state.engine.dispose()
    return flight


def lock_through_the_api(installation: Installation, world: World, flight: str, log: Path) -> Any:
    """Serve the installation, lock the manifest over HTTP, stop the service (SIGTERM); the locked flight."""
    port = free_port()
    server = serve(["serve"], installation.env(), port, log)
    try:
        status, body = http("POST", f"http://127.0.0.1:{port}/api/v1/flights/{flight}/manifest/lock",
                            token=world.tokens["saime.officer"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert status == 200 and body["manifest_state"] == "locked", body
    return body


def test_a_server_killed_while_locking_a_manifest_leaves_it_unlocked_and_it_locks_when_asked_again(
        dbs: Databases, tmp_path: Path) -> None:
    original, world = set_up(dbs, "lock")
    flight = flight_to_lock(original, world)
    small_sqlite_cache(original)
    pristine = dbs.new("lock-pristine", template=original)
    reference = dbs.new("lock-reference", template=original)
    before = content(pristine)
    locked = lock_through_the_api(reference, world, flight, tmp_path / "reference.log")
    expected = content(reference)

    # The server pauses the lock's request before its commit (web.testpause), every row of the lock
    # written into its open transaction; it is killed in that pause.
    log = tmp_path / "killed.log"
    port = free_port()
    server = serve(["serve"], original.env(RETORNO_TEST_PAUSE_BEFORE_COMMIT=LOCK_ROUTE), port, log)
    answers: list[Any] = []
    request = threading.Thread(target=lambda: answers.append(_answer(
        f"http://127.0.0.1:{port}/api/v1/flights/{flight}/manifest/lock", world.tokens["saime.officer"])))
    watch = Watch(original, ("flights", "passengers"))
    try:
        request.start()
        wait_until(lambda: PAUSED in log.read_text(), "the lock to pause before its commit")
        # Mid-transaction: its rows are written (PostgreSQL: it holds the row lock of an UPDATE of
        # flights; SQLite: it holds the write lock) and not committed.
        assert watch.writing()
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        wait_until(lambda: watch.backends() == 0, "the killed server's PostgreSQL backend to end")
    finally:
        if server.poll() is None:
            server.kill()
        watch.close()
    request.join(timeout=30)
    assert server.returncode == -signal.SIGKILL
    assert answers and isinstance(answers[0], OSError | HTTPException), answers

    after_kill = content(original)
    assert after_kill != expected, "the kill landed after the commit"
    assert_same_content(after_kill, before, "after the kill")
    sqlite_sound(original)
    audit_intact(original)

    again = lock_through_the_api(original, world, flight, tmp_path / "again.log")
    assert_same_content(content(original), expected, "locked again after the kill, against the uninterrupted lock")
    assert (again["state"], again["manifest_state"]) == (locked["state"], locked["manifest_state"])
    audit_intact(original)


def _answer(url: str, token: str) -> Any:
    """What a client waiting on the request gets: the answer, or the error of a connection cut."""
    try:
        return http("POST", url, token=token)
    except (OSError, HTTPException) as error:
        return error
