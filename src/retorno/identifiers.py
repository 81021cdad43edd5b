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

import functools
import os
import re
import unicodedata
from collections.abc import Iterable

# The form of a case's system reference (`cases.service.next_references`: MX-2026-001249), any country's: its ISO
# alpha-2 code, the year, six digits or more (a synthetic list's INM-2023-0000001 is an agency's own reference).
_SYSTEM_REFERENCE = re.compile(r"[A-Z]{2}-[0-9]{4}-[0-9]{6,}", re.IGNORECASE)



def random_serials(count: int, space: int) -> list[int]:
    """`count` numbers drawn uniformly from 0 to `space` - 1 (at most 2**32) by the operating system's random source,
    as `secrets` draws, a batch at a time: an import draws a reference for each of 100,000 cases, which one
    `secrets.randbelow` each took 0.2 s of (`cases.service.next_references`). A 32-bit word at or past the largest
    multiple of `space` is drawn again, so that none is likelier than another."""
    limit = (1 << 32) // space * space
    drawn: list[int] = []
    while len(drawn) < count:
        words = memoryview(os.urandom(4 * (count - len(drawn) + 8))).cast("I")
        drawn.extend(word % space for word in words if word < limit)
    return drawn[:count]

def system_shaped(reference: str) -> bool:
    """Whether `reference` is in the form of a case's system reference (CC-YYYY-NNNNNN, any country's). No agency's own
    reference may be (red team round 11, RE8811 F1: an agency reference MX-2026-001249, another case's system
    reference, made the household column of a later row name that other case, a stranger's household)."""
    return _SYSTEM_REFERENCE.fullmatch(fold(reference).strip()) is not None


def any_system_shaped(values: Iterable[object]) -> bool:
    """Whether a text among `values` may be in the form of a system reference (`system_shaped`): one search over them
    all, so that an import's hundred thousand references are each read again only when one may be."""
    return _SYSTEM_REFERENCE.search(fold("\n".join(value for value in values if isinstance(value, str)))) is not None


def fold(value: str) -> str:
    """`value` with compatibility forms folded (NFKC) and every decimal digit written as its ASCII digit."""
    if value.isascii():
        return value
    folded = unicodedata.normalize("NFKC", value)
    return "".join(char if char.isascii() or (digit := unicodedata.decimal(char, None)) is None else str(digit)
                   for char in folded)


# ASCII's small letters as capitals (and nothing else: 'ß'.upper() is 'SS', which would make a refused reference one).
_ASCII_CAPITALS = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def reference(value: str) -> str:
    """An agency's own reference (a case's, a household's, an opportunity's) as stored: folded (`fold`: full-width
    letters and other scripts' digits in ASCII), its letters in capitals, without blanks at either end or runs of
    blanks inside.

    Two references that look the same must be the same: 'INM‐0001' (a U+2010 hyphen) and 'INM-0001' were two cases,
    and a household cell named the one the official did not mean (red team round 32b, F6); 'inm-002370', typed by
    hand or made small by a spreadsheet, registered a second case beside 'INM-002370' instead of updating it (round
    89, L1). What is still not printable ASCII after folding (a look-alike dash, a Cyrillic А, a no-break space) is
    refused by every door, naming its code points (`reference_problem`)."""
    folded = fold(value).translate(_ASCII_CAPITALS)
    if folded.isascii() and folded.isprintable() and "  " not in folded:
        return folded.strip()
    return " ".join(folded.split())


def reference_problem(value: str) -> str:
    """The characters of the reference `value` (as `reference` stores it) that are no printable ASCII, each named by
    its code point and Unicode name ('‐ U+2010 HYPHEN'), joined by ', '; '' when it has none."""
    if value.isascii() and value.isprintable():
        return ""  # every reference of a well-kept list: read by the hundred thousand in an import
    return ", ".join(f"{char} U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED')}"
                     for char in dict.fromkeys(value) if not (char.isascii() and char.isprintable()))


def non_ascii(value: str) -> str:
    """The characters of `value` that are not ASCII, each once, in order ('' when there is none)."""
    return "".join(dict.fromkeys(char for char in value if not char.isascii()))


# The verdicts of the placeholder rules kept per process, for each of them: every commit's same-person query asks them
# of every record on the manifests it checks (`cases.facts._linkable_keys`), a boarding of each passenger the whole
# manifest again (7 % of a boarding's processor time was these rules; `retorno bench load`). Pure functions of a text.
_VERDICTS_KEPT = 1 << 16

# A digit other than 0: what every number that names a document has (`placeholder_document_number`).
_NON_ZERO_DIGIT = re.compile(r"[1-9]")
_DIGITS = frozenset("0123456789")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The shortest number taken to name a document: an ICAO 9303 document number has up to 9 characters, a passport's 6 to
# 9 (Venezuela's 9 digits, Mexico's a letter and 8, Canada's 2 letters and 6); 'A1', '10', '1234' name none.
SHORTEST_DOCUMENT_NUMBER = 5
# The fewest characters other than 0 a number names a document with: `000000001`, `900000000`, `A00000001`,
# `P0000001A` are a 1 (a 9, an A1, a P1A) padded with zeros, "no number" as much as `1` is (red team round 18, R-F2).
# An emergency document's number of this state (`documents.mrz.emergency_document_number`: `E26000001`) has 4; one of
# a year with a 0 (`E30000001`, 2030) fewer, and is taken as its shape (`_emergency_shaped`).
FEWEST_SIGNIFICANT_CHARACTERS = 4
# The longest unit of a pattern repeated (`121212121`, `123123123`, `A1A1A1A1`), and how many times at least it comes:
# a real number of 6 or more characters is one in 10,000 or fewer.
LONGEST_REPEATED_UNIT, REPEATS = 3, 3
# A document number's unit of four said at least twice (`12341234`, `123412341`, `P12341234`; red team round 19,
# T-F3): one real number of 8 characters in 10,000, of 9 in 100,000. A cédula's is not read so (`placeholder_cedula`):
# every cédula of 8 digits is some living person's, and a refused one links none of that person's records.
LONG_UNIT, LONG_UNIT_REPEATS = 4, 2
# The digits ascending and descending, from 0 on, three times: every run of up to 20 digits (a number as stored) that
# goes on after 9 to 0 (`1234567890`) or after 0 to 9 (`0987654321`) is a part of one, starting in its first ten.
ASCENDING_DIGITS, DESCENDING_DIGITS = "0123456789" * 3, "0987654321" * 3
# The digits next to each digit in a run, up or down (9 then 0, 0 then 9).
_NEXT_DIGITS = {str(digit): str((digit + 1) % 10) + str((digit - 1) % 10) for digit in range(10)}
# The same with each digit said twice: a run of pairs (`11223344`, `112233445`, `998877665`) is a part of one
# starting at a pair, of 6 digits or more (`SHORTEST_DOUBLED_RUN`: 20 numbers in a million).
DOUBLED_ASCENDING, DOUBLED_DESCENDING = "00112233445566778899" * 3, "00998877665544332211" * 3
SHORTEST_DOUBLED_RUN = 6
# The most letters (A to Z) before, and after, a number's digits that are read off it to read the digits alone (its
# `digit_core`: `ABC111111`, `11111111A`, `1111111AB`, `CIVE11111111`; red team round 19, T-F3: letters on either
# side hid a placeholder, and four strangers were one person), and the fewest digits so read as a number.
LETTERS_AROUND_DIGITS = 4
# A number's digits with 5 zeros in a row and fewer than 4 digits other than 0 are a 1, a 12 or a 123 padded with zeros
# (`ABC000001`, `AB0000012`, `A00000123`, `100000AB`): of real digits, 6 to 8 of them, about 3 in 100,000 (a series'
# serial `PA1000200` is not padded).
PADDING_ZEROS = 5


def _series_taken_off(core: str) -> str:
    """`core` without a series of one or two characters not digits before its first digit ('P' of 'P123456', 'AB'
    of 'AB121212'): as the same-person query takes it off (`cases.facts._linkable_keys`)."""
    for letters in (1, 2):
        if (all(char not in _DIGITS for char in core[:letters]) and len(core) > letters
                and core[letters] in _DIGITS):
            return core[letters:]
    return core


def _repeats_a_unit(text: str) -> bool:
    """Whether `text` is a unit of 1 to 3 characters said at least three times (a last one cut short counts)."""
    return any(len(text) >= REPEATS * unit and text[unit:] == text[:len(text[unit:])]
               for unit in range(1, LONGEST_REPEATED_UNIT + 1))


def _repeats_a_long_unit(text: str) -> bool:
    """Whether `text` is a unit of four characters said at least twice (a last one cut short counts)."""
    return len(text) >= LONG_UNIT * LONG_UNIT_REPEATS and text[LONG_UNIT:] == text[:len(text) - LONG_UNIT]


def _digit_run(text: str, orders: tuple[str, str] = (ASCENDING_DIGITS, DESCENDING_DIGITS)) -> bool:
    """Whether `text` is digits each one more than the one before (9 then 0), or each one less (0 then 9); of
    `orders` the doubled digits, each digit said twice."""
    return bool(text) and any(
        text[0] in _DIGITS and order[order.index(text[0]):order.index(text[0]) + len(text)] == text
        for order in orders)


def _doubled_run(text: str) -> bool:
    """Whether `text` is a run of digits each said twice (`11223344`, `112233445`), of 6 digits or more."""
    return len(text) >= SHORTEST_DOUBLED_RUN and _digit_run(text, (DOUBLED_ASCENDING, DOUBLED_DESCENDING))


def _patterned(text: str) -> bool:
    """Whether `text` is what a document number of one pattern is: a unit of 1 to 3 characters said three times, of
    4 said twice, digits in a run, or a run of digits each said twice."""
    return _repeats_a_unit(text) or _repeats_a_long_unit(text) or _digit_run(text) or _doubled_run(text)


def _padded(digits: str) -> bool:
    """Whether `digits` are a number of 1 to 3 digits other than 0 padded with 5 zeros or more in a row
    (`PADDING_ZEROS`)."""
    return "0" * PADDING_ZEROS in digits and len(digits) - digits.count("0") < FEWEST_SIGNIFICANT_CHARACTERS


def digit_core(text: str) -> str:
    """The digits of `text` when it is up to 4 letters (A to Z), digits and up to 4 letters (`LETTERS_AROUND_DIGITS`:
    `ABC111111`, `11111111A`, `CIVE11111111`, `111111` itself), else '' (`P1A2B3`, `ABCDE111111`): what a number's
    letters of a series or a kind leave to be read as a number."""
    rest = text.lstrip(_LETTERS)
    middle = rest.rstrip(_LETTERS)
    if (len(text) - len(rest) <= LETTERS_AROUND_DIGITS and len(rest) - len(middle) <= LETTERS_AROUND_DIGITS
            and middle and all(char in _DIGITS for char in middle)):
        return middle
    return ""


def emergency_series_number(number: str) -> bool:
    """Whether a (normalised) document number is one of a receiving state's emergency travel document series, `E` and
    eight digits (`documents.mrz.in_emergency_series`): declared on a record under any type, it is that document and
    no cédula (`cases.facts._same_kind`, `_identity_card`; red team round 63, F1)."""
    return len(number) == 9 and number[0] == "E" and all(char in _DIGITS for char in number[1:])


def _emergency_shaped(core: str) -> bool:
    """Whether `core` has the shape of an emergency document's number (`documents.mrz.emergency_document_number`):
    `E`, a two-digit year other than 00, a sequence of six digits (`E26000000`, never issued, is refused where it is
    filed as such: `emergency_number_not_issued`)."""
    return len(core) == 9 and core[0] == "E" and all(char in _DIGITS for char in core[1:]) and core[1:3] != "00"


@functools.lru_cache(maxsize=_VERDICTS_KEPT)
def placeholder_document_number(number: str) -> bool:
    """Whether a document number, as stored (upper-case, without spaces and hyphens; an MRZ's fillers `<` not
    counted), names no document: what an official types where the number is not known, or copies from an example.

    - shorter than 5 characters (`SHORTEST_DOCUMENT_NUMBER`: '', fillers only, `0`, `A1`, `1234`);
    - without a digit other than 0 (`000000000`, `P0000000`, and words written where the number was unknown:
      `SINDOC`, `NONE`...);
    - with fewer than 4 characters other than 0 (`FEWEST_SIGNIFICANT_CHARACTERS`: `000000001`, `000000123`,
      `900000000`, `00001`, `A00000001`, `P0000001A`), but for an emergency document's number (`E30000001`);
    - one character, or a unit of two or three, repeated at least three times (`111111111`, `121212121`,
      `12121212`, `123123123`, `A1A1A1`);
    - digits in a run, ascending or descending (`123456789`, `12345678`, `1234567`, `987654321`, `0123456789`,
      `1234567890`: the case template's example used to be `123456789`);
    - a unit of four repeated at least twice (`12341234`, `123412341`), or a run of digits each said twice of 6 or
      more (`11223344`, `112233445`).

    The repeated unit and the run are read of the number and of its digits after a series of one or two letters
    (`P1111111`, `P121212`, `A1234567`, `AB123456`); and of its digits between up to 4 letters before and up to 4 after
    them (`digit_core`), 5 digits or more, where padded with zeros too (5 zeros in a row, fewer than 4 other digits):
    `ABC111111`, `11111111A`, `1111111AB`, `P12341234`, `ABC000001`, `AB0000012` (red team round 19, T-F3: letters
    around the digits hid a placeholder, and four strangers were one person). An emergency document's number as this
    system issues it (`E26002600`) is read only as the first rules read it. Such a number is refused at every door (a
    declared one, an MRZ's), and links nobody (`cases.facts._linkable_keys`): records
    of one person are linked by equality of their document numbers, and every record holding the same placeholder would
    be one person (red team round 16, F1: zeros, words, one character repeated; round 17, O-F1: the template's example
    `123456789` and other sequences linked strangers of two agencies, and one's concern took the other's passenger off a
    locked manifest; round 18, R-F2: a 1 padded with zeros, `000000001`, declared by two agencies did the same)."""
    core = number.replace("<", "")
    digits = _series_taken_off(core)
    if (len(core) < SHORTEST_DOCUMENT_NUMBER or _NON_ZERO_DIGIT.search(core) is None
            or (len(core) - core.count("0") < FEWEST_SIGNIFICANT_CHARACTERS and not _emergency_shaped(core))
            or _repeats_a_unit(core) or (digits != core and _repeats_a_unit(digits)) or _digit_run(digits)):
        return True
    if _emergency_shaped(core):
        return False  # an emergency document's sequence (`E26002600`, `E26000100`) is read as issued
    # `_patterned(digits)`, its unit of 1 to 3 and its run read above; and of the digits between letters, unless they
    # are those digits (a number of digits alone, most of them: each rule read once).
    if _repeats_a_long_unit(core) or (digits != core and _repeats_a_long_unit(digits)) or _doubled_run(digits):
        return True
    inner = digit_core(core)
    return len(inner) >= SHORTEST_DOCUMENT_NUMBER and (_padded(inner) or (inner != digits and _patterned(inner)))


# The fewest digits of a cédula read as a pattern (`placeholder_cedula`): low cédulas (V1 to V99999) were issued to real
# people, so a cédula is never refused for being short, and a pattern of 5 digits or fewer may be one of them.
SHORTEST_PATTERNED_CEDULA = 6


def cedula_digits_of(national_id: str) -> str:
    """A national ID's digits as records are linked by them (`cases.models.cedula_digits`): its leading E and V taken
    off."""
    return national_id.lstrip("VE")


@functools.lru_cache(maxsize=_VERDICTS_KEPT)
def placeholder_cedula(national_id: str) -> bool:
    """Whether a national ID as stored ('V11111111', upper-case, without dots) names nobody: of 6 digits or more
    (`SHORTEST_PATTERNED_CEDULA`), one digit or a unit of two or three repeated (`V11111111`, `V99999999`,
    `V12121212`, `V123123123`) or digits in a run (`V12345678`, `V123456789`, `V87654321`): what an official types
    where the cédula is not known. The rule of `placeholder_document_number` without its length (a real cédula may
    be `V1`) and read of the digits after the letter (`cedula_digits_of`). Refused at every door as
    `cedula_placeholder`, and links nobody (`cases.facts._linkable_keys`): every record
    holding it would be one person (red team round 17, O-F1 neighbour). Cédulas of zeros are refused by their form."""
    digits = cedula_digits_of(national_id)
    if len(digits) < SHORTEST_PATTERNED_CEDULA:
        return False
    # Most cédulas at once: a unit repeated starts again within 3 characters, a run's second digit is next to its first.
    if digits[0] not in digits[1:LONGEST_REPEATED_UNIT + 1] and digits[1] not in _NEXT_DIGITS.get(digits[0], ""):
        return False
    return _repeats_a_unit(digits) or _digit_run(digits)


# A registry record that is a number with letters around it, a cédula typed with its document's prefix or suffix
# (`V25956097`, `CI25956097`, `VEN25956097`, `RC25956097`, `CIVE25956097`, `CIVEN25956097`, `25956097V`): its digits
# (`registry_record_digits`). Red team rounds 18 (R-F4: `CI`, `VEN`, `RC`), 19 (T-F3: `CIVE`, `RCVE`) and 21 (W-F1:
# `CIVEN`, `CIVENE`, a letter after the digits) each found another spelling made another record, so that a second
# verification against it was neither checked nor linked: any letters before and after the digits are read off now.
_LETTERED_DIGITS = re.compile(r"[A-Z]*([0-9]+)[A-Z]*")


def registry_record_digits(record: str) -> str:
    """A registry record id (canonical: `verification.records.canonical_or_none`) as records are compared by it
    (`verification.records.record_digits`, in SQL `cases.models.registry_record_digits`), as a cédula is: the digits of
    a record of letters, digits and letters (`V25956097`, `E25956097`, `CI25956097`, `VEN25956097`, `CIVEN25956097`,
    `25956097V`: one record, `25956097`), else the record without its leading E and V (`cedula_digits_of`: `A1B2`).
    A false link of two records holds both people back until a supervisor sorts it out (`REGMX2026000001` and
    `REGUS2026000001` are one record now, both `2026000001`); a missed one let a person with an open protection
    concern fly (W-F1)."""
    lettered = _LETTERED_DIGITS.fullmatch(record)
    return lettered[1] if lettered else cedula_digits_of(record)


def identity_card_digits(number: str) -> str:
    """An identity card's declared number as a cédula is linked by it (`cases.models.identity_card_digits`): without
    the letters (A to Z) at either end and its leading zeros, so that `V020417395`, `VEN20417395`, `CIV20417395` and
    `20417395V` are the cédula V20417395 (red team round 61, F2: they linked nobody)."""
    return number.strip(_LETTERS).lstrip("0")


def registry_record_key(record: str) -> str:
    """A registry record without its letters (A to Z) at either end, `cases.models.registry_record_key` in Python: of
    `registry_record_digits(record)` the same as of `record`, which the database's index of records holds."""
    return record.strip(_LETTERS)


@functools.lru_cache(maxsize=_VERDICTS_KEPT)
def placeholder_registry_record(record: str) -> bool:
    """Whether a registry record id in its canonical form (`verification.records.canonical_or_none`: '000000' is '0')
    names no record: read as records are compared (`registry_record_digits`: `V23456789`, `CI23456789` are `23456789`),
    without a digit other than 0 (`0`, `NA`, `XXXXXX`, `SINREGISTRO`, `NINGUNO`), or what a placeholder cédula is
    (`placeholder_cedula`: 6 characters or more, one repeated or a unit of two or three repeated, `111111`, `V99999999`,
    `121212`, or digits in a run, `123456`, `12345678`, `V23456789`, `123456789`). A verified decision naming a
    placeholder is refused (`registry_record_placeholder`), as is a review or another decision naming one, and records
    verified against one are not linked by it (`cases.facts._linkable_keys`): two strangers verified against `0` became
    one person, and one's refugee concern held the other (red team round 17, O-F6); so did a woman and a man verified
    against `23456789` and `V23456789`, and a third person's review naming it with a child's birth date made both minors
    (round 18, R-F1). A registry's own integer id of such a shape (`123456`, of a registry that large) is refused with
    them: one in tens of thousands, named by another of its identifiers (the person's cédula). The digits between
    letters before and after them are read so too: `11111111A`, `RCVE11111111` (red team round 19, T-F3)."""
    digits = registry_record_digits(record)
    return (_NON_ZERO_DIGIT.search(digits) is None or placeholder_cedula(digits)
            or placeholder_cedula(digit_core(record)))
