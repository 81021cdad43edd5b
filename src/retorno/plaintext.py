"""Text people type: the characters no input may hold, decided once for every door.

A name or a note is read by people, on pages, printed manifests and spreadsheets. Characters that
do not show or that change how the text around them reads have no place in it: control characters
(NUL, which PostgreSQL cannot store, and the rest; a tab and a line break are text), bidirectional
controls (U+202E turns "evil" into "live" on screen), zero-width and other format characters, lone
surrogates, the Unicode line and paragraph separators, and letters drawn as a blank (the Hangul fillers,
the blank braille pattern). `unwanted` finds them; the API's bodies
(`Input`), the pages' forms, the spreadsheet imports and the command line's arguments refuse text
holding any, naming each by its code point, and exports leave out whatever an older record still
holds (`shown`).

A tab and a line break are text only where text runs over several lines: notes, reasons, written
explanations, an MRZ (`MULTILINE_FIELDS`). A name, a reference or a code is one line
(`single_line`): a line break in it would make a printed manifest, a PAXLST or a spreadsheet row read
as two, so every door refuses it there.
"""

from __future__ import annotations

import functools
import re
import typing
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from itertools import compress
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NaiveDatetime, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# Control characters that are text: a tab and line breaks, in notes and reasons.
_TEXT_CONTROLS = frozenset("\t\n\r")
# The fields (by name, at every door: the API's bodies, the pages' forms, the imports' columns, the command
# line's options) whose text may run over several lines; every other field is one line.
MULTILINE_FIELDS = frozenset({"notes", "note", "reason", "reject_reason", "explanation", "summary", "work_history",
                              "mrz", "mrz_text"})
# Cc control, Cf format (bidirectional controls, zero-width characters, soft hyphen, BOM), Cs lone
# surrogate, Zl/Zp the line and paragraph separators.
_UNWANTED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Letters and signs drawn as nothing, a blank as wide as a letter (the Hangul fillers, the blank braille pattern):
# a run of them hides the text after it as spaces do, and they are not spaces to fold (red team round 25, AA-F1).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Code points named in one message at most.
MOST_NAMED = 5

# The API's validation error (pydantic's template syntax); its Spanish is in the catalog like pydantic's own.
ERROR_TYPE = "text_characters"
ERROR_TEMPLATE = "Text must not hold control, bidirectional or invisible characters (found {characters})"
VALIDATION_TEMPLATES = {ERROR_TYPE: ERROR_TEMPLATE}


def single_line(field: str | None) -> bool:
    """Whether the field named `field` holds one line (a name, a reference, a code): all but `MULTILINE_FIELDS`."""
    return (field or "").strip().lstrip("-").replace("-", "_").lower() not in MULTILINE_FIELDS


def _unwanted(character: str, one_line: bool = False) -> bool:
    if character in _TEXT_CONTROLS:
        return one_line
    return unicodedata.category(character) in _UNWANTED_CATEGORIES or character in _BLANK_LETTERS


@functools.cache
def _unwanted_points() -> tuple[int, ...]:
    """Every code point of an unwanted category, a tab and line breaks included: the categories looked up in one
    pass in C, not by a Python call per code point (which took twice as long, paid by each process's first import)."""
    # Planes 0, 1 and 14 hold every control, format, surrogate and separator character Unicode assigns.
    points = (*range(0x20000), *range(0xE0000, 0xF0000))
    categories = map(unicodedata.category, map(chr, points))
    return tuple(sorted({*compress(points, [category in _UNWANTED_CATEGORIES for category in categories]),
                         *map(ord, _BLANK_LETTERS)}))


@functools.cache
def _pattern(one_line: bool = False) -> re.Pattern[str]:
    """One character class of every unwanted code point (built once: a whole imported column is searched in C);
    with `one_line`, a tab and line breaks too."""
    ranges: list[tuple[int, int]] = []
    for point in _unwanted_points():
        if not one_line and chr(point) in _TEXT_CONTROLS:
            continue
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")


def load_unwanted() -> None:
    """Build the unwanted characters' table and patterns now (a worker that is starting:
    `web.app.load_reference_data`)."""
    # Each way it is called is a key of its own in the cache.
    _pattern()
    _pattern(False)
    _pattern(True)


def unwanted(text: str, *, one_line: bool = False) -> list[str]:
    """The characters of `text` no input may hold, each once, as code points ('U+202E'), in order of appearance;
    with `one_line` (a field `single_line` names) a tab and line breaks too."""
    if text.isascii() and text.isprintable():
        return []
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in _pattern(one_line).findall(text)))


def named(codes: Iterable[str]) -> str:
    """Code points as a message names them: the first few, then how many more."""
    listed = list(codes)
    shown = ", ".join(listed[:MOST_NAMED])
    return shown if len(listed) <= MOST_NAMED else f"{shown} (+{len(listed) - MOST_NAMED})"


def shown(text: str) -> str:
    """`text` without the characters no input may hold: for writing out a value stored before they were refused."""
    return text if text.isascii() and text.isprintable() else _pattern().sub("", text)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)


def _numbers(annotation: Any) -> set[type]:
    """The number types (int, float) a field's annotation holds, at any depth, unless it takes a bool too."""
    found: set[type] = set()
    for part in (annotation, *typing.get_args(annotation)):
        if part is bool:
            return set()
        if part in (int, float):
            found.add(part)
        elif part is not annotation and typing.get_args(part):
            inner = _numbers(part)
            if not inner and bool in typing.get_args(part):
                return set()
            found |= inner
    return found


def _takes_text(annotation: Any) -> bool:
    """Whether a field's annotation takes text where it takes a value, at any depth (a dict's keys are no value)."""
    parts = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict:
        parts = parts[1:]
    return annotation is str or any(_takes_text(part) for part in parts)


def _a_day(annotation: Any) -> bool:
    """Whether a field is a calendar day (`date`, or `date | None`; not a `datetime`)."""
    return annotation is date or (date in typing.get_args(annotation)
                                  and set(typing.get_args(annotation)) <= {date, type(None)})


_MOMENTS = frozenset({datetime, AwareDatetime, NaiveDatetime})


def _a_time(annotation: Any) -> bool:
    """Whether a field is a moment (`datetime`, pydantic's `AwareDatetime`..., or one of them `| None`)."""
    args = set(typing.get_args(annotation))
    return annotation in _MOMENTS or (bool(args & _MOMENTS) and args <= _MOMENTS | {type(None)})


# A day as every door reads it: ISO 8601's calendar date and nothing else; a moment: a date, then the time.
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", re.ASCII)


class DayError(ValueError):
    """A day (or a moment) typed as text otherwise than in ISO form (`kind` 'form'), or in it but not a day of the
    calendar ('calendar': 1990-02-30)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def iso_day(text: str) -> date:
    """A day typed as text, at every door (the API's bodies and queries, an import's cells, a page's fields, a
    command-line option): YYYY-MM-DD and nothing else. Not DD/MM/YYYY or MM/DD/YYYY, which one agency writes day
    first and another month first ('03-04-2009' is 3 April in Caracas and March 4 in Texas, and a birth date decides
    who is a minor), nor unpadded parts, dots or ISO's other forms ('19900304', '1990-W09-7') that Python's
    `date.fromisoformat` also reads (red team round 16, F5). A spreadsheet's date cell is a date, not text, and is
    read as one (`imports.reading`). Raises DayError."""
    if not _ISO_DAY.match(text):
        raise DayError("form")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DayError("calendar") from None


def iso_moment(text: str) -> datetime:
    """A moment typed as text: its ISO day (`iso_day`), then the time ('2026-12-03T14:30' or '2026-12-03 14:30',
    seconds and an offset optional). Raises DayError."""
    if not _ISO_TIME.match(text):
        raise DayError("form")
    iso_day(text[:10])
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise DayError("form") from None


def _a_boolean(annotation: Any) -> bool:
    """Whether a field is a boolean (`bool`, or `bool | None`)."""
    return annotation is bool or (bool in typing.get_args(annotation)
                                  and set(typing.get_args(annotation)) <= {bool, type(None)})


def _holds(value: Any, kinds: type | tuple[type, ...]) -> bool:
    """Whether `value`, an item of it (a list's) or a value of it (a dict's) is of `kinds`."""
    if isinstance(value, kinds):
        return True
    if isinstance(value, (list, tuple)):
        return any(isinstance(item, kinds) for item in value)
    if isinstance(value, dict):
        return any(isinstance(item, kinds) for item in value.values())
    return False


class Input(BaseModel):
    """Every API request body: no text in it, however nested, holds a character `unwanted` finds (422); nor a
    tab or a line break, outside the fields that run over several lines (`single_line`). And its numbers and
    booleans are strict, in every field of every body: a number is a JSON number, `true` is no 1 and "10" no 10,
    a count is a JSON integer (10.0 is no 10), a boolean is `true` or `false`, never "true", "yes" or 1
    (pydantic's lax mode reads each so, and a client's slip, a quoted count, a count computed as a float or a string
    flag, would be taken for what it did not say). pydantic's own strict mode is
    not used for the whole body: the API reads dates and times as ISO text, which strict mode refuses in the
    Python objects FastAPI validates. A money amount (Decimal) keeps taking its exact decimal text ("130.50")."""

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers_and_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        kinds = _numbers(annotation)
        if kinds and (_holds(value, bool) or (not _takes_text(annotation) and _holds(value, str))
                      or (float not in kinds and _holds(value, float))):
            if int in kinds:
                raise PydanticCustomError("int_type", "Input should be a valid integer")
            raise PydanticCustomError("float_type", "Input should be a valid number")
        if _a_boolean(annotation) and value is not None and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Input should be a valid boolean")
        # A day is its ISO text, YYYY-MM-DD; a moment, its ISO date and time: pydantic's lax mode read a number, or
        # its text, as seconds since 1970 ("1230768000" was stored as a birth date, 2009-01-01: red team round 15)
        # and a moment at midnight as a day.
        if _a_day(annotation) and value is not None and not (
                (isinstance(value, date) and not isinstance(value, datetime))
                or (isinstance(value, str) and _ISO_DAY.match(value))):
            raise PydanticCustomError("date_type", "Input should be a date in the form YYYY-MM-DD")
        if _a_time(annotation) and value is not None and not (
                isinstance(value, datetime) or (isinstance(value, str) and _ISO_TIME.match(value))):
            raise PydanticCustomError("datetime_type", "Input should be a date and time in ISO 8601 form "
                                                       "(YYYY-MM-DDTHH:MM, with a time zone)")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any, info: ValidationInfo) -> Any:
        one_line = single_line(info.field_name)
        found = [code for text in _strings(value) for code in unwanted(text, one_line=one_line)]
        if found:
            raise PydanticCustomError(ERROR_TYPE, ERROR_TEMPLATE, {"characters": named(dict.fromkeys(found))})
        return value


class LocalizedMessage(BaseModel):
    """A message of an answer in the language asked for with Accept-Language (`web.refusals.in_language`)."""

    model_config = ConfigDict(title="LocalizedMessage")

    language: str = Field(description="the language of `message`: es")
    message: str
