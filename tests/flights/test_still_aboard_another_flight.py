"""Red team T-F5 (low): after flight V0 3106 was cancelled at the door (both supervisors' consent), its list of who must
leave the aircraft still named MX-2026-000713 (boarded, seat 6F), the case was 'ready' again, and an INM officer put it
on another flight's manifest (201) while the person was not yet recorded off the cancelled aircraft.

Now a person recorded on board an aircraft and not yet recorded off it (`flights.service.leaving_unconfirmed`), by
this record or another record of the person, goes on no other manifest: 409 `still_aboard_another_flight` at every
door that adds to one (API, page, command line, bulk selection, plan applied), naming the flight to whoever may read
it; once recorded off, the person goes on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import Result

from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.functional.test_cli_refusals_told import cli  # noqa: F401 (the fixture)
from tests.web.pages_helpers import login, post_form

REASON = "Cancelado por falla técnica del avión en plataforma."
CODE = "still_aboard_another_flight"


def _cancelled_at_the_door(api: Api, refs: list[str]) -> tuple[str, datetime]:
    """A flight with `refs` boarded, cancelled at the door by both supervisors; nobody recorded off it; the moment."""
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest(refs, departure=departure)
    at_door = departure - timedelta(minutes=30)
    with clock_at(at_door):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/boardings", {"cases": refs}))
        for user in ("inm.supervisor", "saime.supervisor"):
            ok(api.post(user, f"/api/v1/flights/{flight}/cancel", {"reason": REASON}))
    return flight, at_door + timedelta(minutes=5)


def _refused(answer: Any, aboard: str | None) -> None:
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == CODE, error
    if aboard is not None:
        assert aboard in error["message"], error


def test_a_person_not_yet_off_a_cancelled_aircraft_goes_on_no_other_manifest_at_any_door(
        client: TestClient, world: World, cli: Callable[..., Result]) -> None:  # noqa: F811
    api = Api(client, world)
    pulled = api.ready_case(given_names="Yolimar", first_surname="Camacaro")["reference"]
    cancelled, later = _cancelled_at_the_door(api, [pulled])
    with clock_at(later):
        assert [p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{cancelled}/deboardings"))] == [pulled]
        assert ok(api.get("inm.officer", f"/api/v1/cases/{pulled}"))["state"] == "ready"
        other = api.flight()["reference"]
        # Before: 201, the person on two aircraft at once.
        _refused(api.post("inm.officer", f"/api/v1/flights/{other}/passengers", {"cases": [pulled]}), cancelled)
        _refused(api.post("inm.officer", "/api/v1/plans/apply", {"manifests": {other: [pulled]}}), cancelled)
        selection = api.post("inm.officer", f"/api/v1/flights/{other}/selection",
                             {"filter": {}, "all_or_nothing": True})
        assert selection.status_code == 409 and CODE in selection.text and cancelled in selection.text, selection.text
        added = cli("flights", "add", other, pulled, "--as", "inm.officer")
        assert added.exit_code != 0 and CODE in added.output and cancelled in added.output, added.output
        login(client, "inm.officer")
        page = post_form(client, f"/flights/{other}/passengers", {"cases": pulled}, page=f"/flights/{other}")
        assert page.status_code == 409 and cancelled in page.text, page.text
        client.cookies.clear()
        assert ok(api.get("inm.officer", f"/api/v1/flights/{other}/passengers")) == []
        # The planner leaves the person off, saying why (before: proposed, and the plan refused when applied).
        plan = ok(api.post("inm.officer", "/api/v1/plans", {"flights": [other], "time_limit": 5}))
        assert plan["left_off"][pulled]["code"] == CODE and pulled not in plan["manifests"].get(other, []), plan
        # Recorded off the aircraft, the person is planned and goes on another flight.
        ok(api.post("inm.officer", f"/api/v1/flights/{cancelled}/deboardings", {"cases": [pulled]}))
        plan = ok(api.post("inm.officer", "/api/v1/plans", {"flights": [other], "time_limit": 5}))
        assert pulled in plan["manifests"][other], plan
        ok(api.post("inm.officer", f"/api/v1/flights/{other}/passengers", {"cases": [pulled]}), 201)


def test_another_record_of_the_person_waits_too_and_the_flight_is_named_only_to_its_readers(
        client: TestClient, world: World) -> None:
    """ICE's record of the same person (one cédula) is refused as well; ICE reads no INM flight, so the refusal
    names none. A stranger goes on."""
    api = Api(client, world)
    pulled = api.ready_case(national_id="V14203318", birth_date="1985-03-04")["reference"]
    cancelled, later = _cancelled_at_the_door(api, [pulled])
    with clock_at(later):
        again = api.ready_case("ice.officer", national_id="V-14.203.318", birth_date="1985-03-04",
                               agency_reference="ICE-TF5-AGAIN")["reference"]
        stranger = api.ready_case("ice.officer", national_id="V19876532", birth_date="1979-11-12",
                                  agency_reference="ICE-TF5-OTHER")["reference"]
        other = api.flight(user="ice.officer")["reference"]
        refused = api.post("ice.officer", f"/api/v1/flights/{other}/passengers", {"cases": [again]})
        _refused(refused, None)
        assert cancelled not in refused.text and "another flight" in refused.text, refused.text
        ok(api.post("ice.officer", f"/api/v1/flights/{other}/passengers", {"cases": [stranger]}), 201)
