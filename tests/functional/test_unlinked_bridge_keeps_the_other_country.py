"""Red team round 47a, F1 (high): A (ICE's record, an open asylum claim) was linked to B (INM's) by a cédula, and B to C
(INM's, another name) by a document number; C was held by A's claim through B. INM corrected C's number (or withdrew
the document), which wrote one possible duplicate, C / B, both INM's records: one INM supervisor said "different
people", and C was manifested and approved with A's claim open, ICE never asked nor told. A link undone keeps each
record counted with the records of every country it was counted with, each by a possible duplicate of its own:
"different people" across countries stays each agency's word."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import Api, World, ok, registry_record
from tests.functional.test_declared_document_link import HEADER, _reference
from tests.functional.test_guarantees import refused


def _import(client: TestClient, world: World, row: str) -> None:
    """One row of INM's case list (`HEADER`)."""
    upload = {"file": ("lista.csv", (HEADER + row + ",Tapachula,TAP,2026-11-01\n").encode(), "text/csv")}
    ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")), 201)


DIFFERENT = {"decision": "different_people", "reason": "personas distintas, número de documento mal capturado"}


def test_a_bridge_record_unlinked_leaves_the_record_held_by_the_other_countrys_concern(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _import(client, world, "RT47-B,Rosa Elena,Peña,Rodríguez,F,1990-05-17,VEN,V26184730,pasaporte,158274936")
    claimant = api.register("ice.officer", national_id="V26184730", agency_reference="ICE-RT47-A",
                            given_names="Rosa Elena", first_surname="Peña", second_surname="Rodríguez",
                            birth_date="1990-05-17")["reference"]
    api.screen(claimant, ["pending_asylum_claim"], user="ice.officer")
    # Another name and birth date, no cédula: like nobody; one person with the bridge by the number alone.
    _import(client, world, "RT47-C,Filomena,Urquiaga,Brennan,F,1979-09-19,VEN,,pasaporte,158274936")
    ref = _reference(session_factory, "RT47-C")
    assert ref is not None
    third = ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))
    api.screen(ref)
    api.verify(ref)
    api.passport(third)
    flight = api.flight()["reference"]
    refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 409, "")
    # INM corrects the number on its record: the link through the bridge is undone.
    _import(client, world, "RT47-C,Filomena,Urquiaga,Brennan,F,1979-09-19,VEN,,pasaporte,158274937")
    flags = ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/possible-duplicates"))
    assert any(flag["other"] != _reference(session_factory, "RT47-B") for flag in flags), flags
    for flag in flags:  # INM says "different people" of each: its own word on its records, the first on ICE's
        ok(api.post("inm.supervisor", f"/api/v1/cases/{ref}/possible-duplicates/{flag['flag']}/decision", DIFFERENT),
           201)
    # Verified again and documented for the identity as corrected: the case would be ready but for ICE's claim.
    decision = {"outcome": "verified", "request": api.open_request(ref), "registry_record": registry_record(ref)}
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision", decision), 201)
    api.passport(ok(api.get("inm.officer", f"/api/v1/cases/{ref}")))
    error = refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 409, "")
    assert "protection concern" in str(error["message"]), error
    assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers")) == []
