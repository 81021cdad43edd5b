"""A supervisor's split covers the household as it was: a member who joins it later ends the split, and the members
on a manifest leave it, as for a household never split (red team, medium; SPEC.md 4.3: a seven-year-old registered
into a split household stayed behind, the split's reason, written before he existed, covering him)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from tests.factories import Api, World, ok


def test_a_newcomer_ends_the_split_and_takes_the_household_off(client: TestClient, world: World,
                                                              session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    mother = api.ready_case(household_reference="FAM-PARTIDA", birth_date="1985-02-02", given_names="Madre")
    sister = api.ready_case(household_reference="FAM-PARTIDA", birth_date="1988-03-03", given_names="Tía")
    ok(api.post("inm.supervisor", "/api/v1/households/FAM-PARTIDA/split",
                {"reason": "La madre viaja primero; la tía espera su audiencia."}), 201)
    first, second = api.flight()["reference"], api.flight(days_ahead=12)["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{first}/passengers", {"cases": [mother["reference"]]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{second}/passengers", {"cases": [sister["reference"]]}), 201)
    boy = api.register(household_reference="FAM-PARTIDA", birth_date="2019-04-04", given_names="Niño")["reference"]
    for flight in (first, second):
        assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers")) == [], flight
    for member in (mother, sister):
        assert ok(api.get("inm.officer", f"/api/v1/cases/{member['reference']}"))["state"] == "ready"
    with session_factory() as session:
        assert session.execute(sa.select(AuditRecord.object_id).where(
            AuditRecord.action == "household.split_ended")).scalars().all() == ["FAM-PARTIDA"]
    # The household travels as one again: the mother alone is refused until the newcomer goes too, or a new split.
    alone = api.post("inm.officer", f"/api/v1/flights/{first}/passengers", {"cases": [mother["reference"]]})
    assert alone.status_code == 409, alone.text
    assert boy
