"""One person holds one seat, when a link is made: the link is kept and the person keeps one seat.

Adding a passenger, approving, locking, boarding and departing refuse a second seat for a person
(`safeguards.one_seat`): those are steps about the seat. A link recorded later between two records that
both hold a seat (a registration whose cédula or likeness makes them one person, an identity correction or
a re-import, a document filed, a verification, a supervisor's `same_person`) is a fact about the person: it
was refused before (red team round 14, L1: the official could not record a person under their true cédula,
and the link, which carries a protection concern across the records, was lost). The README says a link
recorded later is kept and takes the passenger off; so it does here (`keep_one_seat`), in the same
transaction, through the take-off every other change uses (`flights.service.take_off_manifests`), and the
commit-time guard (`travel.invariants`) finds no double seat after it.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import safeguards
from retorno.agencies.models import Agency, User
from retorno.cases.facts import other_records, records_alike
from retorno.cases.models import Case
from retorno.db import among
from retorno.flights.models import ACTIVE_APPROVALS, NOT_YET_FLOWN_STATES, Flight, Passenger
from retorno.flights.service import (
    IN_THE_AIR_OR_LANDED,
    active_passengers,
    households_read,
    manifest_facts,
    take_off_manifests,
)

# The alert kind of such a take-off (`flights.service._NEVER_WAIT`: it never waits for a locked manifest's consents,
# since the person cannot hold two seats and the link stands).
ONE_SEAT = "one_seat"
# ... and of a take-off by family unity when a link is made (`_with_family`), which does not wait either.
FAMILY_LINK = "family_link"


def keep_one_seat(session: Session, by: User | None, case_ids: Iterable[int]) -> list[str]:
    """A link may just have been made to `case_ids`: the person travels with their family (`_with_family`), then keeps
    one seat (`_one_seat`). Family first: a passenger whose household the link shows off their flight leaves it, so
    that the seat left is the one with the family and every reason told stays true (red team round 31, F2: the
    one-seat take-off told ICE that another agency's record held a seat, which family unity then took off too).
    Returns the references taken off."""
    ids = sorted(set(case_ids))
    if not ids:
        return []
    alike = records_alike(session, ids)
    taken = _with_family(session, by, ids, alike)
    return taken + [reference for reference in _one_seat(session, by, ids, alike) if reference not in taken]


def _one_seat(session: Session, by: User | None, ids: list[int], alike: dict[int, set[int]]) -> list[str]:
    """Of every person among `case_ids` (their records as the one-seat rule reads them: linked as the same person, and
    undecided possible duplicates, `cases.facts.records_alike`) holding two or more seats (on flights not yet flown,
    or aboard one that left until received), keep one and take every other record off its manifest, back to 'ready'
    (it is no protection matter; putting it on again is refused while the other holds its seat). The seat kept: one
    in the air, else one boarded already (nobody leaves an aircraft for a link), else one on a flight with the
    person's household (`_seats_with_family`), else one of another country's agency than `by`'s, else the flight
    departing first, else the passenger added first. The side whose write made the link gives up its own seat before
    another country's: a record made up to bridge two seats (red team round 33, F3: INM registered a record with the
    name of its passenger and the cédula of ICE's, and ICE's passenger left its flight) takes off only a passenger of
    the maker's country while it has one. Returns the references taken off (with their households, as every take-off
    takes them)."""
    people = [frozenset({case_id, *alike.get(case_id, ())}) for case_id in ids]
    everyone = sorted(set().union(*people))
    # A seat aboard a flight that left, until received, is the person's too (`flights.service.seats_held`), and is
    # the one kept: nobody leaves an aircraft in the air (red team round 29b, F2: the link was refused instead).
    seats: list[tuple[Passenger, Flight]] = [(p, f) for p, f in session.execute(
        sa.select(Passenger, Flight).join(Flight, Flight.id == Passenger.flight_id)
        .where(Passenger.case_id.in_(everyone), sa.or_(
            sa.and_(Passenger.approval.in_(ACTIVE_APPROVALS), Flight.state.in_(NOT_YET_FLOWN_STATES)),
            sa.and_(Passenger.boarding == "boarded", Passenger.arrival != "received",
                    Flight.state.in_(IN_THE_AIR_OR_LANDED)))))]
    taken = _journeys_made(session, by, seats) if len(everyone) > 1 else []
    seats = [(p, f) for p, f in seats if p.approval in ACTIVE_APPROVALS or f.state in IN_THE_AIR_OR_LANDED]
    if len(seats) < 2:
        return taken
    # The maker's side: its country's agencies, which hold and read each other's cases (red team round 33b, F1: SRE's
    # record bridged INM's passenger and ICE's, and ICE's left while INM's, of SRE's country, stayed).
    makers = set(session.execute(sa.select(Case.id).join(Agency, Agency.id == Case.agency_id).where(
        among(Case.id, [p.case_id for p, _ in seats]), Agency.country == by.agency.country)).scalars()) \
        if by else set()
    for person in dict.fromkeys(people):
        mine = [(p, f) for p, f in seats if p.case_id in person]
        with_family = _seats_with_family(session, mine, person) if len({p.case_id for p, _ in mine}) > 1 else set()
        held = sorted(mine, key=lambda seat: (seat[1].state not in IN_THE_AIR_OR_LANDED, seat[0].boarding != "boarded",
                                              seat[0].id not in with_family, seat[0].case_id in makers,
                                              seat[1].departure_utc, seat[0].id))
        if len({p.case_id for p, _ in held}) < 2:
            continue
        kept, kept_flight = held[0]
        keeper = session.get(Case, kept.case_id)
        assert keeper is not None
        for passenger, flight in held[1:]:
            if passenger.case_id == kept.case_id or passenger.approval not in ACTIVE_APPROVALS:
                continue  # taken off already, with a household taken off before it
            record_ = session.get(Case, passenger.case_id)
            assert record_ is not None
            if record_.reference in taken:
                continue
            taken += take_off_manifests(session, by, record_, kind=ONE_SEAT, back_to="ready",
                                        reason=_why(record_, keeper, flight, kept_flight))
    return taken


def _with_family(session: Session, by: User | None, ids: list[int], alike: dict[int, set[int]]) -> list[str]:
    """Family unity when a link is made (red team round 30, F3; round 29b, F4; round 27c, F1): a passenger (of a flight
    not yet flown) whom the link, or a member joining a household, makes the same person as a record in a household
    not on that flight would fly the household split, which `safeguards.family_unity` refuses. The link was refused
    instead (a correction, a registration, an import row, a child registered into the household): it was lost, the
    passenger's agency was not told, and the refusal answered whether another agency had the person on a flight. It is
    kept: each such passenger leaves the manifest (with their own household, `take_off_manifests`), locked or not, both
    sides alerted (`FAMILY_LINK`), the reason naming no other record; on again only with the household or after its
    supervisor's split. Reached: the records of `ids`' people, the members of their households, and those members'
    people's records."""
    records = set(ids).union(*alike.values()) if alike else set(ids)
    households = set(session.execute(sa.select(Case.household_id).where(
        among(Case.id, sorted(records)), Case.household_id.is_not(None))).scalars())
    members = set(session.execute(sa.select(Case.id).where(among(Case.household_id, sorted(households))))
                  .scalars()) if households else set()
    theirs = records_alike(session, sorted(members - records)) if members - records else {}
    reach = records | members
    reach = reach.union(*theirs.values()) if theirs else reach
    flights = list(session.execute(
        sa.select(Flight).join(Passenger, Passenger.flight_id == Flight.id)
        .where(among(Passenger.case_id, sorted(reach)), Passenger.approval.in_(ACTIVE_APPROVALS),
               Flight.state.in_(NOT_YET_FLOWN_STATES)).distinct().order_by(Flight.id)).scalars())
    taken: list[str] = []
    for flight in flights:
        aboard = [case for _, case in active_passengers(session, flight)]
        split = _split_from(session, flight, aboard)
        for case in sorted((c for c in aboard if c.id in reach and c.id in split), key=lambda c: c.reference):
            if case.reference not in taken:
                taken += take_off_manifests(session, by, case, kind=FAMILY_LINK, back_to="ready", reason=_FAMILY_WHY)
    return taken


def _split_from(session: Session, flight: Flight, aboard: list[Case]) -> set[int]:
    """Those of `aboard` (the flight's active passengers) whom family unity finds flying their household split: named
    by the rule (a passenger standing for another agency's household), or in a household (as the rule reads them,
    `households_read`) of a member it names."""
    facts = manifest_facts(session, flight, aboard, passengers_per_escort=1)  # family unity reads no escort ratio
    found = safeguards.family_unity(flight.reference, facts.household_members, facts.split_households,
                                    facts.flight.children_day or facts.flight.departure)
    named = {v.case_reference for v in found if v.rule == safeguards.FAMILY_UNITY}
    if not named:
        return set()
    households_of = households_read(session, aboard)
    theirs = set(session.execute(sa.select(Case.household_id).where(
        among(Case.reference, sorted(named)), Case.household_id.is_not(None))).scalars())
    return {c.id for c in aboard if c.reference in named or households_of[c.id] & theirs}


_FAMILY_WHY = ("a record of the same person is in a household whose members are not on this flight (family unity): "
               "the household goes on the flight with the person, or a supervisor of its agency records a reason to "
               "split it")


def _journeys_made(session: Session, by: User | None, seats: list[tuple[Passenger, Flight]]) -> list[str]:
    """Take off its manifest every record of `seats` on a flight not yet flown whose person another record of theirs
    brought to the destination, received there after this record was registered (`cases.facts.other_records`,
    `returned`): the journey this record was made for is made, and the one-seat rule refuses it every flight
    (`safeguards.one_seat`). A link recorded later to a person received was refused by the commit-time guard instead;
    it is kept. Back to 'ready', as any one-seat take-off; the references taken off."""
    grounded = [p.case_id for p, f in seats if f.state in NOT_YET_FLOWN_STATES and p.approval in ACTIVE_APPROVALS]
    if not grounded:
        return []
    records = list(session.execute(sa.select(Case).where(Case.id.in_(sorted(set(grounded))))).scalars())
    found = other_records(session, records)
    taken: list[str] = []
    for record_ in records:
        if record_.reference in taken or not any(o.returned for o in found.get(record_.id, ())):
            continue
        taken += take_off_manifests(session, by, record_, kind=ONE_SEAT, back_to="ready",
                                    reason="another record of the same person was received at its destination after "
                                           "this record was registered: the person has made this record's journey")
    return taken


def _seats_with_family(session: Session, seats: list[tuple[Passenger, Flight]], person: frozenset[int]) -> set[int]:
    """Those of a person's `seats` (passenger ids) on a flight that carries their household (another passenger in a
    household of theirs, as family unity reads it: `flights.service.households_read`): the seat a link keeps, so that
    the person goes with their family (red team round 28c, N1: the lone record's earlier flight was kept, the
    household's record taken off with the family, and family unity then refused the link, a registration or a
    verification, as splitting the household)."""
    found: set[int] = set()
    for passenger, flight in seats:
        aboard = [case for _, case in active_passengers(session, flight)]
        households = households_read(session, aboard)
        theirs = households.get(passenger.case_id, set())
        if theirs and any(households[case.id] & theirs for case in aboard if case.id not in person):
            found.add(passenger.id)
    return found


def keep_one_seat_of_passengers(session: Session, by: User | None) -> list[str]:
    """`keep_one_seat` for every active passenger of a flight not yet flown: after an import's new rows, any of which
    may link two of them through its cédula or declared document (the passengers are few; the rows may be many)."""
    seated = session.execute(
        sa.select(Passenger.case_id).join(Flight, Flight.id == Passenger.flight_id)
        .where(Passenger.approval.in_(ACTIVE_APPROVALS), Flight.state.in_(NOT_YET_FLOWN_STATES))).scalars().all()
    return keep_one_seat(session, by, seated)


def _why(case: Case, keeper: Case, flight: Flight, kept_flight: Flight) -> str:
    """Why `case` left `flight`, naming the record kept and its flight as the one-seat refusal does
    (`safeguards.one_seat`): only when one agency holds both records, or the other is on the very manifest; another
    agency's record is named to nobody."""
    if case.agency_id == keeper.agency_id or flight.id == kept_flight.id:
        return (f"another record of the same person ({keeper.reference}) holds a seat on flight "
                f"{kept_flight.reference}")
    return "another record of the same person holds a seat on a manifest another agency holds"


def kept_one_seat(session: Session, by: User | None, case: Case) -> None:
    """A link made to `case` (a verification, a document, a supervisor's decision: `cases.service.advance`). The last
    of `cases.service.LINKED_RECORD_REACTIONS` (`travel.service` registers it): a record the link brings a concern
    to leaves for protection first, back to 'documented', not to 'ready'."""
    keep_one_seat(session, by, [case.id])
