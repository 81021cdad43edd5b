"""Red team round 66, F1: an officer's re-import changed the relationship to the head of a passenger of a locked
manifest (spouse to child), and cleared a one-year-old's on it, answering "updated" with the family still aboard; a
supervisor's household correction is refused on a manifest (409 `household_correction_state`). A household and its
relationships change, at any door, only while the case waits off every manifest, before boarding
(`travel.households.fixed`): an import row changing a relationship is an error at its cell, and `update_case` refuses
it as a second line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.errors import InvalidTransition
from retorno.travel.service import update_case
from tests.factories import Api, World, ok
from tests.functional.test_import_household_rows import checked_only, errors, row, upload

BABY = (datetime.now(UTC).date() - timedelta(days=400)).isoformat()
FAMILY = (row("RT66-A1", "H-RT66", "titular", "Antonio") + row("RT66-A2", "H-RT66", "conyuge", "Nélida")
          + row("RT66-A3", "H-RT66", "hijo", "José", BABY))
# The spouse re-imported as a child, the baby's relationship cleared.
CHANGED = row("RT66-A2", "H-RT66", "hijo", "Nélida") + row("RT66-A3", "H-RT66", "", "José", BABY)


def _family(api: Api, session: Session) -> list[str]:
    """The family imported and made ready; their system references."""
    ok(upload(api.client, api.world, FAMILY), 201)
    refs = list(session.execute(sa.select(Case.reference).where(Case.agency_reference.like("RT66-A%"))
                                .order_by(Case.agency_reference)).scalars())
    for ref in refs:
        api.screen(ref)
        api.verify(ref)
        case = ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))
        assert api.passport(case)["case_state"] == "ready"
    return refs


def _relationships(session: Session) -> list[str | None]:
    session.expire_all()
    return list(session.execute(sa.select(Case.relationship_to_head).where(Case.agency_reference.like("RT66-A%"))
                                .order_by(Case.agency_reference)).scalars())


@pytest.mark.parametrize("locked", [False, True], ids=["manifest", "locked_manifest"])
def test_an_import_changes_no_relationship_of_a_passenger(client: TestClient, world: World, session: Session,
                                                          locked: bool) -> None:
    api = Api(client, world)
    refs = _family(api, session)
    # Waiting off every manifest, the agency's list may still correct a relationship, as before.
    assert ok(upload(client, world, row("RT66-A2", "H-RT66", "hermana", "Nélida")), 201)["updated"] == 1
    assert ok(upload(client, world, row("RT66-A2", "H-RT66", "conyuge", "Nélida")), 201)["updated"] == 1
    if locked:
        flight = api.build_manifest(refs, departure=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2))
    else:
        flight = api.flight()["reference"]
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    for found in (checked_only(client, CHANGED), errors(upload(client, world, CHANGED))):
        assert [(number, column) for number, column, _ in found] == [(2, "parentesco"), (3, "parentesco")], found
        assert all("está en un manifiesto" in expected for _, _, expected in found)
        assert refs[1] in found[0][2] and refs[2] in found[1][2]
    english = errors(upload(client, world, CHANGED, language="en"))
    assert "is on a manifest, or has boarded" in english[0][2]
    assert _relationships(session) == ["head", "spouse", "child"]
    aboard = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert sorted(p["case"] for p in aboard) == sorted(refs)
    # The row as it stands changes nothing and is not refused.
    assert ok(upload(client, world, FAMILY), 201)["updated"] == 0


def test_update_case_refuses_a_passengers_relationship_whatever_calls_it(client: TestClient, world: World,
                                                                        session: Session) -> None:
    api = Api(client, world)
    refs = _family(api, session)
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    world = world.bind(session)
    case = session.execute(sa.select(Case).where(Case.reference == refs[1])).scalar_one()
    with pytest.raises(InvalidTransition) as refused:
        update_case(session, world.users["inm.officer"], case, {"relationship_to_head": "child"}, imported=True)
    assert refused.value.code == "household_correction_state" and case.relationship_to_head == "spouse"
