"""`retorno bench import`: validate and import a generated case list into a fresh database."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from retorno.agencies.models import User
from retorno.agencies.service import create_agency, create_user
from retorno.benchmarks import fresh_database, peak_rss_mb
from retorno.cases.models import Case
from retorno.cases.template import synthetic_case_file
from retorno.config import Settings
from retorno.db import make_engine, make_sessionmaker, transaction
from retorno.travel.imports import import_cases


def run(settings: Settings, *, rows: int = 100_000, seed: int = 1, bad_row: bool = False) -> dict[str, Any]:
    url, backend = fresh_database(settings)
    data = synthetic_case_file(rows, seed=seed, bad_row=rows // 2 if bad_row else None)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        create_agency(session, None, code="MX-INM", name="INM", kind="sending_authority", country="MEX")
        create_user(session, None, username="bench", full_name="bench", agency_code="MX-INM", role="officer",
                    password="bench-password")
    started = time.perf_counter()
    with transaction(factory) as session:
        actor = session.execute(sa.select(User).where(User.username == "bench")).scalar_one()
        outcome = import_cases(session, actor, data, "bench.csv")
    seconds = time.perf_counter() - started
    with factory() as session:
        stored = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    engine.dispose()
    errors = [p for p in outcome.report.problems if p.severity == "error"]
    return {
        "rows": rows, "seconds": round(seconds, 3), "rows_per_second": round(rows / seconds),
        "peak_rss_mb": peak_rss_mb(), "database": backend, "imported": outcome.ok, "created": outcome.created,
        "cases_stored": stored, "error_rows": sorted({p.row_number for p in errors}),
        "possible_duplicates": len(outcome.report.duplicates),
    }
