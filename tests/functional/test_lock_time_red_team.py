"""Red team against a running demo (SPEC.md 6, README "A locked manifest changes only with both sides"): from a
manifest's lock time on (`flights.service.manifest_locked`), locked or not, who is on it changes only with a
supervisor of each side, at every door, and the flight says its manifest is locked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused, state

NEEDS_BOTH = "locked_change_needs_both_sides"


def _aboard(api: Api, flight: str) -> list[str]:
    rows = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    return sorted(p["case"] for p in rows if p["approval"] in ("proposed", "approved"))


def _approved_not_locked(api: Api, refs: list[str], departure: datetime) -> str:
    """Proposed and approved two days before `departure`, locked by neither side."""
    with api.clock(departure - timedelta(days=2)):
        flight: str = api.flight(departure=departure)["reference"]
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
        for ref in refs:
            ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/decision", {"approve": True}))
    return flight


def test_past_the_lock_time_one_officer_cannot_reverse_an_approval(client: TestClient, world: World) -> None:
    api = Api(client, world)
    head = api.ready_case(household_reference="HOGAR-R1", relationship_to_head="head")
    child = api.ready_case(household_reference="HOGAR-R1", relationship_to_head="child", birth_date="2016-03-01")
    other = api.ready_case(given_names="Otro Viajero")
    refs = sorted([head["reference"], child["reference"], other["reference"]])
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    flight = _approved_not_locked(api, refs, departure)
    # Before the lock time the receiving side's answer is its own: reversing one approval is its normal work.
    with api.clock(departure - timedelta(days=2)):
        assert ok(api.get("saime.officer", f"/api/v1/flights/{flight}"))["manifest_state"] == "proposed"
    with api.clock(departure - timedelta(hours=12)):
        # Past the lock time the flight says so, whoever asks: the same rule as the one enforced.
        for user in ("inm.officer", "saime.officer"):
            assert ok(api.get(user, f"/api/v1/flights/{flight}"))["manifest_state"] == "locked"
        decision = f"/api/v1/flights/{flight}/passengers/{head['reference']}/decision"
        error = refused(api.post("saime.officer", decision, {"approve": False, "reason": "Documento de viaje dudoso."}),
                        409, NEEDS_BOTH)
        assert head["reference"] in str(error["message"]) and flight in str(error["message"])
        # The bulk door is the same door.
        bulk = api.post("saime.officer", f"/api/v1/flights/{flight}/rejections",
                        {"cases": [other["reference"]], "reason": "Documento de viaje dudoso."})
        assert bulk.status_code == 409 and NEEDS_BOTH in bulk.text, bulk.text
        assert _aboard(api, flight) == refs and state(api, head["reference"]) == "manifested"
        # A supervisor of each side agrees to removing each one the rejection takes off (the child leaves with her
        # father: red team round 19, T-F6): then the receiving side's rejection takes the household off.
        for member in (head, child):
            if member is child:
                rejected = api.post("saime.officer", decision, {"approve": False, "reason": "Acordado por las dos."})
                error = refused(rejected, 409, NEEDS_BOTH)
                assert child["reference"] in str(error["message"]), error
            for supervisor in ("inm.supervisor", "saime.supervisor"):
                ok(api.post(supervisor, f"/api/v1/flights/{flight}/locked-changes",
                            {"case": member["reference"], "reason": "Ambas partes acuerdan retirarlo."}), 201)
        decided = ok(api.post("saime.officer", decision, {"approve": False, "reason": "Acordado por ambas partes."}))
        assert sorted(decided["decided"]) == sorted([head["reference"], child["reference"]])
        assert _aboard(api, flight) == [other["reference"]]


def test_before_the_lock_time_a_rejection_answers_the_proposal(client: TestClient, world: World) -> None:
    api = Api(client, world)
    refs = sorted(api.ready_case(given_names=f"Viajera {n}")["reference"] for n in range(2))
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    flight = _approved_not_locked(api, refs, departure)
    with api.clock(departure - timedelta(days=2)):
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/decision",
                    {"approve": False, "reason": "Documento dudoso."}))
    assert _aboard(api, flight) == [refs[1]]


def test_no_one_side_empties_a_locked_manifest_days_ahead_by_a_no_show_or_refusal(
        client: TestClient, world: World) -> None:
    """Red team: on 30 Nov, for a flight departing 3 Dec, the sending side's supervisor recorded a no-show with a
    reason and the household left the locked manifest; the carrier's supervisor did the same with a refusal."""
    api = Api(client, world)
    family = [api.ready_case(household_reference="HOGAR-R2", relationship_to_head="head"),
              api.ready_case(household_reference="HOGAR-R2", relationship_to_head="spouse", given_names="Esposa")]
    other = api.ready_case(given_names="Otra Viajera")
    refs = sorted([c["reference"] for c in family] + [other["reference"]])
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    flight = api.build_manifest(refs, departure=departure)
    boarding = f"/api/v1/flights/{flight}/passengers/{{}}/boarding"
    why = "No se presentó en el centro de detención."
    with api.clock(departure - timedelta(days=2, hours=-1)):
        for user, status in (("inm.supervisor", "no_show"), ("carrier.supervisor", "refused"),
                             ("inm.supervisor", "boarded"), ("carrier.officer", "no_show")):
            refused(api.post(user, boarding.format(family[0]["reference"]), {"status": status, "reason": why}), 409,
                    "flow.boarding_window")
        bulk = api.post("carrier.supervisor", f"/api/v1/flights/{flight}/boardings",
                        {"cases": [other["reference"]], "reason": why})
        assert bulk.status_code == 409 and "flow.boarding_window" in bulk.text, bulk.text
        assert _aboard(api, flight) == refs and ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))["boarded"] == 0
    # At the door, once it opens, the same no-show is what it is: the household leaves, the other one flies.
    with api.clock(departure - timedelta(hours=5)):
        ok(api.post("inm.officer", boarding.format(other["reference"]), {"status": "boarded"}))
        ok(api.post("inm.supervisor", boarding.format(family[0]["reference"]), {"status": "no_show", "reason": why}))
    assert _aboard(api, flight) == [other["reference"]]
