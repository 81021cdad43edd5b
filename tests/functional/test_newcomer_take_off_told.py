"""Red team round 32b, F2 (low): a registration or an import row adding a newcomer to a household on a manifest took the
household off it (family unity: it travels together), and the answer said only "registered" (201, `created: 1`); the
check-only report of that file was silent. The audit records and both sides' alerts were there, but the official who
did it was not told.

Now every answer of a write that took the agency's cases off a manifest lists them (`taken_off_with`: the API's
registration, correction and withdrawal, the import's answer, the pages' messages, the command line), and an import
row adding someone to such a household is warned of at its household cell, in the check-only report too. Cases the
official does not see, taken off by the same write, are not named: their agency is alerted."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Api, World, case_payload, ok
from tests.functional.test_import_mixed_encoding import page_registration
from tests.web.pages_helpers import csrf, login

HEADER = ("referencia,hogar,parentesco,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
DETAINED = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
LEAVES = "takes them off it (back to ready)"


def _household_on_a_flight(api: Api, household: str, surname: str) -> tuple[list[str], str]:
    """A mother and her son of `household` (of `surname`: alike to no one else), ready, on the manifest of a flight
    not locked."""
    mother = api.ready_case(household_reference=household, relationship_to_head="head", given_names="Rosa",
                            first_surname=surname)
    son = api.ready_case(household_reference=household, relationship_to_head="child", given_names="Tomás",
                         first_surname=surname, birth_date="2014-05-02")
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                {"cases": [mother["reference"], son["reference"]]}), 201)
    return sorted([mother["reference"], son["reference"]]), flight


def _aboard(api: Api, flight: str) -> list[str]:
    return sorted(p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
                  if p["approval"] in ("proposed", "approved"))


def _newcomer_row(reference: str, household: str) -> str:
    return f"{reference},{household},hermano,Julio,Ocando,Urdaneta,M,1990-01-01,VEN,Tapachula,TAP,{DETAINED}\n"


def test_a_registration_answer_lists_the_household_it_took_off_a_manifest(client: TestClient, world: World) -> None:
    api = Api(client, world)
    family, flight = _household_on_a_flight(api, "HRT32-1", "Urbina")
    alone = ok(api.post("inm.officer", "/api/v1/cases", case_payload(agency_reference="RT32-ALONE",
                                                                     birth_date="1961-01-01")), 201)
    assert "taken_off_with" not in alone, alone
    newcomer = ok(api.post("inm.officer", "/api/v1/cases", case_payload(
        agency_reference="RT32-NEW", household_reference="HRT32-1", relationship_to_head="sibling",
        birth_date="1962-01-01")), 201)
    assert newcomer["taken_off_with"] == family, newcomer
    assert _aboard(api, flight) == []
    # A correction that takes a case off says so too (its household with it).
    others, another = _household_on_a_flight(api, "HRT32-1B", "Zambrano")
    corrected = ok(api.patch("inm.officer", f"/api/v1/cases/{others[0]}", {"given_names": "Rosa María"}))
    assert corrected["taken_off_with"] == others and _aboard(api, another) == [], corrected
    # A concern recorded takes the case and its household off: the screening's answer names them.
    pulled, third = _household_on_a_flight(api, "HRT32-1C", "Yépez")
    screened = ok(api.post("inm.officer", f"/api/v1/cases/{pulled[0]}/screenings",
                           {"concerns": ["pending_asylum_claim"], "notes": "pide asilo"}), 201)
    assert screened["taken_off_with"] == pulled and _aboard(api, third) == [], screened


def test_the_registration_page_says_who_left_the_manifest(client: TestClient, world: World) -> None:
    api = Api(client, world)
    family, _ = _household_on_a_flight(api, "HRT32-2", "Quintero")
    answer = page_registration(client, "inm.officer", agency_reference="RT32-PAGE", given_names="Julio",
                               first_surname="Ocando", household_reference="HRT32-2", relationship_to_head="hermano")
    assert answer.status_code == 303, answer.text[:2000]
    shown = client.get(answer.headers["location"]).text
    assert "Salieron del manifiesto para que su hogar viaje junto" in shown, shown[:3000]
    assert all(reference in shown for reference in family), shown[:3000]


def test_an_import_warns_of_the_row_first_and_its_answer_lists_who_left(client: TestClient, world: World) -> None:
    api = Api(client, world)
    family, flight = _household_on_a_flight(api, "HRT32-3", "Villasmil")
    body = (HEADER + _newcomer_row("RT32-IMP", "HRT32-3")).encode()
    # The check-only report warns at the household cell, and nothing leaves.
    login(client, "inm.officer")
    report = client.post("/cases/import/report", data={"csrf_token": csrf(client, "/cases/import")},
                         files={"file": ("casos.csv", body, "text/csv")})
    assert report.status_code == 200, report.text
    (line,) = [line for line in report.text.splitlines() if "vuelo" in line]
    assert line.startswith("2,hogar,HRT32-3,") and flight in line and line.endswith(",aviso"), line
    assert _aboard(api, flight) == family
    imported: Any = ok(client.post("/api/v1/cases/import?lang=en", headers=world.headers("inm.officer"),
                                   files={"file": ("casos.csv", body, "text/csv")}), 201)
    assert imported["created"] == 1 and imported["taken_off_with"] == family, imported
    assert [(w["row"], w["column"]) for w in imported["warnings"] if LEAVES in w["expected"]] == [(2, "hogar")], \
        imported["warnings"]
    assert _aboard(api, flight) == []
    # A file that takes nobody off says nothing of it.
    quiet: Any = ok(client.post("/api/v1/cases/import?lang=en", headers=world.headers("inm.officer"),
                                files={"file": ("casos.csv", (HEADER + _newcomer_row("RT32-IMP2", "")).encode(),
                                                "text/csv")}), 201)
    assert quiet["taken_off_with"] == [] and not any(LEAVES in w["expected"] for w in quiet["warnings"]), quiet


def test_an_import_warning_names_every_flight_of_a_split_household(client: TestClient, world: World) -> None:
    """Red team round 41, L1: a split household with members on two flights; a newcomer's row was warned of naming one
    flight, and the import took the members off both. The warning names each flight."""
    api = Api(client, world)
    father = api.ready_case(household_reference="HRT41-1", relationship_to_head="head", given_names="Ramón",
                            first_surname="Chirinos")["reference"]
    mother = api.ready_case(household_reference="HRT41-1", relationship_to_head="spouse", given_names="Rosa",
                            first_surname="Chirinos")["reference"]
    son = api.ready_case(household_reference="HRT41-1", relationship_to_head="child", given_names="Tomás",
                         first_surname="Chirinos", birth_date="2014-05-02")["reference"]
    family = sorted([mother, son])
    ok(api.post("inm.supervisor", "/api/v1/households/HRT41-1/split",
                {"reason": "el padre viaja en otro vuelo por orden judicial"}), 201)
    flight, other = api.flight()["reference"], api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": family}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{other}/passengers", {"cases": [father]}), 201)
    body = (HEADER + _newcomer_row("RT41-IMP", "HRT41-1")).encode()
    login(client, "inm.officer")
    report = client.post("/cases/import/report", data={"csrf_token": csrf(client, "/cases/import")},
                         files={"file": ("casos.csv", body, "text/csv")})
    (line,) = [line for line in report.text.splitlines() if "vuelo" in line]
    assert flight in line and other in line, line
    imported: Any = ok(client.post("/api/v1/cases/import?lang=en", headers=world.headers("inm.officer"),
                                   files={"file": ("casos.csv", body, "text/csv")}), 201)
    assert imported["taken_off_with"] == sorted([*family, father]), imported
    assert _aboard(api, flight) == [] and _aboard(api, other) == []


def test_a_screening_by_another_agency_of_the_country_names_whom_it_took_off(client: TestClient, world: World) -> None:
    """Red team round 43, F4: an SRE officer's screening of INM's passenger (a case the SRE sees) answered
    `taken_off_with: []` while it took the mother and her son off the manifest."""
    api = Api(client, world)
    family, flight = _household_on_a_flight(api, "HRT43-1", "Urquiza")
    screened = api.screen(family[0], ["pending_asylum_claim"], user="sre.officer")
    assert screened["taken_off_with"] == family, screened
    assert _aboard(api, flight) == []
