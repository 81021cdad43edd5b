"""A monitor reads each audit record's hash, and the signed head's, beside a pseudonym where a person's record is
named: the hash must not give the pseudonym away (red team round 26, I1). A record's hash covered only what the
monitor reads and what it can count through: the previous hash, the sequence, time, actor, action, the record's
reference and its (often empty) snapshots; with the references numbered in order and the users' ids small, trying
each in turn named the case behind every pseudonym, and so which case had a protection concern resolved. Each record
now also hashes a random salt of its own, stored with it and shown to nobody."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.audit.models import AuditRecord
from retorno.audit.service import canonical_json, record_digest
from retorno.cases.models import Case, Household
from tests.factories import Api, World, ok


def _candidates(session: Session) -> tuple[list[str], list[int | None]]:
    references = list(session.execute(sa.select(Case.reference)).scalars())
    references += list(session.execute(sa.select(Household.reference)).scalars())
    users: list[int | None] = [None, *session.execute(sa.select(User.id)).scalars()]
    return references, users


def _guessed(record: dict[str, Any], prev: str, references: list[str], users: list[int | None]) -> str | None:
    """The reference whose record, with what the monitor reads, hashes to the hash it reads (None: no guess does)."""
    at = datetime.fromisoformat(record["at"].replace("Z", "+00:00")).isoformat()
    before, after = canonical_json(record.get("before")), canonical_json(record.get("after"))
    for reference in references:
        for actor_id in users:
            head = [record["seq"], at, actor_id, record["actor"], record["agency"], record["action"],
                    record["object_type"], reference, record.get("reason")]
            if record_digest(prev, head, before, after) == record["hash"]:
                return reference
    return None


def test_a_monitor_cannot_name_a_pseudonyms_record_from_the_hashes_it_reads(client: TestClient, world: World,
                                                                             session: Session) -> None:
    api = Api(client, world)
    held = api.register(household_reference="HOGAR-SALT-1", relationship_to_head="head")["reference"]
    others = [api.register()["reference"] for _ in range(3)]
    api.screen(held, ["pending_asylum_claim"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{held}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "Solicitud desistida ante la COMAR."}), 201)
    for reference in (held, *others):  # reads of a case: records whose snapshots are empty
        ok(api.get("inm.officer", f"/api/v1/cases/{reference}/timeline"))
    records = ok(api.get("monitor.viewer", "/api/v1/audit?limit=1000"))
    by_seq = {r["seq"]: r for r in records}
    head = ok(api.get("monitor.viewer", "/api/v1/audit/checkpoint"))
    assert head["hash"] == by_seq[head["seq"]]["hash"]
    references, users = _candidates(session)
    stored = {r.seq: r for r in session.execute(sa.select(AuditRecord)).scalars()}
    named = [r for r in records if r["object_id"].startswith("~") and r["object_id"] != "~"
             and r["seq"] - 1 in by_seq]
    reads = [r for r in named if stored[r["seq"]].before is None and stored[r["seq"]].after is None
             and stored[r["seq"]].reason is None]
    assert len(reads) >= 4 and any(r["action"] == "screening.resolve" for r in named)
    guessed = {r["seq"]: _guessed(r, by_seq[r["seq"] - 1]["hash"], references, users) for r in named}
    assert guessed == dict.fromkeys(guessed), guessed


def test_a_records_salt_is_part_of_what_its_hash_protects(session: Session, world: World) -> None:
    """Each new record has a salt of its own, and changing it is an alteration `audit verify` names."""
    from retorno.audit.service import record
    from retorno.audit.verify import verify_chain
    from tests.test_audit import bypass_triggers

    for n in range(3):
        record(session, world.users["inm.officer"], "case.timeline_read", "case", f"MX-2026-9{n:05d}")
    session.commit()
    written = list(session.execute(sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(3)).scalars())
    salts = [r.salt for r in written]
    assert all(salt is not None and len(salt) == 32 for salt in salts) and len(set(salts)) == 3
    assert verify_chain(session).ok
    bypass_triggers(session)
    session.execute(sa.update(AuditRecord).where(AuditRecord.seq == written[1].seq).values(salt="0" * 32))
    session.expire_all()
    broken = verify_chain(session)
    assert not broken.ok and broken.first_broken_seq == written[1].seq and "altered" in (broken.problem or "")
