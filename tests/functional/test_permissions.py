"""Data minimisation and roles (SPEC.md sections 2 and 4.6): each refusal proved through the API."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from tests.factories import Api, World, case_payload, ok


def test_each_agency_sees_only_its_cases_and_fields(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    registered = api.register()
    ref = registered["reference"]
    api.screen(ref, ["pending_asylum_claim"])
    full = ok(api.get("sre.officer", f"/api/v1/cases/{ref}"))  # another Mexican agency: same country
    assert full["held_at"] and full["detained_since"]
    assert api.get("ice.officer", f"/api/v1/cases/{ref}").status_code == 404  # another sending country
    # Receiving side sees a case only once verification is requested, and then identity fields only.
    assert api.get("saime.officer", f"/api/v1/cases/{ref}").status_code == 404
    ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)
    identity = ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))
    assert "held_at" not in identity and "notes" not in identity and "contact" not in identity
    assert api.get("col.officer", f"/api/v1/cases/{ref}").status_code == 404  # not its nationality
    for user in ("carrier.officer", "monitor.viewer", "admin"):
        assert api.get(user, f"/api/v1/cases/{ref}").status_code in (403, 404), user
        assert api.get(user, "/api/v1/cases").status_code == 403, user
    # Protection details: the sending side's officers only, and every read is audited.
    for user in ("saime.officer", "inm.viewer", "carrier.officer", "op.officer", "monitor.viewer"):
        assert api.get(user, f"/api/v1/cases/{ref}/screenings").status_code in (403, 404), user
    details = ok(api.get("inm.officer", f"/api/v1/cases/{ref}/screenings"))
    assert details[0]["concerns"] == ["pending_asylum_claim"]
    reads = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "screening.read",
                                                         AuditRecord.object_id == ref)).scalars().all()
    assert [r.actor for r in reads] == ["inm.officer"]


def test_carrier_sees_only_passenger_list_fields_of_its_own_locked_flights(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case()
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [case["reference"]]}), 201)
    assert api.get("carrier.officer", f"/api/v1/flights/{flight}/passengers").status_code == 409  # not locked
    assert api.get("avior.officer", f"/api/v1/flights/{flight}").status_code == 404  # not its flight
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{case['reference']}/decision",
                {"approve": True}))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"))
    passengers = ok(api.get("carrier.officer", f"/api/v1/flights/{flight}/passengers"))
    assert set(passengers[0]) == {"case_reference", "surnames", "given_names", "sex", "birth_date", "nationality",
                                  "document_type", "document_number", "document_expiry", "document_issuing_state",
                                  "seat", "household_reference", "escort_needs"}
    assert api.get("avior.officer", f"/api/v1/flights/{flight}/paxlst").status_code == 404
    assert api.get("carrier.officer", f"/api/v1/cases/{case['reference']}").status_code == 403


def test_roles_within_an_agency(client: TestClient, world: World) -> None:
    api = Api(client, world)
    assert api.post("inm.viewer", "/api/v1/cases", case_payload()).status_code == 403
    assert api.post("saime.viewer", "/api/v1/flights/RF-2099-0001/accept").status_code == 403
    flight = api.flight(accept=False)["reference"]
    assert api.post("saime.viewer", f"/api/v1/flights/{flight}/accept").status_code == 403
    assert api.post("inm.officer", f"/api/v1/flights/{flight}/accept").status_code == 403
    assert api.post("col.officer", f"/api/v1/flights/{flight}/accept").status_code == 404
    assert api.post("op.officer", "/api/v1/users", {"username": "xyz", "full_name": "x", "agency": "MX-INM",
                                                    "role": "officer", "password": "0123456789"}).status_code == 403
    # An administrator's supervisor adds users to administrator and monitor agencies; an operational agency's are its
    # own supervisors' (its first from the operator's console), whether it has any or not.
    ok(api.post("admin", "/api/v1/users", {"username": "new.user", "full_name": "Nueva", "agency": "MON-DDP",
                                           "role": "officer", "password": "una clave de prueba 9"}), 201)
    refused = api.post("admin", "/api/v1/users", {"username": "new.sre", "full_name": "Nueva", "agency": "MX-SRE",
                                                  "role": "officer", "password": "una clave de prueba 9"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden.users.agency_manages_its_own"


def test_operator_sees_only_arrived_consented_returnees_and_monitor_only_aggregates(client: TestClient,
                                                                                   world: World) -> None:
    api = Api(client, world)
    (returnee,) = api.arrive(1)
    waiting = api.register()
    assert api.get("op.officer", f"/api/v1/cases/{waiting['reference']}").status_code == 404
    assert ok(api.get("op.officer", "/api/v1/returnees")) == []
    wrong_birth = api.post("op.officer", f"/api/v1/cases/{returnee['reference']}/consent",
                           {"birth_date": "1901-01-01"})
    assert wrong_birth.status_code == 404
    ok(api.post("op.officer", f"/api/v1/cases/{returnee['reference']}/consent",
                {"birth_date": returnee["birth_date"]}), 201)
    seen = ok(api.get("op.officer", f"/api/v1/cases/{returnee['reference']}"))
    assert set(seen) == {"reference", "state", "given_names", "first_surname", "second_surname", "sex",
                         "birth_date", "contact"}
    assert ok(api.get("monitor.viewer", "/api/v1/audit/verify"))["ok"]
    assert api.get("op.officer", "/api/v1/audit").status_code == 403
    assert api.get("inm.supervisor", "/api/v1/audit").status_code == 403
