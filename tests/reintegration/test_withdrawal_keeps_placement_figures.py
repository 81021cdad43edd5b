"""Red team round 13, F9 (low): the placement figures moved at a withdrawal of consent (public statistics: started 32
-> 31, dropped one more), telling anyone comparing two snapshots that a returnee under way left the programme then, as
the follow-up figures did before their residue (round 11, RE8812 M1). A placement a withdrawal ended counts as it stood
then (`reporting.service.STATUS_COUNTED`), at every door the figures are published at."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.edit_helpers import offered
from tests.factories import Api, World, ok

# The operator's own dashboard counts the placements of the returnees it sees (consenting): a withdrawal takes the
# returnee and their placements out of its view, as it is told (the returnee leaves its lists), so nothing is learnt
# by subtraction there.
READERS = ("monitor.viewer", "saime.officer")
WITHDRAW = "la persona retira su consentimiento en la oficina"


def _published(api: Api, client: TestClient) -> dict[str, Any]:
    doors: dict[str, Any] = {
        "public": ok(api.get("inm.officer", "/api/v1/reports/public"))["tables"]["placements"],
        "public.csv": client.get("/api/v1/reports/public.csv?table=placements").text,
    }
    for user in READERS:
        doors[user] = ok(api.get(user, "/api/v1/reports/dashboard"))["placements_by_status"]
    return doors


def test_a_withdrawal_moves_no_published_placement_figure(client: TestClient, world: World) -> None:
    api = Api(client, world)
    started, seat = offered(api)
    ok(api.post("op.officer", f"/api/v1/placements/{seat['id']}", {"status": "accepted"}))
    ok(api.post("op.officer", f"/api/v1/placements/{seat['id']}", {"status": "started"}))
    accepted, held = offered(api)
    ok(api.post("op.officer", f"/api/v1/placements/{held['id']}", {"status": "accepted"}))
    waiting, _offer = offered(api)
    before = _published(api, client)
    assert before["monitor.viewer"] == {"started": 1, "accepted": 1, "offered": 1}, before
    for case in (started, accepted, waiting):
        ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/consent/withdraw", {"reason": WITHDRAW}))
    assert _published(api, client) == before
    # A placement dropped by its operator still counts as dropped.
    _again, other = offered(api)
    ok(api.post("op.officer", f"/api/v1/placements/{other['id']}", {"status": "accepted"}))
    ok(api.post("op.officer", f"/api/v1/placements/{other['id']}", {"status": "dropped", "reason": "se mudó"}))
    assert _published(api, client)["monitor.viewer"] == {"started": 1, "accepted": 1, "offered": 1, "dropped": 1}
