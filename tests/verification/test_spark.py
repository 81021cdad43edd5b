"""Splink on Spark decides as Splink on DuckDB: the same normalisation, the same pairs, the same probabilities.

One Spark session (`local[1]`) for the module; the registry, requests and model are the CLI
tests' (3,000 people, 60 requests, trained once) plus requests drawn here for the comparison.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retorno.synthetic.registry import ErrorModel, make_requests
from retorno.verification import prepared
from retorno.verification.linkage import link, requests_table
from retorno.verification.normalise import install_macros, prepare_table
from retorno.verification.spark import SparkEngine, normalise_on_spark, session
from tests.verification import test_cli_verify
from tests.verification.test_cli_verify import Files, cli
from tests.verification.test_normalise import HARD_NAMES

files = test_cli_verify.files

MASTER = "local[1]"


# A test's JVM lives a minute: compiling Spark's own code with the optimising compiler (C2) would
# cost more processor time than the queries; the later runs of the module reuse this session.
TEST_CONF = {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1", "spark.driver.memory": "1g"}


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    spark_session = session(MASTER, TEST_CONF)
    yield spark_session
    spark_session.stop()


@pytest.fixture(scope="module")
def prepared_registry(files: Files, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark") / "prepared"
    prepared.prepare(files.registry, folder, partitions=2)
    return folder


def _hard_requests() -> pa.Table:
    """Requests whose every field needs the normalisation: accents, particles, partial dates, cédula formats."""
    dates = ["1985-03-02", "1985-03-00", "1985-00-07", "1990-02-30", "", None, "2001-12-31 00:00:00"]
    sexes = ["F", "femenino", " m ", "Hombre", "x", None, "MUJER"]
    cedulas = ["V-12.345.678", "12345678", "E 8.123.456", None, "", "V12 345 679", "abc"]
    places = ["Mérida", "REGIÓN LOS ANDES", "los andes", "Distrito Capital", "Zulia", None, "Nueva Esparta"]
    rows = []
    for i, name in enumerate(HARD_NAMES):
        rows.append({"request_id": f"H{i}", "given_names": name, "first_surname": HARD_NAMES[-1 - i],
                     "second_surname": HARD_NAMES[(i * 7) % len(HARD_NAMES)], "sex": sexes[i % 7],
                     "birth_date": dates[i % 7], "birth_place": places[i % 7], "cedula": cedulas[i % 7]})
    return requests_table(rows)


def _comparable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def test_the_normalisation_sql_gives_the_same_columns_on_both_engines(spark: Any) -> None:
    requests = _hard_requests()
    con = duckdb.connect()
    install_macros(con)
    con.register("rt_requests_raw", requests)
    prepare_table(con, "rt_requests_raw", "rt_requests")
    on_duckdb = con.sql("SELECT * FROM rt_requests ORDER BY unique_id").to_arrow_table().to_pylist()
    on_spark = sorted(normalise_on_spark(spark, requests).to_pylist(), key=lambda row: row["unique_id"])
    assert len(on_spark) == len(on_duckdb) == len(HARD_NAMES)
    for ours, theirs in zip(on_duckdb, on_spark, strict=True):
        theirs.pop("is_request")
        assert list(ours) == list(theirs)
        assert {k: _comparable(v) for k, v in ours.items()} == {k: _comparable(v) for k, v in theirs.items()}
    # Not vacuous: the hard cases were normalised, not passed through or lost.
    first = on_duckdb[0]
    assert (first["given_names"], first["birth_place"], first["birth_region"]) == ("MUNOZ", "MERIDA", "ANDES")
    assert sum(row["dob"] is None and row["birth_year"] is not None for row in on_duckdb) >= 3


def test_duckdb_and_spark_decide_the_same_for_every_request(
        spark: Any, files: Files, prepared_registry: Path, tmp_path: Path) -> None:
    requests = make_requests(files.registry, 300, 41, ErrorModel(), tmp_path / "requests.parquet")
    on_duckdb = link(requests, prepared_registry, files.model)
    on_spark = link(requests, prepared_registry, files.model, engine=SparkEngine(MASTER))
    assert [(d.request_id, d.outcome, d.registry_id, d.reason) for d in on_spark] == \
           [(d.request_id, d.outcome, d.registry_id, d.reason) for d in on_duckdb]
    for ours, theirs in zip(on_duckdb, on_spark, strict=True):
        assert abs(ours.probability - theirs.probability) <= 1e-9
        assert [c.registry_id for c in ours.candidates] == [c.registry_id for c in theirs.candidates]
        assert [c.probability for c in theirs.candidates] == pytest.approx(
            [c.probability for c in ours.candidates], abs=1e-9)
    outcomes = {d.outcome for d in on_duckdb}
    assert outcomes == {"verified", "review", "not_found"}, outcomes


def test_verify_backend_spark_writes_the_decisions_duckdb_writes(
        spark: Any, files: Files, prepared_registry: Path, tmp_path: Path) -> None:
    written = {}
    for backend in ("duckdb", "spark"):
        out = tmp_path / f"decisions-{backend}.jsonl"
        result = cli(files.folder, "verify", "--registry", str(prepared_registry), "--model", str(files.model),
                     "--requests", str(files.requests), "--decisions-out", str(out), "--backend", backend,
                     "--spark-master", MASTER)
        assert result.exit_code == 0, result.output
        written[backend] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert written["spark"] == written["duckdb"]
    assert len(written["spark"]) == 60 and any(d["outcome"] == "verified" for d in written["spark"])
    refused = cli(files.folder, "verify", "--registry", str(files.registry), "--model", str(files.model),
                  "--requests", str(files.requests), "--decisions-out", str(tmp_path / "no.jsonl"),
                  "--backend", "spark")
    assert refused.exit_code == 2 and "prepared registry" in refused.output


@pytest.mark.bench
def test_tiny_benchmark_on_both_engines_reports_preparation_memory_and_the_same_quality(
        spark: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from retorno.cli.main import app

    figures = {}
    for backend in ("duckdb", "spark"):
        result = CliRunner().invoke(app, ["bench", "linkage", "--registry", "1500", "--requests", "80", "--seed", "5",
                                          "--backend", backend, "--prepared", str(tmp_path / "prepared"),
                                          "--spark-master", MASTER, "--work-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        figures[backend] = json.loads(result.output.strip().splitlines()[-1])
    duck, spark_run = figures["duckdb"], figures["spark"]
    # Prepared once (timed, on disk), then reused by the second run.
    assert duck["prepared"]["reused"] is False and duck["prepared"]["seconds"] > 0
    assert spark_run["prepared"] == {"reused": True, "disk_bytes": duck["prepared"]["disk_bytes"]} and \
        duck["prepared"]["disk_bytes"] > 10_000
    quality = ("auto_precision", "auto_recall", "review_share", "recall_with_review", "false_verified_non_nationals",
               "pairs_scored", "blocking_recall")
    assert {name: spark_run[name] for name in quality} == {name: duck[name] for name in quality}
    assert spark_run["false_verified_non_nationals"] == 0 and spark_run["auto_recall"] > 0.5
    # The whole process tree is measured: Spark's JVM is in it, and its processor time is counted.
    assert spark_run["peak_tree_mb"] > spark_run["peak_rss_mb"] and spark_run["peak_tree_mb"] > 200
    assert spark_run["cpu_seconds"] > 0 and len(spark_run["load_average"]) == 3
    assert (spark_run["backend"], spark_run["spark_master"]) == ("spark", MASTER)


def test_spark_never_verifies_a_registry_minor_declared_an_adult_on_the_cedula(
        spark: Any, files: Files, tmp_path: Path) -> None:
    # Red team round 13, F4, on the other engine: the decision rules are the same code whichever engine scored.
    today = dt.date.today()
    table = pq.read_table(files.registry)
    minor = {"registry_id": 990002, "given_names": "YENDER ALEXANDER", "first_surname": "MUJICA",
             "second_surname": "RONDÓN", "sex": "M", "birth_date": dt.date(today.year - 16, 11, 1),
             "birth_place": "LARA", "cedula": "V-31456789"}
    registry, folder = tmp_path / "reg-minor.parquet", tmp_path / "prepared"
    pq.write_table(pa.Table.from_pylist([*table.to_pylist(), minor], schema=table.schema), registry)
    prepared.prepare(registry, folder, partitions=2)
    requests = tmp_path / "requests.jsonl"
    requests.write_text(json.dumps({"request": "VR-RT1-MIN1", "case": "RT1-MIN1", "given_names": "Yender Alexander",
                                    "first_surname": "Mujica", "second_surname": "Rondón", "sex": "M",
                                    "birth_date": dt.date(today.year - 19, 11, 1).isoformat(),
                                    "birth_place": "Lara", "cedula": "V31456789"}) + "\n", encoding="utf-8")
    written = {}
    for backend in ("duckdb", "spark"):
        out = tmp_path / f"decisions-{backend}.jsonl"
        result = cli(files.folder, "verify", "--registry", str(folder), "--model", str(files.model),
                     "--requests", str(requests), "--decisions-out", str(out), "--backend", backend,
                     "--spark-master", MASTER)
        assert result.exit_code == 0, result.output
        (written[backend],) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert written["spark"] == written["duckdb"]
    decision = written["spark"]
    assert (decision["outcome"], decision["reason"], decision["registry_record"]) == (
        "review", "age_of_majority", "990002")
    assert decision["probability"] >= 0.997
