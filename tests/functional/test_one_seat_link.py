"""Red team round 14, L1: a link made later between two passengers' records was refused (409 `safeguard.one_seat`):
X on one flight and Y on another, different people as recorded; registering Z with X's cédula and Y's name and birth
date (a possible duplicate of Y), filing Y's passport number on Z, or a supervisor verifying Z as Y's registry record
makes X and Y one person with two seats. The official could not record the person under their true cédula at all, and
the link, which carries a protection concern across the records, was lost.

The README: a link recorded later is kept, and takes the passenger off. One person keeps one seat (`travel.seats`):
the flight departing first keeps its passenger, the other record goes back to 'ready' with the reason, audited, and
alerted as every take-off is; putting it on again is refused while the other holds its seat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.demo.check import check_demo
from retorno.documents import mrz
from retorno.flights.models import Alert, Flight, Passenger
from tests.documents.test_document_withdrawal import filed_unchecked
from tests.factories import Api, World, ok, registry_record

Door = Callable[[Api, sessionmaker[Session], dict[str, Any], dict[str, Any]], Any]
REASON = "Cotejadas la cédula y la foto del registro civil en persona."


def _two_passengers(api: Api) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """X on a flight departing in 10 days, Y on one departing in 12: two people as recorded."""
    x = api.ready_case(given_names="Bonifacio", first_surname="Urdaneta", second_surname="Tresya", sex="M")
    y = api.ready_case(given_names="Eleuterio", first_surname="Camacaro", second_surname="Piñango", sex="M")
    first = api.flight(days_ahead=10)["reference"]
    second = api.flight(days_ahead=12)["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{first}/passengers", {"cases": [x["reference"]]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{second}/passengers", {"cases": [y["reference"]]}), 201)
    return x, y, first, second


def _screened_with_cedula_of(api: Api, x: dict[str, Any]) -> dict[str, Any]:
    """Z: another record with X's cédula (the same person as X), screened."""
    z = api.register(national_id=x["national_id"], given_names="Bonifacio", first_surname="Urdaneta",
                     second_surname="Tresya", sex="M")
    api.screen(z["reference"])
    return z


def _passport_number(session_factory: sessionmaker[Session], reference: str) -> str:
    with session_factory() as session:
        return str(session.execute(sa.text(
            "SELECT d.number FROM travel_documents d JOIN cases c ON c.id = d.case_id WHERE c.reference = :r"),
            {"r": reference}).scalar_one())


def _one_seat_kept(api: Api, session_factory: sessionmaker[Session], x: str, y: str, first: str, second: str) -> None:
    """X keeps its seat (its flight departs first); Y is back to 'ready', off its manifest, with the reason,
    audited and alerted; putting Y on again is refused; the demo check's one-seat rule finds nothing."""
    assert ok(api.get("inm.officer", f"/api/v1/cases/{x}"))["state"] == "manifested"
    assert ok(api.get("inm.officer", f"/api/v1/cases/{y}"))["state"] == "ready"
    why = f"another record of the same person ({x}) holds a seat on flight {first}"
    with session_factory() as session:
        seats = session.execute(
            sa.select(Case.reference, Flight.reference, Passenger.approval, Passenger.approval_reason)
            .join(Passenger, Passenger.case_id == Case.id).join(Flight, Flight.id == Passenger.flight_id)
            .where(Case.reference.in_((x, y)))).all()
        assert sorted(seats) == sorted([(x, first, "proposed", None), (y, second, "removed", why)]), seats
        audited = session.execute(sa.select(AuditRecord.reason).where(
            AuditRecord.object_type == "case", AuditRecord.object_id == y,
            AuditRecord.action == "manifest.removed")).scalars().all()
        assert audited == [why], audited
        alerts = session.execute(sa.select(Alert.kind).join(Flight, Flight.id == Alert.flight_id).where(
            Flight.reference == second)).scalars().all()
        assert alerts == ["one_seat"], alerts
        assert check_demo(session).problems("one_seat") == []
    refused = api.post("inm.officer", f"/api/v1/flights/{second}/passengers", {"cases": [y]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "safeguard.one_seat", refused.text


def _registered(api: Api, session_factory: sessionmaker[Session], x: dict[str, Any], y: dict[str, Any]) -> Any:
    """Z registered with X's cédula and Y's name and birth date (a possible duplicate of Y)."""
    return api.post("inm.officer", "/api/v1/cases", {
        **{k: y[k] for k in ("given_names", "first_surname", "second_surname", "sex", "birth_date")},
        "agency_reference": "RT14-L1-REG", "nationality": "VEN", "national_id": x["national_id"],
        "held_at": "Estación Migratoria Siglo XXI, Tapachula", "nearest_airport": "TAP",
        "detained_since": (date.today() - timedelta(days=3)).isoformat()})


def _document_filed(api: Api, session_factory: sessionmaker[Session], x: dict[str, Any], y: dict[str, Any]) -> Any:
    """Y's passport number filed on Z, X's other record, as a document filed before the check that refuses another
    identity's number (one refused so links nobody since red team round 18, S-F2: `filed_unchecked`)."""
    z = _screened_with_cedula_of(api, x)
    text = mrz.build_td3(document_code="P", issuing_state="VEN", surnames="URDANETA TRESYA",
                         given_names="BONIFACIO", document_number=_passport_number(session_factory, y["reference"]),
                         nationality="VEN", birth_date=date.fromisoformat(z["birth_date"]), sex="M",
                         expiry_date=date.today() + timedelta(days=1000))
    with filed_unchecked():
        return api.post("inm.officer", f"/api/v1/cases/{z['reference']}/documents", {"mrz": text})


def _verified(api: Api, session_factory: sessionmaker[Session], x: dict[str, Any], y: dict[str, Any]) -> Any:
    """SAIME's supervisor verifies Z, X's other record, as Y's registry record."""
    z = _screened_with_cedula_of(api, x)
    ok(api.post("inm.officer", f"/api/v1/cases/{z['reference']}/verification-request"), 201)
    return api.post("saime.supervisor", f"/api/v1/cases/{z['reference']}/verification-decision",
                    {"outcome": "verified", "registry_record": registry_record(y['reference']),
                     "request": api.open_request(z["reference"], "saime.supervisor"), "reason": REASON})


def _cedula_edited(api: Api, session_factory: sessionmaker[Session], x: dict[str, Any], y: dict[str, Any]) -> Any:
    """Z, a possible duplicate of Y, given X's cédula by an edit (the page and a re-import's changed rows go through
    the same `travel.service.update_case`)."""
    z = api.register(national_id=None, **{k: y[k] for k in ("given_names", "first_surname", "second_surname", "sex",
                                                            "birth_date")})
    return api.patch("inm.officer", f"/api/v1/cases/{z['reference']}", {"national_id": x["national_id"]})


def _imported(api: Api, session_factory: sessionmaker[Session], x: dict[str, Any], y: dict[str, Any]) -> Any:
    """A new row of an import with X's cédula and Y's passport number."""
    cells = {"referencia": "RT14-L1-IMP", "nombres": "Bonifacio", "primer_apellido": "Urdaneta", "sexo": "M",
             "fecha_nacimiento": "1982-12-12", "nacionalidad": "VEN", "cedula": x["national_id"],
             "tipo_documento": "pasaporte", "numero_documento": _passport_number(session_factory, y["reference"]),
             "lugar_custodia": "Estación Migratoria Siglo XXI, Tapachula",
             "fecha_ingreso": (date.today() - timedelta(days=3)).isoformat()}
    data = (",".join(cells) + "\n" + ",".join(f'"{value}"' for value in cells.values()) + "\n").encode()
    return api.client.post("/api/v1/cases/import", headers=api.world.headers("inm.officer"),
                           files={"file": ("l1.csv", data, "text/csv")})


@pytest.mark.parametrize("door", [_registered, _document_filed, _verified, _cedula_edited, _imported],
                         ids=["registration", "document", "verification", "edit", "import"])
def test_a_link_made_later_between_two_passengers_is_kept_and_one_keeps_the_seat(
        client: TestClient, world: World, session_factory: sessionmaker[Session], door: Door) -> None:
    api = Api(client, world)
    x, y, first, second = _two_passengers(api)
    answer = door(api, session_factory, x, y)
    assert answer.status_code in (200, 201), answer.text
    if door is _registered:
        flags = ok(api.get("inm.officer", f"/api/v1/cases/{answer.json()['reference']}/possible-duplicates"))
        assert y["reference"] in [f["other"] for f in flags], flags
    _one_seat_kept(api, session_factory, x["reference"], y["reference"], first, second)
