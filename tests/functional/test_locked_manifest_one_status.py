"""The locked-manifest rule answers 409 at every door (red team round 6, F8): a removal by one side of a locked
manifest answered 403 while a withdrawal, a correction and an import answered 409; and a bulk selection on a locked
manifest answered 200 "applied": true with nothing done. A bulk call that can do nothing because the manifest is
locked is refused whole, 409, at the API and the pages."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused
from tests.web.pages_helpers import alert, login, post_form


def _aboard(api: Api, flight: str) -> list[str]:
    rows = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    return sorted(p["case"] for p in rows if p["approval"] in ("proposed", "approved"))


def test_the_locked_manifest_rule_answers_409_at_every_door(client: TestClient, world: World) -> None:
    api = Api(client, world)
    refs = sorted(api.ready_case(given_names=f"Viajera {letter}")["reference"] for letter in "AB")
    waiting = api.ready_case(given_names="Viajera C")["reference"]
    flight = locked_flight(api, refs)
    # The API: a removal by one side, a bulk selection, bulk approvals and rejections.
    remove = f"/api/v1/flights/{flight}/passengers/{refs[0]}/remove"
    refused(api.post("inm.officer", remove, {"reason": "Cambio de planes."}), 409, "locked_change_needs_both_sides")
    selection = api.post("inm.officer", f"/api/v1/flights/{flight}/selection", {"filter": {}, "limit": 5})
    refused(selection, 409, "manifest_locked")
    refused(api.post("inm.officer", f"/api/v1/flights/{flight}/selection", {"filter": {}, "dry_run": True}), 409,
            "manifest_locked")
    refused(api.post("saime.officer", f"/api/v1/flights/{flight}/approvals", {}), 409, "manifest_locked")
    refused(api.post("saime.officer", f"/api/v1/flights/{flight}/rejections",
                     {"cases": [refs[1]], "reason": "Documento dudoso.", "all_or_nothing": False}), 409,
            "manifest_locked")
    assert _aboard(api, flight) == refs
    assert ok(api.get("inm.officer", f"/api/v1/cases/{waiting}"))["state"] == "ready"
    # The pages: the same refusals, the same status.
    login(client, "inm.officer")
    page = post_form(client, f"/flights/{flight}/passengers/{refs[0]}/remove", {"reason": "Cambio de planes."},
                     page=f"/flights/{flight}")
    assert page.status_code == 409, page.text[:2000]
    for form in ({"limit": "5"}, {"step": "confirm", "cases": [waiting]}):
        page = post_form(client, f"/flights/{flight}/selection", form, page=f"/flights/{flight}")
        assert page.status_code == 409, page.text[:2000]
        assert alert(page.text), page.text[:2000]
    login(client, "saime.officer")
    page = post_form(client, f"/flights/{flight}/approvals", {}, page=f"/flights/{flight}")
    assert page.status_code == 409, page.text[:2000]
    assert "manifiesto está cerrado" in alert(page.text), page.text[:2000]
    assert _aboard(api, flight) == refs
    assert ok(api.get("inm.officer", f"/api/v1/cases/{waiting}"))["state"] == "ready"
