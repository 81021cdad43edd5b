"""A tiny run of each `retorno bench` command: the last line is one JSON object with the promised figures."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from retorno.cli.main import app

runner = CliRunner()


def last_json(args: list[str]) -> dict[str, object]:
    result = runner.invoke(app, ["bench", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.mark.bench
def test_bench_import_tiny() -> None:
    figures = last_json(["import", "--rows", "300", "--database-url", "sqlite://"])
    assert {"rows", "seconds", "rows_per_second", "peak_rss_mb", "database"} <= set(figures)
    assert figures["created"] == 300 and figures["database"] == "sqlite"
    refused = last_json(["import", "--rows", "300", "--bad-row", "--database-url", "sqlite://"])
    assert refused["cases_stored"] == 0 and refused["error_rows"] == [150]


@pytest.mark.bench
def test_bench_plan_tiny() -> None:
    figures = last_json(["plan", "--people", "120", "--households", "40", "--flights", "3", "--days", "5",
                         "--time-limit", "5"])
    assert {"people", "households", "flights", "seconds", "objective", "bound", "gap", "greedy_objective",
            "assigned", "peak_rss_mb"} <= set(figures)
    assert figures["objective"] <= figures["greedy_objective"]  # type: ignore[operator]


@pytest.mark.bench
def test_bench_match_tiny() -> None:
    figures = last_json(["match", "--returnees", "400", "--opportunities", "40", "--database-url", "sqlite://"])
    assert {"returnees", "opportunities", "seats", "seconds", "end_to_end_seconds", "blocking_pairs",
            "matched_share", "mean_rank", "peak_rss_mb"} <= set(figures)
    assert figures["blocking_pairs"] == 0
