"""A real server on a free port over a fresh migrated database, and headless Debian Chromium to drive it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import httpx2
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from retorno.audit.checkpoints import sign_audit_commits
from retorno.audit.signing import signing_key
from retorno.config import Settings
from retorno.datakeys import keyring_for
from retorno.db import clock_at, make_engine, use_data_keys
from retorno.migrations import upgrade
from retorno.web.app import create_app
from tests.conftest import PG_ADMIN_URL
from tests.databases import private_name
from tests.factories import PASSWORD, Api, World, build_world, ok

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path("test-output/screenshots")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fresh_database(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'browser.sqlite3'}"
    # A database of its own, apart from the one the rolled-back tests of this worker use.
    name = private_name("retorno_browser")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


class ServerClock:
    """The served app's clock: the real one, or a moment a test sets (what `clock_at` does in-process).

    The server runs in another thread, so a test cannot set its context; the app is wrapped instead.
    """

    def __init__(self) -> None:
        self.moment: datetime | None = None

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        previous, self.moment = self.moment, moment
        try:
            yield
        finally:
            self.moment = previous

    def wrap(self, app: Any) -> Any:
        async def clocked(scope: Any, receive: Any, send: Any) -> None:
            if self.moment is None:
                await app(scope, receive, send)
                return
            with clock_at(self.moment):
                await app(scope, receive, send)

        return clocked


class Served(str):
    """The served app's base URL; `database_url` is the database behind it, for a test's own set-up;
    `clock` sets the time the app lives in."""

    database_url: str
    clock: ServerClock


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The whole app served by uvicorn in a thread; the module's tests share its database, in order."""
    tmp = tmp_path_factory.mktemp("browser")
    url = _fresh_database(request.param, tmp)
    upgrade(url)
    settings = Settings(database_url=url, data_dir=tmp, secret_key="browser-tests-" + "k" * 32).resolved()
    engine = make_engine(url)
    # The world's records are signed with the key the served app then uses, and its tokens digested with its data
    # keys, as on a real installation.
    sign_audit_commits(engine, signing_key(settings))
    use_data_keys(engine, keyring_for(settings))
    with Session(engine) as session:
        build_world(session)
        session.commit()
    engine.dispose()
    app = create_app(settings)
    port = _free_port()
    clock = ServerClock()
    server = uvicorn.Server(
        uvicorn.Config(clock.wrap(app), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    served = Served(f"http://127.0.0.1:{port}")
    served.database_url = url
    served.clock = clock
    yield served
    server.should_exit = True
    thread.join(10)
    app.state.engine.dispose()
    if request.param == "postgresql":
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        # Never skipped: the browser tests are part of every run (scripts/setup dev installs it).
        pytest.fail("Debian's chromium is not installed: run scripts/setup dev (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, server: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test; its last page is saved as a screenshot named after the test."""
    context = browser.new_context(
        base_url=server, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    opened = context.new_page()
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.replace("[", "-").replace("]", "")
    opened.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url("**/*")


@contextmanager
def served_api(server: Served, users: tuple[str, ...]) -> Iterator[Api]:
    """The REST API of the served app, with a bearer token per user, living in the served app's time."""
    with httpx2.Client(base_url=server, timeout=60) as http:
        tokens = {
            user: ok(http.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD}), 201)["token"]
            for user in users
        }
        yield Api(cast(TestClient, http), World(tokens), clock=server.clock.at)
