"""Red team round 45a. F1: an officer verified a case against a registry record whose sex, names and cédula all
disagree (the birth date agreeing), and against a candidate of a "not found" proposal, which the review page filled
in; one click, no reason, no supervisor. F2: a person whose proposal named other candidates, registered again by
another agency, was verified on the new record (which had no proposal) against a record linkage never proposed, by an
officer alone; the person then stood verified against two registry records. Each is now an override a supervisor
decides with a written reason, at every door."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.models import User
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused
from tests.functional.test_verification_overrides import (
    AGREE,
    GOOD,
    _candidate,
    _import,
    _proposed,
    _requested,
    _state,
    _verify,
)
from tests.web.pages_helpers import login

OTHER_PERSON = {**AGREE, "given_names": "disagree", "first_surname": "disagree", "second_surname": "disagree",
                "sex": "disagree", "birth_place": "disagree", "cedula": "disagree"}


def test_a_record_of_another_sex_or_whole_name_is_a_supervisors_override(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ref, request = _proposed(api, session_factory, [_candidate("24820", OTHER_PERSON, probability=0.0)])
    error = refused(_verify(api, "saime.officer", ref, request, "24820"), 409, "record_identity_differs")
    assert "24820" in error["message"], error
    refused(_verify(api, "saime.officer", ref, request, "24820", reason=GOOD), 409, "record_identity_differs")
    assert _state(api, ref) == "verification_requested"
    ok(_verify(api, "saime.supervisor", ref, request, "24820", reason=GOOD), 201)
    # Sex alone, too; a namesake (one of given names and surname differing) stays the officer's.
    ref, request = _proposed(api, session_factory, [_candidate("24821", {**AGREE, "sex": "disagree"})])
    refused(_verify(api, "saime.officer", ref, request, "24821"), 409, "record_identity_differs")
    ref, request = _proposed(api, session_factory, [_candidate("24822", {**AGREE, "first_surname": "disagree"})])
    ok(_verify(api, "saime.officer", ref, request, "24822"), 201)


def test_a_candidate_of_a_not_found_proposal_is_a_supervisors_override_and_not_filled_in(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    ref, request = _proposed(api, session_factory, [_candidate("5209", {**AGREE, "given_names": "disagree"},
                                                               probability=0.0)], outcome="not_found")
    error = refused(_verify(api, "saime.officer", ref, request, "5209"), 409, "record_not_found")
    assert request in error["message"], error
    # The review page shows the candidate but leaves the record box empty.
    login(client, "saime.officer")
    page = client.get("/verification")
    assert page.status_code == 200 and f'id="record-{ref}" name="registry_record" value=""' in page.text
    ok(_verify(api, "saime.supervisor", ref, request, "5209", reason=GOOD), 201)


def test_what_linkage_said_of_the_person_stands_on_a_record_registered_again(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    identity = {"given_names": "María", "first_surname": "Rojas", "second_surname": "Olmo", "sex": "F",
                "birth_date": "1985-07-12", "national_id": "V17993146"}
    first, first_request = _requested(api, agency_reference="RT45-F2-A", **identity)
    _import(session_factory, "saime.officer", {
        "request": first_request, "case": first, "outcome": "review", "method": "linkage", "registry_record": "23881",
        "probability": 0.6, "candidates": [_candidate("23881", AGREE)], "reason": None})
    refused(_verify(api, "saime.officer", first, first_request, "13416"), 409, "record_not_a_candidate")
    # The same person registered again by another agency (linked by the cédula): no proposal of its own.
    again, again_request = _requested(api, "ice.officer", agency_reference="RT45-F2-B", **identity)
    error = refused(_verify(api, "saime.officer", again, again_request, "13416"), 409, "record_not_a_candidate")
    assert first_request in error["message"] and "23881" in error["message"], error
    assert _state(api, again) == "verification_requested"
    # The candidate linkage proposed for the person is the officer's to verify, on either record.
    ok(_verify(api, "saime.officer", again, again_request, "23881"), 201)
    # Then the person has one record: verifying the other against another is a supervisor's override.
    error = refused(_verify(api, "saime.officer", first, first_request, "23881X9"), 409, "record_not_a_candidate")
    ok(_verify(api, "saime.officer", first, first_request, "23881"), 201)


def test_a_person_verified_against_one_record_is_not_verified_against_another_by_an_officer(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    identity = {"given_names": "Luis", "first_surname": "Rojas", "second_surname": "Medina", "sex": "M",
                "birth_date": "1979-03-02", "national_id": "V30206671"}
    first, first_request = _requested(api, agency_reference="RT45-F2-C", **identity)
    ok(_verify(api, "saime.officer", first, first_request, "52090"), 201)  # the manual path: no proposal anywhere
    again, again_request = _requested(api, "ice.officer", agency_reference="RT45-F2-D", **identity)
    error = refused(_verify(api, "saime.officer", again, again_request, "52091"), 409,
                    "person_verified_other_record")
    assert first in error["message"] and "52090" in error["message"], error
    refused(_verify(api, "saime.officer", again, again_request, "52091", reason=GOOD), 409,
            "person_verified_other_record")
    ok(_verify(api, "saime.officer", again, again_request, "52090"), 201)


def test_the_verifier_reads_the_declared_country_of_birth(client: TestClient, world: World) -> None:
    """Red team round 45a, F6: the receiving side saw 'Medellín' as the place of birth, never the country declared
    with it (Colombia), the declared field that bears most on nationality."""
    api = Api(client, world)
    ref, _ = _requested(api, place_of_birth="Medellín", country_of_birth="COL")
    assert ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))["country_of_birth"] == "COL"
    login(client, "saime.officer")
    page = client.get("/verification").text
    assert "País de nacimiento" in page and "COL" in page[page.index(ref):]


def _shown(record: str, fields: dict[str, str | None], *, deceased: bool = False) -> dict[str, Any]:
    """A candidate as linkage stores it, with the registry record's fields."""
    return {**_candidate(record, AGREE, deceased=deceased), "record": fields}


def test_what_linkage_showed_of_a_record_for_anyone_holds_whoever_verifies_against_it(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 81. F1: linkage showed registry record 900001 as deceased on one record of Pedro Antonio
    Ramírez Soto; SRE registered him again with no cédula and another spelling (only an undecided possible duplicate
    of the first), and an officer verified the new record against 900001, no reason, no supervisor. F2: an officer
    verified Carlos Eduardo Pérez Linares (M, 1970) against record 23779, which the service held, on another case's
    proposal, as María Olga Silva Fuentes (F, 1992). What linkage showed of a record, for whichever request of the
    authority, holds: a dead person's, another person's record is a supervisor's override with a written reason."""
    api = Api(client, world)
    pedro = {"given_names": "Pedro Antonio", "first_surname": "Ramírez", "second_surname": "Soto", "sex": "M",
             "birth_date": "1980-02-03", "national_id": "V11222333"}
    first, first_request = _requested(api, agency_reference="RT81-F1-A", **pedro)
    dead = _shown("900001", {"given_names": "PEDRO ANTONIO", "first_surname": "RAMÍREZ", "second_surname": "SOTO",
                             "sex": "M", "birth_date": "1980-02-03", "cedula": "V-11222333"}, deceased=True)
    _import(session_factory, "saime.officer", {
        "request": first_request, "case": first, "outcome": "review", "method": "linkage",
        "registry_record": "900001", "probability": 0.99, "candidates": [dead], "reason": "deceased"})
    again, again_request = _requested(api, "sre.officer", agency_reference="RT81-F1-B", **{
        **pedro, "given_names": "Pedro", "first_surname": "Ramires", "national_id": None})
    refused(_verify(api, "saime.officer", again, again_request, "900001"), 409, "record_deceased")
    refused(_verify(api, "saime.officer", again, again_request, "V-900001"), 409, "record_deceased")
    assert _state(api, again) == "verification_requested"
    ok(_verify(api, "saime.supervisor", again, again_request, "900001", reason=GOOD), 201)
    # F2: a record shown for another person's request, compared with this case's identity.
    maria = _shown("23779", {"given_names": "MARÍA OLGA", "first_surname": "SILVA", "second_surname": "FUENTES",
                             "sex": "F", "birth_date": "1992-12-22", "cedula": None})
    _proposed(api, session_factory, [_candidate("23001", AGREE), maria])
    carlos, carlos_request = _requested(api, agency_reference="RT81-F2", given_names="Carlos Eduardo",
                                        first_surname="Pérez", second_surname="Linares", sex="M",
                                        birth_date="1970-04-04", national_id=None)
    error = refused(_verify(api, "saime.officer", carlos, carlos_request, "23779"), 409, "record_identity_differs")
    assert "23779" in error["message"], error
    refused(_verify(api, "saime.officer", carlos, carlos_request, "23779", reason=GOOD), 409,
            "record_identity_differs")
    assert _state(api, carlos) == "verification_requested"
    # A record shown for another request that is this person's (the same name said otherwise, the birth date a
    # slip off) stays the officer's manual path.
    close = _shown("23780", {"given_names": "CARLOS EDUARDO", "first_surname": "PERES", "second_surname": "LINARES",
                             "sex": "M", "birth_date": "1970-04-05", "cedula": None})
    _proposed(api, session_factory, [_candidate("23002", AGREE), close])
    ok(_verify(api, "saime.officer", carlos, carlos_request, "23780"), 201)


def test_a_foreign_residents_cedula_is_a_supervisors_override_at_every_door(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 81, F3: the letter of a cédula is the nationality verified (E, a foreign resident): an officer's
    verification against such a record, or one of another letter than declared, is a supervisor's override, and a
    decisions file's `verified` line against one is recorded as a review."""
    api = Api(client, world)
    jhon = {"given_names": "Jhon Jairo", "first_surname": "Restrepo", "second_surname": "Gaviria", "sex": "M",
            "birth_date": "1985-09-21", "national_id": "V20111222"}
    resident = _shown("900005", {"given_names": "JHON JAIRO", "first_surname": "RESTREPO", "second_surname": "GAVIRIA",
                                 "sex": "M", "birth_date": "1985-09-21", "cedula": "E-20111222"})
    ref, request = _requested(api, agency_reference="RT81-F3-A", **jhon)
    _import(session_factory, "saime.officer", {
        "request": request, "case": ref, "outcome": "review", "method": "linkage", "registry_record": "900005",
        "probability": 0.99, "candidates": [resident], "reason": "registry_foreign_resident"})
    error = refused(_verify(api, "saime.officer", ref, request, "900005"), 409, "registry_foreign_resident")
    assert "V20111222" in error["message"], error
    # The record's id itself a foreign resident's cédula, on a case linkage never ran on.
    plain, plain_request = _requested(api, agency_reference="RT81-F3-B", **{
        **jhon, "given_names": "Wilmer", "birth_date": "1979-01-30", "national_id": None})
    refused(_verify(api, "saime.officer", plain, plain_request, "E-20111222"), 409, "registry_foreign_resident")
    # Declared E, the record a national's V.
    foreign, foreign_request = _requested(api, agency_reference="RT81-F3-C", **{
        **jhon, "given_names": "Ana", "sex": "F", "national_id": "E7135786"})
    refused(_verify(api, "saime.officer", foreign, foreign_request, "V-7135786"), 409, "cedula_letter_differs")
    assert {_state(api, r) for r in (ref, plain, foreign)} == {"verification_requested"}
    # A decisions file's verified line against it is a review, for a person to decide.
    _import(session_factory, "saime.officer", {
        "request": request, "case": ref, "outcome": "verified", "method": "linkage", "registry_record": "900005",
        "probability": 0.99, "candidates": [resident], "reason": None})
    assert _state(api, ref) == "verification_requested"
    ok(_verify(api, "saime.supervisor", ref, request, "900005", reason=GOOD), 201)


@pytest.mark.parametrize("written", ["21987365E", "21987365-E", "21987365 E", "RCE21987365", "CI21987365E",
                                     "V21987365E", "cie21987365"])
def test_a_foreign_residents_letter_counts_wherever_it_is_written(client: TestClient, world: World,
                                                                   written: str) -> None:
    """Red team round 87, F1: the E read only right before the digits, so `21987365E`, `RCE21987365` and
    `CI21987365E` (one record with `E21987365` for every comparison) verified a foreign resident's record as a
    national's, by an officer alone."""
    api = Api(client, world)
    ref, request = _requested(api, agency_reference="RT87-F1", **{
        "given_names": "Luisa Elena", "first_surname": "Marcano", "second_surname": "Bello", "sex": "F",
        "birth_date": "1988-04-11", "national_id": "V21987365"})
    refused(_verify(api, "saime.officer", ref, request, written), 409, "registry_foreign_resident")
    assert _state(api, ref) == "verification_requested"


def test_another_authoritys_request_is_answered_as_none(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 81 (low): another authority deciding a case was told 403 "the verification request ... is
    addressed to another agency", which says that one waits; it is answered as no request addressed to it."""
    from retorno.cases.models import Case
    from retorno.errors import NotFound
    from retorno.verification.service import open_request, request_to_decide

    api = Api(client, world)
    ref, _ = _requested(api, agency_reference="RT81-LOW")
    with session_factory() as session:
        case = session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
        other = session.execute(sa.select(User).where(User.username == "col.officer")).scalar_one()
        with pytest.raises(NotFound) as raised:
            open_request(session, other, case)
        assert "addressed to your agency" in str(raised.value)
        assert request_to_decide(session, other, case) is None
        saime = session.execute(sa.select(User).where(User.username == "saime.officer")).scalar_one()
        assert request_to_decide(session, saime, case) is not None


def test_a_record_named_by_its_cedula_is_the_record_linkage_showed(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 84, F1: the record linkage showed as dead (900001) was refused by its id and verified by an
    officer alone when named by its cédula as shown (V-30111001), at the API, the page and a decisions file; the same
    with a foreign resident's cédula named by its digits. A record named by its cédula is that record."""
    api = Api(client, world)
    rosario = {"given_names": "Rosario", "first_surname": "Méndez", "second_surname": "Quintero", "sex": "F",
               "birth_date": "1985-04-12", "national_id": "V30111001"}
    first, first_request = _requested(api, agency_reference="RT84-F1-A", **rosario)
    dead = _shown("900001", {"given_names": "ROSARIO", "first_surname": "MÉNDEZ", "second_surname": "QUINTERO",
                             "sex": "F", "birth_date": "1985-04-12", "cedula": "V-30111001"}, deceased=True)
    _import(session_factory, "saime.officer", {
        "request": first_request, "case": first, "outcome": "review", "method": "linkage",
        "registry_record": "900001", "probability": 0.99, "candidates": [dead], "reason": "deceased"})
    again, again_request = _requested(api, "ice.officer", agency_reference="RT84-F1-B", **{
        **rosario, "first_surname": "Mendes", "national_id": None})
    for named in ("V-30111001", "30111001", "900001"):
        refused(_verify(api, "saime.officer", again, again_request, named), 409, "record_deceased")
    # A decisions file naming it so, the flag cleared, is refused as linkage's word on a dead record.
    from retorno.verification.exchange import DecisionFileError

    with pytest.raises(DecisionFileError, match="as deceased"):
        _import(session_factory, "saime.officer", {
            "request": again_request, "case": again, "outcome": "verified", "method": "linkage",
            "registry_record": "V-30111001", "probability": 0.99, "reason": None,
            "candidates": [{**dead, "registry_record": "V-30111001", "deceased": False}]})
    assert _state(api, again) == "verification_requested"
    ok(_verify(api, "saime.supervisor", again, again_request, "V-30111001", reason=GOOD), 201)


def test_a_deceased_flag_not_read_as_alive_is_read_as_dead() -> None:
    """Red team round 84, F2: a registry's `deceased` values 'S' and 'X' were read as alive and linkage verified
    both people. Any value but a recognised 'alive' says dead, the safe reading."""
    from retorno.verification.anchors import is_deceased

    for flag in ("S", "X", "sí", "yes", "1", "TRUE", "fallecido", True):
        assert is_deceased({"deceased": flag}), flag
    for flag in (None, False, "", " ", "no", "N", "0", "false", "vivo", "nan"):
        assert not is_deceased({"deceased": flag}), flag
    assert is_deceased({"deceased": "no", "death_date": "2024"})
