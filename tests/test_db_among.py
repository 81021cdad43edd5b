"""`db.among`: `column IN values` as one statement whatever the number of values, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency, User
from retorno.db import among
from tests.factories import World


def test_among_selects_what_in_selects(session: Session, world: World) -> None:
    users = dict(session.execute(sa.select(User.id, User.username)).all())
    some = sorted(users)[::2]
    assert set(session.execute(sa.select(User.id).where(among(User.id, some))).scalars()) == set(some)
    names = [users[i] for i in some] + ["nobody"]
    assert set(session.execute(sa.select(User.id).where(among(User.username, names))).scalars()) == set(some)
    assert session.execute(sa.select(User.id).where(among(User.id, []))).scalars().all() == []
    # A named parameter given at execution, used twice in one statement.
    twice = sa.select(User.id).where(among(User.id, "ids"), among(User.agency_id, "agencies"),
                                     sa.or_(among(User.id, "ids"), User.id < 0))
    agencies = list(session.execute(sa.select(Agency.id)).scalars())
    assert set(session.execute(twice, {"ids": some, "agencies": agencies}).scalars()) == set(some)


def test_the_statement_is_one_whatever_the_number_of_values(session: Session) -> None:
    """An expanding IN is another statement for each length of list (compiled, converted and planned again)."""
    dialect = session.get_bind().dialect

    def text(count: int) -> str:
        return str(sa.select(User.id).where(among(User.id, list(range(count)))).compile(dialect=dialect))

    assert text(1) == text(300)
    assert (sa.select(User.id).where(among(User.id, [1]))._generate_cache_key()
            == sa.select(User.id).where(among(User.id, [1, 2, 3]))._generate_cache_key())
    expanding = sa.select(User.id).where(User.id.in_([1, 2, 3])).compile(dialect=dialect,
                                                                        compile_kwargs={"render_postcompile": True})
    assert str(expanding).count("IN (") == 1 and text(3).count("IN (") == 1


def test_a_long_list_is_joined_not_compared_row_by_row(session: Session) -> None:
    """Over a table just written and not analysed, in the plan a prepared statement settles on (generic), a long list
    is joined to the table, not compared with each row in turn: `= ANY(array)` did the latter on PostgreSQL, and the
    commit-time guard's check of an import's 100,000 new cases, in chunks of 5,000, took twenty minutes."""
    connection = session.connection()
    numbers = sa.Table("among_numbers", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("number", sa.String(20), index=True), prefixes=["TEMPORARY"])
    numbers.create(connection)
    connection.execute(numbers.insert(), [{"number": f"P{n}"} for n in range(20_000)])
    statement = sa.select(numbers.c.id).where(among(numbers.c.number, "numbers"))
    listed = [f"P{n}" for n in range(0, 20_000, 4)]
    if connection.dialect.name == "postgresql":
        sql = str(statement.compile(dialect=connection.dialect)).replace("%(numbers)s", "$1")
        connection.exec_driver_sql(f"PREPARE among_numbers_query(varchar) AS {sql}")
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        array = "{" + ",".join(listed) + "}"
        # A literal: a utility statement (EXPLAIN) takes no parameters, and these values need no quoting.
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(
            f"EXPLAIN EXECUTE among_numbers_query('{array}')"))
        connection.exec_driver_sql("DEALLOCATE among_numbers_query")
        assert "ANY" not in plan and ("Join" in plan or "Nested Loop" in plan), plan
    else:
        compiled = statement.compile(dialect=connection.dialect)
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", (__import__("json").dumps(listed),)))
        # SQLite looks each row up in the list made an index of (LIST SUBQUERY), or the list's values in the column's.
        assert "LIST SUBQUERY" in plan or "USING INDEX" in plan, plan
    assert len(session.execute(statement, {"numbers": listed}).all()) == len(listed)


def test_a_few_values_are_searched_off_the_index_beside_other_conditions(session: Session) -> None:
    """`among` is a predicate as `IN` is: on SQLite, which has no boolean type, SQLAlchemy compared it with 1
    (`(id IN (…)) = 1`), which SQLite cannot search by: every row of the table was read and its other conditions
    evaluated (the same-person query, asked at every commit, took 0.1 s over the test suite's small database)."""
    connection = session.connection()
    numbers = sa.Table("among_few", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("number", sa.String(20)), prefixes=["TEMPORARY"])
    numbers.create(connection)
    connection.execute(numbers.insert(), [{"number": f"P{n}"} for n in range(5_000)])
    statement = sa.select(numbers.c.id).where(among(numbers.c.id, "ids"), numbers.c.number.like("P%"),
                                              sa.not_(among(numbers.c.number, "excluded")))
    compiled = str(statement.compile(dialect=connection.dialect))
    assert "= 1" not in compiled and "= true" not in compiled.lower(), compiled
    if connection.dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", ("[1, 2]", "P%", "[]")))
        assert "SEARCH among_few USING INTEGER PRIMARY KEY" in plan and "SCAN among_few" not in plan, plan
    first = min(connection.execute(sa.select(numbers.c.id)).scalars())
    found = session.execute(statement, {"ids": [first + 3, first + 4, first + 5], "excluded": ["P3"]}).scalars().all()
    assert sorted(found) == [first + 4, first + 5]
