"""Every text a record holds goes into an export: a character no input may hold any longer (`plaintext`), which
an older record may still hold (a vertical tab pasted into a name, a right-to-left override, NUL), is left out of
the workbook and the CSV instead of failing the whole download for every agency that sees the record."""

from __future__ import annotations

import csv
import io

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from tests.factories import Api, World
from tests.web.pages_helpers import login


def test_a_stored_name_with_control_or_bidi_characters_exports_to_xlsx_and_csv(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = api.register()
    # As a record stored before such text was refused holds it (PostgreSQL text cannot hold NUL itself).
    session.execute(sa.update(Case).where(Case.reference == case["reference"]).values(
        given_names="Ana\x0bLuisa\u200b", first_surname="=Pérez\x01", notes="\u202e\x02=1+1",
        contact="línea\x1fotra\u2028"))
    session.flush()
    for viewer in ("inm.officer", "sre.officer"):
        login(client, viewer)
        workbook = client.get("/cases.xlsx")
        assert workbook.status_code == 200, workbook.text[:300]
        rows = [[c.value for c in r] for r in openpyxl.load_workbook(io.BytesIO(workbook.content)).active.iter_rows()]
        cell = next(dict(zip(rows[0], row, strict=True)) for row in rows[1:] if case["reference"] in row)
        # An XLSX text cell is never run: written as it is, without CSV's quote (red team round 11, RE8811 F3).
        assert (cell["Nombres"], cell["Primer apellido"], cell["Contacto"]) == ("AnaLuisa", "=Pérez", "líneaotra")
        assert cell["Notas"] == "=1+1"
        text = client.get("/cases.csv")
        assert text.status_code == 200
        header, *lines = list(csv.reader(io.StringIO(text.text.lstrip("\ufeff"))))
        row = next(dict(zip(header, line, strict=True)) for line in lines if case["reference"] in line)
        assert row["Primer apellido"] == "'=Pérez" and row["Nombres"] == "AnaLuisa"
