"""Red team round 18, R-F5 (low): after INM's supervisor said "different people" on a possible duplicate of its record
with ICE's, SRE's supervisor (a sending agency of INM's country, which reads INM's case) was told
`awaiting: "this_agency"` on the flag, and refused 403 `forbidden.duplicate.decide` when it decided. Whose word a
flag awaits is now told by the rule of who decides (`travel.duplicates._may_decide`): `this_agency` only to the agency
holding the other record; an agency holding neither is told nothing awaits it, and its page offers no decision."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.service import create_token, create_user
from tests.factories import PASSWORD, Api, World, ok
from tests.web.pages_helpers import login

SAID = {"decision": "different_people", "reason": "Personas distintas según entrevista y huellas."}


def _sre_supervisor(session: Session, world: World) -> None:
    user = create_user(session, None, username="sre.supervisor", full_name="sre.supervisor", agency_code="MX-SRE",
                       role="supervisor", password=PASSWORD)
    world.tokens["sre.supervisor"] = create_token(session, user, name="tests", longest_days=90)
    session.commit()


def _flags(api: Api, user: str, reference: str) -> list[tuple[str | None, str | None]]:
    return [(d["decision"], d["awaiting"]) for d in ok(api.get(user, f"/api/v1/cases/{reference}/possible-duplicates"))]


def test_only_the_agency_that_may_decide_is_told_the_decision_awaits_it(client: TestClient, world: World,
                                                                         session: Session) -> None:
    _sre_supervisor(session, world)
    api = Api(client, world)
    person = {"national_id": None, "given_names": "Yusmary Coromoto", "first_surname": "Lugo",
              "second_surname": "Barrios", "birth_date": "1988-09-23"}
    inm = str(api.ready_case(**person)["reference"])
    ice = str(api.register("ice.officer", **person)["reference"])
    api.screen(ice, ["pending_asylum_claim"], user="ice.officer")
    (flag,) = [d["flag"] for d in ok(api.get("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates"))]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates/{flag}/decision", SAID), 201)
    assert _flags(api, "inm.supervisor", inm) == [(None, "other_agency")]
    # SRE reads INM's case (one country's sending agencies share cases) but holds neither record: it may not decide,
    # and is not told that the decision awaits it (before: "this_agency").
    assert _flags(api, "sre.supervisor", inm) == [(None, None)]
    refused = api.post("sre.supervisor", f"/api/v1/cases/{inm}/possible-duplicates/{flag}/decision", SAID)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden.duplicate.decide", refused.text
    assert login(client, "sre.supervisor").status_code == 303
    page = client.get(f"/cases/{inm}")
    assert page.status_code == 200, page.text[:300]
    assert "La agencia del otro registro dijo" not in page.text
    assert f'/cases/{inm}/possible-duplicates/{flag}/decision' not in page.text
    client.cookies.clear()
    # INM's supervisor still has the form (the same person is its word alone); ICE's is told the decision awaits it.
    assert login(client, "inm.supervisor").status_code == 303
    assert f'/cases/{inm}/possible-duplicates/{flag}/decision' in client.get(f"/cases/{inm}").text
    client.cookies.clear()
    assert _flags(api, "ice.supervisor", ice) == [(None, "this_agency")]
    (ice_flag,) = [d["flag"] for d in ok(api.get("ice.supervisor", f"/api/v1/cases/{ice}/possible-duplicates"))]
    ok(api.post("ice.supervisor", f"/api/v1/cases/{ice}/possible-duplicates/{ice_flag}/decision", SAID), 201)
    assert _flags(api, "sre.supervisor", inm) == [("different_people", None)]
