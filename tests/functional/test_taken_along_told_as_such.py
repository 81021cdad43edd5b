"""Red team round 74, F2: a child taken off a manifest only because her father's protection concern took him off was
alerted as a protection pull of her own ('taken off for a protection concern'), and counted as one among the
exceptions a monitor watches, though her own screening holds nothing. A member taken along is now told as such
(`with_household`), whatever took the other off; the person the change is about keeps the change's own kind."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.cases.service import PROTECTION_DETAIL_OF_MEMBER
from retorno.flights.models import Alert
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login


def _alerts(session_factory: sessionmaker[Session], references: list[str]) -> dict[str, list[str]]:
    with session_factory() as session:
        rows = session.execute(sa.select(Case.reference, Alert.kind).join(Alert, Alert.case_id == Case.id)
                               .where(Case.reference.in_(references))).all()
    found: dict[str, list[str]] = {ref: [] for ref in references}
    for reference, kind in rows:
        found[reference].append(kind)
    return found


def test_a_child_taken_off_with_her_father_is_not_told_as_a_protection_pull_of_her_own(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    father = api.ready_case(given_names="Padre", household_reference="FAM-ALONG", relationship_to_head="head",
                            birth_date="1980-02-03")["reference"]
    child = api.ready_case(given_names="Hija", household_reference="FAM-ALONG", relationship_to_head="child",
                           birth_date="2019-05-06")["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [father, child]}), 201)

    api.screen(father, ["pending_asylum_claim"])
    assert _alerts(session_factory, [father, child]) == {father: ["protection_pull"], child: ["with_household"]}
    with session_factory() as session:
        pulls = session.execute(sa.select(AuditRecord.after).where(AuditRecord.action == "alert.protection_pull")
                                ).scalars().all()
        along = session.execute(sa.select(AuditRecord.after).where(AuditRecord.action == "alert.with_household")
                                ).scalars().all()
    # One protection pull, the father's: the child's removal is no exception of her own.
    assert [after["case"] for after in pulls] == [father], pulls
    assert [after["case"] for after in along] == [child], along
    # The sending side's officer reads it in words, in the inbox, for each.
    inbox = ok(api.get("inm.officer", "/api/v1/inbox"))
    notes = {item["reference"]: item["note"] for kind in inbox["kinds"] if kind["kind"] == "alerts"
             for item in kind["items"] if item["reference"] in (father, child)}
    assert notes == {father: "protection_pull", child: "with_household"}, inbox
    # Her timeline sends the officer to her father's protection record, not to hers, which holds nothing.
    removed = [r for r in ok(api.get("inm.officer", f"/api/v1/cases/{child}/timeline"))
               if r["action"] == "manifest.removed"]
    assert [r["reason"] for r in removed] == [f"{PROTECTION_DETAIL_OF_MEMBER} (household member {father})"], removed
    assert "asylum" not in str(removed)
    login(client, "inm.officer")
    page = client.get(f"/cases/{child}").text
    assert f"léalo en el registro de protección de ese miembro (una lectura auditada) (miembro del hogar {father})" \
        in page, page
