"""Red team round 54, F2 (medium): `retorno demo check` named two valid emergency documents held by "one person" where
the records were only possibly one: INM's two records, each issued one, made alike through ICE's record (alike to
the first, the cédula of the second). The product supersedes a document when records are linked as one person, never
on an undecided possible duplicate (they may be two people); the one-seat rule keeps one of them off every flight
until a supervisor decides. The check now reads the rule as the product keeps it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.demo.check import check_demo
from tests.factories import Api, World, ok

FIRST = {"given_names": "Paloma", "first_surname": "Cedeño", "second_surname": "Benavides", "sex": "F",
         "birth_date": "1995-01-16", "national_id": "V15440001"}
SECOND = {"given_names": "Custodia", "first_surname": "Sánchez", "second_surname": "Mora", "sex": "F",
          "birth_date": "1971-06-30", "national_id": "V15440002"}


def test_records_only_alike_keep_their_documents_and_the_check_agrees(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    first, second = api.ready_case(**FIRST)["reference"], api.ready_case(**SECOND)["reference"]
    issued = [ok(api.post("saime.officer", f"/api/v1/cases/{ref}/emergency-document"), 201) for ref in (first, second)]
    api.register("ice.officer", **{**FIRST, "birth_date": "1995-01-17", "national_id": SECOND["national_id"]})
    for ref, document in zip((first, second), issued, strict=True):
        listed = ok(api.get("inm.officer", f"/api/v1/cases/{ref}/documents"))
        assert [d["valid"] for d in listed if d["number"] == document["number"]] == [True], listed
    assert check_demo(session).problems("one_emergency_document") == []
    # ... and only one of them may hold a seat until a supervisor decides.
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [first]}), 201)
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [second]})
    assert refused.status_code == 409 and "one_seat" in refused.text, refused.text
