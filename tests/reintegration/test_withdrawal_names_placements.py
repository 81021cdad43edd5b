"""A withdrawal of consent names on its audit record each offer it declined and each seat it dropped (red team round
43: the trail said consent was withdrawn, not which placements that ended, where each step taken by hand is
recorded as `placement.<status>` naming its placement)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from tests.edit_helpers import offered
from tests.factories import Api, World, ok


def test_the_withdrawal_record_names_every_placement_it_ends(client: TestClient, world: World,
                                                              session: Session) -> None:
    api = Api(client, world)
    case, placement = offered(api)
    ref = case["reference"]
    ok(api.post("op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}))
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": "ya no desea participar"}))
    session.expire_all()
    (withdrawal,) = session.execute(sa.select(AuditRecord).where(
        AuditRecord.action == "consent.withdraw", AuditRecord.object_id == ref)).scalars()
    assert withdrawal.after["placements_ended"] == [
        {"placement": placement["id"], "before": "accepted", "after": "dropped"}]
