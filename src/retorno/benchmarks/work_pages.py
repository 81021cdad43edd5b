"""Page speed: server time of the main pages over a database holding many cases (`retorno bench web`).

The database is filled in bulk through SQLAlchemy Core (a benchmark fixture, not an import:
no audit records per case); the pages are then requested in-process, as a logged-in official
of each side, and timed from request to response.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.service import create_agency, create_user
from retorno.benchmarks.database import fresh_database, peak_rss_mb
from retorno.config import Settings
from retorno.datakeys import keyring_for
from retorno.db import make_engine, use_data_keys, utcnow
from retorno.synthetic.work import fill_cases, fill_work
from retorno.web.app import create_app

PASSWORD = "bench password 1"
def _people(session: Session) -> dict[str, User]:
    for code, name, kind, country in (
        ("MX-INM", "Instituto Nacional de Migración", "sending_authority", "MEX"),
        ("VE-SAIME", "SAIME", "receiving_authority", "VEN"),
        ("MON-DDP", "Defensoría del Pueblo", "monitor", "VEN"),
        ("CONVIASA", "Conviasa", "carrier", "VEN"),
        ("VE-VUELTA", "Plan Vuelta a la Patria", "reintegration_operator", "VEN"),
    ):
        create_agency(session, None, code=code, name=name, kind=kind, country=country,
                      carrier_code="V0" if kind == "carrier" else None)
    return {
        username: create_user(
            session,
            None,
            username=username,
            full_name=username,
            agency_code=agency,
            role=username.split(".")[1],
            password=PASSWORD,
        )
        for username, agency in (
            ("inm.officer", "MX-INM"),
            ("inm.supervisor", "MX-INM"),
            ("saime.officer", "VE-SAIME"),
            ("monitor.viewer", "MON-DDP"),
            ("carrier.officer", "CONVIASA"),
            ("op.officer", "VE-VUELTA"),
        )
    }


def fill(session: Session, count: int, *, seed: int = 1) -> dict[str, Any]:
    """Insert `count` cases of one sending agency in bulk, a verification queue and the work of every other
    queue (`synthetic.work`); returns sample keys."""
    users = _people(session)
    rng = random.Random(seed)
    sample = fill_cases(session, users["inm.officer"], users["saime.officer"], count, rng)
    fill_work(session, users, rng, utcnow())
    return sample


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _time_pages(client: TestClient, paths: dict[str, str], repeat: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for label, path in paths.items():
        client.get(path)  # warm caches and the connection pool
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        timings[label] = samples
    return timings


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


def run(settings: Settings, cases: int = 100_000, repeat: int = 30, seed: int = 1) -> dict[str, Any]:
    """Fill a fresh database with `cases` cases, then time each main page `repeat` times."""
    started = time.perf_counter()
    url, backend = fresh_database(settings)
    settings = dataclasses.replace(settings, database_url=url)
    engine = make_engine(url)
    use_data_keys(engine, keyring_for(settings))
    with Session(engine) as session:
        sample = fill(session, cases, seed=seed)
        session.commit()
    if engine.dialect.name == "postgresql":
        # What autovacuum does in production soon after a bulk load: give the planner statistics.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    fill_seconds = time.perf_counter() - started
    app = create_app(settings)
    timings: dict[str, list[float]] = {}
    pages = {
        "inm.officer": {
            "inbox": "/",
            "dashboard": "/dashboard",
            "case_list": "/cases",
            "case_list_page_900": "/cases?page=900",
            "search_name": "/cases?q=jose%20pena",
            "search_cedula": f"/cases?q={sample['national_id']}",
            "search_state": "/cases?state=ready&q=munoz",
            # The case list worked as issue 14 asks: filters over several fields, sorted by a column.
            "case_list_filtered": "/cases?state=ready&held=tapachula&days_min=30&sort=-detained",
            "case_list_filtered_page_5": "/cases?held=tapachula&days_min=30&sort=-detained&page=5",
            "case_list_open_concerns": "/cases?concern=open&sort=-detained",
            "case_list_verification_by_name": "/cases?verification=pending&sort=name",
            "case_page": f"/cases/{sample['case_reference']}",
            "flights": "/flights",
        },
        "inm.supervisor": {"inbox_sending_supervisor": "/", "inbox_api": "/api/v1/inbox"},
        "saime.officer": {"inbox_receiving": "/", "receiving_dashboard": "/dashboard",
                          "verification_queue": "/verification"},
        "carrier.officer": {"inbox_carrier": "/"},
        "op.officer": {"inbox_operator": "/"},
        "monitor.viewer": {"monitor": "/monitor"},
    }
    for username, paths in pages.items():
        with TestClient(app) as client:
            _login(client, username)
            timings.update(_time_pages(client, paths, repeat))
    app.state.engine.dispose()
    everything = [t for samples in timings.values() for t in samples]
    return {
        "benchmark": "web",
        "database": backend,
        "cases": cases,
        "requests_per_page": repeat,
        "fill_seconds": round(fill_seconds, 1),
        "pages": {label: _summary(s) for label, s in timings.items()},
        "overall": _summary(everything),
        "target_p95_ms": 200,
        "peak_rss_mb": peak_rss_mb(),
    }
