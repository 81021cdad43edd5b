"""Red team round 52, F5 (low, and more than noise): a resolution closed again, on an older screening, a concern a
resolution had closed already. With another concern still open on that screening, the supervisors' queue (which counts
a screening's concerns closed) took the screening for closed: the case left the queue while a concern was open."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.screening.models import ScreeningResolution
from tests.factories import Api, World, ok

REASON = "Evaluado por la supervisora: puede viajar con escolta."


def test_a_concern_closed_is_not_closed_again_and_the_other_stays_in_the_queue(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    api.screen(ref, ["medical_condition", "pregnancy"])
    path = f"/api/v1/cases/{ref}/screenings/resolution"
    ok(api.post("inm.supervisor", path, {"decision": "travel_permitted", "reason": REASON,
                                         "concerns": ["medical_condition"]}), 201)
    # The condition is recorded again by a new screening, and closed again.
    api.screen(ref, ["medical_condition"])
    ok(api.post("inm.supervisor", path, {"decision": "travel_permitted", "reason": REASON,
                                         "concerns": ["medical_condition"]}), 201)
    session.expire_all()
    closed = session.execute(sa.select(ScreeningResolution.screening_id, ScreeningResolution.concerns)
                             .order_by(ScreeningResolution.id)).all()
    assert [concerns for _, concerns in closed] == [["medical_condition"], ["medical_condition"]]
    assert len({screening for screening, _ in closed}) == 2, closed
    # Pregnancy is still open on the first screening: the case is in the queue of open concerns.
    assert session.execute(sa.select(Case.concern_open_since).where(Case.reference == ref)).scalar_one() is not None
    queue = ok(api.get("inm.supervisor", "/api/v1/cases?concern=open"))
    assert ref in str(queue), queue
