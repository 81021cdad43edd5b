"""Red team (SPEC.md 6, a locked manifest changes only with both sides): a receiving-side officer alone verified a
case holding an open concern against the registry record of a passenger on a locked manifest (another person,
another cédula and birth date), which made them one person and pulled the passenger off at once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok, registry_record
from tests.functional.test_guarantees import refused


def _decide(api: Api, user: str, ref: str, record: str, reason: str | None = None) -> object:
    request = api.open_request(ref)
    body = {"outcome": "verified", "registry_record": record, "request": request}
    if reason:
        body["reason"] = reason
    return api.post(user, f"/api/v1/cases/{ref}/verification-decision", body)


def test_a_registry_record_of_another_person_is_not_taken_by_one_officer(client: TestClient, world: World) -> None:
    api = Api(client, world)
    passenger = api.ready_case(national_id="V15267490", birth_date="1980-05-05")["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger]}), 201)
    other = api.register("ice.officer", national_id="V25239107", birth_date="2000-02-02",
                         agency_reference="ICE-RT-SAME")["reference"]
    api.screen(other, ["pending_asylum_claim"], user="ice.officer")
    ok(api.post("ice.officer", f"/api/v1/cases/{other}/verification-request"), 201)
    error = refused(_decide(api, "saime.officer", other, registry_record(passenger)), 409,
                    "registry_record_of_another_person")
    assert "a supervisor decides it" in error["message"], error
    assert error["message"].count(registry_record(passenger)) == 1, error
    refused(_decide(api, "saime.supervisor", other, registry_record(passenger)), 409,
            "registry_record_of_another_person")
    passengers = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert [p["case"] for p in passengers] == [passenger]
    # A supervisor who writes why may still decide it (two records of one person with a typo in one).
    ok(_decide(api, "saime.supervisor", other, registry_record(passenger), reason="same person: birth date mistyped"),
       201)
    assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers")) == []


def test_the_same_person_again_is_verified_against_their_record_by_an_officer(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    first = api.ready_case(national_id="V9100200", birth_date="1990-01-01")["reference"]
    again = api.register("ice.officer", national_id="V-9.100.200", birth_date="1990-01-01",
                         agency_reference="ICE-RT-AGAIN")["reference"]
    api.screen(again, user="ice.officer")
    ok(api.post("ice.officer", f"/api/v1/cases/{again}/verification-request"), 201)
    ok(_decide(api, "saime.officer", again, registry_record(first)), 201)


def test_the_record_of_another_person_spelt_with_letters_around_its_digits_is_that_record(
        client: TestClient, world: World) -> None:
    """Red team round 21, W-F1 (medium): verified against V19283746, a woman's registry record, other people were
    verified by an officer alone against CIVEN19283746, 19283746V and CIVENE19283746 (201: other records, so never
    linked: her open asylum claim held none of them, and each became ready). Letters around a record's digits are
    folded now, whatever their number, before and after."""
    api = Api(client, world)
    woman = api.register(given_names="Rosalba Inés", first_surname="Quintanilla", second_surname="Ferrer", sex="F",
                         birth_date="1990-05-14", national_id=None)["reference"]
    api.screen(woman)
    ok(api.post("inm.officer", f"/api/v1/cases/{woman}/verification-request"), 201)
    ok(_decide(api, "saime.officer", woman, "V19283746"), 201)
    for n, spelling in enumerate(("CIVEN19283746", "19283746V", "CIVENE19283746", "ci-ven-19283746-v")):
        other = api.register(given_names="Teodoro", first_surname="Ballesteros", second_surname="Urdaneta", sex="M",
                             birth_date=f"1985-02-0{n + 1}", national_id=None, agency_reference=f"RT21-W{n}")
        api.screen(other["reference"])
        ok(api.post("inm.officer", f"/api/v1/cases/{other['reference']}/verification-request"), 201)
        # CIVENE19283746: the E right before the digits is read as a foreign resident's letter, a supervisor's
        # override too (red team round 87, F1), refused to the officer first.
        first = "registry_foreign_resident" if spelling == "CIVENE19283746" else "registry_record_of_another_person"
        refused(_decide(api, "saime.officer", other["reference"], spelling), 409, first)
