"""Red team round 46b, F1 (high): two records of one person, of two agencies, were one person through the registry
record both were verified against; one held an open asylum claim, which held the other too. The receiving authority's
supervisor revoked either verification, and the other record was free at once: no possible duplicate, no alert, its
passport filed and the person put on a manifest while the claim was still open. A revocation undoes the registry link
as a withdrawn document undoes a document's: every record counted with another before is still counted with it,
as a possible duplicate supervisors decide (`travel.duplicates.keep_counted`)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import Api, World, ok, registry_record
from tests.functional.test_guarantees import refused

REASON = "Se verificó por error contra el registro de otra persona."
SAME = "El registro civil confirma que ambos expedientes son la misma persona con otro nombre."


def _one_person_two_records(api: Api) -> tuple[dict[str, object], dict[str, object]]:
    """A, INM's, verified against its record and then holding an open asylum claim; B, ICE's, another identity a
    supervisor verified against A's record (one person under another name), held by A's claim."""
    first = api.register(given_names="Rosa Elvira", first_surname="Quintana", second_surname="Salas",
                         birth_date="1990-02-02", sex="F", national_id=None)
    api.screen(str(first["reference"]))
    api.verify(str(first["reference"]))
    api.screen(str(first["reference"]), ["pending_asylum_claim"])
    second = api.register("ice.officer", given_names="Carlos Alberto", first_surname="Mendoza",
                          second_surname="Ruiz", birth_date="1975-07-07", sex="M", national_id=None,
                          agency_reference="ICE-RT46-B")
    api.screen(str(second["reference"]), user="ice.officer")
    request = ok(api.post("ice.officer", f"/api/v1/cases/{second['reference']}/verification-request"), 201)
    ok(api.post("saime.supervisor", f"/api/v1/cases/{second['reference']}/verification-decision",
                {"outcome": "verified", "request": request["request"],
                 "registry_record": registry_record(str(first["reference"])), "reason": SAME}), 201)
    return first, second


def _held(api: Api, case: dict[str, object]) -> None:
    """`case`, ICE's, can be put on no flight while the other record's claim is open, whatever is filed on it."""
    ref = str(case["reference"])
    api.passport_response(case, user="ice.officer")
    flight = api.flight(user="ice.officer")["reference"]
    error = refused(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 409, "")
    assert "protection concern" in str(error["message"]), error
    assert ok(api.get("ice.officer", f"/api/v1/flights/{flight}/passengers")) == []
    flagged = ok(api.get("ice.supervisor", f"/api/v1/cases/{ref}/possible-duplicates"))
    assert flagged, "the records counted as one person before the revocation are possible duplicates after it"


@pytest.mark.parametrize("revoked", ["first", "second"])
def test_a_revoked_verification_leaves_the_records_it_linked_counted_as_one_person(
        client: TestClient, world: World, revoked: str) -> None:
    api = Api(client, world)
    first, second = _one_person_two_records(api)
    before = api.flight(user="ice.officer")["reference"]
    refused(api.post("ice.officer", f"/api/v1/flights/{before}/passengers", {"cases": [second["reference"]]}), 409, "")
    target = first if revoked == "first" else second
    ok(api.post("saime.supervisor", f"/api/v1/cases/{target['reference']}/verification-revocation",
                {"reason": REASON}), 201)
    # ICE's record tells ICE a flag was written, not that the receiving authority's supervisor wrote it (red team
    # round 47a, F2): the state a claim may be against, acting on another record of its claimant.
    history = ok(api.get("ice.officer", f"/api/v1/cases/{second['reference']}/timeline"))
    flagged = [entry for entry in history if entry["action"] == "duplicate.flag"]
    assert flagged and {(entry["actor"], entry["agency"]) for entry in flagged} == {("another agency",) * 2}, flagged
    # Nor does a stale edit's refusal on it (red team round 48, F1: the 412 named saime.supervisor and the flag), when
    # the revocation was of the other record (the receiving authority's own step on ICE's record is ICE's to read).
    stale = client.patch(f"/api/v1/cases/{second['reference']}", json={"notes": "nota"},
                         headers={**world.headers("ice.officer"), "If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    told = stale.json()["error"]
    if revoked == "first":
        assert "saime" not in stale.text.lower() and told["details"]["changed_by"] == "another agency", told
    if revoked == "second":
        # Decided again against another record (a supervisor's, the person's other record being verified elsewhere).
        request = api.open_request(str(second["reference"]))
        answer = api.post("saime.supervisor", f"/api/v1/cases/{second['reference']}/verification-decision",
                          {"outcome": "verified", "request": request, "registry_record": "40999888", "reason": SAME})
        assert answer.status_code in (201, 409), answer.text
    _held(api, second)
