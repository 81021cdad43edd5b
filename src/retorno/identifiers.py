"""One ASCII spelling of the identifiers people are linked and searched by, whatever digits they were typed in.

Records of one person are linked by equality of their identifiers as stored: a cédula's digits
(`cases.models.cedula_digits`), a document number, a travel document's number, a civil-registry record
(`cases.facts._linked_pairs`). Python's `\\d` and `str.isdigit` take every script's digits, so a cédula typed
'V7１35786' (a full-width 1, as an East Asian keyboard or a copied form gives it) or 'V7135786٣' (an Arabic-Indic 3)
was accepted and stored as typed, and never linked to 'V7135786': an open asylum concern on one record did not hold
the same person's other record, which was approved on a manifest (red team round 5, A-F1).

So every door folds an identifier with `fold` before its own rule reads it: compatibility forms become what they
stand for (NFKC: full-width and mathematical letters and digits, superscripts) and a decimal digit of any other
script becomes its ASCII digit (`unicodedata.decimal`: Arabic-Indic, Devanagari...). What is still not ASCII after
that (a letter of another alphabet) is refused by the door's rule, naming it: it is no digit, and only the officer can
say which letter was meant. `fold(fold(x)) == fold(x)`; an ASCII text is returned as it is.
"""

from __future__ import annotations

import re
import unicodedata

# The form of a case's system reference (`cases.service.next_references`: MX-2026-001249), any country's: its ISO
# alpha-2 code, the year, six digits or more (a synthetic list's INM-2023-0000001 is an agency's own reference).
_SYSTEM_REFERENCE = re.compile(r"[A-Z]{2}-[0-9]{4}-[0-9]{6,}", re.IGNORECASE)


def system_shaped(reference: str) -> bool:
    """Whether `reference` is in the form of a case's system reference (CC-YYYY-NNNNNN, any country's). No agency's own
    reference may be (red team round 11, RE8811 F1: an agency reference MX-2026-001249, another case's system
    reference, made the household column of a later row name that other case, a stranger's household)."""
    return _SYSTEM_REFERENCE.fullmatch(fold(reference).strip()) is not None


def fold(value: str) -> str:
    """`value` with compatibility forms folded (NFKC) and every decimal digit written as its ASCII digit."""
    if value.isascii():
        return value
    folded = unicodedata.normalize("NFKC", value)
    return "".join(char if char.isascii() or (digit := unicodedata.decimal(char, None)) is None else str(digit)
                   for char in folded)


def non_ascii(value: str) -> str:
    """The characters of `value` that are not ASCII, each once, in order ('' when there is none)."""
    return "".join(dict.fromkeys(char for char in value if not char.isascii()))


# A digit other than 0: what every number that names a document has (`placeholder_document_number`).
_NON_ZERO_DIGIT = re.compile(r"[1-9]")


def placeholder_document_number(number: str) -> bool:
    """Whether a document number, as stored (upper-case, without spaces and hyphens; an MRZ's fillers `<` not
    counted), names no document: empty or fillers only, without a digit other than 0 (`000000000`, `0`, `P0000000`,
    and words written where the number was unknown: `SINDOC`, `SN`, `NA`, `NONE`...), or one character repeated
    (`111111111`). Such a number is refused at every door (a declared one, an MRZ's), and links nobody
    (`cases.models.linkable_document_number`): records of one person are linked by equality of their document
    numbers, and every record holding the same placeholder would be one person (red team round 16, F1)."""
    core = number.replace("<", "")
    return _NON_ZERO_DIGIT.search(core) is None or len(set(core)) == 1
