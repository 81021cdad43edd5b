"""Red team (medium, M5): a minor registered alone and screened with no concern went on to 'ready'.

Safeguard 2 from the screening on: a minor with no adult of their household waiting with them is an unaccompanied
child. Their screening names the concern, unless a best-interests determination is recorded; and when a change
leaves a screened minor so (the last adult withdrawn, found not a national, a no-show at the door, arrived while
the minor stays; a birth date corrected into a minor's), the concern is recorded in the same transaction, by the
official who made the change, and pulls the minor back from 'ready' and off every manifest as any concern does.
`retorno demo check` (`minors_with_an_adult`) asks the same from the screening on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight

MINOR = date(date.today().year - 6, 5, 5).isoformat()
ADULT = "1985-02-02"


def _state(api: Api, ref: str) -> str:
    return str(ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"])


def _raised(api: Api, ref: str) -> list[dict[str, Any]]:
    """The case's screenings that named the unaccompanied-child concern, as a supervisor reads them."""
    return [s for s in ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings"))
            if "unaccompanied_child" in s["concerns"]]


def _screened_by(api: Api, ref: str) -> list[str]:
    """Who recorded each screening of the case, from its timeline."""
    return [e["actor"] for e in ok(api.get("inm.officer", f"/api/v1/cases/{ref}/timeline"))
            if e["action"] == "screening.record"]


def _family(api: Api, household: str, *, ready: bool = True, minors: int = 1) -> tuple[str, list[str]]:
    """An adult heading `household` and its minors, screened with no concern (the adult waits with them), and
    taken to 'ready' if asked."""
    adult = api.register(household_reference=household, birth_date=ADULT, given_names="Adulta")
    # Twins have names of their own: two of one birth date named alike are possible duplicates of each other.
    children = [api.register(household_reference=household, birth_date=MINOR, given_names=name)
                for name in ("Valentina", "Camila", "Daniela")[:minors]]
    for case in (adult, *children):
        api.screen(case["reference"])
        if ready:
            api.verify(case["reference"])
            assert api.passport(case)["case_state"] == "ready"
    return adult["reference"], [c["reference"] for c in children]


def test_a_minor_alone_is_screened_as_an_unaccompanied_child(client: TestClient, world: World) -> None:
    api = Api(client, world)
    child = api.register(birth_date=MINOR)["reference"]
    refused = api.post("inm.officer", f"/api/v1/cases/{child}/screenings", {"concerns": []})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "safeguard.children"
    assert _state(api, child) == "registered"
    ok(api.post("inm.officer", f"/api/v1/cases/{child}/screenings", {"concerns": ["unaccompanied_child"]}), 201)
    assert _state(api, child) == "screened"
    # A household of minors alone is no adult either; a best-interests determination lets the screening say none.
    sister, brother = (api.register(household_reference="FAM-SOLOS", birth_date=MINOR, given_names=name)["reference"]
                       for name in ("Hermana", "Hermano"))
    assert api.post("inm.officer", f"/api/v1/cases/{sister}/screenings",
                    {"concerns": []}).json()["error"]["code"] == "safeguard.children"
    ok(api.post("inm.supervisor", f"/api/v1/cases/{brother}/best-interests",
                {"summary": "Evaluación con la familia receptora.", "receiving_guardian": "CPNNA Caracas"}), 201)
    api.screen(brother)
    assert _state(api, brother) == "screened"


def test_the_last_adult_withdrawn_leaves_an_unaccompanied_child(client: TestClient, world: World) -> None:
    """With an adult of the household waiting a minor is screened as any case; the adult's withdrawal records the
    concern on the minor, by the withdrawing officer, and takes her back from 'ready'. No best-interests determination
    recorded while the adult waited covers the separation made later (red team round 67, F2): none is recorded then."""
    api = Api(client, world)
    adult, (child, other) = _family(api, "FAM-NINO", minors=2)
    refused = api.post("inm.supervisor", f"/api/v1/cases/{other}/best-interests",
                       {"summary": "Evaluación con la familia receptora.", "receiving_guardian": "CPNNA Caracas"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "best_interests_accompanied"
    assert _raised(api, child) == []
    ok(api.post("inm.officer", f"/api/v1/cases/{adult}/withdraw", {"reason": "Liberada por orden judicial."}))
    raised = _raised(api, child)
    assert len(raised) == 1 and f"case {adult} is now 'withdrawn'" in raised[0]["notes"], raised
    assert _screened_by(api, child) == ["inm.officer", "inm.officer"]
    assert _state(api, child) == "documented"
    assert (len(_raised(api, other)), _state(api, other)) == (1, "documented")
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [child]})
    assert refused.status_code == 409, refused.text


def test_an_adult_found_not_a_national_leaves_an_unaccompanied_child(client: TestClient, world: World) -> None:
    api = Api(client, world)
    adult, (child,) = _family(api, "FAM-NN", ready=False)
    request = ok(api.post("inm.officer", f"/api/v1/cases/{adult}/verification-request"), 201)["request"]
    ok(api.post("saime.officer", f"/api/v1/cases/{adult}/verification-decision",
                {"outcome": "rejected", "request": request, "reason": "Sin registro en el registro civil."}), 201)
    assert _state(api, adult) == "not_national"
    assert len(_raised(api, child)) == 1
    assert _screened_by(api, child) == ["inm.officer", "saime.officer"]
    assert _state(api, child) == "screened"


def test_an_adult_missing_at_the_door_leaves_an_unaccompanied_child_off_the_flight(client: TestClient,
                                                                                   world: World) -> None:
    """The no-show takes the household off the locked manifest, each member once, and the minor it leaves alone
    is an unaccompanied child: back to 'documented', not 'ready' for the next flight."""
    api = Api(client, world)
    adult, (child,) = _family(api, "FAM-PUERTA")
    flight = locked_flight(api, [adult, child])
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{adult}/boarding", {"status": "no_show"}))
    assert (_state(api, adult), _state(api, child)) == ("no_show", "documented")
    assert len(_raised(api, child)) == 1
    kinds = {k["kind"]: k for k in ok(api.get("inm.officer", "/api/v1/inbox?limit=100"))["kinds"]}
    alerts = kinds["alerts"]
    assert alerts["total"] == 2 and {i["reference"]: i["note"] for i in alerts["items"]} == {
        adult: "no_show", child: "no_show"}, alerts


def test_a_household_boards_one_by_one_and_a_minor_left_behind_is_raised_on_arrival(client: TestClient,
                                                                                    world: World) -> None:
    """An adult at the aircraft's door still waits with the minors (a household boards one by one): flying together
    raises nothing. A minor a supervisor's split leaves behind is an unaccompanied child once her last adult went on a
    manifest (red team round 14, L2; it was once the adult arrived), raised once."""
    api = Api(client, world)
    together_adult, (together_child,) = _family(api, "FAM-JUNTOS")
    api.fly_to_arrival([{"reference": together_adult}, {"reference": together_child}])
    assert _raised(api, together_child) == []
    assert _state(api, together_child) == "arrived"

    adult, (child,) = _family(api, "FAM-SEPARADA")
    ok(api.post("inm.supervisor", "/api/v1/households/FAM-SEPARADA/split",
                {"reason": "La madre viaja primero; la niña espera su audiencia."}), 201)
    departure = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    flight = api.build_manifest([adult], departure=departure)
    assert (len(_raised(api, child)), _state(api, child)) == (1, "documented")
    with api.clock(departure - timedelta(hours=1)):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{adult}/boarding", {"status": "boarded"}))
    with api.clock(departure):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/depart"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/landing"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{adult}/arrival"))
    assert len(_raised(api, child)) == 1
    assert _state(api, child) == "documented"


def test_a_birth_date_corrected_into_a_minors_leaves_the_household_without_an_adult(client: TestClient,
                                                                                    world: World) -> None:
    api = Api(client, world)
    adult, (child,) = _family(api, "FAM-EDAD", ready=False)
    sixteen = date(date.today().year - 16, 1, 1).isoformat()
    ok(api.patch("inm.officer", f"/api/v1/cases/{adult}", {"birth_date": sixteen}))
    assert len(_raised(api, child)) == 1
    assert len(_raised(api, adult)) == 1
    # Someone registered alone, screened as an adult, is a lone minor once the date is corrected.
    alone = api.register(birth_date=ADULT, given_names="Sola")["reference"]
    api.screen(alone)
    ok(api.patch("inm.officer", f"/api/v1/cases/{alone}", {"birth_date": MINOR}))
    assert len(_raised(api, alone)) == 1
