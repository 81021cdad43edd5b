"""Red team round 90, F3 (medium): screenings and resolutions changed in the database outside the service were vouched
for by every check, the audit chain being intact. `screening.trail.off_trail` replays the trail's screenings and
resolutions and compares them with those stored, on both databases (the CLI and `demo check`: tests/test_cli.py)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.screening.models import Screening, ScreeningResolution
from retorno.screening.trail import off_trail
from tests.factories import Api, World, ok


def test_what_the_service_wrote_agrees_and_a_resolution_or_an_emptied_concern_written_around_it_does_not(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = str(api.register()["reference"])
    api.screen(ref, ["pending_asylum_claim", "medical_condition"], medical_escorts=1)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{ref}/screenings/resolution",
                {"decision": "travel_permitted", "concerns": ["medical_condition"], "reason": "Escolta médica lista."}))
    before = off_trail(session)
    assert before.problems == [] and before.screenings >= 1 and before.resolutions >= 1, before
    screening = session.execute(sa.select(Screening.id).join(Case, Case.id == Screening.case_id).where(
        Case.reference == ref).order_by(Screening.id.desc()).limit(1)).scalar_one()
    # A resolution closing the asylum claim, written around the service.
    extra = ScreeningResolution(screening_id=screening, resolved_by=world.bind(session).users["inm.supervisor"].id,
                                decision="travel_permitted", reason="x", concerns=["pending_asylum_claim"])
    session.add(extra)
    session.flush()
    [inserted] = off_trail(session).problems
    assert (inserted.case, inserted.screening) == (ref, screening) and "not on the trail" in inserted.problem
    session.delete(extra)
    session.flush()
    assert off_trail(session).problems == []
    # The concern emptied, and the escorts lowered.
    session.execute(sa.update(Screening).where(Screening.id == screening).values(concerns=[], medical_escorts=0))
    [emptied] = off_trail(session).problems
    assert (emptied.case, emptied.screening) == (ref, screening)
    assert "concerns:" in emptied.problem and "medical escorts: 1 on the trail, 0 stored" in emptied.problem
