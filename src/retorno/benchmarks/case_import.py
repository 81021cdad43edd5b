"""`retorno bench import`: check and import a generated case list into a fresh database.

The import runs as `retorno import cases` runs it: one transaction on an engine that signs its
audit records and re-checks manifests when it commits. Figures: seconds from the file's bytes to
the commit, rows per second, the process's peak memory (the generated file included), and what
was stored; then the whole audit chain is verified, as `retorno audit verify` would.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.service import create_agency, create_user
from retorno.audit.models import AuditRecord
from retorno.audit.seals import ACTION as SEAL_ACTION
from retorno.audit.seals import unsealed
from retorno.audit.signing import KeyFile
from retorno.audit.verify import verify_chain
from retorno.benchmarks.database import fresh_database, peak_rss_mb, scratch_folder
from retorno.benchmarks.process_tree import process_cpu_seconds
from retorno.cases.models import Case
from retorno.cases.template import FileFormat
from retorno.config import Settings
from retorno.datakeys import keyring_for
from retorno.db import make_sessionmaker, transaction, wait_for_checkpoint
from retorno.installation import installation_engine
from retorno.synthetic.case_files import synthetic_case_file
from retorno.travel.load import import_cases

_THIS_MACHINE = (None, "", "localhost", "127.0.0.1", "::1")


def _server_process(session: Session) -> int | None:
    """The id of the PostgreSQL server process serving this session's connection, when the server runs on this
    machine (None elsewhere, and on SQLite, whose work is this process's own)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or connection.engine.url.host not in _THIS_MACHINE:
        return None
    return int(session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def run(settings: Settings, *, rows: int = 100_000, seed: int = 1, bad_row: bool = False,
        fmt: FileFormat = "csv") -> dict[str, Any]:
    url, backend = fresh_database(settings)
    data = synthetic_case_file(rows, seed=seed, fmt=fmt, bad_row=rows // 2 if bad_row else None)
    # A key of the benchmark's own: a benchmark never creates or uses the installation's.
    keys = scratch_folder("retorno-bench-keys-")
    signer = KeyFile(keys / "audit_signing_key")
    engine = installation_engine(url, data_keys=keyring_for(Settings(data_dir=keys)), audit_signer=signer,
                                 passengers_per_escort=settings.passengers_per_escort)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        create_agency(session, None, code="MX-INM", name="INM", kind="sending_authority", country="MEX")
        create_user(session, None, username="bench", full_name="bench", agency_code="MX-INM", role="officer",
                    password="una clave de prueba 1")
    before_import_mb = peak_rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    with transaction(factory) as session:
        server = _server_process(session)
        server_started = process_cpu_seconds(server)
        actor = session.execute(sa.select(User).where(User.username == "bench")).scalar_one()
        outcome = import_cases(session, actor, data, f"bench.{fmt}")
        if not outcome.ok:
            session.rollback()
    seconds = round(time.perf_counter() - started, 3)
    cpu_seconds = time.process_time() - cpu_started
    server_ended = process_cpu_seconds(server)
    # SQLite's checkpoint after a large batch runs in a thread once the import is committed (`db.insert_columns`):
    # not the official's wait, but work the machine does for it, reported apart.
    wait_for_checkpoint(engine.url.database or "")
    checkpoint_seconds = round(time.perf_counter() - started - seconds, 3)
    with factory() as session:
        stored = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
        audit_records = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()
        seal_records = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)
                                       .where(AuditRecord.action == SEAL_ACTION)).scalar_one()
        chain = verify_chain(session, signer.keyring())
        sealed = unsealed(session)
    engine.dispose()
    errors = [p for p in outcome.report.problems if p.severity == "error"]
    return {
        "rows": rows, "format": fmt, "database": backend, "file_mb": round(len(data) / 2**20, 1),
        "seconds": seconds, "rows_per_second": round(rows / seconds),
        # This process's own CPU time (the database server's is not in it): on a busy machine, the
        # share of `seconds` that is the import's work here.
        "cpu_seconds": round(cpu_seconds, 3),
        # The PostgreSQL server process's, when it runs on this machine (its indexes, checks and commit): with
        # `cpu_seconds`, what the import costs whatever else the machine is doing.
        "server_cpu_seconds": None if server_started is None or server_ended is None
        else round(server_ended - server_started, 2),
        "checkpoint_seconds_after": checkpoint_seconds if backend == "sqlite" else None,
        "peak_rss_mb": peak_rss_mb(), "rss_before_import_mb": before_import_mb,
        "imported": outcome.ok, "created": outcome.created, "cases_stored": stored,
        "audit_records": audit_records, "seal_records": seal_records, "audit_chain_ok": chain.ok,
        "records_as_sealed": not sealed.problems,
        "error_rows": sorted({p.row_number for p in errors}),
        "possible_duplicates": len(outcome.report.duplicates),
    }
