"""Test databases built by the real migrations, on SQLite and PostgreSQL; each test rolled back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.checkpoints import sign_audit_commits
from retorno.audit.signing import KeyFile
from retorno.config import Settings
from retorno.datakeys import DataKeyring, keyring_for
from retorno.db import make_engine, use_data_keys
from retorno.migrations import upgrade
from retorno.travel.invariants import guard_manifests
from retorno.web.app import create_app
from tests.databases import private_name
from tests.factories import World, build_world

# Tests check behaviour, benchmarks check speed: no example is failed for taking longer than hypothesis's default
# 200 ms, which a loaded machine exceeds (a clean-clone run failed test_charts_i18n at 348 ms while other suites ran).
hypothesis_settings.register_profile("retorno", deadline=None)
hypothesis_settings.load_profile("retorno")

PG_ADMIN_URL = os.environ.get("RETORNO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASES = ("sqlite", "postgresql")


def _postgres_url() -> str:
    """A database of this test worker and run alone on the test server, created empty."""
    name = private_name("retorno_test")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_postgres(url: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def data_keys(tmp_path_factory: pytest.TempPathFactory) -> DataKeyring:
    """The test run's data keys: the test databases' engines and every test's settings share them."""
    return keyring_for(Settings(data_dir=tmp_path_factory.mktemp("keys")))


@pytest.fixture(scope="session")
def audit_key(tmp_path_factory: pytest.TempPathFactory) -> KeyFile:
    """The test run's audit signing key: the test databases' engines and every test's settings share it."""
    return KeyFile(tmp_path_factory.mktemp("audit-key") / "audit_signing_key")


@pytest.fixture(scope="session")
def _built_databases(tmp_path_factory: pytest.TempPathFactory, data_keys: DataKeyring,
                     audit_key: KeyFile) -> Iterator[dict[str, tuple[str, Engine, World]]]:
    """Each kind of test database, built once per test worker when first asked for and kept to the end.

    `database` below is parametrized by kind, and pytest tears a session fixture's value down whenever the next test
    asks for the other parameter: with both kinds in each file, every file switched kinds twice and migrated a
    new database each time (about 2.5 s, a quarter of the suite's time).
    """
    def build(kind: str) -> tuple[str, Engine, World]:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}" if kind == "sqlite" else _postgres_url()
        upgrade(url)
        engine = make_engine(url)
        use_data_keys(engine, data_keys)
        sign_audit_commits(engine, audit_key)
        # Tests use the default escort ratio of Settings, as the `settings` fixture does.
        guard_manifests(engine, Settings().passengers_per_escort)
        with Session(engine) as session:
            world = build_world(session)
            session.commit()
        return url, engine, world

    class Built(dict[str, tuple[str, Engine, World]]):
        def __missing__(self, kind: str) -> tuple[str, Engine, World]:
            self[kind] = build(kind)
            return self[kind]

    built = Built()
    yield built
    for kind, (url, engine, _) in built.items():
        engine.dispose()
        if kind == "postgresql":
            _drop_postgres(url)


@pytest.fixture(scope="session", params=DATABASES)
def database(request: pytest.FixtureRequest,
             _built_databases: dict[str, tuple[str, Engine, World]]) -> tuple[str, Engine, World]:
    """One migrated database per kind, with the agencies and users every test uses."""
    return _built_databases[request.param]


@pytest.fixture
def connection(database: tuple[str, Engine, World]) -> Iterator[Connection]:
    """A connection whose outer transaction is rolled back after the test: nothing leaks between tests."""
    _, engine, _ = database
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Each "commit" of the code under test only releases a savepoint inside the test's transaction.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def world(database: tuple[str, Engine, World], session: Session) -> World:
    return database[2].bind(session)


@pytest.fixture
def settings(database: tuple[str, Engine, World], tmp_path: Path, data_keys: DataKeyring,
             audit_key: KeyFile) -> Settings:
    return Settings(database_url=database[0], data_dir=tmp_path, secret_key="test-" + uuid.uuid4().hex,
                    lock_hours_before_departure=24, data_key_file=data_keys.path,
                    audit_key_file=audit_key.path).resolved()


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(settings)
    app.state.sessionmaker = session_factory
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client
    app.state.engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran on each database, so CI shows the PostgreSQL half ran."""
    counts = {db: {"passed": 0, "failed": 0} for db in DATABASES}
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call":
                continue
            for db in DATABASES:
                if f"[{db}" in report.nodeid or f"-{db}]" in report.nodeid or f"-{db}-" in report.nodeid:
                    counts[db][outcome] += 1
    for db, c in counts.items():
        terminalreporter.write_line(f"tests on {db}: {c['passed']} passed, {c['failed']} failed")
