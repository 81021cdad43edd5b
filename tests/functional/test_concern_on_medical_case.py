"""A protection concern is recorded on a case needing medical escorts whatever escorts the screening asks for (red team,
high; SPEC.md 4.1): the escorts defaulted to 0 in the API, the page and the CLI, the screening was refused as a
lowering of the escorts (`safeguard.medical_escort`), and the person stayed on the manifest."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok


def test_a_concern_on_a_medical_case_is_recorded_and_pulls_the_passenger(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case()
    ref = case["reference"]
    api.screen(ref, ["medical_condition"], medical_escorts=2)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{ref}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "Tratamiento estable, viaja con dos escoltas."}), 201)
    flight = api.flight(medical_staff=2)["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 201)
    # Asked as the API's default (no escorts named) and as the page's form sends it (0).
    for body in ({"concerns": ["pending_asylum_claim"]}, {"concerns": ["trafficking_victim"], "medical_escorts": 0}):
        ok(api.post("inm.officer", f"/api/v1/cases/{ref}/screenings", body), 201)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "documented"
    assert ref not in [p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))]
    # The need was not lowered by either screening.
    details = ok(api.get("inm.officer", f"/api/v1/cases/{ref}/screenings"))
    assert max(s["medical_escorts"] for s in details) == 2 and details[-1]["medical_escorts"] == 2, details
