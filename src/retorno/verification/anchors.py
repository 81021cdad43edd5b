"""The rule that lets record linkage verify a case without a person: a hard identifier must agree.

A name, however rare, is never enough on its own: auto-verification also needs the birth
date or the cédula of the best candidate to agree — exactly, or with the sending side's
usual slip (day and month swapped, one digit wrong), which the field-by-field agreement
calls "partial". A birth date known only in part (no day, or no month) that agrees as far
as it goes ("incomplete") is no anchor: it names a month of births, not a person, and in a
national registry people with the same name born in the same month and state are common
enough that it verified a non-national in the 1M-record benchmark. Linkage decides with it,
and the review page uses it to say why a likely match still waits for a person.

Nor is a person the registry records as deceased ever verified without a person: a request
in a dead person's name is a red flag (`linkage._decide` sends it to review, reason DECEASED).
"""

from __future__ import annotations

from collections.abc import Mapping

ANCHOR_FIELDS = ("birth_date", "cedula")


def is_anchored(agreement: Mapping[str, str]) -> bool:
    """Whether a candidate's birth date or cédula agrees with the request, exactly or with a slip.

    "incomplete" (a date without its day or month) is deliberately not in the set.
    """
    return any(agreement.get(name) in ("agree", "partial") for name in ANCHOR_FIELDS)


# The reason a decision carries when the registry records the matched person's death.
DECEASED = "deceased"


def is_deceased(record: Mapping[str, object]) -> bool:
    """Whether a registry record is of a deceased person: a `deceased` flag, or a death date."""
    flag = record.get("deceased")
    flagged = flag is True or str(flag).strip().lower() in ("true", "t", "1", "yes", "si", "sí")
    return flagged or str(record.get("death_date") or "").strip() != ""
