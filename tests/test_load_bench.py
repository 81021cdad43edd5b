"""A tiny run of `retorno bench load`: a few officials of every role at once against the served API on PostgreSQL.

Not a speed test: the run must end with no error (no 5xx, no 4xx the scenario did not provoke on purpose),
the refusals it provokes answered as expected, the officials' writes on the audit trail, and the database
intact by the independent check and `retorno audit verify`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from retorno.benchmarks.load import role_counts, server_database
from retorno.cli.main import app
from tests.databases import private_name

PG_ADMIN_URL = os.environ.get("RETORNO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with server_database(private_name("retorno_load"), PG_ADMIN_URL) as url:
        yield url


def test_the_first_six_officials_cover_every_role_and_fifty_keep_the_office_mix() -> None:
    assert set(role_counts(6)) == {"sending_officer", "sending_supervisor", "receiving_officer", "carrier_officer",
                                   "operator", "monitor"}
    assert role_counts(50) == {"sending_officer": 15, "receiving_officer": 15, "carrier_officer": 5,
                               "operator": 5, "sending_supervisor": 5, "monitor": 5}


@pytest.mark.bench
def test_bench_load_tiny_on_postgresql(postgres_url: str) -> None:
    result = CliRunner().invoke(app, ["bench", "load", "--cases", "500", "--users", "6", "--duration", "12",
                                      "--database-url", postgres_url])
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["errors"] == 0, figures["failures"]
    assert figures["server_error_log_lines"] == []
    assert figures["invariants_ok"], figures["invariants"]
    assert result.exit_code == 0, result.output
    assert figures["database"] == "postgresql" and figures["cases"] >= 500
    assert figures["roles"] == role_counts(6) and figures["requests"] > 0
    # Every official logged in with an account of their own.
    assert figures["kinds"]["POST /auth/token"]["requests"] == 6
    # The officials changed things, each change on the audit trail; the trail and every rule still hold.
    assert sum(figures["writes_audited"].values()) > 0
    assert figures["invariants"]["audit_verify"]["exit_code"] == 0
    assert figures["invariants"]["examined"]["states_agree"] >= 500
    # Every kind of request has its percentiles; the targets are reported, not asserted (a shared machine).
    assert all(f["p95_ms"] >= f["p50_ms"] > 0 for f in figures["kinds"].values() if f["requests"])
    assert set(figures["targets_met"]) == {"errors", "read_p95", "write_p95", "invariants"}
