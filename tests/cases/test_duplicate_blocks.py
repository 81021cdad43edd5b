"""The blocking keys of duplicate detection, made as numbers in bulk, are the keys as defined one person at a time,
and Jaro-Winkler found with str.find is the textbook loop's."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from retorno.cases.duplicates import HeldCase, _blocks, _Columns, _fold_people, _phonetic_words, jaro_winkler
from retorno.names import glued_key, phonetic_key


def _blocks_one_by_one(people: _Columns, glued: _Columns, particled: list[int]) -> list[list[int]]:
    """The keys of `_blocks`' docstring as text, one person at a time: the groups of two people or more that share
    one."""
    members: dict[str, set[int]] = {}

    def word_keys(index: int, words: list[str]) -> None:
        for word in words:
            members.setdefault(f"bs|{people.births[index]}|{word}", set()).add(index)
        if words:
            members.setdefault("nb|" + " ".join(sorted(set(words))), set()).add(index)

    for index in range(len(people.births)):
        born = people.births[index]
        if people.ids[index]:
            members.setdefault("id|" + people.ids[index], set()).add(index)
        day, month = sorted((born.day, born.month))
        members.setdefault(f"dm|{people.first[index]}|{born.year}|{day}|{month}", set()).add(index)
        word_keys(index, f"{people.given[index]} {people.first[index]} {people.second[index]}".split())
    for index in particled:
        word_keys(index, [word for name in (glued.given[index], glued.first[index], glued.second[index])
                          for word in _phonetic_words(name)])
    return sorted(sorted(group) for group in members.values() if len(group) > 1)


people = st.builds(
    HeldCase,
    case_reference=st.just(""),
    given_names=st.sampled_from(["Ana", "Ana María", "María Ana", "José", "Jose", "Luis", "Rojas"]),
    first_surname=st.sampled_from(["Pérez", "Perez", "Rojas", "De la Rosa", "Delarosa", "Quintero", "Kintero"]),
    second_surname=st.sampled_from([None, "", "Rojas", "Pérez", "Del Valle", "Ana"]),
    birth_date=st.sampled_from([date(1990, 4, 12), date(1990, 12, 4), date(1991, 4, 12), date(2000, 1, 1)]),
    national_id=st.sampled_from([None, "", "V1", "E1", "12.345", "x-9"]),
)


@settings(max_examples=300)
@given(st.lists(people, max_size=30))
def test_the_blocks_are_those_of_the_keys_one_person_at_a_time(persons: list[HeldCase]) -> None:
    folded = _fold_people([persons], phonetic_key)
    glued = _fold_people([persons], glued_key, folded)
    particled = [index for index in range(len(persons))
                 if (glued.given[index], glued.first[index], glued.second[index])
                 != (folded.given[index], folded.first[index], folded.second[index])]
    found = sorted(_blocks(folded, glued, particled))
    assert found == _blocks_one_by_one(folded, glued, particled)
    assert all(group == sorted(set(group)) and len(group) > 1 for group in found)


def _jaro_winkler_loop(a: str, b: str) -> float:
    """Jaro-Winkler as the textbook writes it, each window searched by a loop."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    matched_b = [False] * len(b)
    matches_a = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not matched_b[j] and b[j] == ch:
                matched_b[j] = True
                matches_a.append(ch)
                break
    matches = len(matches_a)
    if not matches:
        return 0.0
    matches_b = [character for character, matched in zip(b, matched_b, strict=True) if matched]
    half_transposed = sum(x != y for x, y in zip(matches_a, matches_b, strict=True))
    jaro = (matches / len(a) + matches / len(b) + (matches - half_transposed / 2) / matches) / 3
    prefix = next((k for k in range(min(4, len(a), len(b))) if a[k] != b[k]), min(4, len(a), len(b)))
    return jaro + prefix * 0.1 * (1 - jaro)


@settings(max_examples=500)
@given(st.text(alphabet="ABCDEAB", max_size=12), st.text(alphabet="ABCDEAB", max_size=12))
def test_jaro_winkler_is_the_textbook_loops(a: str, b: str) -> None:
    assert jaro_winkler(a, b) == _jaro_winkler_loop(a, b)
