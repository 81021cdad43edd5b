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
    assert str(expanding).count("IN (") == 1 and text(3).count("IN (") == (1 if dialect.name == "sqlite" else 0)
