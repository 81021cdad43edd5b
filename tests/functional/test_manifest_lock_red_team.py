"""Red team (SPEC.md 6 "Bilateral approval"): the sending side proposes, the receiving side decides every passenger,
then the manifest locks. One side's lock never pre-empts the receiving side's decisions; a second lock says the
manifest is already locked, by whom and when; the inbox never asks anyone to lock a locked manifest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused


def _proposed(api: Api, refs: list[str], departure: datetime) -> str:
    flight: str = api.flight(departure=departure)["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    return flight


def _to_lock(api: Api, user: str) -> list[str]:
    kinds = {k["kind"]: k for k in ok(api.get(user, "/api/v1/inbox"))["kinds"]}
    return [i["reference"] for i in kinds.get("manifests_to_lock", {"items": []})["items"]]


def test_no_side_locks_a_manifest_before_the_receiving_side_decided_every_passenger(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    refs = sorted(api.ready_case(given_names=f"Persona {n}")["reference"] for n in range(3))
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    with api.clock(departure - timedelta(days=2)):
        flight = _proposed(api, refs, departure)
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/decision", {"approve": True}))
        for user in ("inm.officer", "saime.officer"):
            error = refused(api.post(user, f"/api/v1/flights/{flight}/manifest/lock"), 409, "undecided_passengers")
            assert "every passenger" in error["message"] and "2 await a decision" in error["message"], error
        assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))["manifest_state"] == "proposed"
        for ref in refs[1:]:
            ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/decision", {"approve": True}))
        assert _to_lock(api, "inm.officer") == [flight] == _to_lock(api, "saime.officer")
        # The sending side locks once every passenger is decided; the receiving side's lock then says so.
        locked = ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/lock"))
        assert (locked["state"], locked["manifest_state"]) == ("manifest_locked", "locked")
        error = refused(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"), 409,
                        "manifest_already_locked")
        assert "already locked" in error["message"] and "inm.officer" in error["message"], error
        # Neither side's inbox asks for the lock again.
        assert _to_lock(api, "inm.officer") == [] == _to_lock(api, "saime.officer")
        # A rejection now is told the way a locked manifest changes (red team: it pointed nowhere).
        error = refused(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/decision",
                                 {"approve": False, "reason": "Ya no viaja en este vuelo."}), 409, "invalid_transition")
        assert "a supervisor of each side approves it first" in error["message"], error


def test_a_manifest_past_its_lock_time_that_no_side_locked_stays_in_both_inboxes_until_locked(
        client: TestClient, world: World) -> None:
    """Its lock time holds every change (the manifest reads 'locked'), but the door opens on a manifest a side
    has locked: left out of every queue (as it was), the flight could be neither boarded nor found."""
    api = Api(client, world)
    ref = api.ready_case()["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    with api.clock(departure - timedelta(days=2)):
        flight = _proposed(api, [ref], departure)
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/decision", {"approve": True}))
        assert _to_lock(api, "saime.officer") == [flight]
    with api.clock(departure - timedelta(hours=1)):
        assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))["manifest_state"] == "locked"
        assert _to_lock(api, "inm.officer") == [flight] == _to_lock(api, "saime.officer")
        kinds = {k["kind"]: k for k in ok(api.get("inm.officer", "/api/v1/inbox"))["kinds"]}
        assert kinds["manifests_to_lock"]["items"][0]["note"] == "lock_time_passed"
        error = refused(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding",
                                 {"status": "boarded"}), 409, "manifest_not_locked")
        assert "neither side has locked" in error["message"], error
        locked = ok(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"))
        assert locked["state"] == "manifest_locked"
        assert _to_lock(api, "inm.officer") == [] == _to_lock(api, "saime.officer")
        ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding", {"status": "boarded"}))


def test_an_empty_manifest_is_not_locked(client: TestClient, world: World) -> None:
    """Red team: the only passenger was taken off (a new passport filed) and the empty manifest still locked,
    leaving a flight only both sides together could cancel."""
    api = Api(client, world)
    ref = api.ready_case()["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    with api.clock(departure - timedelta(days=2)):
        flight = _proposed(api, [ref], departure)
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/decision",
                    {"approve": False, "reason": "No cabe en este vuelo."}))
        for user in ("inm.officer", "saime.officer"):
            error = refused(api.post(user, f"/api/v1/flights/{flight}/manifest/lock"), 409, "manifest_empty")
            assert "no approved passenger" in error["message"], error
        assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))["state"] == "accepted"
