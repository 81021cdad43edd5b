"""Red team round 89, L1 (low): an agency's own reference matched in its letters' case. A re-import row `inm-002370`
registered a second case of the person beside `INM-002370` instead of updating it, and one file holding `RT89-N2` and
`rt89-n2` made two cases with no word. References are now stored and looked up with their letters in capitals at every
door (`identifiers.reference`): a case's own reference and a household's code, as an opportunity's already was."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case, Household
from tests.edit_helpers import OPPORTUNITY
from tests.factories import Api, World, case_payload, ok
from tests.functional.test_guarantees import refused
from tests.functional.test_import_api import HEADER


def _import(client: TestClient, world: World, rows: str) -> object:
    return client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                       files={"file": ("lista.csv", (HEADER + rows).encode(), "text/csv")})


def test_a_reference_typed_in_small_letters_is_the_reference_in_capitals_at_every_door(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = api.register(agency_reference="rt89-l1", household_reference="h-rt89", birth_date="1984-02-11")
    assert (case["agency_reference"], case["household"]) == ("RT89-L1", "H-RT89")
    # The API: the same reference in other letters is the case registered.
    refused(api.post("inm.officer", "/api/v1/cases", case_payload(agency_reference="Rt89-L1")), 422,
            "duplicate_reference")
    # The import: a row in small letters updates the case, and creates none.
    row = (f"rt89-l1,h-rt89,{case['given_names']},{case['first_surname']},{case['second_surname'] or ''},"
           f"{case['sex']},1984-02-11,VEN,,Tapachula,TAP,{case['detained_since']}\n")
    before = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    again = _import(client, world, row.replace("Tapachula", "Tuxtla"))
    assert again.status_code == 201, again.text  # type: ignore[attr-defined]
    answer = again.json()  # type: ignore[attr-defined]
    assert (answer["created"], answer["updated"]) == (0, 1), answer
    session.expire_all()
    assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == before
    assert ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}"))["held_at"] == "Tuxtla"
    # The household by its code in any letters.
    assert ok(api.get("inm.officer", "/api/v1/households/h-RT89"))["household"] == "H-RT89"
    assert session.execute(sa.select(Household.reference).where(Household.reference.like("%RT89%"))).scalars().all() \
        == ["H-RT89"]


def test_one_file_holding_a_reference_in_two_cases_of_letters_is_refused_at_the_second(
        client: TestClient, world: World, session: Session) -> None:
    before = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    answer = _import(client, world, "RT89-N2,,Uno,Quintero,Salas,M,1980-02-11,VEN,,Tapachula,TAP,2026-11-01\n"
                                    "rt89-n2,,Dos,Quintero,Salas,M,1970-02-11,VEN,,Tapachula,TAP,2026-11-01\n")
    assert answer.status_code == 422, answer.text  # type: ignore[attr-defined]
    details = answer.json()["error"]["details"]  # type: ignore[attr-defined]
    assert [(detail["row"], detail["column"]) for detail in details] == [(3, "referencia")], details
    assert "fila 2" in details[0]["expected"], details
    session.expire_all()
    assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == before


def test_a_case_flight_or_opportunity_named_in_small_letters_in_a_path_is_found(
        client: TestClient, world: World) -> None:
    """Red team round 91, F9 (low): the service's own references (a case's, a flight's, an opportunity's) were found
    in an API path only in capitals: `mx-2026-…` answered 404, where the agency's own reference is found in any
    letters."""
    api = Api(client, world)
    case = api.ready_case()
    flight = api.flight()
    opportunity = ok(api.post("op.officer", "/api/v1/opportunities", OPPORTUNITY), 201)
    for user, path, reference in (("inm.officer", "/api/v1/cases/", case["reference"]),
                                  ("inm.officer", "/api/v1/flights/", flight["reference"]),
                                  ("op.officer", "/api/v1/opportunities/", opportunity["reference"])):
        assert reference != reference.lower()
        found = ok(api.get(user, path + reference.lower()))
        assert found["reference"] == reference, found
    ok(api.post("inm.officer", f"/api/v1/flights/{flight['reference'].lower()}/passengers",
                {"cases": [case["reference"].lower()]}), 201)
