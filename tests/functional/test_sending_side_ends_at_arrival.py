"""The sending state's officials follow a returnee until arrival, no further (red team round 11, RE8812 H1 related).

INM, SRE and ICE officers, supervisors and viewers read each returnee's reintegration in the case's state: placed,
closed (consent withdrawn), by list, filter, sort, detail, export and dashboard, with `state_changed_at` and the
case's ETag moving at every consent, offer, placement and withdrawal. Now every state after arrival reads as
'arrived' to the sending side at every door (`agencies.visibility`), a filter on such a state is refused, and an
arrived case tells them neither when its state last changed nor its version.
"""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases import lifecycle
from retorno.errors import RetornoError
from retorno.travel.bulk import Outcome, reasons_told
from tests.edit_helpers import INTAKE, OPPORTUNITY
from tests.factories import Api, World, ok
from tests.web.pages_helpers import alert, login, post_form

SENDING = ("inm.officer", "inm.supervisor", "inm.viewer", "sre.officer")
AFTER_ARRIVAL = ("reintegration_intake", "matched", "placed", "closed")
FIXING = "Corrección del hogar tras la llegada del vuelo"
_TOKENS = re.compile(r'(name="csrf_token" value=")[^"]*|(<meta name="csrf-token" content=")[^"]*')


# The readers' own reads, which the case page's history lists as they happen.
_OWN_READS = re.compile(r'[ ]*<li><time [^\n]*data-action="case\.timeline_read"[^\n]*\n')


def _page(text: str) -> str:
    return _OWN_READS.sub("", _TOKENS.sub(lambda m: m.group(1) or m.group(2), text))


def doors(api: Api, client: TestClient, user: str, ref: str) -> dict[str, Any]:
    """What `user` reads of the case through every door: API list (plain, filtered, sorted by state), detail and
    its ETag, dashboard; the case list and case pages, the exports, the dashboard page."""
    read: dict[str, Any] = {}
    for query in ("", "?state=arrived", "?sort=state", "?sort=-state", f"?q={ref}", "?limit=2&offset=1"):
        response = api.get(user, f"/api/v1/cases{query}")
        read[f"api list {query}"] = ok(response)
    detail = api.get(user, f"/api/v1/cases/{ref}")
    read["api detail"] = ok(detail)
    read["api etag"] = detail.headers.get("etag")
    read["api dashboard"] = ok(api.get(user, "/api/v1/reports/dashboard"))
    # A step refused on the case names its state as the reader is told it (`web.refusals.told_to`).
    withdraw = api.post(user, f"/api/v1/cases/{ref}/withdraw", {"reason": "ya no viaja"})
    read["api withdraw refused"] = (withdraw.status_code, withdraw.json()["error"]["message"])
    # An edit naming a stale version (or none moved) tells nothing of what changed since (red team round 46b, F2: a
    # household correction sent with If-Match "1" was answered 412, naming the operator's placement and the version).
    for method, path, body in (("POST", f"/api/v1/cases/{ref}/household", {"household": None, "reason": FIXING}),
                               ("PATCH", f"/api/v1/cases/{ref}", {})):
        stale = api.client.request(method, path, json=body, headers={**api.world.headers(user), "If-Match": '"1"'})
        error = stale.json()["error"]
        read[f"api stale {method} {path}"] = (stale.status_code, error["code"], error["message"], error.get("details"))
    for state in AFTER_ARRIVAL:
        refused = api.get(user, f"/api/v1/cases?state={state}")
        assert refused.status_code == 422, (user, state, refused.text)
    login(client, user)
    for page in ("/cases", "/cases?state=arrived", "/cases?sort=state", "/cases?sort=-state", f"/cases/{ref}",
                 "/dashboard", "/cases.csv", "/cases.csv?state=arrived&sort=state"):
        response = client.get(page)
        assert response.status_code == 200, (user, page, response.status_code)
        read[page] = _page(response.text)
    workbook = client.get("/cases.xlsx?sort=state")
    read["/cases.xlsx"] = [[c.value for c in row]
                           for row in openpyxl.load_workbook(io.BytesIO(workbook.content)).active.iter_rows()]
    edit = client.get(f"/cases/{ref}/edit")
    read["edit page status"] = edit.status_code
    stale = post_form(client, f"/cases/{ref}/household", {"household": "", "reason": FIXING, "version": "1"},
                      page=f"/cases/{ref}")
    read["page stale household"] = (stale.status_code, alert(stale.text))
    client.cookies.clear()
    return read


def test_the_sending_side_sees_nothing_change_after_arrival(client: TestClient, world: World) -> None:
    api = Api(client, world)
    offered = ok(api.post("op.officer", "/api/v1/opportunities", {**OPPORTUNITY, "seats": 1}), 201)["reference"]
    ref = api.arrive(1, name="Retornada")[0]["reference"]
    seen = {user: doors(api, client, user, ref) for user in SENDING}
    for user, read in seen.items():
        assert read["api detail"]["state"] == "arrived", (user, read["api detail"])
        assert "state_changed_at" not in read["api detail"], (user, read["api detail"])
        assert read["api etag"] is None, user
        assert read["edit page status"] != 200, user
        assert [c["reference"] for c in read["api list ?state=arrived"]["items"]].count(ref) == 1, user

    def step_then_check(step: str) -> None:
        for user in SENDING:
            now = doors(api, client, user, ref)
            for door, before in seen[user].items():
                assert now[door] == before, (step, user, door)

    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {}), 201)
    step_then_check("consent")
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {**INTAKE, "preferences": [offered]}))
    step_then_check("intake")
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    placement = ok(api.get("op.officer", f"/api/v1/cases/{ref}/placements"))[-1]
    assert ok(api.get("op.officer", f"/api/v1/cases/{ref}"))["state"] == "matched"
    step_then_check("offer")
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    assert ok(api.get("op.officer", f"/api/v1/cases/{ref}"))["state"] == "placed"
    step_then_check("placement")
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": "retira su consentimiento"}))
    assert ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))["state"] == "closed"
    step_then_check("withdrawal")
    # The sending side no longer edits the case: its version is not theirs to name.
    refused = client.patch(f"/api/v1/cases/{ref}", json={"notes": "x"},
                           headers={**world.headers("inm.officer"), "If-Match": '"1"'})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "case_arrived", refused.text


def test_each_item_of_a_bulk_refusal_tells_a_state_as_its_reader_is_told_it(world: World, session: Session) -> None:
    """The per-person reasons of a bulk action (its API items, its page) pass the same telling as a whole refusal:
    to the sending side every state after arrival is 'arrived'; to those who read no screenings 'ready' is
    'documented' (round 11 left it open: the items were said as stored)."""
    users = world.bind(session).users

    def said(reader: str, state: str) -> list[str]:
        with pytest.raises(RetornoError) as caught:
            lifecycle.check_transition("MX-77", state, "verified")
        outcome = Outcome("MX-77", False, caught.value)
        assert outcome.refusal is not None
        return [str(message) for _, message in reasons_told(users[reader], outcome.refusal)]

    for state in AFTER_ARRIVAL:
        for reader in ("inm.officer", "inm.viewer", "sre.officer", "ice.supervisor"):
            told = said(reader, state)
            assert told and all("'arrived'" in s and state not in s for s in told), (reader, state, told)
        # The receiving side goes on being told the real state.
        assert any(f"'{state}'" in s for s in said("saime.officer", state)), state
    assert all("'documented'" in s and "'ready'" not in s for s in said("saime.officer", "ready"))
    assert any("'ready'" in s for s in said("inm.officer", "ready"))
