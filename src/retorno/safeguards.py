"""THE place where the safeguards of SPEC.md section 4 are decided.

Pure functions over plain facts: the service layer gathers the facts about a case or a
flight from the database and asks these functions; every action that could break a
safeguard (manifesting, approval, locking, boarding, departure, imports, bulk actions)
calls them, so no entry point has rules of its own. Each refusal names the rule and the
case, e.g. ``case MX-2023-000123: a protection concern is not resolved (the case's screening says which)``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from retorno.errors import Message, Term

NON_REFOULEMENT = "non_refoulement"
CHILDREN = "children"
FAMILY_UNITY = "family_unity"
VERIFIED_NATIONALITY = "verified_nationality"
VALID_DOCUMENT = "valid_document"
CAPACITY = "capacity"
MEDICAL_ESCORT = "medical_escort"
VERIFIED_IDENTITY = "verified_identity"
ONE_SEAT = "one_seat"

ADULT_AGE = 18
# The identity the receiving side verifies and approves (SPEC.md section 4.4): any change to one
# of these fields after a verification request re-opens verification.
IDENTITY_FIELDS = ("given_names", "first_surname", "second_surname", "sex", "birth_date", "place_of_birth",
                   "country_of_birth", "nationality", "national_id", "declared_document_number")


@dataclass(frozen=True)
class Violation:
    """A rule broken, by whom, and in words: an English template and its values (see `errors.Message`)."""

    rule: str
    case_reference: str | None
    template: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)

    @property
    def message(self) -> str:
        return str(Message(self.template, self.params))

    @property
    def sentence(self) -> Message:
        """The violation as a person reads it, naming the case when there is one."""
        what = Message(self.template, self.params)
        return Message("case %(case)s: %(what)s", {"case": self.case_reference, "what": what}) \
            if self.case_reference else what

    def __str__(self) -> str:
        return str(self.sentence)


@dataclass(frozen=True)
class OtherRecord:
    """Another record of a traveller's person, as the one-seat rule (`one_seat`) reads it: linked to the traveller's
    record as the same person (`cases.facts.same_person`: a cédula, a registry record, a document, a supervisor's
    `same_person`), or of a possible duplicate no supervisor has decided (`undecided`: the person may be one, as a
    concern or a medical need of it holds them, SPEC.md 4.1). `flight`: the flight on which it holds a seat (one not
    yet flown, or one it is aboard until received at the destination: `cases.facts.SEATS_HELD`; None: none).
    `same_agency`: whether the traveller's agency holds it (else it is told as another agency's, never by its reference
    or flight: safeguard 6)."""

    reference: str
    flight: str | None
    same_agency: bool
    undecided: bool = False
    # Received at its destination from `flight` after the traveller's record was registered: the traveller's record
    # was made for a journey the person has made (`cases.facts.other_records`).
    returned: bool = False
    # Received at its destination before the traveller's record was registered: a journey made before, whose household
    # is not the traveller's now (the traveller's record is a new journey's; `flights.service.manifest_facts`).
    earlier_journey: bool = False


@dataclass(frozen=True)
class TravellerFacts:
    """What the safeguards need to know about one person who may travel."""

    reference: str
    household: str | None
    birth_date: date
    # Labels of protection concerns not yet resolved by a supervisor; empty when cleared.
    open_concerns: tuple[str | Term | Message, ...]
    screened: bool
    nationality_verified: bool
    document_expiry: date | None
    document_valid: bool
    unaccompanied_cleared: bool = False
    medical_escorts: int = 0
    # The need counts one another agency recorded, above what the records of the case's own agency ask for: its figure
    # is not for this agency's officials, so a refusal tells it without numbers (red team round 10, M2).
    medical_need_elsewhere: bool = False
    # The identity as it is now, and the travel document on file (its number is part of what is approved).
    identity_fingerprint: str = ""
    document_number: str | None = None
    # A verification was recorded, but for identity fields that have changed since.
    identity_changed_since_verification: bool = False
    # The country of the receiving authority whose decision verified the nationality (None: not verified).
    verified_by_state: str | None = None
    # Another record of the person was found not a national by the same state's receiving authority after this one
    # was verified (`cases.facts._found_not_national_since`): `nationality_verified` is False until it verifies again.
    found_not_national_since: bool = False
    # The other records of the person (linked, or of an undecided possible duplicate), and the seats they hold.
    other_records: tuple[OtherRecord, ...] = ()
    # The youngest birth date the service holds for the person other than this record's declaration: a civil-registry
    # record's they were verified against (`VerificationDecision.registry_birth_date`), or another record's declared
    # one (`cases.facts.births_elsewhere`): every children's rule reads it with the declared one.
    birth_date_elsewhere: date | None = None

    def is_minor(self, on: date) -> bool:
        return counts_as_minor(self.birth_date, self.birth_date_elsewhere, on)

    @property
    def approval_fingerprint(self) -> str:
        """What a per-passenger approval is bound to: the identity and the document it travels on."""
        return approval_fingerprint(self.identity_fingerprint, self.document_number)


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a given date (someone born on 29 February turns a year older on 1 March)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def is_minor(birth: date, on: date) -> bool:
    """Whether someone born on `birth` is under 18 on the given date (for travel: the departure date). The children's
    rules ask it of a person through `counts_as_minor`, which reads both birth dates a person may have."""
    return age_on(birth, on) < ADULT_AGE


def counts_as_minor(declared: date, registry: date | None, on: date) -> bool:
    """The one definition of a minor for every children's rule (SPEC.md 4.2, 4.3): under 18 on `on` (for travel: the
    flight's departure) by the DECLARED birth date or by `registry`, the youngest birth date the service holds for the
    person elsewhere (`cases.facts.births_elsewhere`: a civil-registry record their nationality was verified against,
    or another record of theirs, any agency's, declaring one; None: none known). Verification accepts a registry date
    a slip off the declared one (one digit, day and month swapped; a person may accept more), and a 17-year-old by the
    registry declared 18 was handled as an adult, allowed to travel alone (red team round 13); a person INM declared
    a minor flew as an adult by ICE's declaration (round 29b, F3): the safe reading wins."""
    return counted_age(declared, registry, on) < ADULT_AGE


def counted_age(declared: date, registry: date | None, on: date) -> int:
    """The age every children's rule reads (`counts_as_minor`) and the pages show: the younger of the ages by the
    declared birth date and by the verified registry record's (a manifest showed 18 of a girl the rules held a minor
    by the registry)."""
    return min(age_on(declared, on), age_on(registry, on)) if registry is not None else age_on(declared, on)


# A paid internship is paid work under an employer: for adults only (red team round 17, Q-F1). Its minimum age is
# this at least; a productive project (the household's own cooperative, farm or micro-enterprise) keeps its own.
INTERNSHIP_MIN_AGE = ADULT_AGE


def minor_for_internship(declared: date, registry: date | None, *days: date) -> bool:
    """Safeguard: a minor is never offered, accepted into or started in a paid internship. Whether the person counts
    as a minor (`counts_as_minor`, both birth dates) on any of `days`: the day of the offer, of the step, and the
    placement's start date (the opportunity's planned one before it starts, the recorded one once it does). Someone
    who turns 18 between the offer and the start is offered once 18 on the offer's day; an offer made to a minor
    (before this rule, or before a registry date made them one) is never accepted nor started, whatever age they
    reached since (red team round 17, Q-F1: a 17-year-old was offered, accepted and started in one)."""
    return any(counts_as_minor(declared, registry, day) for day in days)


def identity_fingerprint(values: Mapping[str, object]) -> str:
    """A digest of the identity fields, so a decision can say which identity it was about."""
    canonical = json.dumps([str(values.get(name) or "").strip() for name in IDENTITY_FIELDS], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def approval_fingerprint(identity: str, document_number: str | None) -> str:
    return hashlib.sha256(f"{identity}\x1f{document_number or ''}".encode()).hexdigest()


def document_usable(person: TravellerFacts, on: date) -> bool:
    """A travel document with a valid machine readable zone that has not expired by `on`."""
    return person.document_valid and (person.document_expiry is None or person.document_expiry >= on)


def escorts_needed(passengers: int, passengers_per_escort: int) -> int:
    """Safeguard 5: one escort for every `passengers_per_escort` passengers (none for an empty flight)."""
    return math.ceil(passengers / passengers_per_escort) if passengers else 0


def medical_staff_needed(passengers: Iterable[TravellerFacts]) -> int:
    """Safeguard 5: medical cases get the escorts their condition requires."""
    return sum(p.medical_escorts for p in passengers)


# The one word said of another agency's record of the same person (`cases.facts.protection_status`): that it
# holds a concern open, never which or where (safeguard 6).
HELD_ELSEWHERE = "one another agency holds open for the same person"


def held_elsewhere(concern: str | Term | Message) -> bool:
    """Whether an open concern is the one drawn from another agency's record of the same person."""
    return isinstance(concern, Message) and concern.template == HELD_ELSEWHERE


def own_steps(person: TravellerFacts, receiving_state: str | None = None) -> list[Violation]:
    """What the case's own record still lacks to be ready to travel: a cleared screening (its own concerns, and
    those of the same agency's records of the person, resolved), its identity and nationality verified by the
    receiving authority (of `receiving_state`, when a flight is concerned) and a travel document on file.

    Until none is missing, nobody has confirmed that this case is the person another agency's record is about,
    so a refusal tells these steps only, never what that record holds (`protection`).
    """
    found = _screening_steps(person)
    found.extend(_identity_steps(person, receiving_state))
    if not person.document_valid:
        found.append(_no_document(person))
    return found


def protection(person: TravellerFacts, receiving_state: str | None = None) -> list[Violation]:
    """Non-refoulement: nobody travels without a screening whose concerns are all resolved, on this record or on
    any other record of the same person.

    A concern another agency holds open stops the person whatever else is true, but it is told only once the
    case is otherwise ready by its own record (`own_steps`): before, the refusal names what the case itself
    lacks, so that asking about a cédula, with nothing verified, learns nothing of another agency's record.
    The action is refused either way.
    """
    found = _screening_steps(person)
    elsewhere = [concern for concern in person.open_concerns if held_elsewhere(concern)]
    if elsewhere and not found:
        found = own_steps(person, receiving_state) or [_not_resolved(person, concern) for concern in elsewhere]
    return found


def _screening_steps(person: TravellerFacts) -> list[Violation]:
    """A screening recorded, and every concern of this agency's records of the person resolved."""
    if not person.screened:
        return [Violation(NON_REFOULEMENT, person.reference, "no protection screening is recorded")]
    return [_not_resolved(person, concern) for concern in person.open_concerns if not held_elsewhere(concern)]


def _not_resolved(person: TravellerFacts, concern: str | Term | Message) -> Violation:
    """A concern of the person still open, told without saying which: that is a protection detail, which even those
    who read screenings read through the case's screening, an audited read; a refusal is no such read (red team round
    35, F2: adding a person to a manifest answered "protection concern 'disability' is not resolved" to an officer and
    left no record). Where it is open (another record of the same person, a possible duplicate, another agency) is
    said, as each reader may be told it (`as_told`)."""
    if isinstance(concern, Message):
        return Violation(NON_REFOULEMENT, person.reference, "protection concern not resolved: %(where)s",
                         {"where": concern})
    return Violation(NON_REFOULEMENT, person.reference,
                     "a protection concern is not resolved (the case's screening says which)")


def _distinct(violations: Iterable[Violation]) -> list[Violation]:
    """Each violation once, in order (a step the case lacks may be found by two rules)."""
    seen: list[Violation] = []
    for v in violations:
        if v not in seen:
            seen.append(v)
    return seen


def as_told(violation: Violation, *, reads_protection: bool) -> Violation:
    """A broken rule as its reader may be told it (safeguard 6): that a person's protection screening is not
    cleared is for every party to know; which concern is open, only for those who read screenings. That another
    record of the person holds a seat (`one_seat`) is told to all, which record and where only to those who read
    screenings (the sending side's officers and supervisors, who read the possible duplicates too)."""
    if reads_protection or violation.rule not in (NON_REFOULEMENT, ONE_SEAT):
        return violation
    if violation.rule == ONE_SEAT:
        return Violation(ONE_SEAT, violation.case_reference, ONE_SEAT_TOLD)
    return Violation(NON_REFOULEMENT, violation.case_reference, "the sending side's protection screening is not "
                     "cleared")


def returns_to_verifier(verified_by_state: str | None, receiving_state: str | None) -> bool:
    """Safeguard 4, the rule itself: a person whose nationality the receiving authority of `verified_by_state`
    verified may be returned to `receiving_state` only if it is that state. None on either side: nothing to
    decide (not verified, which `nationality_and_document` refuses on its own; or no flight concerned).

    Asked by every check of a person on a flight (`returned_to_verifier`) and by the manifest planner, which
    places nobody on a flight this rule would refuse.
    """
    return verified_by_state is None or receiving_state is None or verified_by_state == receiving_state


def returned_to_verifier(person: TravellerFacts, receiving_state: str | None) -> list[Violation]:
    """Safeguard 4: a person is returned only to the state whose receiving authority verified their nationality.

    `receiving_state` is the country of the flight's receiving authority (None: no flight is concerned).
    """
    if not person.nationality_verified or returns_to_verifier(person.verified_by_state, receiving_state):
        return []
    return [Violation(VERIFIED_NATIONALITY, person.reference,
                      "nationality was verified by the receiving authority of %(verifier)s, not by that of "
                      "%(state)s, the state this flight returns the person to",
                      {"verifier": person.verified_by_state, "state": receiving_state})]


def _identity_steps(person: TravellerFacts, receiving_state: str | None) -> list[Violation]:
    """Safeguard 4's identity part: verified for the identity as it is now, by the state the flight returns to."""
    found = []
    if person.identity_changed_since_verification:
        found.append(Violation(VERIFIED_IDENTITY, person.reference,
                               "the identity changed after the receiving authority verified it; verification is "
                               "re-opened"))
    elif person.found_not_national_since:
        found.append(Violation(VERIFIED_NATIONALITY, person.reference,
                               "the receiving authority found another record of the same person not a national after "
                               "it verified this one; it verifies this record again"))
    elif not person.nationality_verified:
        found.append(Violation(VERIFIED_NATIONALITY, person.reference,
                               "nationality has not been verified by the receiving authority"))
    found.extend(returned_to_verifier(person, receiving_state))
    return found


def _no_document(person: TravellerFacts) -> Violation:
    return Violation(VALID_DOCUMENT, person.reference, "no travel document with a valid machine readable zone is on "
                     "file")


def nationality_and_document(person: TravellerFacts, travel_date: date, receiving_state: str | None
                             ) -> list[Violation]:
    """Safeguard 4: nationality verified for the identity as it is now, by the authority of the state the flight
    returns the person to, and a document valid on the travel date."""
    found = _identity_steps(person, receiving_state)
    if not person.document_valid:
        found.append(_no_document(person))
    elif person.document_expiry is not None and person.document_expiry < travel_date:
        found.append(Violation(VALID_DOCUMENT, person.reference,
                               "the travel document expires on %(expiry)s, before the flight on %(departure)s",
                               {"expiry": person.document_expiry, "departure": travel_date}))
    return found


def may_be_approved(person: TravellerFacts, travel_date: date, receiving_state: str | None, *,
                    flight: str | None = None) -> list[Violation]:
    """Whether the receiving side (of `receiving_state`) may approve one passenger (of `flight`, when one is
    concerned): no other record of the person holds a seat (`one_seat`)."""
    return _distinct(protection(person, receiving_state) + nationality_and_document(person, travel_date,
                                                                                     receiving_state)
                     + one_seat(person, flight))


def may_board(person: TravellerFacts, receiving_state: str, *, flight: str | None = None) -> list[Violation]:
    """Whether one person may board a flight to `receiving_state`: protection is checked again at the aircraft
    door, that the state the flight goes to is the one that verified them, and that they hold one seat."""
    return _distinct(protection(person, receiving_state) + returned_to_verifier(person, receiving_state)
                     + one_seat(person, flight))


# The one-seat rule as it is told (`one_seat`): naming the other record and its flight only when the traveller's own
# agency holds it, or when it is on the very manifest the reader reads.
SAME_PERSON_HERE = "case %(other)s, the same person, is on this manifest too: one person holds one seat"
SAME_PERSON_ELSEWHERE = ("the same person holds a seat on flight %(flight)s (case %(other)s): one person holds one "
                         "seat")
# The possible duplicates that tie two records may be a chain, through another agency's record (red team round 54, F3:
# the refusal sent the officer to decide a pair that had no flag of its own).
DUPLICATE_HERE = ("case %(other)s, a possible duplicate no supervisor has decided, is on this manifest too: one "
                  "person holds one seat until supervisors decide the possible duplicates that tie them (listed on "
                  "each case's page; one with another agency's record is decided by both agencies)")
DUPLICATE_ELSEWHERE = ("case %(other)s, a possible duplicate no supervisor has decided, holds a seat on flight "
                       "%(flight)s: one person holds one seat until supervisors decide the possible duplicates that "
                       "tie them (listed on each case's page; one with another agency's record is decided by both "
                       "agencies)")
SAME_PERSON_ANOTHER_AGENCY = ("the same person holds a seat on a manifest another agency holds: one person holds one "
                              "seat")
# The record holding the seat may be a possible duplicate or a record linked to one (red team round 55, F3: the
# duplicate was the officer's own record, which held no seat).
DUPLICATE_ANOTHER_AGENCY = ("a record another agency holds, of a possible duplicate no supervisor has decided, has a "
                            "seat on a manifest: one person holds one seat until supervisors decide the possible "
                            "duplicates that tie them (listed on the case's page; one with another agency's record is "
                            "decided by both agencies)")
# A record registered before another record of the person (or of an undecided possible duplicate) was received at
# the destination: the journey it was registered for is made (red team round 29).
RETURNED_SAME_AGENCY = ("case %(other)s, of the same person or a possible duplicate no supervisor has decided, came by "
                        "flight %(flight)s and was received at its destination after this record was registered: the "
                        "person has made this record's journey (a new one is registered anew)")
RETURNED_ANOTHER_AGENCY = ("a record another agency holds of the same person, or of a possible duplicate no supervisor "
                           "has decided, was received at its destination after this record was registered: the person "
                           "has made this record's journey (a new one is registered anew)")
# ... and to whoever reads neither possible duplicates nor protection screenings (`as_told`).
ONE_SEAT_TOLD = ("another record of the same person, or of a possible duplicate no supervisor has decided, holds a "
                 "seat on a flight not yet flown or not yet received at its destination: one person holds one seat")


def one_seat(person: TravellerFacts, flight: str | None, aboard: Iterable[str] = ()) -> list[Violation]:
    """One person holds one seat (SPEC.md 4.4, the identity approved is the identity verified): no other record of
    the person (`TravellerFacts.other_records`: linked as the same person, or of a possible duplicate no supervisor
    has decided, who may be them) holds a seat on a flight not yet flown, this one or another, or is aboard one that
    left and not yet received at its destination (`cases.facts.SEATS_HELD`). Else the door boards
    two people under one verified identity, and the second may be anyone (red team round 13, F5).

    `flight`: the flight whose manifest is checked (None: none in particular); `aboard`: the references on that
    manifest as it would be, whose records are found there even before they hold their seat (two added at once).
    """
    here = set(aboard)
    found = []
    for other in person.other_records:
        if other.returned:
            found.append(Violation(ONE_SEAT, person.reference, RETURNED_SAME_AGENCY, {
                "other": other.reference, "flight": other.flight}) if other.same_agency else Violation(
                ONE_SEAT, person.reference, RETURNED_ANOTHER_AGENCY))
            continue
        on_this = other.reference in here or (flight is not None and other.flight == flight)
        if not on_this and other.flight is None:
            continue
        if on_this:
            template = DUPLICATE_HERE if other.undecided else SAME_PERSON_HERE
        elif other.same_agency:
            template = DUPLICATE_ELSEWHERE if other.undecided else SAME_PERSON_ELSEWHERE
        else:
            template = DUPLICATE_ANOTHER_AGENCY if other.undecided else SAME_PERSON_ANOTHER_AGENCY
        found.append(Violation(ONE_SEAT, person.reference, template,
                               {"other": other.reference, "flight": other.flight} if template in (
                                   SAME_PERSON_HERE, SAME_PERSON_ELSEWHERE, DUPLICATE_HERE, DUPLICATE_ELSEWHERE)
                               else {}))
    return _distinct(found)


@dataclass(frozen=True)
class FlightFacts:
    reference: str
    seats: int
    escorts: int
    medical_staff: int
    departure: date
    passengers_per_escort: int
    # The country of the flight's receiving authority: the state its passengers are returned to (None only where
    # capacity alone is checked, as the planner does).
    receiving_state: str | None
    # The day the children's rules count ages on (`flights.airports.children_day`: the departure's earliest
    # calendar date, UTC or local at either airport); None: `departure`, the UTC date.
    children_day: date | None = None


@dataclass(frozen=True)
class HouseholdMember:
    """A member of a passenger's household who is still to travel, and the flight they are on, if any; or a minor of
    it who stays behind (`stays_behind`: the case's state, one that does not travel, `STAYING_BEHIND`)."""

    reference: str
    household: str
    flight: str | None
    birth_date: date
    stays_behind: str | None = None
    # The youngest birth date held for the person elsewhere (`TravellerFacts.birth_date_elsewhere`).
    birth_date_elsewhere: date | None = None
    # The passenger whose person has a record, held by another agency, in this member's household (which that record
    # brought into the rule: `flights.service.manifest_facts`); the member is then told as of a household another
    # agency holds, never by its reference or household (safeguard 6). None: a household of the passengers' own.
    through: str | None = None


# The states of a case that does not travel with its household, before boarding: an exit (SPEC.md 3). A minor of a
# household in one of them stays behind when an adult of it flies (`family_unity`, red team round 13, F7).
STAYING_BEHIND = ("withdrawn", "not_national", "unfit_to_fly", "no_show")
# Of those, the one that leaves nobody's process: a no-show is put back in line (`flights.no_show`), and until a
# supervisor splits the household its other members wait for them, whatever their age (red team round 26, A1: an
# officer recorded a head of household a no-show, the others taken off with her, then put them on another flight
# without her, no split recorded). An adult withdrawn, unfit to fly or not a national has left: the others may go.
STILL_IN_LINE = ("no_show",)


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
    return capacity_counts(flight, len(passengers), medical_staff_needed(passengers),
                           need_elsewhere=any(p.medical_need_elsewhere for p in passengers))


# The medical-escort refusal when a need counted is another agency's record's: the rule, never the figure (a refusal
# stated the exact need ICE had recorded to INM's officer adding its record alike to a flight; red team round 10, M2).
MEDICAL_NEED_ELSEWHERE = ("flight %(flight)s: the passengers' medical needs (one recorded by another agency) need more "
                          "medical staff than are assigned")


def capacity_counts(flight: FlightFacts, count: int, medical_needed: int, *, need_elsewhere: bool = False
                    ) -> list[Violation]:
    """Safeguard 5 over counts: `count` passengers whose conditions need `medical_needed` medical escorts.

    The one capacity rule, for callers that hold counts rather than people (the manifest planner). With
    `need_elsewhere` (a need counted is one another agency recorded, `TravellerFacts.medical_need_elsewhere`), a
    medical-escort refusal names no figure.
    """
    found = []
    escorts = escorts_needed(count, flight.passengers_per_escort)
    if flight.escorts < escorts:
        found.append(Violation(CAPACITY, None,
                               "flight %(flight)s: escorts needed for %(count)s passenger(s), one per %(ratio)s: "
                               "%(needed)s; assigned: %(escorts)s",
                               {"flight": flight.reference, "count": count, "needed": escorts,
                                "ratio": flight.passengers_per_escort, "escorts": flight.escorts}))
    total = count + flight.escorts + flight.medical_staff
    if total > flight.seats:
        found.append(Violation(CAPACITY, None,
                               "flight %(flight)s: seats needed: %(total)s (passengers: %(count)s, escorts: "
                               "%(escorts)s, medical staff: %(medical)s); seats on the aircraft: %(seats)s",
                               {"flight": flight.reference, "count": count, "escorts": flight.escorts,
                                "medical": flight.medical_staff, "total": total, "seats": flight.seats}))
    if medical_needed > flight.medical_staff and need_elsewhere:
        found.append(Violation(MEDICAL_ESCORT, None, MEDICAL_NEED_ELSEWHERE, {"flight": flight.reference}))
    elif medical_needed > flight.medical_staff:
        found.append(Violation(MEDICAL_ESCORT, None,
                               "flight %(flight)s: medical escorts the medical cases need: %(needed)s; medical "
                               "staff assigned: %(medical)s",
                               {"flight": flight.reference, "needed": medical_needed, "medical": flight.medical_staff}))
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
                 split_households: frozenset[str], departure: date | None = None) -> list[Violation]:
    """Safeguard 3: a household goes on one flight unless a supervisor has split it with a reason.

    Its members still to travel go on it; and a minor of the household who stays behind, in a state that does not
    travel (not a national, withdrawn, unfit to fly, a no-show: `STAYING_BEHIND`), is separated from the household's
    passengers as much as one left off: that too is a supervisor's split with a written reason (SPEC.md 4.2, 4.3),
    never the consequence of another side's decision or an officer's withdrawal (red team round 13, F7). A minor on
    `departure` (the flight's date; None: no minor is told apart, every member staying behind counts). A no-show of
    any age is a member still to travel (`STILL_IN_LINE`). A household another agency holds, brought in by another
    record of a passenger's person (`HouseholdMember.through`), is told so, naming none of it."""
    found: list[Violation] = []
    for m in members:
        if m.household in split_households or m.flight == flight_reference:
            continue
        if m.through is not None:
            if m.stays_behind is not None and m.stays_behind not in STILL_IN_LINE and departure is not None \
                    and not counts_as_minor(m.birth_date, m.birth_date_elsewhere, departure):
                continue
            violation = Violation(
                FAMILY_UNITY, m.through,
                "another record of the same person, held by another agency, is in a household that would be split: "
                "a member of it is not on this flight; that agency puts the household on the flight with the person, "
                "or its supervisor records a reason to split it")
            if violation not in found:
                found.append(violation)
            continue
        if m.stays_behind is not None:
            if departure is None or counts_as_minor(m.birth_date, m.birth_date_elsewhere, departure):
                found.append(Violation(
                    FAMILY_UNITY, m.reference,
                    "household %(household)s would be split: this minor stays behind ('%(state)s') while the "
                    "household's passengers fly; a supervisor must record a reason to split it",
                    {"household": m.household, "state": Term("case_state", m.stays_behind)}))
                continue
            if m.stays_behind not in STILL_IN_LINE:
                continue
        if m.flight:
            found.append(Violation(
                FAMILY_UNITY, m.reference,
                "household %(household)s would be split: this member is on flight %(flight)s; a supervisor must "
                "record a reason to split it", {"household": m.household, "flight": m.flight}))
        else:
            found.append(Violation(
                FAMILY_UNITY, m.reference,
                "household %(household)s would be split: this member is not on flight %(flight)s, where the "
                "household's passengers are; a supervisor must record a reason to split it",
                {"household": m.household, "flight": flight_reference}))
    return found


def manifest(facts: ManifestFacts) -> list[Violation]:
    """Every safeguard a manifest must satisfy in every state it can rest in: draft, proposed, locked.

    Checked when a person is added or taken off, and again before proposing, locking and
    departing, so that no state a manifest rests in holds what no manifest may hold.
    """
    found: list[Violation] = []
    aboard = [p.reference for p in facts.passengers]
    for p in facts.passengers:
        found.extend(_distinct(protection(p, facts.flight.receiving_state)
                               + nationality_and_document(p, facts.flight.departure, facts.flight.receiving_state)
                               + one_seat(p, facts.flight.reference, aboard)))
    day = facts.flight.children_day or facts.flight.departure
    found.extend(children(facts.passengers, day))
    found.extend(family_unity(facts.flight.reference, facts.household_members, facts.split_households, day))
    found.extend(capacity(facts.flight, facts.passengers))
    return found


def needs_counted(passengers: Sequence[TravellerFacts], counted: Mapping[str, int]) -> list[Violation]:
    """Safeguard 5: each passenger needs no more medical escorts than were counted when they were put on the manifest
    and approved (`counted`, per reference): the flight's medical staff and the receiving side's approval were for
    that need, so a higher one takes them off to be approved anew, whichever door raised it (a screening, a record of
    the same person linked by a correction, a possible duplicate flagged; red team round 5, C-F4)."""
    return [Violation(MEDICAL_ESCORT, p.reference, _NEED_ROSE_ELSEWHERE) if p.medical_need_elsewhere else
            Violation(MEDICAL_ESCORT, p.reference,
                      "medical escort needs rose to %(needed)s after the manifest counted %(counted)s for this "
                      "passenger; they leave the manifest to be approved anew (off a locked manifest, with a "
                      "supervisor of each side)", {"needed": p.medical_escorts, "counted": counted[p.reference]})
            for p in passengers if p.reference in counted and p.medical_escorts > counted[p.reference]]


# ... and a need risen by another agency's record, told without its figure (red team round 10, M2).
_NEED_ROSE_ELSEWHERE = ("medical escort needs (one recorded by another agency) rose after the manifest counted this "
                        "passenger; they leave the manifest to be approved anew (off a locked manifest, with a "
                        "supervisor of each side)")


def approvals_current(passengers: Sequence[TravellerFacts], approved: Mapping[str, str | None]) -> list[Violation]:
    """Safeguard 4: each approved passenger is still the identity, with the document, the receiving side approved.

    `approved` maps the references of approved passengers to the fingerprint their approval was bound to.
    """
    return [Violation(VERIFIED_IDENTITY, p.reference,
                      "the identity or travel document changed after the receiving side approved this passenger; "
                      "approval must be given again")
            for p in passengers if p.reference in approved and approved[p.reference] != p.approval_fingerprint]
