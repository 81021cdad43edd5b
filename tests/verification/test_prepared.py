"""The prepared registry: linked as the source is, updated as a rebuild would be, and the deceased never verified.

Reuses the registry, requests and model that `retorno synth` and `retorno verify --train` make
for the CLI tests, and their service databases (SQLite and PostgreSQL) for the runs that record.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.errors import InvalidInput
from retorno.verification import prepared
from retorno.verification.anchors import DECEASED, INCOMPLETE_DATE_PROBABILITY
from retorno.verification.linkage import Thresholds, link
from retorno.verification.service import LINKAGE_METHOD, open_request, record_decision
from tests.factories import World
from tests.verification import test_cli_verify
from tests.verification.test_cli_verify import Files, cli, records, register, state_of
from tests.verification.test_jobs import _person

# The CLI tests' module fixtures, used here too: the synthetic files and a service database per engine.
files = test_cli_verify.files
service = test_cli_verify.service

CHANGE_COLUMNS = ("registry_id", "given_names", "first_surname", "second_surname", "sex", "birth_date",
                  "birth_place", "cedula", "death_date", "change")


def _decided(decisions: list[Any]) -> list[tuple[Any, ...]]:
    return [(d.request_id, d.outcome, d.registry_id, d.reason) for d in decisions]


def _decided_alike(these: list[Any], those: list[Any]) -> None:
    """The same decisions, but where the two probabilities lie on either side of a threshold: the
    term frequencies they are computed with may move a match across one (a test of its own holds
    every threshold)."""
    thresholds = Thresholds()
    cuts = (thresholds.lower, thresholds.upper, thresholds.inexact_name, INCOMPLETE_DATE_PROBABILITY)
    for this, that in zip(these, those, strict=True):
        if _decided([this]) != _decided([that]):
            low, high = sorted((this.probability, that.probability))
            assert any(low < cut <= high for cut in cuts), (_decided([this]), this.probability,
                                                            _decided([that]), that.probability)


def _rows(folder: Path) -> set[tuple[Any, ...]]:
    """Every prepared person as a tuple of all its columns, whatever the partition or row order."""
    table = duckdb.sql(f"SELECT * FROM read_parquet('{prepared.registry_glob(folder)}', hive_partitioning = false)")
    return set(table.fetchall())


def test_a_prepared_registry_links_as_its_source_does(files: Files, tmp_path: Path) -> None:
    figures = prepared.prepare(files.registry, tmp_path / "prepared", partitions=3)
    assert (figures["rows"], figures["partitions"], figures["deceased"]) == (3000, 3, 0)
    assert sorted(p.name for p in (tmp_path / "prepared" / "registry").iterdir()) == ["part=0", "part=1", "part=2"]
    assert {p.stem for p in (tmp_path / "prepared" / "tf").iterdir()} == set(prepared.TF_COLUMNS)
    from_source = link(files.requests, files.registry, files.model)
    from_prepared = link(files.requests, tmp_path / "prepared", files.model)
    # The same decisions; the probabilities differ only by the term frequencies, counted over the
    # registry alone in the prepared one and over the registry and this run's requests otherwise
    # (one request here, a near name at 0.99929 prepared and 0.99888 from the source, is on either
    # side of the threshold a name not exactly the registry's needs).
    _decided_alike(from_prepared, from_source)
    assert max(abs(a.probability - b.probability) for a, b in zip(from_prepared, from_source, strict=True)) < 0.05
    # The source is not read: linking works with it gone.
    moved = tmp_path / "elsewhere.parquet"
    shutil.copy(files.registry, moved)
    assert _decided(link(files.requests, tmp_path / "prepared", files.model)) == _decided(from_prepared)


def _changes(people: list[dict[str, Any]], requests: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[int]]:
    """Three people reported dead, three renamed, three new: the requested ones, so that linkage sees them."""
    wanted = [row["true_registry_id"] for row in requests if row["true_registry_id"] is not None]
    dead, renamed = set(wanted[:3]), set(wanted[3:6])
    changes: list[dict[str, Any]] = []
    for person in people:
        if person["registry_id"] in dead:
            changes.append({"registry_id": person["registry_id"], "change": "deceased",
                            "death_date": dt.date(2024, 1, 5)})
        elif person["registry_id"] in renamed:
            changes.append({**person, "given_names": person["given_names"] + " ANTONIO", "change": "changed"})
    changes += [{**people[i], "registry_id": 900_000 + i, "change": "new"} for i in range(3)]
    return [{name: change.get(name) for name in CHANGE_COLUMNS} for change in changes], dead


def _rebuilt_source(people: list[dict[str, Any]], changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The source as it would be with the changes written into it."""
    by_id = {person["registry_id"]: {**person, "death_date": None} for person in people}
    for change in changes:
        if change["change"] == "deceased":
            by_id[change["registry_id"]]["death_date"] = change["death_date"]
        else:
            by_id[change["registry_id"]] = {k: v for k, v in change.items() if k != "change"}
    return list(by_id.values())


def test_an_update_gives_what_a_full_rebuild_gives(files: Files, tmp_path: Path) -> None:
    people = records(files)
    requests = pq.read_table(files.requests).to_pylist()
    updated, rebuilt = tmp_path / "updated", tmp_path / "rebuilt"
    prepared.prepare(files.registry, updated, partitions=8)
    changes, dead = _changes(people, requests)
    pq.write_table(pa.Table.from_pylist(changes), tmp_path / "changes.parquet")
    parts = {(person["registry_id"]) % 8 for person in changes}
    untouched = {p: p.stat().st_mtime_ns for p in (updated / "registry").glob("*/*.parquet")
                 if int(p.parent.name.split("=")[1]) not in parts}
    figures = prepared.update(updated, tmp_path / "changes.parquet")
    assert (figures["new"], figures["changed"], figures["deceased_reported"]) == (3, 3, 3)
    assert (figures["rows"], figures["deceased"], figures["partitions_rewritten"]) == (3003, 3, len(parts))
    # Only the partitions the changes fall in were written again.
    assert untouched and all(p.stat().st_mtime_ns == stamp for p, stamp in untouched.items())

    pq.write_table(pa.Table.from_pylist(_rebuilt_source(people, changes)), tmp_path / "rebuilt.parquet")
    prepared.prepare(tmp_path / "rebuilt.parquet", rebuilt, partitions=8)
    assert _rows(updated) == _rows(rebuilt)
    for column in prepared.TF_COLUMNS:
        assert (pq.read_table(prepared.tf_path(updated, column)).sort_by("value").to_pylist()
                == pq.read_table(prepared.tf_path(rebuilt, column)).sort_by("value").to_pylist())
    after_update = link(files.requests, updated, files.model)
    after_rebuild = link(files.requests, rebuilt, files.model)
    assert _decided(after_update) == _decided(after_rebuild)
    assert [d.probability for d in after_update] == pytest.approx([d.probability for d in after_rebuild], abs=1e-12)
    # The requests of the people reported dead: never verified, in review with that reason.
    for decision in after_update:
        if decision.registry_id in dead:
            assert (decision.outcome, decision.reason) == ("review", DECEASED)
    assert sum(d.registry_id in dead for d in after_update) >= 2


def test_a_change_file_that_contradicts_the_registry_changes_nothing(files: Files, tmp_path: Path) -> None:
    folder = tmp_path / "prepared"
    prepared.prepare(files.registry, folder, partitions=2)
    before = _rows(folder)
    person = records(files)[0]
    wrong = [{**{name: person.get(name) for name in CHANGE_COLUMNS}, "change": "new"},
             {**{name: None for name in CHANGE_COLUMNS}, "registry_id": 777_777, "change": "deceased"}]
    pq.write_table(pa.Table.from_pylist(wrong), tmp_path / "wrong.parquet")
    refused = cli(tmp_path, "verify", "prepare", "--update", str(tmp_path / "wrong.parquet"), "--out", str(folder))
    assert refused.exit_code == 2
    said = " ".join(refused.output.split())  # the console wraps long lines
    assert "1: already in the registry" in said and "777777: not in the registry" in said
    assert _rows(folder) == before and prepared.read_manifest(folder).updates == 0


def test_verify_links_the_prepared_registry_and_sends_the_deceased_to_review(
        files: Files, service: tuple[str, Engine, World], tmp_path: Path) -> None:
    people = records(files)
    source = [{**person, "death_date": dt.date(2023, 6, 1) if person["registry_id"] == people[50]["registry_id"]
               else None} for person in people]
    pq.write_table(pa.Table.from_pylist(source), tmp_path / "registry-with-deaths.parquet")
    made = cli(tmp_path, "verify", "prepare", "--registry", str(tmp_path / "registry-with-deaths.parquet"),
               "--out", str(tmp_path / "prepared"))
    assert made.exit_code == 0, made.output
    assert prepared.read_manifest(tmp_path / "prepared").deceased == 1
    alive, dead = register(service, [_person(people[43]), _person(people[50])])
    result = cli(files.folder, "verify", "--registry", str(tmp_path / "prepared"), "--model", str(files.model),
                 "--as", "saime.officer", "--database-url", service[0])
    assert result.exit_code == 0, result.output
    assert state_of(service, alive)[:3] == ("verified", "verified", str(people[43]["registry_id"]))
    state, outcome, record, candidates = state_of(service, dead)
    assert (state, outcome, record) == ("verification_requested", "review", str(people[50]["registry_id"]))
    assert candidates[0]["deceased"] is True and candidates[0]["registry_record"] == record
    # A decisions file that claims linkage verified the dead person is refused by the action itself.
    _, engine, world = service
    with Session(engine) as session:
        officer = world.bind(session).users["saime.officer"]
        case = session.execute(sa.select(Case).where(Case.reference == dead)).scalar_one()
        assert open_request(session, officer, case).status == "review"
        with pytest.raises(InvalidInput) as refused:
            record_decision(session, officer, case, outcome="verified", method=LINKAGE_METHOD,
                            registry_record=record, probability=1.0, candidates=candidates,
                            request_reference=open_request(session, officer, case).reference)
        assert refused.value.code == "deceased_not_auto_verified"
    # Training reads the source file: asked of a prepared folder, it says so and changes nothing.
    refused_training = cli(files.folder, "verify", "--registry", str(tmp_path / "prepared"), "--model",
                           str(tmp_path / "new-model.json"), "--train", "--as", "saime.officer",
                           "--database-url", service[0])
    assert refused_training.exit_code == 2 and "train_on_source" in refused_training.output
    assert not (tmp_path / "new-model.json").exists()
