"""Red team round 45a, F4: an unaccompanied child's named receiving guardian (SPEC.md 4.2) was shown to nobody on the
receiving side: not the flight page, the manifest or the arrival desk, where the child is handed over. The arrival desk
now names it on the child's row; reading it is an audited read of a protection field, on the flight."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.flights.models import Flight, Passenger
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

GUARDIAN = "Consejo de Protección de Niños, Niñas y Adolescentes de Valencia"


def test_the_arrival_desk_names_who_receives_an_unaccompanied_child(client: TestClient, world: World,
                                                                    session: Session) -> None:
    api = Api(client, world)
    child = api.ready_case(birth_date=(date.today() - timedelta(days=365 * 14)).isoformat(), given_names="Luisa")
    adult = api.ready_case(given_names="Pedro")
    ok(api.post("inm.supervisor", f"/api/v1/cases/{child['reference']}/best-interests",
                {"summary": "Reunificación con la tía, evaluada por el DIF.", "receiving_guardian": GUARDIAN}), 201)
    api.fly_to_arrival([child, adult])
    reference = session.execute(sa.select(Flight.reference).join(Passenger).join(Case).where(
        Case.reference == child["reference"])).scalar_one()
    login(client, "saime.officer")
    desk = client.get(f"/flights/{reference}/arrivals")
    assert desk.status_code == 200, desk.text
    assert desk.text.count(GUARDIAN) == 1 and "Menor sin acompañante: se entrega a" in desk.text
    session.expire_all()
    read = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "screening.guardian_read")).scalars()
    assert [(r.object_id, r.after["cases"]) for r in read] == [(reference, [child["reference"]])]


def test_the_guardian_is_named_from_the_departure_on_not_weeks_before(client: TestClient, world: World,
                                                                      session: Session) -> None:
    """Red team round 47b, F1: the guardian's name and telephone were on the arrival desk of a locked flight fifteen
    days before its departure, for every receiving officer of the state; the desk needs them once the child is on the
    way."""
    from datetime import UTC, datetime

    api = Api(client, world)
    child = api.ready_case(birth_date=(date.today() - timedelta(days=365 * 14)).isoformat(), given_names="Yorman")
    adult = api.ready_case(given_names="Pedro")
    ok(api.post("inm.supervisor", f"/api/v1/cases/{child['reference']}/best-interests",
                {"summary": "Reunificación con la tía, evaluada por el DIF.", "receiving_guardian": GUARDIAN}), 201)
    flight = api.build_manifest([child["reference"], adult["reference"]],
                                departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=15))
    login(client, "saime.officer")
    desk = client.get(f"/flights/{flight}/arrivals")
    assert desk.status_code == 200, desk.text
    assert GUARDIAN not in desk.text and "Menor sin acompañante: se entrega a" not in desk.text
    session.expire_all()
    assert session.execute(sa.select(AuditRecord).where(AuditRecord.action == "screening.guardian_read")).first() \
        is None
