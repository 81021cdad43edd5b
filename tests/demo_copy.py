"""One SQLite demo per test run, copied for each module that reads or changes it.

`retorno demo --cases 120` takes about a minute; three modules used to build one each on SQLite. The first worker
that asks builds it under a lock in the run's shared temporary directory; every module then works on a copy of its
own (the database, the keys, the registry and the model), so what one changes no other sees.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retorno.cli.main import app

# The size of the current batch (the two past flights' batches are fixed): small enough for the suite.
CASES = "120"
DATABASE = "demo.sqlite3"
OUTPUT = "demo-output.txt"


@dataclass(frozen=True)
class DemoCopy:
    url: str
    folder: Path
    output: str


def _built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the run's one SQLite demo, built by whichever test worker asks first."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has a base of its own inside the run's; alone, the run's base is this one.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "sqlite-demo"
    with open(shared / "sqlite-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / OUTPUT).is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            built = CliRunner().invoke(app, ["demo", "--cases", CASES, "--database-url",
                                             f"sqlite:///{folder / DATABASE}"],
                                       env={"RETORNO_DATA_DIR": str(folder), "RETORNO_DATABASE_URL": ""})
            assert built.exit_code == 0, built.output
            (folder / OUTPUT).write_text(built.stdout, encoding="utf-8")
    return folder


def sqlite_demo(tmp_path_factory: pytest.TempPathFactory, label: str) -> DemoCopy:
    """A copy of the run's SQLite demo in a folder of its own: its data directory, with the database beside it."""
    source = _built(tmp_path_factory)
    folder = tmp_path_factory.mktemp(label)
    for item in source.iterdir():
        if item.name != DATABASE and item.is_file():
            shutil.copy2(item, folder / item.name)
    with closing(sqlite3.connect(source / DATABASE)) as built, closing(sqlite3.connect(folder / DATABASE)) as copy:
        built.backup(copy)
    output = (folder / OUTPUT).read_text(encoding="utf-8")
    (folder / OUTPUT).unlink()
    return DemoCopy(f"sqlite:///{folder / DATABASE}", folder, output)
