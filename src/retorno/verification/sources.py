"""A registry file as linkage and preparation read it, and the checks it passes before anything is linked.

A civil registry's export is the receiving side's own file, tens of millions of lines long. Read
as it was, a line with no `registry_id` was dropped (a prepared registry) or proposed as a record
with no id (a decision with nothing to verify against); the same id on two lines was two people
for linkage; and a birth date that was not a date stopped the run with DuckDB's traceback, or
was read as no date at all (red team round 84, F3 and F4). Now every registry file, and every
change file of a prepared registry, is checked first, in one pass: nothing is linked or
prepared from a file with a bad line, and the refusal names the lines (the first
`SHOWN`, with how many there are of each kind).

A line's number is the file's own: the header is line 1 of a CSV file, the first record line 2;
a Parquet file's records are counted from 1.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from retorno.errors import InvalidInput

# How many bad lines a refusal names (the count says how many more there are).
SHOWN = 20
# The spellings of a sex the linkage reads (`normalise.people_sql`); empty is unknown.
SEXES = ("F", "FEMENINO", "FEMALE", "MUJER", "M", "MASCULINO", "MALE", "HOMBRE", "H")
_INTEGER_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT",
                  "UTINYINT")


class RegistryFileError(InvalidInput):
    """A registry (or change) file with bad lines: `problems` lists (line, what is wrong) for the first of them,
    `total` how many problems the file has."""

    def __init__(self, path: Path, problems: list[tuple[int, str]], total: int, counts: dict[str, int]) -> None:
        self.path = path
        self.problems = problems
        self.total = total
        self.counts = counts
        # The lines' problems are the operator's, read on the command line: said in English.
        shown = "; ".join(f"line {number}: {problem}" for number, problem in problems)
        kinds = ", ".join(f"{kind}: {count}" for kind, count in counts.items())
        details = [{"line": number, "problem": problem} for number, problem in problems]
        super().__init__("registry file %(path)s: nothing linked or prepared: %(total)s problems (%(kinds)s): "
                         "%(shown)s", code="registry_file_invalid", details=details, path=path, total=total,
                         kinds=kinds, shown=shown)


def reader_sql(path: Path) -> str:
    """SQL reading a registry or change file as it is: a CSV file's every column as text (a date column is
    checked here, not guessed by the reader), a Parquet file's columns as typed."""
    text = str(path).replace("'", "''")
    if path.suffix.lower() == ".csv":
        return f"read_csv('{text}', all_varchar = true, header = true)"
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{text}')"
    raise InvalidInput("%(path)s: a Parquet (.parquet) or CSV (.csv) file", path=path)


def _text(column: str) -> str:
    return f"nullif(trim(CAST({column} AS VARCHAR)), '')"


def _date_problem(column: str) -> str:
    """SQL: why a date column's text is not a date, or NULL. YYYY-MM-DD, with 00 (or the part left out) for an
    unknown month or day, as `normalise.people_sql` reads it; a time after it (a database's timestamp) is let by."""
    value = _text(column)
    day = f"TRY_CAST(substr({value}, 9, 2) AS INTEGER)"
    month = f"TRY_CAST(substr({value}, 6, 2) AS INTEGER)"
    return f"""CASE WHEN {value} IS NULL THEN NULL
        WHEN NOT regexp_full_match({value}, '[0-9]{{4}}(-[0-9]{{2}}(-[0-9]{{2}}([ T][0-9:.+]*)?)?)?') THEN 'x'
        WHEN coalesce({month}, 0) > 12 OR coalesce({day}, 0) > 31 THEN 'x'
        WHEN coalesce({month}, 0) > 0 AND coalesce({day}, 0) > 0
             AND TRY_CAST(substr({value}, 1, 10) AS DATE) IS NULL THEN 'x' END"""


def _id_problem(column_type: str) -> str:
    """SQL: why a line's registry_id is not one (`records.canonical_or_none` in SQL, for the ids a registry
    writes: letters and digits, spaces and hyphens between them), or NULL."""
    if column_type in _INTEGER_TYPES:
        return "CASE WHEN registry_id IS NULL THEN 'missing' WHEN registry_id < 0 THEN 'malformed' END"
    value = _text("registry_id")
    return f"""CASE WHEN {value} IS NULL THEN 'missing'
        WHEN NOT regexp_full_match({value}, '[A-Za-z0-9]+([\\s\\-]+[A-Za-z0-9]+)*') THEN 'malformed' END"""


def _canonical_id(column_type: str) -> str:
    """SQL of the id as records are stored (`records.canonical_sql`): two lines with one are one record."""
    if column_type in _INTEGER_TYPES:
        return "CAST(registry_id AS VARCHAR)"
    compact = "upper(regexp_replace(CAST(registry_id AS VARCHAR), '[\\s\\-]+', '', 'g'))"
    return f"regexp_replace({compact}, '(^|[^0-9])0+([0-9])', '\\1\\2', 'g')"


def _quoted(expression: str) -> str:
    return f"'''' || left(CAST({expression} AS VARCHAR), 40) || ''''"


def check(con: duckdb.DuckDBPyConnection, path: Path, *, required: tuple[str, ...]) -> None:
    """Refuse (`RegistryFileError`) a registry or change file with a bad line; `required` are the columns it must
    have (a change file's `deceased` line may leave the identity fields empty, a registry's may not leave the id).

    Checked on every line: an id (present, letters and digits, on no other line), a birth date and a death date
    that are dates, a sex the linkage reads. A pass that counts them, then, only if there are any, one that numbers
    the lines.
    """
    columns = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {reader_sql(path)}").fetchall()}
    missing = [column for column in required if column not in columns]
    if missing:
        raise InvalidInput("%(path)s lacks the columns %(missing)s", path=path, missing=", ".join(missing))
    first = 2 if path.suffix.lower() == ".csv" else 1
    id_type = columns["registry_id"]
    rules = [(f"CASE {_id_problem(id_type)} WHEN 'missing' THEN 'registry_id is empty' "
              f"WHEN 'malformed' THEN 'registry_id ' || {_quoted('registry_id')} || ' is not letters and digits' "
              "END", "registry_id")]
    for column in ("birth_date", "death_date"):
        if column in columns and not columns[column].startswith(("DATE", "TIMESTAMP")):  # a typed date is a date
            rules.append((f"CASE WHEN ({_date_problem(column)}) IS NOT NULL THEN '{column} ' || {_quoted(column)}"
                          " || ' is not a date (YYYY-MM-DD, 00 for an unknown month or day)' END", column))
    if "sex" in columns:
        known = ", ".join(f"'{sex}'" for sex in SEXES)
        rules.append((f"CASE WHEN {_text('sex')} IS NOT NULL AND upper({_text('sex')}) NOT IN ({known}) "
                      f"THEN 'sex ' || {_quoted('sex')} || ' is not one of F, M (or empty for unknown)' END", "sex"))
    canonical = _canonical_id(id_type)
    # A pass that only counts (in parallel, no line numbers): the file most often has nothing wrong.
    (bad, repeated) = con.execute(f"""SELECT
        (SELECT count(*) FROM {reader_sql(path)} WHERE {' OR '.join(f'({rule}) IS NOT NULL' for rule, _ in rules)}),
        (SELECT count(*) FROM (SELECT {canonical} AS id FROM {reader_sql(path)} WHERE registry_id IS NOT NULL
                               GROUP BY id HAVING count(*) > 1))""").fetchone() or (0, 0)
    if not bad and not repeated:
        return
    # Then the lines: read in the file's order (the line numbers are the file's), whatever the connection's setting.
    (order,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone() or (True,)
    con.execute("SET preserve_insertion_order = true")
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE rt_source_problems AS
            SELECT line, problem.problem AS problem, problem.kind AS kind FROM (
                SELECT line, unnest(list_filter([{', '.join(f'{{problem: {r}, kind: {n!r}}}' for r, n in rules)}],
                                                lambda p: p.problem IS NOT NULL)) AS problem
                FROM (SELECT *, row_number() OVER () - 1 + {first} AS line FROM {reader_sql(path)}))""")
        con.execute(f"""INSERT INTO rt_source_problems
            SELECT line, 'registry_id ' || {_quoted('registry_id')} || ' is also on line ' || other, 'duplicate id'
            FROM (SELECT registry_id, line, min(line) OVER (PARTITION BY id) AS other, count(*) OVER (PARTITION BY id)
                  AS n FROM (SELECT registry_id, {canonical} AS id,
                                    row_number() OVER () - 1 + {first} AS line FROM {reader_sql(path)})
                  WHERE id IS NOT NULL AND ({_id_problem(id_type)}) IS NULL)
            WHERE n > 1 AND line > other""")
    finally:
        con.execute(f"SET preserve_insertion_order = {bool(order)}")
    counts = dict(con.execute("SELECT kind, count(*) FROM rt_source_problems GROUP BY kind ORDER BY kind").fetchall())
    shown = [(int(line), str(problem)) for line, problem in con.execute(
        f"SELECT line, problem FROM rt_source_problems ORDER BY line, kind LIMIT {SHOWN}").fetchall()]
    con.execute("DROP TABLE rt_source_problems")
    if counts:
        raise RegistryFileError(path, shown, sum(counts.values()), {str(k): int(v) for k, v in counts.items()})
