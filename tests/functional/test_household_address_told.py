"""Red team round 70, F2 (low): SRE, which reads Mexico's cases, listed INM's household by the case list's filter
(`household=MX-INM/H00447`, the form the list shows it in), while the household's own address answered "your agency
has no household" and nothing more. The address reads the caller's agency's own households, and its refusal says
where another agency's is listed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok


def test_another_agencys_household_is_refused_at_its_address_and_told_where_it_is_listed(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register(household_reference="H04470", relationship_to_head="head")
    listed = ok(api.get("sre.officer", "/api/v1/cases?household=MX-INM/H04470"))
    assert [item["reference"] for item in listed["items"]] == [case["reference"]], listed
    assert listed["items"][0]["household"] == "MX-INM/H04470"
    refused = api.get("sre.officer", "/api/v1/households/H04470")
    assert refused.status_code == 404
    message = refused.json()["error"]["message"]
    assert "your agency's own households" in message and "household=AGENCY/CODE" in message, message
    assert case["reference"] not in refused.text
    assert ok(api.get("inm.officer", "/api/v1/households/H04470"))["members"] == [case["reference"]]
