"""A tiny run of each `retorno bench` command: the last line is one JSON object with the promised figures."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retorno.benchmarks import matching, planning, work_pages
from retorno.cli.main import app
from retorno.config import Settings
from retorno.reporting import caselist
from tests.conftest import DATABASES
from tests.scratch import empty_database

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
    # One record per case, the import's own, the two that created the benchmark's agency and user, and the seals of
    # the rows written (`audit.seals`), all as sealed.
    assert figures["audit_records"] == 300 + 1 + 2 + figures["seal_records"] and figures["audit_chain_ok"] is True
    assert figures["seal_records"] >= 2 and figures["records_as_sealed"] is True
    assert figures["rows_per_second"] == round(300 / figures["seconds"])  # type: ignore[operator]
    assert figures["cpu_seconds"] > 0 and figures["peak_rss_mb"] >= figures["rss_before_import_mb"] > 0  # type: ignore[operator]
    assert figures["server_cpu_seconds"] is None  # SQLite's work is this process's own
    refused = last_json(["import", "--rows", "300", "--bad-row", "--format", fmt, "--database-url", "sqlite://"])
    assert (refused["imported"], refused["created"], refused["cases_stored"]) == (False, 0, 0)
    assert refused["error_rows"] == [150] and refused["audit_chain_ok"] is True
    assert refused["audit_records"] == 2 + refused["seal_records"] and refused["records_as_sealed"] is True


@pytest.mark.bench
def test_a_bench_run_leaves_nothing_in_the_temporary_directory(tmp_path: Path) -> None:
    """Each run left its SQLite database and its keys behind, one set per run, until the disk filled."""
    command = [sys.executable, "-c", "import sys; sys.argv[0] = 'retorno'; from retorno.cli.main import app; app()",
               "bench", "import", "--rows", "50"]
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary), "RETORNO_DATA_DIR": str(tmp_path / "data")}
    ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout.strip().splitlines()[-1])["cases_stored"] == 50
    assert list(temporary.iterdir()) == []


@pytest.mark.bench
def test_bench_import_on_postgresql_counts_the_servers_processor_time(tmp_path: Path) -> None:
    with empty_database("postgresql", tmp_path, "bench_import") as url:
        figures = last_json(["import", "--rows", "300", "--database-url", url])
    assert (figures["database"], figures["imported"], figures["cases_stored"]) == ("postgresql", True, 300)
    assert figures["audit_records"] == 300 + 1 + 2 + figures["seal_records"] and figures["audit_chain_ok"] is True
    assert figures["records_as_sealed"] is True
    # The server on this machine took the 300 cases, their audit records and the commit: a few hundredths.
    assert isinstance(figures["server_cpu_seconds"], float) and 0 <= figures["server_cpu_seconds"] < 60


# Figures that time or measure memory differ from run to run; the rest must be the module's own.
MEASURED = {"seconds", "welfare_seconds", "end_to_end_seconds", "peak_rss_mb"}


def _same_figures(printed: dict[str, object], computed: dict[str, object]) -> None:
    assert {k: v for k, v in printed.items() if k in computed and k not in MEASURED} == {
        k: v for k, v in computed.items() if k not in MEASURED}


@pytest.mark.bench
def test_bench_plan_tiny() -> None:
    """The command prints what the planning benchmark computes (its figures are recounted in test_planner)."""
    figures = last_json(["plan", "--people", "120", "--households", "40", "--flights", "3", "--days", "5",
                         "--time-limit", "5"])
    _same_figures(figures, planning.run(people=120, households=40, flights=3, days=5, time_limit=5.0))
    assert figures["violations"] == 0 and figures["objective"] <= figures["greedy_objective"]  # type: ignore[operator]


@pytest.mark.bench
def test_bench_match_tiny() -> None:
    """The command prints what the matching benchmark computes (recounted in test_matching), and the run
    through the service, over returnees of its own (synthetic.returnees: returnees x seat ratio seats in
    all), stores offers, never more than there are seats."""
    figures = last_json(["match", "--returnees", "400", "--opportunities", "40", "--database-url", "sqlite://"])
    _same_figures(figures, matching.run(returnees=400, opportunities=40, prefs=10, seat_ratio=0.6, seed=1))
    assert figures["blocking_pairs"] == 0 and figures["database"] == "sqlite"
    assert 0 < figures["offers_stored"] <= int(400 * 0.6)  # type: ignore[operator]
    assert figures["end_to_end_seconds"] > 0  # type: ignore[operator]


# Every role's queue, as a page and from the API; the case list filtered each way issue 14 asks.
QUEUES = {"inbox", "inbox_api_sending_officer", "inbox_sending_supervisor", "inbox_api", "inbox_receiving",
          "inbox_api_receiving", "inbox_receiving_supervisor", "inbox_carrier", "inbox_api_carrier", "inbox_operator",
          "inbox_api_operator", "inbox_monitor"}
FILTERED = {"case_list_filtered", "case_list_without_state", "case_list_filtered_page_5", "case_list_days_detained",
            "case_list_open_concerns", "case_list_open_concerns_supervisor", "case_list_no_concern_by_name",
            "case_list_verification_by_name", "search_name", "search_cedula", "search_state"}
SORTS = {f"case_list_sorted_{way}{column}" for column in caselist.SORTS for way in ("", "desc_")}
OTHERS = {"dashboard", "case_list", "case_list_page_900", "case_page", "case_page_supervisor", "flights",
          "receiving_dashboard", "verification_queue", "case_list_receiving", "monitor"}


@pytest.mark.bench
@pytest.mark.parametrize("kind", DATABASES)
def test_bench_pages_tiny(kind: str, tmp_path: Path) -> None:
    """Every official's pages are timed as often as asked; with two requests a page's p95 is its slowest, and
    no request of the whole run is slower than the slowest page's. The database's share of a page is part of
    its time, and no page sends a statement per row of a list (a page of 50 cases would send over 50)."""
    with empty_database(kind, tmp_path, "bench_pages") as url:
        config = Settings(database_url=url, data_dir=tmp_path, secret_key="k" * 40).resolved()
        figures = work_pages.run(config, cases=300, repeat=2)
        assert (figures["cases"], figures["cases_in_database"], figures["requests_per_page"], figures["database"],
                figures["reused"]) == (300, 300, 2, kind, False)
        assert set(figures["pages"]) == QUEUES | FILTERED | SORTS | OTHERS
        pages = figures["pages"].values()
        assert all(0 < page["min_ms"] <= page["median_ms"] <= page["p95_ms"] for page in pages)
        # A page whose statements take under 0.05 ms on SQLite rounds to 0.0 (seen in CI); some page's do not.
        assert all(0 <= page["sql_median_ms"] <= page["median_ms"] and page["sql_p95_ms"] <= page["p95_ms"]
                   for page in pages)
        assert any(page["sql_median_ms"] > 0 for page in pages)
        assert all(1 <= page["statements"] <= 30 for page in pages), {k: p["statements"] for k, p in
                                                                     figures["pages"].items()}
        assert figures["overall"]["p95_ms"] <= max(page["p95_ms"] for page in pages)
        assert figures["target_p95_ms"] == 200
        assert figures["over_target"] == sorted(k for k, p in figures["pages"].items() if p["p95_ms"] > 200)
        assert figures["fill_seconds"] > 0 and figures["peak_rss_mb"] > 0
        # Timed again over the same database, not filled again; a database of another size is refused.
        again_url = f"sqlite:///{figures['database_file']}" if kind == "sqlite" else url
        again = work_pages.run(dataclasses.replace(config, database_url=again_url), cases=300, repeat=1, reuse=True)
        assert (again["reused"], again["cases_in_database"], set(again["pages"])) == (True, 300, set(figures["pages"]))
        with pytest.raises(ValueError, match="earlier fill of 301 cases"):
            work_pages.run(dataclasses.replace(config, database_url=again_url), cases=301, repeat=1, reuse=True)


def test_bench_pages_is_registered_under_its_name_and_its_old_one() -> None:
    for name in ("pages", "web"):
        result = runner.invoke(app, ["bench", name, "--help"])
        assert result.exit_code == 0 and "--repeat" in result.output, result.output
