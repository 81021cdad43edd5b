"""Red team round 72, F2 (low): the audit record of a withdrawn passenger's removal from a manifest had no `before`,
where every other removal says the state the case left in (SPEC.md 4.7: before and after)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok


def test_a_withdrawals_removal_from_the_manifest_records_the_state_it_leaves(client: TestClient,
                                                                             world: World) -> None:
    api = Api(client, world)
    case = api.ready_case(given_names="Retirada")["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case]}), 201)
    ok(api.post("inm.officer", f"/api/v1/cases/{case}/withdraw", {"reason": "Retiro voluntario por escrito."}))
    timeline = ok(api.get("inm.supervisor", f"/api/v1/cases/{case}/timeline"))
    entries = timeline["entries"] if isinstance(timeline, dict) else timeline
    removed = [e for e in entries if e["action"] == "manifest.removed"]
    assert len(removed) == 1 and removed[0]["before"] == {"state": "manifested"}, removed
    assert removed[0]["after"]["flight"] == flight
    assert [e["before"] for e in entries if e["action"] == "case.withdrawn"] == [{"state": "manifested"}]
