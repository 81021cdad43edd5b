"""The case list's pages in the order one sorted statement gives, for the sorts read as two runs (SQLite and
PostgreSQL): a column that can be empty puts its empty values last either way, past every filled one."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.cases.facts import mark_open_concerns
from retorno.cases.models import Case, Household
from retorno.reporting import caselist
from retorno.screening.models import Screening
from retorno.synthetic.work import fill_cases
from tests.factories import World

PAGE = 7


@pytest.mark.parametrize("sort", ["national_id", "-national_id", "household", "-household", "assigned",
                                  "-assigned"])
def test_every_page_of_a_sort_by_a_column_that_can_be_empty_is_the_sorted_statement_s(
        session: Session, world: World, sort: str) -> None:
    officer, supervisor = world.users["inm.officer"], world.users["inm.supervisor"]
    fill_cases(session, officer, world.users["saime.officer"], 60, random.Random(3))
    ids = session.execute(sa.select(Case.id).where(Case.agency_id == officer.agency_id, Case.reference.like("ME-%"))
                          .order_by(Case.id)).scalars().all()
    households = [session.execute(sa.insert(Household).values(agency_id=officer.agency_id, reference=f"ORD-{n}")
                                  .returning(Household.id)).scalar_one() for n in (3, 1, 2)]
    for n, case_id in enumerate(ids):
        # Some filled and some empty, not in id order; filled values repeat, so the id breaks ties.
        session.execute(sa.update(Case).where(Case.id == case_id).values(
            national_id=None if n % 3 == 0 else f"V{(n * 7) % 11:03d}",
            household_id=households[n % 3] if n % 4 == 1 else None,
            assigned_to=(officer.id, supervisor.id)[n % 2] if n % 5 < 2 else None))
    session.flush()
    wanted = caselist.CaseFilter(text=None)
    whole = caselist.matching_ids(session, officer, wanted, sort=sort)  # one statement, NULLS LAST
    assert len(whole) >= len(ids) and len(whole) < len(ids) + 40
    pages = [[c.id for c in caselist.list_cases(session, officer, wanted, sort=sort, limit=PAGE, offset=start).cases]
             for start in range(0, len(whole) + PAGE, PAGE)]
    assert [i for page in pages for i in page] == whole
    assert all(len(page) == PAGE for page in pages[:len(whole) // PAGE]) and pages[-1] == []
    empty = {"national_id": Case.national_id, "household": Case.household_id, "assigned": Case.assigned_to}[
        sort.removeprefix("-")]
    blank = set(session.execute(sa.select(Case.id).where(Case.id.in_(whole), empty.is_(None))).scalars())
    assert 0 < len(blank) < len(whole)
    assert whole[-len(blank):] == sorted(blank, reverse=sort.startswith("-"))


@pytest.mark.parametrize("sort", ["-detained", "name", "-reference"])
def test_the_open_concern_list_counts_and_pages_as_the_filter_finds_them(
        session: Session, world: World, sort: str) -> None:
    officer = world.users["inm.officer"]
    fill_cases(session, officer, world.users["saime.officer"], 40, random.Random(5))
    ids = session.execute(sa.select(Case.id).where(Case.agency_id == officer.agency_id, Case.reference.like("ME-%"))
                          .order_by(Case.id)).scalars().all()
    for n, case_id in enumerate(ids[:17]):
        session.execute(sa.insert(Screening).values(case_id=case_id, screened_by=officer.id, medical_escorts=0,
                                                    concerns=["pending_asylum_claim"] if n % 5 else []))
    # Written without the ORM's unit of work, as a bulk write is: the cases' markers follow by hand.
    mark_open_concerns(session.connection(), ids[:17])
    wanted = caselist.CaseFilter(concern="open")
    whole = caselist.matching_ids(session, officer, wanted, sort=sort)
    assert len(whole) == 13
    for start in (0, 7, 14, 21):
        page = caselist.list_cases(session, officer, wanted, sort=sort, limit=7, offset=start)
        assert ([c.id for c in page.cases], page.total) == (whole[start:start + 7], 13), start
    none = caselist.list_cases(session, officer, caselist.CaseFilter(concern="open", text="nadie así"), sort=sort)
    assert (none.cases, none.total) == ([], 0)


@pytest.mark.parametrize("sort", ["name", "-name"])
def test_the_list_sorted_by_name_either_way_reads_an_index_in_that_order(world: World, session: Session,
                                                                         sort: str) -> None:
    """Cases without a second surname come last both ways; on PostgreSQL an index of its own gives the descending
    order (reading the ascending one backwards puts them first), on SQLite the ascending one read backwards."""
    ordered, _ = caselist._order(world.bind(session).users["inm.officer"], sort)
    statement = sa.select(Case.id).order_by(*ordered).limit(50)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # The few test rows would be sorted in memory: asked not to sort, the planner shows which index has the order.
        connection.exec_driver_sql("SET LOCAL enable_sort = off")
        connection.exec_driver_sql("SET LOCAL enable_incremental_sort = off")
        plan = "\n".join(connection.exec_driver_sql(
            "EXPLAIN " + str(statement.compile(connection, compile_kwargs={"literal_binds": True}))).scalars())
        connection.exec_driver_sql("RESET enable_sort")
        connection.exec_driver_sql("RESET enable_incremental_sort")
        assert ("ix_cases_name_desc_id" if sort == "-name" else "ix_cases_name_id") in plan, plan
        assert "Sort" not in plan, plan
    else:
        plan = " ".join(row[3] for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(statement.compile(connection, compile_kwargs={"literal_binds": True}))))
        assert "ix_cases_name_id" in plan, plan
        if sort == "-name":
            assert "TEMP B-TREE" not in plan, plan
