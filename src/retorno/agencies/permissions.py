"""Who may do what: the one table that maps agency kind and role to capabilities (SPEC.md section 2)."""

from __future__ import annotations

from retorno.agencies.models import User
from retorno.errors import Forbidden

# Capability → agency kinds that hold it; the minimum role is in ROLE_NEEDED.
CAPABILITIES: dict[str, frozenset[str]] = {
    "case.register": frozenset({"sending_authority"}),
    "case.read": frozenset({"sending_authority", "receiving_authority"}),
    "case.withdraw": frozenset({"sending_authority"}),
    "screening.record": frozenset({"sending_authority"}),
    "screening.resolve": frozenset({"sending_authority"}),
    "screening.read_details": frozenset({"sending_authority"}),
    "child.decide": frozenset({"sending_authority"}),
    "verification.request": frozenset({"sending_authority"}),
    "verification.decide": frozenset({"receiving_authority"}),
    "document.add": frozenset({"sending_authority", "receiving_authority"}),
    "document.issue_emergency": frozenset({"receiving_authority"}),
    "flight.read": frozenset({"sending_authority", "receiving_authority", "carrier"}),
    "flight.propose": frozenset({"sending_authority"}),
    "flight.accept": frozenset({"receiving_authority"}),
    "flight.cancel": frozenset({"sending_authority", "receiving_authority"}),
    "manifest.propose": frozenset({"sending_authority"}),
    "manifest.decide": frozenset({"receiving_authority"}),
    "manifest.lock": frozenset({"sending_authority", "receiving_authority"}),
    "manifest.change_locked": frozenset({"sending_authority", "receiving_authority"}),
    "household.split": frozenset({"sending_authority"}),
    "boarding.record": frozenset({"sending_authority", "carrier"}),
    "flight.depart": frozenset({"sending_authority", "carrier"}),
    "arrival.confirm": frozenset({"receiving_authority"}),
    "paxlst.read": frozenset({"sending_authority", "receiving_authority", "carrier"}),
    "returnee.read": frozenset({"reintegration_operator"}),
    "intake.record": frozenset({"reintegration_operator"}),
    "opportunity.manage": frozenset({"reintegration_operator"}),
    "matching.run": frozenset({"reintegration_operator"}),
    "placement.manage": frozenset({"reintegration_operator"}),
    "followup.record": frozenset({"reintegration_operator"}),
    "reports.aggregate": frozenset({"sending_authority", "receiving_authority", "reintegration_operator",
                                    "monitor", "administrator"}),
    "audit.read": frozenset({"monitor", "administrator"}),
    "admin.users": frozenset({"administrator"}),
}

ROLE_RANK = {"viewer": 0, "officer": 1, "supervisor": 2}

# Reading is open to viewers; doing the work needs an officer; these need a supervisor.
SUPERVISOR_ONLY = frozenset({"screening.resolve", "household.split", "manifest.change_locked", "child.decide"})
VIEWER_OK = frozenset({"case.read", "flight.read", "paxlst.read", "returnee.read", "reports.aggregate",
                       "audit.read"})


def role_needed(capability: str) -> str:
    if capability in SUPERVISOR_ONLY:
        return "supervisor"
    if capability in VIEWER_OK:
        return "viewer"
    return "officer"


def can(user: User, capability: str) -> bool:
    """Whether `user` holds `capability` by their agency's kind and their role."""
    kinds = CAPABILITIES[capability]
    if user.agency.kind not in kinds or not user.active:
        return False
    if capability == "screening.read_details" and user.role == "viewer":
        return False
    return ROLE_RANK[user.role] >= ROLE_RANK[role_needed(capability)]


def require(user: User, capability: str) -> None:
    """Refuse with a clear message unless `user` holds `capability`."""
    if not can(user, capability):
        raise Forbidden(
            f"{user.username} ({user.agency.code}, {user.agency.kind} {user.role}) may not {capability}; "
            f"it needs a {role_needed(capability)} of a {' or '.join(sorted(CAPABILITIES[capability]))}",
            code="forbidden." + capability,
        )
