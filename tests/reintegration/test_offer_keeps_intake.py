"""Red team round 11, RE8812 M2 (medium): FUNDAPRO's matching run offered a seat to returnees VUELTA had taken in, and
the offer alone took their intake from VUELTA (403 `forbidden.intake.other_operator`) while FUNDAPRO could not read it
either: nobody held it until the returnee answered an offer only FUNDAPRO could step. An offer is not the returnee's
choice: it leaves the intake, and the withdrawal, with the operator that took them in. Nor does the acceptance, which
the seat's operator records itself (red team round 13, F12): the operator holding the intake hands it over
(`tests/reintegration/test_intake_transfer.py`)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.edit_helpers import INTAKE, OPPORTUNITY, returnee
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

REASON = "la persona retira su consentimiento en la oficina"


def _intake(api: Api, user: str, ref: str) -> int:
    return int(api.get(user, f"/api/v1/cases/{ref}/intake").status_code)


def test_another_operators_offer_leaves_the_intake_with_the_operator_that_took_them_in(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    ref = returnee(api)["reference"]
    path = f"/api/v1/cases/{ref}/intake"
    # FUNDAPRO publishes a seat; VUELTA takes the returnee in, who would like it; FUNDAPRO's matching run offers it.
    seat = ok(api.post("op2.officer", "/api/v1/opportunities", OPPORTUNITY), 201)
    ok(api.put("op.officer", path, {**INTAKE, "preferences": [seat["reference"]]}))
    ok(api.post("op2.officer", "/api/v1/matching/runs?mode=stable"), 201)
    (offer,) = ok(api.get("op2.officer", f"/api/v1/cases/{ref}/placements"))
    assert offer["status"] == "offered", offer
    # VUELTA still reads and corrects the intake, at the API and on the returnee's page; FUNDAPRO does not.
    assert _intake(api, "op.officer", ref) == 200 and _intake(api, "op2.officer", ref) == 403
    ok(api.put("op.officer", path, {**INTAKE, "preferences": [seat["reference"]], "municipality": "Sucre"}))
    login(client, "op.officer")
    page = client.get(f"/reintegration/returnees/{ref}").text
    assert "Sucre" in page
    # FUNDAPRO may not withdraw VUELTA's returnee on the strength of its offer.
    refused = api.post("op2.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": REASON})
    assert refused.status_code == 403, refused.text
    # The returnee accepts FUNDAPRO's seat: VUELTA, which holds the intake, hands it over to FUNDAPRO.
    ok(api.post("op2.officer", f"/api/v1/placements/{offer['id']}", {"status": "accepted"}))
    assert _intake(api, "op2.officer", ref) == 403 and _intake(api, "op.officer", ref) == 200
    ok(api.post("op.officer", f"/api/v1/cases/{ref}/intake/transfer",
                {"operator": "VE-FUNDAPRO", "reason": "eligió la pasantía de FUNDAPRO"}))
    assert _intake(api, "op2.officer", ref) == 200 and _intake(api, "op.officer", ref) == 403
    ok(api.post("op2.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": REASON}))
