"""Red team round 15, H2 (high): after a returnee's consent was withdrawn (by the operator holding the intake, or by the
receiving authority), any reintegration operator of the state recorded it again with the reference and the birth date
(201), read the returnee and their intake again and took the intake and the power to withdraw, though it may never
have held it. The birth date confirms nothing there: every operator of the state read it while the returnee took part.

A consent given again is recorded by the receiving authority's officers, or by the operator that held the intake when
it was withdrawn (`reintegration.service._may_consent_again`); to any other operator the returnee is as missing as a
wrong birth date makes them (the same 404, counted and audited the same way), at every door, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.errors import NotFound
from retorno.reintegration import service
from tests.edit_helpers import INTAKE, returnee
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

WITHDRAW = "la persona retira su consentimiento en la oficina"
HANDED = "la persona se mudó donde trabaja FUNDAPRO"


def _status(api: Api, user: str, path: str) -> int:
    return int(api.get(user, path).status_code)


def _taken_in_by_vuelta(api: Api) -> dict[str, Any]:
    """A returnee VUELTA took in: it recorded their consent (reference and birth date) and their intake."""
    (case,) = api.arrive(1, name="Retornada")
    ref = case["reference"]
    ok(api.post("op.officer", f"/api/v1/cases/{ref}/consent", {"birth_date": case["birth_date"]}), 201)
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", INTAKE))
    return case


def _gives(session: Session, ref: str) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "consent.give", AuditRecord.object_id == ref)).scalar_one())


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """An error answer but for its request id, which no two requests share."""
    return {name: value for name, value in body["error"].items() if name != "request_id"}


def _refused_as_missing(api: Api, session: Session, user: str, case: dict[str, Any]) -> None:
    """`user` records the consent again with the right birth date: answered as a wrong birth date is, nothing kept."""
    ref = case["reference"]
    gives = _gives(session, ref)
    wrong = api.post(user, f"/api/v1/cases/{ref}/consent", {"birth_date": "1901-01-01"})
    refused = api.post(user, f"/api/v1/cases/{ref}/consent", {"birth_date": case["birth_date"]})
    assert refused.status_code == wrong.status_code == 404, refused.text
    assert _answer(refused.json()) == _answer(wrong.json()), (refused.text, wrong.text)
    assert _gives(session, ref) == gives
    assert session.execute(sa.select(Case.state).where(Case.reference == ref)).scalar_one() == "closed"
    assert _status(api, user, f"/api/v1/cases/{ref}") == 404
    assert _status(api, user, f"/api/v1/cases/{ref}/intake") == 404
    assert ref not in {r["reference"] for r in ok(api.get(user, "/api/v1/returnees"))}


def test_withdrawn_by_the_holder_and_recorded_again_by_another_operator_is_refused_as_missing(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = _taken_in_by_vuelta(api)
    ref = case["reference"]
    # VUELTA hands the intake to FUNDAPRO, which then withdraws the returnee's consent.
    ok(api.post("op.officer", f"/api/v1/cases/{ref}/intake/transfer", {"operator": "VE-FUNDAPRO",
                                                                        "reason": HANDED}))
    ok(api.post("op2.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": WITHDRAW}))
    # VUELTA, which held the intake once, but not at the withdrawal, read the birth date while they took part.
    _refused_as_missing(api, session, "op.officer", case)
    # The page's form and a direct call of the service (an import, the console) are refused the same way.
    login(client, "op.officer")
    page = post_form(client, "/reintegration/consent", {"reference": ref, "birth_date": case["birth_date"]},
                     page="/reintegration/returnees")
    assert page.status_code == 404, page.status_code
    vuelta = session.execute(sa.select(User).where(User.username == "op.officer")).scalar_one()
    closed = session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
    with pytest.raises(NotFound), session.begin_nested():
        service.record_consent(session, vuelta, closed)
    assert _gives(session, ref) == 1 and _status(api, "op.officer", f"/api/v1/cases/{ref}") == 404
    # FUNDAPRO, the returnee's operator when they withdrew, records it again and holds the intake still.
    ok(api.post("op2.officer", f"/api/v1/cases/{ref}/consent", {"birth_date": case["birth_date"]}), 201)
    assert _status(api, "op2.officer", f"/api/v1/cases/{ref}/intake") == 200
    assert _status(api, "op.officer", f"/api/v1/cases/{ref}/intake") == 403


def test_withdrawn_by_the_receiving_authority_and_recorded_again_by_an_operator_that_never_held_it_is_refused(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = _taken_in_by_vuelta(api)
    ref = case["reference"]
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": WITHDRAW}))
    _refused_as_missing(api, session, "op2.officer", case)
    # VUELTA, which held the intake at the withdrawal, records the consent again: its returnee, no one else's.
    again = ok(api.post("op.officer", f"/api/v1/cases/{ref}/consent", {"birth_date": case["birth_date"]}), 201)
    assert again["state"] == "reintegration_intake", again
    assert _status(api, "op.officer", f"/api/v1/cases/{ref}/intake") == 200
    assert _status(api, "op2.officer", f"/api/v1/cases/{ref}/intake") == 403
    refused = api.post("op2.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": WITHDRAW})
    assert refused.status_code == 403, refused.text


def test_withdrawn_while_no_operator_held_it_only_the_receiving_authority_records_it_again(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = returnee(api)  # consent recorded by the receiving authority; no intake, so no operator holds it
    ref = case["reference"]
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent/withdraw", {"reason": WITHDRAW}))
    _refused_as_missing(api, session, "op.officer", case)
    # The receiving authority's officers see the returnee in person: the consent is theirs to record again, and the
    # first operator to record the intake takes them in, as after a first consent recorded by them.
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {}), 201)
    ok(api.put("op2.officer", f"/api/v1/cases/{ref}/intake", INTAKE))
    assert _status(api, "op2.officer", f"/api/v1/cases/{ref}/intake") == 200
    assert _status(api, "op.officer", f"/api/v1/cases/{ref}/intake") == 403
