"""Checking the rows of an import: the file read once, each column parsed once per distinct value.

An import declares its columns (headers in Spanish and English, required or not, longest text,
parser) and the messages of its own checks; `read_sheet` reads the file, matches the header, and
parses every column. Names, dates, places and codes repeat from row to row, so each distinct cell
is parsed once and a bad value is reported on every row that holds it. What needs more than one
cell (a date against another, a reference unique in the file) is the import's own check, run over
the parsed columns, recording problems with `Sheet.error` and `Sheet.warning`.

The outcome is an `ImportReport`: the valid rows and every problem (row as the official sees it,
column, value as typed, what was expected, in Spanish or English). Only a report without errors
may be stored. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import compress
from typing import Generic, Literal, TypeVar, cast

from openpyxl.utils import get_column_letter

from retorno import identifiers, plaintext
from retorno.config import Settings
from retorno.exports import safe_cell
from retorno.imports.reading import (
    MAX_PARTS,
    HiddenCellsError,
    MixedEncodingError,
    SheetChoiceError,
    TooLargeFileError,
    UnreadableFileError,
    read_table,
)
from retorno.names import key

# The messages every import shares; an import adds those of its own checks (`messages=`).
MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("un valor (columna obligatoria)", "a value (required column)"),
    "too_long": ("como máximo {n} caracteres", "at most {n} characters"),
    "characters": ("un texto sin caracteres de control, bidireccionales ni invisibles (hay {characters})",
                   "text without control, bidirectional or invisible characters (found {characters})"),
    "reference_characters": ("una referencia de letras latinas sin acento (A-Z), cifras y signos del teclado: dos "
                             "referencias que se ven iguales deben ser una (hay {characters})",
                             "a reference of Latin letters without accents (A-Z), digits and keyboard signs: two "
                             "references that look the same must be one (found {characters})"),
    "blanks": ("un valor a la vista: la celda tiene espacios o saltos de línea que apartan su texto de la vista "
               "(más de {n} espacios seguidos antes o dentro del valor, una línea vacía al principio o dos seguidas); "
               "quítelos",
               "a value in view: the cell holds spaces or line breaks that push its text out of view (more than {n} "
               "spaces in a row before or inside the value, an empty line at the start or two in a row); remove "
               "them"),
    "date_format": ("una fecha AAAA-MM-DD, p. ej. 1985-03-15 (no DD/MM/AAAA ni MM/DD/AAAA: el día y el mes se "
                    "leen de dos maneras), o una celda de fecha de la hoja de cálculo",
                    "a date as YYYY-MM-DD, e.g. 1985-03-15 (not DD/MM/YYYY or MM/DD/YYYY: day and month read two "
                    "ways), or a spreadsheet's date cell"),
    "date_exists": ("una fecha que exista en el calendario", "a date that exists in the calendar"),
    "reference_unique": ("una referencia única en el archivo (ya usada en la fila {row})",
                         "a reference unique in the file (already used on row {row})"),
    "unknown_column": ("una de las columnas aceptadas: {columns}", "one of the accepted columns: {columns}"),
    "repeated_column": ("cada columna una sola vez", "each column only once"),
    "missing_column": ("la columna obligatoria {column}", "the required column {column}"),
    "unheaded_cell": ("ningún valor bajo una columna sin encabezado (póngale el nombre de una columna aceptada, o "
                      "vacíela)", "no value under a column without a header (name it as an accepted column, or empty "
                      "it)"),
    "extra_cells": ("ningún valor fuera de las columnas con encabezado",
                    "no value outside the headed columns"),
    "unreadable": ("un archivo CSV (UTF-8 o Latin-1) o XLSX con los encabezados en la fila 1",
                   "a CSV (UTF-8 or Latin-1) or XLSX file with the headers on row 1"),
    "mixed_encoding": ("un archivo en una sola codificación: el archivo está en UTF-8 y el byte {byte} no lo es "
                       "(una celda guardada en otra codificación, p. ej. Windows-1252); guárdelo de nuevo como UTF-8",
                       "a file in one encoding: the file is UTF-8 and byte {byte} is not (a cell saved in another "
                       "encoding, e.g. Windows-1252); save it again as UTF-8"),
    "mixed_encoding_more": ("{count} bytes más que no son UTF-8 (se muestran los primeros {shown})",
                            "{count} more bytes that are not UTF-8 (the first {shown} are shown)"),
    "sheet_hidden": ("una hoja visible: la hoja «{sheet}» está oculta y no se lee (muéstrela en la hoja de cálculo o "
                     "copie sus filas a una hoja visible; hojas visibles: {visible})",
                     "a visible sheet: the sheet '{sheet}' is hidden and is not read (unhide it in the spreadsheet or "
                     "copy its rows to a visible sheet; visible sheets: {visible})"),
    "sheet_unclear": ("una sola hoja visible, o una sola hoja que se importa llamada {wanted} (hojas visibles: "
                      "{visible})",
                      "one visible sheet only, or one sheet only to import named {wanted} (visible sheets: "
                      "{visible})"),
    "too_large": ("un archivo XLSX que descomprimido ocupe como máximo {mb} MB, en como máximo {parts} partes",
                  "an XLSX file that unpacks to at most {mb} MB, in at most {parts} parts"),
    "no_rows": ("al menos una fila de datos", "at least one data row"),
    "changed_by_hand": ("los valores que {reference} tiene ahora en {columns}: {by} ({agency}) los cambió el {when} "
                        "UTC por otra vía (su página, la API) después de la última importación, y este archivo "
                        "desharía ese cambio sin verlo; copie en la fila los valores actuales, o haga el cambio en la "
                        "página de {reference}",
                        "the values {reference} holds now in {columns}: {by} ({agency}) changed them at {when} UTC by "
                        "another door (its page, the API) after the last import, and this file would undo that "
                        "change unseen; copy the current values into the row, or make the change on the page of "
                        "{reference}"),
    "row_hidden": ("una fila visible: la fila {row} de la hoja «{sheet}» está oculta y no se importa sin que se vea "
                   "(muéstrela en la hoja de cálculo, o bórrela si no debe importarse)",
                   "a visible row: row {row} of the sheet '{sheet}' is hidden and is not imported unseen (unhide it "
                   "in the spreadsheet, or delete it if it is not to be imported)"),
    "cell_disguised": ("una celda que se vea como es: la celda {cell} de la hoja «{sheet}» tiene un formato que no "
                       "muestra su valor, o muestra otro (letras blancas, claras sobre claro o del color del fondo, "
                       "diminutas o enormes, tachadas, de símbolos como Wingdings, apiladas, reducidas o empujadas "
                       "por una sangría, una parte del texto en otro formato, o un formato de número con texto, "
                       "color o condición propios, o vacío); quítele ese formato",
                       "a cell shown as it is: cell {cell} of the sheet '{sheet}' is formatted so that it does not "
                       "show its value, or shows another (white letters, light on light or of the background's "
                       "colour, tiny or huge, struck out, in a font of signs such as Wingdings, stacked, shrunk or "
                       "pushed out by an indent, part of its text formatted otherwise, or a number format with text, "
                       "a colour or a condition of its own, or none); clear that format"),
    "cell_conditional": ("una celda que se vea como es: la celda {cell} de la hoja «{sheet}» está bajo un formato "
                         "condicional que puede ocultar su valor o mostrar otro (letras del color del fondo, un "
                         "formato de número, barras o iconos sin el valor); quite ese formato condicional de la hoja",
                         "a cell shown as it is: cell {cell} of the sheet '{sheet}' lies under a conditional format "
                         "that may hide its value or show another (letters of the background's colour, a number "
                         "format, bars or icons without the value); remove that conditional format from the sheet"),
    "cell_table": ("una celda que se vea como es: la celda {cell} de la hoja «{sheet}» está en una tabla cuyo estilo "
                   "puede ocultar su valor (letras del color del fondo); dele a la tabla un estilo de los que trae la "
                   "hoja de cálculo, o conviértala en un rango",
                   "a cell shown as it is: cell {cell} of the sheet '{sheet}' lies in a table whose style may hide "
                   "its value (letters of the background's colour); give the table one of the spreadsheet's own "
                   "styles, or convert it to a range"),
    "cell_partial_date": ("una fecha que se vea entera: la celda {cell} de la hoja «{sheet}» tiene un formato de fecha "
                          "u hora que no muestra el año con sus cuatro cifras, el mes y el día, o los muestra en otro "
                          "orden que año-mes-día, día-mes-año o mes-día-año (así una fecha de nacimiento se importa "
                          "sin que se vea); dele un formato de fecha completo, como aaaa-mm-dd",
                          "a date shown whole: cell {cell} of the sheet '{sheet}' has a date or time format that does "
                          "not show the year's four digits, the month and the day, or shows them in another order "
                          "than year-month-day, day-month-year or month-day-year (a birth date so is imported "
                          "unseen); give it a whole date's format, such as yyyy-mm-dd"),
    "cell_rounded": ("un número que se vea como es: la celda {cell} de la hoja «{sheet}» tiene un formato de número "
                     "que no lo muestra como se importa (redondeado a menos decimales, en porcentaje, en notación "
                     "científica, como fracción, en miles o con ceros a la izquierda que el número no tiene); dele "
                     "el formato General o uno que muestre todos sus decimales (una referencia o un teléfono con "
                     "ceros a la izquierda, escríbalos como texto)",
                     "a number shown as it is: cell {cell} of the sheet '{sheet}' has a number format that does not "
                     "show it as it is imported (rounded to fewer decimals, as a percentage, in scientific notation, "
                     "as a fraction, in thousands or with leading zeros the number lacks); give it the General "
                     "format or one that shows all its decimals (a reference or a telephone with leading zeros: "
                     "type it as text)"),
    "cell_error_value": ("un valor en la celda: la celda {cell} de la hoja «{sheet}» muestra un error de la hoja de "
                         "cálculo (#REF!, #N/A, #¡VALOR!...), que se importaría como una celda vacía y borraría el "
                         "dato; escriba el valor, o deje la celda vacía si el dato no se conoce",
                         "a value in the cell: cell {cell} of the sheet '{sheet}' shows a spreadsheet error (#REF!, "
                         "#N/A, #VALUE!...), which would be imported as an empty cell and erase the value; type the "
                         "value, or leave the cell empty if it is not known"),
    "cell_merged_range": ("celdas sin combinar: la celda {cell} de la hoja «{sheet}» está combinada con las de al lado "
                          "o debajo; la hoja muestra su valor en todas, pero solo {cell} lo tiene y las demás se "
                          "importarían vacías; separe las celdas y escriba el valor en cada una que lo lleve",
                          "cells not merged: cell {cell} of the sheet '{sheet}' is merged with the cells beside or "
                          "below it; the sheet shows its value over all of them, but only {cell} holds it and the "
                          "others would be imported empty; unmerge the cells and type the value in each that has it"),
    "cell_zero_hidden": ("un cero que se vea: la celda {cell} de la hoja «{sheet}» tiene el número 0, pero la hoja "
                         "está configurada para no mostrar los ceros y se ve vacía; active «Mostrar un cero en celdas "
                         "que tienen un valor cero» (Opciones, Avanzadas) o borre el 0 si la celda debe quedar vacía",
                         "a zero that shows: cell {cell} of the sheet '{sheet}' holds the number 0, but the sheet is "
                         "set not to show zeros and it looks empty; turn on 'Show a zero in cells that have zero "
                         "value' (Options, Advanced) or delete the 0 if the cell should be empty"),
    "cell_formula": ("un valor escrito: la celda {cell} de la hoja «{sheet}» tiene una fórmula; la hoja muestra lo que "
                     "calcula, pero se importaría la fórmula o un valor guardado que nadie ve escribir; copie la "
                     "columna y péguela como valores (Pegado especial, Valores)",
                     "a typed value: cell {cell} of the sheet '{sheet}' holds a formula; the sheet shows what it "
                     "computes, but the formula, or a stored value no one sees typed, would be imported; copy the "
                     "column and paste it as values (Paste special, Values)"),
    "cell_formulas": ("valores escritos: la hoja «{sheet}» tiene fórmulas; la hoja muestra lo que calculan, pero se "
                      "importarían las fórmulas o valores guardados que nadie ve escribir; copie la hoja y péguela "
                      "como valores (Pegado especial, Valores)",
                      "typed values: the sheet '{sheet}' holds formulas; the sheet shows what they compute, but the "
                      "formulas, or stored values no one sees typed, would be imported; copy the sheet and paste it "
                      "as values (Paste special, Values)"),
    "cell_true_false": ("un texto, un número o una fecha: la celda {cell} de la hoja «{sheet}» tiene un valor "
                        "verdadero/falso, que la hoja muestra como VERDADERO o FALSO y se importaría como otro texto; "
                        "escriba el valor como texto",
                        "a text, a number or a date: cell {cell} of the sheet '{sheet}' holds a true/false value, "
                        "which the sheet shows as TRUE or FALSE and would be imported as other text; type the value "
                        "as text"),
    "cell_clipped": ("una celda que se vea como es: la fila de la celda {cell} de la hoja «{sheet}» es mucho más baja "
                     "que sus letras (menos del 60 % de su tamaño), que se ven cortadas a una franja que no se lee; "
                     "dele a la fila el alto de sus letras, o a las letras el tamaño normal",
                     "a cell shown as it is: the row of cell {cell} of the sheet '{sheet}' is much lower than its "
                     "letters (under 60 % of their size), which show cut to a slice no one reads; give the row the "
                     "height of its letters, or the letters their ordinary size"),
    "cell_wrapped": ("una celda que se vea como es: la celda {cell} de la hoja «{sheet}» ajusta su texto en más "
                     "líneas de las que muestra su fila, de alto fijo, y lo que no cabe no se ve; dele a la fila el "
                     "alto de su texto, o quite el ajuste de texto",
                     "a cell shown as it is: cell {cell} of the sheet '{sheet}' wraps its text over more lines than "
                     "its row, of a fixed height, shows, and what does not fit is not seen; give the row the height "
                     "of its text, or clear the text wrapping"),
    "cell_narrow": ("una celda que se vea como es: la columna de la celda {cell} de la hoja «{sheet}» muestra menos "
                    "de 2 caracteres de su valor (por su sangría o por el tamaño de sus letras); ensanche la columna, "
                    "o quite la sangría o devuelva a las letras el tamaño normal",
                    "a cell shown as it is: the column of cell {cell} of the sheet '{sheet}' shows fewer than 2 "
                    "characters of its value (because of its indent or the size of its letters); widen the column, "
                    "or clear the indent or give the letters their ordinary size"),
    "cell_turned": ("una celda que se vea como es: la celda {cell} de la hoja «{sheet}» tiene el texto girado, que "
                    "su fila y su columna cortan o que se lee mal; quite el giro del texto",
                    "a cell shown as it is: cell {cell} of the sheet '{sheet}' has its text turned (rotated), which "
                    "its row and column cut or which reads poorly; clear the text rotation"),
    "cell_window_hidden": ("un libro a la vista: el libro se abre con su ventana oculta o minimizada, y no se ve "
                           "ninguna de sus hojas; muestre la ventana y guárdelo así",
                           "a workbook in sight: the workbook opens with its window hidden or minimised, and none of "
                           "its sheets is seen; show the window and save it so"),
    "cell_default_size": ("una hoja a la vista: la hoja «{sheet}» da a sus filas o columnas un tamaño por omisión en "
                          "que no se leen (filas ocultas o de menos de 8 puntos, columnas de menos de 1,5 caracteres); "
                          "dele el alto y el ancho normales",
                          "a sheet in sight: the sheet '{sheet}' gives its rows or columns a default size at which "
                          "they are not read (rows hidden or lower than 8 points, columns narrower than 1.5 "
                          "characters); give it the ordinary height and width"),
    "cell_zoom": ("una hoja a la vista: la hoja «{sheet}» se abre con un zoom de menos del 40 %, en el que no se lee; "
                  "guárdela con el zoom al 100 %",
                  "a sheet in sight: the sheet '{sheet}' opens zoomed out below 40 %, where it is not read; save it "
                  "at 100 %"),
    "cell_drawn": ("una hoja a la vista: la hoja «{sheet}» tiene imágenes, formas, gráficos, una imagen de fondo o "
                   "comentarios abiertos sobre sus celdas, que pueden ocultarlas; quítelos, o copie la lista a una "
                   "hoja nueva",
                   "a sheet in sight: the sheet '{sheet}' has pictures, shapes, charts, a background picture or open "
                   "comments over its cells, which may hide them; remove them, or copy the list to a new sheet"),
    "cell_tabs_hidden": ("un libro a la vista: el libro oculta las pestañas de sus hojas, y no se ve cuál se importa "
                         "(«{sheet}»); muestre las pestañas, o deje solo la hoja de la lista",
                         "a workbook in sight: the workbook hides its sheet tabs, and which sheet is imported "
                         "('{sheet}') is not seen; show the tabs, or keep only the list's sheet"),
    "cell_tab_scrolled": ("un libro a la vista: el libro se abre con la barra de pestañas desplazada más allá de la "
                          "hoja que se importa («{sheet}»), cuya pestaña no se ve; vuelva las pestañas a la primera y "
                          "guarde, o deje solo la hoja de la lista",
                          "a workbook in sight: the workbook opens with its tab bar scrolled past the sheet imported "
                          "('{sheet}'), whose tab is not seen; scroll the tabs back to the first and save, or keep "
                          "only the list's sheet"),
    "cell_merged": ("una celda a la vista: la celda {cell} de la hoja «{sheet}» tiene un valor bajo una celda "
                    "combinada, que solo muestra la primera; separe las celdas o borre ese valor",
                    "a cell in sight: cell {cell} of the sheet '{sheet}' holds a value under a merged cell, which "
                    "shows only the first; unmerge the cells or delete that value"),
    "cell_far": ("una fila a la vista: la fila {row} de la hoja «{sheet}» está muy por debajo de la lista, tras más "
                 "de 100 filas vacías; súbala junto a las demás o bórrela",
                 "a row in sight: row {row} of the sheet '{sheet}' lies far below the list, after more than 100 empty "
                 "rows; move it up beside the others or delete it"),
    "column_hidden": ("una columna visible: la columna {column} de la hoja «{sheet}» está oculta y no se importa sin "
                      "que se vea (muéstrela en la hoja de cálculo, o bórrela si no debe importarse)",
                      "a visible column: column {column} of the sheet '{sheet}' is hidden and is not imported unseen "
                      "(unhide it in the spreadsheet, or delete it if it is not to be imported)"),
}

Severity = Literal["error", "warning"]
# The characters of a bad cell a report shows (the beginning of a longer one, then "…").
SHOWN_VALUE = 200
Row = TypeVar("Row")


class InvalidValue(ValueError):
    """A cell value failed a check; carries the message code and its parameters."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One thing wrong in the file: row as the official sees it, column, value, and what was expected."""

    row_number: int
    column: str
    value: str
    expected: str
    severity: Severity = "error"


@dataclass
class ImportReport(Generic[Row]):
    """Outcome of checking a file: the rows read and every problem found."""

    rows: Sequence[Row]
    problems: list[RowProblem]
    # The encoding a CSV was read in ("UTF-8", "Windows-1252", "Latin-1"; None for a workbook), which the answer says.
    encoding: str | None = None
    # The optional columns the file has no column for, field to the label the report names it by (`Sheet.absent`): a
    # row naming a record the agency holds keeps what is stored in those fields, where an empty cell clears one (red
    # team round 6, F0: a case list without `pais_nacimiento` blanked every country of birth; round 34, M2: an
    # opportunity list without `tutores`, `edad_minima` or `habilidades` put them back to their defaults).
    absent: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem is an error, so the whole file may be imported."""
        return not any(problem.severity == "error" for problem in self.problems)

    def to_csv(self, locale: str = "es") -> str:
        """The report as CSV text (with a BOM so spreadsheet programs read UTF-8), every cell escaped."""
        english = locale == "en"
        header = ("row", "column", "value", "expected", "severity") if english else (
            "fila", "columna", "valor", "esperado", "gravedad")
        severity_words = {"error": "error", "warning": "warning" if english else "aviso"}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for problem in sorted(self.problems, key=lambda p: p.row_number):
            cells = (problem.row_number, problem.column, problem.value, problem.expected,
                     severity_words[problem.severity])
            writer.writerow([safe_cell(cell) for cell in cells])
        return "\ufeff" + out.getvalue()


@dataclass
class ImportOutcome(Generic[Row]):
    """What an import did: its report, and how many records it created, updated and left as they were."""

    report: ImportReport[Row]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_references: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file was good, so its rows were written."""
        return self.report.ok


def undone_by_file(row_number: int, reference: str, cells: Sequence[tuple[Column, object]], by: str, agency: str,
                   when: datetime, locale: str) -> RowProblem:
    """The error of a row that would undo, unseen, what an official changed by another door since the last import
    (`audit.versions.changed_by_hand`): at the first of the `cells` (column, value in the row) it changes, naming them
    all, who changed them and when (red team round 22, X-F1)."""
    english = locale != "es"
    labels = ", ".join(column.en if english else column.es for column, _ in cells)
    first, value = cells[0]
    expected = MESSAGES["changed_by_hand"][english].format(reference=reference, columns=labels, by=by, agency=agency,
                                                           when=f"{when:%Y-%m-%d %H:%M}")
    return RowProblem(row_number, first.en if english else first.es, "" if value is None else str(value), expected,
                      "error")


def text(value: str) -> str:
    """Free text with its runs of spaces, tabs and line breaks made single spaces."""
    return " ".join(value.split())


def reference(value: str) -> str:
    """An agency's own reference in a cell, as stored (`identifiers.reference`); one holding what is no printable ASCII
    once folded (a U+2010 hyphen, a Cyrillic А) is refused naming it: two references that look the same must be one
    (red team round 32b, F6). The API's rule too (`cases.service.validate_input`)."""
    folded = identifiers.reference(value)
    if unclear := identifiers.reference_problem(folded):
        raise InvalidValue("reference_characters", characters=unclear)
    return folded


def text_lines(value: str) -> str:
    """Free text that may run over lines (a note: `plaintext.single_line`), its line breaks kept, each line's runs of
    spaces and tabs made single spaces, and empty lines at either end taken off (red team round 12, F5: a note of
    two lines, exported and imported back unchanged, came back as one line and counted as updated)."""
    if "\n" not in value and "\r" not in value:
        return text(value)
    return "\n".join(map(text, value.splitlines())).strip()


def parse_date(value: str) -> date:
    """A date typed in a cell: YYYY-MM-DD only, as at every door (`plaintext.iso_day`); raise InvalidValue naming what
    is wrong. A spreadsheet's date cell is read as its ISO text (`reading`). Day-first and month-first forms
    (04-03-1990, 4/3/1990, 04.03.1990) and unpadded ones were read day first, silently, while a United States
    agency's spreadsheets write month first (red team round 16, F5)."""
    try:
        return plaintext.iso_day(value)
    except plaintext.DayError as error:
        raise InvalidValue("date_exists" if error.kind == "calendar" else "date_format") from None


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an import: the field it fills, its headers in Spanish and English, and how it is read.

    `parse` turns the cell's text (stripped, never empty) into the value or raises InvalidValue;
    `default` is the value of an empty cell or an absent optional column.
    """

    field: str
    es: str
    en: str
    required: bool
    parse: Callable[[str], object] = text
    max_length: int = 200
    default: object = None


# A cell an export quoted so that a spreadsheet would not run it (`exports.safe_cell`: ' before = + - @), as a list
# copied from a CSV export holds it; somewhere in a column's cells joined by NUL.
_GUARDED = re.compile(r"(?:^|\x00)\s*'[=+\-@]")


def unguarded(typed: str) -> str:
    """A cell (stripped) without the quote an export put before = + - @ (`exports.safe_cell`), the inverse of that
    guard: the quote is no part of the value (red team round 11, RE8811 F3: a referencia '=1+1 copied from an export
    made a second case of the person, a given name 'Remigio... changed an identity). Any other cell is as typed."""
    return typed[1:] if typed[:1] == "'" and typed[1:2] in ("=", "+", "-", "@") and typed[1:2] else typed


# Blanks (spaces of any width, tabs) a cell may hold in a row before or inside its value: more push the value out of
# sight of whoever reads the file, the import folding them away (red team round 25, AA-F1: 80 spaces between two given
# names showed only the first, 120 spaces or four line breaks before a cédula showed an empty cell). Blanks after the
# value hide nothing.
MAX_BLANKS = 3
_BLANK_RUN = re.compile(rf"[^\S\n\r]{{{MAX_BLANKS + 1},}}[^\s\x00]")
_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e\x85]")


def hiding_blanks(cell: str) -> bool:
    """Whether a cell's blanks push its text out of view: more than MAX_BLANKS in a row before or inside the value, or
    (in a note, whose line breaks are text) an empty line before it or two empty lines in a row within it."""
    shown = cell.rstrip()
    if _BLANK_RUN.search(shown):
        return True
    if not _LINE_BREAK.search(shown):
        return False
    empty = [not line.strip() for line in _LINE_BREAK.split(shown.replace("\r\n", "\n"))]
    return empty[0] or any(map(min, empty, empty[1:]))


def _blanks_suspect(joined: str) -> bool:
    """Whether any of a column's cells (joined by NUL) may hide its value by its blanks (`hiding_blanks`)."""
    return _BLANK_RUN.search(joined) is not None or _LINE_BREAK.search(joined) is not None


def _any_unwanted(cells: list[str], one_line: bool) -> bool:
    """Whether a column's cells hold a character no input may hold: each distinct cell searched once when the
    column is not all printable ASCII (names, places: a few thousand values repeated over the rows)."""
    joined = "".join(cells)
    if joined.isascii() and joined.isprintable():
        return False
    return bool(plaintext.unwanted("".join(set(cells)), one_line=one_line))


@dataclass(frozen=True, slots=True)
class _Bad:
    """A cell value that failed: the message code and parameters, and the text as typed."""

    code: str
    params: Mapping[str, object]
    typed: str


# An empty cell of a required column.
_REQUIRED = _Bad("required", {}, "")


class Sheet:
    """A file's rows, column by column: the cells as typed, the parsed values, and the problems so far.

    Rows are addressed by index (0 = the first non-blank row after the header); `row_numbers`
    gives each its spreadsheet row number. `values[field]` holds the parsed value of every row
    (the column's default for an empty cell, None for an invalid one); `invalid[field]` the rows
    whose cell did not parse. `complete` is False when a required column is missing: no row is
    then valid, but every row is still checked and reported; `readable` is False when the file
    could not be read at all (its one problem says so).
    """

    def __init__(self, header: list[str], columns: Sequence[Column], messages: Mapping[str, tuple[str, str]],
                 locale: str) -> None:
        self.header = header
        self.columns = columns
        self.english = locale == "en"
        self.messages = messages
        self.problems: list[RowProblem] = []
        self.bad: set[int] = set()
        self.row_numbers: list[int] = []
        self.cells: dict[str, list[str]] = {}
        self.values: dict[str, list[object]] = {}
        self.invalid: dict[str, set[int]] = {}
        self.labels: dict[str, str] = {}
        self.position_of: dict[str, int] = {}
        self.complete = True
        self.readable = True
        # The encoding a CSV was read in (`reading.read_table`; None for a workbook or an unreadable file).
        self.encoding: str | None = None
        self._match_header()

    def absent(self) -> dict[str, str]:
        """The columns the file has none for, field to the label a report names it by (`ImportReport.absent`)."""
        return {column.field: self.labels[column.field] for column in self.columns
                if column.field not in self.position_of}

    # Messages and problems.

    def say(self, code: str, **params: object) -> str:
        """The message `code` in the report's language."""
        return self.messages[code][1 if self.english else 0].format(**params)

    def date_text(self, value: date) -> str:
        """A date as the report's reader writes it."""
        return value.isoformat()

    def typed(self, index: int, name: str) -> str:
        """The cell of field `name` on row `index` as typed (stripped), for a problem report."""
        column = self.cells.get(name)
        return column[index].strip() if column is not None else ""

    def error(self, index: int, name: str, code: str, /, value: str | None = None, **params: object) -> None:
        """Record an error on row `index`, column `name`: the file will not be imported."""
        self.bad.add(index)
        self._add(self.row_numbers[index], self.labels[name], self.typed(index, name) if value is None else value,
                  code, params, "error")

    def warning(self, index: int, name: str, code: str, /, value: str | None = None, **params: object) -> None:
        """Record a warning: a person should look, but the file may be imported."""
        self._add(self.row_numbers[index], self.labels[name], self.typed(index, name) if value is None else value,
                  code, params, "warning")

    def _add(self, row: int, column: str, value: str, code: str, params: Mapping[str, object],
             severity: Severity) -> None:
        # A cell of megabytes is shown by its beginning: the report says what is wrong, it does not carry the cell.
        shown = value if len(value) <= SHOWN_VALUE else value[:SHOWN_VALUE] + "…"
        self.problems.append(RowProblem(row, column, shown, self.say(code, **params), severity))

    # Reading.

    def _match_header(self) -> None:
        """Match the header row to the columns (Spanish or English, case and accents ignored).

        Unknown and repeated columns are problems; so is a missing required column, named in the
        language most of the header is in.
        """
        columns = self.columns
        by_header = {key(name): column for column in columns for name in (column.es, column.en)}
        header_keys = {key(cell) for cell in self.header}
        english = len(header_keys & {key(c.en) for c in columns}) > len(header_keys & {key(c.es) for c in columns})
        accepted = ", ".join(f"{c.es} / {c.en}" for c in columns)
        for position, cell in enumerate(self.header):
            if not cell.strip():
                continue
            column = by_header.get(key(cell))
            if column is None:
                self._add(1, cell.strip(), cell, "unknown_column", {"columns": accepted}, "error")
            elif column.field in self.labels:
                self._add(1, cell.strip(), cell, "repeated_column", {}, "error")
            else:
                self.labels[column.field] = cell.strip()
                self.position_of[column.field] = position
        for column in columns:
            if column.field not in self.labels:
                self.labels[column.field] = column.en if english else column.es
                if column.required:
                    self.complete = False
                    self._add(1, self.labels[column.field], "", "missing_column",
                              {"column": self.labels[column.field]}, "error")

    def read(self, records: Iterable[list[str]]) -> None:
        """Take the rows after the header (blank rows skipped) and parse every column."""
        rows: list[list[str]] = []
        try:
            rows.extend(records)
        except csv.Error:
            # The rows before the one that could not be read are kept, and checked too.
            self._add(len(rows) + 2, "", "", "unreadable", {}, "error")
        filled = list(map(str.strip, map("".join, rows)))
        self.row_numbers = list(compress(range(2, len(rows) + 2), filled))
        if len(self.row_numbers) < len(rows):
            rows = list(compress(rows, filled))
        width = len(self.header)
        lengths = set(map(len, rows))
        if lengths and (min(lengths) < width or max(lengths) > width):
            self._fit(rows, width)
        # Every row is now `width` cells long: the columns in one pass (half the time of one pass per column).
        by_position = list(map(list, zip(*rows, strict=True))) if rows else [[] for _ in range(width)]
        del rows[:]  # the rows' lists go as the columns are parsed
        for blank, label in enumerate(self.header):
            if not label.strip():
                # A value under a blank header cell is read as no column, so it would be left out unseen (red team
                # round 37, F3: a cédula under an empty header was dropped and the row imported): refused at its cell.
                for index, value in enumerate(by_position[blank]):
                    if value.strip():
                        self.bad.add(index)
                        self._add(self.row_numbers[index], get_column_letter(blank + 1), value, "unheaded_cell",
                                  {}, "error")
        for column in self.columns:
            position = self.position_of.get(column.field)
            if position is None:
                self.values[column.field] = [column.default] * len(self.row_numbers)
            else:
                self.cells[column.field] = by_position[position]
                self._parse(column)
        if not self.row_numbers and self.complete and not self.problems:
            self._add(2, "", "", "no_rows", {}, "error")

    def _fit(self, rows: list[list[str]], width: int) -> None:
        """Pad short rows with empty cells; a value beyond the headed columns is an error."""
        for index, cells in enumerate(rows):
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            elif len(cells) > width:
                if any(cell.strip() for cell in cells[width:]):
                    self.bad.add(index)
                    self._add(self.row_numbers[index], get_column_letter(width + 1), "", "extra_cells", {}, "error")
                del cells[width:]

    def _parse(self, column: Column) -> None:
        cells = self.cells[column.field]
        limit = column.max_length
        # A tab or a line break inside a name, a reference or a code is refused; notes may run over lines.
        one_line = plaintext.single_line(column.field)
        suspect = _any_unwanted(cells, one_line)
        guarded = "'" in (joined := "\x00".join(cells)) and _GUARDED.search(joined) is not None
        blanks = _blanks_suspect(joined)
        # A column of references all in printable ASCII (nothing `suspect` is ASCII's control characters) reads as text.
        as_text = column.parse is text or (column.parse is reference and joined.isascii())
        if as_text and max(map(len, cells), default=0) <= limit and not suspect and not guarded and not blanks:
            # Free text: one pass in C for the whole column (an empty cell becomes "").
            words = map(" ".join, map(str.split, cells))
            # A reference in ASCII: its letters in capitals, as `reference` stores it.
            values: list[object] = list(map(str.upper, words) if column.parse is reference else words)
            if not one_line and ("\n" in joined or "\r" in joined):
                # A note keeps its lines: only its cells that hold a line break are read again.
                for index in [i for i, cell in enumerate(cells) if "\n" in cell or "\r" in cell]:
                    values[index] = text_lines(cells[index])
            if "" in values:
                self._empty(column, values)
            self.values[column.field] = values
            self.invalid[column.field] = set()
            return
        # Each distinct cell once: its value, the column's default for an empty cell (spaces alone are
        # empty), or what is wrong with it (an empty cell of a required column included).
        outcome: dict[str, object] = {}
        flagged: set[str] = set()
        parse = text_lines if column.parse is text and not one_line else column.parse
        for raw in set(cells):
            typed = unguarded(raw.strip()) if guarded else raw.strip()
            if not typed:
                outcome[raw] = _REQUIRED if column.required else column.default
                if column.required:
                    flagged.add(raw)
            elif suspect and (unwanted := plaintext.unwanted(raw, one_line=one_line)):
                # The cell as it is, line breaks around its value included (red team round 25, AA-F1: a cédula after
                # four line breaks was taken, the breaks trimmed away before they were looked for).
                outcome[raw] = _Bad("characters", {"characters": plaintext.named(unwanted)}, typed)
                flagged.add(raw)
            elif blanks and hiding_blanks(raw):
                outcome[raw] = _Bad("blanks", {"n": MAX_BLANKS}, typed)
                flagged.add(raw)
            elif len(typed) > limit:
                outcome[raw] = _Bad("too_long", {"n": limit}, typed)
                flagged.add(raw)
            else:
                try:
                    outcome[raw] = parse(typed)
                except InvalidValue as refused:
                    outcome[raw] = _Bad(refused.code, refused.params, typed)
                    flagged.add(raw)
        values = list(map(outcome.__getitem__, cells))
        invalid: set[int] = set()
        for index in [i for i, raw in enumerate(cells) if raw in flagged] if flagged else ():
            value = values[index]
            assert isinstance(value, _Bad)
            values[index] = None
            if value is _REQUIRED:
                self.error(index, column.field, "required", "")
            else:
                invalid.add(index)
                self.error(index, column.field, value.code, value.typed, **value.params)
        self.values[column.field] = values
        self.invalid[column.field] = invalid

    def _empty(self, column: Column, values: list[object]) -> None:
        """Empty free-text cells (now "") become the column's default, or an error where the column is required."""
        if not column.required:
            default = column.default
            values[:] = [default if value == "" else value for value in values]
            return
        for index in [i for i, value in enumerate(values) if value == ""]:
            values[index] = None
            self.error(index, column.field, "required", "")

    # What the import's own checks use.

    def __len__(self) -> int:
        return len(self.row_numbers)

    def drop(self, index: int, name: str) -> None:
        """Forget a parsed value that a later check refused (so checks after it do not use it)."""
        self.values[name][index] = None

    def unique(self, name: str) -> dict[str, int]:
        """Refuse a value of column `name` used on an earlier row; returns the first row number of each value."""
        values = self.values[name]
        if set(map(type, values)) == {str}:
            # Every cell a value: when none repeats (the usual file), the first row of each is its only row.
            only_row_of = dict(zip(values, self.row_numbers, strict=True))
            if len(only_row_of) == len(values):
                return cast(dict[str, int], only_row_of)
        first_row_of: dict[str, int] = {}
        for index, (value, row_number) in enumerate(zip(values, self.row_numbers, strict=True)):
            if isinstance(value, str):
                first = first_row_of.setdefault(value, row_number)
                if first != row_number:
                    self.error(index, name, "reference_unique", value, row=first)
        return first_row_of

    def valid(self) -> Iterator[int]:
        """The indexes of the rows without an error so far (none while a required column is missing)."""
        if not self.complete:
            return iter(())
        if not self.bad:
            return iter(range(len(self)))
        return (index for index in range(len(self)) if index not in self.bad)

    def finish(self) -> list[RowProblem]:
        """The problems of the file in reading order: by row, then in the order of the file's columns."""
        position_of = {label.strip(): position for position, label in enumerate(self.header)}
        width = len(self.header)
        self.problems.sort(key=lambda problem: (problem.row_number, position_of.get(problem.column, width)))
        return self.problems


def read_sheet(data: bytes, filename: str, columns: Sequence[Column], *, locale: str = "es",
               messages: Mapping[str, tuple[str, str]] = MESSAGES, sheets: tuple[str, ...] = (),
               max_unpacked: int = Settings.max_unpacked_bytes) -> Sheet:
    """Read a CSV or XLSX file and parse its columns (never raises: an unreadable file is one problem).

    `messages` is the import's catalogue (this module's MESSAGES and its own); `sheets` the names
    of the workbook sheet to read, in order of preference; `max_unpacked` the installation's bound on
    what a workbook unpacks to (`Settings.max_unpacked_bytes`).
    """
    try:
        header, records, encoding = read_table(data, filename, sheets=sheets, max_unpacked=max_unpacked)
        sheet = Sheet(header, columns, messages, locale)
        sheet.encoding = encoding
        # An XLSX worksheet is read as its rows are: one that breaks past its header is unreadable too.
        sheet.read(records)
    except UnreadableFileError as exc:
        sheet = Sheet([], (), messages, locale)
        if isinstance(exc, MixedEncodingError):
            # Each stray byte at its row and column (red team round 11, RE8811 F2): nothing of the file is read.
            for row, column, cell, byte in exc.bad:
                sheet._add(row, column, cell, "mixed_encoding", {"byte": f"0x{byte:02X}"}, "error")
            if exc.count > len(exc.bad):
                sheet._add(exc.bad[-1][0] if exc.bad else 1, "", "", "mixed_encoding_more",
                           {"count": exc.count - len(exc.bad), "shown": len(exc.bad)}, "error")
        elif isinstance(exc, SheetChoiceError):
            visible = ", ".join(exc.visible) or "—"
            if exc.hidden is not None:
                sheet._add(1, "", exc.hidden, "sheet_hidden", {"sheet": exc.hidden, "visible": visible}, "error")
            else:
                wanted = " / ".join(f"'{name.lower()}'" for name in exc.wanted)
                sheet._add(1, "", filename, "sheet_unclear", {"wanted": wanted, "visible": visible}, "error")
        elif isinstance(exc, HiddenCellsError):
            # Every hidden row at its number and every hidden column at row 1 (red team round 22, X-F2).
            for column in exc.columns:
                sheet._add(1, column, "", "column_hidden", {"column": column, "sheet": exc.sheet}, "error")
            for row in exc.rows:
                sheet._add(row, "", "", "row_hidden", {"row": row, "sheet": exc.sheet}, "error")
            # ... and every cell shown otherwise than it is, or out of sight (red team round 23, Y-F1).
            for row, column, how in exc.cells:
                sheet._add(row, column, "", f"cell_{how}", {"cell": f"{column}{row}", "row": row, "sheet": exc.sheet},
                           "error")
        elif isinstance(exc, TooLargeFileError):
            sheet._add(1, "", filename, "too_large", {"mb": f"{exc.limit / 2**20:g}", "parts": MAX_PARTS}, "error")
        else:
            sheet._add(1, "", filename, "unreadable", {}, "error")
        sheet.complete = sheet.readable = False
    return sheet
