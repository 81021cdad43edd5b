"""A newcomer joining a household is a change of the household: its version moves, so a split decided on the
household as it was before (a page or an If-Match read then) is refused and names who changed it (red team round 10,
M1: a second supervisor's split sent with If-Match "2" after a 12-year-old joined was accepted and covered him, the
version having stayed at 2 while the newcomer ended the first split). Every door a newcomer joins by: registration
and import."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from tests.factories import Api, World, ok
from tests.functional.test_edit_conflicts_api import refused_412, send
from tests.functional.test_import_api import HEADER


def _etag(api: Api, reference: str) -> str:
    read = api.get("inm.supervisor", f"/api/v1/households/{reference}")
    assert read.status_code == 200, read.text
    return str(read.headers["ETag"])


def _stale_split_refused(api: Api, reference: str, join: Any) -> None:
    ok(api.post("inm.supervisor", f"/api/v1/households/{reference}/split",
                {"reason": "El padre viaja antes por una cita médica en Caracas."}), 201)
    opened = _etag(api, reference)  # a second supervisor opens the household, split, as it is now
    join()
    assert ok(api.get("inm.supervisor", f"/api/v1/households/{reference}"))["split"] is False
    assert _etag(api, reference) != opened
    refused_412(send(api, "POST", "inm.supervisor", f"/api/v1/households/{reference}/split",
                     {"reason": "Dividir el hogar según lo que vi antes."}, opened), "inm.officer", "MX-INM")
    assert ok(api.get("inm.supervisor", f"/api/v1/households/{reference}"))["split"] is False
    # Read again, the household as it is now (the newcomer in it) may be split on purpose.
    ok(send(api, "POST", "inm.supervisor", f"/api/v1/households/{reference}/split",
            {"reason": "Dividir el hogar con el recién llegado incluido."}, _etag(api, reference)), 201)


def test_a_newcomer_registered_moves_the_household_version(client: TestClient, world: World,
                                                           session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    api.register(household_reference="H-VERS-1", relationship_to_head="head", birth_date="1980-01-01")
    api.register(household_reference="H-VERS-1", relationship_to_head="spouse", birth_date="1982-02-02",
                 given_names="ESPOSA")
    _stale_split_refused(api, "H-VERS-1", lambda: api.register(
        household_reference="H-VERS-1", relationship_to_head="child", birth_date="2013-03-03", given_names="LUIS"))
    with session_factory() as session:
        actions = session.execute(sa.select(AuditRecord.action).where(
            AuditRecord.object_type == "household", AuditRecord.object_id == "H-VERS-1")
            .order_by(AuditRecord.seq)).scalars().all()
    assert "household.member_joined" in actions, actions


def test_a_newcomer_imported_moves_the_household_version(client: TestClient, world: World) -> None:
    api = Api(client, world)
    api.register(household_reference="H-VERS-2", relationship_to_head="head", birth_date="1979-01-01")
    api.register(household_reference="H-VERS-2", relationship_to_head="spouse", birth_date="1981-02-02",
                 given_names="ESPOSA")
    row = "INM-VERS-9,H-VERS-2,Pedro Pablo,Quintana,Arocha,M,2012-02-11,VEN,,Tapachula,TAP,2026-11-20\n"

    def join() -> None:
        ok(client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                       files={"file": ("lista.csv", (HEADER + row).encode(), "text/csv")}), 201)

    _stale_split_refused(api, "H-VERS-2", join)
