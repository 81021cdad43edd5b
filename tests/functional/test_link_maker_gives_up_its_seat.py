"""Red team round 33, F3 (low-medium): INM registered a record with the name, sex and birth date of its own passenger
and the cédula of ICE's passenger on another flight. The record made the two passengers one person with two seats,
and the one-seat rule kept the flight departing first, INM's: ICE's passenger left its flight, and ICE could not put
them back until supervisors of both agencies decided. Any agency could so take another country's passenger off a
flight with a cédula it knew.

Now the agency whose write made the link gives up its own seat first (`travel.seats._one_seat`): INM's passenger
leaves, ICE's keeps its seat; the other agency's passenger leaves only when the maker holds none of the person's seats
(in the air, boarded and with the family still come first)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Api, World, case_payload, ok

INM_PASSENGER = {"given_names": "Bonifacio", "first_surname": "Urdaneta", "second_surname": "Tresya", "sex": "M",
                 "birth_date": "1979-02-17"}
ICE_PASSENGER = {"given_names": "Eleuterio", "first_surname": "Camacaro", "second_surname": "Piñango", "sex": "M",
                 "birth_date": "1981-06-09"}


def _aboard(api: Api, user: str, flight: str) -> list[str]:
    return [p["case"] for p in ok(api.get(user, f"/api/v1/flights/{flight}/passengers"))
            if p["approval"] in ("proposed", "approved")]


def _two_agencies_passengers(api: Api) -> tuple[dict[str, Any], str, dict[str, Any], str]:
    """INM's passenger on a flight departing in 10 days, ICE's on one departing in 12: two people as recorded."""
    inm = api.ready_case("inm.officer", national_id="V17320451", **INM_PASSENGER)
    ice = api.ready_case("ice.officer", national_id="V18430562", **ICE_PASSENGER)
    first = api.flight(days_ahead=10)["reference"]
    second = api.flight(days_ahead=12, user="ice.officer")["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{first}/passengers", {"cases": [inm["reference"]]}), 201)
    ok(api.post("ice.officer", f"/api/v1/flights/{second}/passengers", {"cases": [ice["reference"]]}), 201)
    return inm, first, ice, second


@pytest.mark.parametrize("maker", ["inm.officer", "ice.officer", "sre.officer"])
def test_a_record_bridging_two_agencies_passengers_takes_off_the_makers_own(client: TestClient, world: World,
                                                                            maker: str) -> None:
    """INM's record with its passenger's name, sex and birth date and ICE's passenger's cédula (or ICE's, the other way
    round): the maker's passenger leaves, whichever flight departs first."""
    api = Api(client, world)
    inm, first, ice, second = _two_agencies_passengers(api)
    # SRE, of INM's country, copies ICE's passenger's identity with INM's passenger's cédula (red team round 33b, F1):
    # Mexico's side gives up its seat.
    own, other = {"inm.officer": (INM_PASSENGER, "V18430562"), "ice.officer": (ICE_PASSENGER, "V17320451"),
                  "sre.officer": (ICE_PASSENGER, "V17320451")}[maker]
    bridge = ok(api.post(maker, "/api/v1/cases", case_payload(national_id=other, **own)), 201)
    kept, left = ((inm, first, "inm.officer"), (ice, second, "ice.officer")) if maker == "ice.officer" else \
        ((ice, second, "ice.officer"), (inm, first, "inm.officer"))
    assert _aboard(api, kept[2], kept[1]) == [kept[0]["reference"]]
    assert _aboard(api, left[2], left[1]) == []
    assert ok(api.get(left[2], f"/api/v1/cases/{left[0]['reference']}"))["state"] == "ready"
    # The answer names the cases the maker sees: SRE sees INM's, of its country (red team round 43, F4).
    assert bridge.get("taken_off_with", []) == [left[0]["reference"]], bridge
