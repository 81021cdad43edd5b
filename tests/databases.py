"""Names of the scratch PostgreSQL databases the tests create."""

from __future__ import annotations

import os


def private_name(prefix: str) -> str:
    """A database name of this test worker and this run alone.

    xdist gives every worker of one run the same uid; two runs on one server (a developer's
    and CI's) therefore never drop each other's databases.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]
    return f"{prefix}_{worker}_{run}"
