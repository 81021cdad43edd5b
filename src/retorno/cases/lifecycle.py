"""The case lifecycle of SPEC.md section 3 as an explicit state machine."""

from __future__ import annotations

from retorno.errors import InvalidTransition, Term

MAIN_LINE = ("registered", "screened", "verification_requested", "verified", "documented", "ready",
             "manifested", "boarded", "arrived", "reintegration_intake", "matched", "placed", "closed")
EXITS = ("withdrawn", "not_national", "unfit_to_fly", "no_show")
STATES = MAIN_LINE + EXITS
BEFORE_BOARDING = MAIN_LINE[: MAIN_LINE.index("boarded")]
# Whom a minor waits with (SPEC.md 4.2, children): an adult of their household in one of these states, at the
# aircraft's door too (a household boards one by one). A minor from the screening until manifested with no such
# adult is an unaccompanied child (`screening.service`, `travel.service`), as `retorno demo check` reads it.
ACCOMPANYING = frozenset(BEFORE_BOARDING) | {"boarded"}
WAITING_SCREENED = frozenset(BEFORE_BOARDING) - {"registered"}
# From the verification request until boarding, an identity change re-opens verification.
IDENTITY_BOUND = MAIN_LINE[MAIN_LINE.index("verification_requested"): MAIN_LINE.index("boarded")]

_EXIT_BEFORE_BOARDING = {"withdrawn", "unfit_to_fly"}


def identity_locked(state: str) -> bool:
    """Whether a case in `state` is of a person who has boarded: their identity can no longer change."""
    return state not in BEFORE_BOARDING and state not in EXITS

TRANSITIONS: dict[str, frozenset[str]] = {
    "registered": frozenset({"screened"} | _EXIT_BEFORE_BOARDING),
    # Screened again later keeps the state; a concern raised after manifesting sends the case back.
    "screened": frozenset({"verification_requested"} | _EXIT_BEFORE_BOARDING),
    "verification_requested": frozenset({"verified", "not_national"} | _EXIT_BEFORE_BOARDING),
    # → verification_requested, from here to manifested: the identity changed, verification is re-opened.
    "verified": frozenset({"documented", "verification_requested"} | _EXIT_BEFORE_BOARDING),
    "documented": frozenset({"ready", "verification_requested"} | _EXIT_BEFORE_BOARDING),
    # ready → documented: a guard stopped holding (new concern, document expired).
    "ready": frozenset({"manifested", "documented", "verification_requested"} | _EXIT_BEFORE_BOARDING),
    # manifested → ready: taken off a manifest; → documented: pulled by a protection concern.
    "manifested": frozenset({"boarded", "no_show", "ready", "documented", "verification_requested"}
                            | _EXIT_BEFORE_BOARDING),
    # boarded → ready/documented: taken off the aircraft before departure (both sides agreed, or a
    # protection concern raised at the door).
    "boarded": frozenset({"arrived", "ready", "documented"}),
    "arrived": frozenset({"reintegration_intake", "closed"}),
    "reintegration_intake": frozenset({"matched", "closed"}),
    # matched → reintegration_intake: the offer was declined, the person waits for the next round.
    "matched": frozenset({"placed", "reintegration_intake", "closed"}),
    # placed → matched | reintegration_intake: the placement was dropped, with or without an offer still open
    # (`reintegration.service.state_from_placements`).
    "placed": frozenset({"closed", "matched", "reintegration_intake"}),
    # closed → reintegration_intake: a returnee who withdrew consent gives it again (SPEC.md 4.8: voluntary both
    # ways); what the withdrawal erased stays erased (`reintegration.service.record_consent`).
    "closed": frozenset({"reintegration_intake"}),
    "withdrawn": frozenset(),
    "not_national": frozenset(),
    "unfit_to_fly": frozenset(),
    # A no-show is taken off the flight; the sending side may put the case back in line.
    "no_show": frozenset({"ready"}),
}

# Consent withdrawal moves a returnee out of reintegration without losing where they were.
REINTEGRATION_STATES = frozenset({"reintegration_intake", "matched", "placed"})


def check_transition(reference: str, current: str, target: str) -> None:
    """Refuse a step the state machine does not allow, naming the case and both states."""
    if target not in TRANSITIONS.get(current, frozenset()):
        allowed = [Term("case_state", state) for state in sorted(TRANSITIONS.get(current, frozenset()))]
        if not allowed:
            raise InvalidTransition(
                "case %(reference)s: cannot go from '%(current)s' to '%(target)s'; '%(current)s' is a final state",
                code="invalid_transition.case", reference=reference, current=Term("case_state", current),
                target=Term("case_state", target))
        raise InvalidTransition(
            "case %(reference)s: cannot go from '%(current)s' to '%(target)s'; allowed from '%(current)s': "
            "%(allowed)s",
            code="invalid_transition.case", reference=reference, current=Term("case_state", current),
            target=Term("case_state", target), allowed=allowed,
        )
