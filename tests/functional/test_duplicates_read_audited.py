"""Reading a case's possible duplicates is an audited read (SPEC.md 4.7), through the API and the case page alike
(red team round 3, L1: `"holding": true` tells an officer that another agency holds an open protection concern on a
look-alike, and the read left no record, where reading screenings, the concern filter and the timeline are
audited)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login


def audited_reads(session_factory: sessionmaker[Session], action: str) -> list[tuple[str, str | None]]:
    """Who read what, by the audit records of `action`, in order."""
    with session_factory() as session:
        return [(r.actor, r.object_id) for r in session.execute(
            sa.select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)).scalars()]


def _reads(session_factory: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    return audited_reads(session_factory, "duplicate.read")


def test_reading_the_possible_duplicates_is_audited(client: TestClient, world: World,
                                                    session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ours = api.register(given_names="Rosa Elena", first_surname="Peña", second_surname="Rodríguez",
                        birth_date="1990-05-17", national_id=None)["reference"]
    theirs = api.register("ice.officer", given_names="Roza Elena", first_surname="Peña",
                          second_surname="Rodrigues", birth_date="1990-05-17", national_id=None)["reference"]
    api.screen(theirs, ["trafficking_victim"], user="ice.officer")
    assert _reads(session_factory) == []
    shown = ok(api.get("inm.officer", f"/api/v1/cases/{ours}/possible-duplicates"))
    # Another country's record: the flag is told, not whether that person has a concern open (red team round 5).
    assert [(d["other"], d["holding"]) for d in shown] == [("another agency", None)]
    assert _reads(session_factory) == [("inm.officer", ours)]
    assert login(client, "inm.officer").status_code == 303
    page = client.get(f"/cases/{ours}", follow_redirects=False)
    assert page.status_code == 200
    assert _reads(session_factory) == [("inm.officer", ours), ("inm.officer", ours)]


def test_a_case_with_no_possible_duplicate_leaves_no_read(client: TestClient, world: World,
                                                          session_factory: sessionmaker[Session]) -> None:
    """Nothing of anyone else is told, so the read is not recorded (every view of a case page would be)."""
    api = Api(client, world)
    alone = api.register()["reference"]
    assert ok(api.get("inm.officer", f"/api/v1/cases/{alone}/possible-duplicates")) == []
    assert login(client, "inm.officer").status_code == 303
    assert client.get(f"/cases/{alone}", follow_redirects=False).status_code == 200
    assert _reads(session_factory) == []
