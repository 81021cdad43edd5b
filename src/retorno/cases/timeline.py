"""What a case's timeline shows of each audit record, by the record it is about and who reads it (SPEC.md 4.6).

A case's audit history holds the steps of several records: the case itself, its documents, the verification's
request and decision, the manifest, the protection screening, and after arrival the returnee's consent, intake,
offers and placements. The timeline shows an entry's snapshot (before, after, reason) only to a reader who may read
that record itself now, by the same rule as the record's own read (red team round 11, RE8812 H1: the sending state
read the returnee's intake, the reason they gave for declining an offer and for withdrawing, through
`intake.record`, `placement.declined` and `consent.withdraw`, also after the withdrawal had erased the intake).

Which reader sees what (the timeline is read only by the sending authorities of the case's country, officers and
supervisors, `case.timeline`; every other kind is refused it, and the monitors' and administrators' audit view shows
no snapshot, reason or reference of anyone's, `agencies.visibility.cut_audit`):

| record (`TIMELINE_RECORDS`) | its own read | the sending side's timeline shows |
| --- | --- | --- |
| case: registration, corrections, assignment, household, states up to arrival and the exits, reads | sending | all |
| document: added, emergency document issued | sending, receiving | all |
| verification request: asked, re-opened, cancelled | sending | all |
| verification decision: verified, rejected, not found, review | receiving | the step and its reason, no snapshot |
| manifest: added, approved, taken off, boarding, arrival | sending, receiving | all |
| possible duplicate: flagged, read, decided | sending | all |
| protection: screening, resolution, escorts read, best interests | `screening.read` (audited) | the step; the |
|   protection details and the reasons naming them replaced by `PROTECTION_DETAIL` | | |
| reintegration: consent and its withdrawal, intake, offers, placements, states after arrival | receiving, the |
|   returnee's operator | nothing: left out (the sending side's work ends at arrival) | |
| watch: a refused attempt on a person another agency's record holds a concern for | — (the monitors' audit | nothing: |
|   view) | | left out, whoever reads (its presence would tell the other record's concern) |
| anything not declared here | — | the step alone, no snapshot or reason |
"""

from __future__ import annotations

from collections.abc import Iterable

from retorno.agencies.models import User
from retorno.agencies.permissions import OPERATOR, RECEIVING, SENDING
from retorno.audit.models import AuditRecord

CASE, DOCUMENT, VERIFICATION_REQUEST, VERIFICATION_DECISION, MANIFEST, DUPLICATE, PROTECTION, REINTEGRATION = (
    "case", "document", "verification_request", "verification_decision", "manifest", "duplicate", "protection",
    "reintegration")
# What the system writes on a case about what it found elsewhere, for the audit: a refused attempt on a person another
# agency's record holds a concern open for (`audit.refusals`), written whether or not the refusal could say so. It
# is in no one's timeline: its presence alone would tell the other record's concern (red team round 14, F2: ICE
# registered a cédula, tried a flight and read in the case's history whether Mexico holds an asylum claim for that
# person). The monitors' audit view keeps it, as every record.
WATCH = "watch"

# The record each audited action on a case is about: an exact action, else its family (the prefix up to the dot).
TIMELINE_RECORDS: dict[str, str] = {
    # The states after arrival are the returnee's reintegration (consent, offer, placement, withdrawal).
    "case.reintegration_intake": REINTEGRATION, "case.matched": REINTEGRATION, "case.placed": REINTEGRATION,
    "case.closed": REINTEGRATION,
    "case.": CASE, "safeguard.refused_held_elsewhere": WATCH,
    "document.": DOCUMENT,
    "verification.request": VERIFICATION_REQUEST, "verification.reopen": VERIFICATION_REQUEST,
    "verification.cancel": VERIFICATION_REQUEST,
    "verification.": VERIFICATION_DECISION,
    "manifest.": MANIFEST, "boarding.": MANIFEST, "arrival.": MANIFEST,
    "duplicate.": DUPLICATE,
    "screening.": PROTECTION, "child.": PROTECTION,
    "consent.": REINTEGRATION, "intake.": REINTEGRATION, "placement.": REINTEGRATION, "matching.": REINTEGRATION,
    "followup.": REINTEGRATION,
}

# Who reads each record itself (its own read endpoint), by agency kind: they are shown its snapshot.
READ_BY: dict[str, frozenset[str]] = {
    CASE: frozenset({SENDING}), DOCUMENT: frozenset({SENDING, RECEIVING}),
    VERIFICATION_REQUEST: frozenset({SENDING}), VERIFICATION_DECISION: frozenset({RECEIVING}),
    MANIFEST: frozenset({SENDING, RECEIVING}), DUPLICATE: frozenset({SENDING}),
    # Read only through the audited protection record: redacted in every timeline (`redacted_protection`).
    PROTECTION: frozenset(),
    REINTEGRATION: frozenset({RECEIVING, OPERATOR}), WATCH: frozenset(),
}
# The records whose steps are not the reader's business at all: left out of their timeline (SPEC.md 4.6: the
# sending side's work ends at arrival; what the returnee does in reintegration is no concern of the deporting state).
LEFT_OUT: dict[str, frozenset[str]] = {SENDING: frozenset({REINTEGRATION})}
# Records whose reason (an official's word on the step, addressed to the case's owner) is shown with the step even
# to a reader who is not shown the snapshot.
REASON_TOLD: dict[str, frozenset[str]] = {VERIFICATION_DECISION: frozenset({SENDING})}


def record_of(action: str) -> str | None:
    """The record an audited action on a case is about (None: not declared, so shown as the step alone)."""
    if action in TIMELINE_RECORDS:
        return TIMELINE_RECORDS[action]
    family = action.split(".", 1)[0] + "."
    return TIMELINE_RECORDS.get(family)


def shown(reader: User, entries: Iterable[AuditRecord]) -> list[tuple[AuditRecord, bool, bool]]:
    """The entries `reader`'s timeline shows, each with whether its snapshot (before and after) and its reason are
    shown; entries of a record that is not the reader's business are left out. Protection records are shown with
    `snapshot` True and are redacted by the caller (`cases.service._without_protection_details`)."""
    kind = reader.agency.kind
    out: list[tuple[AuditRecord, bool, bool]] = []
    for entry in entries:
        about = record_of(entry.action)
        if about == WATCH or (about is not None and about in LEFT_OUT.get(kind, frozenset())):
            continue
        if about == PROTECTION:
            out.append((entry, True, True))
            continue
        snapshot = about is not None and kind in READ_BY.get(about, frozenset())
        reason = snapshot or (about is not None and kind in REASON_TOLD.get(about, frozenset()))
        out.append((entry, snapshot, reason))
    return out
