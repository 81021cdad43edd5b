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

import copy
import json
import logging
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from retorno.config import Settings
from retorno.errors import InvalidInput
from retorno.synthetic.registry import ERROR_MODELS, make_requests
from retorno.verification import narrowing, prepared, sources
from retorno.verification.anchors import (
    AGE_OF_MAJORITY,
    BIRTH_DATE_DISAGREES,
    DECEASED,
    INEXACT_NAME,
    BirthParts,
    birth_date_disagrees,
    crosses_majority,
    is_anchored,
    is_deceased,
    nationality_held_back,
    needs_a_person_for_the_name,
)
from retorno.verification.normalise import install_macros, prepare_table, registry_source_sql
from retorno.verification.records import canonical_sql
from retorno.verification.weights import LevelOrder, Seen, check, regularise, weight_table

Outcome = Literal["verified", "review", "not_found"]
# "partial": a slip of a known value (a typo, day and month swapped, another spelling);
# "incomplete": agrees as far as one side knows it (a birth date without its day or month).
Agreement = Literal["agree", "partial", "incomplete", "disagree", "missing"]

# Fields a request and a registry record carry, in the order the review screen shows them.
FIELDS = ("given_names", "first_surname", "second_surname", "sex", "birth_date", "birth_place", "cedula")
# Share of requests expected to be nationals: the prior of the posterior match probability.
NATIONAL_PRIOR = 0.9
# Candidates kept per request for the review screen.
TOP_CANDIDATES = 3
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
    `inexact_name` is what a match whose name is not exactly the registry's and which no
    cédula anchors needs to be verified (`anchors.needs_a_person_for_the_name`).
    """

    upper: float = 0.997
    lower: float = 0.05
    national_share: float = NATIONAL_PRIOR
    inexact_name: float = 0.999

    @classmethod
    def from_settings(cls, settings: Settings, *, upper: float | None = None, lower: float | None = None,
                      national_share: float | None = None, inexact_name: float | None = None) -> Thresholds:
        """The installation's settings (RETORNO_VERIFICATION_*), overridden where a value is given."""
        return cls(upper=settings.verification_upper_threshold if upper is None else upper,
                   lower=settings.verification_lower_threshold if lower is None else lower,
                   national_share=settings.verification_national_share if national_share is None
                   else national_share,
                   inexact_name=settings.verification_inexact_name_threshold if inexact_name is None
                   else inexact_name)

    def __post_init__(self) -> None:
        if not 0.0 <= self.lower <= self.upper <= 1.0:
            raise ValueError(f"thresholds must satisfy 0 ≤ lower ≤ upper ≤ 1, got {self.lower}, {self.upper}")
        if not 0.0 <= self.inexact_name <= 1.0:
            raise ValueError(f"the inexact name threshold must be between 0 and 1, got {self.inexact_name}")
        if not 0.0 < self.national_share < 1.0:
            raise ValueError(f"the national share must be strictly between 0 and 1, got {self.national_share}")


class Engine(Protocol):
    """Another engine that scores request × registry pairs (Spark): the same model, the same blocking rules."""

    name: str

    def predict(self, requests: pa.Table, prepared_path: str | Path, model: dict[str, Any],
                lookups: dict[str, pa.Table]) -> pa.Table:
        """Score the candidate pairs: source_dataset_l, unique_id_l, unique_id_r, match_weight."""
        ...


@dataclass(frozen=True)
class Candidate:
    """A registry record proposed for a request, with the field-by-field comparison to show."""

    registry_id: Any
    probability: float
    record: dict[str, Any]
    agreement: dict[str, Agreement]
    # The registry records this person's death (`anchors.is_deceased`).
    deceased: bool = False
    # The birth dates as compared, year, month, day (None where unknown): the request's and this record's.
    declared_born: BirthParts | None = None
    registry_born: BirthParts | None = None


@dataclass(frozen=True)
class LinkDecision:
    """The proposed decision for one request and its best registry candidates."""

    request_id: Any
    outcome: Outcome
    probability: float
    registry_id: Any | None
    candidates: list[Candidate] = field(default_factory=list)
    # Why a likely match waits for a person, where a rule (not the probability) sent it: `anchors.DECEASED`,
    # `anchors.AGE_OF_MAJORITY`, `anchors.BIRTH_DATE_DISAGREES`, `anchors.INEXACT_NAME`,
    # `anchors.REGISTRY_FOREIGN_RESIDENT`, `anchors.CEDULA_LETTER_DIFFERS`.
    reason: str | None = None


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


# With the given name and first surname exchanged, the second surname agrees, is missing, or,
# the surnames swapped too, is the registry's first.
_EXCHANGED_SECOND = ("surname2_l IS NULL OR surname2_r IS NULL OR surname2_l = surname2_r"
                     " OR CASE WHEN is_request_l THEN surname2_l = surname1_r ELSE surname1_l = surname2_r END")


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
        # A list written surname first puts the surname in the given-name field: the
        # request's given name is the registry's first surname (give or take a typo). Only
        # this half of the exchange; the surnames comparison weighs the other half.
        # How many registry records carry that surname tempers it (GONZÁLEZ is no clue); with
        # the second surname the same, how many carry both (the surnames comparison then
        # weighs the given name, and the exchange weighs the whole name as written straight).
        _level(f"CASE WHEN is_request_l THEN {_dl('given_names', 'surname1')}"
               f" ELSE {_dl('surname1', 'given_names')} END <= 1 AND surname2_l = surname2_r",
               "written as the first surname, second surname the same", "surnames"),
        _level(f"CASE WHEN is_request_l THEN {_dl('given_names', 'surname1')}"
               f" ELSE {_dl('surname1', 'given_names')} END <= 1", "written as the first surname", "surname1"),
        # Surnames swapped and then exchanged with the given name: the given name field holds
        # the second surname.
        _level("CASE WHEN is_request_l THEN given_names_l = surname2_r ELSE surname2_l = given_names_r END",
               "written as the second surname", "surname2"),
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
        # The other half of a given name and surname exchanged: the request's first surname
        # is the registry's given name, and the second surname, if both have one, agrees or,
        # the surnames swapped too, is the registry's first (before the levels on one surname alone).
        _level(f"CASE WHEN is_request_l THEN {_dl('surname1', 'given_names')}"
               f" ELSE {_dl('given_names', 'surname1')} END <= 1 AND ({_EXCHANGED_SECOND})",
               "first surname written as the given name", "given_names"),
        # A compound given name cut short on the way (OSCAR for OSCAR ALBERTO): the first given
        # name, weighed by how many carry it first (MARÍA, not MARÍA NELCY: a non-national
        # MARTÍNEZ MARÍA was verified at 1M records on the compound's rarity).
        _level(f"CASE WHEN is_request_l THEN surname1_l = given1_r ELSE given1_l = surname1_r END"
               f" AND ({_EXCHANGED_SECOND})", "first surname written as the first given name", "given1"),
        # The plain exact level on the first surname, also the baseline of the scaled levels.
        _level("surname1_l = surname1_r", "first exact, second differs", "surname1"),
        _level("surname2_l = surname2_r", "second exact, first differs", "surname2"),
        # With one surname only (or the second dropped) a typo in the first is the commonest
        # error: one edit, or two in a long surname. A random record is within a typo of
        # RODRIGUEA about as often as it is RODRIGUEZ: u is the commoner spelling's frequency
        # itself. Scaled against the exact level, a typo of a common surname counted as a
        # fifth as likely by chance as the surname (a single-surname registry's u of this
        # level over its chance agreement), 2.3 bits too sure.
        _level(f"({_dl('surname1')} <= 1 OR ({_dl('surname1')} <= 2 AND length(surname1_l) >= 7))"
               " AND (surname2_l IS NULL OR surname2_r IS NULL)", "first close, second missing", "surname1"),
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
        _level("birth_year_l IS NULL OR birth_year_r IS NULL", "missing", null=True),
        # Births crowd into some years: a shared birthday from a crowded year says less.
        _level("dob_s_l = dob_s_r", "exact", "dob_s"),
        _level("dob_sorted_l = dob_sorted_r", "day and month swapped", "dob_s"),
        # A date without its day or month (either side) agreeing on the year and on the
        # month or the day that both have.
        _level("(dob_s_l IS NULL OR dob_s_r IS NULL) AND birth_year_l = birth_year_r"
               " AND (birth_month_l = birth_month_r OR birth_day_l = birth_day_r)"
               " AND (birth_month_l IS NULL OR birth_month_r IS NULL OR birth_month_l = birth_month_r)"
               " AND (birth_day_l IS NULL OR birth_day_r IS NULL OR birth_day_l = birth_day_r)",
               "agrees where both are known"),
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
        # Where the given names agree (give or take a typo or a second name), so does the sex
        # they name, match or not: no evidence (`weights` rule 7).
        _level(f"sex_l = sex_r AND (given1_l = given1_r OR {_dl('given_names')} <= 1)",
               "same, as the given name says"),
        _level("sex_l = sex_r", "exact"),
        _else(),
    ]},
    {"output_column_name": "birth_place", "comparison_levels": [
        _level("birth_place_l IS NULL OR birth_place_r IS NULL", "missing", null=True),
        _level("birth_place_l = birth_place_r", "exact", "birth_place"),
        # A list that writes the region ("LOS ANDES") for the state (MÉRIDA).
        _level("birth_place_l = birth_region_r OR birth_region_l = birth_place_r", "region for the state"),
        _level("birth_region_l = birth_region_r", "another state of the same region"),
        _else(),
    ]},
]

# Which levels agree more than which (beyond the first level of each comparison over all
# others and every level over ELSE), and which levels are disagreements: `weights.regularise`
# keeps trained models to this order and `weights.check` refuses one that breaks it.
LEVEL_ORDERS: dict[str, LevelOrder] = {
    "given_names": LevelOrder(
        above=(("compound name cut short", "first given name, second differs"),
               ("one or two typos", "first given name one edit apart"),
               ("written as the first surname, second surname the same", "written as the first surname")),
        # A given name found inside the other's (MARÍA DEL VALLE, FABIOLA MARÍA) is no error
        # a list makes but two people's names sharing a common one: evidence against.
        disagreement=frozenset({"crosswise", "all other"}),
        # Weighed by how common the registry's two surnames are, not the given name.
        apart=frozenset({"written as the first surname, second surname the same", "written as the second surname"}),
    ),
    "surnames": LevelOrder(
        above=(("first exact, second one edit", "one exact, other two edits"),
               ("second exact, first one edit", "one exact, other two edits"),
               ("one exact, other two edits", "first exact, second differs"),
               ("one exact, other two edits", "second exact, first differs"),
               ("first exact, second one edit", "first exact, second differs"),
               ("second exact, first one edit", "second exact, first differs"),
               ("first exact, second missing", "first close, second missing"),
               ("first exact, second missing", "one surname in common, other missing"),
               ("first close, second missing", "one surname in common, other missing"),
               ("swapped", "one surname in common, crosswise"),
               ("first exact, second differs", "one surname in common, crosswise"),
               ("second exact, first differs", "one surname in common, crosswise")),
        disagreement=frozenset({"one surname in common, crosswise", "all other"}),
        # The surnames see the given name in the first surname's place only because the list
        # exchanged them, which the given-name comparison already weighs (`weights` rule 6).
        conditional=tuple((label, "given_names", ("written as the first surname, second surname the same",
                                                  "written as the first surname", "written as the second surname"))
                          for label in ("first surname written as the given name",
                                        "first surname written as the first given name")),
    ),
    "birth_date": LevelOrder(
        above=(("day and month swapped", "within a year"), ("agrees where both are known", "within a year"),
               ("one digit apart", "within a year")),
        disagreement=frozenset({"within a year", "all other"}),
    ),
    "cedula": LevelOrder(disagreement=frozenset({"all other"})),
    "sex": LevelOrder(disagreement=frozenset({"all other"}), neutral=(("same, as the given name says", "exact"),),
                      apart=frozenset({"exact"})),
    "birth_place": LevelOrder(disagreement=frozenset({"all other"})),
}

# Each rule survives a different error: a cédula survives any name or date error; a date
# with day and month sorted survives a swap and, with a given name or either surname (or the
# initial of one, which typos rarely touch, or both initials exchanged), the other names'
# errors (a given name written where the second surname was, too); the given names plus both
# surnames survive any date error, and both surnames with the year a cut or mistyped given
# name. With one surname only (most registries but Spanish-speaking ones), the given name or
# first surname with the other's initial and the year and month (or year and day) survive a
# typo in one name and one in the date, the two names with the day and month a mistyped
# year, and the names alone a missing date; a date without its day (or month) meets the full
# dates of its year and month (or day) with either name; a given name and surname written
# the other way round are found by the same pair exchanged, or with the day and month when
# the year is mistyped too; a given name with the surname's initial and the day and month
# survive a mistyped year and a surname typo.
BLOCKING_RULES = [
    "l.cedula = r.cedula",
    "l.dob_sorted = r.dob_sorted AND l.given1_ph = r.given1_ph",
    "l.dob_sorted = r.dob_sorted AND l.surname1_ph = r.surname1_ph",
    "l.dob_sorted = r.dob_sorted AND l.surname1_ph = r.surname2_ph",
    "l.dob_sorted = r.dob_sorted AND l.surname2_ph = r.surname1_ph",
    "l.dob_sorted = r.dob_sorted AND l.surname2_ph = r.surname2_ph",
    "l.dob_sorted = r.dob_sorted AND l.given_initial = r.given_initial",
    "l.dob_sorted = r.dob_sorted AND l.surname_initial = r.surname_initial",
    "l.dob_sorted = r.dob_sorted AND l.initials = r.initials_swapped",
    "l.dob_sorted = r.dob_sorted AND l.given1_ph = r.surname2_ph",
    "l.dob_sorted = r.dob_sorted AND r.given1_ph = l.surname2_ph",
    "l.given_ph = r.given_ph AND l.surname1_ph = r.surname1_ph AND l.surname2_ph = r.surname2_ph",
    "l.given_ph = r.given_ph AND l.surname1_ph = r.surname2_ph AND l.surname2_ph = r.surname1_ph",
    "l.surname1_ph = r.surname1_ph AND l.surname2_ph = r.surname2_ph AND l.birth_year = r.birth_year",
    *(f"l.{date} = r.{date} AND l.{name}_ph = r.{name}_ph AND l.{initial} = r.{initial}"
      for date in ("birth_year_month", "birth_year_day")
      for name, initial in (("given1", "surname_initial"), ("surname1", "given_initial"))),
    "l.given1_ph = r.given1_ph AND l.surname1_ph = r.surname1_ph AND l.md_sorted = r.md_sorted",
    "l.given1_ph = r.surname1_ph AND l.surname1_first_ph = r.given1_ph AND l.birth_year = r.birth_year",
    "r.given1_ph = l.surname1_ph AND r.surname1_first_ph = l.given1_ph AND l.birth_year = r.birth_year",
    "l.given1_ph = r.surname1_ph AND l.surname1_first_ph = r.given1_ph AND l.md_sorted = r.md_sorted",
    "r.given1_ph = l.surname1_ph AND r.surname1_first_ph = l.given1_ph AND l.md_sorted = r.md_sorted",
    "l.given1_ph = r.given1_ph AND l.surname_initial = r.surname_initial AND l.md_sorted = r.md_sorted",
    "l.name_key_undated = r.name_key",
    "l.name_key = r.name_key_undated",
    # Without a date, the second surname dropped or a compound given name cut leaves no key of
    # the whole name: the first given name and first surname (half the undated nationals at 200k
    # records got no candidate at all).
    *(f"{side}.birth_year IS NULL AND l.given1_ph = r.given1_ph AND l.surname1_ph = r.surname1_ph"
      for side in ("l", "r")),
    *(f"{side}.{partial} = {other}.{full} AND l.{name}_ph = r.{name}_ph"
      for partial, full in (("year_month_undayed", "birth_year_month"), ("year_day_unmonthed", "birth_year_day"))
      for side, other in (("l", "r"), ("r", "l")) for name in ("given1", "surname1")),
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


def requests_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Requests as text columns numbered by position (`rt_row`), as every engine normalises them."""
    columns: dict[str, list[Any]] = {
        name: [_text(row.get(name)) for row in rows] for name in ("request_id", *FIELDS)
    }
    columns["rt_row"] = list(range(len(rows)))
    return pa.Table.from_pydict(columns, schema=_REQUEST_SCHEMA)


def _register_requests(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Load requests into DuckDB, normalised (`rt_requests`)."""
    con.register("rt_requests_raw", requests_table(rows))
    prepare_table(con, "rt_requests_raw", "rt_requests")
    # Which side a record is on, for the levels that compare one side's field with the other's.
    con.execute("ALTER TABLE rt_requests ADD COLUMN is_request BOOLEAN DEFAULT true")


def _register_registry(con: duckdb.DuckDBPyConnection, registry_path: str | Path) -> int:
    """Check the registry file (`sources.check`: nothing is linked from a file with a bad line), then normalise it
    into `rt_registry`; returns its number of records."""
    sources.check(con, Path(registry_path), required=("registry_id", *FIELDS))
    source = registry_source_sql(registry_path)
    con.execute(f"CREATE OR REPLACE VIEW rt_registry_raw AS SELECT * FROM {source}")
    prepare_table(con, "rt_registry_raw", "rt_registry")
    con.execute("ALTER TABLE rt_registry ADD COLUMN is_request BOOLEAN DEFAULT false")
    (rows,) = con.execute("SELECT count(*) FROM rt_registry").fetchall()[0]
    return int(rows)


def _linker(con: duckdb.DuckDBPyConnection, model: dict[str, Any], lookups: dict[str, pa.Table] | None = None
            ) -> Any:
    """A Splink linker over the normalised requests (left) and registry (right), with any term-frequency lookups."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    requests = db_api.register("rt_requests", dataset_display_name="requests")
    registry = db_api.register("rt_registry", dataset_display_name="registry")
    # Splink's validation of the settings only logs the columns it cannot find, and parses every
    # level and rule to do so (about 0.4 s of processor time a link): the columns are this module's own.
    linker = Linker([requests, registry], model, log_level=logging.WARNING, validate_settings=False)
    for column, table in (lookups or {}).items():
        linker.table_management.register_term_frequency_lookup(db_api.register(table, table_name=f"rt_tf_{column}"),
                                                                column)
    return linker


class ModelRefused(InvalidInput):
    """A trained or loaded model breaks the rules of `weights.check`; `problems` names each level."""

    code = "model_refused"

    def __init__(self, problems: list[str]) -> None:
        # The levels' problems are the operator's, read on the command line: said in English.
        super().__init__("the linkage model breaks its rules: %(problems)s", details=problems,
                         problems="; ".join(problems))
        self.problems = problems


def _pairs_view(con: duckdb.DuckDBPyConnection, name: str, pairs_from: str) -> None:
    """A view of pairs with every compared column as `col_l` (alias l) and `col_r` (alias r) of `pairs_from`."""
    columns = [row[0] for row in con.execute("DESCRIBE rt_registry").fetchall()]
    select = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in columns)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {select} FROM {pairs_from}")


def _not_null_shares(con: duckdb.DuckDBPyConnection, pairs: str, model: dict[str, Any]) -> dict[str, float]:
    """Per comparison, the share of the pairs in `pairs` in which it is not null."""
    shares = {}
    for comparison in model["comparisons"]:
        null = [level["sql_condition"] for level in comparison["comparison_levels"] if level.get("is_null_level")]
        where = f"NOT coalesce(({null[0]}), false)" if null else "true"
        (share,) = con.execute(f"SELECT coalesce(avg(CASE WHEN {where} THEN 1 ELSE 0 END), 0) FROM {pairs}"
                               ).fetchall()[0]
        shares[comparison["output_column_name"]] = float(share)
    return shares


def _random_pair_shares(con: duckdb.DuckDBPyConnection, model: dict[str, Any], seed: int) -> dict[str, float]:
    """The not-null shares of random request × registry pairs (a sample of each side, crossed)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rt_sample_q AS
        SELECT * FROM rt_requests ORDER BY hash(unique_id + {seed}) LIMIT 1500""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rt_sample_g AS
        SELECT * FROM rt_registry ORDER BY hash(unique_id + {seed}) LIMIT 1500""")
    _pairs_view(con, "rt_random_pairs", "rt_sample_q l CROSS JOIN rt_sample_g r")
    return _not_null_shares(con, "rt_random_pairs", model)


def _tf_baselines(con: duckdb.DuckDBPyConnection, model: dict[str, Any]) -> dict[str, float]:
    """Chance agreement sum(tf^2) of every term-frequency column, over requests and registry as Splink counts tf."""
    columns = {level["tf_adjustment_column"] for comparison in model["comparisons"]
               for level in comparison["comparison_levels"] if level.get("tf_adjustment_column")}
    baselines = {}
    for column in sorted(columns):
        (value,) = con.execute(f"""SELECT sum(p * p) FROM (
            SELECT count(*) / sum(count(*)) OVER () AS p FROM (
                SELECT {column} AS v FROM rt_requests UNION ALL SELECT {column} FROM rt_registry)
            WHERE v IS NOT NULL GROUP BY v)""").fetchall()[0]
        if value:
            baselines[column] = float(value)
    return baselines


def _finish(con: duckdb.DuckDBPyConnection, raw: dict[str, Any], m_pairs: dict[str, float], u_pairs: float,
            seed: int) -> dict[str, Any]:
    """Regularise a model Splink trained (`weights.regularise`) and check it; refuse it if it breaks a rule."""
    random_shares = _random_pair_shares(con, raw, seed)
    seen = {name: Seen(m_pairs.get(name, 0.0), u_pairs * share) for name, share in random_shares.items()}
    model = regularise(raw, seen, LEVEL_ORDERS, _tf_baselines(con, raw))
    problems = check(model, LEVEL_ORDERS)
    if problems:
        raise ModelRefused(problems)
    return model


def _save(model: dict[str, Any], model_path: str | Path) -> None:
    problems = check(model, LEVEL_ORDERS)
    if problems:
        raise ModelRefused(problems)
    path = Path(model_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(model, indent=2), encoding="utf-8")
    partial.replace(path)


def load_model(model_path: str | Path) -> dict[str, Any]:
    """A saved model, refused (naming the level) if it breaks the rules of `weights.check`."""
    model: dict[str, Any] = json.loads(Path(model_path).read_text(encoding="utf-8"))
    problems = check(model, LEVEL_ORDERS)
    if problems:
        raise ModelRefused([f"{model_path}: {problem}" for problem in problems])
    return model


def _register_labels(con: duckdb.DuckDBPyConnection, requests: Sequence[dict[str, Any]]) -> int:
    """Labelled pairs (request row, registry row) from the requests' `true_registry_id`; their number."""
    con.register("rt_truth", pa.table({
        "rt_row": pa.array(range(len(requests)), pa.int64()),
        "true_registry_id": pa.array([_text(row.get("true_registry_id")) for row in requests], pa.string()),
    }))
    con.execute("""CREATE OR REPLACE TABLE rt_labels AS
        SELECT 'requests' AS source_dataset_l, t.rt_row AS unique_id_l,
               'registry' AS source_dataset_r, r.rt_row AS unique_id_r
        FROM rt_truth t JOIN rt_registry_raw r
             ON """ + canonical_sql("CAST(r.registry_id AS VARCHAR)") + " = t.true_registry_id")
    _pairs_view(con, "rt_label_pairs", "rt_labels b JOIN rt_requests l ON l.unique_id = b.unique_id_l"
                " JOIN rt_registry r ON r.unique_id = b.unique_id_r")
    (labelled,) = con.execute("SELECT count(*) FROM rt_labels").fetchall()[0]
    return int(labelled)


def train(
    registry_path: str | Path,
    model_path: str | Path,
    *,
    sample_requests: str | Path | None = None,
    seed: int = 7,
    u_pairs: float = U_SAMPLE_PAIRS,
    error_model: Any = None,
    work_dir: str | Path | None = None,
    memory_limit: str | None = None,
) -> dict[str, Any]:
    """Train the linkage model on a registry and save it as Splink model JSON at `model_path`.

    `work_dir` and `memory_limit` put the scratch database on disk, as `link` does (a
    registry of tens of millions does not fit in memory normalised).

    u probabilities come from random request × registry pairs; m probabilities from
    labelled pairs: `sample_requests` (Parquet with `true_registry_id`), or, if none is
    given, requests drawn from the registry itself and corrupted with `error_model` (by
    default the "training" preset of `synthetic.registry.ERROR_MODELS`: today's errors plus a
    little of every other kind). The raw estimates are then made sane (`weights.regularise`) and the
    model is refused if it still breaks a rule (`weights.check`). Returns a summary with the
    weight table.
    """
    started = time.perf_counter()
    con, database = _connect(work_dir, memory_limit)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            rows = _register_registry(con, registry_path)
            if sample_requests is None:
                sample_requests = Path(scratch) / "training_requests.parquet"
                size = min(TRAINING_REQUESTS, rows)
                make_requests(registry_path, size, seed, error_model or ERROR_MODELS["training"], sample_requests)
            requests = _load_requests(sample_requests)
        _register_requests(con, requests)
        labelled = _register_labels(con, requests)
        raw_linker = _linker(con, settings(rows))
        # A small registry needs (and has) fewer random pairs; a twentieth of them is plenty.
        u_pairs = min(u_pairs, 0.05 * rows * len(requests))
        raw_linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
        raw_linker.training.estimate_m_from_pairwise_labels(raw_linker._db_api.register("rt_labels"))
        raw = raw_linker.misc.save_model_to_json()
        shares = _not_null_shares(con, "rt_label_pairs", raw)
        model = _finish(con, raw, {name: share * labelled for name, share in shares.items()}, u_pairs, seed)
    finally:
        _close(con, database)
    _save(model, model_path)
    return {
        "registry": rows,
        "labelled_pairs": labelled,
        "u_pairs": int(u_pairs),
        "seconds": round(time.perf_counter() - started, 3),
        "match_weights": _match_weights(model),
        "raw_match_weights": _match_weights(raw),
    }


# Expectation maximisation sessions: each blocks on some fields and estimates m for the
# comparisons that do not use them. A cédula pairs almost only true pairs; a birth date
# with day and month sorted, or a given name with a first surname and a year, pair a
# request with a few dozen registry records, of which one may be the person.
EM_BLOCKING_RULES = [
    "l.cedula = r.cedula",
    "l.dob_sorted = r.dob_sorted",
    "l.given1_ph = r.given1_ph AND l.surname1_ph = r.surname1_ph AND l.birth_year = r.birth_year",
]
EM_REQUESTS = 5_000
# Comparisons EM leaves as the labelled start has them (see `train_em`).
EM_KEEPS_START = frozenset({"sex"})


def train_em(
    registry_path: str | Path,
    requests: Iterable[dict[str, Any]] | str | Path,
    model_path: str | Path,
    *,
    start_model: str | Path,
    national_share: float = NATIONAL_PRIOR,
    seed: int = 7,
    u_pairs: float = U_SAMPLE_PAIRS,
) -> dict[str, Any]:
    """Re-estimate m by expectation maximisation on an installation's own requests (no labels).

    Starts from `start_model` (trained by `train` on the synthetic error model), re-estimates
    u from random pairs of these requests and the registry, then m by Splink's EM over
    `EM_BLOCKING_RULES` (each session leaves out the fields it blocks on), and makes the
    result sane as `train` does. Saves to `model_path`; returns the weights before and after.
    """
    started = time.perf_counter()
    start = load_model(start_model)
    rows = _load_requests(requests)[:EM_REQUESTS]
    con, database = _connect(None, None)
    try:
        registry_rows = _register_registry(con, registry_path)
        _register_requests(con, rows)
        # The sex comparison reads the given names, which the names session blocks on: its pairs all fall
        # in "same, as the given name says", the other agreeing level's m underflows and the session stops
        # (the birth date, which only that session trains, was never learned). It keeps the start's.
        model = {**start, "probability_two_random_records_match": national_share / max(registry_rows, 1),
                 "comparisons": [c for c in start["comparisons"] if c["output_column_name"] not in EM_KEEPS_START]}
        linker = _linker(con, model)
        u_pairs = min(u_pairs, 0.05 * registry_rows * len(rows))
        linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
        sessions = 0
        for rule in EM_BLOCKING_RULES:
            try:
                # The share of true pairs among a session's pairs follows from the prior (one
                # national in `national_share` of requests), not from EM's own guess, which
                # drifts towards whatever cluster of look-alikes the blocking gathers.
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, fix_u_probabilities=True, fix_probability_two_random_records_match=True,
                    estimate_without_term_frequencies=True)
                sessions += 1
            except Exception as exc:  # a session with no pairs (no cédula at all, say) teaches nothing
                logging.getLogger(__name__).warning("EM session on %s skipped: %s", rule, exc)
        learned = linker.misc.save_model_to_json()
        random_shares = _random_pair_shares(con, learned, seed)
        # EM's matches are expected, not counted: about one per national request. The start
        # (the synthetic error model) stays in as EM_PRIOR_PAIRS pseudo-pairs.
        expected = {name: national_share * len(rows) * share for name, share in random_shares.items()}
        raw = _blend(start, learned, expected, EM_PRIOR_PAIRS)
        trained = _finish(con, raw, {name: pairs + EM_PRIOR_PAIRS for name, pairs in expected.items()},
                          u_pairs, seed)
        # A comparison EM's model came back without is the start's as it was (`_blend`), sane as it was checked.
        kept = {c["output_column_name"] for c in learned["comparisons"]}
        trained["comparisons"] = [c if c["output_column_name"] in kept else copy.deepcopy(
            next(s for s in start["comparisons"] if s["output_column_name"] == c["output_column_name"]))
            for c in trained["comparisons"]]
    finally:
        _close(con, database)
    _save(trained, model_path)
    return {"registry": registry_rows, "requests": len(rows), "sessions": sessions,
            "seconds": round(time.perf_counter() - started, 3),
            "weights_before": _match_weights(start), "match_weights": _match_weights(trained)}


# How many true pairs the synthetic start model counts for against what EM estimates.
EM_PRIOR_PAIRS = 1_000.0


def _blend(start: dict[str, Any], learned: dict[str, Any], pairs: dict[str, float], prior_pairs: float
           ) -> dict[str, Any]:
    """The learned model with each m its counts added to the start's, the start worth `prior_pairs` pairs.

    `pairs` is how many pairs the learned m of each comparison was estimated over. A comparison
    the learned model lacks or no session estimated keeps the start's: when the one session
    blocking on names, which alone trains the birth date, stopped on an m underflowing (at 200k
    and 1M records, shifted errors), Splink's model came back without the birth date, and the
    EM model, weighing no date at all, verified 0.26 of the nationals the labelled model verified
    0.85 of (1M, no cédula).
    """
    model = copy.deepcopy(learned)
    have = {c["output_column_name"] for c in model["comparisons"]}
    order = [c["output_column_name"] for c in start["comparisons"]]
    model["comparisons"] = sorted(
        model["comparisons"] + [copy.deepcopy(c) for c in start["comparisons"] if c["output_column_name"] not in have],
        key=lambda c: order.index(c["output_column_name"]) if c["output_column_name"] in order else len(order))
    missing = {c["output_column_name"] for c in start["comparisons"]} - have
    prior = {(c["output_column_name"], level["label_for_charts"]): level.get("m_probability")
             for c in start["comparisons"] for level in c["comparison_levels"]}
    for comparison in model["comparisons"]:
        estimated = comparison["output_column_name"] not in missing and any(
            isinstance(level.get("m_probability"), int | float)
            for level in comparison["comparison_levels"] if not level.get("is_null_level"))
        n = pairs.get(comparison["output_column_name"], 0.0) if estimated else 0.0
        for level in comparison["comparison_levels"]:
            before = prior.get((comparison["output_column_name"], level["label_for_charts"]))
            if level.get("is_null_level") or not isinstance(before, int | float):
                continue
            counted = float(level.get("m_probability") or 0.0) * n
            level["m_probability"] = (counted + prior_pairs * float(before)) / (n + prior_pairs)
    return model


def train_from_labels(
    registry_path: str | Path,
    labelled_requests: Sequence[dict[str, Any]],
    model_path: str | Path,
    *,
    start_model: str | Path,
    prior_pairs: float = 500.0,
    seed: int = 7,
) -> dict[str, Any]:
    """Update m from labelled pairs an installation's officers decided (`true_registry_id`).

    Officers decide the cases the model was unsure of, so their pairs hold more errors than
    the installation's requests at large: their counts are added to the start model's m
    taken as `prior_pairs` pseudo-pairs, not put in its place. u stays the start model's.
    """
    started = time.perf_counter()
    start = load_model(start_model)
    con, database = _connect(None, None)
    try:
        registry_rows = _register_registry(con, registry_path)
        _register_requests(con, list(labelled_requests))
        labelled = _register_labels(con, list(labelled_requests))
        if not labelled:
            raise InvalidInput("none of the decisions names a record of this registry: nothing to learn from")
        linker = _linker(con, {**start, "probability_two_random_records_match":
                               NATIONAL_PRIOR / max(registry_rows, 1)})
        linker.training.estimate_m_from_pairwise_labels(linker._db_api.register("rt_labels"))
        learned = linker.misc.save_model_to_json()
        shares = _not_null_shares(con, "rt_label_pairs", learned)
        model = _blend(start, learned, {name: share * labelled for name, share in shares.items()}, prior_pairs)
        random_shares = {c["output_column_name"]: 1.0 for c in model["comparisons"]}
        seen = {name: Seen(prior_pairs + shares[name] * labelled, U_SAMPLE_PAIRS * share)
                for name, share in random_shares.items()}
        model = regularise(model, seen, LEVEL_ORDERS, _tf_baselines(con, model))
        problems = check(model, LEVEL_ORDERS)
        if problems:
            raise ModelRefused(problems)
    finally:
        _close(con, database)
    _save(model, model_path)
    return {"labelled_pairs": labelled, "seconds": round(time.perf_counter() - started, 3),
            "weights_before": _match_weights(start), "match_weights": _match_weights(model)}


def _match_weights(model: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Match weight (log2 m/u) of every non-null level, by comparison and level label."""
    table: dict[str, dict[str, float | None]] = {}
    for row in weight_table(model):
        table.setdefault(row["comparison"], {})[row["level"]] = row["weight"]
    return table


_AGREEMENT_SQL = """
    CASE WHEN q.given_names IS NULL OR g.given_names IS NULL THEN 'missing'
         WHEN q.given_names = g.given_names THEN 'agree'
         -- A compound name cut short with a typo in what is left (JPOSÉ for JOSÉ EUSEBIO) is a slip, as the
         -- comparison's level "first given name one edit apart" weighs it, not another name.
         WHEN q.given1 = g.given1 OR jaro_winkler_similarity(q.given_names, g.given_names) >= 0.88
              OR damerau_levenshtein(q.given1, g.given1) <= 1
              OR q.given_names = g.surname1 OR q.given_names = g.surname2 THEN 'partial' ELSE 'disagree' END
              AS a_given_names,
    CASE WHEN q.surname1 IS NULL OR g.surname1 IS NULL THEN 'missing'
         WHEN q.surname1 = g.surname1 THEN 'agree'
         WHEN damerau_levenshtein(q.surname1, g.surname1) <= 2 OR q.surname1 = g.surname2
              OR q.surname1 = g.given_names OR q.surname1 = g.given1 THEN 'partial' ELSE 'disagree' END
              AS a_first_surname,
    CASE WHEN q.surname2 IS NULL OR g.surname2 IS NULL THEN 'missing'
         WHEN q.surname2 = g.surname2 THEN 'agree'
         WHEN damerau_levenshtein(q.surname2, g.surname2) <= 2 OR q.surname2 = g.surname1
              THEN 'partial' ELSE 'disagree' END AS a_second_surname,
    CASE WHEN q.sex IS NULL OR g.sex IS NULL THEN 'missing'
         WHEN q.sex = g.sex THEN 'agree' ELSE 'disagree' END AS a_sex,
    CASE WHEN q.birth_year IS NULL OR g.birth_year IS NULL THEN 'missing'
         WHEN q.dob = g.dob THEN 'agree'
         WHEN q.dob_sorted = g.dob_sorted OR damerau_levenshtein(q.dob_s, g.dob_s) <= 1 THEN 'partial'
         -- A date without its day or month agreeing on the year and all else both have: not a slip of
         -- a known date but a date known in part, which names a month of births, not a person.
         WHEN (q.dob IS NULL OR g.dob IS NULL) AND q.birth_year = g.birth_year
              AND (q.birth_month = g.birth_month OR q.birth_day = g.birth_day)
              AND coalesce(q.birth_month = g.birth_month, true) AND coalesce(q.birth_day = g.birth_day, true)
              THEN 'incomplete' ELSE 'disagree' END AS a_birth_date,
    CASE WHEN q.birth_place IS NULL OR g.birth_place IS NULL THEN 'missing'
         WHEN q.birth_place = g.birth_place THEN 'agree'
         WHEN q.birth_place = g.birth_region OR q.birth_region = g.birth_place THEN 'partial'
         ELSE 'disagree' END AS a_birth_place,
    CASE WHEN q.cedula IS NULL OR g.cedula IS NULL THEN 'missing'
         WHEN q.cedula = g.cedula THEN 'agree'
         WHEN damerau_levenshtein(q.cedula, g.cedula) <= 1 THEN 'partial' ELSE 'disagree' END AS a_cedula
"""


# The birth dates as compared, in parts, for the age-of-majority rule (`anchors.crosses_majority`).
_BORN_COLUMNS = ("rt_q_year", "rt_q_month", "rt_q_day", "rt_g_year", "rt_g_month", "rt_g_day")
_BORN_SQL = """q.birth_year AS rt_q_year, q.birth_month AS rt_q_month, q.birth_day AS rt_q_day,
    g.birth_year AS rt_g_year, g.birth_month AS rt_g_month, g.birth_day AS rt_g_day"""

# The registry's normalised columns the field-by-field agreement reads.
_AGREEMENT_COLUMNS = tuple(sorted(set(re.findall(r"\bg\.(\w+)", _AGREEMENT_SQL))))


def link(
    requests: Iterable[dict[str, Any]] | str | Path,
    registry_path: str | Path,
    model_path: str | Path,
    thresholds: Thresholds = Thresholds(),
    *,
    work_dir: str | Path | None = None,
    memory_limit: str | None = None,
    engine: Engine | None = None,
) -> list[LinkDecision]:
    """Link verification requests to the registry with a saved model; one decision per request.

    `requests` is a list of dicts or a Parquet path with request_id, given_names,
    first_surname, second_surname, sex, birth_date, birth_place, cedula. The registry
    (Parquet or CSV) has registry_id and the same person fields, or is a prepared directory
    (`prepared.prepare`). `work_dir` puts the scratch database on disk (with `memory_limit`,
    e.g. "4GB") for registries that do not fit in memory; `engine` scores the pairs on
    another engine (Spark). Decisions come back in the order of the requests.
    """
    return link_with_stats(
        requests, registry_path, model_path, thresholds, work_dir=work_dir, memory_limit=memory_limit,
        engine=engine,
    )[0]


def link_with_stats(
    requests: Iterable[dict[str, Any]] | str | Path,
    registry_path: str | Path,
    model_path: str | Path,
    thresholds: Thresholds = Thresholds(),
    *,
    work_dir: str | Path | None = None,
    memory_limit: str | None = None,
    engine: Engine | None = None,
    narrow: bool = True,
) -> tuple[list[LinkDecision], dict[str, Any]]:
    """`link`, plus figures about the run: registry size, pairs scored, seconds per stage.

    `engine` scores the candidate pairs elsewhere (`spark.SparkEngine`, on a prepared
    registry); the ranking of candidates and the decisions are drawn here, by the same code
    whichever engine scored. On DuckDB, `narrow` scores the same pairs with less work
    (`narrowing`: only the candidates of a prepared registry read in full, edit distances
    bounded first); `narrow=False` is the plain path the tests hold it equal to.
    """
    model = load_model(model_path)
    rows = _load_requests(requests)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    con, database = _connect(work_dir, memory_limit)
    try:
        _register_requests(con, rows)
        registry_rows, lookups = _register_any_registry(con, registry_path)
        timings["prepare_seconds"] = time.perf_counter() - clock
        scoring = linking_model(model, registry_rows, thresholds)
        if engine is None and narrow and prepared.is_prepared(registry_path):
            rules = [rule["blocking_rule"] for rule in scoring["blocking_rules_to_generate_predictions"]]
            linker = _linker(con, narrowing.cheap_conditions_first(scoring), lookups)
            predictions = narrowing.predict_candidates(con, linker, registry_path, rules, _AGREEMENT_COLUMNS)
        elif engine is None and narrow:
            linker = _linker(con, narrowing.bound_edit_distances(scoring), lookups)
            predictions = linker.inference.predict(warning_mode="never").physical_name
        elif engine is None:
            predictions = _linker(con, scoring, lookups).inference.predict(warning_mode="never").physical_name
        else:
            if not prepared.is_prepared(registry_path):
                raise InvalidInput("the %(engine)s engine links a prepared registry: prepare %(path)s first with "
                                   "`retorno verify prepare`", engine=engine.name, path=registry_path)
            con.register("rt_predictions", engine.predict(requests_table(rows), registry_path, scoring, lookups))
            predictions = "rt_predictions"
        timings["predict_seconds"] = time.perf_counter() - clock - timings["prepare_seconds"]
        (pairs,) = con.execute(f"SELECT count(*) FROM {predictions}").fetchall()[0]
        candidates = _top_candidates(con, predictions, thresholds.national_share)
    finally:
        _close(con, database)
    decisions = [_decide(row["request_id"], candidates.get(i, []), thresholds, declared_cedula=row.get("cedula"))
                 for i, row in enumerate(rows)]
    timings["seconds"] = time.perf_counter() - clock
    stats = {"registry": registry_rows, "requests": len(rows), "pairs_scored": int(pairs)}
    return decisions, stats | {name: round(value, 3) for name, value in timings.items()}


def linking_model(model: dict[str, Any], registry_rows: int, thresholds: Thresholds) -> dict[str, Any]:
    """A saved model as it links against a registry of `registry_rows` records, on any engine.

    The prior depends on the registry linked against, not the one trained on; the blocking
    rules are this version's, not those saved with the model.
    """
    return {**model,
            "probability_two_random_records_match": thresholds.national_share / max(registry_rows, 1),
            "blocking_rules_to_generate_predictions": settings(registry_rows)["blocking_rules_to_generate_predictions"]}


def _register_any_registry(con: duckdb.DuckDBPyConnection, registry_path: str | Path
                           ) -> tuple[int, dict[str, pa.Table]]:
    """A registry file normalised now, or a prepared directory read as it is (with its term frequencies).

    Returns the number of records and the term-frequency lookups to give Splink (none for a
    file: Splink counts them over the requests and the registry).
    """
    if not prepared.is_prepared(registry_path):
        return _register_registry(con, registry_path), {}
    manifest = prepared.read_manifest(registry_path)
    columns = [row[0] for row in con.execute("DESCRIBE rt_requests").fetchall()]
    con.execute(f"CREATE OR REPLACE VIEW rt_registry AS {prepared.registry_sql(registry_path, columns)}")
    con.execute(f"CREATE OR REPLACE VIEW rt_registry_raw AS {prepared.source_record_sql(registry_path)}")
    return manifest.rows, prepared.tf_tables(registry_path)


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
    # Candidates with equal posteriors (the same agreement pattern) in registry order, as they were chosen:
    # without it DuckDB's parallel sort orders them differently from one run to the next.
    result = con.sql(f"""
        SELECT t.q_row, t.posterior, {_AGREEMENT_SQL}, {_BORN_SQL}, raw.* EXCLUDE (rt_row)
        FROM rt_top t
        JOIN rt_requests q ON q.unique_id = t.q_row
        JOIN rt_registry g ON g.unique_id = t.g_row
        JOIN rt_registry_raw raw ON raw.rt_row = t.g_row
        ORDER BY t.q_row, t.posterior DESC, t.g_row""").to_arrow_table()
    found: dict[int, list[Candidate]] = {}
    record_columns = [name for name in result.column_names if name not in ("q_row", "posterior", *_BORN_COLUMNS)
                      and not name.startswith("a_")]
    for row in result.to_pylist():
        candidate = Candidate(
            registry_id=row.get("registry_id"),
            probability=float(row["posterior"]),
            record={name: row[name] for name in record_columns},
            agreement={name: row[f"a_{name}"] for name in FIELDS},
            deceased=is_deceased(row),
            declared_born=(row["rt_q_year"], row["rt_q_month"], row["rt_q_day"]),
            registry_born=(row["rt_g_year"], row["rt_g_month"], row["rt_g_day"]),
        )
        found.setdefault(row["q_row"], []).append(candidate)
    return found


def _decide(request_id: Any, candidates: list[Candidate], thresholds: Thresholds, today: date | None = None,
            declared_cedula: object = None) -> LinkDecision:
    """Turn a request's ranked candidates into verified / review / not found.

    Verified needs both a posterior at or above the upper threshold and an anchor (the birth
    date or the cédula agreeing, `anchors.is_anchored`); a strong posterior without one goes
    to review. Nor is a match verified whose registry birth date and declared one put the person on
    different sides of the age of majority on `today` (the day of the run; reason
    `anchors.AGE_OF_MAJORITY`), or whose birth date is further off than a slip whatever the cédula
    (`anchors.BIRTH_DATE_DISAGREES`): both go to review. A request whose best candidate the
    registry records as deceased is never verified without a person, however strong the match:
    it goes to review, with that reason (`anchors.DECEASED`) — someone may be travelling on a
    dead person's identity. Nor one whose registry cédula is a foreign resident's (E), or whose declared cédula's letter
    is another than the registry's (`anchors.nationality_held_back`): the letter is the nationality verified. A name
    that is not exactly the registry's, with no cédula agreeing, is verified only from
    `thresholds.inexact_name` on, and below it goes to review (`anchors.INEXACT_NAME`). Below the
    lower threshold, or with no candidate at all, the case is not found.
    """
    best = candidates[0] if candidates else None
    reason = None
    if best is None or best.probability < thresholds.lower:
        outcome: Outcome = "not_found"
    elif best.deceased:
        outcome, reason = "review", DECEASED
    elif held := nationality_held_back(best.record.get("cedula"), declared_cedula):
        outcome, reason = "review", held
    elif best.probability >= thresholds.upper and is_anchored(best.agreement, best.record, best.probability):
        if crosses_majority(best.declared_born, best.registry_born, today or date.today()):
            outcome, reason = "review", AGE_OF_MAJORITY
        elif birth_date_disagrees(best.agreement):
            outcome, reason = "review", BIRTH_DATE_DISAGREES
        elif needs_a_person_for_the_name(best.agreement, best.record, best.probability, thresholds.inexact_name):
            outcome, reason = "review", INEXACT_NAME
        else:
            outcome = "verified"
    else:
        outcome = "review"
    return LinkDecision(
        request_id=request_id,
        outcome=outcome,
        probability=best.probability if best else 0.0,
        registry_id=best.registry_id if best and outcome != "not_found" else None,
        candidates=candidates,
        reason=reason,
    )


def blocked_true_pairs(requests: Iterable[dict[str, Any]] | str | Path, registry_path: str | Path
                       ) -> dict[Any, bool]:
    """For every request that names its `true_registry_id`, whether a blocking rule pairs it with that record.

    The blocking recall of an evaluation: a true pair no rule proposes is lost whatever the
    model says. Each rule is tried both ways round, as Splink may put either dataset on the left.
    `registry_path` is a registry file or a prepared directory (read as it is, not normalised again).
    """
    rows = _load_requests(requests)
    con, database = _connect(None, None)
    try:
        _register_requests(con, rows)
        _register_any_registry(con, registry_path)
        _register_labels(con, rows)
        rules = " OR ".join(f"({rule})" for rule in BLOCKING_RULES)
        flipped = re.sub(r"\b([lr])\.", lambda side: ("r" if side.group(1) == "l" else "l") + ".", rules)
        found = con.execute(f"""
            SELECT l.unique_id, coalesce({rules}, false) OR coalesce({flipped}, false) AS blocked
            FROM rt_labels b JOIN rt_requests l ON l.unique_id = b.unique_id_l
            JOIN rt_registry r ON r.unique_id = b.unique_id_r""").fetchall()
    finally:
        _close(con, database)
    blocked = {int(unique_id): bool(value) for unique_id, value in found}
    return {row["request_id"]: blocked.get(i, False) for i, row in enumerate(rows)
            if row.get("true_registry_id") is not None}
