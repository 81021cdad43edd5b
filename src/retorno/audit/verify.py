"""Checking the audit trail: the hash chain, every signed checkpoint, and the heads monitors exported.

What is reported, each time naming the record:
- a record changed or missing, or a link broken (the hash chain alone);
- a record changed even with every later hash recomputed (its hash differs from the one signed);
- a truncated tail, even with the head moved back (a checkpoint signed a record the chain no longer has);
- a record no checkpoint covers: written without the key. Checkpoints are written in the same
  transaction as their records, so a committed record is never legitimately waiting for one:
  there is no grace period. Only the records of the verifying session's own open transaction
  are exempt (they are signed when it commits);
- a checkpoint whose signature does not verify, or made with a key that is neither the one in
  use nor announced by a rotation record signed with its predecessor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.audit.checkpoints import KEY_ROTATED, ExportedCheckpoint, records_digest, signer_for
from retorno.audit.models import AuditCheckpoint, AuditHead
from retorno.audit.service import GENESIS, iter_records, recomputed_hash, unsigned_from
from retorno.audit.signing import Keyring, PublicKey, checkpoint_payload

HASH_HEX = 64


@dataclass(frozen=True)
class Problem:
    seq: int
    message: str


@dataclass(frozen=True)
class ChainReport:
    records: int
    problems: tuple[Problem, ...] = ()
    checkpoints: int = 0
    last_signed_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_broken_seq(self) -> int | None:
        return min(p.seq for p in self.problems) if self.problems else None

    @property
    def problem(self) -> str | None:
        return min(self.problems, key=lambda p: p.seq).message if self.problems else None


@dataclass
class _Chain:
    """What one pass over the records learns: their hashes (32 bytes each) and the key announcements."""

    length: int
    hashes: bytearray
    announcements: dict[int, dict[str, Any]]

    def hash_at(self, seq: int) -> str:
        return self.hashes[32 * (seq - 1):32 * seq].hex()


def _read_chain(session: Session) -> tuple[_Chain, Problem | None]:
    prev, count = GENESIS, 0
    chain = _Chain(0, bytearray(), {})
    for rec in iter_records(session):
        count += 1
        if rec.seq != count:
            return chain, Problem(count, f"record {count} is missing")
        if rec.prev_hash != prev:
            return chain, Problem(rec.seq, f"record {rec.seq} does not point at the hash of record {rec.seq - 1}")
        if recomputed_hash(rec, prev) != rec.hash:
            return chain, Problem(rec.seq, f"record {rec.seq} was altered after it was written")
        if rec.action == KEY_ROTATED and rec.after:
            chain.announcements[rec.seq] = rec.after
        chain.hashes += bytes.fromhex(rec.hash)
        chain.length, prev = count, rec.hash
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return chain, _head_problem(head.seq, count)
    return chain, None


def _head_problem(head: int, count: int) -> Problem:
    """The head row disagreeing with the chain, named at the first record it does not account for: one past the head
    where records were written after it (the head moved back: red team round 56, L3 named a record after the last
    one), one past the chain's end where the head counts records that are gone, or the last where the seq agrees and
    the hash does not."""
    if head < count:
        return Problem(head + 1, f"the chain holds records up to {count} but its head says {head}: "
                                 f"{_span(head + 1, count)} are past the head")
    if head > count:
        return Problem(count + 1, f"the chain ends at record {count} but its head says {head}: "
                                  f"{_span(count + 1, head)} are missing")
    return Problem(count, f"the head's hash is not that of record {count}, where the chain ends")


def _checkpoints(session: Session, after_id: int = 0) -> list[AuditCheckpoint]:
    return list(session.execute(sa.select(AuditCheckpoint).where(AuditCheckpoint.id > after_id)
                                .order_by(AuditCheckpoint.seq, AuditCheckpoint.id)).scalars())


def _span(first: int, last: int) -> str:
    return f"record {first}" if first == last else f"records {first}–{last}"


class _Walk:
    """Checks checkpoints in chain order, following key rotations; collects what it finds."""

    def __init__(self, chain: _Chain, keyring: Keyring) -> None:
        self.chain, self.keyring = chain, keyring
        self.active: PublicKey | None = None
        self.used: dict[str, PublicKey] = {}
        self.problems: list[Problem] = []
        self.covered: list[tuple[int, int]] = []
        self.altered = False
        self.beyond: AuditCheckpoint | None = None

    def key_for(self, cp: AuditCheckpoint) -> PublicKey | None:
        where = _span(cp.first_seq, cp.seq)
        if self.active is None:
            anchor = self.keyring.get(cp.key_id)
            if anchor is None:
                self.problems.append(Problem(cp.first_seq, f"the checkpoint of {where} is signed by key {cp.key_id},"
                                             " which is not among this installation's public keys"))
            return anchor
        if cp.key_id != self.active.key_id:
            self.problems.append(Problem(cp.first_seq, f"the checkpoint of {where} is signed by key {cp.key_id},"
                                         f" but the key in use is {self.active.key_id} and no rotation"
                                         " announced another"))
            return None
        return self.active

    def check(self, cp: AuditCheckpoint, late: bool) -> None:
        where, chain = _span(cp.first_seq, cp.seq), self.chain
        key = self.key_for(cp)
        if key is None:
            return
        payload = checkpoint_payload(cp.key_id, cp.first_seq, cp.seq, cp.hash, cp.signed_at,
                                     records_digest(cp.record_hashes))
        well_formed = (0 < cp.first_seq <= cp.seq and cp.record_hashes[-HASH_HEX:] == cp.hash
                       and len(cp.record_hashes) == HASH_HEX * (cp.seq - cp.first_seq + 1))
        if not well_formed or not key.verifies(cp.signature, payload):
            self.problems.append(Problem(cp.first_seq, f"the checkpoint of {where} has a signature that does not"
                                         " verify: it was forged or altered"))
            return
        self.active = key
        self.used[key.key_id] = key
        last = cp.seq
        if cp.seq > chain.length:
            if late:  # committed after the records were read: its records were not read
                return
            self.beyond = cp if self.beyond is None or cp.seq > self.beyond.seq else self.beyond
            # The records of it that remain are still vouched for.
            last = chain.length
        self._compare(cp, last)
        self.covered.append((cp.first_seq, last))
        for seq in range(cp.first_seq, last + 1):
            if seq in chain.announcements:
                self._rotate(seq, chain.announcements[seq])

    def _compare(self, cp: AuditCheckpoint, last: int) -> None:
        if self.altered:
            return  # the records after an altered one were re-hashed by whoever altered it
        for offset, seq in enumerate(range(cp.first_seq, last + 1)):
            if cp.record_hashes[HASH_HEX * offset:HASH_HEX * (offset + 1)] != self.chain.hash_at(seq):
                self.altered = True
                self.problems.append(Problem(seq, f"record {seq} was altered after it was signed (checkpoint"
                                             f" signed at {cp.signed_at.isoformat()} by key {cp.key_id}); the"
                                             " hashes after it were recomputed"))
                return

    def _rotate(self, seq: int, announcement: dict[str, Any]) -> None:
        assert self.active is not None
        try:
            new = PublicKey.from_text(str(announcement.get("public_key", "")))
        except ValueError:
            new = None
        if new is None or new.key_id != announcement.get("key_id") \
                or announcement.get("previous_key_id") != self.active.key_id:
            self.problems.append(Problem(seq, f"record {seq} announces a signing key that does not follow the key"
                                         f" in use ({self.active.key_id})"))
            return
        self.active = new
        self.used[new.key_id] = new

    def truncated(self) -> None:
        """One report for a cut tail: from the chain's end to the last record ever signed."""
        cp, length = self.beyond, self.chain.length
        if cp is not None:
            self.problems.append(Problem(length + 1, f"{_span(length + 1, cp.seq)} were deleted: a checkpoint signed"
                                         f" at {cp.signed_at.isoformat()} covers up to record {cp.seq}, the chain"
                                         f" ends at record {length}"))

    def uncovered(self, length: int, own_from: int | None) -> None:
        """Report the first record of every stretch no valid checkpoint covers."""
        end = length if own_from is None else min(length, own_from - 1)
        next_seq = 1
        for first, last in sorted(self.covered):
            if first > next_seq and next_seq <= end:
                self._unsigned(next_seq, min(first - 1, end))
            next_seq = max(next_seq, last + 1)
        if next_seq <= end:
            self._unsigned(next_seq, end)

    def _unsigned(self, first: int, last: int) -> None:
        self.problems.append(Problem(first, f"{_span(first, last)} {'was' if first == last else 'were'} written"
                                     " without the signing key: no signed checkpoint covers"
                                     f" {'it' if first == last else 'them'} (forged, or written by a"
                                     " program that does not sign)"))


def _against(chain: _Chain, walk: _Walk, label: str, exported: ExportedCheckpoint) -> Problem | None:
    where = f"{label} (record {exported.seq}, signed {exported.signed_at})"
    if not exported.signature_holds():
        return Problem(exported.seq, f"{where}: its signature does not verify; the file was altered")
    if exported.key_id not in walk.used and walk.keyring.get(exported.key_id) is None:
        return Problem(exported.seq, f"{where}: signed by key {exported.key_id}, which this log never used")
    if not 1 <= exported.first_seq <= exported.seq:
        return Problem(exported.seq, f"{where}: not a checkpoint this program writes")
    if exported.seq > chain.length:
        return Problem(chain.length + 1, f"{where}: the log ends at record {chain.length}; the records up to"
                                         f" {exported.seq} were deleted")
    if chain.hash_at(exported.seq) != exported.hash or records_digest(
            chain.hashes[32 * (exported.first_seq - 1):32 * exported.seq].hex()) != exported.records_digest:
        return Problem(exported.seq, f"{where}: the log was rewritten up to record {exported.seq}; it does not"
                                     " extend this checkpoint")
    return None


def verify_chain(session: Session, keyring: Keyring | None = None,
                 against: Mapping[str, ExportedCheckpoint] | None = None) -> ChainReport:
    """Check the chain, every checkpoint, and that the log extends each exported checkpoint in `against`.

    `keyring`: the public keys trusted from outside the database; by default those beside the key
    registered for this session's engine.
    """
    if keyring is None:
        signer = signer_for(session)
        keyring = signer.keyring() if signer is not None else Keyring()
    checkpoints = _checkpoints(session)
    chain, broken = _read_chain(session)
    if broken is not None:
        return ChainReport(chain.length, (broken,), len(checkpoints))
    # Checkpoints committed while the records were being read (with records read too, or not).
    late = _checkpoints(session, max((cp.id for cp in checkpoints), default=0))
    late_ids = {cp.id for cp in late}
    walk = _Walk(chain, keyring)
    for cp in sorted([*checkpoints, *late], key=lambda c: (c.seq, c.id)):
        walk.check(cp, late=cp.id in late_ids)
    walk.truncated()
    walk.uncovered(chain.length, unsigned_from(session))
    for label, exported in (against or {}).items():
        problem = _against(chain, walk, label, exported)
        if problem is not None:
            walk.problems.append(problem)
    signed = [last for _, last in walk.covered]
    return ChainReport(chain.length, tuple(sorted(walk.problems, key=lambda p: p.seq)), len(checkpoints) + len(late),
                       max(signed) if signed else None)
