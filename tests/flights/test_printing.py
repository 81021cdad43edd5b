import csv
import dataclasses
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from retorno.flights.manifest_data import FlightManifest, Passenger
from retorno.flights.printing import manifest_csv, render_manifest_pdf

DEPARTURE = datetime(2023, 12, 30, 14, 15, tzinfo=UTC)


def passenger(number: int, **changes) -> Passenger:
    base = Passenger(
        case_reference=f"MX-2023-{number:06d}",
        surnames=f"RAMIREZ{number} TORRES",
        given_names="Luis Alberto",
        sex="M",
        birth_date=date(1988, 7, 9),
        nationality="VEN",
        document_type="PE",
        document_number=f"E{number:07d}",
        document_expiry=date(2024, 6, 30),
        document_issuing_state="VEN",
        seat=f"{number // 6 + 1}{'ABCDEF'[number % 6]}",
        household_reference=f"H-{number // 3}",
        escort_needs="medical" if number % 50 == 0 else "",
    )
    return dataclasses.replace(base, **changes)


def manifest(passengers: list[Passenger]) -> FlightManifest:
    return FlightManifest(
        flight_number="V0 1234",
        carrier_code="V0",
        carrier_name="Conviasa",
        origin="VSA",
        destination="CCS",
        departure_utc=DEPARTURE,
        arrival_utc=DEPARTURE + timedelta(hours=5, minutes=15),
        sending_authority="INSTITUTO NACIONAL DE MIGRACION",
        receiving_authority="SAIME",
        passengers=passengers,
        escorts=12,
        medical_staff=2,
    )


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def test_pdf_lists_the_flight_and_every_passenger():
    passengers = [passenger(1), passenger(2, surnames="<b>GOMEZ & HIJOS</b>", seat=None)]
    pdf = render_manifest_pdf(manifest(passengers))
    assert pdf.startswith(b"%PDF")
    for expected in (
        b"Manifiesto de pasajeros",
        b"V0 1234",
        b"Conviasa",
        b"Villahermosa \\(VSA\\)",
        b"08:15 CST",
        b"15:30 UTC-04",
        b"RAMIREZ1 TORRES, Luis Alberto",
        b"(<) Tj (B) Tj (>) Tj (GOMEZ & HIJOS) Tj",  # markup is printed, not obeyed
        b"PE E0000001 \\(VEN\\)",
        b"9 jul 1988",
        b"H-0",
        b"INSTITUTO NACIONAL DE MIGRACION",
        b"SAIME",
        b"Firma:",
        b"1 de 1",
    ):
        assert expected in pdf, expected


def test_pdf_labels_follow_the_locale():
    pdf = render_manifest_pdf(manifest([passenger(1)]), locale="en")
    for expected in (
        b"Passenger manifest",
        b"Date of birth",
        b"Sending state authority",
        b"9 Jul 1988",
        b"page 1 of 1",
    ):
        assert expected in pdf, expected
    with pytest.raises(ValueError, match="no flight-document texts"):
        render_manifest_pdf(manifest([passenger(1)]), locale="fr")


def test_three_hundred_passengers_span_several_pages_that_say_how_many():
    pdf = render_manifest_pdf(manifest([passenger(number) for number in range(300)]))
    count = pages(pdf)
    assert count > 3
    assert f"1 de {count}".encode() in pdf
    assert f"{count} de {count}".encode() in pdf
    # The column headings repeat on every page.
    assert pdf.count(b"Grupo familiar") == count
    assert b"RAMIREZ0 TORRES" in pdf
    assert b"RAMIREZ299 TORRES" in pdf


def test_pdf_is_the_same_bytes_for_the_same_manifest():
    assert render_manifest_pdf(manifest([passenger(1)])) == render_manifest_pdf(manifest([passenger(1)]))


def _rows(text: str) -> list[list[str]]:
    """The rows of a manifest CSV, which opens with a byte order mark as every table export does (so that a
    spreadsheet on a Windows desk reads the accents of STRØM or ÑÁÑEZ as UTF-8, not as Windows-1252)."""
    assert text.startswith("\ufeff") and not text.startswith("\ufeff\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_csv_opens_with_a_byte_order_mark_in_every_language():
    for locale in ("es", "en"):
        text = manifest_csv(manifest([passenger(1)]), locale=locale)
        assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
        assert _rows(text)[1][0] == "MX-2023-000001"


def test_csv_has_localized_headers_and_one_row_per_passenger():
    rows = _rows(manifest_csv(manifest([passenger(1), passenger(2)])))
    assert rows[0][:4] == ["Expediente", "Asiento", "Apellidos", "Nombres"]
    assert rows[1] == [
        "MX-2023-000001",
        "1B",
        "RAMIREZ1 TORRES",
        "Luis Alberto",
        "M",
        "1988-07-09",
        "VEN",
        "PE",
        "E0000001",
        "2024-06-30",
        "VEN",
        "H-0",
        "",
    ]
    assert len(rows) == 3
    english = _rows(manifest_csv(manifest([]), locale="en"))[0]
    assert english[:4] == ["Case reference", "Seat", "Surnames", "Given names"]


def test_csv_cells_cannot_run_as_formulas():
    hostile = passenger(
        1, surnames='=HYPERLINK("http://example.invalid","x")', given_names="+1", escort_needs="@SUM(A1)"
    )
    row = _rows(manifest_csv(manifest([hostile])))[1]
    assert row[2] == '\'=HYPERLINK("http://example.invalid","x")'
    assert row[3] == "'+1"
    assert row[12] == "'@SUM(A1)"
