"""The blank case list in the import format that officials fill in.

The template documents every column on a second sheet, so an official never needs this
code to fill it in. Synthetic lists in the same format are `retorno.synthetic.case_files`.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

import openpyxl

from retorno.cases.rows import COLUMNS

FileFormat = Literal["csv", "xlsx"]

# Per field: the format in Spanish, in English, and an example value. The example row names no cédula and no document:
# records of one person are linked by them, so every row copying an example number would be the same person, whoever
# it names (red team round 17, O-F1: the example passport `123456789`, copied by two agencies, linked strangers, and
# one's concern took the other's passenger off a locked manifest; a sequence names no document since, and is refused).
_DOCS: dict[str, tuple[str, str, str]] = {
    "case_reference": ("referencia propia de la agencia, única en el archivo",
                       "the agency's own reference, unique in the file", "INM-2023-000101"),
    "household_reference": ("mismo valor para los miembros de una familia, un código de hogar ya registrado, o la "
                            "referencia de un caso (la de la agencia o la del sistema)",
                            "same value for the members of one family, a household code registered already, or a "
                            "case reference (the agency's or the system's)", "H-0001"),
    "relationship": ("titular, conyuge, hijo, padre, hermano u otro",
                     "head, spouse, child, parent, sibling or other", "titular"),
    "given_names": ("nombres, compuestos si es el caso", "given names, compound allowed", "José Luis"),
    "first_surname": ("primer apellido", "first surname", "Pérez"),
    "second_surname": ("segundo apellido", "second surname", "González"),
    "sex": ("M, F o X", "M, F or X", "M"),
    "birth_date": ("AAAA-MM-DD (o celda de fecha); no futura, desde 1900",
                   "YYYY-MM-DD (or a date cell); not in the future, from 1900", "1985-03-15"),
    "place_of_birth": ("ciudad o municipio", "city or municipality", "Maracaibo"),
    "country_of_birth": ("código ISO 3166-1 de 2 o 3 letras", "ISO 3166-1 code of 2 or 3 letters", "VE"),
    "nationality": ("código ISO 3166-1 de 2 o 3 letras", "ISO 3166-1 code of 2 or 3 letters", "VEN"),
    "national_id": ("cédula venezolana: V o E opcional, 1 a 9 dígitos, puntos y guion permitidos; vacía si no se "
                    "conoce", "Venezuelan cédula: optional V or E, 1 to 9 digits, dots and hyphen allowed; empty if "
                    "unknown", ""),
    "document_type": ("P pasaporte, PE documento de emergencia, ID, o ninguno",
                      "P passport, PE emergency document, ID, or none", ""),
    "document_number": ("letras A-Z y dígitos, como en el documento (pasaporte: hasta 9); vacío si no se conoce, "
                        "nunca 000000000, 123456789 ni SINDOC", "letters A-Z and digits as on the document (passport: "
                        "up to 9); empty if unknown, never 000000000, 123456789 or SINDOC", ""),
    "held_at": ("estación migratoria, centro o ciudad", "facility or city", "Tapachula"),
    "nearest_airport": ("código IATA de 3 letras", "3-letter IATA code", "TAP"),
    "detained_since": ("AAAA-MM-DD (o celda de fecha); no futura, no anterior al nacimiento",
                       "YYYY-MM-DD (or a date cell); not in the future, not before birth", "2023-12-01"),
    "language": ("código ISO 639; por omisión es", "ISO 639 code; es when empty", "es"),
    "contact": ("teléfono u otro contacto", "telephone or other contact", "0414-555-0101"),
    "notes": ("texto libre", "free text", ""),
}
# The second example row: a child of the first row's household.
_CHILD = {"case_reference": "INM-2023-000102", "relationship": "hijo", "given_names": "María José",
          "first_surname": "Pérez", "second_surname": "Rodríguez", "sex": "F", "birth_date": "2015-07-01",
          "national_id": "", "document_type": "", "document_number": "", "contact": ""}


def case_template(fmt: FileFormat, locale: str = "es") -> bytes:
    """The blank case list: headers and two example rows; XLSX adds a sheet documenting the columns."""
    english = locale == "en"
    header = [column.en if english else column.es for column in COLUMNS]
    first = [_DOCS[column.field][2] for column in COLUMNS]
    second = [_CHILD.get(column.field, _DOCS[column.field][2]) for column in COLUMNS]
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([header, first, second])
        # The BOM makes spreadsheet programs read the accents as UTF-8.
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    book = openpyxl.Workbook()
    cases = book.active
    assert cases is not None
    cases.title = "cases" if english else "casos"
    for row in (header, first, second):
        cases.append(row)
    cases.freeze_panes = "A2"
    columns = book.create_sheet("columns" if english else "columnas")
    columns.append(["column", "columna (español)", "required", "format", "example"] if english else
                   ["columna", "column (English)", "obligatoria", "formato", "ejemplo"])
    for column in COLUMNS:
        format_es, format_en, example = _DOCS[column.field]
        required = ("yes" if english else "sí") if column.required else "no"
        names = [column.en, column.es] if english else [column.es, column.en]
        columns.append([*names, required, format_en if english else format_es, example])
    for sheet, widths in ((cases, [18] * len(COLUMNS)), (columns, [22, 22, 12, 70, 18])):
        for position, width in enumerate(widths, start=1):
            sheet.column_dimensions[openpyxl.utils.get_column_letter(position)].width = width
    out_bytes = io.BytesIO()
    book.save(out_bytes)
    return out_bytes.getvalue()
