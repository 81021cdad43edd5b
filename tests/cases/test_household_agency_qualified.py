"""Household codes are each agency's own: to a reader of another agency they are named with the agency's code, and
the list's filter takes that form (red team round 16, N1: `GET /api/v1/cases?household=H00072` as SAIME listed ICE's
and INM's families as one household; INM's list mixed its household with SRE's of the same code)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

CODE = "H-N1-77"


def _listed(api: Api, user: str, household: str) -> Any:
    return api.get(user, f"/api/v1/cases?household={household}&limit=50")


def _items(response: Any) -> Any:
    return ok(response)["items"]


def test_a_household_is_named_and_filtered_with_its_agency(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ice = api.register("ice.officer", household_reference=CODE)["reference"]
    inm = api.register("inm.officer", household_reference=CODE)["reference"]
    sre = api.register("sre.officer", household_reference=CODE)["reference"]
    for ref, sender in ((ice, "ice.officer"), (inm, "inm.officer")):
        api.screen(ref, user=sender)
        api.verify(ref, sender)
    # The receiving side sees several agencies' cases: a bare code names no household (nothing else to go by).
    bare = _listed(api, "saime.officer", CODE)
    assert bare.status_code == 422 and bare.json()["error"]["code"] == "invalid_household", bare.text
    listed = _items(_listed(api, "saime.officer", f"US-ICE/{CODE}"))
    assert [(c["reference"], c["household"]) for c in listed] == [(ice, f"US-ICE/{CODE}")], listed
    listed = _items(_listed(api, "saime.officer", f"MX-INM/{CODE}"))
    assert [(c["reference"], c["household"]) for c in listed] == [(inm, f"MX-INM/{CODE}")], listed
    assert ok(api.get("saime.officer", f"/api/v1/cases/{inm}"))["household"] == f"MX-INM/{CODE}"
    # A sending authority's own household by its bare code; the other agency of its country's, qualified.
    listed = _items(_listed(api, "inm.officer", CODE))
    assert [(c["reference"], c["household"]) for c in listed] == [(inm, CODE)], listed
    listed = _items(_listed(api, "inm.officer", f"MX-SRE/{CODE}"))
    assert [(c["reference"], c["household"]) for c in listed] == [(sre, f"MX-SRE/{CODE}")], listed
    listed = _items(_listed(api, "sre.officer", CODE))
    assert [(c["reference"], c["household"]) for c in listed] == [(sre, CODE)], listed
    # Sorted by household, each agency's household stays apart and is told as such.
    by_household = _items(api.get("inm.officer", "/api/v1/cases?sort=household&limit=500"))
    shown = [c["household"] for c in by_household if c["reference"] in (inm, sre)]
    assert sorted(shown) == sorted([CODE, f"MX-SRE/{CODE}"]), shown
    # The page list and its export say it too.
    login(client, "saime.officer")
    page = client.get(f"/cases?household=MX-INM/{CODE}")
    assert page.status_code == 200 and f"MX-INM/{CODE}" in page.text and inm in page.text and ice not in page.text
    exported = client.get(f"/cases.csv?household=US-ICE/{CODE}")
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["Referencia"], r["Hogar"]) for r in rows] == [(ice, f"US-ICE/{CODE}")], exported.text


def test_a_manifest_tells_two_agencies_households_apart(client: TestClient, world: World) -> None:
    api = Api(client, world)
    inm = api.ready_case("inm.officer", household_reference=CODE)["reference"]
    sre = api.ready_case("sre.officer", household_reference=CODE)["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [inm, sre]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    for ref in (inm, sre):
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/decision", {"approve": True}))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"))
    listed = ok(api.get("carrier.officer", f"/api/v1/flights/{flight}/passengers"))
    households = {p["case_reference"]: p["household_reference"] for p in listed}
    assert households == {inm: f"MX-INM/{CODE}", sre: f"MX-SRE/{CODE}"}, listed
    manifest = api.get("carrier.officer", f"/api/v1/flights/{flight}/manifest.csv")
    assert manifest.status_code == 200 and f"MX-INM/{CODE}" in manifest.text and f"MX-SRE/{CODE}" in manifest.text
