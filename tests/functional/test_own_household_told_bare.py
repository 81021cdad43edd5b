"""Red team round 45b, L3: a family-unity refusal named INM's own household to INM's officer as 'MX-INM/H00206', where
every other place shows an agency its own households by their bare codes; another agency reads the qualified form."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World
from tests.functional.test_guarantees import refused
from tests.web.pages_helpers import login, post_form


def test_a_refusal_names_the_readers_own_household_bare_and_anothers_qualified(client: TestClient,
                                                                               world: World) -> None:
    api = Api(client, world)
    one = api.ready_case(household_reference="FAM-RT45", relationship_to_head="titular", given_names="Pedro")
    api.ready_case(household_reference="FAM-RT45", relationship_to_head="conyuge", given_names="Carmen")
    flight = api.flight()["reference"]
    add = f"/api/v1/flights/{flight}/passengers"
    error = refused(api.post("inm.officer", add, {"cases": [one["reference"]]}), 409, "safeguard.family_unity")
    assert "FAM-RT45" in error["message"] and "MX-INM/FAM-RT45" not in error["message"], error
    other = refused(api.post("sre.officer", add, {"cases": [one["reference"]]}), 409, "safeguard.family_unity")
    assert "MX-INM/FAM-RT45" in other["message"], other
    login(client, "inm.officer")
    page = post_form(client, f"/flights/{flight}/passengers", {"cases": one["reference"]}, page=f"/flights/{flight}")
    assert "FAM-RT45" in page.text and "MX-INM/FAM-RT45" not in page.text
