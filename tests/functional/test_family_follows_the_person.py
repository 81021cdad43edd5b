"""Red team round 26c, F2 (high): a second record of a household's head (the same cédula, no household), verified,
documented and ready, went on a flight alone: 201, no supervisor's split; the household's own record of him could then
hold no seat (one person, one seat) and the rest of the family could not go without him. Family unity follows the
person: a passenger with another record of the same person (linked, or an undecided possible duplicate, as the one-seat
rule reads them) held by the same agency in a household brings that household into the rule, the other record counted
as on the flight with its person, at every door through the one rule."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.demo.check import check_demo
from retorno.flights.models import Passenger
from tests.factories import Api, World, ok


def test_a_second_record_of_a_head_of_household_does_not_fly_without_the_family(client: TestClient,
                                                                                world: World) -> None:
    api = Api(client, world)
    head = api.ready_case(household_reference="HOGAR-PERSONA-1", relationship_to_head="head", given_names="Javier",
                          first_surname="Bru", second_surname="Blanco", birth_date="1975-05-29",
                          national_id="V5468378")
    spouse = api.ready_case(household_reference="HOGAR-PERSONA-1", relationship_to_head="spouse",
                            given_names="Carmen", first_surname="Ruiz", birth_date="1979-01-03")["reference"]
    again = api.ready_case(given_names="Javier", first_surname="Bru", second_surname="Blanco",
                           birth_date="1975-05-29", national_id="V5468378")["reference"]
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [again]})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "safeguard.family_unity" and spouse in refused.text, refused.text
    # With the household, the person goes on the flight by one of the records.
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [again, spouse]}), 201)
    passengers = {p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))}
    assert passengers == {again, spouse} and head["reference"] not in passengers




def test_another_agencys_second_record_of_a_parent_does_not_fly_without_the_family(client: TestClient,
                                                                                    world: World) -> None:
    """Red team round 27, F1 (high): the rule followed the person only through the same agency's records. SRE's (and
    ICE's) second record of the mother of an INM household, the same cédula, verified and documented, went on a flight
    alone and was approved; her INM record and her ten-year-old stayed behind, no split, no concern on the child. Now
    whichever agency holds the other record, its household is in the rule; the refusal names none of it."""
    api = Api(client, world)
    mother = {"given_names": "Lucía Elena", "first_surname": "Quintana", "second_surname": "Ferrer", "sex": "F",
              "birth_date": "1988-03-14", "national_id": "V19283746"}
    head = api.ready_case(household_reference="RTFAM1", relationship_to_head="head", **mother)["reference"]
    child = api.ready_case(household_reference="RTFAM1", relationship_to_head="child", given_names="Sofía",
                           first_surname="Quintana", birth_date="2016-05-02", national_id=None)["reference"]
    flight = api.flight()["reference"]
    for sender in ("sre.officer", "ice.officer"):
        again = api.ready_case(sender, **mother)["reference"]
        theirs = flight if sender == "sre.officer" else api.flight(user=sender)["reference"]
        refused = api.post(sender, f"/api/v1/flights/{theirs}/passengers", {"cases": [again]})
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "safeguard.family_unity" and "held by another agency" in error["message"], error
        assert not any(secret in refused.text for secret in (head, child, "RTFAM1")), refused.text
        plan = ok(api.post(sender, "/api/v1/plans", {"flights": [theirs]}))
        assert not any(again in cases for cases in plan["manifests"].values()), plan
        assert plan["left_off"][again]["code"] == ("one_seat" if sender == "sre.officer" else "household_elsewhere")
    # The household travels by INM's records, together.
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [head, child]}), 201)



def test_the_planner_plans_a_person_with_the_household_of_their_other_record(client: TestClient, world: World) -> None:
    """The planner reads families as the rule does: a second record of a head of household, registered before the
    household's own record, was proposed alone (its household left off as doubled), and applying the plan was refused
    by family unity. The household and the records of its people are one unit of the plan: the person travels by one
    record, the household's own, with the family, on one flight; or all wait together."""
    api = Api(client, world)
    person = {"given_names": "Javier", "first_surname": "Bru", "second_surname": "Blanco", "birth_date": "1975-05-29",
              "national_id": "V5468378"}
    again = api.ready_case(**person)["reference"]
    head = api.ready_case(household_reference="HOGAR-PLAN-1", relationship_to_head="head", **person)["reference"]
    spouse = api.ready_case(household_reference="HOGAR-PLAN-1", relationship_to_head="spouse",
                            given_names="Carmen", first_surname="Ruiz", birth_date="1979-01-03")["reference"]
    flights = [api.flight()["reference"], api.flight()["reference"]]
    plan = ok(api.post("inm.officer", "/api/v1/plans", {"flights": flights}))
    (planned,) = [sorted(cases) for cases in plan["manifests"].values() if head in cases]
    assert planned == sorted([head, spouse]), plan
    assert plan["left_off"][again]["code"] == "one_seat", plan
    ok(api.post("inm.officer", "/api/v1/plans/apply", {"manifests": plan["manifests"]}))
    # With the household's own record not ready, the person's other record waits with the family.
    second = {**person, "given_names": "Rosa", "birth_date": "1981-07-14", "national_id": "V7135786"}
    lone = api.ready_case(**second)["reference"]
    api.register(household_reference="HOGAR-PLAN-2", relationship_to_head="head", **second)
    wife = api.ready_case(household_reference="HOGAR-PLAN-2", relationship_to_head="spouse", given_names="Inés",
                          first_surname="Mora", birth_date="1983-02-11")["reference"]
    plan = ok(api.post("inm.officer", "/api/v1/plans", {"flights": flights}))
    assert not any(ref in cases for cases in plan["manifests"].values() for ref in (lone, wife)), plan
    assert plan["left_off"][lone]["code"] == plan["left_off"][wife]["code"] == "household_not_ready", plan


def test_the_demo_check_reads_families_as_the_product_does(client: TestClient, world: World, session: Session) -> None:
    """Red team round 26c, F3 (medium): `retorno demo check` named a household split where an adult had left the
    process (withdrawn) and the product had rightly let the others go; it now reads the rule as the product does, and
    follows the person through another record as F2's rule does."""
    api = Api(client, world)
    adults = [api.ready_case(household_reference="HOGAR-CHEQUEO-1", relationship_to_head=relationship,
                             given_names=name, birth_date=born)["reference"]
              for relationship, name, born in (("head", "Ana", "1980-02-03"), ("spouse", "Luis", "1978-04-05"))]
    ok(api.post("inm.officer", f"/api/v1/cases/{adults[1]}/withdraw", {"reason": "Desistió del retorno."}))
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [adults[0]]}), 201)
    session.expire_all()
    assert not check_demo(session).problems("families_on_manifests")
    # A no-show's household (a member still in line) split by hand in the database is named.
    head = api.ready_case(household_reference="HOGAR-CHEQUEO-2", relationship_to_head="head", given_names="Eva",
                          national_id="V15392847")["reference"]
    other = api.ready_case(household_reference="HOGAR-CHEQUEO-2", relationship_to_head="spouse",
                           given_names="Raúl")["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [other, head]}), 201)
    session.expire_all()
    assert not check_demo(session).problems("families_on_manifests")
    session.execute(sa.update(Case).where(Case.reference == head).values(state="no_show"))
    session.execute(sa.delete(Passenger).where(Passenger.case_id == sa.select(Case.id).where(
        Case.reference == head).scalar_subquery()))
    found = [f.subject for f in check_demo(session).problems("families_on_manifests")]
    assert found == [f"household MX-INM/HOGAR-CHEQUEO-2 on {flight}"], found
