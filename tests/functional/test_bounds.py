"""Bounds: out-of-range numbers are a 422, unknown languages Spanish, big bodies a 413, long reports capped."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.config import Settings
from retorno.web.app import create_app
from tests.factories import Api, World, case_payload, ok
from tests.web.pages_helpers import csrf, login

HUGE = "99999999999999999999999"
HEADER = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def bad_rows(count: int) -> bytes:
    """A case list in which every row lacks its first surname and has an impossible birth date."""
    rows = "".join(f"B-{n},,Ana,,,F,1990-02-31,VEN,,Tapachula,TAP,2024-10-01\n" for n in range(count))
    return (HEADER + rows).encode()


@pytest.mark.parametrize(("user", "path"), [
    ("saime.officer", "/api/v1/verification/queue?limit=-99999999999999999999"),
    ("saime.officer", "/api/v1/verification/queue?limit=" + HUGE),
    ("monitor.viewer", "/api/v1/audit?before_seq=" + HUGE),
    ("monitor.viewer", "/api/v1/audit?before_seq=-" + HUGE),
    ("inm.officer", "/api/v1/cases?offset=" + HUGE),
])
def test_numbers_out_of_range_in_a_query_are_a_422(client: TestClient, world: World, user: str, path: str) -> None:
    response = client.get(path, headers=world.headers(user))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("path", [f"/api/v1/follow-ups/{HUGE}", f"/api/v1/placements/{HUGE}",
                                  "/api/v1/follow-ups/0", f"/api/v1/placements/{2**31}"])
def test_ids_out_of_range_in_a_path_are_a_422(client: TestClient, world: World, path: str) -> None:
    response = client.post(path, json={"status": "started"}, headers=world.headers("op.officer"))
    assert response.status_code == 422, response.text


def test_body_numbers_have_bounds(client: TestClient, world: World) -> None:
    sample = client.post("/api/v1/verification/audit-sample", json={"share": 0.5, "seed": int(HUGE)},
                         headers=world.headers("saime.supervisor"))
    assert sample.status_code == 422
    flight = client.post("/api/v1/flights", json={"flight_number": "V0 1", "receiving_agency": "VE-SAIME",
                                                  "carrier": "CONVIASA", "seats": 100, "origin": "TAP",
                                                  "destination": "CCS", "departure_utc": "2030-01-01T10:00:00Z",
                                                  "arrival_utc": "2030-01-01T15:00:00Z", "escorts": int(HUGE)},
                         headers=world.headers("inm.officer"))
    assert flight.status_code == 422


def test_pages_refuse_out_of_range_numbers_without_a_server_error(client: TestClient) -> None:
    login(client, "monitor.viewer")
    assert client.get("/audit?before_seq=" + HUGE).status_code == 422
    login(client, "op.officer")
    response = client.post(f"/reintegration/placements/{HUGE}",
                           data={"status": "started", "csrf_token": csrf(client, "/reintegration/placements")})
    assert response.status_code == 422
    assert client.get(f"/reintegration/follow-ups/{HUGE}").status_code == 422
    login(client, "inm.officer")
    assert client.get("/cases?page=" + HUGE).status_code == 422
    form = {"flight_number": "V0 9", "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": HUGE,
            "origin": "TAP", "destination": "CCS", "departure": "2030-01-01T10:00", "arrival": "2030-01-01T15:00",
            "escorts": "1", "csrf_token": csrf(client, "/flights/new")}
    assert client.post("/flights/new", data=form, follow_redirects=False).status_code == 422


def test_unknown_languages_fall_back_to_spanish(client: TestClient, world: World) -> None:
    api = Api(client, world)
    flight = api.flight()["reference"]
    passenger = api.ready_case()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{passenger}/decision", {"approve": True}))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"))
    for suffix in ("pdf", "csv"):
        spanish = api.get("inm.officer", f"/api/v1/flights/{flight}/manifest.{suffix}?lang=es")
        unknown = api.get("inm.officer", f"/api/v1/flights/{flight}/manifest.{suffix}?lang=xx")
        assert unknown.status_code == 200, unknown.text
        if suffix == "csv":
            assert unknown.text == spanish.text
    case = api.register()
    api.screen(case["reference"])
    api.verify(case["reference"])
    document = ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/emergency-document"), 201)
    number = document.get("number") or document["document_number"]
    pdf = api.get("saime.officer", f"/api/v1/emergency-documents/{number}.pdf?lang=xx")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    imported = client.post("/api/v1/cases/import?lang=zz", headers=world.headers("inm.officer"),
                           files={"file": ("l.csv", bad_rows(1), "text/csv")})
    assert imported.status_code == 422


@pytest.fixture
def small_limits(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app(dataclasses.replace(settings, max_body_bytes=2000, max_upload_bytes=50_000))
    app.state.sessionmaker = session_factory
    with TestClient(app) as small:
        yield small
    app.state.engine.dispose()


def test_bodies_and_uploads_over_the_limit_are_a_413(small_limits: TestClient, world: World) -> None:
    headers = world.headers("inm.officer")
    big = small_limits.post("/api/v1/cases", json=case_payload(held_at="x" * 3000), headers=headers)
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    assert "2000 bytes" in big.json()["error"]["message"]
    streamed = small_limits.post("/api/v1/cases", content=iter([b"{" + b" " * 1500, b" " * 1500 + b"}"]),
                                 headers={**headers, "content-type": "application/json"})
    assert streamed.status_code == 413
    upload = small_limits.post("/api/v1/cases/import", files={"file": ("l.csv", bad_rows(1000), "text/csv")},
                               headers=headers)
    assert upload.status_code == 413
    fits = small_limits.post("/api/v1/cases/import", files={"file": ("l.csv", bad_rows(2), "text/csv")},
                             headers=headers)
    assert fits.status_code == 422


def test_the_default_limits_are_20_mb_uploads_and_1_mb_bodies(settings: Settings) -> None:
    assert (settings.max_upload_bytes, settings.max_body_bytes) == (20 * 2**20, 2**20)


def test_an_import_refusal_lists_1000_problems_and_counts_all_by_kind(client: TestClient, world: World) -> None:
    response = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                           files={"file": ("l.csv", bad_rows(1500), "text/csv")})
    assert response.status_code == 422
    error = response.json()["error"]
    assert len(error["details"]) == 1000
    assert error["summary"]["problems"] == 3000 and error["summary"]["bad_rows"] == 1500
    assert {(k["column"], k["count"]) for k in error["summary"]["by_kind"]} == {
        ("primer_apellido", 1500), ("fecha_nacimiento", 1500)}
    assert "first 1,000 of 3,000 problems" in error["message"]
    assert len(response.content) < 400_000


def test_the_import_page_shows_1000_problems_and_offers_the_whole_report(client: TestClient) -> None:
    login(client, "inm.officer")
    upload = {"file": ("l.csv", bad_rows(1500), "text/csv")}
    page = client.post("/cases/import", files=upload, data={"csrf_token": csrf(client, "/cases/import")})
    assert page.status_code == 422
    assert page.text.count('<tr class="error">') == 1000 + 2  # the listed problems and the two kinds
    assert "data:text/csv" not in page.text and 'id="report-long"' in page.text
    report = client.post("/cases/import/report", files=upload, data={"csrf_token": csrf(client, "/cases/import")})
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert len(report.text.strip().splitlines()) == 3000 + 1


def test_an_upload_over_the_limit_on_the_import_page_is_a_413_page(small_limits: TestClient) -> None:
    login(small_limits, "inm.officer")
    token = csrf(small_limits, "/cases/import")
    response = small_limits.post("/cases/import", files={"file": ("l.csv", bad_rows(1000), "text/csv")},
                                 data={"csrf_token": token})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html") and "50000 bytes" in response.text


def test_a_nul_character_is_a_422_not_a_500(client: TestClient, world: World) -> None:
    """PostgreSQL text cannot hold NUL: found by schemathesis on GET /cases and POST /plans."""
    headers = world.headers("inm.officer")
    # SQLite stores it (no match, 200); PostgreSQL cannot (a clear 422): never a 500.
    assert client.get("/api/v1/cases", params={"state": "a\x00b"}, headers=headers).status_code in (200, 422)
    assert client.post("/api/v1/plans", json={"flights": ["RF\x00"]}, headers=headers).status_code in (404, 422)
