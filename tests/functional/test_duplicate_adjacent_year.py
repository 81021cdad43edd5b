"""A birth date on the same day of the adjacent year is as near as one digit off, at every door that compares (red
team round 7, L2): an officer re-registering a person with the year typed as the one next to it across a decade (1999
for 2000, 1989 for 1990: several digits, one slip of the year) escaped another country's record with an asylum claim
open, while 2001 (one digit) was flagged. A registration, a correction, an import row (CSV and XLSX) and the import's
comparison of its own rows flag it now, and the record held so stays off a manifest."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import Api, World, ok
from tests.functional.test_duplicates_every_door import _by_agency_reference

# The round's person: ICE holds her born 24 August 2000, with an asylum claim open.
MILAGROS: dict[str, Any] = {"national_id": None, "given_names": "Milagros Rosa", "first_surname": "Castrillo",
            "second_surname": "Díaz", "sex": "F", "birth_date": "2000-08-24"}
ELSEWHERE = "one another agency holds open for the same person"
HEADER = ["referencia", "nombres", "primer_apellido", "segundo_apellido", "sexo", "fecha_nacimiento", "nacionalidad",
          "lugar_custodia", "aeropuerto_cercano", "fecha_ingreso"]


def _held_in_the_us(api: Api, **person: Any) -> str:
    reference = str(api.register("ice.officer", **{**MILAGROS, **person})["reference"])
    api.screen(reference, ["pending_asylum_claim"], user="ice.officer")
    return reference


def _flags(api: Api, reference: str) -> list[tuple[str, Any]]:
    return [(d["other"], d["decision"]) for d in ok(api.get("inm.officer",
                                                            f"/api/v1/cases/{reference}/possible-duplicates"))]


def _row(reference: str, born: str, **person: Any) -> list[str]:
    person = {**MILAGROS, **person}
    return [reference, person["given_names"], person["first_surname"], person["second_surname"], "F",
            date.fromisoformat(born).strftime("%Y-%m-%d"), "VEN", "Estación Migratoria Villahermosa", "VSA",
            (date.today() - timedelta(days=12)).strftime("%Y-%m-%d")]


def _file(kind: str, rows: list[list[str]]) -> tuple[str, bytes, str]:
    if kind == "csv":
        text = "\n".join(",".join(row) for row in [HEADER, *rows]) + "\n"
        return "lista.csv", text.encode(), "text/csv"
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return "lista.xlsx", data.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _import(client: TestClient, world: World, kind: str, rows: list[list[str]]) -> dict[str, Any]:
    return dict(ok(client.post("/api/v1/cases/import", files={"file": _file(kind, rows)},
                               headers=world.headers("inm.officer")), 201))


def test_a_registration_with_the_year_before_across_a_decade_is_flagged_and_held(client: TestClient,
                                                                                 world: World) -> None:
    api = Api(client, world)
    _held_in_the_us(api)
    case = api.register(**{**MILAGROS, "birth_date": "1999-08-24"})
    again = case["reference"]
    assert _flags(api, again) == [("another agency", None)]
    # Held as the one-digit slip is: screened, verified and documented, refused onto a manifest.
    api.screen(again, [])
    api.verify(again)
    assert api.passport(case)["case_state"] == "documented"
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [again]})
    assert refused.status_code == 409 and ELSEWHERE in refused.json()["error"]["message"], refused.text
    # Within one country, the year after across a decade, read by its reason.
    own = api.register(**{**MILAGROS, "given_names": "Yusmary", "birth_date": "1989-03-05"})["reference"]
    after = api.register(**{**MILAGROS, "given_names": "Yusmary", "birth_date": "1990-03-05"})["reference"]
    [shown] = ok(api.get("inm.officer", f"/api/v1/cases/{after}/possible-duplicates"))
    assert shown["other"] == own and shown["reason"] == "birth date in the adjacent year", shown


def test_a_correction_to_the_adjacent_year_is_flagged(client: TestClient, world: World) -> None:
    api = Api(client, world)
    _held_in_the_us(api)
    other = api.register(**{**MILAGROS, "birth_date": "1997-08-24"})["reference"]
    assert _flags(api, other) == []  # three years apart: another person
    ok(api.patch("inm.officer", f"/api/v1/cases/{other}", {"birth_date": "2001-08-24"}))  # one digit: flagged
    assert _flags(api, other) == [("another agency", None)]
    second = api.register(**{**MILAGROS, "given_names": "Milagros", "birth_date": "1997-08-24"})["reference"]
    ok(api.patch("inm.officer", f"/api/v1/cases/{second}", {"given_names": "Milagros Rosa",
                                                             "birth_date": "1999-08-24"}))
    assert ("another agency", None) in _flags(api, second)


def test_an_import_row_with_the_adjacent_year_is_flagged_csv_and_xlsx(client: TestClient, world: World,
                                                                      session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    held = _held_in_the_us(api)
    for kind, reference in (("csv", "RT7-V06"), ("xlsx", "RT7-V07")):
        outcome = _import(client, world, kind, [_row(reference, "1999-08-24")])
        assert outcome["created"] == 1 and outcome["possible_duplicates"] >= 1, outcome
        assert held not in str(outcome)
        assert ("another agency", None) in _flags(api, _by_agency_reference(session_factory, reference))


def test_two_rows_of_one_file_a_year_apart_across_a_decade_are_flagged(client: TestClient, world: World,
                                                                       session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    person = {"given_names": "Oriana", "first_surname": "Belisario", "second_surname": "Quintana"}
    outcome = _import(client, world, "csv", [_row("IN-1", "1980-02-14", **person),
                                             _row("IN-2", "1979-02-14", **person),
                                             # Two years apart: another person.
                                             _row("IN-3", "1978-02-14", given_names="Oriana", first_surname="Mujica",
                                                  second_surname="Quintana"),
                                             _row("IN-4", "1980-02-14", given_names="Oriana", first_surname="Mujica",
                                                  second_surname="Quintana")])
    assert outcome["created"] == 4 and outcome["possible_duplicates"] == 1, outcome
    first = _by_agency_reference(session_factory, "IN-1")
    assert _flags(api, _by_agency_reference(session_factory, "IN-2")) == [(first, None)]
    assert _flags(api, _by_agency_reference(session_factory, "IN-4")) == []


def test_a_registration_born_the_next_day_or_month_or_on_the_first_is_flagged_and_held(client: TestClient,
                                                                                      world: World) -> None:
    """Red team round 41, F1: ICE holds a person with an asylum claim open; INM registered her again born the next day
    across a ten (29 and 30), in the next month (September and October) or on the 1st of the month typed for a day not
    known: no flag, and the record went on a manifest. Each is flagged now, and the record held stays off it."""
    api = Api(client, world)
    for held_born, again_born in (("1984-03-29", "1984-03-30"), ("1991-09-14", "1991-10-14"),
                                  ("1983-05-17", "1983-05-01")):
        _held_in_the_us(api, birth_date=held_born)
        case = api.register(**{**MILAGROS, "birth_date": again_born})
        assert _flags(api, case["reference"]) == [("another agency", None)], again_born
    api.screen(case["reference"], [])
    api.verify(case["reference"])
    assert api.passport(case)["case_state"] == "documented"
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]})
    assert refused.status_code == 409 and ELSEWHERE in refused.json()["error"]["message"], refused.text
