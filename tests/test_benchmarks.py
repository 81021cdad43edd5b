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
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_bench_import_tiny(fmt: str) -> None:
    figures = last_json(["import", "--rows", "300", "--format", fmt, "--database-url", "sqlite://"])
    assert (figures["database"], figures["format"], figures["imported"]) == ("sqlite", fmt, True)
    assert figures["created"] == figures["cases_stored"] == 300
    # One record per case, the import's own, and the two that created the benchmark's agency and user.
    assert figures["audit_records"] == 300 + 1 + 2 and figures["audit_chain_ok"] is True
    assert figures["rows_per_second"] == round(300 / figures["seconds"])  # type: ignore[operator]
    assert figures["cpu_seconds"] > 0 and figures["peak_rss_mb"] >= figures["rss_before_import_mb"] > 0  # type: ignore[operator]
    refused = last_json(["import", "--rows", "300", "--bad-row", "--format", fmt, "--database-url", "sqlite://"])
    assert (refused["imported"], refused["created"], refused["cases_stored"]) == (False, 0, 0)
    assert refused["error_rows"] == [150] and refused["audit_records"] == 2 and refused["audit_chain_ok"] is True


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
