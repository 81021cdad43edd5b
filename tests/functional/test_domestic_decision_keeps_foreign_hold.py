"""Red team round 52, F1 (high): one country's "different people" on two of its records freed a person another
country's agency held. SRE registered a record with the names and birth date of INM's person and the cédula of ICE's
person, whose asylum claim was open: INM's person was held, flagged with SRE's record. INM's supervisor decided INM's
and SRE's records different people, INM's person went back to 'ready', and was approved on a manifest; ICE was never
asked. The decision speaks for INM's country only: INM's record stays counted with ICE's, flagged with it for both
agencies to decide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case, PossibleDuplicate
from tests.factories import Api, World, ok

SAID = {"decision": "different_people", "reason": "Son personas distintas según huellas y fotografía."}


def _state(session: Session, reference: str) -> str:
    session.expire_all()
    return str(session.execute(sa.select(Case.state).where(Case.reference == reference)).scalar_one())


def test_a_domestic_different_people_leaves_the_other_countrys_hold_to_both_agencies(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    held = api.register("ice.officer", given_names="Dayana", first_surname="Colmenares", second_surname="Rivas",
                        birth_date="1979-03-14", national_id="V18868909")["reference"]
    api.screen(held, ["pending_asylum_claim"], user="ice.officer")
    person = {"given_names": "Yoselin", "first_surname": "Marcano", "second_surname": "Ochoa",
              "birth_date": "1993-07-02", "national_id": "V20111222"}
    inm = api.ready_case(**person)["reference"]
    bridge = api.register("sre.officer", **{**person, "national_id": "V18868909"})["reference"]
    assert _state(session, inm) == "documented"
    flags = ok(api.get("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates"))
    (flag,) = [f["flag"] for f in flags if f["other"] == bridge]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates/{flag}/decision", SAID), 201)
    # Still held: flagged with ICE's record now, which INM may not read, undecided.
    assert _state(session, inm) == "documented"
    session.expire_all()
    ids = dict(session.execute(sa.select(Case.reference, Case.id).where(Case.reference.in_([inm, held]))).all())
    kept = session.execute(sa.select(PossibleDuplicate).where(
        sa.or_(sa.and_(PossibleDuplicate.case_id == ids[inm], PossibleDuplicate.other_case_id == ids[held]),
               sa.and_(PossibleDuplicate.case_id == ids[held], PossibleDuplicate.other_case_id == ids[inm])))
    ).scalar_one()
    assert kept.decision is None and kept.reason == "counted_through_decided_record"
    flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5))["reference"]
    added = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [inm]})
    assert added.status_code == 409, added.text
    # INM's word alone does not free it: the flag awaits ICE's.
    flags = ok(api.get("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates"))
    (other,) = [f["flag"] for f in flags if f["decision"] is None]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates/{other}/decision", SAID), 201)
    assert _state(session, inm) == "documented"
