"""Red team round 53, F2 (high): a chain of two undecided possible duplicates never held the first record. ICE's
record had an asylum claim open; INM's, of the same name born two days apart, was not alike enough to be flagged with
it; SRE's, born between the two, was flagged with both. SRE's was held, INM's stayed 'ready' and was approved on a
manifest: the hold read one flag deep. A possible duplicate of a possible duplicate may be the person as much as the
first, as `retorno demo check` reads people (transitively): INM's is held until a supervisor decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case, PossibleDuplicate
from retorno.demo.check import check_demo
from tests.factories import Api, World, ok

PERSON = {"given_names": "Yusmary Carolina", "first_surname": "Guaramato", "second_surname": "Lezama", "sex": "F"}
SAID = {"decision": "different_people", "reason": "Son personas distintas según huellas y fotografía."}


def _state(session: Session, reference: str) -> str:
    session.expire_all()
    return str(session.execute(sa.select(Case.state).where(Case.reference == reference)).scalar_one())


def _flagged(session: Session, one: str, other: str) -> bool:
    ids = dict(session.execute(sa.select(Case.reference, Case.id).where(Case.reference.in_([one, other]))).all())
    return session.execute(sa.select(PossibleDuplicate.id).where(
        sa.or_(sa.and_(PossibleDuplicate.case_id == ids[one], PossibleDuplicate.other_case_id == ids[other]),
               sa.and_(PossibleDuplicate.case_id == ids[other], PossibleDuplicate.other_case_id == ids[one])))
    ).first() is not None


def test_a_possible_duplicate_of_a_possible_duplicate_with_a_concern_holds(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ice = api.register("ice.officer", **PERSON, birth_date="1988-04-08", national_id="V17300001")["reference"]
    api.screen(ice, ["pending_asylum_claim"], user="ice.officer")
    inm = api.ready_case(**PERSON, birth_date="1988-04-10", national_id="V17300002")["reference"]
    assert not _flagged(session, inm, ice) and _state(session, inm) == "ready"
    flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5))["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [inm]}), 201)
    # SRE's record, born between the two, alike to both: INM's passenger leaves the manifest, held.
    sre = api.register("sre.officer", **PERSON, birth_date="1988-04-09", national_id="V17300003")["reference"]
    assert _flagged(session, sre, inm) and _flagged(session, sre, ice) and not _flagged(session, inm, ice)
    assert _state(session, inm) == "documented"
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [inm]})
    assert refused.status_code == 409, refused.text
    assert check_demo(session).problems("cleared_and_verified") == []
    # INM's supervisor decides its two records different people: a word for Mexico only (as round 52, F1), so INM's
    # record is flagged with ICE's, and stays held until both agencies decide that pair.
    flags = ok(api.get("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates"))
    (flag,) = [f["flag"] for f in flags if f["other"] == sre]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates/{flag}/decision", SAID), 201)
    assert _flagged(session, inm, ice) and _state(session, inm) == "documented"
    (pending,) = [f["flag"] for f in ok(api.get("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates"))
                  if f["decision"] is None]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates/{pending}/decision", SAID), 201)
    assert _state(session, inm) == "documented"
    (theirs,) = [f["flag"] for f in ok(api.get("ice.supervisor", f"/api/v1/cases/{ice}/possible-duplicates"))
                 if f["awaiting"] == "this_agency"]
    ok(api.post("ice.supervisor", f"/api/v1/cases/{ice}/possible-duplicates/{theirs}/decision", SAID), 201)
    assert _state(session, inm) == "ready"
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [inm]}), 201)
