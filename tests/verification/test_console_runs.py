"""Tester note (round 13): the console (`retorno verify --as OFFICER`, `retorno verify import-decisions FILE --as
OFFICER`) recorded verification decisions as the officer named, against any registry file, and the audit trail named
the officer alone, not the console nor the file. Each such run now writes one audit record of its own
(`verification.console_run`), in the transaction of the decisions it records: the door, the command, the registry (a
file's SHA-256; a prepared directory's manifest's), the model's digest and the counts; each decision's record names the
run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.audit.signing import KeyFile
from retorno.verification import linkers
from retorno.verification.jobs import CONSOLE_RUN, registry_identity
from tests.factories import World
from tests.verification.test_cli_verify import Files, cli, files, records, register, service, write_signed  # noqa: F401
from tests.verification.test_jobs import _person, misdated


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _runs(engine: Engine) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.execute(sa.select(AuditRecord).where(AuditRecord.action == CONSOLE_RUN)
                                    .order_by(AuditRecord.seq)).scalars())


def _decided(engine: Engine, references: list[str]) -> list[AuditRecord]:
    with Session(engine) as session:
        return list(session.execute(sa.select(AuditRecord).where(
            AuditRecord.action.in_(("verification.verified", "verification.review", "verification.not_found")),
            AuditRecord.object_id.in_(references))).scalars())


def test_a_console_run_is_on_the_audit_trail_with_its_registry_and_model(
        files: Files, service: tuple[str, Engine, World]) -> None:  # noqa: F811
    people = records(files)
    references = register(service, [_person(people[77]), misdated(people[1777])])
    before = len(_runs(service[1]))
    result = cli(files.folder, "verify", "--registry", str(files.registry), "--model", str(files.model),
                 "--as", "saime.officer", "--database-url", service[0])
    assert result.exit_code == 0, result.output
    runs = _runs(service[1])
    assert len(runs) == before + 1
    run = runs[-1]
    after: dict[str, Any] = run.after or {}
    assert run.actor == "saime.officer" and run.object_type == "verification_run", run
    assert run.object_id in result.output
    assert after["door"] == "console" and after["command"] == "verify", after
    assert after["registry"] == {"kind": "file", "path": str(files.registry.resolve()),
                                 "sha256": _sha256(files.registry)}, after
    assert after["model"] == {"path": str(files.model.resolve()), "sha256": _sha256(files.model)}, after
    decided = _decided(service[1], references)
    assert len(decided) == 2 and all((d.after or {}).get("run") == run.object_id for d in decided), decided
    counts = after["counts"]
    assert counts["verified"] + counts["review"] + counts["not_found"] >= 2, counts
    # The run's record follows its decisions on the chain: one transaction.
    assert run.seq > max(d.seq for d in decided)


def test_an_imported_decisions_file_is_on_the_audit_trail_with_its_digest(
        files: Files, service: tuple[str, Engine, World], tmp_path: Path) -> None:  # noqa: F811
    people = records(files)
    (reference,) = register(service, [_person(people[2801])])
    file = write_signed(tmp_path / "decisions.jsonl", files.folder, {
        "request": f"VR-{reference}", "case": reference, "outcome": "verified", "method": "linkage",
        "registry_record": str(people[2801]["registry_id"]), "probability": 0.999})
    result = cli(files.folder, "verify", "import-decisions", str(file), "--as", "saime.officer",
                 "--database-url", service[0])
    assert result.exit_code == 0, result.output
    run = _runs(service[1])[-1]
    after: dict[str, Any] = run.after or {}
    assert after["command"] == "verify import-decisions" and after["door"] == "console", after
    own = KeyFile(files.folder / "var" / linkers.KEY_FILE_NAME).public().key_id
    assert after["decisions_file"] == {"path": str(file.resolve()), "sha256": _sha256(file), "linkers": [own]}, after
    assert after["counts"]["verified"] == 1 and after["registry"] is None, after
    (decided,) = _decided(service[1], [reference])
    assert (decided.after or {}).get("run") == run.object_id


def test_a_prepared_registry_is_named_by_its_manifest(tmp_path: Path) -> None:
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    (prepared / "manifest.json").write_text('{"format": 1, "rows": 3}', encoding="utf-8")
    assert registry_identity(prepared, prepared) == {
        "kind": "prepared", "path": str(prepared.resolve()),
        "manifest_sha256": _sha256(prepared / "manifest.json")}
    assert registry_identity("postgresql://clerk:secret@db/registry#people", tmp_path / "prepared" / "manifest.json"
                             )["source"] == "postgresql://clerk:***@db/registry#people"
