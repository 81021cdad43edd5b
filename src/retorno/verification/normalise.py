"""Name and date normalisation for the linkage, as DuckDB SQL that agrees with `retorno.names`.

Splink does no normalisation: names are folded the ICAO way (accents dropped, Ñ→N) before
non-letters are removed, particles (DE, DEL, LA...) set aside, and a Spanish phonetic key
(b/v, s/z/c before e and i, y/ll, silent h, qu→k, g before e and i→j, doubled letters) built
for blocking. The same folding in Python and SQL is checked by the tests on hard names.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import duckdb

from retorno.names import PARTICLES, key
from retorno.verification.sources import reader_sql

# Venezuela's administrative regions and their states, as lists write them. A list that
# writes the region instead of the state agrees with each of its states at the region level.
REGIONS: dict[str, tuple[str, ...]] = {
    "CAPITAL": ("DISTRITO CAPITAL", "MIRANDA", "LA GUAIRA"),
    "CENTRAL": ("ARAGUA", "CARABOBO", "COJEDES"),
    "LOS LLANOS": ("APURE", "GUÁRICO"),
    "CENTRO-OCCIDENTAL": ("FALCÓN", "LARA", "PORTUGUESA", "YARACUY"),
    "ZULIANA": ("ZULIA",),
    "LOS ANDES": ("BARINAS", "MÉRIDA", "TÁCHIRA", "TRUJILLO"),
    "NOR-ORIENTAL": ("ANZOÁTEGUI", "MONAGAS", "SUCRE"),
    "INSULAR": ("NUEVA ESPARTA", "DEPENDENCIAS FEDERALES"),
    "GUAYANA": ("AMAZONAS", "BOLÍVAR", "DELTA AMACURO"),
}


def region_of(state: str) -> str:
    """The region a state (written as the registry writes it) belongs to; the state itself if none."""
    wanted = key(state)
    return next((region for region, states in REGIONS.items() if wanted in {key(s) for s in states}), state)


def _region_sql() -> str:
    """SQL CASE from a place's key (a state, or a region written with or without REGION) to its region's key."""
    cases = [f"WHEN '{key(state)}' THEN '{key(region)}'" for region, states in REGIONS.items() for state in states]
    cases += [f"WHEN '{key(region)}' THEN '{key(region)}'" for region in REGIONS]
    return f"CASE regexp_replace({{k}}, '^REGION ', '') {' '.join(cases)} END"


def _collapse_doubles(expr: str) -> str:
    """SQL that turns doubled letters into one; RE2 has no back-references, so one replace per letter."""
    for letter in "ABCDEFGIJKMNOPRSTUXZ":
        expr = f"replace({expr}, '{letter}{letter}', '{letter}')"
    return expr


# Spanish phonetic key for blocking: silent H, QU→K, G before E/I→J (GU before E/I keeps G),
# C before E/I→S, C/Q→K, Z→S, V→B, W→U, X→S, LL→Y, Y not before a vowel→I, doubles single.
_PHONETIC_SQL = (
    "nullif(regexp_replace("
    + _collapse_doubles(
        "replace(translate(regexp_replace(replace(replace(replace(replace("
        "regexp_replace(regexp_replace(replace({k}, ' ', ''),"
        " 'G([EI])', 'J\\1', 'g'), 'GU([EI])', 'G\\1', 'g'),"
        " 'QU', 'K'), 'CH', '#'), 'PH', 'F'), 'H', ''), 'C([EI])', 'S\\1', 'g'),"
        " 'CQZVWX', 'KKSBUS'), 'LL', 'Y')"
    )
    + ", 'Y([^AEIOU]|$)', 'I\\1', 'g'), '')"
)
_PARTICLE_LIST = "[" + ", ".join(f"'{p}'" for p in sorted(PARTICLES)) + "]"


# Each expression below is written once, in DuckDB's SQL, as a function of the SQL it applies
# to: DuckDB runs it as it is (and as the rt_* macros the tests call), Spark runs the same text
# transpiled by sqlglot (`to_spark`).
def fold_sql(text: str) -> str:
    """SQL folding a name as `retorno.names.fold` does.

    Upper first, then fold accents, then drop non-letters: dropping first would make MUÑOZ
    "MUOZ". DuckDB upper-cases ß to ẞ where Python writes SS, and strip_accents leaves Ø, Æ, Œ
    alone. Python's NFKD also unfolds ligatures and full-width letters (ﬁ, Ｊ), which SQL
    cannot; neither occurs in civil-registry or sending-side name lists. Python also reads
    Cyrillic and Greek letters that look like Latin ones as those (А as A, for duplicate
    detection); SQL drops them, as both did before: every door refuses a name in another
    alphabet, and a record stored so before verifies once its name is corrected.
    """
    return (f"nullif(trim(regexp_replace(strip_accents(replace(replace(replace(replace(replace(upper({text}),"
            " 'ß', 'SS'), 'ẞ', 'SS'), 'Æ', 'AE'), 'Ø', 'O'), 'Œ', 'OE')), '[^A-Z]+', ' ', 'g')), '')")


def key_sql(text: str) -> str:
    """SQL of a name's comparison key (`retorno.names.key`): folded, particles removed."""
    return (f"nullif(array_to_string(list_filter(string_split({fold_sql(text)}, ' '),"
            f" lambda w: w <> '' AND NOT list_contains({_PARTICLE_LIST}, w)), ' '), '')")


def phonetic_sql(key_expr: str) -> str:
    """SQL of the Spanish phonetic key of a comparison key."""
    return _PHONETIC_SQL.format(k=key_expr)


def region_sql(key_expr: str) -> str:
    """SQL from a place's key (a state, or a region written with or without REGION) to its region's key."""
    return _region_sql().format(k=key_expr)


_MACROS = f"""
CREATE OR REPLACE MACRO rt_fold(t) AS {fold_sql("t")};
CREATE OR REPLACE MACRO rt_key(t) AS {key_sql("t")};
CREATE OR REPLACE MACRO rt_phonetic(k) AS {phonetic_sql("k")};
CREATE OR REPLACE MACRO rt_region(k) AS {region_sql("k")};
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the rt_fold / rt_key / rt_phonetic / rt_region SQL macros on a DuckDB connection."""
    con.execute(_MACROS)


def spellings_sql(source: str) -> str:
    """SELECT of every distinct spelling of a name or place in `source`, with its key and phonetic keys.

    A national registry has tens of millions of rows but only tens of thousands of different
    names: they are folded once per spelling and joined back (`people_sql`).
    """
    return f"""SELECT spelling, key, first_word,
            {phonetic_sql("key")} AS phonetic, {phonetic_sql("first_word")} AS first_phonetic
        FROM (
            SELECT spelling, key, nullif(split_part(key, ' ', 1), '') AS first_word
            FROM (SELECT spelling, {key_sql("spelling")} AS key FROM (
                SELECT given_names AS spelling FROM {source} UNION SELECT first_surname FROM {source}
                UNION SELECT second_surname FROM {source} UNION SELECT birth_place FROM {source}) AS names)
                AS keyed
        ) AS split"""


def people_sql(source: str, spellings: str, extra: Mapping[str, str] | None = None) -> str:
    """SELECT normalising a table of people (`source`, numbered by `rt_row`) into the columns the model compares.

    `spellings` is the materialised result of `spellings_sql` over the same source; `extra`
    maps more output columns to their SQL over the source row `p`.

    A birth date is a date, or text YYYY-MM-DD where 00 (or nothing) stands for an unknown
    day or month: `dob` is the full date where there is one, and the year, month and day are
    kept apart so that a date without its day still agrees on what it has.
    """
    carried = "".join(f", {expression} AS {name}" for name, expression in (extra or {}).items())
    return f"""SELECT *,
        -- Both surnames in order: the column their exact level and its term frequency use.
        surname1 || ' ' || surname2 AS surnames,
        strftime(dob, '%Y%m%d') AS dob_s,
        birth_year * 100 + birth_month AS birth_year_month, birth_year * 100 + birth_day AS birth_year_day,
        year(dob) * 10000 + least(month(dob), day(dob)) * 100 + greatest(month(dob), day(dob)) AS dob_sorted,
        left(given1, 1) || left(surname1, 1) AS initials,
        -- The initials of a list that wrote the surname as the given name and the other way round.
        left(surname1, 1) || left(given1, 1) AS initials_swapped,
        least(birth_month, birth_day) * 100 + greatest(birth_month, birth_day) AS md_sorted,
        left(given1, 1) AS given_initial, left(surname1, 1) AS surname_initial,
        -- Blocking keys for a person without a birth date: only such records carry the second.
        given1_ph || ' ' || surname1_ph || ' ' || coalesce(surname2_ph, '') AS name_key,
        CASE WHEN birth_year IS NULL THEN given1_ph || ' ' || surname1_ph || ' ' || coalesce(surname2_ph, '')
             END AS name_key_undated,
        -- A date without its day (or month) meets full dates of the same year and month (or day).
        CASE WHEN birth_day IS NULL THEN birth_year * 100 + birth_month END AS year_month_undayed,
        CASE WHEN birth_month IS NULL THEN birth_year * 100 + birth_day END AS year_day_unmonthed,
        {region_sql("birth_place")} AS birth_region
    FROM (
        SELECT *, CASE WHEN birth_month IS NOT NULL AND birth_day IS NOT NULL
                       THEN TRY_CAST(date_text AS DATE) END AS dob
        FROM (
        SELECT *, nullif(TRY_CAST(substr(date_text, 1, 4) AS INTEGER), 0) AS birth_year,
            CASE WHEN regexp_matches(date_text, '^[0-9]{{4}}-[0-9]{{2}}')
                 AND TRY_CAST(substr(date_text, 6, 2) AS INTEGER)
                 BETWEEN 1 AND 12 THEN TRY_CAST(substr(date_text, 6, 2) AS INTEGER) END AS birth_month,
            CASE WHEN regexp_matches(date_text, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
                 AND TRY_CAST(substr(date_text, 9, 2) AS INTEGER)
                 BETWEEN 1 AND 31 THEN TRY_CAST(substr(date_text, 9, 2) AS INTEGER) END AS birth_day
        FROM (
        SELECT p.rt_row AS unique_id,
            g.key AS given_names, g.first_word AS given1,
            g.phonetic AS given_ph, g.first_phonetic AS given1_ph,
            s1.key AS surname1, s1.phonetic AS surname1_ph, s1.first_phonetic AS surname1_first_ph,
            s2.key AS surname2, s2.phonetic AS surname2_ph,
            nullif(substr(trim(CAST(p.birth_date AS VARCHAR)), 1, 10), '') AS date_text,
            nullif(regexp_replace(CAST(p.cedula AS VARCHAR), '[^0-9]', '', 'g'), '') AS cedula,
            CASE WHEN upper(trim(p.sex)) IN ('F', 'FEMENINO', 'FEMALE', 'MUJER') THEN 'F'
                 WHEN upper(trim(p.sex)) IN ('M', 'MASCULINO', 'MALE', 'HOMBRE', 'H') THEN 'M' END AS sex,
            b.key AS birth_place{carried}
        FROM {source} p
        LEFT JOIN {spellings} g ON g.spelling = p.given_names
        LEFT JOIN {spellings} s1 ON s1.spelling = p.first_surname
        LEFT JOIN {spellings} s2 ON s2.spelling = p.second_surname
        LEFT JOIN {spellings} b ON b.spelling = p.birth_place
    ) AS people) AS dated) AS born"""


def prepare_table(con: duckdb.DuckDBPyConnection, source: str, target: str, extra: Mapping[str, str] | None = None
                  ) -> None:
    """Normalise a table of people (`source`, numbered by `rt_row`) into `target`, in DuckDB.

    The spellings table is materialised first, or the optimiser computes the keys after the
    joins, per row.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {target}_spellings AS {spellings_sql(source)}")
    con.execute(f"CREATE OR REPLACE TABLE {target} AS {people_sql(source, f'{target}_spellings', extra)}")
    con.execute(f"DROP TABLE {target}_spellings")


# Letters with accents or other marks, upper case, and the letter each folds to: Spark has no
# strip_accents, so `to_spark` writes it as a translate over this table (and drops combining
# marks written separately). Every Latin letter Unicode composes from a base letter and marks.
def _accent_table() -> tuple[str, str]:
    accented, plain = [], []
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        letter = chr(code)
        base = unicodedata.normalize("NFD", letter)[0]
        if letter.isupper() and base != letter and "A" <= base <= "Z":
            accented.append(letter)
            plain.append(base)
    return "".join(accented), "".join(plain)


def to_spark(sql: str) -> str:
    """The same SQL in Spark's dialect: sqlglot's transpilation plus what it leaves to us.

    strip_accents becomes a translate of accented capitals (it is only ever applied to upper
    case) after dropping combining marks; a regular expression replacement's back-references
    are written $1 (Java) rather than \\1 (RE2).
    """
    import sqlglot
    from sqlglot import exp

    accented, plain = _accent_table()

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "strip_accents":
            marks = exp.RegexpReplace(this=node.expressions[0], expression=exp.Literal.string("\\p{M}"),
                                      replacement=exp.Literal.string(""))
            return exp.Anonymous(this="translate", expressions=[marks, exp.Literal.string(accented),
                                                                 exp.Literal.string(plain)])
        if isinstance(node, exp.RegexpReplace) and isinstance(node.args.get("replacement"), exp.Literal):
            text = node.args["replacement"].this
            node.set("replacement", exp.Literal.string(re.sub(r"\\(\d)", r"$\1", text)))
        return node

    # The phonetic key nests some forty function calls: more than Python's default recursion allows sqlglot.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        tree = sqlglot.parse_one(sql, read="duckdb").transform(rewrite)
        return tree.sql(dialect="spark")
    finally:
        sys.setrecursionlimit(limit)


def registry_source_sql(registry_path: str | Path) -> str:
    """SQL reading a registry file (Parquet or CSV, a CSV file's columns as text) with a stable row number `rt_row`."""
    path = Path(registry_path)
    if path.suffix.lower() == ".csv":
        return f"(SELECT *, row_number() OVER () - 1 AS rt_row FROM {reader_sql(path)})"
    text = str(path).replace("'", "''")
    return (
        "(SELECT * EXCLUDE (file_row_number), file_row_number AS rt_row"
        f" FROM read_parquet('{text}', file_row_number = true))"
    )


# --- the model -------------------------------------------------------------------------
