"""A registry file with a bad line links nothing and prepares nothing, and says which lines (red team round 84, F3
and F4): a line with no id (it was dropped, or proposed as a record with no id), an id on two lines (two people for
linkage), a birth or death date that is not a date (a DuckDB traceback, or no date at all), a sex the linkage does
not read. Reuses the CLI tests' synthetic registry, model and service databases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy.engine import Engine

from retorno.verification import prepared, sources
from retorno.verification.sources import RegistryFileError
from tests.factories import World
from tests.verification import test_cli_verify
from tests.verification.test_cli_verify import Files, cli, decision_count, records, register, state_of
from tests.verification.test_jobs import _person

files = test_cli_verify.files
service = test_cli_verify.service


def _as_text(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{name: None if value is None else str(value) for name, value in person.items()} for person in people]


def _csv(path: Path, people: list[dict[str, Any]]) -> Path:
    pacsv.write_csv(pa.Table.from_pylist(_as_text(people)), path)
    return path


# (what is changed on the line at index 1200, so file line 1202, the line the refusal names, what it says)
BROKEN = [
    ({"birth_date": "1990-13-45"}, "birth_date '1990-13-45' is not a date"),
    ({"birth_date": "2001-02-30"}, "birth_date '2001-02-30' is not a date"),
    ({"birth_date": "09/08/1985"}, "birth_date '09/08/1985' is not a date"),
    ({"birth_date": "garbage"}, "birth_date 'garbage' is not a date"),
    ({"registry_id": None}, "registry_id is empty"),
    ({"registry_id": "  "}, "registry_id is empty"),
    ({"registry_id": "25440.0"}, "registry_id '25440.0' is not letters and digits"),
    ({"sex": "X"}, "sex 'X' is not one of F, M"),
    ({"death_date": "ayer"}, "death_date 'ayer' is not a date"),
]


@pytest.mark.parametrize(("change", "said"), BROKEN, ids=[said.split(" is ")[0] for _, said in BROKEN])
def test_a_bad_line_links_nothing_and_is_named(files: Files, tmp_path: Path, change: dict[str, Any],
                                               said: str) -> None:
    people = [{**person, "death_date": None} for person in records(files)]
    people[1200] = {**people[1200], **change}
    registry = _csv(tmp_path / "registry.csv", people)
    decisions = tmp_path / "decisions.jsonl"
    linked = cli(files.folder, "verify", "--registry", str(registry), "--model", str(files.model),
                 "--requests", str(files.requests), "--decisions-out", str(decisions))
    assert linked.exit_code == 2, linked.output
    output = " ".join(linked.output.split())
    assert "nothing linked or prepared" in output and f"line 1202: {said}" in output
    assert "Traceback" not in linked.output and not decisions.exists()


def test_an_id_on_two_lines_names_both_whatever_its_spelling(files: Files, tmp_path: Path) -> None:
    people = _as_text(records(files))
    people[10]["registry_id"] = "V-20282780"
    people[2900]["registry_id"] = "v020282780"  # the same record as stored (`records.canonical_or_none`)
    people.append(dict(people[500]))  # the same line twice: line 3002
    registry = _csv(tmp_path / "registry.csv", people)
    with pytest.raises(RegistryFileError) as refused:
        sources.check(duckdb.connect(), registry, required=("registry_id",))
    assert refused.value.problems == [
        (2902, "registry_id 'v020282780' is also on line 12"),
        (3002, f"registry_id '{people[500]['registry_id']}' is also on line 502")]
    assert refused.value.counts == {"duplicate id": 2}

    # A Parquet file's records are counted from 1, its integer ids compared as numbers.
    typed = records(files)
    typed.append(dict(typed[7]))
    parquet = tmp_path / "registry.parquet"
    pq.write_table(pa.Table.from_pylist(typed), parquet)
    with pytest.raises(RegistryFileError) as twice:
        sources.check(duckdb.connect(), parquet, required=("registry_id",))
    assert twice.value.problems == [(3001, f"registry_id '{typed[7]['registry_id']}' is also on line 8")]


def test_what_a_registry_writes_for_an_unknown_part_passes(files: Files, tmp_path: Path) -> None:
    people = _as_text(records(files)[:8])
    for person, born, sex in zip(people, ("1990", "1990-05", "1990-05-00", "1990-00-00", "0000-00-00",
                                          "1990-01-02 00:00:00", "", "1990-01-02T00:00:00"),
                                 ("femenino", "m", "", "MASCULINO", "Mujer", "h", "F", "  "), strict=True):
        person.update(birth_date=born, sex=sex)
    sources.check(duckdb.connect(), _csv(tmp_path / "fine.csv", people), required=("registry_id",))
    assert [person["birth_date"] for person in people][:2] == ["1990", "1990-05"]


def test_the_first_lines_are_named_and_every_one_counted(files: Files, tmp_path: Path) -> None:
    people = _as_text(records(files))
    for person in people[100:160]:
        person["birth_date"] = person["birth_date"].replace("-", "/")
    people[5]["registry_id"] = None
    with pytest.raises(RegistryFileError) as refused:
        sources.check(duckdb.connect(), _csv(tmp_path / "registry.csv", people), required=("registry_id",))
    assert refused.value.total == 61 and refused.value.counts == {"birth_date": 60, "registry_id": 1}
    assert [line for line, _ in refused.value.problems] == [7, *range(102, 121)]


def test_a_bad_line_records_no_decision(files: Files, service: tuple[str, Engine, World], tmp_path: Path) -> None:
    people = records(files)
    (reference,) = register(service, [_person(people[42])])
    before = decision_count(service)
    broken = [{**person} for person in people]
    broken[42] = {**broken[42], "birth_date": "42/42/1942"}
    registry = _csv(tmp_path / "registry.csv", broken)
    result = cli(files.folder, "verify", "--registry", str(registry), "--model", str(files.model),
                 "--as", "saime.officer", "--database-url", service[0])
    assert result.exit_code == 2 and "line 44" in result.output
    assert decision_count(service) == before
    assert state_of(service, reference)[0] == "verification_requested"


def test_prepare_and_update_refuse_a_bad_file_and_leave_everything_as_it_was(files: Files, tmp_path: Path) -> None:
    people = _as_text(records(files))
    people[3]["registry_id"] = None
    bad = _csv(tmp_path / "registry.csv", people)
    folder = tmp_path / "prepared"
    refused = cli(files.folder, "verify", "prepare", "--registry", str(bad), "--out", str(folder))
    assert refused.exit_code == 2 and "line 5: registry_id is empty" in refused.output
    assert not folder.exists()

    made = cli(files.folder, "verify", "prepare", "--registry", str(files.registry), "--out", str(folder))
    assert made.exit_code == 0, made.output
    manifest = (folder / prepared.MANIFEST).read_text(encoding="utf-8")
    before = sorted(str(path.relative_to(folder)) + str(path.stat().st_mtime_ns) for path in folder.rglob("*"))
    changes = _csv(tmp_path / "changes.csv", [
        {**people[10], "given_names": "OTRO NOMBRE", "death_date": None},
        {**people[11], "death_date": "2024-02-31"}])
    update = cli(files.folder, "verify", "prepare", "--out", str(folder), "--update", str(changes))
    assert update.exit_code == 2 and "line 3: death_date '2024-02-31' is not a date" in update.output
    assert (folder / prepared.MANIFEST).read_text(encoding="utf-8") == manifest
    assert sorted(str(path.relative_to(folder)) + str(path.stat().st_mtime_ns) for path in folder.rglob("*")) == before
    assert json.loads(manifest)["updates"] == 0
