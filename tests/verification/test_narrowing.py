"""The narrowed path links as the plain one does: the same pairs, decisions, candidates and probabilities.

`narrowing` reads only the candidates of a prepared registry in full and bounds every edit
distance before computing it; neither may change a pair or a weight.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from retorno.verification import narrowing, prepared
from retorno.verification.linkage import COMPARISONS, link_with_stats
from retorno.verification.normalise import install_macros
from tests.verification import test_cli_verify
from tests.verification.test_cli_verify import Files

files = test_cli_verify.files


def _everything(decisions: list[Any]) -> list[tuple[Any, ...]]:
    return [(d.request_id, d.outcome, d.registry_id, d.reason,
             [(c.registry_id, c.deceased, c.record, c.agreement) for c in d.candidates]) for d in decisions]


def _probabilities(decisions: list[Any]) -> list[float]:
    return [c.probability for d in decisions for c in d.candidates]


@pytest.mark.parametrize("prepare", [True, False], ids=["prepared", "source file"])
def test_the_narrowed_path_decides_as_the_plain_one(files: Files, tmp_path: Path, prepare: bool) -> None:
    registry = files.registry
    if prepare:
        registry = tmp_path / "prepared"
        prepared.prepare(files.registry, registry, partitions=3)
    narrowed, narrowed_stats = link_with_stats(files.requests, registry, files.model)
    plain, plain_stats = link_with_stats(files.requests, registry, files.model, narrow=False)
    assert narrowed_stats["pairs_scored"] == plain_stats["pairs_scored"] > 0
    assert _everything(narrowed) == _everything(plain)
    assert _probabilities(narrowed) == pytest.approx(_probabilities(plain), abs=1e-12)
    # Not a trivial run: requests verified and not found, and candidates that compete.
    assert {"verified", "not_found"} <= {d.outcome for d in narrowed}
    assert sum(len(d.candidates) > 1 for d in narrowed) >= 5


# Pairs where the bounds decide (lengths apart, Levenshtein within k or beyond 2k, Hamming within one or
# beyond two) and where they do not (transpositions, which Levenshtein counts twice and Hamming as two),
# shifts (one insertion and one deletion: Hamming counts every position between), letters outside ASCII,
# empty and missing values among them.
PAIRS = [("MARIA", "MARIA"), ("MARIA", "MAIRA"), ("MARIA", "AMRIA"), ("MARIA", "MARAI"), ("MARIA", "MARI"),
         ("MARIA", "MARIAS"), ("MARIA", "MRAI"), ("JOSE", "JSOE"), ("JOSE", "OJSE"), ("GONZALEZ", "GONZALES"),
         ("GONZALEZ", "GNOZALSE"), ("GONZALEZ", "GOZNALEZ"), ("FERNANDEZ", "HERNANDEZ"), ("FERNANDEZ", "FERNADNEZ"),
         ("CA", "ABC"), ("AB", "BA"), ("ABCD", "BADC"), ("ABCDEFGH", "BADCFEHG"), ("A", ""), ("", ""),
         ("PEREZ", None), (None, None), ("MARIA JOSE", "MARIA JSOE"), ("MARIA JOSE", "JOSE MARIA"),
         ("ALEJANDRO", "ALEJNADOR"), ("ALEJANDRO", "ALJEANDRO"), ("ALEJANDRO", "LAEJANDRO"), ("RODRIGUEZ", "RODRIGUES"),
         ("ABCDEFG", "BCDEFGX"), ("ABCDEFG", "ACDEFGH"), ("19850612", "19850621"), ("19850612", "19580612"),
         ("19850612", "19850613"), ("19850612", "1985612"), ("19850612", "91850621"), ("MUÑOZ", "MUNOZ"),
         ("MUÑOZ", "MUOÑZ"), ("PEÑA", "PENA"), ("ÑA", "AÑ")]


def test_bounded_edit_distances_agree_with_the_distance_itself() -> None:
    con = duckdb.connect()
    install_macros(con)
    con.execute("CREATE TABLE p (a VARCHAR, b VARCHAR)")
    con.executemany("INSERT INTO p VALUES (?, ?)", [*PAIRS, *((b, a) for a, b in PAIRS)])
    for k in (0, 1, 2, 3):
        condition = f"damerau_levenshtein(a, b) <= {k}"
        bounded = narrowing.bounded_condition(condition)
        assert bounded != condition
        # The same value, null included (not only the same truth).
        found = con.execute(f"SELECT count(*) FILTER (WHERE ({condition}) IS NOT DISTINCT FROM true),"
                            f" count(*) FILTER (WHERE ({condition}) IS DISTINCT FROM ({bounded})),"
                            f" count(*) FILTER (WHERE ({bounded}) IS NULL) FROM p").fetchall()
        assert found[0][1] == 0, (k, bounded)
        assert found[0][0] > 0
        assert found[0][2] > 0
    # A word looked for in a name is looked for as a substring first: the same value, null included.
    padded = "contains(' ' || a || ' ', ' ' || b || ' ')"
    assert narrowing.bounded_condition(padded) != padded
    (differ, found) = con.execute(f"SELECT count(*) FILTER (WHERE ({padded}) IS DISTINCT FROM "
                                  f"({narrowing.bounded_condition(padded)})), count(*) FILTER (WHERE {padded}) FROM"
                                  " (SELECT * FROM p UNION ALL SELECT 'MARIA JOSE', 'JOSE' UNION ALL SELECT 'JOSEFA',"
                                  " 'JOSE' UNION ALL SELECT 'ANA JOSE', 'ANA JOS')").fetchall()[0]
    assert differ == 0 and found >= 3
    # A length condition after a distance is moved before it, and nothing else changes.
    assert narrowing.bounded_condition("x_l = x_r AND damerau_levenshtein(a, b) <= 2 AND length(a) >= 7") == (
        "x_l = x_r AND length(a) >= 7 AND " + narrowing.bounded_condition("damerau_levenshtein(a, b) <= 2"))
    # Every distance in the model's levels is bounded: none is computed before its bounds.
    levels = [level["sql_condition"] for comparison in COMPARISONS for level in comparison["comparison_levels"]]
    rewritten = " ".join(narrowing.bounded_condition(sql) for sql in levels)
    distances = re.findall(r"damerau_levenshtein\(", rewritten)
    guarded = re.findall(
        r"(?:levenshtein|hamming)\((\w+), (\w+)\) > \d+ THEN false WHEN (?:levenshtein|hamming)\(\1, \2\) <= \d+"
        r" THEN true ELSE damerau_levenshtein\(\1, \2\) <= \d+", rewritten)
    assert len(distances) == len(guarded) > 5


def test_cheap_conditions_come_first_and_hold_for_the_same_pairs() -> None:
    # A distance after a cheap condition's conjunct moves behind it; a top-level OR, or no distance, leaves it.
    assert narrowing.cheap_first("damerau_levenshtein(a_l, a_r) <= 1 AND (b_l IS NULL OR b_r IS NULL)") == (
        "(b_l IS NULL OR b_r IS NULL) AND damerau_levenshtein(a_l, a_r) <= 1")
    assert narrowing.cheap_first("CASE WHEN x_l THEN levenshtein(a_l, b_r) ELSE levenshtein(b_l, a_r) END <= 1"
                                 " AND c_l = c_r") == (
        "c_l = c_r AND CASE WHEN x_l THEN levenshtein(a_l, b_r) ELSE levenshtein(b_l, a_r) END <= 1")
    for unchanged in ("damerau_levenshtein(a_l, a_r) <= 1 AND c_l = c_r OR d_l = d_r",
                      "a_l = a_r AND damerau_levenshtein(b_l, b_r) <= 1", "a_l = a_r AND b_l = b_r",
                      "a_l BETWEEN 1 AND 2 AND damerau_levenshtein(b_l, b_r) <= 1"):
        assert narrowing.cheap_first(unchanged) == unchanged
    # Every level of the model, reordered, holds for the same pairs (null where it is null).
    con = duckdb.connect()
    install_macros(con)
    # Every combination of a few values (near and far, missing) in the columns the reordered levels read.
    con.execute("CREATE TABLE v AS SELECT * FROM (VALUES ('MARIA'), ('MAIRA'), ('PEREZ'), ('PERES'), ('GONZALEZ'),"
                " ('GONZALES'), (NULL)) AS t(x)")
    columns = ("given_names_l", "surname1_r", "surname1_l", "given_names_r", "surname2_l", "surname2_r")
    con.execute(f"CREATE TABLE p AS SELECT is_request_l, {', '.join(f'c{i}.x AS {c}' for i, c in enumerate(columns))}"
                " FROM (VALUES (true), (false)) AS s(is_request_l), "
                + ", ".join(f"v AS c{i}" for i in range(len(columns))))
    changed = 0
    for comparison in COMPARISONS:
        for level in comparison["comparison_levels"]:
            sql = level["sql_condition"]
            if sql == "ELSE" or narrowing.cheap_first(sql) == sql:
                continue
            changed += 1
            (differ,) = con.execute(f"SELECT count(*) FILTER (WHERE ({sql}) IS DISTINCT FROM "
                                    f"({narrowing.cheap_first(sql)})) FROM p").fetchall()[0]
            assert differ == 0, sql
    assert changed >= 3
