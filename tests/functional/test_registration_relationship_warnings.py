"""A registration warns, as an import does at the relationship's cell, of a relationship to the household's head that
the ages contradict (red team round 67, F4, at the import; left open at the API in round 76): a child not younger than
the head, a parent not older, a minor recorded as a spouse. A warning refuses nothing: the case is registered."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, case_payload, ok
from tests.web.pages_helpers import csrf, login


def test_a_registration_warns_of_a_relationship_the_ages_contradict(client: TestClient, world: World) -> None:
    api = Api(client, world)
    head = api.register(given_names="Titular", household_reference="H-REL", relationship_to_head="head",
                        birth_date="1990-05-01")
    assert "warnings" not in head or not head["warnings"], head
    older_child = api.client.post("/api/v1/cases", json=case_payload(
        given_names="Hijo", household_reference="H-REL", relationship_to_head="child", birth_date="1985-01-01"),
        headers={**world.headers("inm.officer"), "Accept-Language": "es"})
    body = ok(older_child, 201)
    (warning,) = body["warnings"]
    assert "child of the household's head" in warning["message"] and head["reference"] in warning["message"]
    assert "hijo o hija" in warning["localized"]["message"], warning
    younger_parent = api.register(given_names="Madre", household_reference="H-REL", relationship_to_head="parent",
                                  birth_date="2000-01-01")
    assert "parent of the household's head" in younger_parent["warnings"][0]["message"], younger_parent
    minor = (date.today() - timedelta(days=16 * 366)).isoformat()
    spouse = api.register(given_names="Pareja", household_reference="H-REL", relationship_to_head="spouse",
                          birth_date=minor)
    assert "minor recorded as a spouse" in spouse["warnings"][0]["message"], spouse
    fine = api.register(given_names="Hija", household_reference="H-REL", relationship_to_head="child",
                        birth_date="2015-01-01")
    assert not fine.get("warnings"), fine
    # The page says it after registering, in Spanish.
    login(client, "inm.officer")
    client.cookies.set("retorno_lang", "es")
    form = {k: v for k, v in case_payload(given_names="Abuela", household_reference="H-REL",
                                          relationship_to_head="parent", birth_date="2001-02-03").items()
            if isinstance(v, str)}
    page = client.post("/cases/new", data={**form, "csrf_token": csrf(client, "/cases/new")}, follow_redirects=False)
    assert page.status_code == 303, page.text
    shown = client.get(page.headers["location"]).text
    assert "Revise:" in shown and "padre o madre del titular" in shown, shown


def test_a_correction_reaching_a_contradiction_warns_too(client: TestClient, world: World) -> None:
    """Red team round 79, F5: a supervisor's household correction made a 13-year-old the head's spouse, and a birth
    date corrected made the head younger than her child, each saying nothing. Both answers warn, as a registration's."""
    api = Api(client, world)
    head = api.register(given_names="Titular", household_reference="H-COR", relationship_to_head="head",
                        birth_date="1990-05-01")
    child = api.register(given_names="Nina", household_reference="H-COR", relationship_to_head="child",
                         birth_date=(date.today() - timedelta(days=13 * 366)).isoformat())
    assert not child.get("warnings"), child
    path = f"/api/v1/cases/{child['reference']}/household"
    etag = api.get("inm.supervisor", f"/api/v1/cases/{child['reference']}").headers["etag"]
    corrected = api.client.post(path, json={"household": "H-COR", "relationship_to_head": "spouse",
                                            "reason": "Corrección del parentesco declarado."},
                                headers={**world.headers("inm.supervisor"), "If-Match": etag})
    assert corrected.status_code == 200, corrected.text
    assert "minor recorded as a spouse" in corrected.json()["warnings"][0]["message"], corrected.json()
    api.register(given_names="Pablo", household_reference="H-COR", relationship_to_head="child",
                 birth_date="2012-01-01")
    etag = api.get("inm.officer", f"/api/v1/cases/{head['reference']}").headers["etag"]
    younger = api.client.patch(f"/api/v1/cases/{head['reference']}", json={"birth_date": "2000-01-01"},
                               headers={**world.headers("inm.officer"), "If-Match": etag})
    assert younger.status_code == 200, younger.text
    etag = younger.headers["etag"]
    younger = api.client.patch(f"/api/v1/cases/{head['reference']}", json={"birth_date": "2012-06-01"},
                               headers={**world.headers("inm.officer"), "If-Match": etag})
    assert younger.status_code == 200, younger.text
    assert any("not younger" in w["message"] for w in younger.json().get("warnings") or []), younger.json()
