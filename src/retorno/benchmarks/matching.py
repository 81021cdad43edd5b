"""`retorno bench match`: the two matching modes on a synthetic national-scale instance, and end to end.

`run` times the algorithms on plain arrays; `end_to_end_seconds` times a whole matching run
through the service, database included, over made-up returnees (`synthetic.returnees`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import sqlalchemy as sa

from retorno.agencies.models import User
from retorno.agencies.service import create_agency, create_user
from retorno.benchmarks.database import fresh_database, peak_rss_mb
from retorno.config import Settings
from retorno.datakeys import keyring_for
from retorno.db import make_engine, make_sessionmaker, transaction, use_data_keys
from retorno.reintegration.matching import (
    MatchingProblem,
    MatchingResult,
    blocking_pairs,
    stable_match,
    welfare_match,
)
from retorno.reintegration.service import run_matching
from retorno.synthetic.returnees import fill_returnees

OPPORTUNITIES_PER_WORKPLACE = 2
WORKPLACE_CAP = 20


def _distinct_choices(rng: np.random.Generator, rows: int, k: int, weights: np.ndarray) -> np.ndarray:
    """Draw k distinct opportunities per row, popular ones more often and nearer the top."""
    chosen = rng.choice(weights.size, size=(rows, k), p=weights)
    while True:
        flat = (np.arange(rows)[:, None] * weights.size + chosen).ravel()
        first = np.zeros(flat.size, dtype=bool)
        first[np.unique(flat, return_index=True)[1]] = True
        repeats = np.flatnonzero(~first)
        if repeats.size == 0:
            return chosen
        chosen.ravel()[repeats] = rng.choice(weights.size, size=repeats.size, p=weights)


def synthetic_problem(
    returnees: int, opportunities: int, prefs: int, seat_ratio: float, seed: int
) -> MatchingProblem:
    """Build a random instance with uneven popularity, tied scores and binding workplace caps."""
    rng = np.random.default_rng(seed)
    popularity = rng.lognormal(0.0, 1.0, opportunities)
    k = min(prefs, opportunities)
    pref_opp = _distinct_choices(rng, returnees, k, popularity / popularity.sum()).ravel()
    # A returnee-wide level plus pair noise, rounded to 0.1 so that ties are common.
    level = rng.uniform(0, 60, returnees)
    pref_score = np.round(np.repeat(level, k) + rng.uniform(0, 40, pref_opp.size), 1)
    share = rng.uniform(0.5, 1.5, opportunities)
    capacity = rng.multinomial(round(seat_ratio * returnees), share / share.sum())
    n_workplaces = max(1, opportunities // OPPORTUNITIES_PER_WORKPLACE)
    return MatchingProblem(
        pref_ptr=np.arange(returnees + 1, dtype=np.int64) * k,
        pref_opp=pref_opp.astype(np.int64),
        pref_score=pref_score,
        capacity=capacity.astype(np.int64),
        workplace=rng.integers(0, n_workplaces, opportunities),
        workplace_cap=np.full(n_workplaces, WORKPLACE_CAP, dtype=np.int64),
    )


def _sum_ranks(result: MatchingResult) -> int:
    """Sum of 0-based ranks among the matched."""
    return int(result.rank[result.rank >= 0].sum())


def run(
    returnees: int = 100_000,
    opportunities: int = 10_000,
    prefs: int = 10,
    seat_ratio: float = 0.6,
    seed: int = 1,
) -> dict[str, float | int]:
    """Time stable and welfare-optimal matching on a synthetic instance and report their quality."""
    problem = synthetic_problem(returnees, opportunities, prefs, seat_ratio, seed)
    effective = np.minimum(
        np.bincount(problem.workplace, weights=problem.capacity, minlength=problem.workplace_cap.size),
        problem.workplace_cap,
    )
    stable = stable_match(problem)
    welfare = welfare_match(problem)
    return {
        "returnees": returnees,
        "opportunities": opportunities,
        "prefs": prefs,
        "seats": int(problem.capacity.sum()),
        "seats_within_workplace_caps": int(effective.sum()),
        "seconds": round(stable.seconds, 3),
        "blocking_pairs": blocking_pairs(problem, stable),
        "matched_share": round(stable.matched_share(), 4),
        "mean_rank": round(stable.mean_rank(), 3),
        "sum_ranks": _sum_ranks(stable),
        "welfare_seconds": round(welfare.seconds, 3),
        "welfare_matched_share": round(welfare.matched_share(), 4),
        "welfare_mean_rank": round(welfare.mean_rank(), 3),
        "welfare_sum_ranks": _sum_ranks(welfare),
        "welfare_blocking_pairs": blocking_pairs(problem, welfare),
        "peak_rss_mb": peak_rss_mb(),
    }


def end_to_end_seconds(settings: Settings, *, returnees: int, opportunities: int, prefs: int, seat_ratio: float,
                       seed: int) -> dict[str, Any]:
    """Time a whole matching run through the service: load, both algorithms, explanations, offers stored."""
    url, backend = fresh_database(settings)
    engine = make_engine(url)
    use_data_keys(engine, keyring_for(settings))
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        create_agency(session, None, code="MX-INM", name="INM", kind="sending_authority", country="MEX")
        create_agency(session, None, code="VE-OP", name="Operador", kind="reintegration_operator", country="VEN")
        create_user(session, None, username="bench", full_name="bench", agency_code="VE-OP", role="officer",
                    password="una clave de prueba 1")
        fill_returnees(session, returnees, opportunities, prefs, seat_ratio, seed)
    started = time.perf_counter()
    with transaction(factory) as session:
        actor = session.execute(sa.select(User).where(User.username == "bench")).scalar_one()
        run = run_matching(session, actor, mode="stable")
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"end_to_end_seconds": round(seconds, 2), "database": backend, "offers_stored": run.summary["offers"]}
