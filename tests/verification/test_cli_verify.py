"""`retorno synth` and `retorno verify` as an operator runs them, on a SQLite and a PostgreSQL database of their own.

The commands commit, so they get databases of their own (built by the same migrations, with
the same world) instead of the shared, rolled-back test database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from retorno.audit.models import AuditRecord
from retorno.audit.signing import KeyFile
from retorno.cases.models import Case
from retorno.cli.main import app
from retorno.datakeys import DataKeyring
from retorno.db import make_engine, use_data_keys
from retorno.migrations import upgrade
from retorno.verification import linkers
from retorno.verification.anchors import AGE_OF_MAJORITY
from retorno.verification.linkage import FIELDS
from retorno.verification.models import VerificationDecision, VerificationRequest
from retorno.verification.service import open_request, record_decision
from tests.conftest import PG_ADMIN_URL
from tests.databases import private_name
from tests.factories import World, build_world
from tests.linker import signed
from tests.verification.test_jobs import _person, misdated, namesake, open_case

runner = CliRunner()


@dataclasses.dataclass
class Files:
    folder: Path
    registry: Path
    requests: Path
    model: Path
    decisions: Path


def cli(folder: Path, *args: str) -> Result:
    """Run `retorno` with its data directory in the test's folder."""
    return runner.invoke(app, [*args], env={"RETORNO_DATA_DIR": str(folder / "var"), "RETORNO_DATABASE_URL": "",
                                            "RETORNO_USER": ""})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """A registry and requests made with `retorno synth`, linked offline with a model trained once (--train)."""
    folder = tmp_path_factory.mktemp("cli-verify")
    registry, requests = folder / "registry.parquet", folder / "requests.parquet"
    model, decisions = folder / "model.json", folder / "decisions.jsonl"
    made = cli(folder, "synth", "registry", "--size", "3000", "--out", str(registry), "--seed", "31")
    assert made.exit_code == 0, made.output
    made = cli(folder, "synth", "requests", "--size", "60", "--from", str(registry), "--out", str(requests),
               "--seed", "32", "--error", "one_typo=0.3", "--error", "non_national_share=0.2")
    assert made.exit_code == 0, made.output
    linked = cli(folder, "verify", "--registry", str(registry), "--model", str(model), "--train",
                 "--requests", str(requests), "--decisions-out", str(decisions))
    assert linked.exit_code == 0, linked.output
    return Files(folder, registry, requests, model, decisions)


@pytest.fixture(scope="module")
def service(database: tuple[str, Engine, World], tmp_path_factory: pytest.TempPathFactory, data_keys: DataKeyring
            ) -> Iterator[tuple[str, Engine, World]]:
    """A fresh migrated database of the same kind as `database`, with the test world, for commands that commit."""
    kind = make_url(database[0]).get_backend_name()
    admin = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('cli-db') / 'service.sqlite3'}"
    else:
        name = private_name("retorno_cli_verify")
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    engine = make_engine(url)
    use_data_keys(engine, data_keys)  # the world's tokens are digested with them
    with Session(engine) as session:
        world = build_world(session)
        session.commit()
    yield url, engine, world
    engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
        admin.dispose()


def register(service: tuple[str, Engine, World], people: list[dict[str, Any]]) -> list[str]:
    """Register, screen and send for verification, committed; returns the case references."""
    _, engine, world = service
    with Session(engine) as session:
        sender = world.bind(session).users["inm.officer"]
        references = [open_case(session, sender, person).reference for person in people]
        session.commit()
    return references


def state_of(service: tuple[str, Engine, World], reference: str) -> tuple[str, str | None, str | None, Any]:
    """The case's state and its latest decision: outcome, registry record, candidates."""
    with Session(service[1]) as session:
        case = session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one()
        decision = session.execute(
            sa.select(VerificationDecision).join(VerificationRequest)
            .where(VerificationRequest.case_id == case.id).order_by(VerificationDecision.id.desc()).limit(1)
        ).scalar_one_or_none()
        if decision is None:
            return case.state, None, None, None
        return case.state, decision.outcome, decision.registry_record, decision.candidates


def decision_count(service: tuple[str, Engine, World]) -> int:
    with Session(service[1]) as session:
        return session.execute(sa.select(sa.func.count()).select_from(VerificationDecision)).scalar_one()


def write_signed(file: Path, folder: Path, *documents: dict[str, Any]) -> Path:
    """A decisions file whose linkage lines are signed by the linking key of `folder`'s installation (`cli`'s data
    directory), as `retorno verify --decisions-out` run there signs them."""
    key = KeyFile(folder / "var" / linkers.KEY_FILE_NAME)
    file.write_text("".join(line + "\n" for line in signed(documents, key)), encoding="utf-8")
    return file


def records(files: Files) -> list[dict[str, Any]]:
    return pq.read_table(files.registry).to_pylist()


def test_synth_writes_a_registry_and_corrupted_requests(files: Files, tmp_path: Path) -> None:
    registry = pq.read_table(files.registry)
    assert registry.num_rows == 3000 and {"registry_id", *FIELDS} <= set(registry.column_names)
    requests = pq.read_table(files.requests).to_pylist()
    assert len(requests) == 60
    assert sum(row["true_registry_id"] is None for row in requests) >= 5
    assert sum("typo" in row["errors"] for row in requests) >= 8
    as_csv = cli(tmp_path, "synth", "registry", "--size", "25", "--out", str(tmp_path / "small.csv"))
    assert as_csv.exit_code == 0, as_csv.output
    assert pacsv.read_csv(tmp_path / "small.csv").num_rows == 25
    refused = cli(tmp_path, "synth", "requests", "--size", "5", "--from", str(files.registry),
                  "--out", str(tmp_path / "r.parquet"), "--error", "gremlins=0.5")
    assert refused.exit_code != 0 and "gremlins" in refused.output


def test_offline_run_on_synthetic_requests_verifies_no_non_national(files: Files) -> None:
    truth = {row["request_id"]: row["true_registry_id"] for row in pq.read_table(files.requests).to_pylist()}
    decisions = [json.loads(line) for line in files.decisions.read_text(encoding="utf-8").splitlines()]
    assert [d["request"] for d in decisions] == list(truth)
    verified = [d for d in decisions if d["outcome"] == "verified"]
    assert len(verified) >= 30
    for decision in verified:
        assert decision["registry_record"] == str(truth[decision["request"]])
    model = json.loads(files.model.read_text(encoding="utf-8"))
    assert model["link_type"] == "link_only"


def test_verify_records_decisions_with_the_saved_model(files: Files, service: tuple[str, Engine, World]) -> None:
    people = records(files)
    clean, twin, written_badly = register(service, [_person(people[42]), namesake(people[314]),
                                                    misdated(people[1000])])
    url = service[0]
    model_stamp = files.model.stat().st_mtime_ns
    result = cli(files.folder, "verify", "--registry", str(files.registry), "--model", str(files.model),
                 "--upper", "0.99", "--lower", "0.05", "--as", "saime.officer", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert files.model.stat().st_mtime_ns == model_stamp  # loaded, not trained again
    assert state_of(service, clean)[:3] == ("verified", "verified", str(people[42]["registry_id"]))
    assert state_of(service, twin)[0] == "verification_requested"
    assert state_of(service, twin)[1] in ("review", "not_found")
    state, outcome, _, candidates = state_of(service, written_badly)
    assert (state, outcome) == ("verification_requested", "review")
    assert str(people[1000]["registry_id"]) in [c["registry_record"] for c in candidates]
    assert all(set(c["agreement"]) == set(FIELDS) for c in candidates)

    # Thresholds from the command line: with both at 1, a review is no longer possible.
    (again,) = register(service, [misdated(people[1000])])
    strict = cli(files.folder, "verify", "--registry", str(files.registry), "--model", str(files.model),
                 "--upper", "1", "--lower", "1", "--as", "saime.officer", "--database-url", url)
    assert strict.exit_code == 0, strict.output
    assert state_of(service, again)[1] == "not_found"


def test_verify_refuses_without_a_model_or_the_right_official(files: Files,
                                                              service: tuple[str, Engine, World],
                                                              tmp_path: Path) -> None:
    url = service[0]
    register(service, [_person(records(files)[7])])
    before = decision_count(service)
    missing = cli(files.folder, "verify", "--registry", str(files.registry), "--model", str(tmp_path / "no.json"),
                  "--as", "saime.officer", "--database-url", url)
    assert missing.exit_code == 2 and "--train" in missing.output
    assert not (tmp_path / "no.json").exists()
    sender = cli(files.folder, "verify", "--registry", str(files.registry), "--model", str(files.model),
                 "--as", "inm.officer", "--database-url", url)
    assert sender.exit_code == 2 and "forbidden.verification" in sender.output
    bad_thresholds = cli(files.folder, "verify", "--registry", str(files.registry), "--upper", "0.1",
                         "--lower", "0.5", "--as", "saime.officer", "--database-url", url)
    assert bad_thresholds.exit_code != 0
    assert decision_count(service) == before


def test_export_link_offline_and_import_round_trip(files: Files, service: tuple[str, Engine, World],
                                                   tmp_path: Path) -> None:
    people = records(files)
    clean, written_badly = register(service, [_person(people[1500]), misdated(people[2000])])
    url, requests, decisions = service[0], tmp_path / "requests.jsonl", tmp_path / "decisions.jsonl"
    exported = cli(files.folder, "verify", "export-requests", "--out", str(requests), "--as", "saime.officer",
                   "--database-url", url)
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in requests.read_text(encoding="utf-8").splitlines()]
    assert {clean, written_badly} <= {line["case"] for line in lines}
    assert all(set(line) == {"request", "case", *FIELDS} for line in lines)

    # On the receiving side's own machine: no service database at all.
    linked = cli(tmp_path, "verify", "--registry", str(files.registry), "--model", str(files.model),
                 "--requests", str(requests), "--decisions-out", str(decisions))
    assert linked.exit_code == 0, linked.output
    assert state_of(service, clean)[0] == "verification_requested"
    assert "signed by linker" in linked.output

    # Signed by a linker the service does not know yet: nothing imported until a supervisor trusts it.
    untrusted = cli(files.folder, "verify", "import-decisions", str(decisions), "--as", "saime.officer",
                    "--database-url", url)
    assert untrusted.exit_code == 2 and "does not trust" in untrusted.output
    assert state_of(service, clean)[0] == "verification_requested"
    key = cli(tmp_path, "verify", "linker-key")
    assert key.exit_code == 0, key.output
    public_key = key.output.split()[-1]
    officer = cli(files.folder, "verify", "linkers", "add", public_key, "--name", "SAIME offline", "--as",
                  "saime.officer", "--database-url", url)
    assert officer.exit_code == 2 and "forbidden" in officer.output
    trusted = cli(files.folder, "verify", "linkers", "add", public_key, "--name", "SAIME, sala del registro",
                  "--as", "saime.supervisor", "--database-url", url)
    assert trusted.exit_code == 0, trusted.output

    imported = cli(files.folder, "verify", "import-decisions", str(decisions), "--as", "saime.officer",
                   "--database-url", url)
    assert imported.exit_code == 0, imported.output
    assert state_of(service, clean)[:3] == ("verified", "verified", str(people[1500]["registry_id"]))
    assert state_of(service, written_badly)[:2] == ("verification_requested", "review")

    sample = cli(files.folder, "verify", "sample", "--share", "1", "--seed", "4", "--as", "saime.officer",
                 "--database-url", url)
    assert sample.exit_code == 0, sample.output
    assert "drawn for a re-check" in sample.output
    with Session(service[1]) as session:
        drawn = session.execute(sa.select(AuditRecord.after).where(AuditRecord.action == "verification.audit_sample")
                                .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
    assert clean in drawn["cases"]


def test_a_bad_decisions_file_writes_nothing(files: Files, service: tuple[str, Engine, World],
                                             tmp_path: Path) -> None:
    people = records(files)
    first, second = register(service, [_person(people[2500]), _person(people[2600])])
    good = {"request": f"VR-{first}", "case": first, "outcome": "verified", "method": "linkage",
            "registry_record": str(people[2500]["registry_id"]), "probability": 0.999}
    bad = {**good, "request": f"VR-{second}", "case": first}
    file = write_signed(tmp_path / "decisions.jsonl", files.folder, good, bad)
    before = decision_count(service)
    result = cli(files.folder, "verify", "import-decisions", str(file), "--as", "saime.officer",
                 "--database-url", service[0])
    assert result.exit_code == 2
    assert "nothing imported" in result.output and "line 2" in result.output and first in result.output
    assert decision_count(service) == before
    assert state_of(service, first)[0] == "verification_requested"


def test_training_prints_the_weight_table_and_a_broken_model_is_refused(files: Files, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    trained = cli(tmp_path, "verify", "--registry", str(files.registry), "--model", str(model), "--train", "--em",
                  "--requests", str(files.requests), "--decisions-out", str(tmp_path / "d.jsonl"))
    assert trained.exit_code == 0, trained.output
    assert "model weights" in trained.output and "all other" in trained.output
    assert "EM skipped: 60 requests" in trained.output  # too few to learn from without labels
    broken = json.loads(model.read_text(encoding="utf-8"))
    sex = next(c for c in broken["comparisons"] if c["output_column_name"] == "sex")
    sex["comparison_levels"][-1].update(m_probability=1e-3, u_probability=1e-8)
    model.write_text(json.dumps(broken), encoding="utf-8")
    refused = cli(tmp_path, "verify", "--registry", str(files.registry), "--model", str(model),
                  "--requests", str(files.requests), "--decisions-out", str(tmp_path / "e.jsonl"))
    assert refused.exit_code == 2 and "sex / all other: weighs +16.61 bits" in " ".join(refused.output.split())
    assert not (tmp_path / "e.jsonl").exists()


def test_officers_decisions_train_the_model_and_say_how_calibrated_it_is(
        files: Files, service: tuple[str, Engine, World], tmp_path: Path) -> None:
    url, engine, world = service
    people = records(files)
    # Adults by the registry too: verifying a person the registry's record makes a minor, alone, records the
    # unaccompanied-child concern (`travel.service._verified_a_minor`), which this engine has no data keys to write.
    adults = [person for person in people[2100:] if person["birth_date"] < dt.date(2000, 1, 1)]
    chosen = adults[:40:10]
    references = register(service, [misdated(person) for person in chosen])
    model = tmp_path / "model.json"
    model.write_bytes(files.model.read_bytes())
    linked = cli(files.folder, "verify", "--registry", str(files.registry), "--model", str(model),
                 "--as", "saime.officer", "--database-url", url)
    assert linked.exit_code == 0, linked.output
    assert all(state_of(service, reference)[1] == "review" for reference in references)
    quiet = cli(files.folder, "verify", "calibration", "--as", "saime.officer", "--database-url", url)
    assert quiet.exit_code == 0 and "too few decisions" in quiet.output
    # An officer verifies three (the right record) and rejects one.
    with Session(engine) as session:
        officer = world.bind(session).users["saime.officer"]
        for reference, person in zip(references[:3], chosen, strict=False):
            case = session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one()
            record_decision(session, officer, case, outcome="verified", registry_record=str(person["registry_id"]),
                            request_reference=open_request(session, officer, case).reference)
        case = session.execute(sa.select(Case).where(Case.reference == references[3])).scalar_one()
        record_decision(session, officer, case, outcome="rejected", reason="not the person: another mother",
                        request_reference=open_request(session, officer, case).reference)
        session.commit()
    report = cli(files.folder, "verify", "calibration", "--as", "saime.officer", "--database-url", url,
                 "--bins", "5")
    assert report.exit_code == 0, report.output
    assert "4 decisions" in report.output and "Brier score" in report.output
    before = model.read_bytes()
    learned = cli(files.folder, "verify", "--registry", str(files.registry), "--model", str(model),
                  "--from-decisions", "--as", "saime.officer", "--database-url", url)
    assert learned.exit_code == 0, learned.output
    assert "decisions used: 3 of 4" in learned.output and "before" in learned.output
    assert model.read_bytes() != before


def test_a_registry_minor_declared_an_adult_is_never_verified_on_the_cedula(
        files: Files, service: tuple[str, Engine, World], tmp_path: Path) -> None:
    # Red team round 13, F4: `retorno verify --registry reg-minor.parquet` verified a request whose cédula agreed
    # with a 16-year-old's record but whose birth date, three years earlier, made him an adult travelling alone.
    today = dt.date.today()
    table = pq.read_table(files.registry)
    minor = {"registry_id": 990002, "given_names": "YENDER ALEXANDER", "first_surname": "MUJICA",
             "second_surname": "RONDÓN", "sex": "M", "birth_date": dt.date(today.year - 16, 11, 1),
             "birth_place": "LARA", "cedula": "V-31456789"}
    registry = tmp_path / "reg-minor.parquet"
    pq.write_table(pa.Table.from_pylist([*table.to_pylist(), minor], schema=table.schema), registry)
    declared = {**minor, "given_names": "Yender Alexander", "first_surname": "Mujica", "second_surname": "Rondón",
                "birth_date": dt.date(today.year - 19, 11, 1), "birth_place": "Lara", "cedula": "V31456789"}
    (reference,) = register(service, [declared])
    linked = cli(files.folder, "verify", "--registry", str(registry), "--model", str(files.model),
                 "--as", "saime.officer", "--database-url", service[0])
    assert linked.exit_code == 0, linked.output
    state, outcome, record, candidates = state_of(service, reference)
    assert (state, outcome, record) == ("verification_requested", "review", "990002")
    # The verifier is shown both dates: the registry's with the candidate, the declared one with the case.
    assert candidates[0]["record"]["birth_date"] == minor["birth_date"].isoformat()
    assert candidates[0]["agreement"]["birth_date"] == "disagree" and candidates[0]["agreement"]["cedula"] == "agree"
    with Session(service[1]) as session:
        reason = session.execute(
            sa.select(VerificationDecision.reason).join(VerificationRequest)
            .join(Case, Case.id == VerificationRequest.case_id).where(Case.reference == reference)
        ).scalar_one()
    assert reason == AGE_OF_MAJORITY

    # A decisions file that says `verified` (an earlier version's, or edited) is recorded as review all the same.
    # Another person of the same name (another cédula): the first is a minor by the review's registry date now (red
    # team round 17, O-F4), and a record of theirs registered alone would be screened an unaccompanied child.
    (again,) = register(service, [{**declared, "cedula": "V31456790"}])
    document = {"request": f"VR-{again}", "case": again, "outcome": "verified", "method": "linkage",
                "registry_record": "990002", "probability": 0.9999, "reason": None,
                "candidates": [{**candidates[0], "probability": 0.9999}]}
    file = write_signed(tmp_path / "decisions.jsonl", files.folder, document)
    imported = cli(files.folder, "verify", "import-decisions", str(file), "--as", "saime.officer",
                   "--database-url", service[0])
    assert imported.exit_code == 0, imported.output
    assert state_of(service, again)[:3] == ("verification_requested", "review", "990002")
