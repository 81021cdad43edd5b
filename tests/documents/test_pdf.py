"""The printable emergency travel document."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from datetime import date

import pytest

from retorno.documents.mrz import build_emergency_mrz, emergency_document_number
from retorno.documents.pdf import EmergencyDocumentPrint, render_emergency_document

NUMBER = emergency_document_number(2023, 207)


def _document() -> EmergencyDocumentPrint:
    mrz = build_emergency_mrz(number=NUMBER, surnames="Muñoz Peña", given_names="José Ángel",
                              birth_date=date(1990, 8, 12), sex="M", expiry_date=date(2024, 1, 30))
    return EmergencyDocumentPrint(
        number=NUMBER, surnames="Muñoz Peña", given_names="José Ángel", nationality="VEN",
        birth_date=date(1990, 8, 12), sex="M", place_of_birth="Maracaibo, Zulia",
        issue_date=date(2023, 12, 28), expiry_date=date(2024, 1, 30),
        issuing_authority="SAIME — Consulado en Villahermosa", case_reference="CASE-2023-000207", mrz=mrz,
    )


def _text(pdf: bytes) -> str:
    """The page text: through pdftotext when installed, else the uncompressed content stream."""
    if shutil.which("pdftotext"):
        command = ["pdftotext", "-layout", "-", "-"]
        result = subprocess.run(command, input=pdf, capture_output=True, check=True)
        return result.stdout.decode()
    return pdf.decode("latin-1")


def test_renders_a_one_page_a4_pdf() -> None:
    pdf = render_emergency_document(_document())
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 1
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf


def test_text_holds_the_number_and_the_mrz_in_courier() -> None:
    doc = _document()
    pdf = render_emergency_document(doc, compress=False)
    text = _text(pdf)
    assert NUMBER in text
    for line in doc.mrz.split("\n"):
        assert line in text
    assert b"/Courier" in pdf
    assert "CASE-2023-000207" in text


def test_spanish_labels_come_first_unless_english_is_asked_for() -> None:
    spanish = _text(render_emergency_document(_document(), compress=False))
    assert spanish.index("Documento de viaje de emergencia") < spanish.index("Emergency travel document")
    assert "Firma del titular / Holder's signature" in spanish
    assert "Fotograf" in spanish
    assert "12 AGO/AUG 1990" in spanish
    english = _text(render_emergency_document(_document(), locale="en", compress=False))
    assert english.index("Emergency travel document") < english.index("Documento de viaje de emergencia")
    assert "Holder's signature / Firma del titular" in english
    assert "12 AUG/AGO 1990" in english


def test_output_is_reproducible() -> None:
    assert render_emergency_document(_document()) == render_emergency_document(_document())


def test_an_expired_document_can_still_be_printed() -> None:
    expired = dataclasses.replace(_document(), issue_date=date(2024, 3, 1))
    assert NUMBER in _text(render_emergency_document(expired, compress=False))


def test_refuses_unknown_locale_and_wrong_mrz() -> None:
    with pytest.raises(ValueError, match="locale"):
        render_emergency_document(_document(), locale="fr")
    other = build_emergency_mrz(number=emergency_document_number(2023, 208), surnames="Muñoz Peña",
                                given_names="José Ángel", birth_date=date(1990, 8, 12), sex="M",
                                expiry_date=date(2024, 1, 30))
    with pytest.raises(ValueError, match="document number"):
        render_emergency_document(dataclasses.replace(_document(), mrz=other))
    with pytest.raises(ValueError, match="does not match the declared name"):
        render_emergency_document(dataclasses.replace(_document(), surnames="Pérez"))
    broken = _document().mrz[:-1] + "0"
    with pytest.raises(ValueError, match="composite check digit"):
        render_emergency_document(dataclasses.replace(_document(), mrz=broken))
