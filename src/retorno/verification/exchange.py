"""The offline path of verification: requests out and decisions in, as JSON-lines documents.

A receiving installation that cannot reach the service exports the open requests addressed
to it (stable identifiers and identity fields only), links them to its registry where the
registry lies (`retorno verify --requests FILE --decisions-out FILE`), and brings back a
decisions file. Importing it records each line through `record_decision`; a file with any
bad line writes nothing, and every bad line is reported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from retorno import plaintext
from retorno.agencies.models import User
from retorno.agencies.permissions import action, reader
from retorno.audit.service import record
from retorno.audit.signing import PublicKey
from retorno.cases.service import can_see
from retorno.errors import InvalidInput, RetornoError
from retorno.reasons import WRITTEN_REASON, is_written_reason
from retorno.verification import linkers
from retorno.verification.jobs import (
    RunSummary,
    apply_decision,
    identity,
    open_requests,
    requests_by_reference,
)
from retorno.verification.linkage import FIELDS
from retorno.verification.records import canonical_or_none
from retorno.verification.service import OUTCOMES

METHODS = ("linkage", "manual")
MAX_CANDIDATES = 10


class DecisionFileError(InvalidInput):
    """A decisions file with bad lines: `problems` lists (line number, what is wrong) for every one."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        # The lines' problems are the operator's, read on the command line: said in English.
        shown = "; ".join(f"line {number}: {problem}" for number, problem in problems[:20])
        details = [{"line": number, "problem": problem} for number, problem in problems]
        if len(problems) > 20:
            super().__init__("nothing imported: %(count)s bad lines: %(shown)s; and %(more)s more",
                             code="bad_decisions_file", details=details, count=len(problems), shown=shown,
                             more=len(problems) - 20)
        else:
            super().__init__("nothing imported: %(count)s bad lines: %(shown)s", code="bad_decisions_file",
                             details=details, count=len(problems), shown=shown)


@reader("verification.export")
def export_requests(session: Session, actor: User, out: IO[str], *, include_review: bool = False) -> int:
    """Write the open requests addressed to the actor's authority as JSON lines; returns how many.

    Personal data leaves the service, so the export is on the audit trail with the requests it held.
    """
    rows = open_requests(session, actor, include_review=include_review)
    for request, case in rows:
        out.write(json.dumps(identity(request, case), ensure_ascii=False) + "\n")
    record(session, actor, "verification.export", "agency", actor.agency.code,
           after={"requests": [request.reference for request, _ in rows]})
    return len(rows)


def read_requests(path: str | Path) -> list[dict[str, Any]]:
    """Read an exported requests file (or a Parquet request list); a malformed line is refused with its number."""
    if Path(path).suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return [{"request": str(row.get("request") or row.get("request_id")), "case": row.get("case"),
                 **{name: row.get(name) for name in FIELDS}} for row in pq.read_table(path).to_pylist()]
    identities = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput("%(path)s line %(number)s: not JSON (%(msg)s)", path=path, number=number,
                                   msg=exc.msg) from exc
            if not isinstance(row, dict) or not isinstance(row.get("request"), str):
                raise InvalidInput("%(path)s line %(number)s: a request needs its 'request' reference", path=path,
                                   number=number)
            identities.append({"request": row["request"], "case": row.get("case"),
                               **{name: row.get(name) for name in FIELDS}})
    return identities


def write_decisions(documents: Iterable[dict[str, Any]], out: IO[str]) -> int:
    count = 0
    for document in documents:
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        count += 1
    return count


def _problem(document: Any) -> str | None:
    """What is wrong with one decision document on its own, or None."""
    if not isinstance(document, dict):
        return "a decision is a JSON object"
    if not isinstance(document.get("request"), str):
        return "'request' (the request reference) is required"
    # A decisions file is one more door for typed text: what no input may hold, and no line break or tab but
    # in the reason (`plaintext.single_line`).
    for name, value in document.items():
        if isinstance(value, str) and (found := plaintext.unwanted(value, one_line=plaintext.single_line(name))):
            return f"'{name}' holds control, bidirectional or invisible characters ({plaintext.named(found)})"
    outcome = document.get("outcome")
    if outcome not in OUTCOMES:
        return f"'outcome' must be one of {', '.join(OUTCOMES)}, not {outcome!r}"
    if document.get("method", "manual") not in METHODS:
        return f"'method' must be one of {', '.join(METHODS)}"
    registry_record = document.get("registry_record")
    if registry_record is not None and not (isinstance(registry_record, str) and 0 < len(registry_record) <= 40):
        return "'registry_record' is a text of at most 40 characters"
    if outcome == "verified" and not registry_record:
        return "a verified decision names the registry record it matched"
    if outcome == "verified" and canonical_or_none(str(registry_record)) is None:
        return (f"'registry_record' {registry_record!r} is not letters and digits (spaces and hyphens are left out, "
                "leading zeros dropped; a dot, a sign or a slash is refused)")
    probability = document.get("probability")
    if probability is not None and not (isinstance(probability, int | float) and not isinstance(probability, bool)
                                        and math.isfinite(probability) and 0.0 <= probability <= 1.0):
        return "'probability' is a number between 0 and 1"
    reason = document.get("reason")
    if reason is not None and not isinstance(reason, str):
        return "'reason' is a text"
    if outcome == "rejected" and not is_written_reason(reason):
        return str(WRITTEN_REASON)
    candidates = document.get("candidates")
    if candidates is not None and not (isinstance(candidates, list) and len(candidates) <= MAX_CANDIDATES
                                       and all(isinstance(c, dict) for c in candidates)):
        return f"'candidates' is a list of at most {MAX_CANDIDATES} objects"
    return None


@action("verification.decide")
def import_decisions(session: Session, actor: User, lines: Iterable[str], *, run: str | None = None,
                     own_linker: PublicKey | None = None) -> RunSummary:
    """Record every decision of a decisions file, or none: any bad line refuses the whole file.

    A `"method": "linkage"` line is linkage's only when signed by a linker the actor's authority trusts, or by this
    installation's own linking key `own_linker` (`linkers.signature_problem`; red team round 81, F4).

    Each line is checked on its own and against the service (known request, addressed to the
    actor's authority, still open, the same case) before anything is written; the writes then
    run in one savepoint, so a refusal by the action itself also leaves nothing behind. `run`: the console run
    importing it, named on each decision's audit record (`jobs.record_console_run`).
    """
    problems: list[tuple[int, str]] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    trusted = linkers.keyring(session, actor.agency_id, own_linker)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((number, f"not JSON ({exc.msg})"))
            continue
        problem = _problem(document)
        if problem is None and document.get("method") == "linkage":
            problem = linkers.signature_problem(document, trusted)
        if problem:
            problems.append((number, problem))
        else:
            parsed.append((number, document))
    found = requests_by_reference(session, [document["request"] for _, document in parsed])
    seen: dict[str, int] = {}
    for number, document in parsed:
        reference = document["request"]
        pair = found.get(reference)
        if reference in seen:
            problems.append((number, f"request {reference} is already decided on line {seen[reference]}"))
        elif pair is None or pair[0].receiving_agency_id != actor.agency_id:
            problems.append((number, f"no request {reference} addressed to {actor.agency.code}"))
        elif not can_see(session, actor, pair[1]):
            # The case left the authority's view (withdrawn): its request with it, whatever its status, and nothing
            # said of why (red team round 16, N2), as `jobs.record_linkage` skips it.
            problems.append((number, f"request {reference} is no longer open"))
        elif pair[0].status == "decided":
            problems.append((number, f"request {reference} is already decided"))
        elif pair[0].status == "superseded":
            problems.append((number, f"request {reference} was superseded: the identity changed after it was sent"))
        elif document.get("case") is not None and document["case"] != pair[1].reference:
            problems.append((number, f"request {reference} is for case {pair[1].reference}, "
                                     f"not {document['case']}"))
        seen.setdefault(reference, number)
    if problems:
        raise DecisionFileError(sorted(problems))
    summary = RunSummary()
    savepoint = session.begin_nested()
    current = 0
    try:
        for line_number, document in parsed:
            current = line_number
            decision = apply_decision(session, actor, found[document["request"]][1], document, run=run)
            summary.count(decision.outcome)
    except RetornoError as exc:
        savepoint.rollback()
        raise DecisionFileError([(current, exc.message)]) from exc
    savepoint.commit()
    return summary
