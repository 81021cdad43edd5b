"""The safeguards module on its own: each rule against an independent statement of it (hypothesis)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from retorno import safeguards
from retorno.errors import Message
from retorno.safeguards import FlightFacts, HouseholdMember, ManifestFacts, TravellerFacts

FLIGHT_DAY = date(2026, 12, 10)


@st.composite
def travellers(draw: st.DrawFn) -> TravellerFacts:
    n = draw(st.integers(0, 10_000))
    age_days = draw(st.integers(0, 80 * 365))
    return TravellerFacts(
        reference=f"MX-2026-{n:06d}", household=draw(st.sampled_from([None, "A/H1", "A/H2", "A/H3"])),
        birth_date=FLIGHT_DAY - timedelta(days=age_days),
        open_concerns=tuple(draw(st.lists(st.sampled_from(["pending asylum claim", "pregnancy"]), max_size=2))),
        screened=draw(st.booleans()), nationality_verified=draw(st.booleans()),
        document_expiry=draw(st.none() | st.dates(date(2026, 1, 1), date(2030, 1, 1))),
        document_valid=draw(st.booleans()), unaccompanied_cleared=draw(st.booleans()),
        medical_escorts=draw(st.integers(0, 2)), verified_by_state=draw(st.sampled_from(["VEN", "VEN", "COL"])))


@given(st.lists(travellers(), max_size=12), st.integers(1, 20), st.integers(0, 4), st.integers(0, 3),
       st.integers(1, 10))
def test_capacity_rule(passengers: list[TravellerFacts], seats: int, escorts: int, medical: int, ratio: int) -> None:
    flight = FlightFacts("RF-1", seats, escorts, medical, FLIGHT_DAY, ratio, "VEN")
    found = safeguards.capacity(flight, passengers)
    over_seats = len(passengers) + escorts + medical > seats
    too_few_escorts = escorts < math.ceil(len(passengers) / ratio)
    too_few_medics = sum(p.medical_escorts for p in passengers) > medical
    assert bool(found) == (over_seats or too_few_escorts or too_few_medics)
    assert all(v.rule in ("capacity", "medical_escort") for v in found)


@given(st.lists(travellers(), max_size=12))
def test_children_rule(passengers: list[TravellerFacts]) -> None:
    flagged = {v.case_reference for v in safeguards.children(passengers, FLIGHT_DAY)}
    for p in passengers:
        minor = (FLIGHT_DAY - p.birth_date).days < 18 * 365.25 - 1 and p.is_minor(FLIGHT_DAY)
        accompanied = p.household is not None and any(
            q.household == p.household and not q.is_minor(FLIGHT_DAY) for q in passengers)
        if p.is_minor(FLIGHT_DAY) and not accompanied and not p.unaccompanied_cleared:
            assert p.reference in flagged
        elif not any(q.reference == p.reference and q.is_minor(FLIGHT_DAY) and not q.unaccompanied_cleared
                     and not (q.household and any(r.household == q.household and not r.is_minor(FLIGHT_DAY)
                                                  for r in passengers)) for q in passengers):
            assert p.reference not in flagged
        del minor


@given(st.lists(travellers(), max_size=8))
def test_non_refoulement_and_approval(passengers: list[TravellerFacts]) -> None:
    for p in passengers:
        blocked = not p.screened or bool(p.open_concerns)
        # Returned to Venezuela: verified by another state's authority is no verification for this flight.
        elsewhere = p.nationality_verified and p.verified_by_state != "VEN"
        assert bool(safeguards.protection(p)) == blocked
        assert bool(safeguards.may_board(p, "VEN")) == (blocked or elsewhere)
        document_ok = p.document_valid and (p.document_expiry is None or p.document_expiry >= FLIGHT_DAY)
        assert bool(safeguards.may_be_approved(p, FLIGHT_DAY, "VEN")) == (blocked or not p.nationality_verified
                                                                           or not document_ok or elsewhere)
        for v in safeguards.may_board(p, "VEN"):
            assert v.rule in ("non_refoulement", "verified_nationality") and p.reference in str(v)
        assert bool(safeguards.may_board(p, p.verified_by_state or "VEN")) == (
            blocked or (p.nationality_verified and p.verified_by_state is None))


@given(travellers(), st.booleans())
def test_another_agencys_concern_is_told_only_to_a_case_ready_by_its_own_record(person: TravellerFacts,
                                                                                 changed: bool) -> None:
    """Red team: a concern another agency holds for the same person was told to a case nothing had confirmed to
    be that person. It stops the case at every door; it is told only once the case's own record is ready
    (screening cleared, identity verified by the state returned to, a document on file); until then the refusal
    names the case's own missing steps, as it would without that concern."""
    person = replace(person, identity_changed_since_verification=changed and person.nationality_verified)
    held = replace(person, open_concerns=(*person.open_concerns, Message(safeguards.HELD_ELSEWHERE)))
    ready = (person.screened and not person.open_concerns and person.nationality_verified and not changed
             and person.verified_by_state == "VEN" and person.document_valid)
    assert (not safeguards.own_steps(person, "VEN")) == ready
    flight = FlightFacts("RF-1", 10, 1, 9, FLIGHT_DAY, 1, "VEN")

    def told(p: TravellerFacts) -> tuple[list[str], list[str], list[str]]:
        return ([str(v) for v in safeguards.may_be_approved(p, FLIGHT_DAY, "VEN")],
                [str(v) for v in safeguards.manifest(ManifestFacts(flight, [p]))],
                [str(v) for v in safeguards.may_board(p, "VEN")])

    approving, manifesting, boarding = told(held)
    # Refused at every door, whatever is told.
    assert safeguards.protection(held, "VEN") and approving and manifesting and boarding
    linked = f"case {person.reference}: protection concern not resolved: one another agency holds open for the same " \
             "person"
    if ready:
        assert linked in approving and linked in manifesting and boarding == [linked]
    else:
        assert (approving, manifesting) == told(person)[:2]
        own = {str(v) for v in safeguards.own_steps(person, "VEN") + safeguards.may_board(person, "VEN")}
        assert set(boarding) <= own and all("another agency" not in s for s in boarding)
    for sentences in (approving, manifesting, boarding):
        assert len(sentences) == len(set(sentences))


@given(st.lists(st.tuples(st.sampled_from(["A/H1", "A/H2"]), st.sampled_from([None, "RF-1", "RF-2"])),
                max_size=8), st.frozensets(st.sampled_from(["A/H1", "A/H2"])))
def test_family_unity_rule(members: list[tuple[str, str | None]], splits: frozenset[str]) -> None:
    facts = [HouseholdMember(f"C{i}", household, flight, date(1990, 1, 1))
             for i, (household, flight) in enumerate(members)]
    flagged = {v.case_reference for v in safeguards.family_unity("RF-1", facts, splits)}
    expected = {m.reference for m in facts if m.flight != "RF-1" and m.household not in splits}
    assert flagged == expected


def test_a_member_left_off_is_told_which_flight_the_household_is_on() -> None:
    """Red team round 72, F4: in a plan over two flights, "this member is not on this flight" named the one member the
    plan put on the other flight and not the flight where the rest of the household was."""
    facts = [HouseholdMember("C1", "A/H1", "RF-1", date(1990, 1, 1)), HouseholdMember("C2", "A/H1", None,
                                                                                      date(1990, 1, 1))]
    (violation,) = safeguards.family_unity("RF-1", facts, frozenset())
    assert violation.case_reference == "C2" and "is not on flight RF-1, where the household's" in str(violation)


def test_refusal_names_rule_and_case_never_the_concern() -> None:
    """Which concern is open is the screening's to tell, an audited read; the refusal says one is (red team round 35,
    F2: an officer adding a person to a manifest was told 'disability' and no record was written)."""
    person = TravellerFacts("MX-2023-000123", None, date(1990, 1, 1), ("pending asylum claim",), True, True, None,
                            True, verified_by_state="VEN")
    (violation,) = safeguards.manifest(ManifestFacts(FlightFacts("RF-1", 10, 1, 0, FLIGHT_DAY, 10, "VEN"), [person]))
    assert str(violation) == ("case MX-2023-000123: a protection concern is not resolved (the case's screening says "
                              "which)")
    assert "asylum" not in str(violation)


def test_a_person_is_returned_only_to_the_state_that_verified_them() -> None:
    """Red team F-U: verified by Venezuela's SAIME, put on a flight to Colombia's receiving authority."""
    person = TravellerFacts("US-2026-000296", None, date(1990, 1, 1), (), True, True, None, True,
                            verified_by_state="VEN")
    colombia = FlightFacts("RF-2026-0016", 10, 1, 0, FLIGHT_DAY, 10, "COL")
    (violation,) = safeguards.manifest(ManifestFacts(colombia, [person]))
    assert violation.rule == "verified_nationality"
    assert str(violation) == ("case US-2026-000296: nationality was verified by the receiving authority of VEN, not "
                              "by that of COL, the state this flight returns the person to")
    assert safeguards.may_be_approved(person, FLIGHT_DAY, "COL") == [violation]
    assert safeguards.may_board(person, "COL") == [violation]
    assert not safeguards.manifest(ManifestFacts(FlightFacts("RF-1", 10, 1, 0, FLIGHT_DAY, 10, "VEN"), [person]))


@given(st.lists(travellers(), max_size=12, unique_by=lambda p: p.reference), st.lists(st.integers(0, 3), max_size=12))
def test_a_need_above_the_one_counted_is_a_violation(passengers: list[TravellerFacts], counts: list[int]) -> None:
    """A passenger needing more medical escorts than their manifest counted breaks safeguard 5 (red team round 5,
    C-F4); one needing as many or fewer, or not counted (not on this manifest), does not."""
    counted = {p.reference: n for p, n in zip(passengers, counts, strict=False)}
    found = safeguards.needs_counted(passengers, counted)
    assert {v.case_reference for v in found} == {
        p.reference for p in passengers if p.reference in counted and p.medical_escorts > counted[p.reference]}
    assert all(v.rule == safeguards.MEDICAL_ESCORT for v in found)


@given(st.lists(st.tuples(st.sampled_from([None, "RF-1", "RF-2"]), st.booleans(), st.booleans()), max_size=4),
       st.booleans())
def test_one_seat_rule(others: list[tuple[str | None, bool, bool]], both_listed: bool) -> None:
    """Red team round 13, F5: another record of the person (linked, or an undecided possible duplicate) holding a
    seat on a flight not yet flown, or listed on the same manifest, stops the passenger; one holding none does not.
    Another agency's record is never named."""
    records = tuple(safeguards.OtherRecord(f"MX-2026-{i:06d}", flight, same, undecided)
                    for i, (flight, same, undecided) in enumerate(others))
    person = TravellerFacts("MX-2026-999999", None, date(1990, 1, 1), (), True, True, None, True,
                            verified_by_state="VEN", other_records=records)
    aboard = [person.reference] + ([records[0].reference] if both_listed and records else [])
    found = safeguards.one_seat(person, "RF-1", aboard)
    expected = [r for r in records if r.flight is not None or r.reference in aboard]
    assert bool(found) == bool(expected) and all(v.rule == "one_seat" for v in found)
    said = " ".join(str(v) for v in found)
    for record_ in expected:
        # Named where the reader reads it (this manifest, or the agency's own record); another agency's, never.
        here = record_.reference in aboard or record_.flight == "RF-1"
        assert (record_.reference in said) == (here or record_.same_agency), said
    told = " ".join(str(safeguards.as_told(v, reads_protection=False)) for v in found)
    assert not any(r.reference in told for r in records) and "RF-" not in told
    assert bool(safeguards.may_be_approved(person, FLIGHT_DAY, "VEN", flight="RF-1")) == any(
        r.flight is not None for r in records)


def test_a_minor_staying_behind_splits_the_household() -> None:
    """Red team round 13, F7: a minor of the household who stays behind (not a national, withdrawn...) is a split a
    supervisor decides; an adult staying behind is not (SPEC.md 4.3: one leaving the process lets the others go)."""
    child = HouseholdMember("C1", "A/H1", None, date(FLIGHT_DAY.year - 7, 1, 1), "not_national")
    adult = HouseholdMember("C2", "A/H1", None, date(1980, 1, 1), "withdrawn")
    (violation,) = safeguards.family_unity("RF-1", [child, adult], frozenset(), FLIGHT_DAY)
    assert (violation.rule, violation.case_reference) == ("family_unity", "C1")
    assert "stays behind" in str(violation)
    assert safeguards.family_unity("RF-1", [child, adult], frozenset({"A/H1"}), FLIGHT_DAY) == []
