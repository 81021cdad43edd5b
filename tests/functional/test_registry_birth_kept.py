"""Red team round 16, tester M: the civil registry's birth date that makes a declared adult a minor was forgotten.

F2 (high): the children's rules read the registry date of the record's LATEST verified decision only. Verified again
against the same registry record without the date repeated (after an innocent correction of the place of birth), or
the person's other record (another agency's, linked as the same person by the cédula) verified without it, a girl 17
by the registry was an adult again: manifested alone, approved, locked, or a five-year-old's only adult. Now a registry
date once recorded for any record of the person counts for every children's rule at every step
(`facts.births_elsewhere`).
F7 (low): `registry_birth_date` was not validated (2030-01-01, 0001-01-01 taken): 422 `invalid_registry_birth_date`.
F8 (low): the case page's verification form had no registry birth date field.
F9 (low): 'a minor on the day of departure' was counted on the UTC date: an evening flight from the Americas, the
next day in UTC, took a girl 17 on the local day as an adult. Counted on the earliest of the UTC and the airports'
local dates (`Flight.children_day`)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.models import User
from retorno.verification.exchange import DecisionFileError
from retorno.verification.models import VerificationDecision, VerificationRequest
from tests.factories import Api, World, ok
from tests.functional.test_minor_by_registry import DECLARED, REGISTRY, _years_before, guard_refuses_alone
from tests.linker import import_file
from tests.web.pages_helpers import login, post_form

REASON = "Adulta según el pasaporte; se revisa con el registro civil."


def _concerns_open(api: Api, ref: str, user: str) -> bool:
    case = ok(api.get(user, f"/api/v1/cases/{ref}"))
    return bool(case.get("open_concerns"))


def _resolve_if_raised(api: Api, ref: str, sender: str) -> None:
    """A supervisor resolves the unaccompanied-child concern a step recorded (travel still needs a determination)."""
    supervisor = sender.split(".")[0] + ".supervisor"
    screenings = ok(api.get(supervisor, f"/api/v1/cases/{ref}/screenings"))
    if any("unaccompanied_child" in s["concerns"] for s in screenings):
        answer = api.post(supervisor, f"/api/v1/cases/{ref}/screenings/resolution",
                          {"decision": "travel_permitted", "reason": REASON})
        assert answer.status_code in (201, 422), answer.text  # 422: nothing left open to resolve


def _screen(api: Api, ref: str, sender: str) -> None:
    """Screened without concerns; a minor with no adult waiting is screened an unaccompanied child, then resolved."""
    screened = api.post(sender, f"/api/v1/cases/{ref}/screenings", {"concerns": []})
    if screened.status_code == 409 and screened.json()["error"]["code"] == "safeguard.children":
        api.screen(ref, ["unaccompanied_child"], user=sender)
        _resolve_if_raised(api, ref, sender)
    else:
        ok(screened, 201)


def _verify(api: Api, ref: str, sender: str, record: str, born: date | None = None) -> Any:
    request = ok(api.post(sender, f"/api/v1/cases/{ref}/verification-request"), 201)["request"]
    body: dict[str, Any] = {"outcome": "verified", "request": request, "registry_record": record}
    if born is not None:
        body["registry_birth_date"] = born.isoformat()
    return api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision", body)


def _verified_again(api: Api, ref: str, sender: str, record: str) -> dict[str, Any]:
    """The place of birth corrected (verification re-opened), verified again against `record` WITHOUT the registry
    date, a new passport filed, any concern the step recorded resolved: the case is ready again."""
    ok(api.patch(sender, f"/api/v1/cases/{ref}", {"place_of_birth": "Carora"}))
    request = api.open_request(ref)
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision",
                {"outcome": "verified", "request": request, "registry_record": record}), 201)
    case = ok(api.get(sender, f"/api/v1/cases/{ref}"))
    api.passport(case, user=sender)
    _resolve_if_raised(api, ref, sender)
    return ok(api.get(sender, f"/api/v1/cases/{ref}"))


def _minor_by_registry(api: Api, sender: str, record: str, **overrides: Any) -> dict[str, Any]:
    """A case declared 18, verified against `record` whose birth date makes her 17; the unaccompanied-child concern the
    verification records is resolved by a supervisor (adult by her passport), a passport is filed: ready."""
    case = api.register(sender, given_names="Marta", first_surname="Perdomo", second_surname="Lugo",
                        birth_date=DECLARED.isoformat(), **overrides)
    ref = case["reference"]
    _screen(api, ref, sender)
    ok(_verify(api, ref, sender, record, REGISTRY), 201)
    api.passport(case, user=sender)
    _resolve_if_raised(api, ref, sender)
    return case


def _refused_as_children(answer: Any) -> None:
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "safeguard.children", answer.text


def test_verified_again_against_the_same_record_without_the_date_she_stays_a_minor(
        client: TestClient, world: World) -> None:
    """F2, the steps in small: verified with the registry date (17), resolved; the place of birth corrected and the
    same registry record verified again without the date: she was manifested alone (201). Refused now."""
    api = Api(client, world)
    ref = _minor_by_registry(api, "inm.officer", "V31000222")["reference"]
    flight = api.flight()["reference"]
    _refused_as_children(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}))
    again = _verified_again(api, ref, "inm.officer", "V31000222")
    assert again["state"] == "ready", again
    _refused_as_children(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}))


def test_a_registry_date_of_another_record_of_the_person_counts(client: TestClient, world: World) -> None:
    """F2b: ICE's record verified with the registry date that makes her 17; INM's record of her (the same cédula)
    verified against another registry record without a date went on a flight alone. Refused now."""
    api = Api(client, world)
    ice = _minor_by_registry(api, "ice.officer", "V31999888", national_id="V31999888", nearest_airport="HRL")
    case = api.register("inm.officer", given_names="Marta", first_surname="Perdomo", second_surname="Lugo",
                        birth_date=DECLARED.isoformat(), national_id="V31999888")
    ref = case["reference"]
    assert ice["reference"] != ref
    _screen(api, ref, "inm.officer")
    ok(_verify(api, ref, "inm.officer", "V31999799"), (201, 409))
    if ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "verification_requested":
        # Verifying a record of a person verified against another registry record may need a supervisor's word.
        request = api.open_request(ref)
        ok(api.post("saime.supervisor", f"/api/v1/cases/{ref}/verification-decision",
                    {"outcome": "verified", "request": request, "registry_record": "V31999799",
                     "reason": "Registro duplicado de la misma persona en el registro civil."}), 201)
    api.passport(case)
    _resolve_if_raised(api, ref, "inm.officer")
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "ready"
    flight = api.flight()["reference"]
    _refused_as_children(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}))


def test_a_seventeen_year_old_is_not_a_childs_only_adult_after_a_reverification(
        client: TestClient, world: World) -> None:
    """F2c: a household's head 17 by the registry and her 5-year-old; the head verified again without the date: both
    went on a manifest, the child's only adult a minor. Refused now."""
    api = Api(client, world)
    head = _minor_by_registry(api, "inm.officer", "V31000353", household_reference="RB16-HH",
                              relationship_to_head="head")["reference"]
    child = api.register("inm.officer", given_names="Sofía", first_surname="Perdomo", second_surname="Lugo",
                         birth_date=_years_before(date.today(), 5).isoformat(), household_reference="RB16-HH",
                         relationship_to_head="child")
    _screen(api, child["reference"], "inm.officer")
    api.verify(child["reference"])
    api.passport(child)
    _resolve_if_raised(api, child["reference"], "inm.officer")
    _verified_again(api, head, "inm.officer", "V31000353")
    _resolve_if_raised(api, child["reference"], "inm.officer")
    flight = api.flight()["reference"]
    answer = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [head, child["reference"]]})
    assert answer.status_code == 409, answer.text
    _refused_as_children(answer)


def test_the_commit_time_guard_reads_a_registry_date_of_an_earlier_decision(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """A door that forgot the children's rule (a passenger row written straight to the table), after the
    re-verification without the date: the guard refuses the commit."""
    api = Api(client, world)
    ref = _minor_by_registry(api, "inm.officer", "V31000315")["reference"]
    _verified_again(api, ref, "inm.officer", "V31000315")
    flight = api.flight()["reference"]
    assert guard_refuses_alone(session_factory, ref, flight) == "safeguard.children"


@pytest.mark.parametrize("born", ["2999-01-01", "1899-12-31", "0001-01-01"])
def test_a_registry_birth_date_beyond_a_birth_dates_bounds_is_refused(client: TestClient, world: World,
                                                                      session: Session, born: str) -> None:
    """F7: in the future or before 1900: 422 naming the rule, nothing written (the request stays open)."""
    api = Api(client, world)
    case = api.register(birth_date="1995-05-05")
    ref = case["reference"]
    api.screen(ref)
    request = ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)["request"]
    refused = api.post("saime.officer", f"/api/v1/cases/{ref}/verification-decision",
                       {"outcome": "verified", "request": request, "registry_record": "V30346346",
                        "registry_birth_date": born})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_registry_birth_date", refused.text
    assert "registry_birth_date" in refused.json()["error"]["message"]
    assert session.execute(sa.select(VerificationDecision.id).join(VerificationRequest).where(
        VerificationRequest.reference == request)).first() is None
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "verification_requested"


def test_a_decisions_file_with_a_registry_birth_date_in_the_future_is_refused(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """F7, the decisions file: a verified line whose matched candidate was born in 2999 refuses the file."""
    api = Api(client, world)
    case = api.register(birth_date="1995-05-05")
    ref = case["reference"]
    api.screen(ref)
    request = ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)["request"]
    candidate = {"registry_record": "V30347347", "probability": 0.99, "deceased": False,
                 "record": {"given_names": "MARIA JOSE", "birth_date": "2999-05-05"}, "agreement": {}}
    with session_factory() as session:
        saime = session.execute(sa.select(User).where(User.username == "saime.officer")).scalar_one()
        with pytest.raises(DecisionFileError) as refused:
            import_file(session, saime, [json.dumps(
                {"request": request, "case": ref, "outcome": "verified", "method": "manual",
                 "registry_record": "V30347347", "candidates": [candidate], "reason": None})])
        assert "registry_birth_date" in str(refused.value)
        session.rollback()
    assert ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] == "verification_requested"


def test_the_case_pages_verification_form_takes_the_registry_birth_date(client: TestClient, world: World,
                                                                         session: Session) -> None:
    """F8: the field is on the case page's form; what it says is recorded, and checked as the API's."""
    api = Api(client, world)
    case = api.register(given_names="Yorgelis", birth_date=DECLARED.isoformat())
    ref = case["reference"]
    api.screen(ref)
    request = ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)["request"]
    login(client, "saime.officer")
    page = client.get(f"/cases/{ref}").text
    assert 'name="registry_birth_date"' in page, page
    form = {"request": request, "outcome": "verified", "registry_record": "V30371371"}
    future = post_form(client, f"/cases/{ref}/verification-decision", {**form, "registry_birth_date": "2999-01-01"},
                       page=f"/cases/{ref}")
    assert future.status_code == 422, future.text
    done = post_form(client, f"/cases/{ref}/verification-decision",
                     {**form, "registry_birth_date": REGISTRY.isoformat()}, page=f"/cases/{ref}")
    assert done.status_code == 303, done.text
    stored = session.execute(sa.select(VerificationDecision.registry_birth_date)
                             .where(VerificationDecision.registry_record == "V30371371")).scalar_one()
    assert stored == REGISTRY


def test_the_day_of_departure_is_its_earliest_calendar_date() -> None:
    """F9: 02:36 UTC on 4 December is 20:36 on 3 December at Harlingen and 22:36 at Caracas: the 3rd."""
    from retorno.flights.airports import earliest_day

    assert earliest_day(datetime(2026, 12, 4, 2, 36, tzinfo=UTC), "HRL", "CCS") == date(2026, 12, 3)
    assert earliest_day(datetime(2026, 12, 4, 12, 0, tzinfo=UTC), "HRL", "CCS") == date(2026, 12, 4)
    assert earliest_day(datetime(2026, 12, 4, 2, 36), "TAP") == date(2026, 12, 3)


def test_an_evening_flight_counts_the_age_on_the_local_day(client: TestClient, world: World) -> None:
    """F9: she turns 18 on the UTC date of the departure, but the flight leaves Tapachula the evening before (local):
    she is 17 on the day of departure there, and travels only as a minor does."""
    api = Api(client, world)
    birthday = date.today() + timedelta(days=12)
    case = api.ready_case(given_names="Yorgelis", first_surname="Brito", second_surname="Camacho",
                          birth_date=_years_before(birthday, 18).isoformat())
    evening = datetime(birthday.year, birthday.month, birthday.day, 2, 36, tzinfo=UTC)  # 20:36 the day before at TAP
    flight = api.flight(origin="TAP", departure=evening)["reference"]
    _refused_as_children(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                                  {"cases": [case["reference"]]}))
    noon = datetime(birthday.year, birthday.month, birthday.day, 18, 0, tzinfo=UTC)  # 12:00 on her birthday at TAP
    later = api.flight(origin="TAP", departure=noon)["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{later}/passengers", {"cases": [case["reference"]]}), 201)


def test_a_registry_date_recorded_on_one_record_takes_the_persons_other_record_off_its_manifest(
        client: TestClient, world: World) -> None:
    """F2b the other way round: ICE's record (declared 18) is on ICE's manifest when INM's record of her (the same
    cédula) is verified against a registry record that makes her 17: she is an unaccompanied child on both records
    from that moment, and ICE's is taken off its manifest (it stayed on, an adult alone, and was approved)."""
    api = Api(client, world)
    ice = api.ready_case("ice.officer", given_names="Yusmary", first_surname="Colmenares", second_surname="Pernia",
                         birth_date=DECLARED.isoformat(), national_id="V31999777", nearest_airport="HRL")
    flight = api.flight(user="ice.officer")["reference"]
    ok(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ice["reference"]]}), 201)
    case = api.register("inm.officer", given_names="Yusmary", first_surname="Colmenares", second_surname="Pernia",
                        birth_date=DECLARED.isoformat(), national_id="V31999777")
    ref = case["reference"]
    _screen(api, ref, "inm.officer")
    answer = _verify(api, ref, "inm.officer", "V31999777", REGISTRY)
    if answer.status_code == 409 and answer.json()["error"]["code"] != "safeguard.children":
        request = api.open_request(ref)
        answer = api.post("saime.supervisor", f"/api/v1/cases/{ref}/verification-decision",
                          {"outcome": "verified", "request": request, "registry_record": "V31999777",
                           "registry_birth_date": REGISTRY.isoformat(),
                           "reason": "Registro civil de la misma persona, cédula V31999777."})
    ok(answer, 201)
    listed = [p["case"] for p in ok(api.get("ice.officer", f"/api/v1/flights/{flight}/passengers"))
              if p["approval"] != "removed"]
    assert ice["reference"] not in listed, listed
    screenings = ok(api.get("ice.supervisor", f"/api/v1/cases/{ice['reference']}/screenings"))
    assert any("unaccompanied_child" in s["concerns"] for s in screenings), screenings
