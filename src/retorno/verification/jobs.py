"""Verification runs on the receiving side: link the open requests to the registry and record the decisions.

The registry is read where it lies (a Parquet or CSV file, or a table of the receiving side's
own database) and never stored in the service: only the decisions are, each through
`record_decision`, with the best candidates and the field-by-field agreement the review
screen shows. 'review' and 'not_found' leave the request open for a person.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.permissions import action, reader
from retorno.audit.service import record
from retorno.cases.facts import case_fingerprint
from retorno.cases.models import Case
from retorno.cases.service import can_see
from retorno.db import utcnow
from retorno.errors import InvalidInput, NotFound, RetornoError
from retorno.verification.anchors import birth_date_holds_back
from retorno.verification.linkage import FIELDS, Candidate, LinkDecision, Thresholds, link
from retorno.verification.models import VerificationDecision, VerificationRequest
from retorno.verification.prepared import MANIFEST, is_prepared
from retorno.verification.records import same_record
from retorno.verification.service import LINKAGE_METHOD, OPEN, record_decision, requests_seen

# Rows read from a registry table per batch when it is copied to Parquet for the run.
REGISTRY_BATCH = 100_000
_QUERY_CHUNK = 500

Progress = Callable[[int], None]


@dataclass
class RunSummary:
    """What a verification run recorded: decisions by outcome, and requests it left alone."""

    verified: int = 0
    review: int = 0
    not_found: int = 0
    rejected: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "review": self.review, "not_found": self.not_found,
                "rejected": self.rejected, "skipped": len(self.skipped)}


@reader("verification.queue")
def open_requests(session: Session, actor: User, *, include_review: bool = False
                  ) -> list[tuple[VerificationRequest, Case]]:
    """Requests addressed to the actor's receiving authority that await linkage, oldest first.

    Requests already proposed for review wait for a person; `include_review` links them again
    (after a registry update, say). Only those of cases the authority may see (`service.requests_seen`).
    """
    statuses = OPEN if include_review else ("pending",)
    rows = session.execute(
        sa.select(VerificationRequest, Case).join(Case, Case.id == VerificationRequest.case_id)
        .where(*requests_seen(session, actor),
               VerificationRequest.status.in_(statuses), Case.state == "verification_requested")
        .order_by(VerificationRequest.requested_at, VerificationRequest.id)
    ).all()
    return [(request, case) for request, case in rows]


def identity(request: VerificationRequest, case: Case) -> dict[str, Any]:
    """The stable identifiers and identity fields of a request: all that linkage (or an export) needs."""
    return {
        "request": request.reference, "case": case.reference,
        "given_names": case.given_names, "first_surname": case.first_surname,
        "second_surname": case.second_surname, "sex": case.sex,
        "birth_date": case.birth_date.isoformat() if case.birth_date else None,
        "birth_place": case.place_of_birth, "cedula": case.national_id,
    }


def link_rows(identities: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identity documents as the rows `linkage.link` reads (its id column is `request_id`)."""
    return [{"request_id": row["request"], **{name: row.get(name) for name in FIELDS}} for row in identities]


@reader("verification.queue")
def decision_labels(session: Session, actor: User) -> tuple[list[dict[str, Any]], int]:
    """The officers' own decisions as labelled pairs to train on, and how many decisions there were.

    A label is a person's verification naming the registry record, on a case that still has
    the identity decided on (a changed identity is no longer that pair). The count is every
    decision a person made for the actor's authority, so the caller can say what share was used.
    """
    rows = session.execute(
        sa.select(VerificationDecision, VerificationRequest, Case)
        .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
        .join(Case, Case.id == VerificationRequest.case_id)
        .where(VerificationRequest.receiving_agency_id == actor.agency_id,
               VerificationDecision.method != LINKAGE_METHOD)
        .order_by(VerificationDecision.id)
    ).all()
    labels = []
    for decision, request, case in rows:
        if (decision.outcome == "verified" and decision.registry_record
                and decision.identity_fingerprint == case_fingerprint(case)):
            labels.append({**link_rows([identity(request, case)])[0], "true_registry_id": decision.registry_record})
    return labels, len(rows)


@reader("verification.queue")
def calibration_outcomes(session: Session, actor: User, *, last: int = 500) -> list[tuple[float, bool]]:
    """What linkage proposed against what a person then decided, for the last `last` such requests.

    Each pair is the probability of the record a linkage run proposed for review (or its best
    candidate, when it proposed "not found") and whether an officer then verified that very
    record: the outcomes `calibration.calibration` bins.
    """
    rows = session.execute(
        sa.select(VerificationDecision)
        .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
        .where(VerificationRequest.receiving_agency_id == actor.agency_id)
        .order_by(VerificationDecision.id)
    ).scalars().all()
    proposals: dict[int, VerificationDecision] = {}
    outcomes: list[tuple[float, bool]] = []
    for decision in rows:
        if decision.method == LINKAGE_METHOD:
            if decision.outcome in ("review", "not_found") and decision.match_probability is not None:
                proposals[decision.request_id] = decision
            continue
        proposal = proposals.pop(decision.request_id, None)
        if proposal is None or decision.outcome not in ("verified", "rejected"):
            continue
        proposed = proposal.registry_record or next(
            (c.get("registry_record") for c in proposal.candidates or [] if isinstance(c, dict)), None)
        outcomes.append((float(proposal.match_probability or 0.0),
                         decision.outcome == "verified" and proposed is not None
                         and same_record(decision.registry_record, proposed)))
    return outcomes[-last:] if last > 0 else outcomes


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def candidate_document(candidate: Candidate) -> dict[str, Any]:
    """A registry candidate as stored with the decision: its identity fields only, and the agreement."""
    return {
        "registry_record": _text(candidate.registry_id),
        "probability": round(candidate.probability, 6),
        "record": {name: _text(candidate.record.get(name)) for name in FIELDS},
        "agreement": {name: candidate.agreement.get(name, "missing") for name in FIELDS},
        "deceased": candidate.deceased,
    }


def decision_document(decision: LinkDecision, case_reference: str | None) -> dict[str, Any]:
    """A proposed decision as a document with the request's stable identifiers (one line of a decisions file)."""
    return {
        "request": decision.request_id, "case": case_reference, "outcome": decision.outcome,
        "method": LINKAGE_METHOD, "registry_record": _text(decision.registry_id),
        "probability": round(decision.probability, 6),
        "candidates": [candidate_document(c) for c in decision.candidates],
        "reason": decision.reason,
    }


@action("verification.decide")
def apply_decision(session: Session, actor: User, case: Case, document: dict[str, Any], *,
                   run: str | None = None) -> VerificationDecision:
    """Record one decision document through the normal action, bound to the request it answers.

    A linkage `verified` whose record's birth date is further off than a slip from the case's, or on
    the other side of the age of majority, is recorded as review with that reason
    (`anchors.birth_date_holds_back`): linkage no longer proposes it, but a decisions file written by
    an earlier version, or edited, may."""
    outcome, method, reason = document["outcome"], document.get("method") or "manual", document.get("reason")
    if outcome == "verified" and method == LINKAGE_METHOD:
        held_back = birth_date_holds_back(document.get("candidates"), document.get("registry_record"),
                                          case.birth_date, same_record)
        if held_back is not None:
            outcome, reason = "review", held_back
    return record_decision(
        session, actor, case, outcome=outcome, method=method,
        registry_record=document.get("registry_record"), probability=document.get("probability"),
        candidates=document.get("candidates"), reason=reason,
        request_reference=document["request"], run=run,
    )


def requests_by_reference(session: Session, references: Sequence[str]
                          ) -> dict[str, tuple[VerificationRequest, Case]]:
    """Requests and their cases by request reference, read in chunks."""
    found: dict[str, tuple[VerificationRequest, Case]] = {}
    for start in range(0, len(references), _QUERY_CHUNK):
        chunk = list(references[start:start + _QUERY_CHUNK])
        rows = session.execute(
            sa.select(VerificationRequest, Case).join(Case, Case.id == VerificationRequest.case_id)
            .where(VerificationRequest.reference.in_(chunk))
        ).all()
        found.update({request.reference: (request, case) for request, case in rows})
    return found


@action("verification.decide")
def record_linkage(session: Session, actor: User, documents: Sequence[dict[str, Any]], *,
                   progress: Progress | None = None, run: str | None = None) -> RunSummary:
    """Record the decisions of a linkage run; requests decided or withdrawn meanwhile are skipped.

    Linking takes minutes on a national registry, and an officer may decide a case in that
    time: each decision goes in its own savepoint, so one refused decision leaves the others.
    """
    summary = RunSummary()
    found = requests_by_reference(session, [document["request"] for document in documents])
    for document in documents:
        pair = found.get(document["request"])
        # A case withdrawn meanwhile left the authority's view: its request is no longer open to it, said as of a
        # decided one (its refusal would name the state it is not told, red team round 16, N2).
        still_open = (pair is not None and pair[0].status in OPEN
                      and pair[0].receiving_agency_id == actor.agency_id and can_see(session, actor, pair[1]))
        if pair is None or not still_open:
            summary.skipped.append((document["request"], "no longer open"))
        else:
            try:
                with session.begin_nested():
                    decision = apply_decision(session, actor, pair[1], document, run=run)
                # As recorded: a verification the action sends to review (`service.EARLIER_NOT_NATIONAL`) is one.
                summary.count(decision.outcome)
            except RetornoError as exc:
                summary.skipped.append((document["request"], exc.message))
        if progress is not None:
            progress(1)
    return summary


@action("verification.decide")
def verify_open_requests(
    session: Session, actor: User, registry: str | Path, model: str | Path,
    thresholds: Thresholds = Thresholds(), *, include_review: bool = False,
    work_dir: str | Path | None = None, memory_limit: str | None = None,
) -> RunSummary:
    """Link every open request of the actor's authority to the registry with a saved model and record it."""
    identities = [identity(request, case) for request, case in open_requests(
        session, actor, include_review=include_review)]
    if not identities:
        return RunSummary()
    with registry_file(registry, work_dir) as registry_path:
        decisions = link(link_rows(identities), registry_path, model, thresholds,
                         work_dir=work_dir, memory_limit=memory_limit)
    cases = {row["request"]: row["case"] for row in identities}
    return record_linkage(session, actor, [decision_document(d, cases[d.request_id]) for d in decisions])


# A verification run from the console (`retorno verify`, `retorno verify import-decisions`): it records decisions as the
# officer named with --as, so its own audit record says which door, command and files they came from (tester note,
# round 13: the trail named the officer alone, not the console nor the registry file).
CONSOLE_RUN = "verification.console_run"


def new_run() -> str:
    """A reference for one console run, named on its audit record and on each decision's it records."""
    return f"VC-{utcnow():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's content, read in blocks (a national registry's file is gigabytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def registry_identity(source: str | Path, linked: Path) -> dict[str, Any]:
    """What identifies the registry a run linked against (`linked`: the file `registry_file` gave for `source`).

    A file: its path and the SHA-256 of its content (linkage reads every byte of it anyway). A prepared directory:
    its path and the SHA-256 of its manifest, which names its partitions, rows and when it was prepared or last
    updated (hashing gigabytes of partitions on every run would cost more than it tells). A database table: its URL
    without the password and the SHA-256 of the copy the run linked."""
    text = str(source)
    if "://" in text:
        url, _, table = text.rpartition("#")
        shown = sa.engine.make_url(url).render_as_string(hide_password=True)
        return {"kind": "table", "source": f"{shown}#{table}", "sha256": file_digest(linked)}
    if linked.is_dir():
        return {"kind": "prepared", "path": str(Path(text).resolve()),
                "manifest_sha256": file_digest(linked / MANIFEST)}
    return {"kind": "file", "path": str(Path(text).resolve()), "sha256": file_digest(linked)}


def file_identity(path: Path) -> dict[str, Any]:
    """A file a run read (the model, a decisions file): its path and the SHA-256 of its content."""
    return {"path": str(path.resolve()), "sha256": file_digest(path) if path.is_file() else None}


@action("verification.decide")
def record_console_run(session: Session, actor: User, run: str, *, command: str, summary: RunSummary,
                       registry: Mapping[str, Any] | None = None, model: Mapping[str, Any] | None = None,
                       decisions_file: Mapping[str, Any] | None = None,
                       options: Mapping[str, Any] | None = None) -> None:
    """The audit record of one console run, in the transaction of the decisions it recorded (each names `run`):
    the door, the command and its options, the registry and model it linked with (a decisions file imported:
    that file; the registry and model stayed with the offline installation) and what it recorded."""
    record(session, actor, CONSOLE_RUN, "verification_run", run,
           after={"door": "console", "command": command, "options": dict(options or {}),
                  "registry": dict(registry) if registry is not None else None,
                  "model": dict(model) if model is not None else None,
                  "decisions_file": dict(decisions_file) if decisions_file is not None else None,
                  "counts": summary.as_dict()})


@contextmanager
def registry_file(source: str | Path, work_dir: str | Path | None = None) -> Iterator[Path]:
    """The registry as linkage reads it: a Parquet or CSV file or a prepared directory as is, or `URL#TABLE` copied.

    A table is read with SQLAlchemy in batches into a temporary Parquet file on the
    receiving side (in `work_dir` if given) that is deleted when the run ends. It needs a
    `registry_id` column and the identity columns given_names, first_surname,
    second_surname, sex, birth_date, birth_place, cedula.
    """
    text = str(source)
    if "://" not in text:
        path = Path(text)
        if path.is_dir() and is_prepared(path):
            # A prepared registry (`prepared.prepare`): linkage reads it as it is.
            yield path
            return
        if not path.is_file():
            raise NotFound("registry file %(path)s does not exist", path=path)
        if path.suffix.lower() not in (".parquet", ".csv"):
            raise InvalidInput("registry %(path)s: a Parquet (.parquet) or CSV (.csv) file, or URL#TABLE", path=path)
        yield path
        return
    url, _, table_name = text.rpartition("#")
    if not url or not table_name:
        raise InvalidInput("a registry in a database is given as URL#TABLE, e.g. postgresql://host/db#registry")
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="registry-", dir=work_dir) as folder:
        target = Path(folder) / "registry.parquet"
        _copy_table(url, table_name, target)
        yield target


def _copy_table(url: str, table_name: str, target: Path) -> None:
    schema_name, _, name = table_name.rpartition(".")
    engine = sa.create_engine(url)
    try:
        try:
            table = sa.Table(name, sa.MetaData(), schema=schema_name or None, autoload_with=engine)
        except sa.exc.NoSuchTableError as exc:
            raise NotFound("registry table %(table_name)s does not exist", table_name=table_name) from exc
        wanted = ("registry_id", *FIELDS)
        missing = [column for column in wanted if column not in table.c]
        if missing:
            raise InvalidInput("registry table %(table_name)s lacks the columns %(missing)s", table_name=table_name,
                               missing=', '.join(missing))
        # Text throughout: linkage normalises every field itself, and one schema fits every batch.
        schema = pa.schema([(column, pa.string()) for column in wanted])
        with engine.connect() as conn, pq.ParquetWriter(target, schema) as writer:
            result = conn.execution_options(stream_results=True, yield_per=REGISTRY_BATCH).execute(
                sa.select(*(table.c[column] for column in wanted)))
            for rows in result.partitions():
                writer.write_table(pa.Table.from_pylist(
                    [{column: _text(value) for column, value in zip(wanted, row, strict=True)} for row in rows],
                    schema=schema))
    finally:
        engine.dispose()
