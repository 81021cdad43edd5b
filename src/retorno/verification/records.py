"""One spelling of a civil-registry record id, decided here for every door that stores one.

Records of one person are linked by the registry record a verification matched them to
(`cases.facts._linked_pairs`, `service._same_record_same_person`), by equality of the stored
text. An officer typing '025440', ' 25440 ' or 'V-20282780' for the record the linkage stored as
'25440' or 'V20282780' made two records of one person strangers (red team H1): the duplicate of
a person with an open protection concern was approved on a manifest. So a record id is stored in
one canonical form: spaces, and hyphens between letters and digits, dropped, letters upper-cased,
every number written without its leading zeros ('V020282780' -> 'V20282780', '025440' -> '25440'). Anything else
that is not a letter or a digit ('25440.0', '+25440', '-25440', '2020/12') is refused, naming the rule:
a dot or a sign may change which number was meant, and only the officer can say.

A person's RIF ('V-19283746-0': the cédula on 8 digits and a check digit) is read as the cédula ('V19283746').

The ids the system itself produces stay valid: the registry's integer ids ('12345'), the demo's
cédulas ('V12345678') and 'REG-<n>' ('REG<n>'), the load benchmark's 'RC-<case reference>'.
`canonical(canonical(x)) == canonical(x)`.
"""

from __future__ import annotations

import re

from retorno import identifiers
from retorno.errors import InvalidInput

# What is dropped (any whitespace, hyphens and the dashes keyboards put for them) and what a record id is made of.
_DROPPED = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_RECORD = re.compile(r"[A-Z0-9]+")
# A person's RIF (Venezuela's tax number): the letter of the cédula, the cédula written on 8 digits, and a check digit,
# apart ('V-19283746-0', 'V 19283746 0', 'V-19283746-00') or not ('V192837460': a cédula has 8 digits at most). It is
# read as that cédula (red team round 78, F2, and round 79, F4: read as 192837460, it named no one, and an officer
# verified one person against another's record so written).
# Written together, a RIF's cédula does not start with 0: 'V020282780' is the cédula 20282780 with a leading zero.
_APART = r"[\s\-\u2010-\u2015\u2212]"
_RIF = re.compile(rf"([VE]){_APART}*(?:([0-9]{{8}}){_APART}+0?[0-9]|([1-9][0-9]{{7}})[0-9])", re.IGNORECASE)
# A run of leading zeros of a number: at the start, or after a letter, and followed by a digit (a lone 0 stays).
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def canonical_or_none(value: str) -> str | None:
    """The canonical form of a registry record id, or None when it holds something else than letters and digits.

    Folded to ASCII first (`identifiers.fold`): a record typed in full-width or Arabic-Indic digits is the record of
    those digits (red team round 5, A-F1); a letter of another alphabet is refused with the rest."""
    stripped = identifiers.fold(value).strip()
    if rif := _RIF.fullmatch(stripped):
        return f"{rif[1].upper()}{(rif[2] or rif[3]).lstrip('0')}"
    if _DROPPED.fullmatch(stripped[:1] or " ") or _DROPPED.fullmatch(stripped[-1:] or " "):
        return None  # a leading hyphen is a minus sign (a sign, as '+25440'), a trailing one half of something
    compact = _DROPPED.sub("", stripped).upper()
    if not compact.isascii() or not _RECORD.fullmatch(compact):
        return None
    return _LEADING_ZEROS.sub("", compact)


def canonical_record(value: str) -> str:
    """The canonical form of a registry record id ('v-020282780' -> 'V20282780'); refused (422) if it has none."""
    found = canonical_or_none(value)
    if found is None:
        raise InvalidInput("registry record '%(record)s' is not letters and digits: spaces and hyphens are left out "
                           "and leading zeros dropped, anything else (a dot, a sign, a slash) is refused; type the "
                           "record as the registry writes it", code="registry_record_malformed", record=value)
    return found


def record_digits(value: str) -> str:
    """A record id as records are linked by it: canonical, read as a cédula is compared
    (`identifiers.registry_record_digits`, whose SQL is `cases.models.registry_record_digits`): without its leading
    E and V letters, and any letters before and after its digits folded ('CI26338096', 'VEN26338096',
    'CIVE26338096', 'CIVEN26338096', '26338096V': red team rounds 19, T-F3, and 21, W-F1). 'V26338096'
    and '26338096' name one record: officers type a cédula with or without its letter and two agencies write the letter
    differently (red team: the same person verified once as V26338096, once as 26338096, with a trafficking concern on
    the first, was approved on a locked manifest on the second; round 18, R-F4: 'CI', 'VEN', 'RC' before it made
    another record). A false link holds both records back until a supervisor sorts it out (and the second
    verification against a record of a person whose cédula, birth date or sex differs needs one); a missed one can
    send a person with an open protection claim back."""
    return identifiers.registry_record_digits(canonical_or_none(value) or value)


def same_record(one: object, other: object) -> bool:
    """Whether two record ids as stored or proposed name one record (`record_digits`; equal as typed when one has no
    canonical form)."""
    if not isinstance(one, str) or not isinstance(other, str):
        return False
    return record_digits(one) == record_digits(other)


def canonical_sql(expr: str) -> str:
    """DuckDB SQL giving `canonical_or_none`'s form of a text that has one (the linkage joins the registry's ids with
    the records officers verified, which are stored canonical, to learn from them)."""
    compact = f"upper(regexp_replace({expr}, '[\\s\\-\u2010-\u2015\u2212]+', '', 'g'))"
    return f"regexp_replace({compact}, '(^|[^0-9])0+([0-9])', '\\1\\2', 'g')"
