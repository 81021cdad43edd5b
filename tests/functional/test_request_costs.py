"""What a request costs the service, where `retorno bench load` found it paying twice or for nothing (issue 17 item 2).

Each test pins one saving, so that it does not come back unnoticed: the bearer token looked up once per request,
the commit-time guard reading the columns of documents and household members rather than loading their records,
and the served worker's long-lived objects set aside from the cycle collector. The rules the guard decides on are
tested where they are made (tests/functional/test_invariant_guard.py and the others); here only that they are
still decided on the same facts.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import case_fingerprint, traveller_facts
from retorno.cases.models import Case
from retorno.documents.models import TravelDocument
from retorno.flights.models import Flight
from retorno.travel.invariants import manifest_violations
from retorno.web.app import app_from_env
from tests.factories import Api, World, ok


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)


@contextmanager
def _loaded(entity: type[Any]) -> Iterator[list[Any]]:
    """The records of `entity` the ORM builds from rows meanwhile."""
    built: list[Any] = []

    def note(target: Any, _context: Any) -> None:
        built.append(target)

    sa.event.listen(entity, "load", note)
    try:
        yield built
    finally:
        sa.event.remove(entity, "load", note)


def test_a_bearer_token_is_looked_up_once_per_request(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register()["reference"]
    with _statements() as seen:
        ok(api.get("inm.officer", f"/api/v1/cases/{case}"))
    assert sum("api_tokens" in statement for statement in seen) == 1
    # ... and a revoked or unknown token is still refused.
    answer = client.get(f"/api/v1/cases/{case}", headers={"Authorization": "Bearer rt_unknown"})
    assert answer.status_code == 401


def _manifest(client: TestClient, world: World, session: Session) -> tuple[Flight, list[Case]]:
    """A manifest with a household of two (each with a passport) and a person alone."""
    api = Api(client, world)
    head = api.ready_case(agency_reference="INM-RC-1", household_reference="HH-RC-1")
    member = api.ready_case(agency_reference="INM-RC-2", household_reference="HH-RC-1", given_names="ANA")
    alone = api.ready_case(agency_reference="INM-RC-3")
    flight = api.flight()["reference"]
    refs = [head["reference"], member["reference"], alone["reference"]]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    session.expire_all()
    cases = list(session.execute(sa.select(Case).where(Case.reference.in_(refs))).scalars())
    return session.execute(sa.select(Flight).where(Flight.reference == flight)).scalar_one(), cases


def test_the_guard_reads_documents_and_household_members_without_loading_their_records(
        client: TestClient, world: World, session: Session) -> None:
    flight, cases = _manifest(client, world, session)
    facts = traveller_facts(session, cases)
    assert all(f.document_valid and f.document_number for f in facts.values())
    assert manifest_violations(session, flight, 12) == []
    session.expunge_all()
    flight = session.execute(sa.select(Flight).where(Flight.id == flight.id)).scalar_one()
    with _loaded(TravelDocument) as documents, _loaded(Case) as loaded:
        assert manifest_violations(session, flight, 12) == []
    assert documents == []
    # The passengers' own records, once each.
    assert sorted(c.id for c in loaded) == sorted(c.id for c in cases)
    # A document counts only for the identity it was checked against, read from its columns as from its record.
    changed = session.get(Case, cases[0].id)
    assert changed is not None
    changed.given_names = "OTRO NOMBRE"
    again = traveller_facts(session, [changed])[changed.id]
    assert not again.document_valid and again.document_number is None
    assert any(v.rule for v in manifest_violations(session, flight, 12))


def test_a_fingerprint_follows_the_identity_it_is_made_of(client: TestClient, world: World, session: Session) -> None:
    _, cases = _manifest(client, world, session)
    case = cases[0]
    before = case_fingerprint(case)
    assert case_fingerprint(case) == before
    case.birth_date = case.birth_date.replace(year=case.birth_date.year - 1)
    moved = case_fingerprint(case)
    assert moved != before
    case.birth_date = case.birth_date.replace(year=case.birth_date.year + 1)
    assert case_fingerprint(case) == before
    case.national_id = None
    assert case_fingerprint(case) not in (before, moved)


def test_a_served_worker_sets_its_long_lived_objects_aside_from_the_cycle_collector(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETORNO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RETORNO_DATABASE_URL", f"sqlite:///{tmp_path / 'retorno.db'}")
    gc.unfreeze()
    try:
        app_from_env()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_served_worker_reads_its_reference_tables_before_its_first_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's first PAXLST read the airports' table (130 ms) and Unicode's look-alike letters: that request took
    330 ms against 30-40 ms after, and was the p95 of its kind in `retorno bench load`."""
    from retorno import names
    from retorno.flights import airports
    monkeypatch.setenv("RETORNO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RETORNO_DATABASE_URL", f"sqlite:///{tmp_path / 'retorno.db'}")
    airports._airports_by_iata.cache_clear()
    names._lookalikes.cache_clear()
    gc.unfreeze()
    try:
        app_from_env()
    finally:
        gc.unfreeze()
    assert airports._airports_by_iata.cache_info().currsize == 1
    assert names._lookalikes.cache_info().currsize == 1


def test_a_served_worker_runs_as_many_requests_at_once_as_its_threads_are_set_to(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RETORNO_WORKER_THREADS (`Settings.worker_threads`): the requests one worker runs at once, its others waiting in
    its queue (issue 17's load: forty threads of a worker waited for the interpreter and the audit head)."""
    import anyio.to_thread
    from fastapi.testclient import TestClient
    monkeypatch.setenv("RETORNO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RETORNO_DATABASE_URL", f"sqlite:///{tmp_path / 'retorno.db'}")
    monkeypatch.setenv("RETORNO_WORKER_THREADS", "3")
    gc.unfreeze()
    try:
        app = app_from_env()
    finally:
        gc.unfreeze()
    with TestClient(app) as client:
        assert client.portal is not None
        assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 3
        assert client.get("/healthz").status_code == 200
