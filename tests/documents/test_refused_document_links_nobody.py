"""A document refused as another person's links nobody; the answer to filing tells the state committed (red team 18).

S-F2: ICE filed, on its unrelated record (other names, other birth date), the number of a passport INM's record held.
The filing was answered `valid: false`, `document_held_by_another`, yet the document made the two records one person:
SAIME's emergency passport on INM's record was superseded, INM's timeline named the emergency passport of ICE's record
as the one kept, and a concern ICE raised on its own record pulled INM's person off a manifest. A document refused as
another identity's (`documents.models.links_records`) links nobody now: not in the same-person query, nor one
emergency document per person; nor one filed after a number a stranger's record filed first with another problem (an
expiry) holds. The two records are possible duplicates instead (red team round 19, T-F1): a concern open on either
holds the other until supervisors decide, the safer error.

R-F3: the answer to filing a document said `case_state: "ready"` while the same commit superseded the case's only
valid emergency document (the commit-time invariant) and saved it `documented`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases import facts
from retorno.cases.models import Case, PossibleDuplicate
from retorno.demo import check
from retorno.documents import mrz
from retorno.documents import service as documents
from tests.factories import Api, World, ok

LUIS = {"given_names": "Luis Alfonso", "first_surname": "Perez", "second_surname": "Gonzalez", "sex": "M",
        "birth_date": "2001-01-07"}
ZACARIAS = {"given_names": "Zacarias Elpidio", "first_surname": "Quintanilla", "second_surname": "Rojo", "sex": "M",
            "birth_date": "1971-02-14"}
ROSENDO = {"given_names": "Rosendo", "first_surname": "Pabon", "second_surname": "Uzcategui", "sex": "M",
           "birth_date": "1970-03-04"}
NUMBER = "C7731QX55"
CONCERN = "pending_asylum_claim"
DIFFERENT = {"decision": "different_people", "reason": "Huellas y fotografía distintas: son dos personas."}


def _passport(person: dict[str, Any], number: str = NUMBER, *, expiry: date | None = None) -> str:
    return mrz.build_td3(document_code="P", issuing_state="VEN",
                         surnames=f"{person['first_surname']} {person['second_surname']}",
                         given_names=person["given_names"], document_number=number, nationality="VEN",
                         birth_date=date.fromisoformat(person["birth_date"]), sex=person["sex"],
                         expiry_date=expiry or date.today() + timedelta(days=1500))


def _verified(api: Api, user: str, person: dict[str, Any]) -> dict[str, Any]:
    case = api.register(user, national_id=None, **person)
    api.screen(case["reference"], user=user)
    api.verify(case["reference"], user)
    return case


def _issued(api: Api, reference: str) -> dict[str, Any]:
    return dict(ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201))


def _document(api: Api, reference: str, number: str, user: str) -> dict[str, Any]:
    return next(d for d in ok(api.get(user, f"/api/v1/cases/{reference}/documents")) if d["number"] == number)


def _state(api: Api, reference: str, user: str = "inm.officer") -> str:
    return str(ok(api.get(user, f"/api/v1/cases/{reference}"))["state"])


def _case_id(session: Session, reference: str) -> int:
    return int(session.execute(sa.select(Case.id).where(Case.reference == reference)).scalar_one())


def _linked(session_factory: sessionmaker[Session], first: str, second: str) -> bool:
    with session_factory() as session:
        one, other = _case_id(session, first), _case_id(session, second)
        return other in facts.same_person(session, [one]).get(one, {})


@pytest.mark.parametrize("order", ["inm_first", "ice_first_expired"])
def test_a_document_refused_as_another_persons_links_nobody(
        client: TestClient, world: World, session_factory: sessionmaker[Session], order: str) -> None:
    api = Api(client, world)
    # ICE's unrelated record, its emergency passport issued first (the one a link would keep).
    theirs = _verified(api, "ice.officer", ZACARIAS)
    kept = _issued(api, theirs["reference"])
    ours = _verified(api, "inm.officer", LUIS)
    issued = _issued(api, ours["reference"])
    assert _state(api, ours["reference"]) == "ready"
    if order == "inm_first":
        # INM files Luis' passport; ICE files its number on its own record: refused as another identity's.
        assert ok(api.post("inm.officer", f"/api/v1/cases/{ours['reference']}/documents",
                           {"mrz": _passport(LUIS)}), 201)["valid"]
        filed = ok(api.post("ice.officer", f"/api/v1/cases/{theirs['reference']}/documents",
                            {"mrz": _passport(ZACARIAS)}), 201)
        assert filed["valid"] is False and "document_held_by_another" in [p["code"] for p in filed["problems"]]
    else:
        # ICE files the number first, expired (not valid for another reason): INM's passport filed after it is refused
        # as another identity's, not made a link between the two records.
        filed = ok(api.post("ice.officer", f"/api/v1/cases/{theirs['reference']}/documents",
                            {"mrz": _passport(ZACARIAS, expiry=date.today() - timedelta(days=30))}), 201)
        assert filed["valid"] is False and "expired" in [p["code"] for p in filed["problems"]], filed
        refused = ok(api.post("inm.officer", f"/api/v1/cases/{ours['reference']}/documents",
                              {"mrz": _passport(LUIS)}), 201)
        assert "document_held_by_another" in [p["code"] for p in refused["problems"]], refused
    assert not _linked(session_factory, ours["reference"], theirs["reference"])

    # Luis' emergency passport is his still: valid, printable, not superseded; nothing audited on his record.
    own = _document(api, ours["reference"], issued["number"], "inm.officer")
    assert own["valid"] and own["problems"] == [], own
    printed = api.get("saime.officer", f"/api/v1/emergency-documents/{issued['number']}.pdf")
    assert printed.status_code == 200, printed.text
    assert _document(api, theirs["reference"], kept["number"], "ice.officer")["valid"]
    timeline = api.get("inm.officer", f"/api/v1/cases/{ours['reference']}/timeline").text
    assert "document.superseded" not in timeline and kept["number"] not in timeline
    assert _state(api, ours["reference"]) == "ready"

    # Not one person, but possible duplicates (red team round 19, T-F1): two identities under one number may be one
    # person, so a concern ICE raises on its own record holds Luis until both agencies' supervisors decide.
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ours["reference"]]}), 201)
    api.screen(theirs["reference"], [CONCERN], user="ice.officer")
    assert _state(api, ours["reference"]) == "documented"
    for user, case in (("inm.supervisor", ours), ("ice.supervisor", theirs)):
        (flag,) = ok(api.get(user, f"/api/v1/cases/{case['reference']}/possible-duplicates"))
        ok(api.post(user, f"/api/v1/cases/{case['reference']}/possible-duplicates/{flag['flag']}/decision",
                    DIFFERENT), 201)
    assert _state(api, ours["reference"]) == "ready"
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ours["reference"]]}), 201)

    with session_factory() as session:
        # Nor counted as one person anywhere else: records alike (once decided two people), one emergency document
        # per person (the whole database too), `retorno demo check`'s people; the one possible duplicate written says
        # why.
        one, other = _case_id(session, ours["reference"]), _case_id(session, theirs["reference"])
        assert other not in facts.records_alike(session, [one]).get(one, set())
        assert documents.held_twice(session, [one, other]) == [] and documents.held_twice(session, None) == []
        assert documents.one_emergency_document(session, None) == []
        people = check._people_as_one(session, check._Demo(session))
        assert people[one] != people[other]
        assert session.execute(sa.select(PossibleDuplicate.reason)).scalars().all() == ["document_held_by_another"]
        session.rollback()


def test_the_answer_to_filing_tells_the_state_the_commit_saved(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """R-F3: a document that links two records of one identity, each holding an emergency passport: the later one is
    superseded in the same commit, and the answer says so (its record `documented`, not `ready`)."""
    api = Api(client, world)
    ours = _verified(api, "inm.officer", ROSENDO)
    theirs = _verified(api, "ice.officer", ROSENDO)
    # Alike, a possible duplicate: both agencies' supervisors decide they are two people, each is issued one.
    for user, case in (("inm.supervisor", ours), ("ice.supervisor", theirs)):
        (flag,) = ok(api.get(user, f"/api/v1/cases/{case['reference']}/possible-duplicates"))
        ok(api.post(user, f"/api/v1/cases/{case['reference']}/possible-duplicates/{flag['flag']}/decision",
                    DIFFERENT), 201)
    first = _issued(api, ours["reference"])
    second = _issued(api, theirs["reference"])
    assert _state(api, theirs["reference"], "ice.officer") == "ready"
    ok(api.post("inm.officer", f"/api/v1/cases/{ours['reference']}/documents", {"mrz": _passport(ROSENDO)}), 201)
    # The same passport (expired) filed on ICE's record: the same identity, so a link; the records are one person.
    filed = ok(api.post("ice.officer", f"/api/v1/cases/{theirs['reference']}/documents",
                        {"mrz": _passport(ROSENDO, expiry=date.today() - timedelta(days=30))}), 201)
    assert _linked(session_factory, ours["reference"], theirs["reference"])
    gone = _document(api, theirs["reference"], second["number"], "ice.officer")
    assert not gone["valid"] and "document_superseded" in [p["code"] for p in gone["problems"]], gone
    assert _document(api, ours["reference"], first["number"], "inm.officer")["valid"]
    saved = _state(api, theirs["reference"], "ice.officer")
    assert saved == "documented"
    assert filed["case_state"] == saved, filed
    with session_factory() as session:
        audited = session.execute(sa.select(AuditRecord).where(
            AuditRecord.action == "document.superseded", AuditRecord.object_id == theirs["reference"])).scalars().all()
        # The document kept is on another agency's record: not named in the timeline ICE reads.
        assert [a.after.get("kept") for a in audited] == [None] and first["number"] not in str(
            [a.after for a in audited]), [a.after for a in audited]
    timeline = api.get("ice.officer", f"/api/v1/cases/{theirs['reference']}/timeline").text
    assert "document.superseded" in timeline and first["number"] not in timeline
