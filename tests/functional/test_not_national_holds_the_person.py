"""Red team round 28b, F4 (medium): the receiving authority found INM's record of a person not a national, and SRE's
record of the same person (the same cédula, names and birth date), verified the day before, stayed ready, was added
to a flight and approved, no note to the approver. This authority's "not a national" follows the person: a record of
the person verified before the finding no longer counts as verified (every door, through the one rule) until the
authority verifies it again; a ready one goes back to 'documented', one on a manifest leaves it at once, locked or
not, both sides alerted."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok

PERSON = {"given_names": "Norelkys", "first_surname": "Arismendi", "second_surname": "Pacheco", "sex": "F",
          "birth_date": "1979-11-05"}


def _found_not_national(api: Api, cedula: str, names: dict[str, str]) -> tuple[str, str]:
    """INM's record waiting on its request while SRE's record of the person is verified; then INM's is rejected."""
    first = api.register(national_id=cedula, **names)["reference"]
    api.screen(first)
    request = ok(api.post("inm.officer", f"/api/v1/cases/{first}/verification-request"), 201)["request"]
    again = api.ready_case("sre.officer", national_id=cedula, **names)["reference"]
    assert request
    return first, again


def _reject(api: Api, reference: str) -> None:
    request = api.open_request(reference)
    ok(api.post("saime.officer", f"/api/v1/cases/{reference}/verification-decision",
                {"outcome": "rejected", "request": request, "reason": "Sin registro en el registro civil."}), 201)


def test_a_ready_record_of_a_person_found_not_a_national_waits(client: TestClient, world: World) -> None:
    api = Api(client, world)
    first, again = _found_not_national(api, "V15224466", PERSON)
    assert ok(api.get("sre.officer", f"/api/v1/cases/{again}"))["state"] == "ready"
    _reject(api, first)
    assert ok(api.get("sre.officer", f"/api/v1/cases/{again}"))["state"] == "documented"
    flight = api.flight(user="sre.officer")["reference"]
    refused = api.post("sre.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [again]})
    assert refused.status_code == 409, refused.text


def test_a_manifested_record_of_a_person_found_not_a_national_leaves_the_flight(client: TestClient,
                                                                                world: World) -> None:
    api = Api(client, world)
    names = {**PERSON, "given_names": "Yusbelis", "birth_date": "1981-04-17"}
    first, again = _found_not_national(api, "V16335577", names)
    flight = api.flight(user="sre.officer")["reference"]
    ok(api.post("sre.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [again]}), 201)
    ok(api.post("sre.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{again}/decision", {"approve": True}))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"))
    _reject(api, first)
    aboard = {p["case"] for p in ok(api.get("sre.officer", f"/api/v1/flights/{flight}/passengers"))}
    assert again not in aboard
    assert ok(api.get("sre.officer", f"/api/v1/cases/{again}"))["state"] == "documented"
