"""Red team (medium, SPEC.md 4.1 and 4.6): the official who learns the cédula of a person with an open concern records
it, and the other agency's record of the same person leaves its manifest at once.

Before, the edit was refused (409 naming the other agency's case, which the official may not know exists) while
that record stood on a manifest: the two records stayed apart, and the other could be approved and boarded.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok


def _ice_passenger(api: Api, **identity: str) -> tuple[str, str]:
    """A ready US-ICE case of the person on a flight from Harlingen: (case reference, flight reference)."""
    case = api.ready_case("ice.officer", **identity)
    flight = api.flight(user="ice.officer")["reference"]
    ok(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]}), 201)
    assert ok(api.get("ice.officer", f"/api/v1/cases/{case['reference']}"))["state"] == "manifested"
    return case["reference"], flight


def test_recording_the_cedula_pulls_the_other_agencys_record(client: TestClient, world: World) -> None:
    api = Api(client, world)
    passenger, flight = _ice_passenger(api, national_id="V55500002")
    held = api.register("inm.officer", national_id=None)["reference"]
    api.screen(held, ["pending_asylum_claim"])
    answer = api.patch("inm.officer", f"/api/v1/cases/{held}", {"national_id": "v 55500002"})
    assert answer.status_code == 200, answer.text
    assert passenger not in answer.text
    # The other agency's record of the person: off its manifest, held back, and told only that another agency holds
    # a concern open for the person.
    assert ok(api.get("ice.officer", f"/api/v1/cases/{passenger}"))["state"] == "documented"
    assert passenger not in [p["case"] for p in ok(api.get("ice.officer", f"/api/v1/flights/{flight}/passengers"))]
    again = api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger]})
    assert again.status_code == 409 and "another agency holds open" in again.text, again.text
    assert held not in again.text and "asylum" not in again.text
