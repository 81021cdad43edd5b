"""Red team round 13, F7: a seven-year-old found "not national" by the receiving side was left behind: her mother was
manifested and approved alone, with no supervisor's split and nothing recorded on the child; an officer's withdrawal
of a second child let the mother back on the manifest alone at once.

A minor of a household who stays behind (not a national, withdrawn, unfit to fly, a no-show) is separated from the
household's passengers as one left off is: manifesting an adult of the household needs a supervisor's split with a
written reason (`safeguard.family_unity`), at every door and at the commit-time guard; and when that leaves the child
with no adult of the household staying with them, the child gets the unaccompanied-child concern at that moment, by
the official whose act left them so (SPEC.md 4.2, 4.3)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok

SEVEN = date(date.today().year - 7, 3, 3).isoformat()
SPLIT = "La madre viaja; la niña queda con protección de la infancia."


def _raised(api: Api, ref: str) -> list[dict[str, Any]]:
    return [s for s in ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings"))
            if "unaccompanied_child" in s["concerns"]]


def _family(api: Api, household: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Carmen Elena (head) and Sofía, seven, screened cleared, verification requested."""
    mother = api.register(household_reference=household, given_names="Carmen Elena", first_surname="Tovar",
                          second_surname="Ugas", birth_date="1988-02-02", relationship_to_head="head")
    child = api.register(household_reference=household, given_names="Sofia", first_surname="Tovar",
                         second_surname="Ugas", birth_date=SEVEN, relationship_to_head="child")
    for case in (mother, child):
        api.screen(case["reference"])
    return mother, child


def _refused_split(response: Any, child: str) -> None:
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "safeguard.family_unity", response.text
    assert f"case {child}" in error["message"] and "stays behind" in error["message"], response.text


def test_a_child_found_not_national_is_not_left_behind_without_a_supervisor(client: TestClient,
                                                                          world: World) -> None:
    api = Api(client, world)
    mother, child = _family(api, "RT1-HH1")
    api.verify(mother["reference"])
    request = ok(api.post("inm.officer", f"/api/v1/cases/{child['reference']}/verification-request"), 201)["request"]
    ok(api.post("saime.officer", f"/api/v1/cases/{child['reference']}/verification-decision",
                {"outcome": "rejected", "request": request, "reason": "nacida en Colombia sin registro venezolano"}),
       201)
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child['reference']}"))["state"] == "not_national"
    assert api.passport(mother)["case_state"] == "ready"
    flight = api.flight()["reference"]
    _refused_split(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                            {"cases": [mother["reference"]]}), child["reference"])
    assert _raised(api, child["reference"]) == []  # refused: nothing happened to anyone
    # In Spanish too.
    spanish = client.post(f"/api/v1/flights/{flight}/passengers", json={"cases": [mother["reference"]]},
                          headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    assert "se queda" in spanish.json()["error"]["localized"]["message"], spanish.text
    # A supervisor splits the household, with a reason: the mother goes on, and the child, with no adult of the
    # household staying with her, is an unaccompanied child from that moment, recorded by the officer who did it.
    ok(api.post("inm.supervisor", "/api/v1/households/RT1-HH1/split", {"reason": SPLIT}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother["reference"]]}), 201)
    raised = _raised(api, child["reference"])
    assert len(raised) == 1 and f"case {mother['reference']} is now 'manifested'" in raised[0]["notes"], raised
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{mother['reference']}/decision",
                {"approve": True}))
    assert len(_raised(api, child["reference"])) == 1  # once


def test_an_officers_withdrawal_of_a_child_is_no_split(client: TestClient, world: World) -> None:
    """The variant: a second child registered (taking the mother off), then withdrawn by an officer; the mother
    alone is refused until a supervisor splits the household. Another adult staying behind too (withdrawn with the
    child) stays with her: the split is still a supervisor's, but the child is not alone."""
    api = Api(client, world)
    mother, child = _family(api, "RT1-HH2")
    for case in (mother, child):
        api.verify(case["reference"])
        assert api.passport(case)["case_state"] == "ready"
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                {"cases": [mother["reference"], child["reference"]]}), 201)
    mateo = api.register(household_reference="RT1-HH2", given_names="Mateo", first_surname="Tovar",
                         second_surname="Ugas", birth_date=date(date.today().year - 7, 8, 8).isoformat(),
                         relationship_to_head="child")["reference"]
    assert ok(api.get("inm.officer", f"/api/v1/cases/{mother['reference']}"))["state"] == "ready"
    ok(api.post("inm.officer", f"/api/v1/cases/{mateo}/withdraw", {"reason": "liberado por orden judicial"}))
    _refused_split(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                            {"cases": [mother["reference"], child["reference"]]}), mateo)
    # An aunt of the household, released with him, stays with him.
    aunt = api.register(household_reference="RT1-HH2", given_names="Luisa", first_surname="Ugas",
                        second_surname="Pérez", birth_date="1990-09-09", relationship_to_head="sibling")["reference"]
    ok(api.post("inm.officer", f"/api/v1/cases/{aunt}/withdraw", {"reason": "liberada con su sobrino"}))
    ok(api.post("inm.supervisor", "/api/v1/households/RT1-HH2/split", {"reason": SPLIT}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                {"cases": [mother["reference"], child["reference"]]}), 201)
    assert _raised(api, mateo) == []


def _split_family_on_a_flight(api: Api, household: str) -> tuple[str, str, str]:
    """Carmen Elena and Sofía, seven, verified and documented, both on a flight's manifest, then the household split
    by a supervisor: (mother, child, flight)."""
    mother, child = _family(api, household)
    for case in (mother, child):
        api.verify(case["reference"])
        api.passport(case)
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                {"cases": [mother["reference"], child["reference"]]}), 201)
    ok(api.post("inm.supervisor", f"/api/v1/households/{household}/split", {"reason": SPLIT}), 201)
    return mother["reference"], child["reference"], flight


def test_a_child_taken_off_alone_after_a_split_is_an_unaccompanied_child(client: TestClient, world: World) -> None:
    """Red team round 40, F1 (door 1): the household split, the child alone removed from the manifest while the
    mother stayed on it: the child rested in 'ready' with no concern, no determination and nothing in any queue,
    where the other order (the child off first, the mother put on after) recorded the concern. The end state is the
    same whichever door led there: the child is an unaccompanied child from that moment."""
    api = Api(client, world)
    mother, child, flight = _split_family_on_a_flight(api, "RT40-HH1")
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{child}/remove",
                {"reason": "la niña se queda con su abuela"}))
    assert ok(api.get("inm.officer", f"/api/v1/cases/{mother}"))["state"] == "manifested"
    raised = _raised(api, child)
    assert len(raised) == 1 and "stays behind" in raised[0]["notes"], raised
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["state"] == "documented"


def test_a_child_rejected_alone_after_a_split_is_an_unaccompanied_child(client: TestClient, world: World) -> None:
    """Round 40, F1 (door 2): the receiving side rejected the child alone off the proposed manifest of a split
    household; her mother stayed on it and the child got nothing."""
    api = Api(client, world)
    mother, child, flight = _split_family_on_a_flight(api, "RT40-HH2")
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{child}/decision",
                {"approve": False, "reason": "no aprobada por falta de documento"}))
    assert ok(api.get("inm.officer", f"/api/v1/cases/{mother}"))["state"] == "manifested"
    assert len(_raised(api, child)) == 1


def test_a_child_screened_after_her_mother_went_on_a_flight_alone_is_an_unaccompanied_child(
        client: TestClient, world: World) -> None:
    """Round 40, F1 (the same end state by a third door): the household split, the mother put on a flight while her
    child was not yet screened; the child's screening with no concern was taken ('cleared') and she went on towards
    'ready', with nobody of the household waiting with her. An adult holding a seat waits only with a minor on that
    flight's manifest: the screening must name the unaccompanied-child concern."""
    api = Api(client, world)
    mother = api.register(household_reference="RT40-HH3", given_names="Carmen Elena", first_surname="Tovar",
                          second_surname="Ugas", birth_date="1988-02-02", relationship_to_head="head")
    child = api.register(household_reference="RT40-HH3", given_names="Sofia", first_surname="Tovar",
                         second_surname="Ugas", birth_date=SEVEN, relationship_to_head="child")["reference"]
    api.screen(mother["reference"])
    api.verify(mother["reference"])
    api.passport(mother)
    flight = api.flight()["reference"]
    ok(api.post("inm.supervisor", "/api/v1/households/RT40-HH3/split", {"reason": SPLIT}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother["reference"]]}), 201)
    refused = api.post("inm.officer", f"/api/v1/cases/{child}/screenings", {"concerns": [], "medical_escorts": 0})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "safeguard.children", refused.text
    api.screen(child, concerns=["unaccompanied_child"])
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["state"] == "screened"
    assert len(_raised(api, child)) == 1
