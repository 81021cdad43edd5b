"""The whole flow through the REST API, as each agency does its part."""

from __future__ import annotations

from fastapi.testclient import TestClient

from retorno.flights.paxlst import parse_paxlst
from tests.factories import Api, World, ok


def test_return_flow_from_registration_to_arrival_bulletin(client: TestClient, world: World) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="HH-1", given_names="Ana Lucía", birth_date="1988-02-01")
    child = api.ready_case(household_reference="HH-1", given_names="Sofía", birth_date="2015-07-09")
    single = api.ready_case(given_names="José Ángel", first_surname="Muñoz", sex="M")
    flight = api.flight()
    ref = flight["reference"]
    cases = [mother["reference"], child["reference"], single["reference"]]
    ok(api.post("inm.officer", f"/api/v1/flights/{ref}/passengers", {"cases": cases}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{ref}/manifest/propose"))
    for case_ref in cases:
        ok(api.post("saime.officer", f"/api/v1/flights/{ref}/passengers/{case_ref}/decision", {"approve": True}))
    locked = ok(api.post("saime.officer", f"/api/v1/flights/{ref}/manifest/lock"))
    assert locked["state"] == "manifest_locked"

    edifact = api.client.get(f"/api/v1/flights/{ref}/paxlst", headers=world.headers("carrier.officer"))
    assert edifact.status_code == 200, edifact.text
    parsed = parse_paxlst(edifact.text)
    assert sorted(p.surnames for p in parsed.passengers) == ["MUNOZ RODRIGUEZ", "PENA RODRIGUEZ", "PENA RODRIGUEZ"]
    pdf = api.client.get(f"/api/v1/flights/{ref}/manifest.pdf", headers=world.headers("carrier.officer"))
    assert pdf.content.startswith(b"%PDF")

    for case_ref in (mother["reference"], child["reference"], single["reference"]):
        ok(api.post("carrier.officer", f"/api/v1/flights/{ref}/passengers/{case_ref}/boarding",
                    {"status": "boarded"}))
    ok(api.post("inm.officer", f"/api/v1/flights/{ref}/depart"))
    ok(api.post("saime.officer", f"/api/v1/flights/{ref}/landing"))
    for case_ref in cases[:2]:
        ok(api.post("saime.officer", f"/api/v1/flights/{ref}/passengers/{case_ref}/arrival"))
    flagged = ok(api.get("saime.officer", f"/api/v1/flights/{ref}"))
    assert (flagged["boarded"], flagged["received"], flagged["arrival_flagged"]) == (3, 2, True)
    ok(api.post("saime.officer", f"/api/v1/flights/{ref}/passengers/{cases[2]}/arrival"))
    done = ok(api.get("saime.officer", f"/api/v1/flights/{ref}"))
    assert (done["received"], done["arrival_flagged"]) == (3, False)
    bulletin = ok(api.get("saime.officer", f"/api/v1/flights/{ref}/bulletin"))
    assert bulletin["es"].startswith("3 nacionales aterrizaron en Maiquetía (CCS) procedentes de Tapachula (TAP)")
    assert ok(api.get("inm.officer", f"/api/v1/cases/{single['reference']}"))["state"] == "arrived"
    verified = ok(api.get("monitor.viewer", "/api/v1/audit/verify"))
    assert verified["ok"] and verified["records"] > 30
