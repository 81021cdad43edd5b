"""A date typed as text is YYYY-MM-DD at every door: the API, an import of cases or of opportunities (CSV and XLSX;
a spreadsheet's date cell is a date, and stays accepted), the pages' forms and the command line's options.

Red team round 16, F5: the case import stored '04-03-1990' as 1990-03-04 (day first, silently, while a United States
agency's spreadsheets write month first, and a birth date decides who is a minor) and took '4/3/1990', '04.03.1990',
'1990-3-4', '1990-03-4'; the registration page took '4-3-1990', '04.03.1990' and '19900304'. Each is refused,
naming the row or field and the form expected; a bad import file reports every bad row and writes nothing.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.cases.models import Case
from retorno.cli.main import app as cli_app
from retorno.reintegration.rows import validate_opportunities
from tests.factories import World, case_payload
from tests.web.pages_helpers import csrf, login

HEADER = ("referencia,nombres,primer_apellido,sexo,fecha_nacimiento,nacionalidad,lugar_custodia,"
          "aeropuerto_cercano,fecha_ingreso\n")
DAY_FIRST = ["04-03-1990", "4/3/1990", "04.03.1990", "31-12-1990", "1990-3-4", "1990-03-4", "19900304",
             "03/04/2009"]


def _cases(session: Session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()


def test_the_case_import_refuses_every_date_not_iso_and_names_each_row(
        client: TestClient, world: World, session: Session) -> None:
    before = _cases(session)
    rows = "".join(f"F5-{n},Ana Sofía,Pruebafecha,F,{typed},VEN,Port Isabel,HRL,2026-10-01\n"
                   for n, typed in enumerate(DAY_FIRST))
    good = "F5-OK,Ana Sofía,Pruebafecha,F,1990-03-04,VEN,Port Isabel,HRL,2026-10-01\n"
    detained = "F5-DET,Ana Sofía,Pruebafecha,F,1990-03-04,VEN,Port Isabel,HRL,01/10/2026\n"
    data = (HEADER + good + rows + detained).encode()
    refused = client.post("/api/v1/cases/import", headers=world.headers("ice.officer"),
                          files={"file": ("casos.csv", data, "text/csv")})
    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["details"]
    bad = sorted((p["row"], p["column"]) for p in problems if p["severity"] == "error")
    assert bad == [*((n + 3, "fecha_nacimiento") for n in range(len(DAY_FIRST))),
                   (len(DAY_FIRST) + 3, "fecha_ingreso")], problems
    assert all("YYYY-MM-DD" in p["expected"] or "AAAA-MM-DD" in p["expected"] for p in problems), problems
    assert _cases(session) == before


def test_a_spreadsheets_date_cell_is_a_date_but_its_text_is_iso_only(
        client: TestClient, world: World, session: Session) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    sheet.append(["F5-X1", "Ana Sofía", "Pruebacelda", "F", date(1990, 3, 4), "VEN", "Port Isabel", "HRL",
                  datetime(2026, 10, 1)])
    sheet.append(["F5-X2", "Luisa", "Pruebatexto", "F", "04-03-1990", "VEN", "Port Isabel", "HRL", "2026-10-01"])
    out = io.BytesIO()
    book.save(out)
    refused = client.post("/api/v1/cases/import", headers=world.headers("ice.officer"),
                          files={"file": ("casos.xlsx", out.getvalue(), "application/octet-stream")})
    assert refused.status_code == 422, refused.text
    problems = refused.json()["error"]["details"]
    assert [(p["row"], p["column"]) for p in problems if p["severity"] == "error"] == [(3, "fecha_nacimiento")]
    sheet.delete_rows(3)
    out = io.BytesIO()
    book.save(out)
    taken = client.post("/api/v1/cases/import", headers=world.headers("ice.officer"),
                        files={"file": ("casos.xlsx", out.getvalue(), "application/octet-stream")})
    assert taken.status_code == 201, taken.text
    case = session.execute(sa.select(Case).where(Case.agency_reference == "F5-X1")).scalar_one()
    assert case.birth_date == date(1990, 3, 4)


def test_the_registration_page_takes_iso_only(client: TestClient, session: Session) -> None:
    login(client, "inm.officer")
    before = _cases(session)
    for typed in ("4-3-1990", "04.03.1990", "19900304", "04/03/1990", "1990-3-4"):
        data = {k: v for k, v in case_payload(birth_date=typed).items() if isinstance(v, str)}
        refused = client.post("/cases/new", data={**data, "_day_fields": "birth_date,detained_since",
                                                  "csrf_token": csrf(client, "/cases/new")}, follow_redirects=False)
        assert refused.status_code == 422, (typed, refused.status_code)
        assert "YYYY-MM-DD" in refused.text or "AAAA-MM-DD" in refused.text, typed
    assert _cases(session) == before


def test_the_opportunity_import_takes_iso_only() -> None:
    start = date.today() + timedelta(days=60)
    header = ("referencia,tipo,titulo,lugar_de_trabajo,sector,ocupacion_ciuo,estado,municipio,cupos,tutores,"
              "monto_mensual,moneda,fecha_inicio,duracion_meses,edad_minima,educacion_minima,habilidades")
    rows = [f",pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,1,1500,VES,{typed},6,,,"
            for typed in (start.isoformat(), start.strftime("%d/%m/%Y"), start.strftime("%d-%m-%Y"),
                          start.strftime("%Y%m%d"))]
    report = validate_opportunities("\n".join([header, *rows]).encode(), "oportunidades.csv", today=date.today())
    assert [(p.row_number, p.column) for p in report.problems if p.severity == "error"] == [
        (3, "fecha_inicio"), (4, "fecha_inicio"), (5, "fecha_inicio")]


def test_the_command_line_takes_iso_only(tmp_path: object) -> None:
    result = CliRunner().invoke(cli_app, ["mrz", "check", "--on", "20261203", "-"], input="P<VEN\n")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output, result.output
