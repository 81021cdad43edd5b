"""Possible duplicates among imported cases: the same person twice, spelled differently.

Lists are re-typed by hand, so the same person arrives with accents lost, surnames
swapped, the second surname missing, a typo, or day and month of birth swapped. We only
*flag* such pairs for a person to decide; merging two people by mistake would put the
wrong person on a flight, so nothing here ever merges.

Candidate pairs come from cheap blocking keys (national ID; birth date with one surname
or the first given name; first surname with year and the unordered day/month pair), so
100,000 rows cost a few dictionary look-ups each, and only pairs that share a block are
scored with Jaro-Winkler similarity.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Protocol

from retorno.names import key

# A pair is flagged when its score (names score x date factor, 0..1) reaches THRESHOLD
# and the given names and the surnames each reach their own floor: a one-letter typo or a
# missing second surname is flagged, while twins (same surnames and birth date, other
# given names) and namesakes from other families are not.
THRESHOLD = 0.9
_GIVEN_FLOOR = 0.85
_SURNAME_FLOOR = 0.88
_SHORTENED_GIVEN_NAMES = 0.92
# Weights of the given names and the surnames in the names score; surnames carry more
# because two surnames identify a family better than a given name identifies a person.
_GIVEN_WEIGHT = 0.4
_SURNAME_WEIGHT = 0.6
# Lists drop the second surname often; a comparison that rests on one surname only is
# slightly less certain.
_ONE_SURNAME_FACTOR = 0.97
_DAY_MONTH_SWAP_FACTOR = 0.95
# A key shared by more rows than this (01/01 birth dates typed when the date is unknown,
# for instance) cannot tell people apart; other keys still find the real duplicates.
_MAX_BLOCK = 500

_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Z]+")

# Reason codes joined with "; " in PossibleDuplicate.reason, and how each reads.
REASONS: dict[str, tuple[str, str]] = {
    "same_national_id": ("misma cédula o documento de identidad", "same national ID"),
    "same_name_and_birth_date": ("mismo nombre y fecha de nacimiento", "same name and birth date"),
    "spelling_differs": ("nombre escrito de otra forma", "name spelled differently"),
    "surnames_swapped": ("apellidos invertidos", "surnames swapped"),
    "second_surname_missing": ("falta el segundo apellido", "second surname missing"),
    "day_month_swapped": ("día y mes de nacimiento invertidos", "day and month of birth swapped"),
    "birth_date_differs": ("fecha de nacimiento distinta", "different birth date"),
}


class Person(Protocol):
    """What duplicate detection reads of a case, whether from the file or already held."""

    @property
    def case_reference(self) -> str: ...
    @property
    def given_names(self) -> str: ...
    @property
    def first_surname(self) -> str: ...
    @property
    def second_surname(self) -> str | None: ...
    @property
    def birth_date(self) -> date: ...
    @property
    def national_id(self) -> str | None: ...


class FileRow(Person, Protocol):
    """A case read from the file being imported: a person with its spreadsheet row number."""

    @property
    def row_number(self) -> int: ...


@dataclass(frozen=True, slots=True)
class HeldCase:
    """A case already in the system, as duplicate detection needs it."""

    case_reference: str
    given_names: str
    first_surname: str
    second_surname: str | None
    birth_date: date
    national_id: str | None


@dataclass(frozen=True, slots=True)
class PossibleDuplicate:
    """A row that may be the same person as an earlier row or a held case; a person decides."""

    row_number: int
    other_row_number: int | None
    other_case_reference: str | None
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class _Folded:
    given: str
    first: str
    second: str
    birth_date: date
    national_id: str


def describe_reason(reason: str, locale: str = "es") -> str:
    """Turn a PossibleDuplicate.reason (codes) into words for the official, Spanish or English."""
    column = 1 if locale == "en" else 0
    return "; ".join(REASONS[code][column] if code in REASONS else code for code in reason.split("; "))


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity of two strings, 1.0 when equal, 0.0 when nothing matches."""
    if a == b:
        return 1.0
    len_a, len_b = len(a), len(b)
    if not len_a or not len_b:
        return 0.0
    window = max(max(len_a, len_b) // 2 - 1, 0)
    matched_b = [False] * len_b
    matches_a: list[str] = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len_b, i + window + 1)):
            if not matched_b[j] and b[j] == ch:
                matched_b[j] = True
                matches_a.append(ch)
                break
    matches = len(matches_a)
    if not matches:
        return 0.0
    matches_b = [b[j] for j in range(len_b) if matched_b[j]]
    transpositions = sum(x != y for x, y in zip(matches_a, matches_b, strict=True)) / 2
    jaro = (matches / len_a + matches / len_b + (matches - transpositions) / matches) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def _folder() -> Callable[[Person], _Folded]:
    """A function folding people for comparison; names repeat a lot, so each is folded once per call."""
    name_key = cache(key)

    def fold_person(person: Person) -> _Folded:
        national_id = _NOT_ALPHANUMERIC.sub("", person.national_id.upper()) if person.national_id else ""
        return _Folded(
            name_key(person.given_names), name_key(person.first_surname), name_key(person.second_surname),
            person.birth_date, national_id,
        )

    return fold_person


def _blocking_keys(person: _Folded) -> list[Hashable]:
    born = person.birth_date
    keys: list[Hashable] = []
    if person.national_id:
        keys.append(("id", person.national_id))
    # Any surname word with the birth date: catches swapped and missing surnames.
    keys.extend(("bs", born, word) for word in {*person.first.split(), *person.second.split()})
    # The first given name with the birth date: catches a typo in the surnames.
    if person.given:
        keys.append(("bg", born, person.given.split()[0]))
    # Day and month unordered: catches a swapped day and month when the surname agrees.
    keys.append(("dm", person.first, born.year, frozenset((born.day, born.month))))
    return keys


def _given_similarity(a: str, b: str) -> float:
    """Similarity of given names: word by word for compound names, and a compound name shortened
    to its first part counts as close (MARIA JOSE and MARIA, but not MARIA JOSE and MARIA LUISA)."""
    words_a, words_b = a.split(), b.split()
    if len(words_a) == len(words_b) > 1:
        return sum(map(jaro_winkler, words_a, words_b)) / len(words_a)
    similarity = jaro_winkler(a, b)
    shorter, longer = sorted((words_a, words_b), key=len)
    if shorter and longer[: len(shorter)] == shorter:
        similarity = max(similarity, _SHORTENED_GIVEN_NAMES)
    return similarity


def _surname_similarity(a: _Folded, b: _Folded) -> tuple[float, list[str]]:
    """Best similarity of the surnames taken straight, swapped, or with one second surname missing."""
    if a.second and b.second:
        straight = (jaro_winkler(a.first, b.first) + jaro_winkler(a.second, b.second)) / 2
        swapped = (jaro_winkler(a.first, b.second) + jaro_winkler(a.second, b.first)) / 2
        if swapped > straight:
            return swapped, ["surnames_swapped"]
        return straight, []
    if not a.second and not b.second:
        return jaro_winkler(a.first, b.first), []
    full, short = (a, b) if a.second else (b, a)
    straight = jaro_winkler(full.first, short.first) * _ONE_SURNAME_FACTOR
    swapped = jaro_winkler(full.second, short.first) * _ONE_SURNAME_FACTOR
    if swapped > straight:
        return swapped, ["second_surname_missing", "surnames_swapped"]
    return straight, ["second_surname_missing"]


def _date_factor(a: date, b: date) -> tuple[float, list[str]]:
    if a == b:
        return 1.0, []
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return _DAY_MONTH_SWAP_FACTOR, ["day_month_swapped"]
    return 0.0, ["birth_date_differs"]


def _score(a: _Folded, b: _Folded) -> tuple[float, str] | None:
    """Score a candidate pair; None when it is not worth flagging."""
    same_id = bool(a.national_id) and a.national_id == b.national_id
    dates, date_reasons = _date_factor(a.birth_date, b.birth_date)
    given = _given_similarity(a.given, b.given)
    # Most candidate pairs stop at the given names, before the surnames are compared.
    if not same_id and (not dates or given < _GIVEN_FLOOR):
        return None
    surnames, surname_reasons = _surname_similarity(a, b)
    score = (_GIVEN_WEIGHT * given + _SURNAME_WEIGHT * surnames) * dates
    if not same_id and (surnames < _SURNAME_FLOOR or score < THRESHOLD):
        return None
    reasons = ["same_national_id"] if same_id else []
    if (a.given, a.first, a.second, a.birth_date) == (b.given, b.first, b.second, b.birth_date):
        reasons.append("same_name_and_birth_date")
    else:
        if given < 1.0 or (surnames < 1.0 and not surname_reasons):
            reasons.append("spelling_differs")
        reasons.extend(surname_reasons + date_reasons)
    if same_id:
        # A shared ID counts as half the evidence; the names and dates give the rest.
        score = 0.5 + 0.5 * score
    return round(score, 3), "; ".join(reasons)


def held_cases_to_compare(rows: Sequence[Person]) -> tuple[set[date], set[str]]:
    """Birth dates and national IDs that a held case must have for find_duplicates to compare it.

    Every blocking key holds a birth date (or its day and month swapped) or a national ID, so
    the service layer need only load held cases with a birth date or an ID in these sets.
    """
    birth_dates: set[date] = set()
    national_ids: set[str] = set()
    for row in rows:
        born = row.birth_date
        birth_dates.add(born)
        if born.day <= 12:
            birth_dates.add(born.replace(month=born.day, day=born.month))
        if row.national_id:
            national_ids.add(row.national_id)
    return birth_dates, national_ids


def find_duplicates(rows: Sequence[FileRow], held: Sequence[Person] = ()) -> list[PossibleDuplicate]:
    """Flag rows that may be the same person as an earlier row of the file or a case already held.

    Each flagged pair appears once, on the later row of the file (or on the file row, for a
    held case). A held case with the same case reference as the row is that row's own earlier
    import, not a duplicate. Results come in row order, best match first.
    """
    fold_person = _folder()
    people = [fold_person(row) for row in rows] + [fold_person(case) for case in held]
    blocks: defaultdict[Hashable, list[int]] = defaultdict(list)
    for index, person in enumerate(people):
        for block_key in _blocking_keys(person):
            blocks[block_key].append(index)
    file_count = len(rows)
    candidates: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > _MAX_BLOCK or members[0] >= file_count:
            continue
        for position, first in enumerate(members):
            if first >= file_count:
                break
            candidates.update((first, second) for second in members[position + 1 :])
    found: list[PossibleDuplicate] = []
    for first, second in candidates:
        if second >= file_count and held[second - file_count].case_reference == rows[first].case_reference:
            continue
        scored = _score(people[first], people[second])
        if scored is None:
            continue
        score, reason = scored
        if second < file_count:
            found.append(PossibleDuplicate(
                rows[second].row_number, rows[first].row_number, rows[first].case_reference, score, reason,
            ))
        else:
            other = held[second - file_count]
            found.append(PossibleDuplicate(rows[first].row_number, None, other.case_reference, score, reason))
    found.sort(key=lambda dup: (dup.row_number, -dup.score, dup.other_row_number or 0,
                                dup.other_case_reference or ""))
    return found
