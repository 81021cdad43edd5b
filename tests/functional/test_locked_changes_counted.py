"""The monitors' count of changes to locked manifests counts the people taken off one by a change of it, whatever the
change (red team round 76, F1: it counted the supervisors' consents, two for one removal and two more for a removal
then refused, while a revocation taking someone off a locked manifest counted nowhere). A protection pull is counted
as such, not here, and so is nobody the door leaves behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused


def _changes(api: Api) -> int:
    return int(ok(api.get("monitor.officer", "/api/v1/reports/dashboard"))["safeguard_exceptions"][
        "locked_manifest_changes"])


def test_removals_from_a_locked_manifest_are_counted_not_the_consents(client: TestClient, world: World) -> None:
    api = Api(client, world)
    removed, revoked, pulled, stays = (api.ready_case(given_names=n)["reference"]
                                       for n in ("Ana", "Berta", "Carla", "Dora"))
    flight = api.build_manifest([removed, revoked, pulled, stays],
                                departure=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=47))
    assert _changes(api) == 0
    consent = {"case": removed, "reason": "Enfermedad repentina certificada."}
    ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/locked-changes", consent), 201)
    remove = f"/api/v1/flights/{flight}/passengers/{removed}/remove"
    # One side's consent: refused, nobody taken off, nothing counted.
    refused(api.post("inm.officer", remove, {"reason": "Enfermedad súbita."}), 409, "locked_change_needs_both_sides")
    assert _changes(api) == 0
    ok(api.post("saime.supervisor", f"/api/v1/flights/{flight}/locked-changes", consent), 201)
    assert _changes(api) == 0
    ok(api.post("inm.officer", remove, {"reason": "Enfermedad súbita."}))
    assert _changes(api) == 1
    # A revocation takes the person off the locked manifest at once, with no consent: a change all the same.
    ok(api.post("saime.supervisor", f"/api/v1/cases/{revoked}/verification-revocation",
                {"reason": "Se verificó por error contra el registro de otra persona."}), 201)
    assert _changes(api) == 2
    # A protection pull is counted as one (to those who may read it), not as a change of the manifest.
    api.screen(pulled, ["pending_asylum_claim"])
    passengers = {p["case"]: p["approval"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))}
    assert pulled not in passengers and passengers[stays] == "approved", passengers
    assert _changes(api) == 2
    assert ok(api.get("monitor.officer", "/api/v1/reports/dashboard"))["safeguard_exceptions"][
        "protection_pulls"] >= 1
