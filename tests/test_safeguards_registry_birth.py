"""A person is a minor for every children's rule when either birth date makes them one: the declared one or the
verified civil-registry record's (`safeguards.counts_as_minor`; red team round 13, left open)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from retorno import safeguards
from retorno.safeguards import HouseholdMember, TravellerFacts
from retorno.verification.anchors import registry_birth_date, youngest_birth
from retorno.verification.records import same_record

DEPARTURE = date(2026, 12, 12)
DECLARED = date(2008, 11, 2)  # 18 on the departure
REGISTRY = date(2009, 11, 2)  # a year one digit off: 17 on the departure


def _person(reference: str, household: str | None, born: date, registry: date | None) -> TravellerFacts:
    return TravellerFacts(reference, household, born, (), True, True, None, True, birth_date_elsewhere=registry)


def test_either_birth_date_makes_a_minor() -> None:
    assert safeguards.counts_as_minor(DECLARED, REGISTRY, DEPARTURE)
    assert safeguards.counts_as_minor(REGISTRY, DECLARED, DEPARTURE)
    assert not safeguards.counts_as_minor(DECLARED, None, DEPARTURE)
    assert not safeguards.counts_as_minor(DECLARED, date(2008, 2, 11), DEPARTURE)  # day and month swapped: 18 too


@given(st.dates(date(1990, 1, 1), date(2025, 1, 1)), st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2025, 1, 1))),
       st.dates(date(2020, 1, 1), date(2030, 1, 1)))
def test_a_minor_by_either_is_a_minor(declared: date, registry: date | None, on: date) -> None:
    expected = safeguards.is_minor(declared, on) or (registry is not None and safeguards.is_minor(registry, on))
    assert safeguards.counts_as_minor(declared, registry, on) == expected
    assert _person("A", None, declared, registry).is_minor(on) == expected


def test_a_minor_by_the_registry_travels_only_with_an_adult_of_the_household() -> None:
    alone = _person("VE-1", "INM/HH1", DECLARED, REGISTRY)
    assert [v.rule for v in safeguards.children([alone], DEPARTURE)] == [safeguards.CHILDREN]
    # Two of them do not accompany each other.
    sister = _person("VE-2", "INM/HH1", DECLARED, REGISTRY)
    assert len(safeguards.children([alone, sister], DEPARTURE)) == 2
    mother = _person("VE-3", "INM/HH1", date(1980, 1, 1), None)
    assert safeguards.children([alone, mother], DEPARTURE) == []


def test_a_minor_by_the_registry_staying_behind_splits_the_household() -> None:
    behind = HouseholdMember("VE-1", "INM/HH1", None, DECLARED, "not_national", REGISTRY)
    assert [v.rule for v in safeguards.family_unity("RF-1", [behind], frozenset(), DEPARTURE)] == \
        [safeguards.FAMILY_UNITY]
    adult = HouseholdMember("VE-1", "INM/HH1", None, DECLARED, "not_national", None)
    assert safeguards.family_unity("RF-1", [adult], frozenset(), DEPARTURE) == []


def test_the_registry_birth_date_as_the_candidates_show_it() -> None:
    candidates = [{"registry_record": "V-0123", "record": {"birth_date": "2001-02-03"}},
                  {"registry_record": "V30111222", "record": {"birth_date": "2009-11-02"}}]
    assert registry_birth_date(candidates, "30111222", same_record) == REGISTRY
    assert registry_birth_date(candidates, "V99", same_record) is None
    assert registry_birth_date(None, "V30111222", same_record) is None
    # A date known in part reads as the youngest the person may be.
    assert youngest_birth((2009, None, None)) == date(2009, 12, 31)
    assert youngest_birth((2008, 2, None)) == date(2008, 2, 29)
    assert youngest_birth(None) is None
