"""Red team round 73, F3 and F4: every message of an answer in the language asked for, and a selection that says
whom its limit left out.

F3: under `Accept-Language: es` a refusal's `message` had its Spanish beside it (`localized`), but the messages
inside its `details`, a bulk action's reasons and a plan's people left off stayed English only. Now each message of
an answer carries its Spanish as `localized` (`{"language", "message"}`, the refusal's own shape), wherever it is.

F4: adding a filtered selection with a limit smaller than its first household answered 'done: 0' and nothing else:
the household was skipped in silence. Now the answer names each household (or case) the limit left out, and why.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.flights.models import Passenger
from tests.factories import Api, World, ok
from tests.functional.test_bulk_actions import _approvals, _proposed_manifest, _raise_concern_behind_the_guard
from tests.web.pages_helpers import login, post_form

SPANISH = {"Accept-Language": "es"}


def _post(api: Api, user: str, path: str, body: Any, language: dict[str, str] | None = None) -> Any:
    return api.client.post(path, json=body, headers={**api.world.headers(user), **(language or {})})


def _spanish(said: dict[str, Any]) -> str:
    """The Spanish beside an English message: there, and not the English again."""
    localized = said.get("localized")
    assert localized is not None and localized["language"] == "es", said
    assert localized["message"] and localized["message"] != said["message"], said
    return str(localized["message"])


def test_a_selection_names_the_households_its_limit_left_out(client: TestClient, world: World,
                                                             session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    place = "Estación Migratoria Límite"
    family = [api.ready_case(held_at=place, household_reference="FAM-LIM-1")["reference"] for _ in range(3)]
    flight = api.flight()["reference"]
    path = f"/api/v1/flights/{flight}/selection"
    body = {"filter": {"held": "migratoria límite"}, "limit": 2}

    preview = ok(_post(api, "inm.officer", path, {**body, "dry_run": True}))
    assert (preview["done"], preview["refused"], preview["would_apply"]) == (0, 0, False), preview
    (left,) = preview["left_off"]
    assert left["subject"] == "FAM-LIM-1", preview
    assert "people it would add: 3" in left["message"] and "(limit: 2)" in left["message"], left
    assert left.get("localized") is None

    spanish = ok(_post(api, "inm.officer", path, {**body, "dry_run": True}, SPANISH))
    (left,) = spanish["left_off"]
    assert "personas que añadiría: 3" in _spanish(left) and "(límite: 2)" in _spanish(left), left

    # Confirmed, it writes nothing and still says why.
    confirmed = ok(_post(api, "inm.officer", path, body))
    assert confirmed["done"] == 0 and [item["subject"] for item in confirmed["left_off"]] == ["FAM-LIM-1"]
    with session_factory() as session:
        case_ids = sa.select(Case.id).where(Case.reference.in_(family))
        assert session.execute(sa.select(sa.func.count()).select_from(Passenger)
                               .where(Passenger.case_id.in_(case_ids))).scalar_one() == 0

    # With room for the whole household, it goes and nothing is left out.
    whole = ok(_post(api, "inm.officer", path, {**body, "limit": 3}))
    assert whole["done"] == 1 and whole["left_off"] == [], whole


def test_households_the_selection_refuses_leave_their_room_to_the_next(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 74, F1: the people of households the safeguards refused were counted against the limit, so a
    household further down was 'left out for want of room' while the flight had room and nobody was added."""
    api = Api(client, world)
    place = "Estación Migratoria Sitio"
    longest = (date.today() - timedelta(days=90)).isoformat()
    # Detained longest, so tried first: two ready members and one not ready, which family unity refuses.
    blocked = [api.ready_case(held_at=place, household_reference="FAM-SITIO-1", detained_since=longest)["reference"]
               for _ in range(2)]
    api.register(household_reference="FAM-SITIO-1", held_at="Otro lugar", detained_since=longest)
    fits = [api.ready_case(held_at=place, household_reference="FAM-SITIO-2")["reference"] for _ in range(2)]
    flight = api.flight()["reference"]
    path = f"/api/v1/flights/{flight}/selection"
    body = {"filter": {"held": "migratoria sitio"}, "limit": 2}

    preview = ok(api.post("inm.officer", path, {**body, "dry_run": True}))
    outcomes = {item["subject"]: item for item in preview["items"]}
    assert not outcomes["FAM-SITIO-1"]["done"], preview
    assert outcomes["FAM-SITIO-2"]["done"] and sorted(outcomes["FAM-SITIO-2"]["also"]) == sorted(fits), preview
    assert preview["left_off"] == [], preview
    done = ok(api.post("inm.officer", path, body))
    assert done["done"] == 1 and done["left_off"] == [], done
    assert _approvals(session_factory, flight) == dict.fromkeys(fits, "proposed"), blocked


def test_the_page_preview_names_the_households_its_limit_left_out(client: TestClient, world: World) -> None:
    api = Api(client, world)
    place = "Estación Migratoria Página"
    for _ in range(3):
        api.ready_case(held_at=place, household_reference="FAM-LIM-2")
    flight = api.flight()["reference"]
    login(client, "inm.officer")
    preview = post_form(client, f"/flights/{flight}/selection", {"q": "", "held": "migratoria página", "limit": "2"},
                        page=f"/flights/{flight}/add")
    assert preview.status_code == 200, preview.text
    assert "Fuera de la selección por el límite de personas" in preview.text, preview.text
    assert "hogar FAM-LIM-2 fuera de la selección: personas que añadiría: 3" in preview.text, preview.text
    # A household refused is named in a column that says it holds households (round 73, F5: 'Caso').
    api.ready_case(held_at="Estación Migratoria Mitad", household_reference="FAM-LIM-3")
    api.register(household_reference="FAM-LIM-3", held_at="Otro lugar")
    refused = post_form(client, f"/flights/{flight}/selection", {"q": "", "held": "migratoria mitad"},
                        page=f"/flights/{flight}/add")
    assert refused.status_code == 200 and "FAM-LIM-3" in refused.text, refused.text
    assert '<th scope="col">Hogar o caso</th>' in refused.text, refused.text


def test_a_refusals_details_are_in_the_language_asked_for(client: TestClient, world: World) -> None:
    api = Api(client, world)
    held = api.ready_case()["reference"]
    api.screen(held, ["pending_asylum_claim"])
    flight = api.flight()["reference"]
    body = {"cases": [held]}

    english = _post(api, "inm.officer", f"/api/v1/flights/{flight}/passengers", body)
    assert english.status_code == 409, english.text
    (detail,) = english.json()["error"]["details"]
    assert detail["rule"] == "non_refoulement" and "localized" not in detail, detail

    spanish = _post(api, "inm.officer", f"/api/v1/flights/{flight}/passengers", body, SPANISH)
    assert spanish.status_code == 409, spanish.text
    error = spanish.json()["error"]
    (detail,) = error["details"]
    assert detail["rule"] == "non_refoulement" and detail["message"] == english.json()["error"]["details"][0]["message"]
    # The detail's Spanish is the sentence the refusal's own Spanish says.
    assert _spanish(detail) in error["localized"]["message"], error


def test_a_bulk_actions_reasons_are_in_the_language_asked_for(client: TestClient, world: World,
                                                               session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    flight, refs = _proposed_manifest(api, 2)
    # A concern written straight to the table, behind the travel reaction: approval must still refuse it.
    _raise_concern_behind_the_guard(session_factory, world, refs[0])
    path = f"/api/v1/flights/{flight}/approvals"

    preview = ok(_post(api, "saime.officer", path, {"dry_run": True}, SPANISH))
    (refused,) = [item for item in preview["items"] if not item["done"]]
    (reason,) = refused["reasons"]
    assert reason["rule"] == "non_refoulement" and "evaluación de protección" in _spanish(reason), reason
    assert preview["blocking"] and len(preview["localized_blocking"]) == len(preview["blocking"]), preview
    assert all(es != en for es, en in zip(preview["localized_blocking"], preview["blocking"], strict=True))
    # The receiving state is told that screening is not cleared, in either language, never which concern.
    assert "asilo" not in str(preview) and "asylum" not in str(preview)

    english = ok(_post(api, "saime.officer", path, {"dry_run": True}))
    assert english.get("localized_blocking") is None
    assert all(reason["localized"] is None for item in english["items"] for reason in item["reasons"])


def test_a_plans_people_left_off_are_in_the_language_asked_for(client: TestClient, world: World) -> None:
    api = Api(client, world)
    refs = [api.ready_case(given_names=f"Viajero {i}")["reference"] for i in range(3)]
    # Room for one passenger: the planner leaves the others off, and says why.
    flight = api.flight(seats=12, escorts=10, medical_staff=1)["reference"]

    plan = ok(_post(api, "inm.officer", "/api/v1/plans", {"flights": [flight]}, SPANISH))
    left = [plan["left_off"][ref] for ref in refs if ref in plan["left_off"]]
    assert len(left) >= 2, plan
    for said in left:
        assert _spanish(said), said
    english = ok(_post(api, "inm.officer", "/api/v1/plans", {"flights": [flight]}))
    assert all(said["localized"] is None for said in english["left_off"].values()), english


def test_the_pages_selection_takes_a_limit_as_the_api_does_and_says_it(client: TestClient, world: World) -> None:
    """Red team round 75, F1: the page read a limit of '0', '-5', 'abc' or '99999' as none typed and previewed the
    flight's seats left, never saying which limit it used: one click filled the flight. Such a limit is refused, as
    the API refuses it, and the preview names the limit it used."""
    api = Api(client, world)
    api.ready_case(held_at="Estación Migratoria Tope")
    flight = api.flight()["reference"]
    login(client, "inm.officer")
    for typed in ("0", "-5", "abc", "1e3", "99999", "901"):
        refused = post_form(client, f"/flights/{flight}/selection", {"held": "migratoria tope", "limit": typed},
                            page=f"/flights/{flight}/add")
        assert refused.status_code == 422, (typed, refused.status_code)
        assert "el límite de personas es un número entero de 1 a 900" in refused.text, typed
        assert "Confirmar" not in refused.text, typed
    preview = post_form(client, f"/flights/{flight}/selection", {"held": "migratoria tope", "limit": "7"},
                        page=f"/flights/{flight}/add")
    assert preview.status_code == 200 and "Límite de personas de la selección: 7" in preview.text, preview.text
    default = post_form(client, f"/flights/{flight}/selection", {"held": "migratoria tope", "limit": ""},
                        page=f"/flights/{flight}/add")
    assert default.status_code == 200 and "Límite de personas de la selección: 169" in default.text, default.text


def test_the_pages_confirmation_names_the_rule_and_the_cases_it_cannot_take(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 75, F2 and F3: the confirmation of a selection, its hidden case list altered, refused a person
    held by an open concern as 'family unity, capacity' (the rest of the household was put forward without her), and
    dropped references it could not reach, answering '0 added'. It names the rule that stops the person chosen, and
    the references it cannot reach, as the ticked passengers' form and the API do."""
    api = Api(client, world)
    held = api.ready_case(household_reference="FAM-CONF-1", relationship_to_head="head")["reference"]
    child = api.ready_case(household_reference="FAM-CONF-1", relationship_to_head="child",
                           birth_date="2016-04-05")["reference"]
    api.screen(held, ["pending_asylum_claim"])
    flight = api.flight()["reference"]
    login(client, "inm.officer")
    path, page = f"/flights/{flight}/selection", f"/flights/{flight}/add"

    chosen = post_form(client, path, {"step": "confirm", "cases": [held]}, page=page)
    assert chosen.status_code == 303, chosen.text
    flash = client.get(chosen.headers["location"]).text
    assert "preocupación de protección" in flash, flash
    assert "Unidad familiar" not in flash and "Capacidad" not in flash, flash
    assert _approvals(session_factory, flight) == {}, child

    unknown = post_form(client, path, {"step": "confirm", "cases": ["MX-2026-00000000"]}, page=page)
    assert unknown.status_code == 404 and "MX-2026-00000000" in unknown.text, unknown.text
    theirs = api.ready_case(sender="ice.officer")["reference"]
    other = post_form(client, path, {"step": "confirm", "cases": [theirs]}, page=page)
    assert other.status_code == 404 and theirs in other.text, other.text
    assert _approvals(session_factory, flight) == {}
