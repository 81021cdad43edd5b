"""The case page says when a protection concern is open, and shows each protection form only where it applies."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

BANNER = 'id="concern-banner"'
RESOLVE = 'action="/cases/{ref}/resolution"'
BEST_INTERESTS = 'action="/cases/{ref}/best-interests"'


def test_an_open_concern_shows_a_banner_and_only_a_supervisor_gets_the_resolution_form(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register(given_names="Elena")
    ref = case["reference"]
    api.screen(ref, ["pending_asylum_claim", "pregnancy"])
    login(client, "inm.officer")
    page = client.get(f"/cases/{ref}").text
    assert BANNER in page and "el viaje está bloqueado" in page
    assert "Preocupaciones de este registro que esperan la resolución escrita de un supervisor: 2" in page
    assert RESOLVE.format(ref=ref) not in page and "h-resolve" not in page
    login(client, "inm.supervisor")
    page = client.get(f"/cases/{ref}").text
    # The supervisor reads which concerns are open with the protection details, an audited read.
    assert RESOLVE.format(ref=ref) not in page and f"/cases/{ref}?protection=1#h-resolve" in page
    details = client.get(f"/cases/{ref}?protection=1").text
    assert RESOLVE.format(ref=ref) in details
    resolution = details[details.index('id="h-resolve"'):details.index("Registrar resolución")]
    assert "solicitud de asilo o protección pendiente" in resolution and "embarazo" in resolution
    assert "trata" not in resolution and "discapacidad" not in resolution
    # A refused resolution (no reason) shows the form again with the details; a good one closes what it names.
    refused = post_form(client, f"/cases/{ref}/resolution", {"decision": "travel_permitted", "reason": "",
                                                             "concerns": ["pregnancy"]}, page="/login")
    assert refused.status_code == 422 and RESOLVE.format(ref=ref) in refused.text
    for concern in ("pregnancy", "pending_asylum_claim"):
        done = post_form(client, f"/cases/{ref}/resolution", {"decision": "travel_permitted", "concerns": [concern],
                                                              "reason": "resuelto por escrito con pruebas"},
                         page="/login")
        assert done.status_code == 303
    page = client.get(f"/cases/{ref}?protection=1").text
    assert BANNER not in page and RESOLVE.format(ref=ref) not in page
    # Viewers of the sending side and the receiving side never learn whether a concern is open.
    other = api.register(given_names="Fabiola")
    api.screen(other["reference"], ["disability"])
    login(client, "inm.viewer")
    assert BANNER not in client.get(f"/cases/{other['reference']}").text


def test_a_concern_open_on_another_record_of_the_same_person_is_named_on_this_one(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    first = api.register(national_id="V20111222")
    second = api.register(national_id="V20111222", agency_reference="OTRO-1")
    api.screen(first["reference"], ["trafficking_victim"])
    login(client, "inm.officer")
    page = client.get(f"/cases/{second['reference']}").text
    assert BANNER in page and first["reference"] in page and "otro registro de la misma persona" in page
    # Another agency's record of the same person blocks this one too, but is not this agency's to name; that it
    # holds a concern is said only once the receiving state has verified this case and a document is on file.
    american = api.register("ice.officer", national_id="V20111222", agency_reference="ICE-1")
    api.screen(american["reference"], user="ice.officer")
    login(client, "ice.officer")
    page = client.get(f"/cases/{american['reference']}").text
    assert BANNER not in page and "Otra agencia tiene abierta" not in page
    api.verify(american["reference"], sender="ice.officer")
    api.passport(american, user="ice.officer")
    page = client.get(f"/cases/{american['reference']}").text
    assert BANNER in page and "Otra agencia tiene abierta" in page
    assert first["reference"] not in page and second["reference"] not in page


def test_the_best_interests_form_is_for_minors_without_a_determination(client: TestClient, world: World) -> None:
    api = Api(client, world)
    adult = api.register(birth_date=(date.today() - timedelta(days=37 * 365)).isoformat())
    child = api.register(birth_date=(date.today() - timedelta(days=9 * 365)).isoformat(), given_names="Niña")
    login(client, "inm.supervisor")
    assert BEST_INTERESTS.format(ref=adult["reference"]) not in client.get(f"/cases/{adult['reference']}").text
    assert BEST_INTERESTS.format(ref=child["reference"]) in client.get(f"/cases/{child['reference']}").text
    ok(api.post("inm.supervisor", f"/api/v1/cases/{child['reference']}/best-interests",
                {"summary": "interés superior evaluado", "receiving_guardian": "Consejo de Protección"}), 201)
    assert BEST_INTERESTS.format(ref=child["reference"]) not in client.get(f"/cases/{child['reference']}").text
    login(client, "inm.officer")
    assert BEST_INTERESTS.format(ref=child["reference"]) not in client.get(f"/cases/{child['reference']}").text
