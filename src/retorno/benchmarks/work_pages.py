"""Page speed: server time of the main pages over a database holding many cases (`retorno bench pages`).

The database is filled in bulk through SQLAlchemy Core (a benchmark fixture, not an import:
no audit records per case); the pages are then requested in-process, as a logged-in official
of each side, and timed from request to response, with the time the database took for the
request's statements and how many statements it sent (a page that sends one per row shows here).
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import time
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.service import create_agency, create_user
from retorno.benchmarks.database import fresh_database, peak_rss_mb
from retorno.cases.models import Case
from retorno.config import Settings
from retorno.datakeys import keyring_for
from retorno.db import make_engine, refresh_statistics, use_data_keys, utcnow
from retorno.migrations import upgrade
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
            ("saime.supervisor", "VE-SAIME"),
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


# Every column the case list sorts by (`reporting.caselist.SORTS`), timed ascending and descending.
SORTED_COLUMNS = ("registered", "reference", "name", "birth_date", "national_id", "state", "held_at", "detained",
                  "household", "assigned")


class _Statements:
    """The SQL statements one request sends and the time the database took for them (from the driver's
    call to its answer): server time that the rendering of the page and the machine's load touch less."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count, self.ms, self._started = 0, 0.0, 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def _after(self, *_: Any) -> None:
        self.count += 1
        self.ms += (time.perf_counter() - self._started) * 1000

    def reset(self) -> None:
        self.count, self.ms = 0, 0.0


@dataclasses.dataclass
class _Samples:
    wall_ms: list[float] = dataclasses.field(default_factory=list)
    sql_ms: list[float] = dataclasses.field(default_factory=list)
    statements: list[int] = dataclasses.field(default_factory=list)


def _time_pages(client: TestClient, statements: _Statements, paths: dict[str, str], repeat: int
                ) -> dict[str, _Samples]:
    timings: dict[str, _Samples] = {}
    for label, path in paths.items():
        client.get(path)  # warm caches and the connection pool
        samples = _Samples()
        for _ in range(repeat):
            statements.reset()
            started = time.perf_counter()
            response = client.get(path)
            samples.wall_ms.append((time.perf_counter() - started) * 1000)
            samples.sql_ms.append(statements.ms)
            samples.statements.append(statements.count)
            assert response.status_code == 200, (path, response.status_code)
        timings[label] = samples
    return timings


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered), 1), "p95_ms": round(_percentile(ordered, 0.95), 1)}


def _page_figures(samples: _Samples) -> dict[str, float]:
    sql = sorted(samples.sql_ms)
    return {**_summary(samples.wall_ms), "min_ms": round(min(samples.wall_ms), 1),
            "sql_median_ms": round(statistics.median(sql), 1), "sql_p95_ms": round(_percentile(sql, 0.95), 1),
            "statements": max(samples.statements)}


def pages_of(sample: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The pages timed, by the user who opens them: every role's queue (page and API), the dashboards and
    the case list filtered each way issue 14 asks (state, open concern, days detained, free text, a filter
    without a state, and sorted by each column both ways)."""
    sorted_pages = {f"case_list_sorted_{'desc_' if down else ''}{column}": f"/cases?sort={'-' if down else ''}{column}"
                    for column in SORTED_COLUMNS for down in (False, True)}
    return {
        "inm.officer": {
            "inbox": "/",
            "inbox_api_sending_officer": "/api/v1/inbox",
            "dashboard": "/dashboard",
            "case_list": "/cases",
            "case_list_page_900": "/cases?page=900",
            "search_name": "/cases?q=jose%20pena",
            "search_cedula": f"/cases?q={sample['national_id']}",
            "search_state": "/cases?state=ready&q=munoz",
            # The case list worked as issue 14 asks: filters over several fields, sorted by a column.
            "case_list_filtered": "/cases?state=ready&held=tapachula&days_min=30&sort=-detained",
            "case_list_without_state": "/cases?held=tapachula&days_min=30&sort=-detained",
            "case_list_filtered_page_5": "/cases?held=tapachula&days_min=30&sort=-detained&page=5",
            "case_list_days_detained": "/cases?days_min=100&days_max=200",
            "case_list_open_concerns": "/cases?concern=open&sort=-detained",
            "case_list_no_concern_by_name": "/cases?concern=none&sort=name",
            "case_list_verification_by_name": "/cases?verification=pending&sort=name",
            **sorted_pages,
            "case_page": f"/cases/{sample['case_reference']}",
            "flights": "/flights",
        },
        "inm.supervisor": {"inbox_sending_supervisor": "/", "inbox_api": "/api/v1/inbox",
                           "case_list_open_concerns_supervisor": "/cases?concern=open",
                           "case_page_supervisor": f"/cases/{sample['case_reference']}"},
        "saime.officer": {"inbox_receiving": "/", "inbox_api_receiving": "/api/v1/inbox",
                          "receiving_dashboard": "/dashboard", "verification_queue": "/verification",
                          "case_list_receiving": "/cases?sort=name"},
        "saime.supervisor": {"inbox_receiving_supervisor": "/"},
        "carrier.officer": {"inbox_carrier": "/", "inbox_api_carrier": "/api/v1/inbox"},
        "op.officer": {"inbox_operator": "/", "inbox_api_operator": "/api/v1/inbox"},
        "monitor.viewer": {"inbox_monitor": "/", "monitor": "/monitor"},
    }


def _filled(session: Session, cases: int) -> dict[str, Any] | None:
    """The sample keys of an earlier fill of `cases` cases in this database, or None if it holds another."""
    if session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() != cases or \
            session.execute(sa.select(User.id).where(User.username == "saime.supervisor")).first() is None:
        return None
    def reference(agency_reference: str) -> Any:
        return session.execute(sa.select(Case.reference, Case.national_id)
                               .where(Case.agency_reference == agency_reference)).one()
    return {"case_reference": reference(f"B-{cases // 2 - 1}").reference,
            "national_id": reference(f"B-{cases // 3}").national_id}


def run(settings: Settings, cases: int = 100_000, repeat: int = 30, seed: int = 1, reuse: bool = False
        ) -> dict[str, Any]:
    """Fill a fresh database with `cases` cases, then time each main page `repeat` times.

    With `reuse`, the database given is not emptied: it must hold what an earlier run filled with as many
    cases (brought to the latest migration first), and only the pages are timed.
    """
    started = time.perf_counter()
    if reuse:
        url, backend = settings.database_url, make_url(settings.database_url).get_backend_name()
        upgrade(url)
    else:
        url, backend = fresh_database(settings)
    settings = dataclasses.replace(settings, database_url=url)
    engine = make_engine(url)
    use_data_keys(engine, keyring_for(settings))
    with Session(engine) as session:
        found = _filled(session, cases) if reuse else None
    if reuse and found is None:
        engine.dispose()
        raise ValueError(f"the database does not hold an earlier fill of {cases} cases: run without reuse")
    with Session(engine) as session:
        sample = found or fill(session, cases, seed=seed)
        session.commit()
        in_database = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    if engine.dialect.name == "postgresql":
        # What autovacuum does in production soon after a bulk load: give the planner statistics.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    # What `retorno serve` does on SQLite before it starts serving.
    refresh_statistics(url)
    fill_seconds = time.perf_counter() - started
    app = create_app(settings)
    statements = _Statements(app.state.engine)
    timings: dict[str, _Samples] = {}
    for username, paths in pages_of(sample).items():
        with TestClient(app) as client:
            _login(client, username)
            timings.update(_time_pages(client, statements, paths, repeat))
    app.state.engine.dispose()
    target = 100 if cases >= 500_000 else 200  # issue 17 item 8 at national scale, issue 14 at 100,000
    pages = {label: _page_figures(s) for label, s in timings.items()}
    return {
        "benchmark": "pages",
        "database": backend,
        "cases": cases,
        "cases_in_database": in_database,
        "requests_per_page": repeat,
        "reused": reuse,
        # The SQLite file filled (a fresh one in a temporary folder), for `--reuse --database-url sqlite:///...`.
        **({"database_file": make_url(url).database} if backend == "sqlite" else {}),
        # Filling (or with `reuse`, checking and migrating) the database, and VACUUM ANALYZE on PostgreSQL.
        "fill_seconds": round(fill_seconds, 1),
        "pages": pages,
        "overall": _summary([t for s in timings.values() for t in s.wall_ms]),
        "target_p95_ms": target,
        "over_target": sorted(label for label, figures in pages.items() if figures["p95_ms"] > target),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": peak_rss_mb(),
    }
