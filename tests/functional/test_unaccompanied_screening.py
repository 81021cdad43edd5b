"""Red team (medium): a minor registered alone and screened with no concern went on to 'ready'.

Safeguard 2 at the screening: a minor with no adult of their household waiting with them is screened with the
unaccompanied-child concern, unless a best-interests determination is recorded; `retorno demo check` agrees
(`minors_with_an_adult`, from the screening on).
"""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok


def test_a_minor_alone_is_screened_as_an_unaccompanied_child(client: TestClient, world: World) -> None:
    api = Api(client, world)
    child = api.register(birth_date=date(date.today().year - 4, 3, 1).isoformat())["reference"]
    refused = api.post("inm.officer", f"/api/v1/cases/{child}/screenings", {"concerns": []})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "safeguard.children"
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["state"] == "registered"
    ok(api.post("inm.officer", f"/api/v1/cases/{child}/screenings", {"concerns": ["unaccompanied_child"]}), 201)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["state"] == "screened"


def test_a_minor_with_an_adult_of_the_household_is_screened_as_any_case(client: TestClient, world: World) -> None:
    api = Api(client, world)
    api.register(household_reference="FAM-NINO", birth_date="1985-02-02")
    child = api.register(household_reference="FAM-NINO", birth_date=date(date.today().year - 6, 5, 5).isoformat())
    ok(api.post("inm.officer", f"/api/v1/cases/{child['reference']}/screenings", {"concerns": []}), 201)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child['reference']}"))["state"] == "screened"
