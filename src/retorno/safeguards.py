"""THE place where the safeguards of SPEC.md section 4 are decided.

Pure functions over plain facts: the service layer gathers the facts about a case or a
flight from the database and asks these functions; every action that could break a
safeguard (manifesting, approval, locking, boarding, departure, imports, bulk actions)
calls them, so no entry point has rules of its own. Each refusal names the rule and the
case, e.g. ``case MX-2023-000123: protection concern 'pending asylum claim' is not resolved``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

NON_REFOULEMENT = "non_refoulement"
CHILDREN = "children"
FAMILY_UNITY = "family_unity"
VERIFIED_NATIONALITY = "verified_nationality"
VALID_DOCUMENT = "valid_document"
CAPACITY = "capacity"
MEDICAL_ESCORT = "medical_escort"


@dataclass(frozen=True)
class Violation:
    rule: str
    case_reference: str | None
    message: str

    def __str__(self) -> str:
        return f"case {self.case_reference}: {self.message}" if self.case_reference else self.message


@dataclass(frozen=True)
class TravellerFacts:
    """What the safeguards need to know about one person who may travel."""

    reference: str
    household: str | None
    birth_date: date
    # Labels of protection concerns not yet resolved by a supervisor; empty when cleared.
    open_concerns: tuple[str, ...]
    screened: bool
    nationality_verified: bool
    document_expiry: date | None
    document_valid: bool
    unaccompanied_cleared: bool = False
    medical_escorts: int = 0

    def is_minor(self, on: date) -> bool:
        return age_on(self.birth_date, on) < 18


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a given date."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def protection(person: TravellerFacts) -> list[Violation]:
    """Non-refoulement: nobody travels without a screening whose concerns are all resolved."""
    if not person.screened:
        return [Violation(NON_REFOULEMENT, person.reference, "no protection screening is recorded")]
    return [Violation(NON_REFOULEMENT, person.reference, f"protection concern '{label}' is not resolved")
            for label in person.open_concerns]


def nationality_and_document(person: TravellerFacts, travel_date: date) -> list[Violation]:
    """Safeguard 4: verified nationality and a valid, unexpired document before approval."""
    found = []
    if not person.nationality_verified:
        found.append(Violation(VERIFIED_NATIONALITY, person.reference,
                               "nationality has not been verified by the receiving authority"))
    if not person.document_valid:
        found.append(Violation(VALID_DOCUMENT, person.reference,
                               "no travel document with a valid machine readable zone is on file"))
    elif person.document_expiry is not None and person.document_expiry < travel_date:
        found.append(Violation(VALID_DOCUMENT, person.reference,
                               f"the travel document expires on {person.document_expiry.isoformat()}, "
                               f"before the flight on {travel_date.isoformat()}"))
    return found


def may_be_manifested(person: TravellerFacts) -> list[Violation]:
    """Whether one person may be put on (or kept on) a manifest."""
    return protection(person)


def may_be_approved(person: TravellerFacts, travel_date: date) -> list[Violation]:
    """Whether the receiving side may approve one passenger."""
    return protection(person) + nationality_and_document(person, travel_date)


def may_board(person: TravellerFacts) -> list[Violation]:
    """Whether one person may board: protection is checked again at the aircraft door."""
    return protection(person)


@dataclass(frozen=True)
class FlightFacts:
    reference: str
    seats: int
    escorts: int
    medical_staff: int
    departure: date
    passengers_per_escort: int


@dataclass(frozen=True)
class HouseholdMember:
    """A member of a passenger's household who is still to travel, and the flight they are on, if any."""

    reference: str
    household: str
    flight: str | None
    birth_date: date


@dataclass(frozen=True)
class ManifestFacts:
    flight: FlightFacts
    passengers: Sequence[TravellerFacts]
    # Every member still to travel of every household that has a passenger on this flight.
    household_members: Sequence[HouseholdMember] = ()
    # Households a supervisor has allowed to travel on more than one flight.
    split_households: frozenset[str] = field(default_factory=frozenset)


def capacity(flight: FlightFacts, passengers: Sequence[TravellerFacts]) -> list[Violation]:
    """Safeguard 5: passengers + escorts + medical staff within seats; escort ratio; medical escorts."""
    found = []
    count = len(passengers)
    escorts_needed = math.ceil(count / flight.passengers_per_escort) if count else 0
    if flight.escorts < escorts_needed:
        found.append(Violation(CAPACITY, None,
                               f"flight {flight.reference}: {count} passengers need {escorts_needed} escorts "
                               f"(one per {flight.passengers_per_escort}), only {flight.escorts} are assigned"))
    total = count + flight.escorts + flight.medical_staff
    if total > flight.seats:
        found.append(Violation(CAPACITY, None,
                               f"flight {flight.reference}: {count} passengers + {flight.escorts} escorts + "
                               f"{flight.medical_staff} medical staff = {total} exceeds {flight.seats} seats"))
    medical_needed = sum(p.medical_escorts for p in passengers)
    if medical_needed > flight.medical_staff:
        found.append(Violation(MEDICAL_ESCORT, None,
                               f"flight {flight.reference}: medical cases need {medical_needed} medical escorts, "
                               f"only {flight.medical_staff} medical staff are assigned"))
    return found


def children(passengers: Sequence[TravellerFacts], on: date) -> list[Violation]:
    """Safeguard 2: a minor travels with an adult of the household on the same flight, or is cleared."""
    adults_by_household: dict[str, int] = defaultdict(int)
    for p in passengers:
        if p.household and not p.is_minor(on):
            adults_by_household[p.household] += 1
    found = []
    for p in passengers:
        if not p.is_minor(on) or p.unaccompanied_cleared:
            continue
        if p.household is None or adults_by_household[p.household] == 0:
            found.append(Violation(
                CHILDREN, p.reference,
                "a minor travels only with an adult of the same household on the same flight, or with a recorded "
                "best-interests determination and a named receiving guardian"))
    return found


def family_unity(flight_reference: str, members: Iterable[HouseholdMember],
                 split_households: frozenset[str]) -> list[Violation]:
    """Safeguard 3: a household goes on one flight unless a supervisor has split it with a reason."""
    found = []
    for m in members:
        if m.household in split_households or m.flight == flight_reference:
            continue
        where = f"on flight {m.flight}" if m.flight else "not on this flight"
        found.append(Violation(
            FAMILY_UNITY, m.reference,
            f"household {m.household} would be split: this member is {where}; a supervisor must record a reason "
            "to split it"))
    return found


def manifest(facts: ManifestFacts) -> list[Violation]:
    """Every safeguard that applies to a whole manifest: the check before proposing, locking and departing."""
    found: list[Violation] = []
    for p in facts.passengers:
        found.extend(protection(p))
    found.extend(children(facts.passengers, facts.flight.departure))
    found.extend(family_unity(facts.flight.reference, facts.household_members, facts.split_households))
    found.extend(capacity(facts.flight, facts.passengers))
    return found


def approved_manifest(facts: ManifestFacts) -> list[Violation]:
    """The whole-manifest check plus verified nationality and a valid document for everyone: before locking."""
    found = manifest(facts)
    for p in facts.passengers:
        found.extend(nationality_and_document(p, facts.flight.departure))
    return found
