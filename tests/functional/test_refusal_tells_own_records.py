"""A refusal at a travel step tells an official only what their own agency's records hold (red team round 10,
tester C, M1 and M2 medium; SPEC.md 4.6).

M1: INM registered N1 with a cédula of the same digits as ICE's record (an asylum claim open there) and N2, alike to
N1 by name, flagged a possible duplicate of N1 only. N2, ready by its own record, was refused onto a flight with
"possible duplicate N1 has an open protection concern", though N1 has none of its own: the concern was ICE's, reached
through the cédula. A duplicate of the same agency is named only when the concern is open on a record of that agency;
otherwise the refusal says that another agency holds a concern open for the same person.

M2: ICE's record screened as needing 3 medical escorts; INM's look-alike (its own screening 0) was refused onto a flight
without medical staff with "medical cases need 3 medical escorts": ICE's figure. A need drawn from another agency's
record is told without its figure, at every door building that refusal (adding passengers by the API and the page,
the bulk selection, dry run and real, a plan applied). Controls: the own agency's concern and need are
named and counted as before. The safeguards are as strong: the same actions are refused.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from retorno import safeguards
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

ELSEWHERE = "one another agency holds open for the same person"
MEDICAL_ELSEWHERE = "one recorded by another agency"
# INM's two records of one person (the surnames swapped) and ICE's record of someone else by name.
N1 = {"given_names": "Rosa Elena", "first_surname": "Peña", "second_surname": "Rodríguez", "birth_date": "1990-05-17",
      "sex": "F"}
N2 = {**N1, "first_surname": "Rodríguez", "second_surname": "Peña", "national_id": None}
OTHER = {"given_names": "Luisa Fernanda", "first_surname": "Gómez", "second_surname": "Díaz",
         "birth_date": "1984-02-23", "sex": "F"}


def _documented(api: Api, case: dict[str, Any], user: str = "inm.officer", escorts: int = 0) -> str:
    """Screened without concerns (needing `escorts`), verified, with a passport: ready by its own record."""
    reference = str(case["reference"])
    api.screen(reference, [], user=user, medical_escorts=escorts)
    api.verify(reference, user)
    api.passport(case, user=user)
    return reference


def _add(api: Api, flight: str, reference: str) -> Any:
    return api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [reference]})


def _flags(api: Api, reference: str) -> list[dict[str, Any]]:
    return list(ok(api.get("inm.officer", f"/api/v1/cases/{reference}/possible-duplicates")))


def test_a_duplicate_is_not_named_for_another_agencys_concern(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ice = str(api.register("ice.officer", **OTHER, national_id="V24681357")["reference"])
    api.screen(ice, ["pending_asylum_claim"], user="ice.officer")
    n1 = str(api.register("inm.officer", **N1, national_id="E24681357")["reference"])
    n2_case = api.register("inm.officer", **N2)
    n2 = _documented(api, n2_case)
    assert [(f["other"], f["holding"]) for f in _flags(api, n2)] == [(n1, False)]
    assert ok(api.get("inm.officer", f"/api/v1/cases/{n1}/screenings")) == []
    flight = api.flight()["reference"]
    refused = _add(api, flight, n2)
    # Held as strongly as before; told only that another agency holds a concern open.
    assert refused.status_code == 409, refused.text
    assert ELSEWHERE in refused.text and n1 not in refused.text and ice not in refused.text, refused.text
    assert "possible duplicate" not in refused.text
    # The page tells the same.
    login(client, "inm.officer")
    page = post_form(client, f"/flights/{flight}/passengers", {"cases": n2}, page=f"/flights/{flight}")
    assert page.status_code == 409 and n1 not in page.text and ice not in page.text, page.status_code


def test_a_duplicate_with_its_own_agencys_concern_is_named(client: TestClient, world: World) -> None:
    """Control: the concern open on INM's own record N1 names N1 to INM's officer, as before."""
    api = Api(client, world)
    ice = str(api.register("ice.officer", **OTHER, national_id="V23456790")["reference"])
    api.screen(ice, ["pending_asylum_claim"], user="ice.officer")
    n1 = str(api.register("inm.officer", **N1, national_id="E23456790")["reference"])
    api.screen(n1, ["trafficking_victim"])
    n2 = _documented(api, api.register("inm.officer", **N2))
    refused = _add(api, api.flight()["reference"], n2)
    assert refused.status_code == 409 and f"possible duplicate {n1} has an open protection concern" in refused.text, \
        refused.text
    assert ice not in refused.text


def _look_alikes(api: Api, own_need: int, ice_need: int, held_at: str) -> tuple[str, str]:
    """INM's record, ready by its own record (needing `own_need`), and ICE's record alike to it needing `ice_need`."""
    ice = api.register("ice.officer", **N2, held_at="Port Isabel")
    api.screen(str(ice["reference"]), [], user="ice.officer", medical_escorts=ice_need)
    inm = api.register("inm.officer", **N1, national_id=None, held_at=held_at)
    return _documented(api, inm, escorts=own_need), str(ice["reference"])


def _told(response: Any) -> str:
    return str(response.text)


def test_another_agencys_medical_need_is_refused_without_its_figure(client: TestClient, world: World) -> None:
    api = Api(client, world)
    held_at = "Estación Migratoria M2-A"
    inm, ice = _look_alikes(api, 0, 3, held_at)
    assert [f["other"] for f in _flags(api, inm)] == ["another agency"]
    flight = api.flight(medical_staff=0)["reference"]
    refused = _add(api, flight, inm)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "safeguard.medical_escort", refused.text
    assert MEDICAL_ELSEWHERE in refused.text and "need: 3" not in refused.text, refused.text
    assert ice not in refused.text
    # The bulk selection, dry run and real.
    path = f"/api/v1/flights/{flight}/selection"
    for dry_run in (True, False):
        answer = api.post("inm.officer", path, {"filter": {"held": held_at}, "dry_run": dry_run})
        assert inm in answer.text, answer.text
        assert MEDICAL_ELSEWHERE in answer.text and "need: 3" not in answer.text, answer.text
    # The page.
    login(client, "inm.officer")
    page = post_form(client, f"/flights/{flight}/passengers", {"cases": inm}, page=f"/flights/{flight}")
    assert page.status_code == 409 and "otra agencia" in page.text and "casos médicos: 3" not in page.text, page.text
    # A plan applied: onto the flight without medical staff, and lowering the staff of a flight the person is on.
    applied = api.post("inm.officer", "/api/v1/plans/apply", {"manifests": {flight: [inm]}})
    assert applied.status_code == 409 and MEDICAL_ELSEWHERE in applied.text and "need: 3" not in applied.text, \
        applied.text
    staffed = api.flight(medical_staff=3)["reference"]
    ok(_add(api, staffed, inm), 201)
    other = api.ready_case(held_at="Estación Migratoria M2-C")["reference"]
    lowered = api.post("inm.officer", "/api/v1/plans/apply", {"manifests": {staffed: [other]},
                                                              "medical_staff": {staffed: 0}})
    assert lowered.status_code == 409 and MEDICAL_ELSEWHERE in lowered.text and "need: 3" not in lowered.text, \
        lowered.text


def test_an_own_medical_need_is_refused_with_its_figure(client: TestClient, world: World) -> None:
    """Control: the need INM itself recorded is told with its figure, as before (ICE's lower one changes nothing)."""
    api = Api(client, world)
    held_at = "Estación Migratoria M2-B"
    inm, _ = _look_alikes(api, 3, 1, held_at)
    flight = api.flight(medical_staff=0)["reference"]
    refused = _add(api, flight, inm)
    assert refused.status_code == 409 and "the medical cases need: 3;" in refused.text, refused.text
    preview = api.post("inm.officer", f"/api/v1/flights/{flight}/selection",
                       {"filter": {"held": held_at}, "dry_run": True})
    assert "need: 3" in preview.text and MEDICAL_ELSEWHERE not in preview.text, preview.text


def _person(reference: str, escorts: int, elsewhere: bool) -> safeguards.TravellerFacts:
    return safeguards.TravellerFacts(reference, None, date(1990, 1, 1), (), True, True, None, True,
                                     medical_escorts=escorts, medical_need_elsewhere=elsewhere)


def test_the_rules_tell_no_figure_of_a_need_drawn_from_elsewhere() -> None:
    """The rules themselves, which every door and the commit-time guard ask: capacity and the need counted."""
    flight = safeguards.FlightFacts("RF-1", 180, 10, 1, date(2030, 1, 1), 10, "VE")
    told = [v.message for v in safeguards.capacity(flight, [_person("A", 1, False), _person("B", 2, True)])]
    assert told == ["flight RF-1: the passengers' medical needs (one recorded by another agency) need more medical "
                    "staff than are assigned"]
    assert [v.message for v in safeguards.capacity(flight, [_person("A", 3, False)])] == [
        "flight RF-1: medical escorts the medical cases need: 3; medical staff assigned: 1"]
    rose = safeguards.needs_counted([_person("A", 3, True), _person("B", 2, False)], {"A": 0, "B": 0})
    assert "3" not in rose[0].message and MEDICAL_ELSEWHERE in rose[0].message
    assert "rose to 2" in rose[1].message
