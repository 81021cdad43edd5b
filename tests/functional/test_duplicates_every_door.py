"""A possible duplicate is flagged by every door that makes a case or changes who it says the person is, against
every sending agency's cases (red team, medium; SPEC.md 4.1: "No role, API call, import or bulk action gets around
it").

The flag was written only by an import, and only against the importing country's own cases: the same person
registered through the API with the surnames swapped, registered by another country's agency (detained in the United
States, then moved to Mexico), or made to look like a person with a protection concern by a correction of the names
or the birth date, was never compared, and could be made ready, manifested, approved and boarded while the other
record had an asylum or trafficking concern open. Another agency's record is named to nobody: its flag reads
"another agency", and a supervisor of either agency decides it by the flag's number.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno import identifiers
from retorno.cases.models import Case, PossibleDuplicate
from retorno.flights.models import ACTIVE_APPROVALS
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login, post_form

HELD = "possible duplicate %s has an open protection concern: a supervisor decides whether they are one person"
ELSEWHERE = "one another agency holds open for the same person"
HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
# Rosa Elena Peña Rodríguez, born 17 May 1990, no cédula; and the same person with her surnames swapped.
ROSA = {"national_id": None, "given_names": "Rosa Elena", "first_surname": "Peña", "second_surname": "Rodríguez",
        "birth_date": "1990-05-17"}
SWAPPED = {**ROSA, "first_surname": "Rodríguez", "second_surname": "Peña"}
# Someone else altogether.
LUISA = {"national_id": None, "given_names": "Luisa Fernanda", "first_surname": "Gómez", "second_surname": "Díaz",
         "birth_date": "1984-02-23"}


def _concern(api: Api, user: str = "inm.officer", **person: Any) -> str:
    """A record whose person has a trafficking concern open."""
    reference = str(api.register(user, **(person or ROSA))["reference"])
    api.screen(reference, ["trafficking_victim"], user=user)
    return reference


def _flags(api: Api, user: str, reference: str) -> list[dict[str, Any]]:
    return list(ok(api.get(user, f"/api/v1/cases/{reference}/possible-duplicates")))


def _state(api: Api, reference: str, user: str = "inm.officer") -> str:
    return str(ok(api.get(user, f"/api/v1/cases/{reference}"))["state"])


def _screened_verified_documented(api: Api, case: dict[str, Any], user: str = "inm.officer") -> str:
    """Screened without a concern, verified and with a valid passport: 'ready' unless something holds it back."""
    api.screen(case["reference"], [], user=user)
    api.verify(case["reference"], user)
    return str(api.passport(case, user=user)["case_state"])


def _on_flight(api: Api, reference: str, user: str = "inm.officer") -> str:
    flight = str(api.flight(user=user)["reference"])
    ok(api.post(user, f"/api/v1/flights/{flight}/passengers", {"cases": [reference]}), 201)
    ok(api.post(user, f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{reference}/decision", {"approve": True}))
    return flight


def _aboard(api: Api, flight: str, user: str = "inm.officer") -> list[str]:
    listed = ok(api.get(user, f"/api/v1/flights/{flight}/passengers"))
    return [p["case"] for p in listed if p["approval"] in ACTIVE_APPROVALS]


def _refused_onto_a_manifest(api: Api, reference: str, said: str, user: str = "inm.officer") -> None:
    flight = api.flight(user=user)["reference"]
    refused = api.post(user, f"/api/v1/flights/{flight}/passengers", {"cases": [reference]})
    assert refused.status_code == 409, refused.text
    assert said in refused.json()["error"]["message"], refused.text


def _import(client: TestClient, world: World, user: str, reference: str, person: dict[str, Any]) -> Any:
    born = date.fromisoformat(person["birth_date"]).strftime("%Y-%m-%d")
    row = (f"{reference},{person['given_names']},{person['first_surname']},{person['second_surname']},F,{born},VEN,"
           f"{person.get('national_id') or ''},Tapachula,TAP,"
           f"{(date.today() - timedelta(days=30)).strftime('%Y-%m-%d')}\n")
    upload = {"file": ("lista.csv", (HEADER + row).encode(), "text/csv")}
    return ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers(user)), 201)


def _by_agency_reference(session_factory: sessionmaker[Session], agency_reference: str) -> str:
    """The case whose own reference is `agency_reference` as typed (stored folded, letters in capitals)."""
    with session_factory() as session:
        return str(session.execute(sa.select(Case.reference).where(
            Case.agency_reference == identifiers.reference(agency_reference))).scalar_one())


def test_an_api_registration_with_the_surnames_swapped_is_flagged_and_held(client: TestClient,
                                                                           world: World) -> None:
    api = Api(client, world)
    rosa = _concern(api)
    twin = api.register(**SWAPPED)
    shown = _flags(api, "inm.officer", twin["reference"])
    assert [(d["other"], d["decision"], d["holding"]) for d in shown] == [(rosa, None, True)], shown
    assert "surnames swapped" in shown[0]["reason"]
    assert [(d["other"], d["holding"]) for d in _flags(api, "inm.officer", rosa)] == [(twin["reference"], True)]
    assert _screened_verified_documented(api, twin) == "documented"
    _refused_onto_a_manifest(api, twin["reference"], HELD % rosa)


def test_a_registration_on_the_page_is_flagged_too(client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa = _concern(api)
    login(client, "inm.officer")
    form = {"agency_reference": "PAGE-1", "given_names": "Roza Elena", "first_surname": "Rodríguez",
            "second_surname": "Peña", "sex": "F", "birth_date": "1990-05-17", "nationality": "VEN",
            "held_at": "Tapachula", "detained_since": (date.today() - timedelta(days=9)).isoformat(),
            "language": "es"}
    done = post_form(client, "/cases/new", form, page="/cases/new")
    assert done.status_code == 303, done.text
    twin = done.headers["location"].rsplit("/", 1)[-1]
    assert [(d["other"], d["holding"]) for d in _flags(api, "inm.officer", twin)] == [(rosa, True)]


def test_a_new_record_of_a_person_with_a_concern_takes_a_passenger_alike_off_the_manifest(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    passenger = api.ready_case(**ROSA)["reference"]
    flight = _on_flight(api, passenger)
    # A record with a concern open, whose cédula the new record carries: the new record's person has it.
    concerned = _concern(api, **{**LUISA, "national_id": "V24681357"})
    newcomer = api.register(**{**SWAPPED, "national_id": "V24681357"})["reference"]
    assert passenger not in _aboard(api, flight)
    assert _state(api, passenger) == "documented"
    assert [(d["other"], d["holding"]) for d in _flags(api, "inm.officer", passenger)] == [(newcomer, True)]
    assert concerned != newcomer


def test_another_countrys_record_alike_is_flagged_named_as_another_agency_and_held(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa = _concern(api)
    twin = api.register("ice.officer", **SWAPPED)
    shown = _flags(api, "ice.officer", twin["reference"])
    # Of a record it may not see, the flag tells only that it exists, to be decided: not how alike, nor whether
    # that person has a concern open (red team round 5, A-F5/B-F1); the hold is told by the refusals below.
    assert [(d["other"], d["decision"], d["holding"], d["score"]) for d in shown] == [
        ("another agency", None, None, None)], shown
    assert shown[0]["reason"] == "alike to a record another agency holds"
    assert isinstance(shown[0]["flag"], int)
    assert rosa not in str(shown)
    # The other side sees its record's flag, the twin named as another agency too.
    theirs = _flags(api, "inm.officer", rosa)
    # The record with the concern (INM's): its own flag tells that it holds.
    assert [(d["other"], d["flag"], d["holding"]) for d in theirs] == [("another agency", shown[0]["flag"], True)]
    assert twin["reference"] not in str(theirs)
    # Neither agency reads the other's record through the flag.
    assert api.get("ice.officer", f"/api/v1/cases/{rosa}").status_code == 404
    assert api.get("ice.officer", f"/api/v1/cases/{rosa}/possible-duplicates").status_code == 404
    assert _screened_verified_documented(api, twin, "ice.officer") == "documented"
    _refused_onto_a_manifest(api, twin["reference"], ELSEWHERE, "ice.officer")
    flight = api.flight(user="ice.officer")["reference"]
    refused = api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [twin["reference"]]})
    assert rosa not in refused.text
    # On the case page as well.
    login(client, "ice.officer")
    page = client.get(f"/cases/{twin['reference']}")
    assert page.status_code == 200 and "otra agencia" in page.text and rosa not in page.text


def test_an_import_compares_with_another_countrys_records(client: TestClient, world: World,
                                                         session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    held_in_the_us = _concern(api, "ice.officer")
    outcome = _import(client, world, "inm.officer", "IMP-1", SWAPPED)
    assert outcome["possible_duplicates"] == 1, outcome
    assert held_in_the_us not in str(outcome)
    # The report compares no field with a record another country holds (red team round 5, B-F1): it says they are
    # alike, not how (before: "surnames swapped", confirming a guess about a person held there).
    assert "swapped" not in str(outcome) and "invertidos" not in str(outcome), outcome
    assert "se parecen" in str(outcome) or "they are alike" in str(outcome), outcome
    twin = _by_agency_reference(session_factory, "IMP-1")
    assert [(d["other"], d["holding"]) for d in _flags(api, "inm.officer", twin)] == [("another agency", None)]
    # And the other way: the United States' import of the same person is compared with Mexico's records.
    rosa = _concern(api, **{**ROSA, "given_names": "Rosa Helena"})
    outcome = _import(client, world, "ice.officer", "IMP-2", {**SWAPPED, "given_names": "Rosa Helena"})
    assert outcome["possible_duplicates"] >= 1, outcome
    assert rosa not in str(outcome)


def test_a_passenger_is_taken_off_when_another_countrys_record_alike_raises_a_concern(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    passenger = api.ready_case(**ROSA)["reference"]
    flight = _on_flight(api, passenger)
    twin = api.register("ice.officer", **SWAPPED)["reference"]
    assert passenger in _aboard(api, flight)  # a flag alone, no concern: nothing held
    api.screen(twin, ["pending_asylum_claim"], user="ice.officer")
    assert passenger not in _aboard(api, flight)
    assert _state(api, passenger) == "documented"


def test_a_correction_that_makes_a_case_look_like_a_person_with_a_concern_flags_it(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa = _concern(api)
    other = api.register(**LUISA)["reference"]
    assert _flags(api, "inm.officer", other) == []
    ok(api.patch("inm.officer", f"/api/v1/cases/{other}", {
        key: value for key, value in SWAPPED.items() if key != "national_id"}))
    assert [(d["other"], d["holding"]) for d in _flags(api, "inm.officer", other)] == [(rosa, True)]
    # Another correction that leaves the names as they are writes no second flag.
    ok(api.patch("inm.officer", f"/api/v1/cases/{other}", {"held_at": "Estación Migratoria de Acayucan"}))
    assert len(_flags(api, "inm.officer", other)) == 1


def test_a_correction_of_the_record_with_the_concern_takes_the_passenger_alike_off(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    passenger = api.ready_case(**ROSA)["reference"]
    flight = _on_flight(api, passenger)
    concerned = _concern(api, **LUISA)
    ok(api.patch("inm.officer", f"/api/v1/cases/{concerned}", {
        key: value for key, value in SWAPPED.items() if key != "national_id"}))
    assert passenger not in _aboard(api, flight)
    assert _state(api, passenger) == "documented"


def test_a_re_import_correcting_the_names_flags_the_case(client: TestClient, world: World,
                                                        session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    rosa = _concern(api)
    _import(client, world, "inm.officer", "IMP-3", LUISA)
    other = _by_agency_reference(session_factory, "IMP-3")
    assert _flags(api, "inm.officer", other) == []
    _import(client, world, "inm.officer", "IMP-3", SWAPPED)
    assert [(d["other"], d["holding"]) for d in _flags(api, "inm.officer", other)] == [(rosa, True)]


def test_a_supervisor_of_either_agency_decides_a_flag_across_countries_by_its_number(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    rosa = _concern(api)
    twin = api.register("ice.officer", **SWAPPED)
    assert _screened_verified_documented(api, twin, "ice.officer") == "documented"
    flag = _flags(api, "ice.officer", twin["reference"])[0]["flag"]
    body = {"decision": "different_people", "reason": "Huellas y fotografía distintas: son dos personas."}
    # The other country's reference names nothing to this agency; nor does the flag to an officer.
    assert api.post("ice.supervisor", f"/api/v1/cases/{twin['reference']}/possible-duplicates/{rosa}/decision",
                    body).status_code == 404
    assert api.post("ice.officer", f"/api/v1/cases/{twin['reference']}/possible-duplicates/{flag}/decision",
                    body).status_code == 403
    decided = api.post("ice.supervisor", f"/api/v1/cases/{twin['reference']}/possible-duplicates/{flag}/decision",
                       body)
    assert decided.status_code == 201 and rosa not in decided.text, decided.text
    # Half a decision: ICE may not read INM's record, so INM's supervisor says it too (red team round 6, F6).
    assert _state(api, twin["reference"], "ice.officer") == "documented"
    inm_flag = _flags(api, "inm.supervisor", rosa)[0]["flag"]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{rosa}/possible-duplicates/{inm_flag}/decision", body), 201)
    assert _state(api, twin["reference"], "ice.officer") == "ready"
    # Found wrong, it is corrected the safe way, by either agency (red team round 44b, F2): one person again, the
    # concern holds the other record; never back to two.
    corrected = api.post("inm.supervisor", f"/api/v1/cases/{rosa}/possible-duplicates/{inm_flag}/decision",
                         {**body, "decision": "same_person"})
    assert corrected.status_code == 201 and twin["reference"] not in corrected.text, corrected.text
    assert _state(api, twin["reference"], "ice.officer") == "documented"
    again = api.post("ice.supervisor", f"/api/v1/cases/{twin['reference']}/possible-duplicates/{flag}/decision",
                     body)
    assert again.status_code == 409 and rosa not in again.text, again.text
    assert session.execute(sa.select(PossibleDuplicate.decision)).scalars().all() == ["same_person"]


# Red team round 3 (F1, high): records of one person that the field-by-field comparison did not find alike. US-ICE
# held Rosa with an asylum claim open; INM registered her three times, none of them flagged, made them ready, put
# them on a flight and had them approved.
WRITTEN_OTHERWISE = {
    "both surnames in one field": {**ROSA, "first_surname": "Peña Rodríguez", "second_surname": None},
    "hyphenated surnames": {**ROSA, "first_surname": "Peña-Rodríguez", "second_surname": None},
    "given names the other way round": {**ROSA, "given_names": "Elena Rosa"},
    "the second given name only": {**ROSA, "given_names": "Elena"},
    "given names and surnames exchanged": {**ROSA, "given_names": "Peña Rodríguez", "first_surname": "Rosa Elena",
                                           "second_surname": None},
    "the year one digit off": {**ROSA, "birth_date": "1991-05-17"},
    "the day one digit off": {**ROSA, "birth_date": "1990-05-18"},
    "the 1st of January for an unknown day": {**ROSA, "birth_date": "1990-01-01"},
}


def test_the_same_person_written_otherwise_by_another_agency_is_flagged_and_held(client: TestClient,
                                                                                 world: World) -> None:
    api = Api(client, world)
    _concern(api, "ice.officer")
    missed = {}
    for how, person in WRITTEN_OTHERWISE.items():
        twin = api.register("inm.officer", **person)
        shown = _flags(api, "inm.officer", twin["reference"])
        # (Each twin is flagged with the earlier twins too, by their references: INM's own.)
        if ("another agency", None) not in [(d["other"], d["holding"]) for d in shown]:
            missed[how] = shown
            continue
        assert _screened_verified_documented(api, twin) == "documented", how
        _refused_onto_a_manifest(api, twin["reference"], ELSEWHERE)
    assert missed == {}


def test_an_import_flags_the_same_person_written_otherwise(client: TestClient, world: World,
                                                          session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _concern(api, "ice.officer")
    person = {**ROSA, "first_surname": "Peña-Rodríguez", "second_surname": "", "birth_date": "1991-05-17"}
    outcome = _import(client, world, "inm.officer", "IMP-F1", person)
    assert outcome["possible_duplicates"] == 1, outcome
    twin = _by_agency_reference(session_factory, "IMP-F1")
    assert [(d["other"], d["holding"]) for d in _flags(api, "inm.officer", twin)] == [("another agency", None)]


def test_a_surname_with_its_particles_joined_is_flagged_and_held(client: TestClient, world: World) -> None:
    """Red team round 4 (F1, high): US-ICE's "De La Rosa" with an asylum claim open, registered by INM as
    "Delarosa" (and "Del Valle" as "Delvalle", or born the 12th for the 21st), was not flagged and was approved onto
    a flight."""
    api = Api(client, world)
    for held, written, born in ((("Yolanda", "De La Rosa", "Pérez"), ("Yolanda", "Delarosa", "Pérez"), "1984-11-21"),
                                (("Ana Lucía", "Del Valle", "Sánchez"), ("Ana Lucía", "Delvalle", "Sanches"),
                                 "1984-11-21"),
                                # The name the same, two neighbouring digits of the day swapped.
                                (("Marisol", "Urdaneta", "Parra"), ("Marisol", "Urdaneta", "Parra"), "1984-11-12")):
        person = {"national_id": None, "birth_date": "1984-11-21", "given_names": held[0], "first_surname": held[1],
                  "second_surname": held[2]}
        _concern(api, "ice.officer", **person)
        twin = api.register("inm.officer", **{**person, "given_names": written[0], "first_surname": written[1],
                                              "second_surname": written[2], "birth_date": born})
        shown = _flags(api, "inm.officer", twin["reference"])
        assert [(d["other"], d["holding"]) for d in shown] == [("another agency", None)], (written, shown)
        assert _screened_verified_documented(api, twin) == "documented"
        _refused_onto_a_manifest(api, twin["reference"], ELSEWHERE)


def test_a_registration_with_a_name_recorded_as_unknown_is_flagged_and_held(client: TestClient, world: World) -> None:
    """Red team round 78, F1's class: a surname that compared as nothing (a hyphen) flagged nobody, and the person was
    approved on a locked manifest while another agency held an asylum claim open for her. A name officials record as
    unknown (LNU, FNU, N.N., Desconocido) agrees with any: the record is flagged and held as any look-alike is."""
    api = Api(client, world)
    rosa = _concern(api)
    for user, person in (("inm.officer", {**ROSA, "first_surname": "LNU", "second_surname": None}),
                         ("ice.officer", {**ROSA, "given_names": "N.N."})):
        unknown = api.register(user, **person)
        shown = _flags(api, user, unknown["reference"])
        assert len(shown) == 1, shown
        if user == "inm.officer":  # another agency's record is named to nobody, nor why
            assert (shown[0]["other"], shown[0]["holding"]) == (rosa, True) and "unknown" in shown[0]["reason"]
        assert _screened_verified_documented(api, unknown, user=user) == "documented"
