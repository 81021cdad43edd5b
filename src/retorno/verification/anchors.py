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
"""

from __future__ import annotations

from collections.abc import Mapping

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


def is_deceased(record: Mapping[str, object]) -> bool:
    """Whether a registry record is of a deceased person: a `deceased` flag, or a death date."""
    flag = record.get("deceased")
    flagged = flag is True or str(flag).strip().lower() in ("true", "t", "1", "yes", "si", "sí")
    return flagged or str(record.get("death_date") or "").strip() != ""
