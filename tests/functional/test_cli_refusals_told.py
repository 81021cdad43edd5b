"""The command line tells a refusal as the pages and the API do (red team, SPEC.md 4.6): which protection concern
stops a person is for the officials who read screenings; the receiving side's officer acting at the command line
was told 'pending asylum claim' where the API and the pages say only that the screening is not cleared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from retorno.cli import flights as flights_cli
from retorno.cli.common import err_console
from retorno.cli.main import app
from retorno.config import Settings
from tests.factories import Api, World
from tests.functional.test_bulk_actions import _proposed_manifest, _raise_concern_behind_the_guard
from tests.functional.test_refusals_told import NAMED


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, session_factory: sessionmaker[Session],
        database: tuple[str, object, World]) -> Iterator[Callable[..., Result]]:
    """Flight commands run in the test's own transaction (each command's commit a savepoint of it)."""

    @contextmanager
    def unit_of_work(_config: Settings) -> Iterator[Session]:
        with session_factory() as session:
            yield session
            session.commit()

    monkeypatch.setattr(flights_cli, "unit_of_work", unit_of_work)
    monkeypatch.setenv("RETORNO_DATA_DIR", str(tmp_path))
    width = err_console.width
    err_console.width = 400
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, [*args, "--database-url", database[0]])

    yield run
    err_console.width = width


def test_the_receiving_sides_officer_is_not_told_the_concern_at_the_command_line(
        client: TestClient, world: World, session_factory: sessionmaker[Session],
        cli: Callable[..., Result]) -> None:
    api = Api(client, world)
    flight, refs = _proposed_manifest(api, 2)
    blocked = refs[1]
    _raise_concern_behind_the_guard(session_factory, world, blocked)
    receiving = cli("flights", "decide", flight, blocked, "--approve", "--as", "saime.officer")
    assert receiving.exit_code == 2, receiving.output
    said = " ".join(receiving.output.split())
    assert "safeguard.non_refoulement" in said and blocked in said
    assert "screening is not cleared" in said and not any(word in said for word in NAMED), said
    # The commit-time guard's refusal about another passenger is told the same way.
    other = cli("flights", "decide", flight, refs[0], "--approve", "--as", "saime.officer")
    assert other.exit_code == 2 and blocked in other.output, other.output
    assert not any(word in other.output for word in NAMED), other.output
    # The sending side's officer, who reads screenings, is told that a concern is open, not which (red team round 35,
    # F2: that is the screening's to tell, an audited read).
    sending = cli("flights", "add", flight, blocked, "--as", "inm.officer")
    assert sending.exit_code == 2 and "protection concern is not resolved" in sending.output, sending.output
    assert not any(word in sending.output for word in NAMED), sending.output
