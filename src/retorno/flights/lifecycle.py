"""The flight lifecycle of SPEC.md section 6 as an explicit state machine, and the times it follows (section 4.9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from retorno.config import Settings
from retorno.errors import InvalidInput, InvalidTransition, Term

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
        allowed = [Term("flight_state", state) for state in sorted(TRANSITIONS[current])]
        if not allowed:
            raise InvalidTransition(
                "flight %(reference)s: cannot go from '%(current)s' to '%(target)s'; '%(current)s' is a final state",
                code="invalid_transition.flight", reference=reference, current=Term("flight_state", current),
                target=Term("flight_state", target))
        raise InvalidTransition(
            "flight %(reference)s: cannot go from '%(current)s' to '%(target)s'; allowed from '%(current)s': "
            "%(allowed)s",
            code="invalid_transition.flight", reference=reference, current=Term("flight_state", current),
            target=Term("flight_state", target), allowed=allowed,
        )


# A recorded time may run ahead of the server's clock by this much (two clocks never agree exactly).
CLOCK_TOLERANCE = timedelta(minutes=1)


@dataclass(frozen=True)
class DepartureWindow:
    """How long before and after its scheduled departure a flight may board and depart."""

    early: timedelta
    late: timedelta

    @classmethod
    def of(cls, settings: Settings) -> DepartureWindow:
        return cls(timedelta(hours=settings.departure_early_hours), timedelta(hours=settings.departure_late_hours))

    def opens(self, scheduled: datetime) -> datetime:
        return scheduled - self.early

    def closes(self, scheduled: datetime) -> datetime:
        return scheduled + self.late


def actual_time(at: datetime | None, now: datetime, what: str) -> datetime:
    """The moment a step happened: `at` as given (in UTC), or now; never in the future."""
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput("the %(what)s time must carry a time zone", code="flow.time_zone",
                           what=Term("moment", what))
    if at > now + CLOCK_TOLERANCE:
        raise InvalidInput("the %(what)s time %(at)s is in the future: record it when it has happened",
                           code="flow.future_time", what=Term("moment", what), at=at.isoformat())
    return at.astimezone(now.tzinfo)


def shortest_flight(departure_utc: datetime, arrival_utc: datetime) -> timedelta:
    """The least time between a recorded departure and landing: half the scheduled flight time.

    Winds and short cuts save minutes, never half the block time; a landing sooner than this is a
    mistaken click (or a return to the origin, which is not this flight's arrival).
    """
    return (arrival_utc - departure_utc) / 2
