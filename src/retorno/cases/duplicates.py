"""Possible duplicates among imported cases: the same person twice, spelled differently.

Lists are re-typed by hand, so the same person arrives with accents lost, surnames
swapped, the second surname missing, a typo, or day and month of birth swapped. We only
*flag* such pairs for a person to decide; merging two people by mistake would put the
wrong person on a flight, so nothing here ever merges.

Candidate pairs come from cheap blocking keys (national ID; birth date with one surname
or the first given name; first surname with year and the unordered day/month pair), so
100,000 rows cost a few dictionary look-ups each, and only pairs that share a block are
scored with Jaro-Winkler similarity. The names of the keys are words as Spanish says them
(`names.phonetic_word`: QUINTERO and KINTERO share one), and a pair the names as written do
not flag is scored again on those forms (ANTHONY QUINTERO VILLEGAS, ANTONI KINTERO BIYEGAS).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import chain, compress, count, repeat
from operator import add, attrgetter
from typing import Any, NamedTuple, Protocol

import numpy as np

from retorno.names import glued_key, key, phonetic_key, phonetic_word

# A pair is flagged when its score (names score x date factor, 0..1) reaches THRESHOLD
# and the given names and the surnames each reach their own floor: a one-letter typo or a
# missing second surname is flagged, while twins (same surnames and birth date, other
# given names) and namesakes from other families are not.
THRESHOLD = 0.9
_GIVEN_FLOOR = 0.85
# The given names' floor when everything else is the same: both surnames (as written or as said), the birth date
# exactly and the sex (MAIKEL and MICHAEL, DEIVIS and DAVIS: Jaro-Winkler 0.77). Each word of the given names
# reaches it (JOSE GREGORIO and JOSE ANGEL, whose first words alone are alike, do not). Twins of the same sex with
# names this close are flagged too, and a supervisor decides they are two people: a flag holds a person back only
# while a protection concern is open on the other record.
_SAME_FAMILY_GIVEN_FLOOR = 0.75
# The floor of each word of those given names as said, higher: said so, JHON and JUAN (YON, YUAN) or JHONNY and YOHAN
# (YONI, YOAN) are as close as MAIKEL and MICHAEL, twins' names with the same consonants.
_SAID_GIVEN_FLOOR = 0.9
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
# The same words of name in other fields or another order (both surnames in one field, as many systems keep a
# Hispanic surname; the given names the other way round; given names and surnames exchanged): as good as the same
# name. One person's words all among the other's (a given name left out) is close, not the same.
_SAME_WORDS = 1.0
_WORDS_AMONG = 0.95
# A birth date one digit off (a key slipped), the year next to it (1999 for 2000: several digits, one slip of the
# year), or the 1st of January of the same year (typed when the day is not known): flagged only with the same name
# (at most its words in other fields), since the date then tells little.
_DATE_NEAR_FACTOR = 0.92
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
    "second_surname_differs": ("otro segundo apellido", "another second surname"),
    "day_month_swapped": ("día y mes de nacimiento invertidos", "day and month of birth swapped"),
    "birth_date_differs": ("fecha de nacimiento distinta", "different birth date"),
    "names_in_other_fields": ("los mismos nombres en otros campos u otro orden",
                              "the same names in other fields or another order"),
    "names_left_out": ("un nombre omitido", "a name left out"),
    "name_unknown": ("un nombre registrado como desconocido (FNU, LNU, NN...)",
                     "a name recorded as unknown (FNU, LNU, NN...)"),
    "birth_date_one_digit": ("fecha de nacimiento con un dígito distinto", "birth date one digit apart"),
    "birth_date_digits_swapped": ("dos dígitos vecinos de la fecha de nacimiento invertidos",
                                  "two neighbouring digits of the birth date swapped"),
    "birth_date_adjacent_year": ("fecha de nacimiento en el año contiguo", "birth date in the adjacent year"),
    "birth_date_placeholder": ("fecha de nacimiento desconocida (1 de enero) del mismo año",
                               "birth date unknown (1 January) in the same year"),
    "birth_date_adjacent_day": ("fecha de nacimiento un día antes o después", "birth date a day before or after"),
    "birth_date_adjacent_month": ("fecha de nacimiento en el mes contiguo", "birth date in the adjacent month"),
    "birth_date_first_of_month": ("día de nacimiento desconocido (día 1) del mismo mes",
                                  "day of birth unknown (the 1st) in the same month"),
    "sounds_alike": ("nombre que se pronuncia igual, escrito de otra forma", "name that sounds the same, spelled "
                     "differently"),
    # A pair decided two people, flagged again since a correction made them more alike (`travel.duplicates.
    # _alike_again`), and the fields they now say the same thing in that they did not (`fields_agreeing`).
    "flagged_again": ("marcados de nuevo: una corrección los hizo más parecidos después de decidirse que son dos "
                      "personas", "flagged again: a correction made them more alike after they were decided two "
                      "people"),
    "now_same_given_names": ("ahora con los mismos nombres", "now the same given names"),
    "now_same_first_surname": ("ahora con el mismo primer apellido", "now the same first surname"),
    "now_same_second_surname": ("ahora con el mismo segundo apellido", "now the same second surname"),
    "now_same_birth_date": ("ahora con la misma fecha de nacimiento", "now the same birth date"),
    "now_same_national_id": ("ahora con la misma cédula", "now the same national ID"),
    "now_same_sex": ("ahora con el mismo sexo", "now the same sex"),
    # Not a likeness: two records a travel document linked as one person until it was withdrawn as filed in error
    # (`travel.duplicates.flag_unlinked`).
    "linked_by_withdrawn_document": ("unidos por un documento de viaje retirado como archivado por error",
                                     "linked by a travel document withdrawn as filed in error"),
    # Nor these: two records counted as one person (one a possible duplicate of a record linked to the other) until a
    # document was withdrawn, or linked, or so counted, until a cédula or declared document number was corrected
    # (`travel.duplicates.keep_counted`; red team round 16, F3).
    "counted_through_withdrawn_document": (
        "contados como una persona, con un posible duplicado, por un documento de viaje retirado como archivado por "
        "error", "counted as one person, through a possible duplicate, by a travel document withdrawn as filed in "
        "error"),
    # Nor this: a travel document filed on one record with the number another person's record holds
    # (`travel.duplicates.flag_held_document`; red team round 19, T-F1).
    "document_held_by_another": ("un documento de viaje archivado con el número que tiene el registro de otra persona",
                                 "a travel document filed with the number another person's record holds"),
    # Nor this: one number held under two kinds of document, a passport's on one record and an identity card's on the
    # other (`travel.duplicates.flag_other_kind_number`; red team round 63, F1).
    "same_number_other_document": ("el mismo número de documento, como pasaporte en un registro y como documento de "
                                   "identidad en el otro",
                                   "the same document number, as a passport on one record and as an identity "
                                   "document on the other"),
    "linked_by_corrected_identifier": ("unidos por una cédula o un número de documento corregido después",
                                       "linked by a cédula or document number corrected since"),
    "counted_through_corrected_identifier": (
        "contados como una persona, con un posible duplicado, por una cédula o un número de documento corregido "
        "después", "counted as one person, through a possible duplicate, by a cédula or document number corrected "
        "since"),
    # Nor these: linked, or counted together, by a registry record one of them was verified against until that
    # verification was revoked (`travel.service.revoke_verification`; red team round 46b, F1).
    "linked_by_revoked_verification": ("unidos por un registro civil contra el que se revocó una verificación después",
                                       "linked by a registry record a verification was revoked against since"),
    "counted_through_revoked_verification": (
        "contados como una persona, con un posible duplicado, por una verificación revocada después",
        "counted as one person, through a possible duplicate, by a verification revoked since"),
    # Nor this: counted as one person through a record of another country's person, of which one agency decided its
    # own record and a record of its country different people (`travel.duplicates.decide_duplicate`; red team round
    # 52, F1).
    "counted_through_decided_record": (
        "contados como una persona por medio de un registro que una agencia de otro país decidió después que es de "
        "otra persona", "counted as one person through a record that an agency of another country decided since is "
        "another person's"),
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
    # And its sex (M, F, X; None where not known), read when it has one (`_attribute`).


class FileRow(Person, Protocol):
    """A case read from the file being imported: a person with its spreadsheet row number."""

    @property
    def row_number(self) -> int: ...


# How duplicate detection names a held case another country's agency holds (`travel.load`): never by its reference,
# which is not the importing agency's to read (SPEC.md 4.6; README "Another agency's record is named to nobody"). The
# import's report says "a case another agency holds"; the flag is written by the case's id, which follows the mark.
ELSEWHERE = "\x00elsewhere:"


def held_elsewhere(case_id: int) -> str:
    """The name of a held case of another country's agency, for duplicate detection (`ELSEWHERE`)."""
    return f"{ELSEWHERE}{case_id}"


class HeldCase(NamedTuple):
    """A case already in the system, as duplicate detection needs it (a tuple: cheap by the 100,000).

    Compared as a row too (a `FileRow`: a case just registered or corrected, `travel.duplicates`), its `row_number`
    is its place among those compared so.
    """

    case_reference: str
    given_names: str
    first_surname: str
    second_surname: str | None
    birth_date: date
    national_id: str | None
    row_number: int = 0
    sex: str | None = None


@dataclass(frozen=True, slots=True)
class PossibleDuplicate:
    """A row that may be the same person as an earlier row or a held case; a person decides."""

    row_number: int
    other_row_number: int | None
    other_case_reference: str | None
    score: float
    reason: str


class _Folded(NamedTuple):
    """A person folded for comparison; a tuple of plain values, which the garbage collector stops tracking."""

    given: str
    first: str
    second: str
    birth_date: date
    national_id: str
    sex: str | None


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
        # The first unmatched `ch` of b within the window, found by str.find (in C) rather than a loop over it.
        end = i + window + 1
        j = b.find(ch, i - window if i > window else 0, end)
        while j >= 0 and matched_b[j]:
            j = b.find(ch, j + 1, end)
        if j >= 0:
            matched_b[j] = True
            matches_a.append(ch)
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


def national_id_key(value: str | None) -> str:
    """A national ID as compared: upper-case letters and digits only, without a cédula's letter (E or V, whatever
    it is: 'E20282780' is 'V20282780', as records are linked, `cases.models.cedula_digits`); '' for none."""
    if not value:
        return ""
    upper = value.upper()
    return (upper if upper.isascii() and upper.isalnum() else _NOT_ALPHANUMERIC.sub("", upper)).lstrip("VE")


def fields_agreeing(a: Person, b: Person) -> frozenset[str]:
    """The fields two people's records say the same thing in, as compared (names folded, national IDs by
    `national_id_key`, sex where both know it): what a correction may make them share that the score alone does not
    tell (the score reads no sex, and the surnames swapped score as the same surnames)."""
    same = {name for name in ("given_names", "first_surname", "second_surname")
            if key(getattr(a, name)) == key(getattr(b, name))}
    if a.birth_date == b.birth_date:
        same.add("birth_date")
    if (national_id := national_id_key(a.national_id)) and national_id == national_id_key(b.national_id):
        same.add("national_id")
    sex = getattr(a, "sex", None)
    if sex is not None and sex == getattr(b, "sex", None):
        same.add("sex")
    return frozenset(same)


def _national_id_keys(values: list[str | None]) -> list[str]:
    """`national_id_key` of every value: by `map` in C when every ID is already ASCII letters and digits alone
    (a file's cédulas, stored so), one call each otherwise."""
    upper = list(map(str.upper, [value or "" for value in values]))
    joined = "".join(upper)
    if joined.isascii() and (joined.isalnum() or not joined):
        return list(map(str.lstrip, upper, repeat("VE")))
    return list(map(national_id_key, values))


class _Columns(NamedTuple):
    """People folded for comparison, column by column (index i of each column is person i)."""

    given: list[str]
    first: list[str]
    second: list[str]
    births: list[date]
    ids: list[str]
    sexes: list[str | None]

    def person(self, index: int) -> _Folded:
        return _Folded(self.given[index], self.first[index], self.second[index], self.births[index], self.ids[index],
                       self.sexes[index])


def _attribute(groups: Sequence[Sequence[Person]], attribute: str) -> list[Any]:
    """One attribute of every person of `groups`, in order: straight from a group held as columns. The sex is None
    for a person that has none (`Person`)."""
    values: list[Any] = []
    for people in groups:
        column = getattr(people, "column", None)
        if column is not None:
            values.extend(column(attribute))
        elif attribute == "sex":
            values.extend(getattr(person, "sex", None) for person in people)
        else:
            values.extend(map(attrgetter(attribute), people))
    return values


def _fold_people(groups: Sequence[Sequence[Person]], name_key: Callable[[str], str] = key,
                 like: _Columns | None = None) -> _Columns:
    """Fold people for comparison; names repeat a lot, so each distinct name is folded once. The same people's
    birth dates, IDs and sexes are those of `like` when given (the names keyed otherwise)."""
    names = []
    for attribute in ("given_names", "first_surname", "second_surname"):
        column = _attribute(groups, attribute)
        folded = {name: name_key(name) for name in set(column)}
        names.append(list(map(folded.__getitem__, column)))
    given, first, second = names
    if like is not None:
        return _Columns(given, first, second, like.births, like.ids, like.sexes)
    return _Columns(given, first, second, _attribute(groups, "birth_date"),
                    _national_id_keys(_attribute(groups, "national_id")), _attribute(groups, "sex"))


def _phonetic_words(name: str) -> list[str]:
    return list(map(phonetic_word, name.split()))


def _blocks(people: _Columns, glued: _Columns | None = None, particled: Sequence[int] = ()) -> list[list[int]]:
    """The blocks of two or more people sharing a blocking key, each in the order of `people`.

    `people`'s names are as Spanish says them (`names.phonetic_key`): the same word as written is the same word as
    said, so a key of the names as written is one of these too, and the names written otherwise share them.

    The keys: the national ID; any word of the names with the birth date (catches swapped, missing and
    joined surnames, given names in another order or in the surnames' fields, and a typo in one of the
    names); all the words of the names together (catches a birth date one digit off, in the adjacent
    year or unknown); the first surname with the birth year and the day and month unordered (catches
    them swapped). The people
    `particled` (whose names hold particles) have the word keys of their names as `glued` writes them too
    (DE LA ROSA's DELAROSA, each word as said), in the same keys as everyone's own words.

    Each key is a number (its kind, and the numbers of its date, word, words or ID), made for everyone at once
    from the distinct names, dates and IDs, and the numbers are sorted by numpy: the people of 100,000 rows
    cost no Python operation each but a few made by `map` in C (a key of text each, counted in a dictionary,
    cost three quarters of a second of the import's processor time).
    """
    given, first, second, births, ids, _ = people
    size = len(births)
    numbers = count()
    # Every distinct word a number, each name the numbers of its words.
    vocabulary: dict[str, int] = {}
    words = {name: tuple(map(vocabulary.setdefault, name.split(), numbers)) for name in {*given, *first, *second}}
    # Each person's words, whatever their field (a word twice makes its key twice, counted once below).
    own = list(map(add, map(add, map(words.__getitem__, given), map(words.__getitem__, first)),
                   map(words.__getitem__, second)))
    ordinal = {born: born.toordinal() for born in set(births)}
    born = np.fromiter(map(ordinal.__getitem__, births), np.int64, size)
    everyone = np.arange(size, dtype=np.int64)
    # The kinds of key, in the top bits; a date's ordinal (< 2^22) above a number of words or of a name (< 2^24).
    id_key, day_key, word_key, all_words_key = (np.int64(kind << 56) for kind in range(1, 5))
    # The day and month unordered, with the year.
    unordered = {day: (day.year, min(day.day, day.month), max(day.day, day.month)) for day in ordinal}
    day_numbers: dict[tuple[int, int, int], int] = {}
    day_of = {day: day_numbers.setdefault(unordered[day], len(day_numbers)) for day in ordinal}
    surname_numbers = {name: number for number, name in enumerate(set(first))}
    owners = [everyone]
    keys = [day_key | (np.fromiter(map(surname_numbers.__getitem__, first), np.int64, size) << 24)
            | np.fromiter(map(day_of.__getitem__, births), np.int64, size)]
    id_numbers = {national_id: number for number, national_id in enumerate(set(ids) - {""})}
    if id_numbers:
        with_id = np.fromiter(map(bool, ids), np.bool_, size)
        owners.append(everyone[with_id])
        keys.append(id_key | np.fromiter(map(id_numbers.__getitem__, compress(ids, with_id)), np.int64,
                                         int(with_id.sum())))
    # The same words, in whatever fields and order, the same number.
    word_sets: dict[frozenset[int], int] = {}
    set_numbers = count()

    def word_keys(indexes: np.ndarray, persons: list[tuple[int, ...]]) -> None:
        lengths = np.fromiter(map(len, persons), np.int64, len(persons))
        owners.append(np.repeat(indexes, lengths))
        keys.append(word_key | (np.repeat(born[indexes], lengths) << 24)
                    | np.fromiter(chain.from_iterable(persons), np.int64, int(lengths.sum())))
        named = lengths > 0
        owners.append(indexes[named])
        keys.append(all_words_key | np.fromiter(map(word_sets.setdefault, map(frozenset, compress(persons, named)),
                                                    set_numbers), np.int64, int(named.sum())))

    word_keys(everyone, own)
    if glued is not None and particled:
        said_words: dict[str, tuple[int, ...]] = {}

        def said(name: str) -> tuple[int, ...]:
            found = said_words.get(name)
            if found is None:
                found = said_words[name] = tuple(map(vocabulary.setdefault, _phonetic_words(name), numbers))
            return found

        word_keys(np.array(particled, dtype=np.int64),
                  [said(glued.given[index]) + said(glued.first[index]) + said(glued.second[index])
                   for index in particled])
    all_keys, all_owners = np.concatenate(keys), np.concatenate(owners)
    # Only the keys two people share are sorted with their owners (a person may bring one key twice, from their
    # names as written and as glued: counted once).
    distinct, counts = np.unique(all_keys, return_counts=True)
    shared = np.isin(all_keys, distinct[counts > 1])
    all_keys, all_owners = all_keys[shared], all_owners[shared]
    order = np.lexsort((all_owners, all_keys))
    all_keys, all_owners = all_keys[order], all_owners[order]
    new = np.ones(len(all_keys), dtype=np.bool_)
    new[1:] = (all_keys[1:] != all_keys[:-1]) | (all_owners[1:] != all_owners[:-1])
    all_keys, all_owners = all_keys[new], all_owners[new]
    starts = np.flatnonzero(np.r_[True, all_keys[1:] != all_keys[:-1]])
    ends = np.r_[starts[1:], len(all_keys)]
    members = all_owners.tolist()
    return [members[start:end] for start, end in zip(starts.tolist(), ends.tolist(), strict=True) if end - start > 1]


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
    text_a, text_b = a.isoformat(), b.isoformat()
    differ = [position for position, (x, y) in enumerate(zip(text_a, text_b, strict=True)) if x != y]
    if len(differ) == 1:
        return _DATE_NEAR_FACTOR, ["birth_date_one_digit"]
    if (len(differ) == 2 and differ[1] == differ[0] + 1 and text_a[differ[0]] == text_b[differ[1]]
            and text_a[differ[1]] == text_b[differ[0]]):
        return _DATE_NEAR_FACTOR, ["birth_date_digits_swapped"]
    if abs(a.year - b.year) == 1 and (a.month, a.day) == (b.month, b.day):
        return _DATE_NEAR_FACTOR, ["birth_date_adjacent_year"]
    if a.year == b.year and _JANUARY_FIRST in ((a.month, a.day), (b.month, b.day)):
        return _DATE_NEAR_FACTOR, ["birth_date_placeholder"]
    # A day off by one (29 for 30, 10 for 9, 28 February for 1 March, 31 December for 1 January), a month off by one
    # (September for October) and the 1st of the month typed when the day is not known change two digits or more:
    # red team round 41, F1, a person with an asylum claim open registered again by another agency born the next day
    # was not flagged and went on a manifest.
    if abs(a.toordinal() - b.toordinal()) == 1:
        return _DATE_NEAR_FACTOR, ["birth_date_adjacent_day"]
    if a.day == b.day and abs(a.year * 12 + a.month - b.year * 12 - b.month) == 1:
        return _DATE_NEAR_FACTOR, ["birth_date_adjacent_month"]
    if (a.year, a.month) == (b.year, b.month) and 1 in (a.day, b.day):
        return _DATE_NEAR_FACTOR, ["birth_date_first_of_month"]
    return 0.0, ["birth_date_differs"]


_JANUARY_FIRST = (1, 1)


def near_dates(born: date) -> set[date]:
    """The birth dates `_date_factor` finds near `born` (besides its day and month swapped): one digit of its ISO
    form changed or two neighbouring digits swapped, the same day of the year before and after, the day before and
    after, the same day of the month before and after, the 1st of its month and of January of its year, every day of
    its month when it is the 1st, and every day of its year when it is the 1st of January."""
    text = born.isoformat()
    near = {date(born.year, 1, 1), born.replace(day=1)}
    for year in (born.year - 1, born.year + 1):
        with suppress(ValueError):  # no 29th of February that year, or no such year
            near.add(born.replace(year=year))
    for step in (-1, 1):
        with suppress(ValueError, OverflowError):  # before the first or after the last day there is
            near.add(date.fromordinal(born.toordinal() + step))
        year, month = divmod(born.year * 12 + born.month - 1 + step, 12)
        with suppress(ValueError):  # no such day in that month, or no such year
            near.add(date(year, month + 1, born.day))
    if born.day == 1:
        near.update(born.replace(day=day) for day in range(2, calendar.monthrange(born.year, born.month)[1] + 1))
    for position, character in enumerate(text):
        if character.isdigit():
            for digit in "0123456789":
                if digit != character:
                    with suppress(ValueError):  # no such day
                        near.add(date.fromisoformat(text[:position] + digit + text[position + 1:]))
        if position + 1 < len(text) and character.isdigit() and text[position + 1].isdigit():
            with suppress(ValueError):  # two neighbouring digits swapped, when that is a day
                near.add(date.fromisoformat(text[:position] + text[position + 1] + character + text[position + 2:]))
    if (born.month, born.day) == _JANUARY_FIRST:
        start = born.toordinal()
        near.update(date.fromordinal(day) for day in range(start, date(born.year, 12, 31).toordinal() + 1))
    near.discard(born)
    return near


def _words(person: _Folded) -> frozenset[str]:
    return frozenset(f"{person.given} {person.first} {person.second}".split())


# A word of one name matched to a word of the other: the same, or an initial of it (J for JOSE), or within a typo
# of it (YBARRA for IBARRA, KINTERO for QUINTERO: Jaro-Winkler this close at least).
_INITIAL = 0.95
_WORD_FLOOR = 0.88


def _word_match(word: str, others: Iterable[str]) -> float:
    if word in others:
        return 1.0
    if len(word) == 1:
        return _INITIAL if any(other.startswith(word) for other in others) else 0.0
    return max((jaro_winkler(word, other) for other in others if len(other) > 1), default=0.0)


def _words_similarity(a: _Folded, b: _Folded) -> tuple[float, list[str]]:
    """The names compared as the set of their words, whatever field or order each is in: the same words, or one
    person's (two at least, one of them a surname of the other's) all among the other's; each word the same, an
    initial of the other's or within a typo of it."""
    words_a, words_b = _words(a), _words(b)
    if words_a == words_b:
        return _SAME_WORDS, ["names_in_other_fields"]
    fewer, more, other = (words_a, words_b, b) if len(words_a) < len(words_b) else (words_b, words_a, a)
    if len(fewer) < 2:
        return 0.0, []
    # A word matched by none of the other's ends the comparison, before the other words are compared: most of an
    # import's candidate pairs (people born on the same day who share one word of their names) end at their first.
    matches: dict[str, float] = {}
    for word in fewer:
        matches[word] = match = _word_match(word, more)
        if match < _WORD_FLOOR:
            return 0.0, []
    surnames = set(f"{other.first} {other.second}".split())
    if not any(
            matches[word] >= _WORD_FLOOR and _word_match(word, surnames) >= _WORD_FLOOR
            for word in fewer if len(word) > 1):
        return 0.0, []
    similarity = sum(matches.values()) / len(matches)
    reasons = ["names_in_other_fields" if len(fewer) == len(more) else "names_left_out"]
    if similarity < 1.0:
        reasons.append("spelling_differs")
    return (_SAME_WORDS if len(fewer) == len(more) else _WORDS_AMONG) * similarity, reasons


def _one_family(a: _Folded, b: _Folded) -> bool:
    """Whether two people differ in their given names alone: the same surnames, birth date and sex."""
    return (a.first == b.first and a.second == b.second and a.birth_date == b.birth_date and a.sex is not None
            and a.sex == b.sex)


def _second_surname_alone_differs(a: _Folded, b: _Folded) -> bool:
    """Whether two people have the same given names, first surname, birth date and sex, and two second surnames
    that differ (JUAN VILLALONGA GOMEZ and JUAN VILLALONGA GONZALEZ): no two siblings are named so, as a second
    surname is the mother's, and a list that types another second surname for the same person is flagged."""
    return bool(a.given == b.given and a.first == b.first and a.birth_date == b.birth_date and a.sex is not None
                and a.sex == b.sex and a.second and b.second)


_VOWELS = str.maketrans("", "", "AEIOU")


def _consonants(word: str) -> str:
    """The consonants of a word as said (`names.phonetic_word`), CH as K as English writes it (MICHAEL)."""
    return phonetic_word(word).replace("CH", "K").translate(_VOWELS)


def _family_given_similarity(a: str, b: str) -> float:
    """The similarity of given names of as many words, each with the same consonants as said and close to the
    other's: as written (`_SAME_FAMILY_GIVEN_FLOOR`: MAIKEL and MICHAEL, M K L; DEIVIS and DAVIS, D B S; but not
    DANIEL and DAVID nor MANUEL and MIGUEL, as close as those by Jaro-Winkler alone) or as said (`names.phonetic_word`,
    `_SAID_GIVEN_FLOOR`: JACKELINE and YAQUELIN, said YAKELINE and YAKELIN); the better of the two, word by word, or
    0 for names not so close."""
    words_a, words_b = a.split(), b.split()
    if len(words_a) != len(words_b):
        return 0.0
    similarities: list[float] = []
    for x, y in zip(words_a, words_b, strict=True):
        if _consonants(x) != _consonants(y):
            return 0.0
        written, said = jaro_winkler(x, y), jaro_winkler(phonetic_word(x), phonetic_word(y))
        similarity = max(written if written >= _SAME_FAMILY_GIVEN_FLOOR else 0.0,
                         said if said >= _SAID_GIVEN_FLOOR else 0.0)
        if not similarity:
            return 0.0
        similarities.append(similarity)
    return sum(similarities) / len(similarities)


# What officials write for a name they do not know (folded): ICE's "first/last name unknown", the Spanish N.N., "no
# name", a run of X. Such a name says nothing of the person, so it agrees with any (at the floor of its field): a
# person registered as "Ana LNU" is flagged with the "Ana López" of the same birth date another agency holds, whose
# concern then holds both (red team round 78, F1's class: a name of no letter compared as nothing, and was let go).
UNKNOWN_NAMES = frozenset({
    "FNU", "LNU", "MNU", "NFN", "NLN", "FNULNU", "UNK", "UNKNOWN", "NONAME", "NN", "NNN", "SN",
    "DESC", "DESCONOCIDO", "DESCONOCIDA", "DESCONOCIDOS", "DESCONOCIDAS", "IGNORADO", "IGNORADA", "ANONIMO",
    "ANONIMA", "NOSABE", "NOCONSTA", "NOREGISTRA", "SINDATOS", "SINDATO", "SINNOMBRE", "SINNOMBRES", "SINAPELLIDO",
    "SINAPELLIDOS", "NOIDENTIFICADO", "NOIDENTIFICADA", "NOMBREDESCONOCIDO", "APELLIDODESCONOCIDO", "NOTIENE",
    "NOAPLICA"})
_RUN_OF_X = re.compile(r"X+")


@lru_cache(maxsize=4096)
def _unknown(name: str) -> bool:
    """Whether a folded name is one officials write for a name they do not know, however spaced, dotted or repeated
    (F.N.U., F N U, FNU-LNU, NN NN, Desconocido Desconocido, Sin apellidos, XXX: red team round 79, F3)."""
    words = name.split()
    if not words:
        return False
    compact = "".join(words)
    return (compact in UNKNOWN_NAMES or bool(_RUN_OF_X.fullmatch(compact))
            or all(word in UNKNOWN_NAMES or _RUN_OF_X.fullmatch(word) for word in words))


def _score(a: _Folded, b: _Folded) -> tuple[float, str] | None:
    """Score a candidate pair; None when it is not worth flagging. A name recorded as unknown (`UNKNOWN_NAMES`)
    agrees with any at its field's floor; with both the given names and the surname unknown, nothing is."""
    same_id = bool(a.national_id) and a.national_id == b.national_id
    dates, date_reasons = _date_factor(a.birth_date, b.birth_date)
    unknown_given = _unknown(a.given) or _unknown(b.given)
    unknown_surname = _unknown(a.first) or _unknown(b.first)
    if unknown_given or unknown_surname:
        return _score_unknown(a, b, dates, date_reasons, same_id, unknown_given, unknown_surname)
    given = _given_similarity(a.given, b.given)
    # Most candidate pairs stop at the given names, before the surnames are compared.
    if not same_id and (not dates or given < _GIVEN_FLOOR):
        family = _family_given_similarity(a.given, b.given) if _one_family(a, b) else 0.0
        if not family:
            return _score_words(a, b, dates, date_reasons)
        said, given = family > given, max(given, family)
    else:
        said = False
    surnames, surname_reasons = _surname_similarity(a, b)
    score = (_GIVEN_WEIGHT * given + _SURNAME_WEIGHT * surnames) * dates
    # (The same surnames and given names at their family floor make THRESHOLD exactly, give or take a rounding.)
    if not same_id and (surnames < _SURNAME_FLOOR or score < THRESHOLD - 1e-9):
        if not _second_surname_alone_differs(a, b):
            return _score_words(a, b, dates, date_reasons)
        score, surname_reasons = max(score, THRESHOLD), ["second_surname_differs"]
    reasons = ["same_national_id"] if same_id else []
    if (a.given, a.first, a.second, a.birth_date) == (b.given, b.first, b.second, b.birth_date):
        reasons.append("same_name_and_birth_date")
    else:
        if said:
            reasons.append("sounds_alike")
        elif given < 1.0 or (surnames < 1.0 and not surname_reasons):
            reasons.append("spelling_differs")
        reasons.extend(surname_reasons + date_reasons)
    if same_id:
        # A shared ID counts as half the evidence; the names and dates give the rest.
        score = 0.5 + 0.5 * score
    return round(score, 3), "; ".join(reasons)


def _score_unknown(a: _Folded, b: _Folded, dates: float, date_reasons: list[str], same_id: bool,
                   unknown_given: bool, unknown_surname: bool) -> tuple[float, str] | None:
    """`_score` of a pair one of whose given names or first surnames is recorded as unknown: that field agrees at its
    floor, the other is compared as usual; both unknown, only a shared national ID flags the pair."""
    if unknown_given and unknown_surname:
        return (0.5 + 0.5 * THRESHOLD * dates, "same_national_id; name_unknown") if same_id and dates else None
    given = _GIVEN_FLOOR if unknown_given else _given_similarity(a.given, b.given)
    surnames, surname_reasons = (_SURNAME_FLOOR, []) if unknown_surname else _surname_similarity(a, b)
    score = (_GIVEN_WEIGHT * given + _SURNAME_WEIGHT * surnames) * dates
    if score < THRESHOLD - 1e-9 or ((given < _GIVEN_FLOOR or surnames < _SURNAME_FLOOR) and not same_id):
        return None
    reasons = (["same_national_id"] if same_id else []) + ["name_unknown"] + surname_reasons + date_reasons
    return round(0.5 + 0.5 * score if same_id else score, 3), "; ".join(reasons)


def _score_words(a: _Folded, b: _Folded, dates: float, date_reasons: list[str]) -> tuple[float, str] | None:
    """A pair the fields compared one by one did not flag, compared by the words of their names
    (`_words_similarity`)."""
    names, reasons = _words_similarity(a, b)
    score = names * dates
    if not names or score < THRESHOLD:
        return None
    return round(score, 3), "; ".join(reasons + date_reasons)


def held_cases_to_compare(rows: Sequence[Person]) -> tuple[set[date] | None, set[str]]:
    """Birth dates and national IDs (as compared, `national_id_key`) that a held case must have for find_duplicates
    to compare it.

    A pair is flagged only with the same national ID or a birth date the same, swapped or near (`_date_factor`), so
    the service layer need only load held cases with a birth date or an ID in these sets.
    """
    return keys_to_compare([row.birth_date for row in rows], [row.national_id for row in rows])


# Beyond this many birth dates, the dates near them (`near_dates`: a year's tens digit off reaches ninety years away)
# are about every date there is: the records to compare are then all of them (`keys_to_compare`).
_MANY_BIRTH_DATES = 300


def keys_to_compare(births: Iterable[date], national_ids: Iterable[str | None]) -> tuple[set[date] | None, set[str]]:
    """`held_cases_to_compare` of people given as their birth dates and national IDs (a file's columns); None for
    the dates when every held case is to be compared (many people, whose near dates are about every date)."""
    distinct = set(births)
    ids = set(map(national_id_key, set(national_ids))) - {""}
    if len(distinct) > _MANY_BIRTH_DATES:
        return None, ids
    birth_dates: set[date] = set()
    for born in distinct:
        birth_dates.add(born)
        if born.day <= 12:
            birth_dates.add(born.replace(month=born.day, day=born.month))
        birth_dates.update(near_dates(born))
    return birth_dates, ids


# What a pair scored on the names as said says instead of the names being the same or spelled otherwise.
_WRITTEN_ALIKE = frozenset({"same_name_and_birth_date", "spelling_differs", "sounds_alike"})


def _shared_words(people: _Columns, first: int, second: int) -> int:
    """How many words of their names two people share."""
    words = [set(f"{people.given[index]} {people.first[index]} {people.second[index]}".split())
             for index in (first, second)]
    return len(words[0] & words[1])


def _sounds_alike(people: _Columns, said: _Columns, first: int, second: int) -> tuple[float, str] | None:
    """A pair the names as written did not flag, scored on the names as said when these share more words than the
    names as written (QUINTERO and KINTERO one word said, VILLEGAS and BIYEGAS another); a pair that shares no more
    said so is not scored again (thousands of an import's candidate pairs, and as many Jaro-Winkler comparisons)."""
    if _shared_words(said, first, second) <= _shared_words(people, first, second):
        return None
    scored = _score(said.person(first), said.person(second))
    if scored is None:
        return None
    score, reason = scored
    codes = [code for code in reason.split("; ") if code not in _WRITTEN_ALIKE]
    return score, "; ".join(["sounds_alike", *codes])


def find_duplicates(rows: Sequence[FileRow], held: Sequence[Person] = ()) -> list[PossibleDuplicate]:
    """Flag rows that may be the same person as an earlier row of the file or a case already held.

    Each flagged pair appears once, on the later row of the file (or on the file row, for a
    held case). A held case with the same case reference as the row is that row's own earlier
    import, not a duplicate. Results come in row order, best match first.
    """
    people = _fold_people([rows, held])
    # Names with particles, compared also with them joined to the word they precede (`names.glued_key`).
    glued = _fold_people([rows, held], glued_key, people)
    particled = [index for index, names in enumerate(zip(glued.given, glued.first, glued.second, strict=True))
                 if names != (people.given[index], people.first[index], people.second[index])]
    with_particles = set(particled)
    # And the names as Spanish says them (`names.phonetic_key`), which the blocking keys are made of.
    said = _fold_people([rows, held], phonetic_key, people)
    file_count = len(rows)
    candidates: set[tuple[int, int]] = set()
    for members in _blocks(said, glued, particled):
        if len(members) > _MAX_BLOCK or members[0] >= file_count:
            continue
        for position, first in enumerate(members):
            if first >= file_count:
                break
            candidates.update((first, second) for second in members[position + 1 :])
    found: list[PossibleDuplicate] = []
    for first, second in candidates:
        if second >= file_count and held[second - file_count].case_reference == rows[first].case_reference:
            continue
        scored = _score(people.person(first), people.person(second))
        if scored is None and (first in with_particles or second in with_particles):
            scored = _score(glued.person(first), glued.person(second))
        if scored is None:
            scored = _sounds_alike(people, said, first, second)
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
