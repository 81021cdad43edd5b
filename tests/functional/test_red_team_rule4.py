"""Red-team findings of 2026-11-30 on rule 4 and on who sees and changes what, tried again through every door."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.service import create_agency, create_token, create_user
from retorno.cases.models import Case
from retorno.errors import SafeguardViolation
from retorno.flights.models import Flight, Passenger
from retorno.flights.service import decide_passenger
from tests.factories import PASSWORD, Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused, state
from tests.web.pages_helpers import login, post_form
from tests.web.test_operator_pages import consented


def _asked(api: Api, ref: str) -> str:
    """A registered, screened case whose verification is asked: the request's reference."""
    api.screen(ref)
    return str(ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)["request"])


def test_a_decision_verifies_only_the_identity_of_the_request_it_names(client: TestClient, world: World) -> None:
    """F-P, API: SAIME read 'Pedro Gómez Lara, 1980-03-03'; the sending side changed name, cédula and birth date;
    a decision sent without a request, or on the request SAIME read, verified the identity nobody had seen."""
    api = Api(client, world)
    ref = api.register(given_names="Pedro", first_surname="Gómez", second_surname="Lara",
                       birth_date="1980-03-03")["reference"]
    seen = _asked(api, ref)
    ok(api.patch("inm.officer", f"/api/v1/cases/{ref}",
                 {"given_names": "Impostor", "national_id": "V99999998", "birth_date": "1960-01-01"}))
    decide = f"/api/v1/cases/{ref}/verification-decision"
    verdict = {"outcome": "verified", "registry_record": "555556", "reason": "Pedro Gómez Lara 1980-03-03"}
    # A decision names the request it was made on.
    refused(api.post("saime.officer", decide, verdict), 422, "")
    error = refused(api.post("saime.officer", decide, {**verdict, "request": seen}), 409, "request_superseded")
    assert seen in str(error["message"])
    refused(api.post("saime.officer", decide, {**verdict, "request": "VR-XX-0000-000000"}), 404, "not_found")
    assert state(api, ref) == "verification_requested"
    # The new request carries the identity as it is now; a decision on it is one made on what SAIME reads now.
    current = api.open_request(ref)
    assert current != seen
    assert ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))["given_names"] == "Impostor"
    ok(api.post("saime.officer", decide, {**verdict, "request": current}), 201)
    assert state(api, ref) == "verified"


def test_the_queue_page_decides_on_the_request_it_showed(client: TestClient, world: World) -> None:
    """F-P, pages: the /verification form loaded before the identity changed verified the changed identity."""
    api = Api(client, world)
    ref = api.register(given_names="Jorge", first_surname="Chávez", second_surname="Mendoza")["reference"]
    seen = _asked(api, ref)
    login(client, "saime.officer")
    page = client.get("/verification").text
    shown = re.search(rf'action="/verification/{ref}".*?name="request" value="([^"]+)"', page, re.S)
    assert shown is not None and shown.group(1) == seen
    ok(api.patch("inm.officer", f"/api/v1/cases/{ref}", {"given_names": "Otro Niño", "birth_date": "2024-01-01"}))
    stale = post_form(client, f"/verification/{ref}", {"outcome": "verified", "registry_record": "23736",
                                                       "request": seen}, page="/verification")
    assert stale.status_code == 409, stale.text
    assert "sustituida" in stale.text
    assert state(api, ref) == "verification_requested"
    # So is the case page's form: it names the request whose identity it shows.
    case_page = client.get(f"/cases/{ref}").text
    current = api.open_request(ref)
    assert f'name="request" value="{current}"' in case_page
    stale = post_form(client, f"/cases/{ref}/verification-decision",
                      {"outcome": "verified", "registry_record": "23736", "request": seen}, page=f"/cases/{ref}")
    assert stale.status_code == 409 and state(api, ref) == "verification_requested"
    fresh = post_form(client, f"/cases/{ref}/verification-decision",
                      {"outcome": "verified", "registry_record": "23736", "request": current}, page=f"/cases/{ref}")
    assert fresh.status_code == 303 and state(api, ref) == "verified"


def _colombian_flight(api: Api) -> str:
    """A flight from Harlingen to Bogotá, accepted by Colombia's receiving authority."""
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    flight = ok(api.post("ice.officer", "/api/v1/flights", {
        "flight_number": "V0 3195", "receiving_agency": "CO-MIG", "carrier": "CONVIASA", "seats": 100,
        "origin": "HRL", "destination": "BOG", "departure_utc": departure.isoformat(),
        "arrival_utc": (departure + timedelta(hours=5)).isoformat(), "escorts": 5, "medical_staff": 1}), 201)
    ok(api.post("col.officer", f"/api/v1/flights/{flight['reference']}/accept"))
    return str(flight["reference"])


def test_a_national_verified_by_one_state_is_not_returned_to_another(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """F-U: a Venezuelan verified by SAIME was manifested on a flight to Colombia's receiving authority, approved
    by it and locked. Every door that puts or keeps him on such a manifest refuses now."""
    api = Api(client, world)
    ref = api.ready_case("ice.officer", nearest_airport="HRL")["reference"]
    flight = _colombian_flight(api)
    error = refused(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 409,
                    "safeguard.verified_nationality")
    assert ref in str(error["message"]) and "COL" in str(error["message"])
    # A door that forgets the rule (here: a row written directly) meets the approval's check and the commit's guard.
    with session_factory() as session:
        case = session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
        colombia = session.execute(sa.select(Flight).where(Flight.reference == flight)).scalar_one()
        session.add(Passenger(flight_id=colombia.id, case_id=case.id))
        colombia.manifest_state = "proposed"
        session.flush()
        officer = session.merge(world.users["col.officer"])
        with pytest.raises(SafeguardViolation) as approval:
            decide_passenger(session, officer, colombia, case, approve=True)
        assert [v.rule for v in approval.value.violations] == ["verified_nationality"]
        with pytest.raises(SafeguardViolation) as guard:
            session.commit()
        assert "verified_nationality" in [v.rule for v in guard.value.violations]
    # The same person goes to the state that verified him.
    venezuela = ok(api.post("ice.officer", "/api/v1/flights", {
        "flight_number": "V0 3196", "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": 100,
        "origin": "HRL", "destination": "CCS", "departure_utc": (datetime.now(UTC) + timedelta(days=10)).isoformat(),
        "arrival_utc": (datetime.now(UTC) + timedelta(days=10, hours=5)).isoformat(), "escorts": 5,
        "medical_staff": 1}), 201)["reference"]
    ok(api.post("saime.officer", f"/api/v1/flights/{venezuela}/accept"))
    ok(api.post("ice.officer", f"/api/v1/flights/{venezuela}/passengers", {"cases": [ref]}), 201)


def test_an_operator_sees_only_the_returnees_its_own_state_received(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """F-T: a reintegration operator created for Colombia listed every Venezuelan returnee and read their intakes."""
    api = Api(client, world)
    (case,) = consented(api, client, world, 1, ["agricultura"])
    ref = case["reference"]
    with session_factory() as session:
        create_agency(session, None, code="CO-OPC", name="Operador Colombia", kind="reintegration_operator",
                      country="COL")
        user = create_user(session, None, username="opc.officer", full_name="opc", agency_code="CO-OPC",
                           role="officer", password=PASSWORD)
        colombian = {"Authorization": f"Bearer {create_token(session, user, name='tests', longest_days=90)}"}
        session.commit()
    for path in ("/api/v1/cases", "/api/v1/returnees", "/api/v1/inbox"):
        seen = client.get(path, headers=colombian)
        assert seen.status_code in (200, 403, 404) and ref not in seen.text, (path, seen.text)
    for path in (f"/api/v1/cases/{ref}", f"/api/v1/cases/{ref}/intake"):
        assert client.get(path, headers=colombian).status_code == 404, path
    # Nor may it enrol the returnee by knowing the birth date.
    enrol = client.post(f"/api/v1/cases/{ref}/consent", json={"birth_date": case["birth_date"]}, headers=colombian)
    assert enrol.status_code == 404, enrol.text
    # Venezuela's operators see them, as before.
    assert ref in [r["reference"] for r in ok(api.get("op.officer", "/api/v1/returnees"))]
    assert ok(api.get("op.officer", f"/api/v1/cases/{ref}"))["reference"] == ref


def test_one_officer_cannot_take_a_passenger_off_a_locked_manifest_by_another_door(
        client: TestClient, world: World) -> None:
    """F-K: removal from a locked manifest needs a supervisor of each side, yet one officer took a passenger off
    by withdrawing the case, or by editing the identity. Now those (and a new document) wait for both sides."""
    api = Api(client, world)
    case = api.ready_case()
    ref = case["reference"]
    flight = locked_flight(api, [ref])

    def aboard() -> bool:
        rows = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
        return any(p["case"] == ref and p["approval"] == "approved" for p in rows)

    edit = api.patch("inm.officer", f"/api/v1/cases/{ref}", {"given_names": "Otra Persona"})
    error = refused(edit, 409, "locked_change_needs_both_sides")
    assert ref in str(error["message"]) and flight in str(error["message"])
    refused(api.post("inm.officer", f"/api/v1/cases/{ref}/withdraw", {"reason": "released by judge"}), 409,
            "locked_change_needs_both_sides")
    refused(api.passport_response(case), 409, "locked_change_needs_both_sides")
    assert aboard() and state(api, ref) == "manifested"
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["given_names"] == case["given_names"]
    # One side's supervisor is not enough; with both, the identity change takes the person off and re-opens
    # verification (rule 4), using up the consents.
    authorise = f"/api/v1/flights/{flight}/locked-changes"
    ok(api.post("inm.supervisor", authorise, {"case": ref, "reason": "Identidad corregida por el consulado."}), 201)
    refused(api.patch("inm.officer", f"/api/v1/cases/{ref}", {"given_names": "Otra Persona"}), 409,
            "locked_change_needs_both_sides")
    ok(api.post("saime.supervisor", authorise, {"case": ref, "reason": "Se verificará la nueva identidad."}), 201)
    ok(api.patch("inm.officer", f"/api/v1/cases/{ref}", {"given_names": "Otra Persona"}))
    assert not aboard() and state(api, ref) == "verification_requested"
    # A protection concern is never held back: it takes the person off a locked manifest at once (rule 1).
    other = api.ready_case()
    second = locked_flight(api, [other["reference"]])
    api.screen(other["reference"], ["pending_asylum_claim"])
    rows = ok(api.get("inm.officer", f"/api/v1/flights/{second}/passengers"))
    assert other["reference"] not in [p["case"] for p in rows if p["approval"] in ("proposed", "approved")]
