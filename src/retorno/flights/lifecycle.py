"""The flight lifecycle of SPEC.md section 6 as an explicit state machine."""

from __future__ import annotations

from retorno.errors import InvalidTransition

TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"accepted", "cancelled"}),
    "accepted": frozenset({"manifest_locked", "cancelled"}),
    "manifest_locked": frozenset({"departed", "cancelled"}),
    "departed": frozenset({"arrived"}),
    "arrived": frozenset(),
    "cancelled": frozenset(),
}


def check_transition(reference: str, current: str, target: str) -> None:
    """Refuse a flight step the state machine does not allow."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        raise InvalidTransition(
            f"flight {reference}: cannot go from '{current}' to '{target}'; allowed from '{current}': {allowed}",
            code="invalid_transition.flight",
        )
