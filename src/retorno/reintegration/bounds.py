"""The bounds of what reintegration records take, once for every door (API, pages, imports, command line).

The service checks them (`service._check_opportunity`, `update_placement`, `record_follow_up`,
`record_intake`); the API's request bodies and the opportunity import declare the same numbers from here,
so a form, a file and a request refuse the same values.

- Occupations are ISCO-08 unit groups that exist (`is_isco08`): four digits are not enough ("0000").
- Dates: an opportunity starts from EARLIEST_START to a year ahead (`latest_day`); a placement's step is
  dated from the returnee's consent and the offer on (an end from the placement's start), and not after
  today, a start included (it records what happened: red team round 17, Q-F2); a follow-up is recorded from
  FOLLOW_UP_EARLY before it falls due.
- Ages: an opportunity's minimum age is within MIN_AGE; an internship's is 18 at least
  (`safeguards.INTERNSHIP_MIN_AGE`, `service.internship_age_problem`).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pycountry

# ISCO-08 (ILO, 2008): each of its 130 minor groups and the last digits of its 436 unit groups. A minor
# group with one unit group numbers it 0 (e.g. 1120 Senior government officials).
_ISCO08_UNITS = {
    "011": "0", "021": "0", "031": "0",
    "111": "1234", "112": "0", "121": "1239", "122": "123", "131": "12", "132": "1234", "133": "0",
    "134": "1234569", "141": "12", "142": "0", "143": "19",
    "211": "1234", "212": "0", "213": "123", "214": "1234569", "215": "123", "216": "123456", "221": "12",
    "222": "12", "223": "0", "224": "0", "225": "0", "226": "12345679", "231": "0", "232": "0", "233": "0",
    "234": "12", "235": "1234569", "241": "123", "242": "1234", "243": "1234", "251": "12349", "252": "1239",
    "261": "129", "262": "12", "263": "123456", "264": "123", "265": "1234569",
    "311": "123456789", "312": "123", "313": "123459", "314": "123", "315": "12345", "321": "1234", "322": "12",
    "323": "0", "324": "0", "325": "123456789", "331": "12345", "332": "1234", "333": "12349", "334": "1234",
    "335": "123459", "341": "123", "342": "123", "343": "12345", "351": "1234", "352": "12",
    "411": "0", "412": "0", "413": "12", "421": "1234", "422": "12345679", "431": "123", "432": "123",
    "441": "1234569",
    "511": "123", "512": "0", "513": "12", "514": "12", "515": "123", "516": "123459", "521": "12", "522": "123",
    "523": "0", "524": "1234569", "531": "12", "532": "129", "541": "12349",
    "611": "1234", "612": "1239", "613": "0", "621": "0", "622": "1234", "631": "0", "632": "0", "633": "0",
    "634": "0",
    "711": "123459", "712": "1234567", "713": "123", "721": "12345", "722": "1234", "723": "1234",
    "731": "123456789", "732": "123", "741": "123", "742": "12", "751": "123456", "752": "123", "753": "123456",
    "754": "12349",
    "811": "1234", "812": "12", "813": "12", "814": "123", "815": "12345679", "816": "0", "817": "12",
    "818": "1239", "821": "129", "831": "12", "832": "12", "833": "12", "834": "1234", "835": "0",
    "911": "12", "912": "1239", "921": "123456", "931": "123", "932": "19", "933": "1234", "941": "12",
    "951": "0", "952": "0", "961": "123", "962": "12349",
}
ISCO08_UNIT_GROUPS = frozenset(minor + last for minor, lasts in _ISCO08_UNITS.items() for last in lasts)


def is_isco08(code: object) -> bool:
    """Whether `code` is an ISCO-08 unit group: four digits naming one that exists (not "0000", not "7290")."""
    return isinstance(code, str) and code in ISCO08_UNIT_GROUPS


# An opportunity's numbers and texts (the import's columns and the API's fields say the same).
SEATS = (1, 10_000)
TUTORS = (1, 1_000)
DURATION_MONTHS = (1, 60)
MIN_AGE = (14, 99)
TEXT_LENGTHS = {"title": 200, "workplace": 200, "sector": 80, "municipality": 120}
# A skill is a few words; an opportunity asks for, and a returnee tells, a few of them.
SKILL_LENGTH = 80
SKILLS = 30

# Dates: a year ahead (the same day of next year) is as far as a programme plans; before 2000 is a typo (a wrong
# century).
EARLIEST_START = date(2000, 1, 1)
# A follow-up is recorded once it is due, or this long before (the visit is planned around the date).
FOLLOW_UP_EARLY = timedelta(days=14)


def follow_up_opens(due_on: date) -> date:
    """The first day a follow-up due on `due_on` may be recorded: its figures are the returnee's situation that
    many months in. `service.record_follow_up` refuses it before; every door that lists it (the API, the page, its
    CSV/XLSX, `retorno follow-ups list`) shows this day (red team round 5, B-F4)."""
    return due_on - FOLLOW_UP_EARLY


def latest_day(today: date) -> date:
    """The latest day a reintegration record may name ahead of `today`, an opportunity's start: a
    year ahead, the same day of next year (the 28th of February for the 29th). It was 366 days, a day more than a
    year in most years (red team round 3)."""
    try:
        return today.replace(year=today.year + 1)
    except ValueError:
        return today.replace(year=today.year + 1, day=28)


# ISO 4217's codes that name no money a person is paid in: no currency (XXX), the code kept for testing (XTS),
# precious metals, the bond market's units, the IMF's and other institutions' units of account, and the funds codes
# of a few countries (an indexed unit, a next-day dollar).
NOT_MONEY = frozenset({"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA",
                       "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW"})


def is_currency(code: object) -> bool:
    """Whether `code` is an ISO 4217 code of a currency (VES, USD), as the import reads the column: not one of the
    codes that name no money (`NOT_MONEY`: "XXX" is ISO 4217's "no currency")."""
    return isinstance(code, str) and len(code) == 3 and code not in NOT_MONEY \
        and pycountry.currencies.get(alpha_3=code) is not None


# An amount of money as its exact decimal text, at every door (a file's cell, a form's field, the API's text, the
# command line's option): ASCII digits, ten at most, then perhaps a decimal mark ("." or ",") and one or two
# digits. No sign (an amount is never negative, and "-0" is no amount), no grouping ("1_000", "1.000,00"), no
# space around it, no other script's digits ("١٢٣"), which Python's own Decimal() takes.
_AMOUNT_TEXT = re.compile(r"[0-9]{1,10}(?:[.,][0-9]{1,2})?")
AMOUNT_LIMIT = Decimal("1e10")


def amount(text: str) -> Decimal | None:
    """The amount `text` writes (`_AMOUNT_TEXT`), or None when it writes none."""
    if not _AMOUNT_TEXT.fullmatch(text):
        return None
    return Decimal(text.replace(",", "."))


def is_amount(value: Decimal) -> bool:
    """Whether `value` is an amount an opportunity may pay: finite, from 0 to below `AMOUNT_LIMIT`, in cents at most,
    and not a negative zero (stored as -0.0, "-0" passed every `>= 0` check)."""
    return (value.is_finite() and not value.is_signed() and value < AMOUNT_LIMIT
            and value == value.quantize(Decimal("0.01")))
