"""The printed manifest of a locked flight (PDF, A4 landscape) and the same list as CSV.

The PDF is what both authorities sign on the apron: every page repeats the column
headings and says "page n of N", so a missing sheet is noticed before departure.
"""

from __future__ import annotations

import functools
import io
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from babel import Locale
from babel.dates import format_date
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from retorno.exports import exported_record, table_csv
from retorno.flights.airports import display_name, to_local, zone_abbreviation
from retorno.flights.manifest_data import FlightManifest, Passenger, document_locale

LABELS: dict[str, dict[str, str]] = {
    "es": {
        "title": "Manifiesto de pasajeros",
        "flight": "Vuelo",
        "carrier": "Transportista",
        "route": "Ruta",
        "departure": "Salida (hora local)",
        "arrival": "Llegada (hora local)",
        "passengers": "Pasajeros",
        "escorts": "Escoltas",
        "medical_staff": "Personal médico",
        "on_board": "Total a bordo",
        "number": "N.º",
        "case": "Expediente",
        "seat": "Asiento",
        "name": "Apellidos, nombres",
        "surnames": "Apellidos",
        "given_names": "Nombres",
        "sex": "Sexo",
        "birth_date": "Fecha de nacimiento",
        "nationality": "Nacionalidad",
        "document": "Documento",
        "document_type": "Tipo de documento",
        "document_number": "Número de documento",
        "document_expiry": "Vencimiento del documento",
        "issuing_state": "Estado emisor",
        "household": "Grupo familiar",
        "escort_needs": "Necesidades de escolta",
        "sending_authority": "Autoridad del Estado de envío",
        "receiving_authority": "Autoridad del Estado receptor",
        "signer_name": "Nombre",
        "signature": "Firma",
        "signed_on": "Fecha",
        "page": "Vuelo {flight} · {route} · página {page} de {pages}",
        "expires": "vence",
        "escort_needs.medical": "médica",
    },
    "en": {
        "title": "Passenger manifest",
        "flight": "Flight",
        "carrier": "Carrier",
        "route": "Route",
        "departure": "Departure (local time)",
        "arrival": "Arrival (local time)",
        "passengers": "Passengers",
        "escorts": "Escorts",
        "medical_staff": "Medical staff",
        "on_board": "Total on board",
        "number": "No.",
        "case": "Case reference",
        "seat": "Seat",
        "name": "Surnames, given names",
        "surnames": "Surnames",
        "given_names": "Given names",
        "sex": "Sex",
        "birth_date": "Date of birth",
        "nationality": "Nationality",
        "document": "Document",
        "document_type": "Document type",
        "document_number": "Document number",
        "document_expiry": "Document expiry",
        "issuing_state": "Issuing state",
        "household": "Household",
        "escort_needs": "Escort needs",
        "sending_authority": "Sending state authority",
        "receiving_authority": "Receiving state authority",
        "signer_name": "Name",
        "signature": "Signature",
        "signed_on": "Date",
        "page": "Flight {flight} · {route} · page {page} of {pages}",
        "expires": "expires",
        "escort_needs.medical": "medical",
    },
}

PAGE = landscape(A4)
MARGIN = 12 * mm
# Widths of: no., seat, name, sex, date of birth, document, household, escort needs.
COLUMN_WIDTHS = [12 * mm, 16 * mm, 84 * mm, 12 * mm, 30 * mm, 54 * mm, 30 * mm, 35 * mm]


def _labels(locale: Locale) -> dict[str, str]:
    return LABELS[locale.language]


def _when(moment: datetime, iata: str, locale: Locale) -> str:
    local = to_local(moment, iata)
    return f"{format_date(local.date(), 'long', locale=locale)}, {local:%H:%M} {zone_abbreviation(local)}"


def _route(manifest: FlightManifest, locale: Locale) -> str:
    origin = display_name(manifest.origin, str(locale))
    destination = display_name(manifest.destination, str(locale))
    return f"{origin} ({manifest.origin.upper()}) – {destination} ({manifest.destination.upper()})"


class _NumberedCanvas(Canvas):
    """Canvas that holds every page back until the end so that each can say "page n of N"."""

    def __init__(self, *args: Any, footer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            self.drawRightString(
                PAGE[0] - MARGIN, MARGIN / 2, self._footer.format(page=number, pages=len(self._pages))
            )
            super().showPage()
        super().save()


def _header_block(manifest: FlightManifest, locale: Locale, styles: dict[str, ParagraphStyle]) -> list[Any]:
    text = _labels(locale)
    rows = [
        [text["flight"], manifest.flight_number, text["carrier"], manifest.carrier_name],
        [text["route"], _route(manifest, locale), "", ""],
        [
            text["departure"],
            _when(manifest.departure_utc, manifest.origin, locale),
            text["arrival"],
            _when(manifest.arrival_utc, manifest.destination, locale),
        ],
        [
            text["passengers"],
            str(len(manifest.passengers)),
            text["escorts"] + " / " + text["medical_staff"],
            f"{manifest.escorts} / {manifest.medical_staff}",
        ],
        ["", "", text["on_board"], str(len(manifest.passengers) + manifest.escorts + manifest.medical_staff)],
    ]
    cells = [[Paragraph(escape(cell), styles["cell"]) for cell in row] for row in rows]
    table = Table(cells, colWidths=[42 * mm, 96 * mm, 42 * mm, 93 * mm])
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (1, 1), (3, 1)),
                ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return [Paragraph(escape(text["title"]), styles["title"]), table, Spacer(1, 4 * mm)]


def _passenger_row(index: int, passenger: Passenger, locale: Locale, style: ParagraphStyle) -> list[Any]:
    text = _labels(locale)
    document = f"{passenger.document_type} {passenger.document_number} ({passenger.document_issuing_state})"
    if passenger.document_expiry is not None:
        document += f", {text['expires']} {format_date(passenger.document_expiry, 'medium', locale=locale)}"
    name = f"{passenger.surnames.upper()}, {passenger.given_names}"
    return [
        str(index),
        passenger.seat or "",
        Paragraph(escape(name), style),
        passenger.sex,
        format_date(passenger.birth_date, "medium", locale=locale),
        Paragraph(escape(document), style),
        Paragraph(escape(passenger.household_reference or ""), style),
        Paragraph(escape(_escort_needs(passenger, text)), style),
    ]


def _escort_needs(passenger: Passenger, text: dict[str, str]) -> str:
    """The escort need in the document's language (the manifest carries its code, e.g. "medical")."""
    return text.get(f"escort_needs.{passenger.escort_needs}", passenger.escort_needs) if passenger.escort_needs else ""


def _passenger_table(manifest: FlightManifest, locale: Locale, styles: dict[str, ParagraphStyle]) -> Table:
    text = _labels(locale)
    heading = [
        Paragraph(escape(text[key]), styles["heading"])
        for key in ("number", "seat", "name", "sex", "birth_date", "document", "household", "escort_needs")
    ]
    rows = [
        _passenger_row(index, passenger, locale, styles["cell"])
        for index, passenger in enumerate(manifest.passengers, start=1)
    ]
    table = Table([heading, *rows], colWidths=COLUMN_WIDTHS, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#d9d9d9")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                # Alternate shading keeps a row readable across a wide landscape page.
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f3f3f3")]),
            ]
        )
    )
    return table


def _signatures(manifest: FlightManifest, locale: Locale, styles: dict[str, ParagraphStyle]) -> KeepTogether:
    text = _labels(locale)
    line = "_" * 40

    def side(role: str, authority: str) -> list[Paragraph]:
        return [
            Paragraph(f"<b>{escape(text[role])}</b>", styles["cell"]),
            Paragraph(escape(authority), styles["cell"]),
            *(
                Paragraph(f"{escape(text[key])}: {line}", styles["signature"])
                for key in (
                    "signer_name",
                    "signature",
                    "signed_on",
                )
            ),
        ]

    sending = side("sending_authority", manifest.sending_authority)
    receiving = side("receiving_authority", manifest.receiving_authority)
    table = Table(
        [list(pair) for pair in zip(sending, receiving, strict=True)], colWidths=[136 * mm, 136 * mm]
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return KeepTogether([Spacer(1, 8 * mm), table])


def _styles() -> dict[str, ParagraphStyle]:
    sample = getSampleStyleSheet()
    cell = ParagraphStyle("cell", parent=sample["BodyText"], fontSize=8, leading=10)
    return {
        "title": sample["Title"],
        "cell": cell,
        "heading": ParagraphStyle("heading", parent=cell, fontName="Helvetica-Bold"),
        "signature": ParagraphStyle("signature", parent=cell, spaceBefore=6 * mm),
    }


def render_manifest_pdf(manifest: FlightManifest, *, locale: str = "es") -> bytes:
    """Render the manifest as a signable PDF: flight details, passenger table, signatures of both sides.

    Its text goes through the exports' one sanitiser (`exports.exported_record`) before anything is drawn.
    """
    manifest = exported_record(manifest)
    language = document_locale(locale)
    text = _labels(language)
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{text['title']} {manifest.flight_number}",
        author=manifest.sending_authority,
        # Same manifest, same bytes: lets the two sides compare files by hash.
        invariant=1,
        pageCompression=0,
    )
    story = [
        *_header_block(manifest, language, styles),
        _passenger_table(manifest, language, styles),
        _signatures(manifest, language, styles),
    ]
    # Flight and route go in before the page numbers; doubling braces keeps them literal.
    footer = text["page"].format(
        flight=manifest.flight_number.replace("{", "{{").replace("}", "}}"),
        route=f"{manifest.origin.upper()}–{manifest.destination.upper()}",
        page="{page}",
        pages="{pages}",
    )
    document.build(story, canvasmaker=functools.partial(_NumberedCanvas, footer=footer))
    return buffer.getvalue()


CSV_COLUMNS = (
    "case",
    "seat",
    "surnames",
    "given_names",
    "sex",
    "birth_date",
    "nationality",
    "document_type",
    "document_number",
    "document_expiry",
    "issuing_state",
    "household",
    "escort_needs",
)


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def manifest_csv(manifest: FlightManifest, *, locale: str = "es") -> str:
    """The passenger list as CSV with localized headings, written as every other table export is (`table_csv`:
    UTF-8 with a byte order mark, so that the spreadsheet on the check-in desk shows the accents; every cell made
    safe)."""
    text = _labels(document_locale(locale))
    # Dates stay ISO 8601 so that a spreadsheet sorts them and a re-import reads them.
    rows = [(passenger.case_reference, passenger.seat or "", passenger.surnames, passenger.given_names, passenger.sex,
             _iso(passenger.birth_date), passenger.nationality, passenger.document_type, passenger.document_number,
             _iso(passenger.document_expiry), passenger.document_issuing_state, passenger.household_reference or "",
             _escort_needs(passenger, text))
            for passenger in manifest.passengers]
    return table_csv([text[column] for column in CSV_COLUMNS], rows)
