"""Red team RE8702, M1 and M2: a no-show and its protection concern.

M1: a person recorded as a no-show could never have a protection concern recorded (409 "cannot be screened in state
'no_show'"), before or after their flight departed, though a claim made at the door is what often keeps a person from
boarding, and the README says a concern never waits. It is recorded now, open on the case and in the supervisors'
queue; the case stays 'no_show' (it holds no seat), a correction of the no-show takes it back only as far as
'documented' (held back: nothing puts the person on a flight while the concern is open), and a resolution may end it.

M2: the receiving side read `state: "no_show"` on a case, and could filter `?state=no_show`, while a person taken off
for a concern or by a removal read 'documented': the no-show was told apart from the other ways off a manifest,
narrowing down the protection exits. To whoever may not read screenings it is 'documented' too, at every door.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

WHY = "La agente marcó a la persona equivocada; estaba en la fila de embarque."
CLAIM = {"concerns": ["pending_asylum_claim"], "notes": "Pidió asilo en la puerta del avión."}
STATE_ON_PAGE = re.compile(r'<p class="state">[^<]*<strong>([^<]*)</strong>')


def _no_show(api: Api, *, departed: bool) -> tuple[str, str]:
    """A flight whose door recorded a passenger as a no-show (departed since, or not yet): (flight, the no-show)."""
    absent = api.ready_case(given_names="Ana Lucía")["reference"]
    traveller = api.ready_case(given_names="Pedro José")["reference"]
    now = datetime.now(UTC).replace(microsecond=0)
    departure = now - timedelta(hours=1) if departed else now + timedelta(hours=1)
    flight = api.build_manifest([absent, traveller], departure=departure)
    with api.clock(departure - timedelta(minutes=30)):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{absent}/boarding",
                    {"status": "no_show", "reason": "no llegó a la puerta"}))
        if departed:
            ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{traveller}/boarding",
                        {"status": "boarded"}))
    if departed:
        with api.clock(departure):
            ok(api.post("inm.officer", f"/api/v1/flights/{flight}/depart"))
    return flight, absent


def _state(api: Api, user: str, ref: str) -> str:
    return str(ok(api.get(user, f"/api/v1/cases/{ref}"))["state"])


def _queue(api: Api, user: str = "inm.supervisor") -> list[str]:
    kinds = {kind["kind"]: kind for kind in ok(api.get(user, "/api/v1/inbox?limit=100"))["kinds"]}
    return [item["reference"] for item in kinds.get("concerns", {"items": []})["items"]]


def test_a_claim_at_the_door_is_recorded_on_a_no_show_before_departure_and_holds_the_case_back(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    flight, absent = _no_show(api, departed=False)
    ok(api.post("inm.officer", f"/api/v1/cases/{absent}/screenings", CLAIM), 201)
    # Open on the case, in the supervisors' queue; the case stays a no-show, holding no seat.
    assert _state(api, "inm.officer", absent) == "no_show"
    assert absent in _queue(api)
    assert absent in {item["reference"] for item in ok(api.get("inm.supervisor", "/api/v1/cases?concern=open"))[
        "items"]}
    # A correction of the no-show takes the case back only as far as its guards allow: held back, not ready.
    corrected = ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/passengers/{absent}/no-show-correction",
                            {"reason": WHY}))
    assert corrected == {"case": absent, "state": "documented"}, corrected
    assert _state(api, "inm.officer", absent) == "documented"
    # Nothing puts the person on a flight while the concern is open.
    other = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{other}/passengers", {"cases": [absent]})
    assert refused.status_code == 409, refused.text
    assert absent in _queue(api)


def test_a_claim_at_the_door_is_recorded_on_a_no_show_after_departure(client: TestClient, world: World) -> None:
    api = Api(client, world)
    flight, absent = _no_show(api, departed=True)
    ok(api.post("inm.officer", f"/api/v1/cases/{absent}/screenings", CLAIM), 201)
    assert _state(api, "inm.officer", absent) == "no_show"
    assert absent in _queue(api)
    # The page offers the screening and its resolution to the sending side's supervisor.
    login(client, "inm.supervisor")
    page = client.get(f"/cases/{absent}?protection=1").text
    assert f'action="/cases/{absent}/screening"' in page and f'action="/cases/{absent}/resolution"' in page
    # The no-show stays final (no correction after departure); a supervisor's resolution may end the case.
    late = api.post("inm.supervisor", f"/api/v1/flights/{flight}/passengers/{absent}/no-show-correction",
                    {"reason": WHY})
    assert late.status_code == 409, late.text
    ok(api.post("inm.supervisor", f"/api/v1/cases/{absent}/screenings/resolution",
                {"decision": "withdrawn", "reason": "Asilo solicitado en la puerta: no se retorna."}), 201)
    assert _state(api, "inm.officer", absent) == "withdrawn"
    assert absent not in _queue(api)


# Those who see cases and may not read protection screenings.
BLIND = ("saime.officer", "saime.supervisor", "saime.viewer", "inm.viewer")


@pytest.fixture()
def taken_off(client: TestClient, world: World) -> dict[str, str]:
    """Three passengers taken off a manifest: a no-show, a protection pull and the sending side's removal."""
    api = Api(client, world)
    _, absent = _no_show(api, departed=False)
    pulled, removed = (api.ready_case(first_surname=name)["reference"] for name in ("Protegido", "Retirado"))
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [pulled, removed]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{removed}/remove",
                {"reason": "plaza para otro caso"}))
    api.screen(pulled, ["trafficking_victim"])
    return {"no_show": absent, "pulled": pulled, "removed": removed}


@pytest.mark.parametrize("user", BLIND)
def test_the_api_tells_a_no_show_as_the_other_ways_off_a_manifest(
        client: TestClient, world: World, taken_off: dict[str, str], user: str) -> None:
    api = Api(client, world)
    assert {ref: _state(api, user, ref) for ref in taken_off.values()} == dict.fromkeys(taken_off.values(),
                                                                                          "documented")
    # A filter on the state it is not told answers as the state it is told: the three are found alike.
    for state in ("no_show", "documented", "ready"):
        found = {item["reference"]: item["state"]
                 for item in ok(api.get(user, f"/api/v1/cases?state={state}&limit=500"))["items"]}
        assert set(taken_off.values()) <= set(found), state
        assert set(found.values()) == {"documented"}, state
    assert "no_show" not in {item["state"] for item in ok(api.get(user, "/api/v1/cases?limit=500"))["items"]}
    assert "no_show" not in ok(api.get(user, "/api/v1/reports/dashboard"))["cases_by_state"]


def test_a_refusal_tells_a_no_show_as_the_other_ways_off_a_manifest(
        client: TestClient, world: World, taken_off: dict[str, str]) -> None:
    api = Api(client, world)
    told = set()
    for ref in taken_off.values():
        error = api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {}).json()["error"]
        told.add(re.sub(r"(MX|US)-\d{4}-\d{6,}", "REF", error["message"]))
    assert len(told) == 1 and "no_show" not in told.pop()
    # Issuing an emergency document is answered alike (it was refused of a no-show alone, 'not verified').
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{taken_off['no_show']}/emergency-document"), 201)
    assert issued["case_state"] == "documented", issued


@pytest.mark.parametrize("user", ["saime.officer", "inm.viewer"])
def test_pages_and_exports_tell_a_no_show_as_the_other_ways_off_a_manifest(
        client: TestClient, world: World, taken_off: dict[str, str], user: str) -> None:
    login(client, user)
    for ref in taken_off.values():
        assert STATE_ON_PAGE.findall(client.get(f"/cases/{ref}").text) == ["documentado"], ref
    page = client.get("/cases", params={"state": "documented"}).text
    assert all(ref in page for ref in taken_off.values())
    assert "no se presentó" not in page and 'value="no_show"' not in page
    exported = {row["Referencia"]: row["Estado"] for row in csv.DictReader(io.StringIO(
        client.get("/cases.csv", params={"state": "no_show"}).text.lstrip("\ufeff")))}
    assert set(taken_off.values()) <= set(exported) and set(exported.values()) == {"documented"}, exported


def test_the_sending_side_and_the_monitor_still_tell_a_no_show(
        client: TestClient, world: World, taken_off: dict[str, str]) -> None:
    api = Api(client, world)
    assert _state(api, "inm.officer", taken_off["no_show"]) == "no_show"
    assert {item["reference"] for item in ok(api.get("inm.supervisor", "/api/v1/cases?state=no_show"))["items"]} \
        == {taken_off["no_show"]}
    # The monitor counts states apart, as it counts open concerns: a figure, never a person.
    assert ok(api.get("monitor.viewer", "/api/v1/reports/dashboard"))["cases_by_state"]["no_show"] == 1
