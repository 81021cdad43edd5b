"""A possible duplicate's flag is numbered among its case's own flags, 1 for the oldest (red team round 3, L3): the
numbers were one sequence across the whole system, so an officer reading `"flag": 104` counted every agency's flags,
both countries', and watched the count grow as others registered. A supervisor still names a flag by its number in a
decision, at every door: the API, the case page's form and `retorno cases decide-duplicate`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from retorno.audit.models import AuditRecord
from retorno.cli import cases as cases_cli
from retorno.cli.main import app
from retorno.config import Settings
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

REASON = "Huellas y fotografía distintas: son dos personas."


def _person(given: str, first: str, second: str, born: str) -> dict[str, Any]:
    return {"national_id": None, "given_names": given, "first_surname": first, "second_surname": second,
            "birth_date": born}


def _flags(api: Api, user: str, reference: str) -> list[dict[str, Any]]:
    return list(ok(api.get(user, f"/api/v1/cases/{reference}/possible-duplicates")))


def _pair(api: Api, person: dict[str, Any]) -> str:
    """A record of `person` at INM and one at US-ICE with the surnames swapped: INM's record's reference."""
    ours = str(api.register(**person)["reference"])
    api.register("ice.officer", **{**person, "first_surname": person["second_surname"],
                                   "second_surname": person["first_surname"]})
    return ours


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, session_factory: sessionmaker[Session],
        database: tuple[str, object, World]) -> Iterator[Callable[..., Result]]:
    """Case commands run in the test's own transaction."""

    @contextmanager
    def unit_of_work(_config: Settings) -> Iterator[Session]:
        with session_factory() as session:
            yield session
            session.commit()

    monkeypatch.setattr(cases_cli, "unit_of_work", unit_of_work)
    monkeypatch.setenv("RETORNO_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, [*args, "--database-url", database[0]])


def test_flags_are_numbered_among_the_cases_own(client: TestClient, world: World,
                                                session_factory: sessionmaker[Session],
                                                cli: Callable[..., Result]) -> None:
    api = Api(client, world)
    # Other people's flags first, at another agency: they are counted in no number of INM's cases.
    for n, born in enumerate(("1971-03-04", "1972-05-06", "1973-07-08")):
        _pair(api, _person("Carmen Luisa", f"Ortiz{n}", "Mejía", born))
    rosa = _pair(api, _person("Rosa Elena", "Peña", "Rodríguez", "1990-05-17"))
    # A second record of Rosa at US-ICE, the given names the other way round: Rosa's second flag.
    api.register("ice.officer", **_person("Elena Rosa", "Peña", "Rodríguez", "1990-05-17"))
    flags = _flags(api, "inm.officer", rosa)
    assert [f["flag"] for f in flags] == [1, 2], flags
    assert [f["other"] for f in flags] == ["another agency", "another agency"]
    # The API: the supervisor names the second flag by its number (the same person: another country's record is two
    # people only once both agencies say so, `test_possible_duplicate_hold`).
    decided = api.post("inm.supervisor", f"/api/v1/cases/{rosa}/possible-duplicates/2/decision",
                       {"decision": "same_person", "reason": REASON})
    assert decided.status_code == 201, decided.text
    assert [f["decision"] for f in _flags(api, "inm.officer", rosa)] == [None, "same_person"]
    # A number beyond the case's own flags names nothing.
    assert api.post("inm.supervisor", f"/api/v1/cases/{rosa}/possible-duplicates/3/decision",
                    {"decision": "different_people", "reason": REASON}).status_code == 404
    with session_factory() as session:
        after = session.execute(sa.select(AuditRecord.after).where(AuditRecord.action == "duplicate.decide")
                                ).scalar_one()
    assert after is not None and after["flag"] == 2
    # The page's form names the flag by its number too.
    luisa = _pair(api, _person("Luisa Fernanda", "Gómez", "Díaz", "1984-02-23"))
    assert [f["flag"] for f in _flags(api, "inm.officer", luisa)] == [1]
    assert login(client, "inm.supervisor").status_code == 303
    page = client.get(f"/cases/{luisa}")
    assert f'/cases/{luisa}/possible-duplicates/1/decision"' in page.text
    sent = post_form(client, f"/cases/{luisa}/possible-duplicates/1/decision",
                     {"decision": "same_person", "reason": REASON}, page=f"/cases/{luisa}")
    assert sent.status_code == 303, sent.text
    assert [f["decision"] for f in _flags(api, "inm.officer", luisa)] == ["same_person"]
    # And the command line.
    marta = _pair(api, _person("Marta Isabel", "Rojas", "Vivas", "1979-11-12"))
    done = cli("cases", "decide-duplicate", marta, "1", "--decision", "same_person", "--reason", REASON,
               "--as", "inm.supervisor")
    assert done.exit_code == 0, done.output
    assert [f["decision"] for f in _flags(api, "inm.officer", marta)] == ["same_person"]
