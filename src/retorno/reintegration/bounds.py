"""The bounds of what reintegration records take, once for every door (API, pages, imports, command line).

The service checks them (`service._check_opportunity`, `update_placement`, `record_follow_up`,
`record_intake`); the API's request bodies and the opportunity import declare the same numbers from here,
so a form, a file and a request refuse the same values.

- Occupations are ISCO-08 unit groups that exist (`is_isco08`): four digits are not enough ("0000").
- Dates: an opportunity starts from EARLIEST_START to a year ahead (`latest_day`); a placement's step is
  dated from the returnee's consent and the offer on (an end from the placement's start), a start up to a
  year ahead and any other step not after today (it records what happened); a follow-up is recorded from
  FOLLOW_UP_EARLY before it falls due.
"""

from __future__ import annotations

from datetime import date, timedelta

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

# Dates: a year ahead is as far as a programme plans; before 2000 is a typo (a wrong century).
EARLIEST_START = date(2000, 1, 1)
AHEAD = timedelta(days=366)
# A follow-up is recorded once it is due, or this long before (the visit is planned around the date).
FOLLOW_UP_EARLY = timedelta(days=14)


def latest_day(today: date) -> date:
    """The latest day a reintegration record may name ahead of `today`: an opportunity's or a placement's start."""
    return today + AHEAD


def is_currency(code: object) -> bool:
    """Whether `code` is an ISO 4217 currency code (VES, USD), as the import reads the column."""
    return isinstance(code, str) and len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None
