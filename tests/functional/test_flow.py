"""The whole flow through the REST API, as each agency does its part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from retorno.db import clock_at
from retorno.flights.paxlst import parse_paxlst
from tests.factories import Api, World, ok


def test_return_flow_from_registration_to_arrival_bulletin(client: TestClient, world: World) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="HH-1", given_names="Ana Lucía", birth_date="1988-02-01")
    child = api.ready_case(household_reference="HH-1", given_names="Sofía", birth_date="2015-07-09")
    single = api.ready_case(given_names="José Ángel", first_surname="Muñoz", sex="M")
    # Each step at its time: the manifest two days before a departure three hours ago, boarding an hour
    # before it, the door closed 15 minutes late, the landing and the reception now.
    departure = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    cases = [mother["reference"], child["reference"], single["reference"]]
    with clock_at(departure - timedelta(days=2)):
        flight = api.flight(departure=departure)
        ref = flight["reference"]
        ok(api.post("inm.officer", f"/api/v1/flights/{ref}/passengers", {"cases": cases}), 201)
        ok(api.post("inm.officer", f"/api/v1/flights/{ref}/manifest/propose"))
        for case_ref in cases:
            ok(api.post("saime.officer", f"/api/v1/flights/{ref}/passengers/{case_ref}/decision",
                        {"approve": True}))
        locked = ok(api.post("saime.officer", f"/api/v1/flights/{ref}/manifest/lock"))
        assert locked["state"] == "manifest_locked"

        edifact = api.client.get(f"/api/v1/flights/{ref}/paxlst", headers=world.headers("carrier.officer"))
        assert edifact.status_code == 200, edifact.text
        parsed = parse_paxlst(edifact.text)
        assert sorted(p.surnames for p in parsed.passengers) == ["MUNOZ RODRIGUEZ", "PENA RODRIGUEZ",
                                                                  "PENA RODRIGUEZ"]
        pdf = api.client.get(f"/api/v1/flights/{ref}/manifest.pdf", headers=world.headers("carrier.officer"))
        assert pdf.content.startswith(b"%PDF")

    with clock_at(departure - timedelta(hours=1)):
        for case_ref in cases:
            ok(api.post("carrier.officer", f"/api/v1/flights/{ref}/passengers/{case_ref}/boarding",
                        {"status": "boarded"}))
    with clock_at(departure + timedelta(minutes=15)):
        flown = ok(api.post("inm.officer", f"/api/v1/flights/{ref}/depart"))
    assert flown["actual_departure_utc"] == (departure + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    assert flown["arrival_difference"] is None  # nobody is missing from a flight still in the air
    landed = ok(api.post("saime.officer", f"/api/v1/flights/{ref}/landing"))
    assert landed["state"] == "arrived" and landed["actual_arrival_local"].endswith("-04:00")  # Caracas
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


OPPORTUNITY = {"kind": "internship", "title": "Pasantía en mantenimiento", "workplace": "Taller Los Andes",
               "sector": "manufactura", "isco_code": "7233", "state_code": "VE-L", "municipality": "Libertador",
               "seats": 2, "monthly_amount": "130.00", "currency": "USD", "start_date": "2027-01-15",
               "duration_months": 6, "tutors": 1}


def test_reintegration_from_consent_to_follow_up(client: TestClient, world: World) -> None:
    api = Api(client, world)
    first, second = api.arrive(2)
    # Before consent the operator cannot see the returnee at all.
    assert api.get("op.officer", f"/api/v1/cases/{first['reference']}").status_code == 404
    ok(api.post("saime.officer", f"/api/v1/cases/{first['reference']}/consent", {}), 201)
    ok(api.post("op.officer", f"/api/v1/cases/{second['reference']}/consent",
                {"birth_date": second["birth_date"]}), 201)
    opportunity = ok(api.post("op.officer", "/api/v1/opportunities", OPPORTUNITY), 201)
    for case in (first, second):
        ok(api.put("op.officer", f"/api/v1/cases/{case['reference']}/intake", {
            "home_state": "VE-L", "municipality": "Libertador", "education": "3", "occupations": ["7233"],
            "skills": ["soldadura"], "preferences": [opportunity["reference"]]}))
    preview = ok(api.get("op.officer", "/api/v1/matching/preview"))
    assert set(preview) == {"stable", "welfare"} and preview["stable"]["blocking_pairs"] == 0
    run = ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    assert run["summary"]["offers"] == 2
    placement = ok(api.get("op.officer", f"/api/v1/cases/{first['reference']}/placements"))[0]
    assert placement["explanation"]["assigned"]["code"] == "assigned"
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    with clock_at(datetime(2027, 1, 15, 12, tzinfo=UTC)):  # recorded once begun (red team round 17, Q-F2)
        ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "started", "on": "2027-01-15"}))
    due = ok(api.get("op.officer", "/api/v1/follow-ups"))
    assert [(f["months"], f["due_on"]) for f in due] == [(3, "2027-04-15"), (6, "2027-07-15"), (12, "2028-01-15")]
    answers = {"work": "in_placement", "income": "minimum", "housing": "stable", "household": "together",
               "wellbeing": 4, "intends_to_migrate": "no"}
    # Recorded once it falls due, three months into the placement.
    with clock_at(datetime(2027, 4, 15, 12, tzinfo=UTC)):
        scored = ok(api.post("op.officer", f"/api/v1/follow-ups/{due[0]['id']}", answers), 201)
    assert scored["score"] == round(((1 + 2 / 3) / 2 + 1 + (0.75 + 1) / 2) / 3, 3)
    assert ok(api.get("op.officer", f"/api/v1/cases/{first['reference']}"))["state"] == "placed"
    # Withdrawing consent takes the returnee out of the operator's view.
    ok(api.post("saime.officer", f"/api/v1/cases/{second['reference']}/consent/withdraw", {"reason": "ya no desea"}))
    assert api.get("op.officer", f"/api/v1/cases/{second['reference']}").status_code == 404
    assert [r["reference"] for r in ok(api.get("op.officer", "/api/v1/returnees"))] == [first["reference"]]
