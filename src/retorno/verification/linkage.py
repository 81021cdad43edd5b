"""Identity and nationality verification: probabilistic record linkage of requests to a registry.

Fellegi–Sunter linkage with Splink on its DuckDB backend. Both sides are normalised in
DuckDB SQL the way `retorno.names` folds names (accents dropped, Ñ→N, particles removed),
candidate pairs come from blocking rules that each survive a different kind of error on
the sending side, and every candidate is scored by a model trained once (`train`) and
loaded from its JSON file for every run (`link`).

A request's candidates compete: the probability reported for a candidate is the posterior
that it is the person, given all the candidates found and the prior that a request is a
national (`Thresholds.national_share`), so two near-identical registry records (twins, namesakes)
share the probability and the case goes to review instead of being verified.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from retorno.config import Settings
from retorno.verification.anchors import is_anchored
from retorno.verification.normalise import install_macros, prepare_table, registry_source_sql

Outcome = Literal["verified", "review", "not_found"]
Agreement = Literal["agree", "partial", "disagree", "missing"]

# Fields a request and a registry record carry, in the order the review screen shows them.
FIELDS = ("given_names", "first_surname", "second_surname", "sex", "birth_date", "birth_place", "cedula")
# Share of requests expected to be nationals: the prior of the posterior match probability.
NATIONAL_PRIOR = 0.9
# Candidates kept per request for the review screen.
TOP_CANDIDATES = 3
# Floors for m and u probabilities a training run did not observe, so that no level gets
# an infinite weight; 1e-8 is below any u a million-row registry can show in sampling.
M_FLOOR, U_FLOOR = 1e-3, 1e-8
TRAINING_REQUESTS = 5_000
U_SAMPLE_PAIRS = 5e6

_REQUEST_SCHEMA = pa.schema(
    [("request_id", pa.string())] + [(name, pa.string()) for name in FIELDS] + [("rt_row", pa.int64())]
)


@dataclass(frozen=True)
class Thresholds:
    """How decisions are drawn from the posterior match probability.

    Verified ≥ upper > review ≥ lower > not found; `national_share` is the share of requests
    expected to be nationals, the prior the posterior is computed with: an installation
    whose requests hold more non-nationals lowers it, and every posterior becomes warier.
    """

    upper: float = 0.997
    lower: float = 0.05
    national_share: float = NATIONAL_PRIOR

    @classmethod
    def from_settings(cls, settings: Settings, *, upper: float | None = None, lower: float | None = None,
                      national_share: float | None = None) -> Thresholds:
        """The installation's settings (RETORNO_VERIFICATION_*), overridden where a value is given."""
        return cls(upper=settings.verification_upper_threshold if upper is None else upper,
                   lower=settings.verification_lower_threshold if lower is None else lower,
                   national_share=settings.verification_national_share if national_share is None
                   else national_share)

    def __post_init__(self) -> None:
        if not 0.0 <= self.lower <= self.upper <= 1.0:
            raise ValueError(f"thresholds must satisfy 0 ≤ lower ≤ upper ≤ 1, got {self.lower}, {self.upper}")
        if not 0.0 < self.national_share < 1.0:
            raise ValueError(f"the national share must be strictly between 0 and 1, got {self.national_share}")


@dataclass(frozen=True)
class Candidate:
    """A registry record proposed for a request, with the field-by-field comparison to show."""

    registry_id: Any
    probability: float
    record: dict[str, Any]
    agreement: dict[str, Agreement]


@dataclass(frozen=True)
class LinkDecision:
    """The proposed decision for one request and its best registry candidates."""

    request_id: Any
    outcome: Outcome
    probability: float
    registry_id: Any | None
    candidates: list[Candidate] = field(default_factory=list)


# --- normalisation in SQL -------------------------------------------------------------

def _level(
    sql: str, label: str, tf: str | None = None, *, scale: bool = False, null: bool = False
) -> dict[str, Any]:
    """A comparison level; `tf` names the column whose term frequency adjusts its u.

    Two ways of adjusting, chosen per level for what a coincidence needs:
    - `scale=False`: u becomes the frequency of the value itself, tf(value) (the larger of
      the two sides'). Right where the level pins the registry value down: exact matches,
      swaps, a typo of a name (a random person is one edit from GONZALES about as often as
      they are GONZÁLEZ).
    - `scale=True`: u is the level's own u scaled by tf(value) / u(exact level on the column)
      — Splink's default, for an exact match combined with a condition that does not
      depend on the value (the first surname equal and one second surname missing: as
      likely for PÉREZ as for a rare surname). The comparison must then have a plain
      exact level on that column, which Splink takes as the baseline.
    """
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    if tf:
        level.update(tf_adjustment_column=tf, tf_adjustment_weight=1.0, tf_minimum_u_value=1e-5,
                     disable_tf_exact_match_detection=not scale)
    return level


def _else() -> dict[str, Any]:
    return _level("ELSE", "all other")


def _dl(column: str, other: str | None = None) -> str:
    return f"damerau_levenshtein({column}_l, {other or column}_r)"


COMPARISONS: list[dict[str, Any]] = [
    {"output_column_name": "given_names", "comparison_levels": [
        _level("given_names_l IS NULL OR given_names_r IS NULL", "missing", null=True),
        _level("given_names_l = given_names_r", "exact", "given_names"),
        _level("given1_l = given1_r AND (given_names_l = given1_l OR given_names_r = given1_r)",
               "compound name cut short", "given1"),
        # Typos come before "same first name": a second given name that is merely mistyped
        # must not count as a different second name, which is evidence against.
        _level(f"{_dl('given_names')} <= 1 OR ({_dl('given_names')} <= 2 AND length(given_names_l) >= 7)",
               "one or two typos", "given_names"),
        _level("given1_l = given1_r", "first given name, second differs", "given1"),
        # LIS is one edit from LUIS, which many people are called: the frequency tempers it.
        _level(f"{_dl('given1')} <= 1", "first given name one edit apart", "given1"),
        _level("contains(' ' || given_names_r || ' ', ' ' || given1_l || ' ')"
               " OR contains(' ' || given_names_l || ' ', ' ' || given1_r || ' ')", "crosswise"),
        _else(),
    ]},
    {"output_column_name": "surnames", "comparison_levels": [
        _level("surname1_l IS NULL OR surname1_r IS NULL", "missing", null=True),
        # `surnames` is both surnames in order: its frequency is how many people a request's
        # pair of surnames (or a typo of it) could coincide with.
        _level("surnames_l = surnames_r", "both exact", "surnames"),
        _level("surname1_l = surname2_r AND surname2_l = surname1_r", "swapped", "surnames"),
        _level("surname1_l = surname1_r AND (surname2_l IS NULL OR surname2_r IS NULL)",
               "first exact, second missing", "surname1", scale=True),
        # One typo in one surname is the commonest error, but common surnames are often one
        # edit apart (FERNÁNDEZ, HERNÁNDEZ): the frequency of the pair tempers the weight.
        _level(f"surname1_l = surname1_r AND {_dl('surname2')} <= 1", "first exact, second one edit",
               "surnames"),
        _level(f"surname2_l = surname2_r AND {_dl('surname1')} <= 1", "second exact, first one edit",
               "surnames"),
        _level(f"({_dl('surname1')} <= 1 AND {_dl('surname2')} <= 1)"
               f" OR ({_dl('surname1', 'surname2')} <= 1 AND {_dl('surname2', 'surname1')} <= 1)",
               "both within one edit, straight or swapped", "surnames"),
        # Two edits turn short surnames into other surnames (GÓMEZ, LÓPEZ): long ones only.
        _level(f"(surname1_l = surname1_r AND {_dl('surname2')} <= 2 AND length(surname2_l) >= 7)"
               f" OR (surname2_l = surname2_r AND {_dl('surname1')} <= 2 AND length(surname1_l) >= 7)",
               "one exact, other two edits", "surnames"),
        # The plain exact level on the first surname, also the baseline of the scaled levels.
        _level("surname1_l = surname1_r", "first exact, second differs", "surname1"),
        _level("surname2_l = surname2_r", "second exact, first differs", "surname2"),
        _level(f"{_dl('surname1')} <= 2 AND length(surname1_l) >= 7"
               " AND (surname2_l IS NULL OR surname2_r IS NULL)", "first close, second missing"),
        # A list that swaps the surnames and drops one keeps the other; a different person
        # who shares one surname has a different second one. PÉREZ in common says less than
        # a rare surname in common (the first surnames' frequency stands for it).
        _level("(surname1_l = surname2_r OR surname2_l = surname1_r)"
               " AND (surname2_l IS NULL OR surname2_r IS NULL)", "one surname in common, other missing",
               "surname1", scale=True),
        _level("surname1_l = surname2_r OR surname2_l = surname1_r", "one surname in common, crosswise"),
        _else(),
    ]},
    {"output_column_name": "birth_date", "comparison_levels": [
        _level("dob_s_l IS NULL OR dob_s_r IS NULL", "missing", null=True),
        # Births crowd into some years: a shared birthday from a crowded year says less.
        _level("dob_s_l = dob_s_r", "exact", "dob_s"),
        _level("dob_sorted_l = dob_sorted_r", "day and month swapped", "dob_s"),
        # Dates are dense: a date has some thirty valid one-digit neighbours, each about as
        # frequent, so the level's average u fits better than one date's frequency.
        _level(f"{_dl('dob_s')} <= 1", "one digit apart"),
        _level("abs(birth_year_l - birth_year_r) <= 1", "within a year"),
        _else(),
    ]},
    {"output_column_name": "cedula", "comparison_levels": [
        _level("cedula_l IS NULL OR cedula_r IS NULL", "missing", null=True),
        _level("cedula_l = cedula_r", "exact"),
        _level(f"{_dl('cedula')} <= 1", "one digit apart"),
        _else(),
    ]},
    {"output_column_name": "sex", "comparison_levels": [
        _level("sex_l IS NULL OR sex_r IS NULL", "missing", null=True),
        _level("sex_l = sex_r", "exact"),
        _else(),
    ]},
    {"output_column_name": "birth_place", "comparison_levels": [
        _level("birth_place_l IS NULL OR birth_place_r IS NULL", "missing", null=True),
        _level("birth_place_l = birth_place_r", "exact", "birth_place"),
        _else(),
    ]},
]

# Each rule survives a different error: a cédula survives any name or date error; a date
# with day and month sorted survives a swap and, with a given name or either surname (or
# the initials, which typos rarely touch), the other names' errors; given names plus both
# surnames survive any date error, and a given name, first surname and two thirds of the
# date survive a mistyped day or month when the second surname is missing too.
BLOCKING_RULES = [
    "l.cedula = r.cedula",
    "l.dob_sorted = r.dob_sorted AND l.given1_ph = r.given1_ph",
    "l.dob_sorted = r.dob_sorted AND l.surname1_ph = r.surname1_ph",
    "l.dob_sorted = r.dob_sorted AND l.surname1_ph = r.surname2_ph",
    "l.dob_sorted = r.dob_sorted AND l.surname2_ph = r.surname1_ph",
    "l.dob_sorted = r.dob_sorted AND l.surname2_ph = r.surname2_ph",
    "l.dob_sorted = r.dob_sorted AND l.initials = r.initials",
    "l.given_ph = r.given_ph AND l.surname1_ph = r.surname1_ph AND l.surname2_ph = r.surname2_ph",
    "l.given_ph = r.given_ph AND l.surname1_ph = r.surname2_ph AND l.surname2_ph = r.surname1_ph",
    "l.given1_ph = r.given1_ph AND l.surname1_ph = r.surname1_ph AND l.birth_year_month = r.birth_year_month",
    "l.given1_ph = r.given1_ph AND l.surname1_ph = r.surname1_ph AND l.birth_year_day = r.birth_year_day",
]


def settings(registry_rows: int) -> dict[str, Any]:
    """Splink settings for linking requests to a registry of `registry_rows` records."""
    return {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": NATIONAL_PRIOR / max(registry_rows, 1),
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in BLOCKING_RULES
        ],
        "comparisons": COMPARISONS,
        "retain_intermediate_calculation_columns": False,
        "retain_matching_columns": False,
    }


# --- running ---------------------------------------------------------------------------

def _connect(
    work_dir: str | Path | None, memory_limit: str | None
) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
    """Open the scratch database: in memory, or a file in `work_dir` that spills to disk."""
    database: Path | None = None
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        database = Path(tempfile.mkstemp(prefix="linkage-", suffix=".duckdb", dir=work_dir)[1])
        database.unlink()
    con = duckdb.connect(str(database) if database else ":memory:")
    if work_dir is not None:
        con.execute(f"SET temp_directory = '{Path(work_dir) / 'spill'}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    # Row order is never relied on (rows carry their own numbers); dropping it saves memory.
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    install_macros(con)
    return con, database


def _close(con: duckdb.DuckDBPyConnection, database: Path | None) -> None:
    con.close()
    if database is not None:
        for leftover in (database, database.with_name(database.name + ".wal")):
            leftover.unlink(missing_ok=True)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _load_requests(requests: Iterable[dict[str, Any]] | str | Path) -> list[dict[str, Any]]:
    if isinstance(requests, str | Path):
        return pq.read_table(requests).to_pylist()
    return list(requests)


def _register_requests(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Load requests into DuckDB as text columns numbered by position (`rt_row`)."""
    columns: dict[str, list[Any]] = {
        name: [_text(row.get(name)) for row in rows] for name in ("request_id", *FIELDS)
    }
    columns["rt_row"] = list(range(len(rows)))
    con.register("rt_requests_raw", pa.Table.from_pydict(columns, schema=_REQUEST_SCHEMA))
    prepare_table(con, "rt_requests_raw", "rt_requests")


def _register_registry(con: duckdb.DuckDBPyConnection, registry_path: str | Path) -> int:
    """Normalise the registry into `rt_registry`; returns its number of records."""
    source = registry_source_sql(registry_path)
    con.execute(f"CREATE OR REPLACE VIEW rt_registry_raw AS SELECT * FROM {source}")
    prepare_table(con, "rt_registry_raw", "rt_registry")
    (rows,) = con.execute("SELECT count(*) FROM rt_registry").fetchall()[0]
    return int(rows)


def _linker(con: duckdb.DuckDBPyConnection, model: dict[str, Any]) -> Any:
    """A Splink linker over the normalised requests (left) and registry (right)."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    requests = db_api.register("rt_requests", dataset_display_name="requests")
    registry = db_api.register("rt_registry", dataset_display_name="registry")
    return Linker([requests, registry], model, log_level=logging.WARNING)


def _apply_floors(model: dict[str, Any]) -> dict[str, Any]:
    """Give levels a training run never observed a small m or u instead of none."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            if not level.get("m_probability"):
                level["m_probability"] = M_FLOOR
            if not level.get("u_probability"):
                level["u_probability"] = U_FLOOR
    return model


def train(
    registry_path: str | Path,
    model_path: str | Path,
    *,
    sample_requests: str | Path | None = None,
    seed: int = 7,
    u_pairs: float = U_SAMPLE_PAIRS,
) -> dict[str, Any]:
    """Train the linkage model on a registry and save it as Splink model JSON at `model_path`.

    u probabilities come from random request × registry pairs; m probabilities from
    labelled pairs: `sample_requests` (Parquet with `true_registry_id`), or, if none is
    given, requests drawn from the registry itself and corrupted with the default
    `ErrorModel`. Returns a summary with the match weight of every comparison level.
    """
    from retorno.verification.synth import ErrorModel, make_requests

    started = time.perf_counter()
    con, database = _connect(None, None)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            rows = _register_registry(con, registry_path)
            if sample_requests is None:
                sample_requests = Path(scratch) / "training_requests.parquet"
                size = min(TRAINING_REQUESTS, rows)
                make_requests(registry_path, size, seed, ErrorModel(), sample_requests)
            requests = _load_requests(sample_requests)
        _register_requests(con, requests)
        con.register("rt_truth", pa.table({
            "rt_row": pa.array(range(len(requests)), pa.int64()),
            "true_registry_id": [row.get("true_registry_id") for row in requests],
        }))
        con.execute("""CREATE TABLE rt_labels AS
            SELECT 'requests' AS source_dataset_l, t.rt_row AS unique_id_l,
                   'registry' AS source_dataset_r, r.rt_row AS unique_id_r
            FROM rt_truth t JOIN rt_registry_raw r ON r.registry_id = t.true_registry_id""")
        (labelled,) = con.execute("SELECT count(*) FROM rt_labels").fetchall()[0]
        linker = _linker(con, settings(rows))
        # A small registry needs (and has) fewer random pairs; a twentieth of them is plenty.
        u_pairs = min(u_pairs, 0.05 * rows * len(requests))
        linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
        linker.training.estimate_m_from_pairwise_labels(linker._db_api.register("rt_labels"))
        model = _apply_floors(linker.misc.save_model_to_json())
    finally:
        _close(con, database)
    Path(model_path).write_text(json.dumps(model, indent=2), encoding="utf-8")
    return {
        "registry": rows,
        "labelled_pairs": int(labelled),
        "u_pairs": int(u_pairs),
        "seconds": round(time.perf_counter() - started, 3),
        "match_weights": _match_weights(model),
    }


def _match_weights(model: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Match weight (log2 m/u) of every non-null level, by comparison and level label."""
    import math

    return {
        comparison["output_column_name"]: {
            level["label_for_charts"]: round(math.log2(level["m_probability"] / level["u_probability"]), 2)
            for level in comparison["comparison_levels"]
            if not level.get("is_null_level")
        }
        for comparison in model["comparisons"]
    }


_AGREEMENT_SQL = """
    CASE WHEN q.given_names IS NULL OR g.given_names IS NULL THEN 'missing'
         WHEN q.given_names = g.given_names THEN 'agree'
         WHEN q.given1 = g.given1 OR jaro_winkler_similarity(q.given_names, g.given_names) >= 0.88
              THEN 'partial' ELSE 'disagree' END AS a_given_names,
    CASE WHEN q.surname1 IS NULL OR g.surname1 IS NULL THEN 'missing'
         WHEN q.surname1 = g.surname1 THEN 'agree'
         WHEN damerau_levenshtein(q.surname1, g.surname1) <= 2 OR q.surname1 = g.surname2
              THEN 'partial' ELSE 'disagree' END AS a_first_surname,
    CASE WHEN q.surname2 IS NULL OR g.surname2 IS NULL THEN 'missing'
         WHEN q.surname2 = g.surname2 THEN 'agree'
         WHEN damerau_levenshtein(q.surname2, g.surname2) <= 2 OR q.surname2 = g.surname1
              THEN 'partial' ELSE 'disagree' END AS a_second_surname,
    CASE WHEN q.sex IS NULL OR g.sex IS NULL THEN 'missing'
         WHEN q.sex = g.sex THEN 'agree' ELSE 'disagree' END AS a_sex,
    CASE WHEN q.dob IS NULL OR g.dob IS NULL THEN 'missing'
         WHEN q.dob = g.dob THEN 'agree'
         WHEN q.dob_sorted = g.dob_sorted OR damerau_levenshtein(q.dob_s, g.dob_s) <= 1
              THEN 'partial' ELSE 'disagree' END AS a_birth_date,
    CASE WHEN q.birth_place IS NULL OR g.birth_place IS NULL THEN 'missing'
         WHEN q.birth_place = g.birth_place THEN 'agree' ELSE 'disagree' END AS a_birth_place,
    CASE WHEN q.cedula IS NULL OR g.cedula IS NULL THEN 'missing'
         WHEN q.cedula = g.cedula THEN 'agree'
         WHEN damerau_levenshtein(q.cedula, g.cedula) <= 1 THEN 'partial' ELSE 'disagree' END AS a_cedula
"""


def link(
    requests: Iterable[dict[str, Any]] | str | Path,
    registry_path: str | Path,
    model_path: str | Path,
    thresholds: Thresholds = Thresholds(),
    *,
    work_dir: str | Path | None = None,
    memory_limit: str | None = None,
) -> list[LinkDecision]:
    """Link verification requests to the registry with a saved model; one decision per request.

    `requests` is a list of dicts or a Parquet path with request_id, given_names,
    first_surname, second_surname, sex, birth_date, birth_place, cedula. The registry
    (Parquet or CSV) has registry_id and the same person fields. `work_dir` puts the
    scratch database on disk (with `memory_limit`, e.g. "4GB") for registries that do not
    fit in memory. Decisions come back in the order of the requests.
    """
    return link_with_stats(
        requests, registry_path, model_path, thresholds, work_dir=work_dir, memory_limit=memory_limit
    )[0]


def link_with_stats(
    requests: Iterable[dict[str, Any]] | str | Path,
    registry_path: str | Path,
    model_path: str | Path,
    thresholds: Thresholds = Thresholds(),
    *,
    work_dir: str | Path | None = None,
    memory_limit: str | None = None,
) -> tuple[list[LinkDecision], dict[str, Any]]:
    """`link`, plus figures about the run: registry size, pairs scored, seconds per stage."""
    model = json.loads(Path(model_path).read_text(encoding="utf-8"))
    rows = _load_requests(requests)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    con, database = _connect(work_dir, memory_limit)
    try:
        _register_requests(con, rows)
        registry_rows = _register_registry(con, registry_path)
        timings["prepare_seconds"] = time.perf_counter() - clock
        # The prior depends on the registry linked against, not the one trained on.
        model["probability_two_random_records_match"] = thresholds.national_share / max(registry_rows, 1)
        predictions = _linker(con, model).inference.predict(warning_mode="never")
        timings["predict_seconds"] = time.perf_counter() - clock - timings["prepare_seconds"]
        (pairs,) = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0]
        candidates = _top_candidates(con, predictions.physical_name, thresholds.national_share)
    finally:
        _close(con, database)
    decisions = [_decide(row["request_id"], candidates.get(i, []), thresholds) for i, row in enumerate(rows)]
    timings["seconds"] = time.perf_counter() - clock
    stats = {"registry": registry_rows, "requests": len(rows), "pairs_scored": int(pairs)}
    return decisions, stats | {name: round(value, 3) for name, value in timings.items()}


def _top_candidates(
    con: duckdb.DuckDBPyConnection, predictions: str, national_share: float
) -> dict[int, list[Candidate]]:
    """The best candidates of every request, with their posterior and field-by-field agreement."""
    # Posterior that candidate i is the person: its odds over the odds of all candidates
    # plus the prior odds of a non-national, (1 - prior) : the prior is inside match_weight.
    # Splink orders the two datasets by name, so read which side each pair's request is on.
    con.execute(f"""CREATE TABLE rt_top AS
        WITH pairs AS (
            SELECT match_weight,
                CASE WHEN source_dataset_l = 'requests' THEN unique_id_l ELSE unique_id_r END AS q_row,
                CASE WHEN source_dataset_l = 'requests' THEN unique_id_r ELSE unique_id_l END AS g_row
            FROM {predictions}
        )
        SELECT q_row, g_row,
            pow(2, match_weight)
                / ({1 - national_share!r} + sum(pow(2, match_weight)) OVER (PARTITION BY q_row)) AS posterior
        FROM pairs
        QUALIFY row_number() OVER (PARTITION BY q_row ORDER BY match_weight DESC, g_row)
            <= {TOP_CANDIDATES}""")
    result = con.sql(f"""
        SELECT t.q_row, t.posterior, {_AGREEMENT_SQL}, raw.* EXCLUDE (rt_row)
        FROM rt_top t
        JOIN rt_requests q ON q.unique_id = t.q_row
        JOIN rt_registry g ON g.unique_id = t.g_row
        JOIN rt_registry_raw raw ON raw.rt_row = t.g_row
        ORDER BY t.q_row, t.posterior DESC""").to_arrow_table()
    found: dict[int, list[Candidate]] = {}
    record_columns = [name for name in result.column_names if name not in ("q_row", "posterior")
                      and not name.startswith("a_")]
    for row in result.to_pylist():
        candidate = Candidate(
            registry_id=row.get("registry_id"),
            probability=float(row["posterior"]),
            record={name: row[name] for name in record_columns},
            agreement={name: row[f"a_{name}"] for name in FIELDS},
        )
        found.setdefault(row["q_row"], []).append(candidate)
    return found


def _decide(request_id: Any, candidates: list[Candidate], thresholds: Thresholds) -> LinkDecision:
    """Turn a request's ranked candidates into verified / review / not found.

    Verified needs both a posterior at or above the upper threshold and an anchor (the birth
    date or the cédula agreeing, `anchors.is_anchored`); a strong posterior without one goes
    to review. Below the lower threshold, or with no candidate at all, the case is not found.
    """
    best = candidates[0] if candidates else None
    if best is None or best.probability < thresholds.lower:
        outcome: Outcome = "not_found"
    elif best.probability >= thresholds.upper and is_anchored(best.agreement):
        outcome = "verified"
    else:
        outcome = "review"
    return LinkDecision(
        request_id=request_id,
        outcome=outcome,
        probability=best.probability if best else 0.0,
        registry_id=best.registry_id if best and outcome != "not_found" else None,
        candidates=candidates,
    )
