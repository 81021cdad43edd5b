"""The rule that lets record linkage verify a case without a person: a hard identifier must agree.

A name, however rare, is never enough on its own: auto-verification also needs the birth
date or the cédula of the best candidate to agree — exactly, or with the sending side's
usual slip (day and month swapped, one digit wrong), which the field-by-field agreement
calls "partial". Linkage decides with it, and the review page uses it to say why a
likely match still waits for a person.
"""

from __future__ import annotations

from collections.abc import Mapping

ANCHOR_FIELDS = ("birth_date", "cedula")


def is_anchored(agreement: Mapping[str, str]) -> bool:
    """Whether a candidate's birth date or cédula agrees with the request, fully or partly."""
    return any(agreement.get(name) in ("agree", "partial") for name in ANCHOR_FIELDS)
