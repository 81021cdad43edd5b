"""Red team round 11, RE8811 F3 (low): the XLSX exports kept the CSV formula guard, a quote written inside the text of
a cell starting with = + - @ ('-Inyección, '+1 (555) 0101): an XLSX text cell is an inline string no spreadsheet runs,
so the quote was part of the value, shown and copied (a carrier re-keying the list typed it into a name). And the
importer took the guard's quote as data: a referencia '=1+1 copied from a CSV export made a second case of the person,
a note or a phone so copied changed the record.

Now every XLSX export writes such text as it is, as a cell of type string (never a formula); CSV keeps the quote. Every
imported cell (CSV or XLSX, case lists and opportunity lists share the reading) takes a leading quote before = + - @
off, the inverse of the export's guard.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.exports import table_csv, table_xlsx
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,lugar_custodia,"
          "aeropuerto_cercano,fecha_ingreso,telefono,observaciones\n")
DETAINED = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
HOSTILE = ["-Inyección", "+1 (555) 0101", "=1+1", "@SUMA Estación"]


def test_xlsx_writes_text_as_it_is_and_csv_keeps_the_quote() -> None:
    book = openpyxl.load_workbook(io.BytesIO(table_xlsx(["a", "b", "c", "d"], [HOSTILE], sheet="s")))
    cells = list(book.active.iter_rows())[1]
    assert [c.value for c in cells] == HOSTILE
    assert all(c.data_type == "s" for c in cells)
    rows = list(csv.reader(io.StringIO(table_csv(["a", "b", "c", "d"], [HOSTILE]).lstrip("\ufeff"))))
    assert rows[1] == ["'" + value for value in HOSTILE]


def test_the_case_list_xlsx_has_no_quote_and_runs_nothing(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case(held_at="@SUMA Estación", contact="+58 412", notes="-1+1")
    login(client, "inm.officer")
    book = openpyxl.load_workbook(io.BytesIO(client.get("/cases.xlsx", params={"q": case["reference"]}).content))
    rows = [[c.value for c in r] for r in book.active.iter_rows()]
    cell = dict(zip(rows[0], rows[1], strict=True))
    assert (cell["Lugar de custodia"], cell["Contacto"], cell["Notas"]) == ("@SUMA Estación", "+58 412", "-1+1")
    assert all(c.data_type != "f" for r in book.active.iter_rows() for c in r)
    text = client.get("/cases.csv", params={"q": case["reference"]}).text.lstrip("\ufeff")
    header, line = list(csv.reader(io.StringIO(text)))[:2]
    assert dict(zip(header, line, strict=True))["Contacto"] == "'+58 412"


def _stored(session_factory: sessionmaker[Session], reference: str) -> list[tuple[str | None, ...]]:
    with session_factory() as session:
        return [tuple(row) for row in session.execute(
            sa.select(Case.held_at, Case.contact, Case.notes, Case.given_names)
            .where(Case.agency_reference == reference))]


def test_an_import_takes_the_quote_of_a_csv_export_off(client: TestClient, world: World,
                                                       session_factory: sessionmaker[Session]) -> None:
    headers = world.headers("inm.officer")
    row = f"-RT-Q1,Remigio,Rojas,,M,1980-02-01,VEN,@SUMA Estación,TAP,{DETAINED},+58 412,-1+1\n"
    first = ok(client.post("/api/v1/cases/import", headers=headers,
                           files={"file": ("casos.csv", (HEADER + row).encode(), "text/csv")}), 201)
    assert first["created"] == 1
    # The same row as a CSV export quotes it: the same case, nothing changed, no second case.
    quoted = f"'-RT-Q1,Remigio,Rojas,,M,1980-02-01,VEN,'@SUMA Estación,TAP,{DETAINED},'+58 412,'-1+1\n"
    again = ok(client.post("/api/v1/cases/import", headers=headers,
                           files={"file": ("casos.csv", (HEADER + quoted).encode(), "text/csv")}), 201)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1), again
    assert _stored(session_factory, "-RT-Q1") == [("@SUMA Estación", "+58 412", "-1+1", "Remigio")]
    assert _stored(session_factory, "'-RT-Q1") == []
    # XLSX alike; a quote before anything else is data as typed (O'Neil, 'Chata').
    book = openpyxl.Workbook()
    book.active.append(HEADER.strip().split(","))
    book.active.append(["'-RT-Q1", "Remigio", "Rojas", None, "M", "1980-02-01", "VEN", "'@SUMA Estación", "TAP",
                        DETAINED, "'+58 412", "'Chata' -1+1"])
    data = io.BytesIO()
    book.save(data)
    third = ok(client.post("/api/v1/cases/import", headers=headers,
                           files={"file": ("casos.xlsx", data.getvalue(), "application/octet-stream")}), 201)
    assert (third["created"], third["updated"]) == (0, 1), third
    assert _stored(session_factory, "-RT-Q1") == [("@SUMA Estación", "+58 412", "'Chata' -1+1", "Remigio")]
