"""Red team round 14, L2: a child held back by a screening concern (medical_condition) got no unaccompanied-child
concern when, the household split by a supervisor, her only adult went on a manifest; once the concern was resolved
she was `ready` alone.

A minor of the household waiting off every manifest (held by a concern, or not yet ready) whom no adult of the
household stays with any longer, because the last such adult went on a manifest, gets the unaccompanied-child concern
in that transaction, by the official whose act left her so, as a minor staying behind does (round 13, F7): at every
door that puts people on a manifest (API, bulk selection, a plan applied, the page, the command line), all through
`flights.service.add_passengers`. A household manifested together, in one request, leaves nobody behind, whatever
order it is listed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import Result

from tests.factories import Api, World, ok
from tests.functional.test_cli_refusals_told import cli  # noqa: F401 -- the fixture: flight commands
from tests.web.pages_helpers import login, post_form

EIGHT = date(date.today().year - 8, 4, 4).isoformat()
SPLIT = "La madre viaja; la niña queda en tratamiento médico con protección de la infancia."


def _raised(api: Api, ref: str) -> list[dict[str, Any]]:
    return [s for s in ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings"))
            if "unaccompanied_child" in s["concerns"]]


def _family(api: Api, household: str) -> tuple[str, str, str]:
    """Head Marisol and Valentina, eight, both ready and on a draft flight."""
    mother = api.register(household_reference=household, given_names="Marisol", first_surname="Rangel",
                          second_surname="Ochoa", birth_date="1988-05-05", relationship_to_head="head")
    child = api.register(household_reference=household, given_names="Valentina", first_surname="Rangel",
                         second_surname="Ochoa", birth_date=EIGHT, relationship_to_head="child")
    for case in (mother, child):
        api.screen(case["reference"])
        api.verify(case["reference"])
        assert api.passport(case)["case_state"] == "ready"
    flight = api.flight()["reference"]
    return mother["reference"], child["reference"], flight


def _held_back(api: Api, mother: str, child: str, flight: str, household: str) -> None:
    """Both on the flight; the child's medical concern takes both off; the mother alone is refused; a supervisor
    splits the household."""
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother, child]}), 201)
    api.screen(child, ["medical_condition"])
    assert ok(api.get("inm.officer", f"/api/v1/cases/{mother}"))["state"] == "ready"
    alone = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother]})
    assert alone.status_code == 409 and alone.json()["error"]["code"] == "safeguard.family_unity", alone.text
    assert _raised(api, child) == []
    ok(api.post("inm.supervisor", f"/api/v1/households/{household}/split", {"reason": SPLIT}), 201)


@pytest.mark.parametrize("door", ["api", "selection", "plan", "page", "cli"])
def test_a_child_held_back_gets_the_concern_when_her_last_adult_is_manifested(
        client: TestClient, world: World, cli: Callable[..., Result], door: str) -> None:  # noqa: F811
    api = Api(client, world)
    household = f"RT14-L2-{door}"
    mother, child, flight = _family(api, household)
    _held_back(api, mother, child, flight, household)
    if door == "api":
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother]}), 201)
    elif door == "selection":
        added = ok(api.post("inm.officer", f"/api/v1/flights/{flight}/selection", {"filter": {}}))
        assert mother in str(added), added
    elif door == "plan":
        ok(api.post("inm.officer", "/api/v1/plans/apply", {"manifests": {flight: [mother]}}))
    elif door == "page":
        login(client, "inm.officer")
        page = post_form(client, f"/flights/{flight}/passengers", {"cases": mother}, page=f"/flights/{flight}")
        assert page.status_code == 303, page.text
    else:
        result = cli("flights", "add", flight, mother, "--as", "inm.officer")
        assert result.exit_code == 0, result.output
    assert ok(api.get("inm.officer", f"/api/v1/cases/{mother}"))["state"] == "manifested"
    raised = _raised(api, child)
    assert len(raised) == 1 and f"case {mother} is now 'manifested'" in raised[0]["notes"], raised
    # Her medical concern resolved, she is still held: the unaccompanied-child concern is open (a supervisor answers
    # it, with a best-interests determination for her to travel).
    ok(api.post("inm.supervisor", f"/api/v1/cases/{child}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "tratamiento concluido", "concerns": ["medical_condition"]}))
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["state"] != "ready"


@pytest.mark.parametrize("order", ["mother_first", "child_first"])
def test_a_household_manifested_together_leaves_nobody_behind(client: TestClient, world: World, order: str) -> None:
    """One request seats the whole household before anyone's step: the minor listed after her mother is no child
    left behind, split household or not."""
    api = Api(client, world)
    household = f"RT14-L2-together-{order}"
    mother, child, flight = _family(api, household)
    ok(api.post("inm.supervisor", f"/api/v1/households/{household}/split", {"reason": SPLIT}), 201)
    cases = [mother, child] if order == "mother_first" else [child, mother]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": cases}), 201)
    assert _raised(api, child) == []
    assert {ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] for ref in (mother, child)} == {"manifested"}
