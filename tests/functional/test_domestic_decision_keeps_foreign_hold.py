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


IMPORT_HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
                 "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")


def test_the_hold_is_kept_whatever_the_order_of_the_decision_and_the_link(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 53, F1 (high): the rule held in round 52's order only. With INM's "different people" decided
    first, and ICE's record, whose asylum claim is open, linked to SRE's record only later (ICE's registration, its
    correction of a cédula, an import), INM's person stayed 'ready' and was approved on a manifest."""
    api = Api(client, world)
    held: dict[str, str] = {}
    for door, cedula, given, year in (("registration", "V18868911", "Yoselin", 1991),
                                      ("correction", "V18868912", "Maribel", 1985),
                                      ("import", "V18868913", "Francis", 1972)):
        person = {"given_names": given, "first_surname": f"Marcano {door.title()}", "second_surname": "Ochoa",
                  "birth_date": f"{year}-07-02", "national_id": f"V2011{len(held)}222"}
        inm = api.ready_case(**person)["reference"]
        bridge = api.register("sre.officer", **{**person, "national_id": cedula})["reference"]
        flags = ok(api.get("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates"))
        (flag,) = [f["flag"] for f in flags if f["other"] == bridge]
        ok(api.post("inm.supervisor", f"/api/v1/cases/{inm}/possible-duplicates/{flag}/decision", SAID), 201)
        assert _state(session, inm) == "ready"
        theirs = {"given_names": f"Dayana {given}", "first_surname": f"Colmenares {door.title()}",
                  "second_surname": "Rivas", "birth_date": f"{year - 10}-03-14"}
        if door == "registration":
            x = api.register("ice.officer", **theirs, national_id=cedula)["reference"]
            api.screen(x, ["pending_asylum_claim"], user="ice.officer")
        elif door == "correction":
            x = api.register("ice.officer", **theirs, national_id="V7000001")["reference"]
            api.screen(x, ["pending_asylum_claim"], user="ice.officer")
            ok(api.patch("ice.officer", f"/api/v1/cases/{x}", {"national_id": cedula}))
        else:
            line = (f"ICE-53,{theirs['given_names']},{theirs['first_surname']},Rivas,F,{theirs['birth_date']},VEN,"
                    f"{cedula},Harlingen,HRL,2026-10-01\n")
            answer = client.post("/api/v1/cases/import", headers=world.headers("ice.officer"),
                                 files={"file": ("casos.csv", (IMPORT_HEADER + line).encode(), "text/csv")})
            assert answer.status_code in (200, 201), answer.text
            x = str(session.execute(sa.select(Case.reference).where(Case.agency_reference == "ICE-53")).scalar_one())
            api.screen(x, ["pending_asylum_claim"], user="ice.officer")
        held[door] = inm
        assert _state(session, inm) == "documented", door
        flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5))["reference"]
        added = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [inm]})
        assert added.status_code == 409, (door, added.text)
