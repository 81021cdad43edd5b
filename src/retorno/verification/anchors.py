"""The rule that lets record linkage verify a case without a person: a hard identifier must agree.

A name, however rare, is never enough on its own: auto-verification also needs the birth
date or the cédula of the best candidate to agree — exactly, or with the sending side's
usual slip (day and month swapped, one digit wrong), which the field-by-field agreement
calls "partial". A birth date known only in part (no day, or no month) that agrees as far
as it goes ("incomplete") names a month of births, not a person: it anchors only together
with the whole name agreeing exactly (given names and both surnames). With a name slip or a
surname missing, people of the same name born in the same month and state are common enough
in a national registry that it verified a non-national in the 1M-record benchmark (and, with
the whole name exact, 273 nationals and no one else there). The whole name is the name the
registry holds: where the registry record has no second surname (registries of people with
one surname), given names and first surname exact are the whole name; a request that drops
a second surname the registry holds does not have it. Nor does such a date anchor where the
place of birth or the sex disagrees: someone of the same full name born the same month is
what a namesake is (a non-national carrying a national's full name, born in the same month
and year in another state, was verified at 200k records on the name and that month alone).
A birth date with a slip (one digit, day and month swapped) is likewise no anchor where the
place of birth or the sex disagrees: at 200k records (one surname each) a non-national DANIEL
JESÚS FLOR born 2002-11-06 in another state was verified at 0.9976 against the registry's
DANIEL JESÚS FLOR born 2012-11-06.
And a date known in part anchors only a match more certain than the threshold asks of an exact date
(`INCOMPLETE_DATE_PROBABILITY`): a common full name born in a given month of a year is no
rare coincidence in a national registry (at 1M records a non-national JUAN SÁNCHEZ ACOSTA,
whose registry namesake was born that month, scored 0.99927 with no sex or place recorded).
Linkage decides with it, and the review page uses it to say why a likely match still waits
for a person.

A name that is not exactly the registry's (given names and surnames as the registry holds them,
in their order: a surname swapped, misspelt, dropped or written where the given name was) is
not the person's own name but a near one, and with no cédula agreeing a near name born on the
same day is a coincidence a national registry holds: at 1M records a non-national JOSÉ TORRES
PÉREZ was verified at 0.998 against JOSÉ PÉREZ TORRES born the same day. Such a match is
verified only at a probability of at least the installation's `verification_inexact_name_threshold`
(0.999; `needs_a_person_for_the_name`), and otherwise goes to review with reason `INEXACT_NAME`,
which the review page states. An exact name, or a cédula agreeing, is verified at the upper
threshold as before. A name one field of which disagrees outright (as the review page shows it:
no typo, cut, swap or exchange of the registry's) is further from the person's own: a true pair
reaches it only through errors stacked on one another (a surname swapped and mistyped twice),
whose rarity the model multiplies as if independent, and a stranger reaches it by sharing the
rest. It needs `DISAGREEING_NAME_PROBABILITY` (0.9999), or the installation's threshold if that
is stricter: at 200k records a non-national MIGUEL LUIS HERNÁNDEZ GONZÁLEZ, another first surname
than the registry's MIGUEL LUIS GÓMEZ GONZÁLEZ born the same day in the same state, was verified
at 0.99941.

Nor is a person the registry records as deceased ever verified without a person: a request
in a dead person's name is a red flag (`linkage._decide` sends it to review, reason DECEASED).

A cédula anchors a match, but it does not make the birth date the registry holds agree: the birth
date the system then applies every children's rule to is the declared one, so a verification must
not stand on a registry date that says otherwise. A match whose birth date disagrees beyond the
slips the comparison accepts (one digit, day and month swapped: "partial") is never verified
without a person, whatever the cédula (reason `BIRTH_DATE_DISAGREES`): a black-box red team had a
16-year-old by the civil registry, declared three years older with the registry's cédula, verified
and approved on a manifest as an adult alone. And no match is verified without a person where the
registry's date and the declared one put the person on different sides of the age of majority on
the day of the run (`crosses_majority`, reason `AGE_OF_MAJORITY`), a slip included: a year one digit
off can make a minor an adult. A birth date missing on either side, or agreeing as far as one side
knows it, contradicts nothing and leaves the decision to the other rules.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from datetime import date

from retorno import identifiers
from retorno.names import key, phonetic_key
from retorno.safeguards import is_minor

ANCHOR_FIELDS = ("birth_date", "cedula")
# The name that must agree exactly, whole, for a birth date known only in part to anchor.
WHOLE_NAME = ("given_names", "first_surname", "second_surname")
# Fields that must not disagree for a date known in part to anchor: where a namesake differs.
NAMESAKE_FIELDS = ("birth_place", "sex")
# The match probability a date known in part needs to anchor (an exact date: the installation's upper threshold).
INCOMPLETE_DATE_PROBABILITY = 0.9995


def is_anchored(agreement: Mapping[str, str], record: Mapping[str, object] | None = None,
                probability: float | None = None) -> bool:
    """Whether a candidate's cédula agrees with the request, exactly or with a slip, or its birth
    date exactly, or with a slip where neither the place of birth nor the sex disagrees, or
    the birth date agrees as far as it is known, the whole name agrees exactly, neither
    the place of birth nor the sex disagrees and the match `probability` is at least
    `INCOMPLETE_DATE_PROBABILITY` (without one, such a date anchors nothing).

    `record` is the candidate's registry record: a name field it leaves empty is no part of
    the whole name (without it, every name field must agree)."""
    namesake = any(agreement.get(name) == "disagree" for name in NAMESAKE_FIELDS)
    if agreement.get("cedula") in ("agree", "partial") or agreement.get("birth_date") == "agree":
        return True
    if agreement.get("birth_date") == "partial":
        return not namesake
    return (agreement.get("birth_date") == "incomplete"
            and probability is not None and probability >= INCOMPLETE_DATE_PROBABILITY
            and is_whole_name(agreement, record) and not namesake)


def is_whole_name(agreement: Mapping[str, str], record: Mapping[str, object] | None = None) -> bool:
    """Whether the request's name is exactly the registry record's: given names and every surname
    the record holds agree, in their order (see `is_anchored` for `record`)."""
    return all(agreement.get(name) == "agree" or (agreement.get(name) == "missing" and _empty(record, name))
               for name in WHOLE_NAME)


# The reason a decision carries when a near name with no cédula agreeing stays below `inexact_name`.
INEXACT_NAME = "inexact_name"
# The match probability a name with a field disagreeing outright needs without a cédula agreeing.
DISAGREEING_NAME_PROBABILITY = 0.9999


def needs_a_person_for_the_name(agreement: Mapping[str, str], record: Mapping[str, object] | None,
                                probability: float, inexact_name: float) -> bool:
    """Whether an anchored match still waits for a person because of its name: the name is not
    exactly the registry's (`is_whole_name`), no cédula agrees, and the match `probability` is
    below `inexact_name` (the installation's `verification_inexact_name_threshold`), or below
    `DISAGREEING_NAME_PROBABILITY` where a name field disagrees outright."""
    if agreement.get("cedula") in ("agree", "partial") or is_whole_name(agreement, record):
        return False
    return probability < name_threshold(agreement, inexact_name)


def name_threshold(agreement: Mapping[str, str], inexact_name: float) -> float:
    """What a match whose name is not exactly the registry's needs without a cédula: `inexact_name`, or
    `DISAGREEING_NAME_PROBABILITY` if stricter where a name field disagrees outright."""
    if any(agreement.get(name) == "disagree" for name in WHOLE_NAME):
        return max(inexact_name, DISAGREEING_NAME_PROBABILITY)
    return inexact_name


def _empty(record: Mapping[str, object] | None, name: str) -> bool:
    """Whether the registry record is known to hold nothing in a field."""
    return record is not None and name in record and str(record.get(name) or "").strip() == ""


# The reason a decision carries when the registry records the matched person's death.
DECEASED = "deceased"


# The values of a registry's `deceased` flag that say the person is alive; any other value says dead, the safe
# reading (red team round 84, F2: 'S' and 'X' were read as alive, and linkage verified both people).
ALIVE_FLAGS = ("", "false", "f", "0", "no", "n", "vivo", "viva", "alive", "none", "null", "nan")


def is_deceased(record: Mapping[str, object]) -> bool:
    """Whether a registry record is of a deceased person: a `deceased` flag that is not a recognised 'alive'
    (`ALIVE_FLAGS`), or a death date."""
    flag = record.get("deceased")
    flagged = flag is not None and flag is not False and str(flag).strip().lower() not in ALIVE_FLAGS
    return flagged or str(record.get("death_date") or "").strip() != ""


# The reason a decision carries when the registry's birth date is further off than a slip (cédula or not).
BIRTH_DATE_DISAGREES = "birth_date_disagrees"
# The reason a decision carries when the registry's birth date and the declared one straddle the age of majority.
AGE_OF_MAJORITY = "age_of_majority"

# A birth date as linkage reads it: year, month, day, each None where unknown.
BirthParts = tuple[int | None, int | None, int | None]


def birth_date_disagrees(agreement: Mapping[str, str]) -> bool:
    """Whether the candidate's birth date is further off than the comparison's slips (one digit, day and
    month swapped): such a match is never verified without a person, whatever the cédula."""
    return agreement.get("birth_date") == "disagree"


def crosses_majority(declared: BirthParts | None, registry: BirthParts | None, today: date) -> bool:
    """Whether the declared birth date and the registry's may put the person on different sides of the
    age of majority (`safeguards.is_minor`) on `today`: one a minor, the other an adult.

    A date known in part (no day, or no month) is every date it may be: one that is a minor on some
    of them and an adult on others counts as both. A date with no year says nothing."""
    sides = _sides(declared, today), _sides(registry, today)
    if not sides[0] or not sides[1]:
        return False
    return len(sides[0] | sides[1]) > 1


def _sides(parts: BirthParts | None, today: date) -> set[bool]:
    """Whether someone born on these parts is a minor on `today`: {True}, {False}, both, or none if no year."""
    year, month, day = parts if parts is not None else (None, None, None)
    if year is None:
        return set()
    months = [month] if month is not None else list(range(1, 13))
    earliest = date(year, months[0], day if day is not None else 1) if _valid(year, months[0], day) else None
    last_month = months[-1]
    last_day = day if day is not None else calendar.monthrange(year, last_month)[1]
    latest = date(year, last_month, last_day) if _valid(year, last_month, last_day) else None
    return {is_minor(born, today) for born in (earliest, latest) if born is not None}


def _valid(year: int, month: int, day: int | None) -> bool:
    return 1 <= year <= 9999 and (day is None or 1 <= day <= calendar.monthrange(year, month)[1])


_DATE_TEXT = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def birth_parts(value: object) -> BirthParts | None:
    """A birth date (a date, or text YYYY-MM-DD where 00 stands for an unknown day or month) in parts,
    as linkage reads it (`normalise.people_sql`); None without a year."""
    found = _DATE_TEXT.match(str(value or "").strip()[:10])
    if found is None or int(found.group(1)) == 0:
        return None
    month = int(found.group(2)) if found.group(2) else None
    day = int(found.group(3)) if found.group(3) and month is not None else None
    return (int(found.group(1)), month if month is not None and 1 <= month <= 12 else None,
            day if day is not None and 1 <= day <= 31 else None)


def birth_date_holds_back(candidates: object, registry_record: object, declared: date | None,
                          same: Callable[[object, object], bool], today: date | None = None) -> str | None:
    """Why a linkage `verified` against `registry_record` waits for a person because of its birth date, or None.

    `candidates` are the decision's candidates as stored (`jobs.candidate_document`); the one that is
    `registry_record` (by `same`) is read: `BIRTH_DATE_DISAGREES` where its birth date is further off
    than a slip, `AGE_OF_MAJORITY` where its date and the case's `declared` one straddle the age of
    majority on `today`."""
    for candidate in candidates if isinstance(candidates, list) else []:
        if not isinstance(candidate, dict) or not same(candidate.get("registry_record"), registry_record):
            continue
        record = _mapping(candidate.get("record"))
        if declared is not None and crosses_majority(birth_parts(declared), birth_parts(record.get("birth_date")),
                                                     today or date.today()):
            return AGE_OF_MAJORITY
        agreement = _mapping(candidate.get("agreement"))
        if birth_date_disagrees(agreement):
            return BIRTH_DATE_DISAGREES
    return None


def youngest_birth(parts: BirthParts | None) -> date | None:
    """The latest day a birth date known in `parts` may be (`birth_parts`): a date known in part (no day, or no
    month) read as the youngest the person may be, so that a rule asking whether they are a minor reads it safely.
    None without a year."""
    year, month, day = parts if parts is not None else (None, None, None)
    if year is None:
        return None
    month = month if month is not None else 12
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last) if day is not None else last)


def registry_birth_date(candidates: object, registry_record: object,
                        same: Callable[[object, object], bool]) -> date | None:
    """The birth date the registry holds for `registry_record`, as the stored candidates (`jobs.candidate_document`)
    show it (the youngest reading of a date known in part, `youngest_birth`); None where no candidate is that record
    or its record holds no year."""
    for candidate in candidates if isinstance(candidates, list) else []:
        if isinstance(candidate, dict) and same(candidate.get("registry_record"), registry_record):
            born = youngest_birth(birth_parts(_mapping(candidate.get("record")).get("birth_date")))
            if born is not None:
                return born
    return None


def _mapping(value: object) -> Mapping[str, str]:
    return value if isinstance(value, dict) else {}


_REGISTRY_SEX = {"F": "F", "FEMENINO": "F", "FEMALE": "F", "MUJER": "F",
                 "M": "M", "MASCULINO": "M", "MALE": "M", "HOMBRE": "M", "H": "M"}


def _one_edit(one: str, other: str) -> bool:
    """Whether two texts differ by one edit at most: a character changed, added or dropped, or two neighbours
    swapped (the comparison's 'one digit apart')."""
    if one == other:
        return True
    if len(one) == len(other):
        off = [i for i, (a, b) in enumerate(zip(one, other, strict=True)) if a != b]
        return len(off) == 1 or (len(off) == 2 and off[1] == off[0] + 1
                                 and (one[off[0]], one[off[1]]) == (other[off[1]], other[off[0]]))
    if abs(len(one) - len(other)) != 1:
        return False
    short, long = sorted((one, other), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _date_agreement(declared: BirthParts | None, registry: BirthParts | None) -> str:
    if declared is None or registry is None:
        return "missing"
    if declared == registry:
        return "agree"
    if any(part is None for part in (*declared, *registry)):
        known = [(a, b) for a, b in zip(declared, registry, strict=True) if a is not None and b is not None]
        return "partial" if all(a == b for a, b in known) else "disagree"
    (year, month, day), (other_year, other_month, other_day) = declared, registry
    swapped = (year, month, day) == (other_year, other_day, other_month)
    written, other_written = f"{year:04d}{month:02d}{day:02d}", f"{other_year:04d}{other_month:02d}{other_day:02d}"
    slip = sum(a != b for a, b in zip(written, other_written, strict=True)) == 1
    return "partial" if swapped or slip else "disagree"


def record_agreement(record: Mapping[str, object], declared: Mapping[str, object]) -> dict[str, str]:
    """A stored registry record (a candidate's `record`, as linkage showed it for another request) compared with a
    declared identity (`given_names`, `first_surname`, `sex`, `birth_date`, `cedula`), field by field as linkage's
    agreement says it ('agree', 'partial', 'missing', 'disagree'), on the fields `_identity_differs` and
    `_anchors_disagree` of `verification.service` read. Loose where linkage is strict: a name sharing a word, or said
    alike, is 'partial'; a birth date with a slip or known in part as far as it goes, and a cédula one edit off, are
    'partial' (red team round 81, F2: a man verified against a record the service held, on another case's proposal, as
    a woman of another name born 22 years later)."""
    def names(field: str) -> str:
        one, other = key(str(record.get(field) or "")), key(str(declared.get(field) or ""))
        if not one or not other:
            return "missing"
        if one == other:
            return "agree"
        words, other_words = set(one.split()), set(other.split())
        said, other_said = set(phonetic_key(one).split()), set(phonetic_key(other).split())
        return "partial" if words & other_words or said & other_said else "disagree"

    sexes = _REGISTRY_SEX.get(str(record.get("sex") or "").strip().upper()), declared.get("sex")
    sex = "missing" if sexes[0] is None or sexes[1] not in ("F", "M") else (
        "agree" if sexes[0] == sexes[1] else "disagree")
    cedulas = (re.sub(r"[^0-9]", "", str(record.get("cedula") or "")).lstrip("0"),
               re.sub(r"[^0-9]", "", str(declared.get("cedula") or "")).lstrip("0"))
    cedula = "missing" if not all(cedulas) else "agree" if cedulas[0] == cedulas[1] else (
        "partial" if _one_edit(*cedulas) else "disagree")
    return {"given_names": names("given_names"), "first_surname": names("first_surname"), "sex": sex,
            "birth_date": _date_agreement(birth_parts(declared.get("birth_date")),
                                          birth_parts(record.get("birth_date"))),
            "cedula": cedula}


# A Venezuelan cédula's letter says the holder's nationality: V a national, E a foreign resident (extranjero). Red team
# round 81, F3: linkage compared a cédula by its digits alone, so a registry's foreign resident E-20111222 verified a
# request declaring V20111222 as a national, and a request declaring E7135786 was verified as the national V-7135786.
# The letter is read where a cédula is written with one (`V-7135786`, `E 20.111.222`, `CI V7135786`, `VEN7135786`).
REGISTRY_FOREIGN_RESIDENT = "registry_foreign_resident"
CEDULA_LETTER_DIFFERS = "cedula_letter_differs"
# Round 87, F1: the letter was read only where it came right before the digits, so `21987365E`, `21987365-E`,
# `RCE21987365` and `CI21987365E` (one record with `E21987365` for every comparison, `identifiers.
# registry_record_digits`) verified a foreign resident's record as a national's, by an officer alone. Now the letter is
# read wherever records are compared letting it be: the letters before the digits (their last one, `VEN` and `VE`
# read as V, a prefix such as CI, RC or ID before it) and those after (their first one). Written both ways and
# differently, E wins: a person decides.
_SPACING = re.compile(r"[\s:.\-\u2010-\u2015\u2212/]+")
_LETTERED = re.compile(r"([A-Z]*)([0-9]+)([A-Z]*)")


def cedula_letter(value: object) -> str | None:
    """The nationality letter of a cédula or registry record as written ('V' or 'E'), or None where it is written
    without one."""
    compact = _SPACING.sub("", identifiers.fold(str(value or "")).strip().upper())
    found = _LETTERED.fullmatch(compact)
    if not found:
        return None
    before, after = found.group(1), found.group(3)
    letters = set()
    if before.endswith(("VEN", "VE")):
        letters.add("V")
    elif before[-1:] in ("V", "E"):
        letters.add(before[-1])
    if after[:1] in ("V", "E"):
        letters.add(after[0])
    return "E" if "E" in letters else "V" if letters else None


def nationality_held_back(registry_cedula: object, declared_cedula: object) -> str | None:
    """Why a match may not verify a person's nationality without a person, by the letters of the cédulas: the
    registry's cédula is a foreign resident's (`REGISTRY_FOREIGN_RESIDENT`), or the declared letter is another than the
    registry's (`CEDULA_LETTER_DIFFERS`); None when neither says so (a letter missing on either side says nothing)."""
    registry, declared = cedula_letter(registry_cedula), cedula_letter(declared_cedula)
    if registry == "E":
        return REGISTRY_FOREIGN_RESIDENT
    if registry is not None and declared is not None and registry != declared:
        return CEDULA_LETTER_DIFFERS
    return None
