"""Red team M1 (SPEC.md 4.1, 4.5): a case screened as cleared needing two medical escorts was refused onto a flight
without medical staff, and the same officer then posted a new screening asking for none and the add went through.
A concern is closed only by a supervisor's written resolution; the medical escorts a person needs now follow the
same rule at every door (API, page, and the domain step the command line calls): raised by any screening, lowered
only by a supervisor with a written reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.errors import SafeguardViolation
from retorno.travel.service import record_screening
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused
from tests.web.pages_helpers import login, post_form

LOWERED = "safeguard.medical_escort"


def _escorts(api: Api, ref: str) -> int:
    return int(ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings"))[-1]["medical_escorts"])


def test_an_officer_cannot_lower_the_medical_escorts_a_case_needs(client: TestClient, world: World,
                                                                  session: Session) -> None:
    api = Api(client, world)
    ref = api.ready_case()["reference"]
    api.screen(ref, medical_escorts=2)
    flight = api.flight(medical_staff=0)["reference"]
    add = f"/api/v1/flights/{flight}/passengers"
    refused(api.post("inm.officer", add, {"cases": [ref]}), 409, LOWERED)
    # API: an officer's new screening asking for none is refused, and the case still needs two.
    error = refused(api.post("inm.officer", f"/api/v1/cases/{ref}/screenings",
                             {"concerns": [], "medical_escorts": 0}), 409, LOWERED)
    assert "supervisor" in str(error["message"])
    # Page: the same form refused the same way.
    login(client, "inm.officer")
    page = post_form(client, f"/cases/{ref}/screening", {"medical_escorts": "0"}, page=f"/cases/{ref}")
    assert page.status_code == 409, page.status_code
    # The domain step the command line (`retorno cases screen`) calls.
    case = session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
    with pytest.raises(SafeguardViolation):
        record_screening(session, world.users["inm.officer"], case, concerns=[], medical_escorts=1)
    assert _escorts(api, ref) == 2
    refused(api.post("inm.officer", add, {"cases": [ref]}), 409, LOWERED)
    # Raising them stays open to officers.
    api.screen(ref, medical_escorts=3)
    assert _escorts(api, ref) == 3
    # A supervisor lowers them with a written reason, kept as a resolution of that screening.
    refused(api.post("inm.supervisor", f"/api/v1/cases/{ref}/screenings", {"concerns": [], "medical_escorts": 0}),
            422, "reason_required")
    ok(api.post("inm.supervisor", f"/api/v1/cases/{ref}/screenings",
                {"concerns": [], "medical_escorts": 0, "reason": "Alta médica: ya no necesita escolta."}), 201)
    screenings = ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings"))
    assert screenings[-1]["medical_escorts"] == 0
    assert [r["reason"] for r in screenings[-1]["resolutions"]] == ["Alta médica: ya no necesita escolta."]
    ok(api.post("inm.officer", add, {"cases": [ref]}), 201)


def test_a_refused_lowering_does_not_name_the_need_it_was_refused_against(client: TestClient, world: World) -> None:
    """Red team round 8, L2 (low): an officer's screening asking for fewer escorts was refused with "needs 2 medical
    escorts", a figure of the health record told outside the audited reads (the case page's pre-fill of the same
    figure is audited). The refusal names the rule and the figure the official typed, never the recorded need."""
    api = Api(client, world)
    ref = api.ready_case()["reference"]
    api.screen(ref, medical_escorts=3)
    error = refused(api.post("inm.officer", f"/api/v1/cases/{ref}/screenings",
                             {"concerns": [], "medical_escorts": 1}), 409, LOWERED)
    told = " ".join(str(part) for part in (error["message"], error.get("details", "")))
    assert "supervisor" in told and "1" in told.replace(ref, "")
    assert "3" not in told.replace(ref, ""), told
