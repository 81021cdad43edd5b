"""Red team round 11, RE8811 F2 (high): a UTF-8 case list with one stray Windows-1252 byte (the "é" of "café" a
Windows edit left in a note) was read wholesale as Latin-1, so "Raúl Túa" was stored "RaÃol TÃoa" (ú read as Ãº, º
then folded to o) without a word: a re-import rewrote verified identities, and a new registration of a person ICE
held escaped the possible-duplicate comparison and reached an approved manifest past INM's open asylum claim.

Now a CSV that is valid UTF-8 is UTF-8; one holding UTF-8 letters and bytes that are not UTF-8 is refused, each stray
byte named at its row and column, nothing written, at every file door (the API's and the page's import, the page's
check-only report, the opportunity list); only a file without a single UTF-8 letter is read as Windows-1252, and the
answer says which encoding was read. A name that still reads as UTF-8 read as Latin-1 (Ãº, Ã©, â€™) is refused at
its cell, at the import (CSV and XLSX), the API's registration and correction and the pages'.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno import names
from retorno.cases.models import Case
from retorno.imports.reading import read_table
from retorno.reintegration.rows import COLUMNS as OPPORTUNITY_COLUMNS
from tests.factories import Api, World, ok
from tests.functional.test_names_in_other_alphabets import SIFONTES, _payload, _xlsx
from tests.web.pages_helpers import csrf, login, post_form
from tests.web.test_edit_conflicts_pages import form_on

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso,observaciones\n")
DETAINED = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")


def _row(reference: str, given: str = "Raúl", first: str = "Túa", notes: str = "ok") -> str:
    return f"{reference},{given},{first},Urbina,M,1973-07-07,VEN,,Tapachula,TAP,{DETAINED},{notes}\n"


def _names(session_factory: sessionmaker[Session], reference: str) -> list[tuple[str, str]]:
    with session_factory() as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            sa.select(Case.given_names, Case.first_surname).where(Case.agency_reference == reference))]


def _mixed(text: str) -> bytes:
    """`text` in UTF-8 with its one "é" of "café" as Windows-1252 writes it (byte 0xE9)."""
    return text.encode("utf-8").replace("café".encode(), b"caf\xe9")


def page_registration(client: TestClient, user: str, **fields: str) -> Any:
    """Register a man held at Port Isabel through the page's form as `user`, with `fields`: the page's answer."""
    login(client, user)
    form = {"sex": "M", "birth_date": "1984-08-14", "nationality": "VEN", "held_at": "Port Isabel",
            "detained_since": (date.today() - timedelta(days=9)).isoformat(), "language": "es", **fields}
    return post_form(client, "/cases/new", form, page="/cases/new")


def _refused(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 422, answer.text[:2000]
    error = answer.json()["error"]
    assert error["code"] == "import_refused", error
    return [p for p in error["details"] if p["severity"] == "error"]


def test_a_utf8_list_with_a_stray_byte_is_refused_at_its_row_and_column_and_writes_nothing(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    headers = world.headers("inm.officer")
    first = client.post("/api/v1/cases/import", headers=headers,
                        files={"file": ("casos.csv", (HEADER + _row("RTMIX3")).encode(), "text/csv")})
    assert ok(first, 201)["encoding"] == "UTF-8"
    assert _names(session_factory, "RTMIX3") == [("Raúl", "Túa")]
    # The same person again with a note of one Windows-1252 byte, and a newcomer: refused, nothing written.
    data = _mixed(HEADER + _row("RTMIX3", notes="café") + _row("RTMIX4", given="Jesús", first="Rúa"))
    for language, said in (("en", "byte 0xE9 is not"), ("es", "el byte 0xE9 no lo es")):
        problems = _refused(client.post(f"/api/v1/cases/import?lang={language}", headers=headers,
                                        files={"file": ("casos.csv", data, "text/csv")}))
        assert [(p["row"], p["column"], p["value"]) for p in problems] == [(2, "observaciones", "caf<0xE9>")]
        assert said in problems[0]["expected"], problems
    assert _names(session_factory, "RTMIX3") == [("Raúl", "Túa")]
    assert _names(session_factory, "RTMIX4") == []
    # Every stray byte is named, each at its row and column (a name cell too).
    two = _mixed(HEADER + _row("RTMIX5", notes="café")).replace(b"Urbina", b"Urb\xedna")
    problems = _refused(client.post("/api/v1/cases/import?lang=en", headers=headers,
                                    files={"file": ("casos.csv", two, "text/csv")}))
    assert [(p["row"], p["column"], p["value"]) for p in problems] == [
        (2, "segundo_apellido", "Urb<0xED>na"), (2, "observaciones", "caf<0xE9>")]
    # A byte-order mark says UTF-8 as a letter does.
    marked = b"\xef\xbb\xbf" + (HEADER + _row("RTMIX6", given="Raul", first="Tua", notes="caf\xe9")).encode("latin-1")
    problems = _refused(client.post("/api/v1/cases/import?lang=en", headers=headers,
                                    files={"file": ("casos.csv", marked, "text/csv")}))
    assert [(p["row"], p["column"]) for p in problems] == [(2, "observaciones")]
    assert _names(session_factory, "RTMIX6") == []


def test_a_list_without_utf8_letters_is_read_as_windows_1252_and_says_so(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    data = (HEADER + _row("RTW-1", notes="café – 5 €")).encode("cp1252")
    answer = ok(client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                            files={"file": ("casos.csv", data, "text/csv")}), 201)
    assert (answer["created"], answer["encoding"]) == (1, "Windows-1252")
    assert _names(session_factory, "RTW-1") == [("Raúl", "Túa")]
    # A byte Windows-1252 leaves undefined (0x81, a control character a cell then refuses): strict Latin-1.
    assert read_table(b"nombres\nRa\xfal\x81\n", "casos.csv")[2] == "Latin-1"
    workbook = ok(client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                              files={"file": ("casos.xlsx", _xlsx(HEADER, _row("RTW-3")), "application/octet-stream")}),
                  201)
    assert workbook["encoding"] is None


def test_the_import_page_and_its_check_only_report_refuse_a_mixed_file(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    login(client, "inm.officer")
    upload = {"file": ("casos.csv", _mixed(HEADER + _row("RTMIX-P", notes="café")), "text/csv")}
    page = client.post("/cases/import", files=upload, data={"csrf_token": csrf(client, "/cases/import")})
    assert page.status_code == 422, page.text[:2000]
    assert "0xE9" in page.text and "caf&lt;0xE9&gt;" in page.text
    assert _names(session_factory, "RTMIX-P") == []
    report = client.post("/cases/import/report", files=upload, data={"csrf_token": csrf(client, "/cases/import")})
    assert report.status_code == 200
    assert "0xE9" in report.text and "observaciones" in report.text
    good = client.post("/cases/import", data={"csrf_token": csrf(client, "/cases/import")},
                       files={"file": ("casos.csv", (HEADER + _row("RTMIX-P")).encode("cp1252"), "text/csv")})
    assert good.status_code == 200 and 'id="encoding"' in good.text and "Windows-1252" in good.text, good.text[:3000]


def test_an_opportunity_list_with_a_stray_byte_is_refused(client: TestClient, world: World) -> None:
    header = ",".join(c.es for c in OPPORTUNITY_COLUMNS)
    cells = ["Panadería"] * len(OPPORTUNITY_COLUMNS)
    cells[-1] = "café"
    body = _mixed(header + "\n" + ",".join(cells) + "\n")
    answer = client.post("/api/v1/opportunities/import?lang=en", files={"file": ("ofertas.csv", body, "text/csv")},
                         headers=world.headers("op.officer"))
    problems = _refused(answer)
    assert [(p["row"], p["column"]) for p in problems] == [(2, OPPORTUNITY_COLUMNS[-1].es)], problems
    assert "0xE9" in problems[0]["expected"]


MOJIBAKE = ["Raúl".encode().decode("cp1252"), "JOSÉ".encode().decode("cp1252"), "Núñez".encode().decode("cp1252"),
            "O’Neil".encode().decode("cp1252"), "Íñigo".encode().decode("latin-1")]


@pytest.mark.parametrize("name", ["Ângela", "JOÃO", "São", "Conceição", "Raúl", "O'Neil", "Núñez", "Øyvind"])
def test_real_names_are_not_mojibake(name: str) -> None:
    assert names.mojibake(name) == ""


def test_a_name_read_as_latin1_is_refused_at_every_door(client: TestClient, world: World,
                                                        session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    for typed in MOJIBAKE:
        assert names.mojibake(typed), typed
    # The import, CSV (a file already garbled and saved as UTF-8) and XLSX: the cell is refused, nothing written.
    row = _row("RTMOJ-1", given="JesÃºs", first="RÃºa")
    for name, data in (("casos.csv", (HEADER + row).encode()), ("casos.xlsx", _xlsx(HEADER, row))):
        problems = _refused(client.post("/api/v1/cases/import?lang=en", headers=world.headers("ice.officer"),
                                        files={"file": (name, data, "application/octet-stream")}))
        assert [(p["row"], p["column"]) for p in problems] == [(2, "nombres"), (2, "primer_apellido")], problems
        assert "read as Latin-1" in problems[0]["expected"] and "Ãº" in problems[0]["expected"]
    assert _names(session_factory, "RTMOJ-1") == []
    # The API's registration and correction.
    for number, typed in enumerate(MOJIBAKE[:4]):  # the fifth holds a control character, refused before
        refused = api.post("ice.officer", "/api/v1/cases",
                           {**_payload(SIFONTES), "agency_reference": f"RTMOJ-A{number}", "first_surname": typed})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "name_not_latin", (typed, refused.text)
        assert "read as Latin-1" in refused.json()["error"]["message"], refused.text
        assert _names(session_factory, f"RTMOJ-A{number}") == []
    case = api.register("ice.officer", **SIFONTES)["reference"]
    patched = api.patch("ice.officer", f"/api/v1/cases/{case}", {"given_names": "JesÃºs"})
    assert patched.status_code == 422 and "read as Latin-1" in patched.json()["error"]["message"], patched.text
    spanish = client.post("/api/v1/cases", json={**_payload(SIFONTES), "agency_reference": "RTMOJ-ES",
                                                 "given_names": "JesÃºs"},
                          headers={**world.headers("ice.officer"), "Accept-Language": "es"})
    assert "leído como Latin-1" in spanish.json()["error"]["localized"]["message"], spanish.text
    # The pages: registration and correction.
    page = page_registration(client, "ice.officer", agency_reference="RTMOJ-P", given_names="JesÃºs",
                             first_surname="Sifontes")
    assert page.status_code != 303 and "Ãº" in page.text, page.text[:2000]
    assert _names(session_factory, "RTMOJ-P") == []
    action = f"/cases/{case}/edit"
    edited = client.post(action, data={**form_on(client, action, action), "first_surname": "RÃºa"},
                         follow_redirects=False)
    assert edited.status_code != 303 and "Ãº" in edited.text, edited.text[:2000]
    with session_factory() as session:
        stored = session.execute(sa.select(Case).where(Case.reference == case)).scalar_one()
        assert (stored.given_names, stored.first_surname) == ("Gregorio", "Sifontes")
