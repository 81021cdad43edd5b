"""Linking a prepared registry without reading what cannot be a candidate: the same pairs, the same weights, less work.

A run's requests are few (thousands) and a national registry is large (millions): most of
its records share no blocking key with any request. Three steps, none of which changes a
pair or a weight:

- `block_sql` finds the pairs of the model's blocking rules on the whole registry, reading only
  the blocking keys from the prepared Parquet: one plain join per rule (or per condition several
  rules begin with, `SHARED_CONDITIONS`), on integer ids, each pair kept once with the number of
  the first rule that finds it. Splink's blocking gives the same pairs with a chain of "no
  earlier rule holds" conditions evaluated on every pair each rule finds, and string keys
  ("registry-__-<id>"). Only the compared columns of the candidates are read, not the keys.
- `predict_candidates` then reads in full only the records those pairs name (about a third
  of a million people for 10,000 requests), and `score` has Splink's own SQL for the model
  score the pairs, joined to their records on the integer ids. Each pair's comparison reads
  only its own two records, and the term frequencies are the prepared registry's lookups,
  not counted over the records given to Splink, so the pairs and their match weights are the
  ones the whole registry gives; the prior comes from the manifest's number of records.
- `bound_edit_distances` rewrites each `damerau_levenshtein(a, b) <= k` of the model's levels
  into a CASE that computes that distance only where cheaper bounds leave it open. Within one
  edit: strings of one length are within it where their Hamming distance is at most one and
  not where it is above two (a substitution changes one position, a transposition two), and
  strings whose lengths differ by one where their Levenshtein distance is one (an insertion).
  Within k > 1: the lengths differing by more than k rule it out, a Levenshtein distance
  within k settles it (every Levenshtein edit is a Damerau-Levenshtein one), and one beyond
  2k rules it out (a transposition is two Levenshtein edits). A length condition after the
  distance is evaluated first. The CASE has the original's value (null where a side is
  missing), so every pair falls in the same level. Before that, `cheap_first` puts a level's
  conjuncts that compute no distance before those that do (AND is commutative in three-valued
  logic), and a word looked for in a name is first looked for as a plain substring.

A test links the same requests both ways (`link_with_stats(narrow=False)`, Splink's own
blocking and scoring of the whole registry) and holds the decisions, candidates and
probabilities equal.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import duckdb

from retorno.verification import prepared

_SIDE = re.compile(r"\b([lr])\.")
_DISTANCE = re.compile(r"damerau_levenshtein\((\w+), (\w+)\) <= (\d+)")
_LENGTH_AFTER_DISTANCE = re.compile(r"(damerau_levenshtein\(\w+, \w+\) <= \d+) AND (length\(\w+\) >= \d+)")
_PADDED_CONTAINS = re.compile(r"contains\(' ' \|\| (\w+) \|\| ' ', ' ' \|\| (\w+) \|\| ' '\)")
# A level comparing one side's field with the other's, picked by which side the request is on.
_SIDED_DISTANCE = re.compile(
    r"CASE WHEN (\w+) THEN damerau_levenshtein\((\w+), (\w+)\) ELSE damerau_levenshtein\((\w+), (\w+)\) END <= (\d+)")


def _bounded(a: str, b: str, k: int) -> str:
    # A CASE, not a chain of AND and OR: DuckDB evaluates a branch only for the rows that reach
    # it, and Splink's check of which levels are exact matches does not expand it into clauses.
    # Where no branch is taken (a side missing) the CASE is null, as the distance is.
    if k == 1:
        # One edit keeps the length (a substitution, or a transposition: two positions apart)
        # or changes it by one (an insertion or deletion, which is Levenshtein's too). The
        # Hamming distance of strings of one length settles it unless it is exactly two.
        # (Equal strings first: DuckDB's Hamming distance refuses two empty strings.)
        # The bound that rules a pair out comes first: most pairs compared are of different people,
        # and each test computes its distance again.
        return (f"CASE WHEN {a} = {b} THEN true"
                f" WHEN length({a}) = length({b}) THEN CASE WHEN hamming({a}, {b}) > 2 THEN false"
                f" WHEN hamming({a}, {b}) <= 1 THEN true ELSE damerau_levenshtein({a}, {b}) <= 1 END"
                f" WHEN abs(length({a}) - length({b})) = 1 THEN levenshtein({a}, {b}) <= 1"
                f" WHEN abs(length({a}) - length({b})) > 1 THEN false END")
    return (f"CASE WHEN abs(length({a}) - length({b})) > {k} THEN false"
            f" WHEN levenshtein({a}, {b}) > {2 * k} THEN false WHEN levenshtein({a}, {b}) <= {k} THEN true"
            f" ELSE damerau_levenshtein({a}, {b}) <= {k} END")


def bounded_condition(sql: str) -> str:
    """A level's SQL with every Damerau-Levenshtein threshold computed only where the bounds leave it open.

    A length condition after a distance in a conjunction (`... <= 2 AND length(x) >= 7`) is
    moved before it, so the distance is computed only where the length holds: AND is
    commutative, nulls included. A word looked for in a name (`contains(' ' || a || ' ', ' ' ||
    b || ' ')`) is first looked for as a plain substring, which it must be, without building
    the padded strings (null where a side is missing, as the original).
    """
    sql = _PADDED_CONTAINS.sub(lambda m: (f"CASE WHEN NOT contains({m[1]}, {m[2]}) THEN false ELSE {m[0]} END"),
                               sql)
    sided = _SIDED_DISTANCE.sub(
        lambda m: (f"CASE WHEN {m[1]} THEN damerau_levenshtein({m[2]}, {m[3]}) <= {m[6]}"
                   f" ELSE damerau_levenshtein({m[4]}, {m[5]}) <= {m[6]} END"), sql)
    ordered = _LENGTH_AFTER_DISTANCE.sub(lambda m: f"{m[2]} AND {m[1]}", sided)
    return _DISTANCE.sub(lambda m: _bounded(m[1], m[2], int(m[3])), ordered)


_COSTLY = re.compile(r"levenshtein\(|jaro|hamming\(")


def _top_level(sql: str, word: str) -> list[str]:
    """`sql` split at `word` (AND, OR) where it is outside every parenthesis and CASE ... END."""
    parts, depth, start = [], 0, 0
    tokens = re.finditer(r"\(|\)|'(?:[^']|'')*'|\b(?:CASE|END|AND|OR)\b", sql, re.IGNORECASE)
    for token in tokens:
        text = token.group(0).upper()
        if text in ("(", "CASE"):
            depth += 1
        elif text in (")", "END"):
            depth -= 1
        elif text == word and depth == 0:
            parts.append(sql[start:token.start()].strip())
            start = token.end()
    return [*parts, sql[start:].strip()]


def cheap_first(sql: str) -> str:
    """A level's condition with the conjuncts that compute no distance before those that do.

    In a CASE a conjunction stops at its first false conjunct, so a cheap condition most
    pairs fail (a second surname missing, or agreeing) spares the distance. AND is commutative,
    nulls included (three-valued logic), so the level holds for the same pairs. Only a plain
    conjunction at the top is reordered: one with an OR (or a BETWEEN) at the top is left as it is.
    """
    if "BETWEEN" in sql.upper() or len(_top_level(sql, "OR")) > 1:
        return sql
    conjuncts = _top_level(sql, "AND")
    ordered = sorted(conjuncts, key=lambda conjunct: bool(_COSTLY.search(conjunct)))
    return sql if ordered == conjuncts else " AND ".join(ordered)


def cheap_conditions_first(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Splink model whose levels test their cheap conditions first (`cheap_first`)."""
    reordered = copy.deepcopy(model)
    for comparison in reordered["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = cheap_first(level["sql_condition"])
    return reordered


def bound_edit_distances(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Splink model whose levels test cheap conditions first and bound their edit distances.

    (`cheap_first`, then `bounded_condition`.)
    """
    bounded = cheap_conditions_first(model)
    for comparison in bounded["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = bounded_condition(level["sql_condition"])
    return bounded


# Conditions several blocking rules begin with that, on their own, pair a request with few registry
# records (a birth date with day and month sorted: a few dozen; a given name and surname written the
# other way round: fewer): the rules beginning with one are one join on it, each pair then kept with the
# first of them whose remaining conditions hold. A condition shared by rules but not selective on its
# own (a year and month of birth) is left out, or its join would pair each request with thousands.
SHARED_CONDITIONS = (
    "l.dob_sorted = r.dob_sorted",
    "l.given1_ph = r.surname1_ph AND l.surname1_first_ph = r.given1_ph",
    "r.given1_ph = l.surname1_ph AND r.surname1_first_ph = l.given1_ph",
)


def _rule_groups(rules: list[str], shared: tuple[str, ...]) -> list[tuple[str, list[tuple[int, str | None]]]]:
    """The rules as joins: (join condition, [(rule number, condition left to check or None)]), in rule order.

    A rule beginning with a shared condition followed by AND joins with the others that do; the
    rest of it is checked on the pairs that join.
    """
    groups: list[tuple[str, list[tuple[int, str | None]]]] = []
    by_condition: dict[str, list[tuple[int, str | None]]] = {}
    for number, rule in enumerate(rules):
        prefix = next((condition for condition in shared if rule.startswith(condition + " AND ")), None)
        if prefix is None:
            groups.append((rule, [(number, None)]))
            continue
        if prefix not in by_condition:
            by_condition[prefix] = []
            groups.append((prefix, by_condition[prefix]))
        by_condition[prefix].append((number, rule[len(prefix) + len(" AND "):]))
    return groups


def block_sql(registry: str, requests: str, rules: list[str], shared: tuple[str, ...] = SHARED_CONDITIONS) -> str:
    """SELECT of the pairs `rules` block, as integers: g the registry's unique id, q the request's, and match_key.

    The pairs Splink's blocking gives, found with less work: Splink joins on each rule and
    keeps a pair only where no earlier rule holds (a chain of conditions evaluated on every
    pair each rule finds), and keys pairs by strings ("registry-__-<id>"); here each rule is a
    plain join on its keys, and a pair found by several rules is kept once with the first
    rule's number, Splink's `match_key`. Rules beginning with one of the `shared` conditions
    are one join on it, each pair numbered by the first of them whose remaining conditions
    hold (a CASE, in rule order: a condition that is null holds no more than in a join), and
    dropped if none does. The registry is the left side (`l.`), the requests the right, as
    Splink orders the two datasets by name. DuckDB's SQL (`normalise.to_spark` gives Spark's).
    """
    found = []
    for condition, members in _rule_groups(rules, shared):
        if len(members) == 1 and members[0][1] is None:
            found.append(f"SELECT {members[0][0]} AS rule, l.unique_id AS g, r.unique_id AS q"
                         f" FROM {registry} l JOIN {requests} r ON {condition}")
            continue
        first = " ".join(f"WHEN {rest} THEN {number}" for number, rest in members if rest is not None)
        found.append(f"SELECT rule, g, q FROM (SELECT CASE {first} END AS rule, l.unique_id AS g, r.unique_id AS q"
                     f" FROM {registry} l JOIN {requests} r ON {condition}) AS joined WHERE rule IS NOT NULL")
    return (f"SELECT g, q, CAST(min(rule) AS VARCHAR) AS match_key FROM ({' UNION ALL '.join(found)}) AS found"
            " GROUP BY g, q")


def score(linker: Any, pairs: str, registry: str, requests: str, columns: list[str] | None = None) -> Any:
    """Splink's predictions for the pairs in `pairs` (g, q, match_key): Splink's own scoring SQL, joined on integers.

    `registry` and `requests` are tables (or views) of the compared columns with a
    `source_dataset` column (`columns`, if given, the linker's `_columns_to_select_for_blocking`);
    the term frequencies are the linker's registered lookups, joined
    as Splink joins them, and the comparison vectors and match weights are Splink's SQL for
    the linker's model, with its edit distances bounded (`bounded_condition`, applied to the
    SQL Splink generates: Splink parses every level to generate it, and the bounded levels are
    three times as long). Only the join of the pairs to their records is written here, on the
    integer ids instead of Splink's "<dataset>-__-<id>" strings (a fifth of the scoring's time).
    """
    from splink.internals.comparison_vector_values import compute_comparison_vector_values_from_id_pairs_sqls
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
    from splink.internals.term_frequencies import _join_tf_to_input_table_sql, append_term_frequencies_to_pipeline

    db_api, settings = linker._db_api, linker._settings_obj
    inputs = [db_api.table_to_splink_dataframe(name, name) for name in (pairs, registry, requests)]
    pipeline = CTEPipeline(inputs)
    append_term_frequencies_to_pipeline(linker, pipeline)
    for side, table in (("l", inputs[1]), ("r", inputs[2])):
        pipeline.enqueue_sql(_join_tf_to_input_table_sql(linker, table.templated_name, table), f"rt_with_tf_{side}")
    # Splink works the columns out by parsing every level (a tenth of a second each time): once here.
    blocking_columns = settings._columns_to_select_for_blocking if columns is None else columns
    pipeline.enqueue_sql(f"""SELECT {", ".join([*blocking_columns, "b.match_key"])} FROM {pairs} b
        JOIN rt_with_tf_l l ON l.unique_id = b.g JOIN rt_with_tf_r r ON r.unique_id = b.q""", "blocked_with_cols")
    vectors = compute_comparison_vector_values_from_id_pairs_sqls(
        blocking_columns, settings._columns_to_select_for_comparison_vector_values,
        input_tablename_l="rt_with_tf_l", input_tablename_r="rt_with_tf_r",
        source_dataset_input_column=settings.column_info_settings.source_dataset_input_column,
        unique_id_input_column=settings.column_info_settings.unique_id_input_column,
        link_type=settings._link_type, sql_dialect_str=linker._sql_dialect_str)
    # Splink's own join of the pairs to their records comes first; the comparison vectors follow it.
    # Spark has no Hamming distance, and its costs lie elsewhere: its levels are Splink's as they are.
    bound = bounded_condition if linker._sql_dialect_str == "duckdb" else str
    pipeline.enqueue_list_of_sqls([{**sql, "sql": bound(sql["sql"])} for sql in vectors
                                   if sql["output_table_name"] == "__splink__df_comparison_vectors"])
    pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls_using_settings(settings, None, None))
    return db_api.sql_pipeline_to_splink_dataframe(pipeline)


def predict_candidates(con: duckdb.DuckDBPyConnection, linker: Any, path: str | Path, rules: list[str],
                       shown: tuple[str, ...] = ()) -> str:
    """Score a run's pairs against a prepared registry (`path`) reading its records in full only for candidates.

    `linker` is a Splink linker over `rt_requests` and `rt_registry` (a view of the prepared
    Parquet with the compared columns) with the model as saved; `rules` its blocking rules. The pairs
    are blocked on the registry's keys (`block_sql`), the records they name are then read once,
    with the compared and the source's columns, into `rt_candidates`, and `rt_registry` and
    `rt_registry_raw` are made views of it, for the scoring (`score`) and the ranking. Of the
    normalised columns only those the model compares and those in `shown` (what the ranking
    reads besides) are read: the blocking keys are most of the rest, and reading them again for a
    third of the registry cost as much as the blocking's joins on them.
    Returns the predictions table's name.
    """
    blocking_columns = linker._settings_obj._columns_to_select_for_blocking
    compared = set(re.findall(r'"l"\."(\w+)"', " ".join(blocking_columns)))
    columns = [row[0] for row in con.execute("DESCRIBE rt_registry").fetchall()
               if row[0] in compared or row[0] in shown or row[0] == "is_request"]
    parquet = f"read_parquet('{prepared.registry_glob(path)}', hive_partitioning = false)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE rt_pairs AS {block_sql(parquet, 'rt_requests', rules)}")
    chosen = ", ".join("false AS is_request" if column == "is_request" else f"g.{column}" for column in columns)
    fields = ", ".join(f"g.src_{name}" for name in prepared.SOURCE_FIELDS)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE rt_candidates AS
        SELECT {chosen}, g.registry_id, {fields}, g.deceased, g.death_date FROM {parquet} g
        SEMI JOIN (SELECT DISTINCT g FROM rt_pairs) c ON c.g = g.unique_id""")
    con.execute(f"CREATE OR REPLACE VIEW rt_registry AS SELECT {', '.join(columns)} FROM rt_candidates")
    source = ", ".join(f"src_{name} AS {name}" for name in prepared.SOURCE_FIELDS)
    con.execute(f"""CREATE OR REPLACE VIEW rt_registry_raw AS
        SELECT unique_id AS rt_row, registry_id, {source}, deceased, death_date FROM rt_candidates""")
    con.execute(f"CREATE OR REPLACE TEMP VIEW rt_score_g AS SELECT 'registry' AS source_dataset, {', '.join(columns)}"
                " FROM rt_candidates")
    con.execute("CREATE OR REPLACE TEMP VIEW rt_score_q AS SELECT 'requests' AS source_dataset, * FROM rt_requests")
    return str(score(linker, "rt_pairs", "rt_score_g", "rt_score_q", blocking_columns).physical_name)
