"""A supervisor corrects which household a case belongs to (red team round 44b, F1: a child registered into the wrong
family had no door out but her record withdrawn and registered again; the wrong family then had to be split, which let
its own child be left behind, and the withdrawn record's automatic concern held her new one)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

CHILD = (date.today() - timedelta(days=8 * 365)).isoformat()
REASON = "registrada por error en el hogar de otra familia"


def _correct(api: Api, user: str, ref: str, body: dict[str, Any], *, etag: bool = True) -> Any:
    headers = dict(api.world.headers(user))
    if etag:
        headers["If-Match"] = api.get(user, f"/api/v1/cases/{ref}").headers["etag"]
    return api.client.post(f"/api/v1/cases/{ref}/household", json={"reason": REASON, **body}, headers=headers)


def _concerns(api: Api, ref: str) -> list[str]:
    return [c for s in ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings")) for c in s["concerns"]]


def test_a_child_in_the_wrong_household_is_moved_to_her_own_and_both_families_travel_whole(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    wrong = [api.ready_case(household_reference="HW44", relationship_to_head="head",
                            given_names="Wilmer")["reference"],
             api.ready_case(household_reference="HW44", relationship_to_head="spouse",
                            given_names="Wendy")["reference"],
             api.ready_case(household_reference="HW44", relationship_to_head="child", given_names="Carla",
                            birth_date=CHILD)["reference"]]
    mother = api.ready_case(household_reference="HR44", relationship_to_head="head", given_names="Rosa")["reference"]
    child = api.ready_case(household_reference="HW44", relationship_to_head="child", given_names="Karen",
                           birth_date=CHILD)["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother]}), 201)
    # An officer may not; nor without the version read; nor with no reason.
    assert _correct(api, "inm.officer", child, {"household": "HR44", "relationship_to_head": "child"}
                    ).status_code == 403
    assert _correct(api, "inm.supervisor", child, {"household": "HR44"}, etag=False).status_code == 428
    assert _correct(api, "inm.supervisor", child, {"household": "HR44", "relationship_to_head": "child",
                                                   "reason": " "}).status_code == 422
    moved = _correct(api, "inm.supervisor", child, {"household": "HR44", "relationship_to_head": "child"})
    assert moved.status_code == 200, moved.text
    # The household joined leaves its manifest, as when a newcomer joins it; nobody is named a separated child.
    assert moved.json()["taken_off_with"] == [mother] and moved.json()["household"] == "HR44"
    assert all(_concerns(api, ref) == [] for ref in [*wrong, mother, child])
    session.expire_all()
    (record,) = session.execute(sa.select(AuditRecord).where(
        AuditRecord.action == "case.household_corrected", AuditRecord.object_id == child)).scalars()
    assert (record.before, record.after, record.actor) == (
        {"household": "HW44", "relationship_to_head": "child"}, {"household": "HR44", "relationship_to_head": "child"},
        "inm.supervisor")
    # Each family travels whole, with no split written for either.
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mother, child]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": wrong}), 201)
    # A case on a manifest is taken off first; a head leaving members behind, or a second head, is refused.
    on_board = _correct(api, "inm.supervisor", child, {"household": "HW44", "relationship_to_head": "child"})
    assert on_board.status_code == 409 and on_board.json()["error"]["code"] == "household_correction_state"


def test_each_household_keeps_one_head_and_a_child_moved_away_from_every_adult_is_named(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    head = api.ready_case(household_reference="HX44", relationship_to_head="head", given_names="Hugo")["reference"]
    child = api.ready_case(household_reference="HX44", relationship_to_head="child", given_names="Iris",
                           birth_date=CHILD)["reference"]
    other = api.ready_case(household_reference="HY44", relationship_to_head="head", given_names="Olga")["reference"]
    for ref, body in ((head, {"household": "HZ44", "relationship_to_head": "head"}),
                      (other, {"household": "HX44", "relationship_to_head": "head"}),
                      (child, {"household": "HX44", "relationship_to_head": "head"})):
        refused = _correct(api, "inm.supervisor", ref, body)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "household_one_head", ref
    assert _correct(api, "inm.supervisor", child, {"household": "HX44", "relationship_to_head": "child"}
                    ).json()["error"]["code"] == "household_unchanged"
    # Another country's case is not this supervisor's to see, let alone correct.
    headers = {**api.world.headers("ice.supervisor"), "If-Match": api.get("inm.supervisor", f"/api/v1/cases/{child}")
               .headers["etag"]}
    assert api.client.post(f"/api/v1/cases/{child}/household", json={"household": "HY44", "reason": REASON},
                           headers=headers).status_code == 404
    # Out of every household, a child with no adult waiting is a separated child, named at once.
    alone = _correct(api, "inm.supervisor", child, {"household": None, "relationship_to_head": None})
    assert alone.status_code == 200, alone.text
    assert _concerns(api, child) == ["unaccompanied_child"]
    assert _concerns(api, head) == []


def test_the_case_page_offers_the_correction_to_its_agency_s_supervisor(client: TestClient, world: World) -> None:
    api = Api(client, world)
    api.ready_case(household_reference="HP44", relationship_to_head="head", given_names="Pilar")
    child = api.ready_case(household_reference="HQ44", relationship_to_head="head", given_names="Paula",
                           birth_date="1980-01-01")["reference"]
    login(client, "inm.officer")
    assert 'action="/cases/' + child + '/household"' not in client.get(f"/cases/{child}").text
    login(client, "inm.supervisor")
    page = client.get(f"/cases/{child}").text
    assert f'action="/cases/{child}/household"' in page and 'value="HQ44"' in page
    version = page.split('name="version" value="')[1].split('"')[0]
    refused = post_form(client, f"/cases/{child}/household", {"household": "HP44", "relationship_to_head": "head",
                                                              "reason": REASON, "version": version},
                        page=f"/cases/{child}")
    assert refused.status_code == 422 and "titulares" in refused.text
    done = post_form(client, f"/cases/{child}/household", {"household": "HP44", "relationship_to_head": "hermana",
                                                           "reason": REASON, "version": version},
                     page=f"/cases/{child}")
    assert done.status_code == 303, done.text
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["household"] == "HP44"


def test_a_household_is_split_by_its_own_agency_only_whatever_calls_the_service(
        client: TestClient, world: World, session: Session) -> None:
    """Every door finds the household among the supervisor's agency's own; the service itself refuses another
    agency's, before its version is looked at (a stale version named no change of another agency's household)."""
    from retorno.cases.models import Household
    from retorno.errors import Forbidden
    from retorno.flights.service import split_household

    api = Api(client, world)
    api.register(household_reference="HS46", relationship_to_head="head", given_names="Hilda")
    household = session.execute(sa.select(Household).where(Household.reference == "HS46")).scalar_one()
    bound = world.bind(session)
    for stale in (None, household.version + 7):
        try:
            split_household(session, bound.users["ice.supervisor"], household, reason=REASON, expected_version=stale)
        except Forbidden as refused:
            assert refused.code == "forbidden.household.split", refused.code
        else:
            raise AssertionError("another agency's supervisor split the household")
    session.rollback()


def test_a_case_waiting_does_not_join_a_household_that_boarded(client: TestClient, world: World) -> None:
    """Red team round 52, F2: a child corrected into a household whose members had arrived made it a household split
    across a flown flight with no supervisor's split (`retorno demo check`: families_on_flown_flights)."""
    api = Api(client, world)
    flown = [api.ready_case(household_reference="HF52", relationship_to_head="head", given_names="Ana"),
             api.ready_case(household_reference="HF52", relationship_to_head="spouse", given_names="Luis")]
    api.fly_to_arrival(flown)
    child = api.ready_case(given_names="Lía", birth_date=CHILD, household_reference="HW52",
                           relationship_to_head="head")["reference"]
    answer = _correct(api, "inm.supervisor", child, {"household": "HF52", "relationship_to_head": "child"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "household_boarded"
    assert ok(api.get("inm.officer", f"/api/v1/cases/{child}"))["household"] == "HW52"
