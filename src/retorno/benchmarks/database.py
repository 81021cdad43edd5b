"""What every database benchmark shares: a fresh database, peak memory, and the kind of database."""

from __future__ import annotations

import atexit
import resource
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from retorno.config import Settings
from retorno.migrations import rebuild_postgresql, upgrade


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def scratch_folder(prefix: str) -> Path:
    """A temporary folder of one benchmark run, removed when the process ends: runs left their SQLite databases
    and keys behind in the temporary directory, one set per run."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def fresh_database(settings: Settings) -> tuple[str, str]:
    """A newly migrated, empty database: a temporary SQLite file, or the given server database emptied.

    Never the installation's own SQLite file: a benchmark must not wipe the data it runs beside.
    """
    url = settings.database_url
    if make_url(url).get_backend_name() == "sqlite":
        url = f"sqlite:///{scratch_folder('retorno-bench-') / 'bench.sqlite3'}"
    if make_url(url).get_backend_name() == "postgresql":
        rebuild_postgresql(url)
    else:
        upgrade(url)
    return url, make_url(url).get_backend_name()
