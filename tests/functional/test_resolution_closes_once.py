"""Red team round 52, F5 (low, and more than noise): a resolution closed again, on an older screening, a concern a
resolution had closed already. With another concern still open on that screening, the supervisors' queue (which counts
a screening's concerns closed) took the screening for closed: the case left the queue while a concern was open."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.screening.models import ScreeningResolution
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

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


def _state(api: Api, ref: str, user: str = "inm.officer") -> str:
    return str(ok(api.get(user, f"/api/v1/cases/{ref}"))["state"])


def _held_by_ice(api: Api, cedula: str, surname: str) -> tuple[str, str]:
    """INM's ready record of a person, held back by an asylum claim ICE opened on its own record of the person."""
    person = {"national_id": cedula, "given_names": "Rosa", "first_surname": surname, "sex": "F",
              "birth_date": "1980-01-02"}
    inm = api.ready_case(**person)["reference"]
    ice = api.register("ice.officer", agency_reference=f"ICE-{cedula}", **person)["reference"]
    api.screen(ice, ["pending_asylum_claim"], user="ice.officer")
    assert _state(api, inm) == "documented"
    return inm, ice


def test_a_withdrawal_for_protection_is_reversed_only_saying_so_and_a_hold_lifted_releases_the_others(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 82. F1: ICE's supervisor resolved its record's asylum concern 'withdrawn' (the person not to be
    returned), then, on the withdrawn case, 'travel_permitted', taken as any resolution: the decision reversed and the
    hold on INM's record of the same person lifted, unsaid. F2: once lifted, INM's record stayed 'documented', refused
    'not ready to fly' with no reason, until someone changed it."""
    api = Api(client, world)
    inm, ice = _held_by_ice(api, "V18436353", "Paz")
    path = f"/api/v1/cases/{ice}/screenings/resolution"
    ok(api.post("ice.supervisor", path, {"decision": "withdrawn", "reason": "Asilo admitido: no procede el retorno"}),
       201)
    assert _state(api, ice, "ice.officer") == "withdrawn" and _state(api, inm) == "documented"
    # The protection record says the concern stays open.
    (screening,) = ok(api.get("ice.supervisor", f"/api/v1/cases/{ice}/screenings"))
    assert [(r["decision"], r["closed"]) for r in screening["resolutions"]] == [("withdrawn", False)]
    permitted = {"decision": "travel_permitted", "reason": "Revisado de nuevo: el asilo fue denegado"}
    refused = api.post("ice.supervisor", path, permitted)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "resolution_reverses_withdrawal", \
        refused.text
    again = api.post("ice.supervisor", path, {"decision": "withdrawn", "reason": "Asilo admitido, otra vez"})
    assert again.status_code == 409, again.text
    assert _state(api, inm) == "documented"
    # Said so, it reverses the decision, on the audit trail, and INM's record goes on by itself.
    ok(api.post("ice.supervisor", path, {**permitted, "reverses_withdrawal": True}), 201)
    assert _state(api, ice, "ice.officer") == "withdrawn" and _state(api, inm) == "ready"
    (screening,) = ok(api.get("ice.supervisor", f"/api/v1/cases/{ice}/screenings"))
    assert [(r["decision"], r["closed"]) for r in screening["resolutions"]] == [
        ("withdrawn", False), ("travel_permitted", True)]
    resolved = session.execute(sa.select(AuditRecord.after).where(
        AuditRecord.action == "screening.resolve", AuditRecord.object_id == ice).order_by(AuditRecord.seq)).scalars()
    assert [(after["decision"], after.get("reverses_withdrawal")) for after in resolved] == [
        ("withdrawn", None), ("travel_permitted", True)]
    nothing = api.post("inm.supervisor", f"/api/v1/cases/{inm}/screenings/resolution",
                       {**permitted, "reverses_withdrawal": True})
    assert nothing.status_code == 422, nothing.text


def test_a_concern_resolved_on_one_record_releases_the_persons_other_record(client: TestClient, world: World) -> None:
    """Round 82, F2 in its plain form: another agency's concern resolved 'travel permitted' leaves INM's record of the
    same person ready, not 'documented' until someone happens to change it."""
    api = Api(client, world)
    inm, ice = _held_by_ice(api, "V18436354", "Luz")
    ok(api.post("ice.supervisor", f"/api/v1/cases/{ice}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "Asilo denegado en firme: puede viajar"}), 201)
    assert _state(api, inm) == "ready"


def test_the_case_page_reverses_a_withdrawal_said_so(client: TestClient, world: World) -> None:
    """Red team round 83. F1: a withdrawn case's page linked to 'Ver y resolver' and had no form, so only the API and
    the console could reverse the withdrawal. F2: its history said 'Preocupación de protección resuelta' for a
    withdrawal, which leaves the concern open."""
    api = Api(client, world)
    inm, ice = _held_by_ice(api, "V18436355", "Mar")
    ok(api.post("ice.supervisor", f"/api/v1/cases/{ice}/screenings/resolution",
                {"decision": "withdrawn", "reason": "Asilo admitido: no procede el retorno"}), 201)
    login(client, "ice.supervisor")
    page = client.get(f"/cases/{ice}?protection=1")
    assert 'id="reverses-withdrawal"' in page.text and "Resolución de protección registrada" in page.text, \
        page.text[:3000]
    assert "Preocupación de protección resuelta" not in page.text
    action = f"/cases/{ice}/resolution"
    form = {"decision": "travel_permitted", "concerns": "pending_asylum_claim",
            "reason": "Revisado de nuevo: el asilo fue denegado"}
    unsaid = post_form(client, action, form, page=f"/cases/{ice}?protection=1")
    assert unsaid.status_code != 303 and "reverses_withdrawal" in unsaid.text, unsaid.text[:2000]
    assert _state(api, inm) == "documented"
    said = post_form(client, action, {**form, "reverses_withdrawal": "1"}, page=f"/cases/{ice}?protection=1")
    assert said.status_code == 303, said.text[:2000]
    assert _state(api, inm) == "ready"
