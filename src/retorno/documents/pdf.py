"""The printable emergency travel document: one A4 page, bilingual, with its MRZ at the bottom."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import pycountry
from babel import Locale
from babel.dates import get_month_names
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from retorno.documents.mrz import compare_name, parse_mrz
from retorno.errors import Message
from retorno.exports import exported_record

LOCALES = ("es", "en")

# Every label in Spanish and English; the document's locale decides which comes first.
_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Documento de viaje de emergencia", "Emergency travel document"),
    "validity": ("Válido únicamente para el viaje de retorno", "Valid only for the return journey"),
    "number": ("Número del documento", "Document number"),
    "surnames": ("Apellidos", "Surnames"),
    "given_names": ("Nombres", "Given names"),
    "nationality": ("Nacionalidad", "Nationality"),
    "birth_date": ("Fecha de nacimiento", "Date of birth"),
    "sex": ("Sexo", "Sex"),
    "place_of_birth": ("Lugar de nacimiento", "Place of birth"),
    "issue_date": ("Fecha de expedición", "Date of issue"),
    "expiry_date": ("Fecha de vencimiento", "Date of expiry"),
    "issuing_authority": ("Autoridad emisora", "Issuing authority"),
    "case_reference": ("Referencia del caso", "Case reference"),
    "photo": ("Fotografía del titular", "Holder's photograph"),
    "holder_signature": ("Firma del titular", "Holder's signature"),
    "authority_signature": ("Firma y sello de la autoridad", "Signature and stamp of the authority"),
}

_MARGIN = 20 * mm
_PHOTO_WIDTH, _PHOTO_HEIGHT = 35 * mm, 45 * mm
_MRZ_FONT_SIZE = 13


class UnprintableDocument(ValueError):
    """The document's MRZ is invalid or no longer describes the person as declared (a corrected name).

    `problems` says what is wrong, each in words a page translates.
    """

    def __init__(self, problems: list[Message]) -> None:
        super().__init__("the MRZ cannot be printed on this document: " + "; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class EmergencyDocumentPrint:
    """Everything printed on an emergency travel document."""

    number: str
    surnames: str
    given_names: str
    nationality: str
    birth_date: date
    sex: str
    place_of_birth: str
    issue_date: date
    expiry_date: date
    issuing_authority: str
    case_reference: str
    mrz: str


def _label(key: str, locale: str) -> str:
    spanish, english = _LABELS[key]
    return f"{spanish} / {english}" if locale == "es" else f"{english} / {spanish}"


def _print_date(value: date, locale: str) -> str:
    """A date as ICAO prints it in the visual zone, with the month in both languages: 12 AGO/AUG 1974."""
    months = [get_month_names("abbreviated", locale=code)[value.month].rstrip(".")[:3].upper()
              for code in (locale, *(other for other in LOCALES if other != locale))]
    shown = months[0] if months[0] == months[1] else "/".join(months)
    return f"{value.day:02d} {shown} {value.year}"


def _country_name(code: str, locale: str) -> str:
    country = pycountry.countries.get(alpha_3=code)
    if country is None:
        return code
    name = Locale(locale).territories.get(country.alpha_2)
    return f"{code} ({name})" if name else code


def _check_mrz(doc: EmergencyDocumentPrint) -> list[str]:
    """The MRZ lines to print, after checking that they are valid and describe this document."""
    mrz = parse_mrz(doc.mrz, today=doc.issue_date)
    # A copy of an expired document may still be printed for the file; anything else wrong may not.
    problems = [problem.sentence for problem in mrz.problems if problem.code != "expired"]
    mismatch = compare_name(mrz, doc.surnames, doc.given_names)
    if mismatch:
        problems.append(mismatch.sentence)
    if mrz.document_number != doc.number:
        problems.append(Message("MRZ document number %(mrz)s is not %(number)s",
                                {"mrz": repr(mrz.document_number), "number": repr(doc.number)}))
    if problems:
        raise UnprintableDocument(problems)
    return list(mrz.lines)


def render_emergency_document(
    doc: EmergencyDocumentPrint, *, locale: str = "es", compress: bool = True
) -> bytes:
    """Render an emergency travel document as a one-page A4 PDF, labels in `locale` first.

    The output is byte-for-byte reproducible (reportlab's invariant mode), so the same document
    always has the same hash; `compress=False` leaves the page content readable for inspection.
    Raises `ValueError` for an unknown locale or an MRZ that is invalid or describes someone else.
    """
    if locale not in LOCALES:
        raise ValueError(f"locale {locale!r} is not one of {', '.join(LOCALES)}")
    # Its text goes through the exports' one sanitiser before it is checked against the MRZ and drawn.
    doc = exported_record(doc)
    mrz_lines = _check_mrz(doc)
    buffer = io.BytesIO()
    width, height = A4
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1 if compress else 0, lang=locale)
    canvas.setTitle(f"{_label('title', locale)} {doc.number}")
    canvas.setAuthor(doc.issuing_authority)
    canvas.setSubject(doc.case_reference)

    first_title, second_title = _LABELS["title"] if locale == "es" else reversed(_LABELS["title"])
    top = height - _MARGIN
    canvas.setFont("Helvetica-Bold", 17)
    canvas.drawString(_MARGIN, top - 17, first_title)
    canvas.setFont("Helvetica", 13)
    canvas.drawString(_MARGIN, top - 35, second_title)
    canvas.setFont("Helvetica-Oblique", 9)
    canvas.drawString(_MARGIN, top - 52, _label("validity", locale))
    canvas.line(_MARGIN, top - 60, width - _MARGIN, top - 60)

    photo_x, photo_y = width - _MARGIN - _PHOTO_WIDTH, top - 72 - _PHOTO_HEIGHT
    canvas.setDash(3, 2)
    canvas.rect(photo_x, photo_y, _PHOTO_WIDTH, _PHOTO_HEIGHT)
    canvas.setDash()
    canvas.setFont("Helvetica", 7)
    for offset, text in enumerate(_label("photo", locale).split(" / ")):
        canvas.drawCentredString(photo_x + _PHOTO_WIDTH / 2, photo_y + _PHOTO_HEIGHT / 2 - offset * 9, text)

    fields = [
        ("number", doc.number),
        ("surnames", doc.surnames),
        ("given_names", doc.given_names),
        ("nationality", _country_name(doc.nationality, locale)),
        ("birth_date", _print_date(doc.birth_date, locale)),
        ("sex", doc.sex),
        ("place_of_birth", doc.place_of_birth),
        ("issue_date", _print_date(doc.issue_date, locale)),
        ("expiry_date", _print_date(doc.expiry_date, locale)),
        ("issuing_authority", doc.issuing_authority),
        ("case_reference", doc.case_reference),
    ]
    y = top - 80
    for key, value in fields:
        canvas.setFont("Helvetica", 7)
        canvas.setFillGray(0.35)
        canvas.drawString(_MARGIN, y, _label(key, locale))
        canvas.setFillGray(0)
        canvas.setFont("Helvetica-Bold" if key == "number" else "Helvetica", 11)
        canvas.drawString(_MARGIN, y - 13, value)
        y -= 31

    signature_y = y - 30
    canvas.setFont("Helvetica", 7)
    for x, key in ((_MARGIN, "holder_signature"), (width / 2 + 5 * mm, "authority_signature")):
        canvas.line(x, signature_y, x + 75 * mm, signature_y)
        canvas.drawString(x, signature_y - 10, _label(key, locale))

    # The MRZ sits in its clear zone at the foot of the page, in a fixed-pitch face as OCR-B would be.
    canvas.setFont("Courier", _MRZ_FONT_SIZE)
    line_height = _MRZ_FONT_SIZE * 1.5
    for index, line in enumerate(mrz_lines):
        canvas.drawString(_MARGIN, _MARGIN + line_height * (len(mrz_lines) - 1 - index), line)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
