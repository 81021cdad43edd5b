"""`retorno demo check` reads the whole database for a person holding two valid emergency travel documents of a state
(`one_emergency_document`; red team round 17, O-F2): the product supersedes one at every commit, and the check decides
the rule again over plain rows, so a door that forgot it cannot hide it."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.demo.check import check_demo
from retorno.documents.models import TravelDocument
from tests.factories import Api, World, ok

PERSON = {"given_names": "Rosendo", "first_surname": "Pabon", "second_surname": "Uzcategui", "sex": "M",
          "birth_date": "1970-03-04", "national_id": "V20282781"}


def _issued(api: Api, user: str) -> tuple[str, str]:
    case = api.register(user, **PERSON)
    api.screen(case["reference"], user=user)
    request = ok(api.post(user, f"/api/v1/cases/{case['reference']}/verification-request"), 201)["request"]
    ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/verification-decision",
                {"outcome": "verified", "registry_record": "REG-20282781", "request": request}), 201)
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/emergency-document"), 201)
    return case["reference"], issued["number"]


def _second_copy(session: Session, number: str, reference: str) -> TravelDocument:
    """The document of `number` written again for the case `reference`, as a door that forgot the rule would."""
    document = session.execute(sa.select(TravelDocument).where(TravelDocument.number == number)).scalar_one()
    case = session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one()
    twin = TravelDocument(**{column.key: getattr(document, column.key) for column in TravelDocument.__table__.columns
                             if column.key not in ("id", "case_id", "number")},
                          case_id=case.id, number=number[:-1] + ("9" if number[-1] != "9" else "8"))
    twin.identity_fingerprint = document.identity_fingerprint
    session.add(twin)
    session.flush()
    return twin


def test_the_check_names_a_person_holding_two_valid_emergency_documents(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    first, number = _issued(api, "inm.officer")
    # The same person's second record (its cédula links them), registered by another agency: no document of its own.
    second = api.register("ice.officer", **PERSON)["reference"]
    assert not check_demo(session).problems("one_emergency_document")
    assert check_demo(session).examined["one_emergency_document"] == 1
    twin = _second_copy(session, number, second)
    found = check_demo(session).problems("one_emergency_document")
    assert [f.subject for f in found] == [f"cases {', '.join(sorted((first, second)))}"], found
    assert number in found[0].message and twin.number in found[0].message and "VEN" in found[0].message
    # One not valid, withdrawn or expired is not held.
    for change, undo in ((("mrz_valid", False), ("mrz_valid", True)),
                         (("withdrawn_at", sa.func.now()), ("withdrawn_at", None)),
                         (("expiry_date", date.today() - timedelta(days=1)), ("expiry_date", twin.expiry_date))):
        setattr(twin, *change)
        session.flush()
        assert not check_demo(session).problems("one_emergency_document"), change
        setattr(twin, *undo)
        session.flush()
    assert check_demo(session).problems("one_emergency_document")
    session.rollback()
