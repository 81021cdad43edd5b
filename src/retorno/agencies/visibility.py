"""What each kind of agency may read of each kind of record (SPEC.md section 4.6), declared once.

Every API response, page, export and audit view that shows a case, a travel document, a
passenger or an audit record passes it through `cut`, so a field outside the reader's declared
set never leaves the service. A kind with no entry for a record type sees none of its fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from retorno.agencies.models import User
from retorno.agencies.permissions import ADMINISTRATOR, CARRIER, MONITOR, OPERATOR, RECEIVING, SENDING

# The receiving side verifies and approves identity: no detention details, contact or notes.
_CASE_IDENTITY = frozenset({"reference", "state", "given_names", "first_surname", "second_surname", "sex",
                            "birth_date", "place_of_birth", "nationality", "national_id", "household"})
_CASE_SENDING = _CASE_IDENTITY | {"agency", "agency_reference", "country_of_birth", "held_at", "nearest_airport",
                                  "detained_since", "language", "contact", "notes", "relationship_to_head",
                                  "registered_at", "state_changed_at", "declared_document_type",
                                  "declared_document_number"}
# An operator sees an arrived, consenting returnee: who they are and how to reach them; no documents.
_CASE_OPERATOR = frozenset({"reference", "state", "given_names", "first_surname", "second_surname", "sex",
                            "birth_date", "contact"})
_DOCUMENT = frozenset({"number", "type", "issuing_state", "expiry_date", "valid", "problems", "emergency", "mrz",
                       "case_state"})
# The audit trail without personal fields: who did what to which record, and when; never the
# before/after snapshots (names, identifiers, contact, detention place, concern labels) or reasons.
_AUDIT_REDUCED = frozenset({"seq", "at", "actor", "agency", "action", "object_type", "object_id", "hash"})
_AUDIT_FULL = _AUDIT_REDUCED | {"before", "after", "reason"}

VISIBLE: dict[str, dict[str, frozenset[str]]] = {
    "case": {SENDING: _CASE_SENDING, RECEIVING: _CASE_IDENTITY, OPERATOR: _CASE_OPERATOR},
    "document": {SENDING: _DOCUMENT, RECEIVING: _DOCUMENT},
    # A case's own timeline, for the sending side that owns the case.
    "timeline": {SENDING: _AUDIT_FULL},
    "audit": {MONITOR: _AUDIT_REDUCED, ADMINISTRATOR: _AUDIT_REDUCED},
    # A manifest's rows for the two states: who, and where each stands in approval, boarding, arrival.
    "passenger": {
        SENDING: frozenset({"case", "name", "approval", "reason", "boarding", "arrival", "seat"}),
        RECEIVING: frozenset({"case", "name", "approval", "reason", "boarding", "arrival", "seat"}),
    },
    # The carrier's passenger list: what PAXLST carries, nothing about protection or detention.
    "passenger_list": {
        CARRIER: frozenset({"case_reference", "surnames", "given_names", "sex", "birth_date", "nationality",
                            "document_type", "document_number", "document_expiry", "document_issuing_state",
                            "seat", "household_reference", "escort_needs"}),
    },
}


def visible_fields(user: User, record_type: str) -> frozenset[str]:
    """The fields of `record_type` that `user`'s agency kind may read (empty: none)."""
    return VISIBLE.get(record_type, {}).get(user.agency.kind, frozenset())


def cut(user: User, record_type: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` reduced to the fields `user` may read."""
    allowed = visible_fields(user, record_type)
    return {name: value for name, value in values.items() if name in allowed}
