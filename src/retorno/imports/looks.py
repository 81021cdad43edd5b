"""What a workbook shows of its cells, read from its styles, theme and strings: which cells it shows otherwise than
they are, so that an import never takes a value the official who sends the file cannot see (red team rounds 23 and
24, Y-F1, Z-F1 to Z-F8).

A cell shows what it holds when its letters stand out from their background (a contrast of at least MIN_CONTRAST,
as WCAG measures it: white, near-white or yellow letters on white do not), are of a readable size in a font of
letters (not Wingdings), are not struck out, rotated into a stack, pushed out by an indent or shrunk to fit, and its
number format shows the value itself: no text of its own, no colour or condition of its own, and a date whole (year
of four digits, month and day, in the order year-month-day, day-month-year or month-day-year, in the Gregorian
calendar). Rich text runs of a string, conditional formats and tables' styles are held to the same rules.
Theme colours are read from the workbook's theme (Office's default when it has none), tints applied, and palette
colours from the workbook's own palette when it has one.
"""

from __future__ import annotations

import colorsys
import html
import math
import posixpath
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from xml.etree import ElementTree

from openpyxl.styles.colors import COLOR_INDEX
from openpyxl.styles.numbers import is_date_format
from openpyxl.utils import column_index_from_string

from retorno.imports.errors import UnreadableFileError

# Letters smaller than this (points), larger than this (clipped by a row of ordinary height), or whose contrast with
# their background is below this (WCAG's ratio, 1 to 21: FEFEFE on white is 1.01, yellow on white 1.07, light grey
# D9D9D9 on white 1.4, the lightest grey still read 2), are not read as they are.
MIN_FONT_SIZE = 6.0
MAX_FONT_SIZE = 72.0
# A row lower than this share of its letters' size cuts them to a slice no one reads (red team round 32b, F4: 60-point
# letters in a 9-point row were read, unseen): Excel's own row for 11-point letters is 15 points, and 14-point letters
# in a 10-point row still read.
ROW_SHARE = 0.6
# Excel's default size of letters (points).
ORDINARY_SIZE = 11.0
# The height of a line of wrapped letters, by their size: Excel's row for one line of 11-point letters is 15 points.
LINE_HEIGHT = 15 / 11
# How much more than a column's width (counted in digits '0' of 11 points, as spreadsheets count it) a line of
# wrapped text is taken to hold, its letters measured by their width (`text_width`): a line that fits is never
# counted as cut for an error of the measure (red team round 33, F1).
LINE_SLACK = 1.05
# The width of letters in digits (Calibri's, the default font's, roughly; other fonts differ by a few per cent): a
# capital is wider than a digit, a small letter narrower (red team round 33b, F3: MAXIMILIANO WENCESLAO, 21 capitals,
# was counted to fit a column 20 digits wide, and wrapped to two lines in a row showing one).
_WIDTHS = {**dict.fromkeys("ABCDEFGHKNOPQRSTUVXYZ", 1.15), "M": 1.7, "W": 1.75, "I": 0.5, "J": 0.63, "L": 0.83,
           **dict.fromkeys("abcdeghknopqsuvxyz", 0.9), "m": 1.58, "w": 1.41, "i": 0.45, "l": 0.45, "j": 0.45,
           "f": 0.65, "t": 0.65, "r": 0.68, " ": 0.45}
# The fewest characters a cell's column shows of its value, its indent taken off, at its letters' size: fewer, and the
# value is out of sight (an indent of 15 in a column 10 characters wide, 72-point letters in a column of 8.43).
FEWEST_SHOWN = 2.0
MIN_CONTRAST = 1.5
# An indent of more characters than this pushes a value out of an ordinary column.
MAX_INDENT = 15
# A superscript or subscript is drawn at about 60 % of its size.
SCRIPT_SCALE = 0.6
# Fonts that draw signs in place of letters, by their name folded (lower case, letters and digits only): the dingbat,
# symbol and icon fonts of Windows, macOS and Linux (red team rounds 24 and 25, Z-F8, AA-F3), and any whose name says
# it is one. A font of the symbol character set (charset 2) draws signs whatever its name.
SYMBOL_FONTS = frozenset({"wingdings", "wingdings2", "wingdings3", "webdings", "symbol", "symbolmt", "marlett",
                          "zapfdingbats", "itczapfdingbats", "dingbats", "monotypesorts", "mtextra",
                          "bookshelfsymbol7", "msoutlook", "msreferencespecialty", "segoemdl2assets",
                          "holomdl2assets", "segoefluenticons", "opensymbol", "standardsymbolsps",
                          "standardsymbolsl"})
_SYMBOL_FONT_NAME = re.compile(r"dingbat|wingding|webding|mdl2assets|fluenticons|fontawesome|materialicons"
                               r"|materialsymbols|glyphicons|sorts\d*$|icons?$|barcode|^adobeblank|redacted"
                               r"|^flowblock|^blokk")
SYMBOL_CHARSET = "2"


def symbol_font(name: str) -> bool:
    """Whether the font named `name` draws signs in place of letters (`SYMBOL_FONTS`)."""
    folded = re.sub(r"[^a-z0-9]", "", name.lower())
    return folded in SYMBOL_FONTS or _SYMBOL_FONT_NAME.search(folded) is not None

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DRAWING = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_PACKAGE_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# The theme's colours by the index styles.xml gives them (light 1 and dark 1, light 2 and dark 2 come swapped),
# and Office's default theme's, for a workbook that has none.
_THEME_ORDER = ("lt1", "dk1", "lt2", "dk2", "accent1", "accent2", "accent3", "accent4", "accent5", "accent6",
                "hlink", "folHlink")
_OFFICE_THEME = ("FFFFFF", "000000", "E7E6E6", "44546A", "4472C4", "ED7D31", "A5A5A5", "FFC000", "5B9BD5", "70AD47",
                 "0563C1", "954F72")
WHITE, BLACK = "FFFFFF", "000000"
# How much of a patterned fill is its foreground colour (the rest its background's).
_DENSITY = {"solid": 1.0, "darkGray": 0.75, "mediumGray": 0.5, "lightGray": 0.25, "gray125": 0.125,
            "gray0625": 0.0625}
_PATTERN_DENSITY = 0.5  # stripes, grids, trellises

# Built-in number formats (no numFmt element names them) of dates and times that show no whole date: 'd-mmm-yy',
# 'd-mmm', 'mmm-yy', the times and durations, and the East Asian calendars' dates (27-36, 50-58).
PARTIAL_BUILT_IN = frozenset({"15", "16", "17", "18", "19", "20", "21", "45", "46", "47",
                              *(str(n) for n in range(27, 37)), *(str(n) for n in range(50, 59))})

# How a number format shows a number: the decimals it shows (a number with more is shown rounded), or ALTERED where
# it shows it otherwise (a percentage, scientific notation, a fraction, thousands scaled off by a trailing comma,
# leading zeros: '0000000');
# the built-in formats (no numFmt element names them) by their number.
ALTERED = -1
BUILT_IN_NUMBERS = {"1": 0, "2": 2, "3": 0, "4": 2, "5": 0, "6": 0, "7": 2, "8": 2, "9": ALTERED, "10": ALTERED,
                    "11": ALTERED, "12": ALTERED, "13": ALTERED, "37": 0, "38": 0, "39": 2, "40": 2, "48": ALTERED}

# Brackets a number format may have: a locale or a currency with no calendar ('[$-409]', '[$€-2]', '[$-F800]',
# '[$-es-VE]'),
# and a duration's elapsed hours, minutes or seconds ('[h]'). Any other ('[White]', '[Color2]', '[<1]', a calendar
# '[$-1060000]') shows the value in a colour or by a condition of its own.
_ALLOWED_BRACKET = re.compile(
    r"\[\$[^\]\-\d]*(?:-(?:[0-9A-Fa-f]{1,4}|[A-Za-z]{2,3}(?:-[A-Za-z]{2,4})?))?\]|\[(?:h+|m+|s+)\]", re.I)


def _local(element: ElementTree.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def child(element: ElementTree.Element | None, name: str) -> ElementTree.Element | None:
    """The first child of `element` named `name`, whatever its namespace (styles.xml's, or a worksheet's inline
    conditional format, read without one)."""
    if element is None:
        return None
    return next((found for found in element if _local(found) == name), None)


def _automatic(element: ElementTree.Element | None) -> bool:
    return element is not None and element.get("auto") in ("1", "true")


def _true(element: ElementTree.Element | None) -> bool:
    """A boolean property element (`<strike/>`, `<strike val="1"/>`) set."""
    return element is not None and element.get("val", "1").lower() not in ("0", "false")


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two RGB colours ('RRGGBB'), 1 (the same) to 21 (black on white)."""
    def luminance(rgb: str) -> float:
        channels = [int(rgb[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _tinted(rgb: str, tint: float) -> str:
    """A colour lightened (tint > 0) or darkened (tint < 0) as Office does, on its HLS lightness."""
    hue, lightness, saturation = colorsys.rgb_to_hls(*(int(rgb[i:i + 2], 16) / 255 for i in (0, 2, 4)))
    lightness = lightness * (1 + tint) if tint < 0 else lightness * (1 - tint) + tint
    return "".join(f"{round(c * 255):02X}" for c in colorsys.hls_to_rgb(hue, min(max(lightness, 0.0), 1.0),
                                                                          saturation))


def _blend(foreground: str, background: str, share: float) -> str:
    return "".join(f"{round(int(foreground[i:i + 2], 16) * share + int(background[i:i + 2], 16) * (1 - share)):02X}"
                   for i in (0, 2, 4))


class Palette:
    """The colours a workbook's styles name by theme or palette index, as RGB."""

    def __init__(self, theme: tuple[str, ...] = _OFFICE_THEME, indexed: tuple[str, ...] | None = None,
                 fonts: dict[str, tuple[str, ...]] | None = None) -> None:
        self.theme = theme
        self.indexed = indexed or tuple(colour[-6:] for colour in COLOR_INDEX)
        # The theme's typefaces (latin, East Asian, complex script) of its headings ("major") and body ("minor"):
        # a font of a scheme (`<scheme val="minor"/>`) is drawn in them, whatever name it gives (round 25, AA-F2).
        self.fonts = fonts or {}

    def rgb(self, element: ElementTree.Element | None) -> str | None:
        """The RGB ('RRGGBB') of a colour element, its tint applied; None for none or 'automatic'."""
        if element is None or element.get("auto") in ("1", "true"):
            return None
        value: str | None = None
        if element.get("rgb"):
            value = element.get("rgb", "")[-6:].upper()
            if not re.fullmatch(r"[0-9A-F]{6}", value):
                return None
        elif element.get("theme", "").isdigit():
            index = int(element.get("theme", ""))
            value = self.theme[index] if index < len(self.theme) else None
        elif element.get("indexed", "").isdigit():
            index = int(element.get("indexed", ""))
            value = self.indexed[index] if index < len(self.indexed) else BLACK if index == 64 else \
                WHITE if index == 65 else None
        if value is None:
            return None
        try:
            tint = float(element.get("tint", "0") or 0)
        except ValueError:
            tint = 0.0
        return _tinted(value, max(-1.0, min(1.0, tint))) if tint else value


def _palette(archive: zipfile.ZipFile, styles: ElementTree.Element | None) -> Palette:
    """The workbook's theme colours (Office's default where it has no theme) and fonts, and palette (its own, if it
    has one)."""
    theme = list(_OFFICE_THEME)
    fonts: dict[str, tuple[str, ...]] = {}
    names = sorted(name for name in archive.namelist() if name.startswith("xl/theme/") and name.endswith(".xml"))
    if names:
        try:
            root = ElementTree.fromstring(archive.read(names[0]))
        except ElementTree.ParseError as exc:
            raise UnreadableFileError("xlsx") from exc
        scheme = root.find(f".//{_DRAWING}clrScheme")
        for kind in ("major", "minor"):
            typefaces = root.find(f".//{_DRAWING}fontScheme/{_DRAWING}{kind}Font")
            # Latin letters are drawn in the latin typeface (the East Asian and complex scripts' too, conservatively).
            fonts[kind] = tuple(face.get("typeface", "") for face in typefaces
                                if _local(face) in ("latin", "ea", "cs") and face.get("typeface")) \
                if typefaces is not None else ()
        for index, name in enumerate(_THEME_ORDER):
            entry = scheme.find(f"{_DRAWING}{name}") if scheme is not None else None
            value = next(iter(entry), None) if entry is not None else None
            rgb = value.get("val") if value is not None and _local(value) == "srgbClr" else \
                value.get("lastClr") if value is not None else None
            if rgb and re.fullmatch(r"[0-9A-Fa-f]{6}", rgb):
                theme[index] = rgb.upper()
    own = styles.find(f"{_MAIN}colors/{_MAIN}indexedColors") if styles is not None else None
    indexed = tuple((colour.get("rgb", "") or "000000")[-6:].upper() for colour in own) if own is not None else None
    return Palette(tuple(theme), indexed, fonts)


def format_disguises(code: str) -> bool:
    """Whether a number format shows something other than the cell's value: text of its own ('"1979-"mm"-"dd',
    '0" años"'), a letter or digit escaped, an empty section (';;;' shows nothing), a colour or a condition of its
    own ('[White]@', '[<1]...'), a calendar ('B2', '[$-1060000]'), or a letter that is no date or time's."""
    if any(re.search(r"\w", literal) for literal in re.findall(r'"([^"]*)"', code)):
        return True
    plain = re.sub(r'"[^"]*"', "", code)
    if re.search(r"\\\w", plain):
        return True
    plain = re.sub(r"\\.", "", plain)
    if re.search(r"\[", _ALLOWED_BRACKET.sub("", plain)):
        return True
    plain = _ALLOWED_BRACKET.sub("", plain)
    sections = plain.split(";")
    if len(sections) > 1 and any(not section.strip() for section in sections):
        return True
    letters = re.sub(r"general|am/pm|a/p|e[+-]", "", plain.lower())
    return bool(re.search(r"[^\W\dymdhs_]", letters))


def number_shown(code: str) -> int | None:
    """The decimals of a number that a number format shows (`BUILT_IN_NUMBERS`): ALTERED where it shows the number
    otherwise (a percentage, scientific notation, a fraction, thousands scaled off, leading zeros), None where it shows
    a number whole or is no number's format (General, text's '@', a date's or a time's: `date_partial`)."""
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|[_*].', "", code)
    if re.search(r"[ydhms]", re.sub(r"general|am/pm|a/p|e[+-]", "", plain.lower())):
        return None
    shown: list[int] = []
    for section in plain.split(";")[:3]:  # positive, negative, zero (a fourth is text's)
        if not re.search(r"[0#?]", section):
            continue
        if "%" in section or "/" in section or re.search(r"[eE][+-]", section) \
                or re.search(r"[0#?],+(?![0#?,])", section) or section.split(".")[0].count("0") > 1:
            # ... or zeros before the point that a number lacks shown as its own ('0000000' shows 91235 as 0091235,
            # a reference or a telephone read without them: red team round 91, F10, a row rewrote another case).
            return ALTERED
        decimals = re.search(r"\.([0#?]*)", section)
        shown.append(len(decimals[1]) if decimals else 0)
    return min(shown) if shown else None


def date_partial(code: str) -> bool:
    """Whether a number format shows a date or a time but not the whole date as it is: no year of four digits
    ('d-mmm', 'yy-mm-dd': a child's century unseen), no day of the month ('mmmm yyyy', 'dddd mmmm yyyy': a weekday is
    not a day), no month, only a time, or its parts in an order other than year-month-day, day-month-year and
    month-day-year ('yyyy-dd-mm' shows 2012-03-04 as 2012-04-03, read as ISO)."""
    plain = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]|general|am/pm|a/p|e[+-]', "", code.lower())
    if not re.search(r"[ydhms]", plain):
        return False  # a number's format ('0.00', '#,##0', '0.0E+00'), or text's ('@')
    without_time = re.sub(r"m+(?=\W*s)", "", re.sub(r"(h+\W*)m+", r"\1", plain))
    year = re.search(r"y{3,}", without_time)
    day = re.search(r"(?<!d)d{1,2}(?!d)", without_time)
    month = re.search(r"(?<!m)m{1,4}(?!m)", without_time)
    if not (year and day and month) or len(re.findall(r"y+", without_time)) > 1:
        return True
    order = "".join(part for _, part in sorted(((year.start(), "y"), (month.start(), "m"), (day.start(), "d"))))
    return order not in ("ymd", "dmy", "mdy")


def drawn_size(font: ElementTree.Element | None) -> float:
    """The size (points) letters in `font` are drawn at: its size, a superscript's or subscript's scaled
    (SCRIPT_SCALE); Excel's default, ORDINARY_SIZE, where it says none or none that is a number."""
    size_element = child(font, "sz")
    size = size_element.get("val") if size_element is not None else None
    vertical = child(font, "vertAlign")
    script = vertical is not None and vertical.get("val", "baseline") != "baseline"
    try:
        return float(size if size is not None else ORDINARY_SIZE) * (SCRIPT_SCALE if script else 1.0)
    except ValueError:
        return ORDINARY_SIZE


def clipped(size: float, height: float) -> bool:
    """Whether letters of `size` points are cut to a slice no one reads by a row `height` points high (ROW_SHARE)."""
    return height < size * ROW_SHARE


def shown_characters(width: float, size: float, indent: int = 0) -> float:
    """How many characters of letters of `size` points a column `width` wide (in digits of ORDINARY_SIZE, as
    spreadsheets count it) shows in a line, `indent` characters taken off first."""
    return width * ORDINARY_SIZE / size - indent


def text_width(text: str) -> float:
    """The width of `text` in digits (`_WIDTHS`; an accented letter as its letter, a digit 1, any other sign 0.6)."""
    return sum(_WIDTHS.get(char) or _WIDTHS.get(unicodedata.normalize("NFD", char)[:1], 1.0 if char.isdigit() else
                                                 0.6 if not char.isalpha() else 1.0) for char in text)


def wrapped_lines(text: str, per_line: float) -> int:
    """The lines `text` takes wrapped at its spaces (and its line breaks) in lines `per_line` digits wide
    (`text_width`), a word wider than a line broken where the line ends."""
    space = _WIDTHS[" "]
    lines = 0
    for paragraph in text.splitlines() or [""]:
        used = 0.0
        lines += 1
        for word in paragraph.split():
            wide = text_width(word)
            if used and used + space + wide <= per_line:
                used += space + wide
                continue
            if used:
                lines += 1
            broken = max(0, math.ceil(wide / per_line) - 1)
            lines += broken
            used = wide - broken * per_line
    return lines


def wrap_cut(text: str, size: float, width: float, height: float) -> bool:
    """Whether `text` wrapped in letters of `size` points, in a column `width` wide (`shown_characters`) and a row
    `height` points high, takes more lines than the row shows (LINE_HEIGHT; LINE_SLACK, so that a line that fits is
    never counted as cut for an error of the measure)."""
    per_line = max(1.0, shown_characters(width, size) * LINE_SLACK)
    shown = max(1, int(height / (size * LINE_HEIGHT) + 1e-9))
    return wrapped_lines(text, per_line) > shown


class Looks:
    """How a workbook shows cells: the cell styles (indexes of cellXfs) that hide or disguise any value, those that
    disguise a number (a date shown partly), the conditional formats' styles (indexes of dxfs) and the tables'
    styles (names) that may hide one, the colours its letters and its backgrounds take, and its palette."""

    def __init__(self, palette: Palette | None = None) -> None:
        self.palette = palette or Palette()
        self.hiding: set[int] = set()
        self.hiding_numbers: set[int] = set()
        # Cell styles whose number format shows a number rounded or otherwise (`number_shown`), with the decimals
        # they show (ALTERED for otherwise): a number cell is read against them (round 25).
        self.number_decimals: dict[int, int] = {}
        self.hiding_differences: set[int] = set()
        self.hiding_table_styles: set[str] = set()
        self.letters: set[str] = {BLACK}
        self.backgrounds: set[str] = {WHITE}
        # The size of the letters (points, as drawn) of the cell styles whose letters are larger than ORDINARY_SIZE:
        # a row lower than ROW_SHARE of it cuts them (`clipped`); `drawn`, of every style whose size is not that.
        self.sizes: dict[int, float] = {}
        self.drawn: dict[int, float] = {}
        # Cell styles that lay the letters out so that the row or the column may cut them (red team round 33, F1):
        # turned (a rotation other than stacked, which hides), wrapped over lines (wrap, justify, distributed), and
        # indented (by how many characters).
        self.turned: set[int] = set()
        self.wrapped: set[int] = set()
        self.indents: dict[int, int] = {}
        # Cell styles whose number format shows a date or time: a date cell shows as it does in ISO form or wider.
        self.dates: set[int] = set()

    def fill_colours(self, fill: ElementTree.Element | None, *, differential: bool = False) -> list[str]:
        """The colours a fill shows behind letters: white for none, a pattern's colours blended by its density, a
        gradient's every stop. A conditional format's solid fill is its bgColor (fgColor where a program writes that
        instead)."""
        pattern, gradient = child(fill, "patternFill"), child(fill, "gradientFill")
        if gradient is not None:
            return [self.palette.rgb(child(stop, "color")) or WHITE for stop in gradient if _local(stop) == "stop"]
        if pattern is None:
            return [WHITE]
        # An automatic pattern colour is drawn in the window's text colour, black (red team round 33b, F5: automatic
        # letters on an automatic solid fill were read as black on white).
        foreground = BLACK if _automatic(child(pattern, "fgColor")) else self.palette.rgb(child(pattern, "fgColor"))
        background = self.palette.rgb(child(pattern, "bgColor"))
        kind = pattern.get("patternType", "solid" if differential else "none")
        if kind == "none":
            return [WHITE]
        if kind == "solid":
            shown = (background or foreground) if differential else (foreground or background)
            return [shown or WHITE]
        return [_blend(foreground or BLACK, background or WHITE, _DENSITY.get(kind, _PATTERN_DENSITY))]

    def font_hides(self, font: ElementTree.Element | None, backgrounds: Iterable[str]) -> bool:
        """Whether letters in `font` are not read as they are on any of `backgrounds`: too small or too large (a
        script's size as drawn), a font of signs, struck out, or of too little contrast."""
        if font is None:
            return False
        drawn = drawn_size(font)
        if not MIN_FONT_SIZE <= drawn <= MAX_FONT_SIZE:
            return True
        name = child(font, "name") if child(font, "name") is not None else child(font, "rFont")
        scheme = child(font, "scheme")
        faces = [name.get("val", "") if name is not None else "",
                 *(self.palette.fonts.get(scheme.get("val", ""), ()) if scheme is not None else ())]
        charset = child(font, "charset")
        if any(map(symbol_font, faces)) or (charset is not None and charset.get("val") == SYMBOL_CHARSET):
            return True
        if _true(child(font, "strike")):
            return True
        letters = self.palette.rgb(child(font, "color")) or BLACK
        return any(contrast(letters, background) < MIN_CONTRAST for background in backgrounds)

    def difference_hides(self, style: ElementTree.Element) -> bool:
        """Whether a conditional format's or a table's style (a dxf, of styles.xml or inline in the worksheet) may
        hide a value or show another: a number format that disguises or shows a date partly, letters that
        `font_hides` on its own fill or, where it sets none, on any background of the workbook, or a fill that some
        letters of the workbook do not stand out from."""
        number_format = child(style, "numFmt")
        if number_format is not None and (format_disguises(code := number_format.get("formatCode", ""))
                                          or date_partial(code)):
            return True
        font, fill = child(style, "font"), child(style, "fill")
        fill_colours = self.fill_colours(fill, differential=True) if fill is not None else None
        letters_set = font is not None and child(font, "color") is not None
        if font is not None and (self.font_hides(font, []) or (letters_set and self.font_hides(
                font, fill_colours if fill_colours is not None else self.backgrounds))):
            return True
        if fill_colours is not None and not letters_set:
            return any(contrast(letters, background) < MIN_CONTRAST
                       for letters in self.letters for background in fill_colours)
        return False


def read_looks(archive: zipfile.ZipFile) -> Looks:
    """How the workbook in `archive` shows its cells (`Looks`)."""
    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return Looks(_palette(archive, None))
    except ElementTree.ParseError as exc:
        raise UnreadableFileError("xlsx") from exc
    looks = Looks(_palette(archive, styles))
    formats = {number_format.get("numFmtId", ""): number_format.get("formatCode", "")
               for number_format in styles.iter(f"{_MAIN}numFmt")}
    fonts, fills, cell_styles, differences = (
        list(found) if (found := styles.find(f"{_MAIN}{name}")) is not None else []
        for name in ("fonts", "fills", "cellXfs", "dxfs"))
    looks.letters |= {looks.palette.rgb(child(font, "color")) or BLACK for font in fonts}
    looks.backgrounds |= {colour for fill in fills for colour in looks.fill_colours(fill)}
    for index, style in enumerate(cell_styles):
        number_format = style.get("numFmtId", "0")
        if format_disguises(formats.get(number_format, "")):
            looks.hiding.add(index)
            continue
        if date_partial(formats[number_format]) if number_format in formats else number_format in PARTIAL_BUILT_IN:
            looks.hiding_numbers.add(index)
        decimals = number_shown(formats[number_format]) if number_format in formats else \
            BUILT_IN_NUMBERS.get(number_format)
        if decimals is not None:
            looks.number_decimals[index] = decimals
        if is_date_format(formats[number_format]) if number_format in formats else number_format in _BUILT_IN_DATES:
            looks.dates.add(index)
        alignment = child(style, "alignment")
        # Letters stacked one under another (only the first shows in a row of ordinary height), shrunk to fit the
        # column, or pushed out of it by an indent.
        # Or drawn repeated to fill the cell (`fill`: the value shown is not the value read).
        if alignment is not None and (alignment.get("textRotation") == "255"
                                      or _true_attribute(alignment.get("shrinkToFit"))
                                      or _index(alignment.get("indent")) > MAX_INDENT
                                      or alignment.get("horizontal") == "fill"):
            looks.hiding.add(index)
            continue
        if alignment is not None:
            if _index(alignment.get("textRotation")) != 0:
                looks.turned.add(index)
            if _true_attribute(alignment.get("wrapText")) or alignment.get("horizontal") in _WRAPPING or \
                    alignment.get("vertical") in _WRAPPING:
                looks.wrapped.add(index)
            if _index(alignment.get("indent")) > 0:
                looks.indents[index] = _index(alignment.get("indent"))
        font_id, fill_id = _index(style.get("fontId")), _index(style.get("fillId"))
        font = fonts[font_id] if 0 <= font_id < len(fonts) else None
        fill = fills[fill_id] if 0 <= fill_id < len(fills) else None
        if looks.font_hides(font if font is not None else ElementTree.Element("font"), looks.fill_colours(fill)):
            looks.hiding.add(index)
        elif (size := drawn_size(font)) != ORDINARY_SIZE:
            looks.drawn[index] = size
            if size > ORDINARY_SIZE:
                looks.sizes[index] = size
    looks.hiding_differences = {index for index, style in enumerate(differences) if looks.difference_hides(style)}
    for table_style in styles.iter(f"{_MAIN}tableStyle"):
        if any(_index(element.get("dxfId"), -1) in looks.hiding_differences for element in table_style):
            looks.hiding_table_styles.add(table_style.get("name", ""))
    return looks


# The built-in number formats that show a date or a time (ECMA-376 18.8.30).
_BUILT_IN_DATES = frozenset(str(number) for number in (*range(14, 23), 45, 46, 47))
# A date as the narrowest whole form shows it (yyyy-mm-dd): a date cell's column must be this wide.
SHOWN_DATE = "0000-00-00"


# Alignments that wrap a cell's text over lines as wrapText does.
_WRAPPING = ("justify", "distributed")


def _index(value: str | None, default: int = 0) -> int:
    return int(value) if value is not None and value.isdigit() else default


def _true_attribute(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true")


# A string of the shared table (`<si>`) and a rich text run's properties in it.
_STRING = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si\s*>)", re.S)
_PREFIX = re.compile(rb"<(/?)\w+:")
_NAMESPACES = re.compile(rb"""\sxmlns(?::\w+)?\s*=\s*["'][^"']*["']|\s\w+:\w+\s*=\s*["'][^"']*["']""")


def without_namespaces(fragment: bytes) -> ElementTree.Element:
    """A worksheet's XML fragment parsed with its prefixes and namespace declarations taken off."""
    try:
        return ElementTree.fromstring(b"<x>" + _NAMESPACES.sub(b"", _PREFIX.sub(rb"<\1", fragment)) + b"</x>")
    except ElementTree.ParseError as exc:
        raise UnreadableFileError("xlsx fragment") from exc


def runs_hide(looks: Looks, content: bytes) -> bool:
    """Whether a string's rich text runs (`<r><rPr>…</rPr><t>…</t></r>`) show part of it otherwise than it is (white
    or tiny letters inside a name: round 24, Z-F1), on any background of the workbook."""
    if b"rPr" not in content:
        return False
    return any(looks.font_hides(child(run, "rPr"), looks.backgrounds)
               for run in without_namespaces(content).iter() if _local(run) == "r")


def hiding_strings(archive: zipfile.ZipFile, looks: Looks) -> set[int]:
    """The indexes of the shared strings whose rich text runs hide part of them (none read when no string has a
    run's properties: the usual list)."""
    names = [name for name in archive.namelist() if name.lower() == "xl/sharedstrings.xml"]
    if not names:
        return set()
    data = archive.read(names[0])
    if b"rPr" not in data:
        return set()
    return {index for index, string in enumerate(_STRING.finditer(data))
            if string[1] and runs_hide(looks, string[1])}


def tall_strings(archive: zipfile.ZipFile) -> dict[int, float]:
    """The indexes of the shared strings with a rich text run larger than ORDINARY_SIZE, to the largest run's size
    (none read when no string has a run's properties: the usual list); a row lower than ROW_SHARE of it cuts them."""
    names = [name for name in archive.namelist() if name.lower() == "xl/sharedstrings.xml"]
    data = archive.read(names[0]) if names else b""
    if b"rPr" not in data:
        return {}
    sizes = {}
    for index, string in enumerate(_STRING.finditer(data)):
        if string[1] and (largest := largest_run(string[1])) > ORDINARY_SIZE:
            sizes[index] = largest
    return sizes


_TEXT = re.compile(rb"<(?:\w+:)?t\b[^>]*>([^<]*)<")


def shared_texts(archive: zipfile.ZipFile) -> list[str]:
    """The text of each shared string (`<si>`), its runs joined, entities read (a wrapped cell's lines are counted)."""
    names = [name for name in archive.namelist() if name.lower() == "xl/sharedstrings.xml"]
    data = archive.read(names[0]) if names else b""
    return [string_text(string[1] or b"") for string in _STRING.finditer(data)]


def string_text(content: bytes) -> str:
    """The text of a string's XML (`<t>` elements, of runs or not), its entities read."""
    return html.unescape(b"".join(_TEXT.findall(content)).decode("utf-8", "replace"))


def largest_run(content: bytes) -> float:
    """The size (points, as drawn) of the largest rich text run of a string, 0 for a string without runs' properties."""
    if b"rPr" not in content:
        return 0.0
    return max((drawn_size(child(run, "rPr")) for run in without_namespaces(content).iter()
                if _local(run) == "r" and child(run, "rPr") is not None), default=0.0)


# A worksheet's conditional formats, in its main namespace or Excel 2010's extension (`x14:`), with the ranges they
# apply to (an attribute, or `<xm:sqref>`), their rules' styles (`dxfId`, or an inline `<x14:dxf>`), colour scales,
# and data bars or icon sets drawn without the value (showValue="0").
_CONDITIONAL = re.compile(rb"<(\w+:)?conditionalFormatting\b([^>]*)>(.*?)</\1?conditionalFormatting\s*>", re.S)
_CONDITIONAL_OPEN = re.compile(rb"<(?:\w+:)?conditionalFormatting\b")
_SQREF = re.compile(rb"""\bsqref\s*=\s*["']([^"']*)["']|<(?:\w+:)?sqref\s*>([^<]*)<""")
_DIFFERENCE_ID = re.compile(rb"""\bdxfId\s*=\s*["'](\d+)["']""")
_INLINE_DIFFERENCE = re.compile(rb"<(\w+:)?dxf\s*>(.*?)</\1?dxf\s*>", re.S)
_NO_VALUE = re.compile(rb"""\bshowValue\s*=\s*["'](?:0|false)["']""")
_SCALE = re.compile(rb"<(?:\w+:)?colorScale\b.*?</(?:\w+:)?colorScale\s*>", re.S)
_RANGE = re.compile(r"\$?([A-Z]{1,3})?\$?(\d+)?(?::\$?([A-Z]{1,3})?\$?(\d+)?)?")
Range = tuple[int, int, int, int]


def ranges(sqref: str) -> list[Range]:
    """The ranges of an `sqref` ('A2:C10 E5', whole columns 'B:B', whole rows '3:3') as first row, first column,
    last row, last column."""
    found = []
    for reference in sqref.split():
        parts = _RANGE.fullmatch(reference.upper())
        if parts is None or not any(parts.groups()):
            raise UnreadableFileError("range")
        first_column, first_row, last_column, last_row = parts.groups()
        if ":" not in reference:
            last_column, last_row = first_column, first_row
        found.append((int(first_row or 1), column_index_from_string(first_column) if first_column else 1,
                      int(last_row or 1_048_576), column_index_from_string(last_column) if last_column else 16_384))
    return found


def conditional_ranges(tail: bytes, looks: Looks) -> list[Range]:
    """The ranges of the worksheet's conditional formats (in `tail`, what follows its cells) that may hide a value or
    show another: their rule's style does (`Looks.difference_hides`), a colour scale takes a colour some letters
    do not stand out from, or a data bar or icon set is drawn without the value. UnreadableFileError if a
    conditional format is not read whole."""
    if b"onditionalFormatting" not in tail:
        return []
    blocks = list(_CONDITIONAL.finditer(tail))
    if len(blocks) != len(_CONDITIONAL_OPEN.findall(tail)):
        raise UnreadableFileError("conditional format")
    hiding = []
    for block in blocks:
        body = block[3]
        hides = bool(_NO_VALUE.search(body)) or any(
            int(number) in looks.hiding_differences for number in _DIFFERENCE_ID.findall(body)) or any(
            looks.difference_hides(without_namespaces(inline[2])) for inline in _INLINE_DIFFERENCE.finditer(body))
        for scale in _SCALE.finditer(body):
            colours = [looks.palette.rgb(element) or WHITE for element in without_namespaces(scale[0]).iter("color")]
            hides = hides or any(contrast(letters, colour) < MIN_CONTRAST
                                 for letters in looks.letters for colour in colours)
        if hides:
            where = _SQREF.search(block[2]) or _SQREF.search(body)
            if where is None:
                raise UnreadableFileError("conditional format range")
            hiding.extend(ranges((where[1] or where[2]).decode("ascii", "replace")))
    return hiding


# What the worksheet draws over its cells (pictures, shapes, charts, a background picture, comments' boxes), and
# its tables.
_DRAWN = re.compile(rb"""<(?:\w+:)?(drawing|picture|legacyDrawing)\b[^>]*?\bid\s*=\s*["']([^"']*)["']""")
_TABLE_PART = re.compile(rb"""<(?:\w+:)?tablePart\b[^>]*?\bid\s*=\s*["']([^"']*)["']""")
_VML_SHAPE = re.compile(rb"<v:shape\b[^>]*>", re.I)


def _relations(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """The targets of a part's relations by id, as part names."""
    folder, name = posixpath.split(part)
    try:
        relations = ElementTree.fromstring(archive.read(f"{folder}/_rels/{name}.rels"))
    except KeyError:
        return {}
    except ElementTree.ParseError as exc:
        raise UnreadableFileError("xlsx") from exc
    targets = {}
    for relation in relations.iter(f"{_PACKAGE_RELATIONSHIPS}Relationship"):
        target = relation.get("Target", "")
        targets[relation.get("Id", "")] = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join(folder, target))
    return targets


def drawn_over(archive: zipfile.ZipFile, part: str, tail: bytes) -> bool:
    """Whether the worksheet draws anything over its cells that may hide them: a picture, shape or chart (a white
    picture over a name: round 24, Z-F6), a background picture, or a comment's box shown (a hidden comment only
    marks its cell)."""
    found = _DRAWN.findall(tail)
    if not found:
        return False
    relations = _relations(archive, part)
    for kind, identifier in found:
        if kind != b"legacyDrawing":
            return True
        target = relations.get(identifier.decode("ascii", "replace"), "")
        try:
            vml = archive.read(target)
        except KeyError:
            continue
        if any(b"visibility:hidden" not in shape.replace(b" ", b"").lower() for shape in _VML_SHAPE.findall(vml)):
            return True
    return False


def table_ranges(archive: zipfile.ZipFile, part: str, tail: bytes, looks: Looks) -> list[Range]:
    """The ranges of the worksheet's tables whose style may hide a value (a table style whose whole table's letters
    are white: round 24, Z-F6); built-in table styles show what they hold."""
    identifiers = _TABLE_PART.findall(tail)
    if not identifiers or not looks.hiding_table_styles:
        return []
    relations = _relations(archive, part)
    hiding = []
    for identifier in identifiers:
        try:
            table = ElementTree.fromstring(archive.read(relations.get(identifier.decode("ascii", "replace"), "")))
        except KeyError:
            continue
        except ElementTree.ParseError as exc:
            raise UnreadableFileError("xlsx table") from exc
        style = next((element for element in table.iter() if _local(element) == "tableStyleInfo"), None)
        if style is not None and style.get("name", "") in looks.hiding_table_styles:
            hiding.extend(ranges(table.get("ref", "A1:XFD1048576")))
    return hiding
