"""Red team round 11, RE8811 F5 (medium): a protection pull started by another country's import and screening took
two boarded passengers off a locked manifest, and nobody was told they must leave the aircraft: the sending side read
`protection_pull` as for people never boarded, the carrier (whose crew is at the door) nothing at all. Now whichever
path takes a boarded person off a manifest (a protection pull, a higher medical need, a cancellation, ...), the
sending side of the flight and its carrier get a `must_deboard` alert naming them; the carrier is told nothing else
(not why, nor any other removal), the receiving side is not shown it, and the agency whose act caused it, of neither
side of the flight, is told nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

REASON = "Cancelado por falla técnica del avión en plataforma."


def _alerts(api: Api, user: str) -> list[tuple[str, str]]:
    kinds = {k["kind"]: k for k in ok(api.get(user, "/api/v1/inbox?limit=50"))["kinds"]}
    return sorted((i["reference"], i["note"]) for i in kinds.get("alerts", {"items": []})["items"])


def _boarded_household(api: Api, household: str, **first: str) -> tuple[list[str], str, datetime]:
    """Two adults of one household and a traveller of their own on a locked manifest; the household has boarded."""
    head = api.ready_case(household_reference=household, relationship_to_head="head", given_names="Yolimar",
                          **first)["reference"]
    spouse = api.ready_case(household_reference=household, relationship_to_head="spouse",
                            given_names="Segundo")["reference"]
    other = api.ready_case(given_names="Otra Viajera")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([head, spouse, other], departure=departure)
    at_door = departure - timedelta(minutes=30)
    with clock_at(at_door):
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/boardings", {"cases": [head, spouse]}))
    return [head, spouse], flight, at_door


def test_a_protection_pull_by_another_country_tells_the_sender_and_carrier_who_must_deboard(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    aboard, flight, at_door = _boarded_household(api, "HOGAR-F5A", national_id="V8734041")
    with clock_at(at_door):
        american = api.register("ice.officer", national_id="V-8.734.041", agency_reference="A-RT-LINKB")
        api.screen(american["reference"], ["pending_asylum_claim"], user="ice.officer")
        listed = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
        assert not {p["case"] for p in listed if p["approval"] == "approved"} & set(aboard)
        deboard = [(ref, "must_deboard") for ref in aboard]
        # The sending side reads why (the pull) and that they must leave the aircraft.
        assert set(deboard) <= set(_alerts(api, "inm.officer")), _alerts(api, "inm.officer")
        # The one the concern is about by the pull; her household, taken along, as such (red team round 74, F2).
        head, spouse = aboard
        assert {(head, "protection_pull"), (spouse, "with_household")} <= set(_alerts(api, "inm.officer"))
        # The carrier: who must leave the aircraft, and nothing else.
        for user in ("carrier.officer", "carrier.supervisor"):
            assert _alerts(api, user) == sorted(deboard), user
        # The receiving side reads a removal as before, never that they boarded; the other country nothing.
        assert {note for _, note in _alerts(api, "saime.officer")} == {"taken_off"}
        assert _alerts(api, "ice.officer") == [] and _alerts(api, "avior.officer") == []
        login(client, "carrier.officer")
        home = client.get("/").text
        # The carrier is told each one's reference (its passenger list's "Expediente"), never why.
        assert "debe bajar del avión" in home and all(ref in home for ref in aboard), home
        assert "protección" not in home and "Yolimar" not in home
        login(client, "inm.officer")
        home = client.get("/").text
    assert "debe bajar del avión" in home and "Yolimar" in home


def test_a_higher_medical_need_and_a_cancellation_tell_who_must_deboard(client: TestClient, world: World) -> None:
    api = Api(client, world)
    aboard, flight, at_door = _boarded_household(api, "HOGAR-F5B")
    with clock_at(at_door):
        # A medical need above the one counted takes the person (and the household) off at once.
        api.screen(aboard[0], medical_escorts=3)
        assert _alerts(api, "carrier.officer") == sorted((ref, "must_deboard") for ref in aboard)
        assert {(aboard[0], "medical_needs"), (aboard[1], "with_household")} <= set(_alerts(api, "inm.officer"))
    aboard, flight, at_door = _boarded_household(api, "HOGAR-F5C")
    with clock_at(at_door):
        for user in ("inm.supervisor", "saime.supervisor"):
            ok(api.post(user, f"/api/v1/flights/{flight}/cancel", {"reason": REASON}))
        # A flight cancelled at the door: those aboard leave the aircraft too.
        told = _alerts(api, "carrier.officer")
        assert {(ref, "must_deboard") for ref in aboard} <= set(told) and len(told) == 4, told
        assert {(ref, "must_deboard") for ref in aboard} <= set(_alerts(api, "inm.officer"))
        assert "must_deboard" not in {note for _, note in _alerts(api, "saime.officer")}
