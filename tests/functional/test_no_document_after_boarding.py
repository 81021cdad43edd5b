"""Red team round 28b, F2 (medium-high): a passport filed on a passenger aboard a departed flight was taken (201, valid)
and became the document on file: the manifest, the carrier's passenger list and the PAXLST named it instead of the
passport she was approved and boarded with, and that one could then be withdrawn; the same on an arrived case, by the
sending side (whose PATCH is refused there) and by the receiving authority, which then withdrew the emergency document
the person had travelled on. Once a person boarded, the document they boarded with is the record of their journey: no
other is filed, by any agency, and it stays withdrawable by none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok


def _documents(api: Api, reference: str) -> list[tuple[str, bool]]:
    return [(d["number"], d["withdrawn"]) for d in ok(api.get("inm.officer", f"/api/v1/cases/{reference}/documents"))]


def _documents_told(api: Api, flight: str) -> list[str]:
    """The document segments of the carrier's PAXLST (its interchange references are drawn anew each time)."""
    answer = api.get("carrier.officer", f"/api/v1/flights/{flight}/paxlst")
    assert answer.status_code == 200, answer.text
    text = answer.text
    return [segment for segment in text.split("'") if segment.startswith("DOC+")]


def test_no_document_is_filed_once_the_person_boarded(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case(given_names="Yelitza Carolina", first_surname="Manrique")
    reference = case["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([reference], departure=departure)
    with api.clock(departure - timedelta(minutes=50)):
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{reference}/boarding", {"status": "boarded"}))
    before = _documents(api, reference)
    paxlst = _documents_told(api, flight)
    for user in ("inm.officer", "inm.supervisor", "saime.officer"):
        refused = api.passport_response(case, user=user)
        assert refused.status_code == 409, (user, refused.text)
        assert refused.json()["error"]["code"] == "document_travelled", refused.text
    assert _documents(api, reference) == before
    assert _documents_told(api, flight) == paxlst and before[0][0] in paxlst[0], paxlst


def test_no_document_is_filed_once_the_person_arrived(client: TestClient, world: World) -> None:
    api = Api(client, world)
    (case,) = api.arrive(1, name="Llegada Documento")
    before = _documents(api, case["reference"])
    for user in ("inm.officer", "saime.officer"):
        refused = api.passport_response(case, user=user)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "document_travelled", refused.text
    assert _documents(api, case["reference"]) == before
