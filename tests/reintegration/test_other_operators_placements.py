"""Red team round 13, F8 (low/medium): FUNDAPRO followed VE-VUELTA's placements of a returnee through the returnee's
state (`placed`, then back in `reintegration_intake` when VUELTA dropped the seat) in its returnee list, the case's API
and list filters, the returnees' CSV and its dashboard's counts, while the placements themselves are VUELTA's (404 to
anyone else). An operator is told the state its own placements give (`agencies.visibility.state_of`): another
operator's offer or seat leaves the returnee `reintegration_intake` to it, at every door, its matching's pool too (red
team round 50a, F1)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from tests.edit_helpers import INTAKE, OPPORTUNITY, offered
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

REASON = "se mudó de ciudad"


def _told(api: Api, user: str, ref: str) -> dict[str, Any]:
    """The state of `ref` as `user` is told it at each door."""
    listed = {r["reference"]: r["state"] for r in ok(api.get(user, "/api/v1/returnees"))}
    found = {state: [c["reference"] for c in ok(api.get(user, f"/api/v1/cases?state={state}&limit=500"))["items"]]
             for state in ("reintegration_intake", "matched", "placed")}
    counts = ok(api.get(user, "/api/v1/reports/dashboard"))["cases_by_state"]
    return {"list": listed[ref], "case": ok(api.get(user, f"/api/v1/cases/{ref}"))["state"],
            "filter": sorted(state for state, refs in found.items() if ref in refs), "counts": counts}


def _exported(client: TestClient, user: str, ref: str) -> tuple[str, str]:
    """The state of `ref` in `user`'s returnees CSV and on its returnee page."""
    login(client, user)
    rows = list(csv.reader(io.StringIO(client.get("/reintegration/returnees.csv").content.decode("utf-8-sig"))))
    page = client.get(f"/reintegration/returnees/{ref}").text
    client.post("/logout")
    state = rows[0].index("Estado")
    (row,) = [r for r in rows[1:] if ref in r]
    return row[state], page.split('class="state">')[1].split("</dd>")[0]


def test_another_operators_offer_and_placement_are_not_told_through_the_state(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case, placement = offered(api)
    ref = case["reference"]
    before = _told(api, "op2.officer", ref)
    shown = _exported(client, "op2.officer", ref)
    assert before["list"] == before["case"] == "reintegration_intake" and before["filter"] == ["reintegration_intake"]
    assert _told(api, "op.officer", ref)["case"] == "matched"
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    mine = _told(api, "op.officer", ref)
    assert mine["list"] == mine["case"] == "placed" and mine["filter"] == ["placed"], mine
    theirs = _told(api, "op2.officer", ref)
    assert theirs == before, theirs
    assert "placed" not in theirs["counts"] and "matched" not in theirs["counts"]
    assert _exported(client, "op2.officer", ref) == shown
    assert _exported(client, "op.officer", ref) != shown
    # VUELTA drops the seat: nothing moves for FUNDAPRO.
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "dropped", "reason": REASON}))
    assert _told(api, "op2.officer", ref) == before
    assert _told(api, "op.officer", ref)["case"] == "reintegration_intake"


def _matching_seen(client: TestClient, api: Api, user: str) -> tuple[Any, str]:
    """What `user`'s matching shows: the preview's figures, and its page's count and list of who waits."""
    login(client, user)
    page = client.get("/reintegration/matching").text
    client.post("/logout")
    waiting = page.split('role="status">')[1].split("</p>")[0]
    listed = page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""
    figures = {mode: {name: value for name, value in shown.items() if name != "seconds"}
               for mode, shown in ok(api.get(user, "/api/v1/matching/preview")).items()}
    return figures, waiting + listed


def test_another_operators_offer_seat_and_drop_move_nothing_in_an_operators_matching(
        client: TestClient, world: World) -> None:
    """Red team round 50a, F1 (high): the matching page listed by name who waited for an offer, read from the stored
    state: FUNDAPRO's drop of a seat put the returnee in VUELTA's list at once, its offer took them out, and the
    preview's matched share counted them. An operator's pool is who waits as it is told (`state_column`)."""
    api = Api(client, world)
    elsewhere = ok(api.post("op2.officer", "/api/v1/opportunities", OPPORTUNITY), 201)["reference"]
    case, placement = offered(api)
    ref = case["reference"]
    wanted = ok(api.get("op.officer", f"/api/v1/cases/{ref}/intake"))["preferences"]
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {**INTAKE, "preferences": [*wanted, elsewhere]}))
    before = _matching_seen(client, api, "op2.officer")
    assert ref in before[1]
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    assert _matching_seen(client, api, "op2.officer") == before
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "dropped", "reason": REASON}))
    assert _matching_seen(client, api, "op2.officer") == before
    # Offered a seat by FUNDAPRO too, the returnee stays as VUELTA's placements give: VUELTA's offer taken up again
    # keeps them placed, and FUNDAPRO's run offers a seat all the same, which they may decline.
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    again = max(ok(api.get("op.officer", f"/api/v1/cases/{ref}/placements")), key=lambda p: p["id"])
    ok(api.post("op.officer", f"/api/v1/placements/{again['id']}", {"status": "accepted"}))
    assert _matching_seen(client, api, "op2.officer") == before
    ok(api.post("op2.officer", "/api/v1/matching/runs?mode=stable"), 201)
    (theirs,) = ok(api.get("op2.officer", f"/api/v1/cases/{ref}/placements"))
    assert theirs["status"] == "offered"
    assert _told(api, "op.officer", ref)["case"] == "placed"
    assert _told(api, "op2.officer", ref)["case"] == "matched"
    ok(api.post("op2.officer", f"/api/v1/placements/{theirs['id']}", {"status": "declined", "reason": REASON}))
    assert _told(api, "op.officer", ref)["case"] == "placed"
