"""SQLite's planner statistics (`db.refresh_statistics`, run by `retorno serve`): made when missing or drifted."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.benchmarks.work_pages import _people
from retorno.db import make_engine, refresh_statistics
from retorno.migrations import upgrade
from retorno.synthetic.work import fill_cases
from tests.conftest import DATABASES
from tests.scratch import empty_database

PAGE = "SELECT id FROM cases WHERE agency_id IN (1) ORDER BY reference DESC LIMIT 50"


COLUMNS = ("given_names, first_surname, second_surname, search_name, sex, birth_date, nationality, held_at, "
           "detained_since, language, state, state_changed_at, registered_at")


def _more_cases(url: str, count: int, tag: str) -> None:
    """`count` more cases, copies of the first ones under new references."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            f"INSERT INTO cases (reference, agency_id, agency_reference, {COLUMNS}) "
            f"SELECT reference || :tag, agency_id, agency_reference || :tag, {COLUMNS} FROM cases "
            "WHERE reference LIKE 'ME-%' ORDER BY id LIMIT :count"), {"tag": tag, "count": count})
    engine.dispose()


@pytest.mark.parametrize("kind", DATABASES)
def test_statistics_are_made_when_missing_and_again_when_the_cases_grew_by_a_quarter(kind: str,
                                                                                      tmp_path: Path) -> None:
    with empty_database(kind, tmp_path, "statistics") as url:
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            users = _people(session)
            fill_cases(session, users["inm.officer"], users["saime.officer"], 3000, random.Random(1))
            session.commit()
        engine.dispose()
        if kind == "postgresql":
            # Autovacuum keeps PostgreSQL's: nothing is run.
            assert refresh_statistics(url) is False
            return
        engine = make_engine(url)
        with engine.connect() as connection:
            # Without statistics the agency's index is taken for selective: every case is sorted for a page.
            assert "TEMP B-TREE" in " ".join(r[-1] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {PAGE}"))
        engine.dispose()
        assert refresh_statistics(url) is True
        with engine.connect() as connection:  # a new connection reads the statistics
            plan = " ".join(r[-1] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {PAGE}"))
            assert "TEMP B-TREE" not in plan, plan
        engine.dispose()
        assert refresh_statistics(url) is False  # nothing moved
        _more_cases(url, 500, "-b")
        assert refresh_statistics(url) is False  # a sixth more: within a quarter
        _more_cases(url, 500, "-c")
        assert refresh_statistics(url) is True  # a third more than when last counted
