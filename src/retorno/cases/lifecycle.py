"""The case lifecycle of SPEC.md section 3 as an explicit state machine."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

from retorno.agencies.visibility import arrival_told, state_told
from retorno.errors import InvalidTransition, Message, RetornoError, Term

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
# Verified and waiting for a manifest: a case here whose identity is no longer the one verified (edited while a no-show,
# an exit) is asked again (`cases.service.advance`, `verification.service.request_verification`).
VERIFIED_WAITING = ("verified", "documented", "ready")
# A protection concern never waits (SPEC.md 4.1): it is recorded of a person who has not boarded (waiting to fly, or a
# no-show: a claim made at the door is what often keeps a person from it, red team RE8702 M1), and at the aircraft's
# door and after it closed (`travel.service.record_screening`). The supervisors' queue lists their open concerns.
NOT_BOARDED = frozenset(BEFORE_BOARDING) | {"no_show"}
SCREENABLE = NOT_BOARDED | {"boarded"}

_EXIT_BEFORE_BOARDING = {"withdrawn", "unfit_to_fly"}
# The exits before boarding, which close a case: no transition leaves them (the person, should they come back into the
# process, is registered again as a new case). Its identity stays as recorded (`travel.service.update_case`), and the
# case leaves the receiving side's view (`cases.service.RECEIVING_VISIBLE`), its open verification request cancelled
# (`verification.service.cancel_open_requests`; red team round 16, N2).
CLOSED_EXITS = frozenset(_EXIT_BEFORE_BOARDING)


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
    # boarded → manifested: a boarding recorded by mistake, corrected before departure (`flights.no_show`).
    "boarded": frozenset({"arrived", "ready", "documented", "manifested"}),
    "arrived": frozenset({"reintegration_intake", "closed"}),
    # reintegration_intake → placed: a placement's end recorded by mistake, taken back
    # (`reintegration.service.reopen_placement`).
    "reintegration_intake": frozenset({"matched", "placed", "closed"}),
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
    # A no-show is taken off the flight; the sending side may put the case back in line, or take it out (a
    # protection resolution's 'withdrawn' of a claim made at the door too).
    "no_show": frozenset({"ready"} | _EXIT_BEFORE_BOARDING),
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


# ----- the states a refusal names, as its reader may be told them ---------------------------------------


def states_told_to(refusal: RetornoError, *, reads_protection: bool, ends_at_arrival: bool) -> RetornoError:
    """`refusal` with every case state it names as its reader is told it elsewhere (`agencies.visibility`): to the
    sending side, every state after arrival as 'arrived'; to those who read no screenings, `ready` and `no_show` as
    `documented` (a case held back by a protection concern would show). Every door's refusals pass here: a whole refusal
    (`web.refusals.told_to`) and each item of a bulk action (`travel.bulk.reasons_told`)."""
    if (reads_protection and not ends_at_arrival) or not _names_a_case_state(refusal.params):
        return refusal

    def told_as(state: str) -> str:
        told = arrival_told(state) if ends_at_arrival else state
        return told if reads_protection else state_told(told)

    def alike(state: str) -> list[str]:
        return [stored for stored in STATES if told_as(stored) == told_as(state)]

    return _states_told(refusal, told_as, alike)


def _names_a_case_state(value: object) -> bool:
    if isinstance(value, Term):
        return value.vocabulary == "case_state"
    if isinstance(value, Message):
        return _names_a_case_state(value.params)
    if isinstance(value, Mapping):
        return any(_names_a_case_state(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_names_a_case_state(v) for v in value)
    return False


def _state_told(value: object, told_as: Callable[[str], str]) -> object:
    """`value` with every case state as `told_as` tells it."""
    if isinstance(value, Term) and value.vocabulary == "case_state":
        told = told_as(value.code)
        return Term("case_state", told, value.english if told == value.code else None)
    if isinstance(value, Message):
        return Message(value.template, {k: _state_told(v, told_as) for k, v in value.params.items()})
    if isinstance(value, (list, tuple)):
        return list(dict.fromkeys(_state_told(v, told_as) for v in value))
    return value


def _states_told(refusal: RetornoError, told_as: Callable[[str], str],
                 alike: Callable[[str], list[str]]) -> RetornoError:
    """A refusal naming case states, as `told_as` tells them (red team: a receiving-side officer's refused consent
    said 'it is ready' of a case told everywhere else as documented, and 'documented' of one held back by a
    concern: one request per case told who is held). The states a transition allows from the case's state are
    those allowed from any state told alike, so that they tell nothing either."""
    told = copy.copy(refusal)
    told.params = _params_told(refusal.params, told_as, alike)
    told.parts = tuple(Message(part.template, _params_told(part.params, told_as, alike)) for part in refusal.parts)
    told.message = "; ".join(str(part) for part in told.parts)
    return told


def _params_told(params: Mapping[str, object], told_as: Callable[[str], str],
                 alike: Callable[[str], list[str]]) -> dict[str, object]:
    adjusted = dict(params)
    current = adjusted.get("current")
    if isinstance(current, Term) and current.vocabulary == "case_state" and isinstance(adjusted.get("allowed"), list):
        adjusted["allowed"] = [Term("case_state", state) for state in sorted(
            {target for same in alike(current.code) for target in TRANSITIONS.get(same, ())})]
    return {name: _state_told(value, told_as) for name, value in adjusted.items()}
