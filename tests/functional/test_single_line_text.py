"""A name, a reference or a code is one line (red team): a line break (or a tab, or a carriage return) was still
accepted in them at every door, and a stored 'Ana\\nMaría' reads as two passengers' lines on a printed manifest or
in a spreadsheet row. Every door refuses it now — API bodies, page forms, spreadsheet imports, verification
decision files, the command line — while notes and reasons keep their line breaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno import plaintext
from retorno.cli.main import app
from retorno.verification.exchange import DecisionFileError
from tests.factories import Api, World, case_payload, ok
from tests.linker import import_file
from tests.web.pages_helpers import login, post_form

HEADER = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso,observaciones\n")
BREAKS = {"\n": "U+000A", "\r": "U+000D", "\t": "U+0009"}


@pytest.mark.parametrize("character", sorted(BREAKS))
def test_a_line_break_is_text_only_where_text_runs_over_lines(character: str) -> None:
    assert plaintext.unwanted(f"Ana{character}María", one_line=True) == [BREAKS[character]]
    assert plaintext.unwanted(f"Ana{character}María") == []
    assert plaintext.single_line("given_names") and plaintext.single_line("--name") and plaintext.single_line(None)
    assert not plaintext.single_line("notes") and not plaintext.single_line("--reason")


def test_the_api_refuses_a_line_break_in_a_name_a_reference_or_a_code(client: TestClient, world: World) -> None:
    api = Api(client, world)
    for field, value in (("given_names", "Ana\nMaría"), ("first_surname", "Pé\rrez"), ("agency_reference", "P-\t1"),
                         ("national_id", "V123\n45678"), ("household_reference", "H-\n1")):
        refused = client.post("/api/v1/cases", json=case_payload(**{field: value}),
                              headers=world.headers("inm.officer"))
        assert refused.status_code == 422, (field, refused.text)
        assert "U+000" in refused.text and field in refused.text, refused.text
    # Notes run over lines, as they did.
    case = ok(client.post("/api/v1/cases", json=case_payload(notes="Primera línea.\nSegunda línea."),
                          headers=world.headers("inm.officer")), 201)
    assert case["reference"]
    refused = api.patch("inm.officer", f"/api/v1/cases/{case['reference']}", {"given_names": "Otra\nPersona"})
    assert refused.status_code == 422, refused.text
    ok(api.patch("inm.officer", f"/api/v1/cases/{case['reference']}", {"notes": "Una\nnota."}))
    flight = api.post("inm.officer", "/api/v1/flights", {
        "flight_number": "V0\n3101", "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": 100,
        "origin": "TAP", "destination": "CCS", "departure_utc": "2030-01-01T10:00:00+00:00",
        "arrival_utc": "2030-01-01T15:00:00+00:00", "escorts": 5, "medical_staff": 1})
    assert flight.status_code == 422 and "flight_number" in flight.text, flight.text


def test_a_page_form_refuses_a_line_break_in_a_name_and_keeps_it_in_notes(client: TestClient, world: World) -> None:
    login(client, "inm.officer")
    form = {"agency_reference": "P-1", "given_names": "Ana\nMaría", "first_surname": "Pérez", "sex": "F",
            "birth_date": "1990-05-17", "nationality": "VEN", "held_at": "Tapachula", "detained_since": "2026-10-01",
            "nearest_airport": "TAP", "notes": "Una\nnota."}
    answer = post_form(client, "/cases/new", form, page="/cases/new")
    assert answer.status_code == 422 and "U+000A" in answer.text, answer.text[-2000:]
    answer = post_form(client, "/cases/new", {**form, "given_names": "Ana María"}, page="/cases/new")
    assert answer.status_code == 303, answer.text[-2000:]


def test_an_import_refuses_a_line_break_in_a_name_and_keeps_notes(client: TestClient, world: World) -> None:
    rows = ('D-1,,"Ana\nMaría",Pérez,,F,1990-02-01,VEN,,Tapachula,TAP,2026-10-01,"Una\nnota"\n'
            "D-2,,Luis,Gómez,,M,1990-02-01,VEN,,Tapachula,TAP,2026-10-01,\n")
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("lista.csv", (HEADER + rows).encode(), "text/csv")})
    assert answer.status_code == 422, answer.text
    assert {(d["row"], d["column"]) for d in answer.json()["error"]["details"]} == {(2, "nombres")}
    assert "U+000A" in answer.text
    good = rows.replace('"Ana\nMaría"', "Ana María")
    answer = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                         files={"file": ("lista.csv", (HEADER + good).encode(), "text/csv")})
    assert answer.status_code in (200, 201), answer.text


def test_a_decisions_file_refuses_a_line_break_in_a_registry_record(world: World, session: Session) -> None:
    lines = [json.dumps({"request": "VR-VE-2026-000001", "outcome": "verified", "registry_record": "555\n555"})]
    with pytest.raises(DecisionFileError) as refused:
        import_file(session, world.users["saime.officer"], lines)
    assert "U+000A" in str(refused.value) and "registry_record" in str(refused.value)
    multi = [json.dumps({"request": "VR-VE-2026-000001", "outcome": "rejected", "reason": "No figura.\nRevisado."})]
    with pytest.raises(DecisionFileError) as unknown:
        import_file(session, world.users["saime.officer"], multi)
    assert "U+000A" not in str(unknown.value) and "no request" in str(unknown.value)


def test_the_command_line_refuses_a_line_break_but_in_a_reason(tmp_path: Path) -> None:
    env = {"RETORNO_DATA_DIR": str(tmp_path), "RETORNO_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}"}
    for args in (["agencies", "add", "XX-YY", "--kind", "monitor", "--name", "Mal\nnombre", "--country", "VEN"],
                 ["agencies", "add", "XX-YY", "--kind", "monitor", "--name=Mal\tnombre", "--country", "VEN"],
                 ["flights", "remove", "RF-2030-0001", "MX-\n1", "--reason", "dos\nlíneas"]):
        refused = CliRunner().invoke(app, args, env=env)
        assert refused.exit_code == 2 and "U+000" in refused.output, refused.output
    assert not (tmp_path / "none.sqlite3").exists()
    # A reason may run over lines: the command gets past the door (and fails later for want of an official).
    reason = CliRunner().invoke(app, ["flights", "remove", "RF-2030-0001", "MX-1", "--reason", "dos\nlíneas"],
                                env=env)
    assert "U+000A" not in reason.output, reason.output
