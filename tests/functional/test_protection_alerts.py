"""Red team (SPEC.md 4.1, 4.6): a person pulled off a manifest for a protection concern, or whose medical needs
changed, was announced to the receiving state as such (its inbox alert said 'taken off for a protection
concern', on the strength of another country's record too), and the sending side's timeline named the other
agency and official whose record of the same person pulled them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.web.pages_helpers import login


def _alerts(api: Api, user: str) -> dict[str, str]:
    kinds = {k["kind"]: k for k in ok(api.get(user, "/api/v1/inbox"))["kinds"]}
    return {i["reference"]: i["note"] for i in kinds.get("alerts", {"items": []})["items"]}


def test_the_receiving_side_is_told_a_removal_never_its_protection_or_health_reason(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    pulled = api.ready_case(national_id="V25239107")["reference"]
    medical = api.ready_case(given_names="Rosa")["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [pulled, medical]}), 201)
    # Another country's agency holds a concern for the same person (same cédula): it pulls them at once.
    american = api.register("ice.officer", national_id="V-25.239.107", agency_reference="ICE-RT-ALERT")
    api.screen(american["reference"], ["pending_asylum_claim"], user="ice.officer")
    api.screen(medical, medical_escorts=3)
    assert _alerts(api, "inm.officer") == {pulled: "protection_pull", medical: "medical_needs"}
    for user in ("saime.officer", "saime.supervisor"):
        assert _alerts(api, user) == {pulled: "taken_off", medical: "taken_off"}, user
    login(client, "saime.officer")
    home = client.get("/").text
    assert "retirado del manifiesto" in home
    assert "protección" not in home and "escolta médica" not in home
    # The sending side's timeline says another agency acted, never which, nor who.
    timeline = ok(api.get("inm.supervisor", f"/api/v1/cases/{pulled}/timeline"))
    actors = {(e["actor"], e["agency"]) for e in timeline}
    assert ("another agency", "another agency") in actors
    assert not any(actor.startswith("ice.") or agency == "US-ICE" for actor, agency in actors), actors
    login(client, "inm.supervisor")
    page = client.get(f"/cases/{pulled}").text
    assert "otra agencia" in page and "US-ICE" not in page and "ice.officer" not in page
