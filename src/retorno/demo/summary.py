"""What the demo build did, counted as it did it, and printed at the end of `retorno demo`.

Every figure is a tally kept by the build itself (a case registered, a flight flown, an offer
declined), never read back from the database: a test recomputes each one from the database
(`tests/test_demo.py`), so what the demo prints and what it holds cannot drift apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class FlightFigures:
    reference: str
    flight_number: str
    origin: str
    destination: str
    departure: date
    state: str
    # On the manifest (or, once it has flown, the manifest it flew with), aboard, received on arrival.
    manifested: int
    aboard: int
    received: int

    @property
    def label(self) -> str:
        return (f"flight {self.reference} ({self.flight_number} {self.origin}-{self.destination}, "
                f"{self.departure.isoformat()})")

    @property
    def line(self) -> str:
        return f"{self.state}; {self.manifested} on the manifest, {self.aboard} aboard, {self.received} received"


@dataclass
class DemoSummary:
    cases: Counter[str] = field(default_factory=Counter)
    households: Counter[str] = field(default_factory=Counter)
    household_members: Counter[str] = field(default_factory=Counter)
    screened: int = 0
    screened_with_concern: int = 0
    concerns_resolved: int = 0
    verified_by_hand: int = 0
    rejected: int = 0
    linkage: Counter[str] = field(default_factory=Counter)
    passports: int = 0
    emergency_documents: int = 0
    flights: list[FlightFigures] = field(default_factory=list)
    opportunities: int = 0
    consents: int = 0
    placements_started: int = 0
    placements_declined: int = 0
    follow_ups_recorded: int = 0
    follow_ups_overdue: int = 0

    def figures(self) -> dict[str, int | str]:
        """The printed figures, by label, in the order printed."""
        shown: dict[str, int | str] = {}
        for agency in sorted(self.cases):
            shown[f"cases {agency}"] = self.cases[agency]
            shown[f"households {agency} (two people or more)"] = self.households[agency]
            shown[f"people in households {agency}"] = self.household_members[agency]
        shown |= {
            "people screened": self.screened,
            "people screened with a protection concern": self.screened_with_concern,
            "concerns resolved by a supervisor": self.concerns_resolved,
            "identities verified by hand": self.verified_by_hand,
            "identities rejected (not nationals)": self.rejected,
            "identities verified by record linkage": self.linkage["verified"],
            "linkage proposals for review": self.linkage["review"],
            "linkage proposals not found": self.linkage["not_found"],
            "passports on file": self.passports,
            "emergency travel documents issued": self.emergency_documents,
            "reintegration opportunities": self.opportunities,
            "returnees who consented to reintegration": self.consents,
            "placements started": self.placements_started,
            "placements declined": self.placements_declined,
            "follow-ups recorded": self.follow_ups_recorded,
            "follow-ups overdue": self.follow_ups_overdue,
        }
        for flight in self.flights:
            shown[flight.label] = flight.line
        return shown
