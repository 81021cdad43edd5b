"""Edits through the API never overwrite each other unseen: ETag on read, If-Match on write, 412 naming who and when.

For every record kind people edit, two clients read the same version and both change it: the first
change is kept, the second is refused with 412 and the API's error body naming who changed the record
and when, and nothing of the second is written (the record holds the first change only, no audit record
is added). PATCH and PUT need If-Match (428 without it); the steps (placements, follow-ups, household
splits) honour it when sent.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from retorno.cases.models import Case, Household
from retorno.flights.models import HouseholdSplit
from retorno.reintegration.models import FollowUp, IntakeProfile, Opportunity, Placement
from tests.edit_helpers import (
    ANSWERS,
    INTAKE,
    assert_changed_by,
    audit_count,
    follow_up_due,
    offered,
    on_due_day,
    opportunity,
    returnee,
)
from tests.factories import Api, World, ok


def send(api: Api, method: str, user: str, path: str, body: Any, etag: str | None) -> Any:
    headers = {**api.world.headers(user), **({"If-Match": etag} if etag else {})}
    return api.client.request(method, path, json=body, headers=headers)


def refused_412(response: Any, username: str, agency: str) -> dict[str, Any]:
    assert response.status_code == 412, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "edit_conflict"
    assert f"changed by {username} ({agency}) at " in error["message"] and "since you opened it" in error["message"]
    assert_changed_by(error["details"], username, agency)
    return error


def test_a_case_edit_cycle_reads_the_etag_and_answers_the_next_one(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    read = api.get("inm.officer", f"/api/v1/cases/{ref}")
    first = read.headers["etag"]
    assert first == '"1"'
    changed = send(api, "PATCH", "inm.officer", f"/api/v1/cases/{ref}", {"held_at": "Siglo XXI"}, first)
    assert changed.status_code == 200 and changed.json()["held_at"] == "Siglo XXI"
    second = changed.headers["etag"]
    assert second != first and api.get("inm.officer", f"/api/v1/cases/{ref}").headers["etag"] == second
    again = send(api, "PATCH", "inm.officer", f"/api/v1/cases/{ref}", {"contact": "+52 961 000 0000"}, second)
    assert again.status_code == 200 and again.headers["etag"] not in (first, second)
    # A list naming the current version among others is `*` by another name (red team round 36, F5): refused.
    listed = send(api, "PATCH", "inm.officer", f"/api/v1/cases/{ref}", {"notes": "otra vez"},
                  f'"99", {again.headers["etag"]}')
    assert listed.status_code == 428 and listed.json()["error"]["code"] == "precondition_required"
    single = send(api, "PATCH", "inm.officer", f"/api/v1/cases/{ref}", {"notes": "otra vez"}, again.headers["etag"])
    assert single.status_code == 200 and single.json()["notes"] == "otra vez"


def test_a_patch_without_if_match_is_428_and_a_weak_or_unknown_tag_is_412(
    client: TestClient, world: World, session: Session
) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    etag = api.get("inm.officer", f"/api/v1/cases/{ref}").headers["etag"]
    before = audit_count(session)
    missing = send(api, "PATCH", "inm.officer", f"/api/v1/cases/{ref}", {"held_at": "Otro lugar"}, None)
    assert missing.status_code == 428 and missing.json()["error"]["code"] == "precondition_required"
    for tag in (f"W/{etag}", "1", '"abc"', '"0"'):
        refused = send(api, "PATCH", "inm.officer", f"/api/v1/cases/{ref}", {"held_at": "Otro lugar"}, tag)
        assert refused.status_code == 412, tag
        error = refused.json()["error"]
        if tag == '"0"':  # a version, not the current one: a change made since
            assert error["code"] == "edit_conflict" and error["details"]["your_version"] == 0
        else:
            # Red team round 51a, F5: W/"1" (the current version, weakly) was told as "you opened version 0".
            assert error["code"] == "edit_conflict.unreadable_tag", tag
            assert tag in error["message"] and "version 0" not in error["message"]
            assert error["details"] == {"if_match": tag, "current_version": 1}
    assert audit_count(session) == before
    assert session.execute(sa.select(Case.held_at).where(Case.reference == ref)).scalar_one() != "Otro lugar"


def test_if_match_star_or_no_tag_is_428_and_a_garbled_tag_412_on_every_record_kind_people_edit(
    client: TestClient, world: World, session: Session
) -> None:
    """F-E: `*` names no version, so it is the blind overwrite If-Match is there to prevent, wherever it is sent."""
    api = Api(client, world)
    ref = api.register()["reference"]
    offer = opportunity(api)["reference"]
    intake = f"/api/v1/cases/{returnee(api)['reference']}/intake"
    _case, placement = offered(api)
    _case, due = follow_up_due(api)
    api.register(household_reference="H-STAR", relationship_to_head="head")
    edits = [("PATCH", "inm.officer", f"/api/v1/cases/{ref}", {"notes": "a ciegas"}),
             ("PATCH", "op.officer", f"/api/v1/opportunities/{offer}", {"seats": 7}),
             ("PUT", "op.officer", intake, INTAKE),
             ("POST", "op.officer", f"/api/v1/placements/{placement['id']}", {"status": "accepted"}),
             ("POST", "op.officer", f"/api/v1/follow-ups/{due['id']}", ANSWERS),
             ("POST", "inm.supervisor", "/api/v1/households/H-STAR/split",
              {"reason": "Una razón escrita para separar el hogar."})]
    before = audit_count(session)
    for method, user, path, body in edits:
        # A list of versions is `*` by another name (red team round 36, F5: "1", ..., "199" overwrote unseen).
        for header in ("*", '*, "1"', " , ", '"1", "2"', ", ".join(f'"{n}"' for n in range(1, 200))):
            refused = send(api, method, user, path, body, header)
            assert refused.status_code == 428, (path, header, refused.text)
            assert refused.json()["error"]["code"] == "precondition_required"
        for header in ('W/"1"', "1", '"abc"', '"1\u0000"', '"01"'):  # "01": red team round 46a, F5
            assert send(api, method, user, path, body, header).status_code == 412, (path, header)
    assert audit_count(session) == before
    assert session.execute(sa.select(Case.notes).where(Case.reference == ref)).scalar_one() is None


def test_two_case_edits_from_one_version_keep_the_first(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    path = f"/api/v1/cases/{ref}"
    mine = api.get("inm.officer", path).headers["etag"]
    theirs = api.get("sre.officer", path).headers["etag"]
    assert mine == theirs
    ok(send(api, "PATCH", "inm.officer", path, {"held_at": "Estación Siglo XXI"}, mine))
    before = audit_count(session)
    error = refused_412(send(api, "PATCH", "sre.officer", path, {"held_at": "Villahermosa", "notes": "x"}, theirs),
                        "inm.officer", "MX-INM")
    assert error["details"]["your_version"] == 1
    assert audit_count(session) == before
    case = session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
    session.refresh(case)
    assert (case.held_at, case.notes) == ("Estación Siglo XXI", None)
    # Read again, the second official's change goes through on the current version.
    ok(api.patch("sre.officer", path, {"held_at": "Villahermosa"}))


def test_two_opportunity_edits_from_one_version_keep_the_first(
    client: TestClient, world: World, session: Session
) -> None:
    api = Api(client, world)
    ref = opportunity(api)["reference"]
    path = f"/api/v1/opportunities/{ref}"
    read = api.get("op.officer", path)
    assert read.status_code == 200 and read.headers["etag"] == '"1"' and read.json()["version"] == 1
    mine, theirs = read.headers["etag"], api.get("op.supervisor", path).headers["etag"]
    assert send(api, "PATCH", "op.officer", path, {"seats": 5}, None).status_code == 428
    first = ok(send(api, "PATCH", "op.officer", path, {"seats": 5}, mine))
    assert first["version"] == 2
    before = audit_count(session)
    refused_412(send(api, "PATCH", "op.supervisor", path, {"seats": 9, "title": "Otra"}, theirs),
                "op.officer", "VE-VUELTA")
    assert audit_count(session) == before
    row = session.execute(sa.select(Opportunity).where(Opportunity.reference == ref)).scalar_one()
    session.refresh(row)
    assert (row.seats, row.title, row.version) == (5, "Pasantía en mantenimiento", 2)


def test_two_intakes_from_one_version_keep_the_first(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = returnee(api)
    path = f"/api/v1/cases/{case['reference']}/intake"
    read = api.get("op.officer", path)
    assert read.status_code == 200 and read.json()["home_state"] is None
    mine, theirs = read.headers["etag"], api.get("op.supervisor", path).headers["etag"]
    assert mine == theirs
    assert send(api, "PUT", "op.officer", path, INTAKE, None).status_code == 428
    saved = send(api, "PUT", "op.officer", path, INTAKE, mine)
    assert saved.status_code == 200 and saved.headers["etag"] != mine
    before = audit_count(session)
    refused_412(send(api, "PUT", "op.supervisor", path, {**INTAKE, "municipality": "Sucre", "education": "6"}, theirs),
                "op.officer", "VE-VUELTA")
    assert audit_count(session) == before
    profile = session.execute(sa.select(IntakeProfile).join(Case, Case.id == IntakeProfile.case_id)
                              .where(Case.reference == case["reference"])).scalar_one()
    session.refresh(profile)
    assert (profile.municipality, profile.education) == ("Libertador", "3")


def test_two_placement_steps_from_one_version_keep_the_first(
    client: TestClient, world: World, session: Session
) -> None:
    api = Api(client, world)
    case, placement = offered(api)
    version = placement["version"]
    step = f"/api/v1/placements/{placement['id']}"
    accepted = send(api, "POST", "op.officer", step, {"status": "accepted"}, f'"{version}"')
    assert accepted.status_code == 200 and accepted.json()["version"] == version + 1
    before = audit_count(session)
    # Without the version the state machine would answer 409; with it, the answer says who moved it.
    refused_412(send(api, "POST", "op.supervisor", step, {"status": "declined", "reason": "no"}, f'"{version}"'),
                "op.officer", "VE-VUELTA")
    assert audit_count(session) == before
    row = session.get(Placement, placement["id"])
    assert row is not None
    session.refresh(row)
    assert (row.status, row.reason) == ("accepted", None)
    assert ok(api.get("op.officer", f"/api/v1/cases/{case['reference']}"))["state"] == "placed"


def test_two_follow_ups_from_one_version_keep_the_first(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    _case, due = follow_up_due(api)
    path, etag = f"/api/v1/follow-ups/{due['id']}", f'"{due["version"]}"'
    with on_due_day(due):
        recorded = send(api, "POST", "op.officer", path, ANSWERS, etag)
        assert recorded.status_code == 201 and recorded.headers["etag"] == f'"{due["version"] + 1}"'
        before = audit_count(session)
        refused_412(send(api, "POST", "op.supervisor", path, {**ANSWERS, "housing": "none", "wellbeing": 1}, etag),
                    "op.officer", "VE-VUELTA")
        assert audit_count(session) == before
        row = session.get(FollowUp, due["id"])
        assert row is not None
        session.refresh(row)
        assert row.answers is not None and (row.answers["housing"], row.answers["wellbeing"]) == ("stable", 4)
        # Without If-Match the follow-up is still recorded once: a second recording is a 409.
        assert send(api, "POST", "op.supervisor", path, ANSWERS, None).status_code == 409


def test_two_household_splits_from_one_version_keep_the_first(
    client: TestClient, world: World, session: Session
) -> None:
    api = Api(client, world)
    head = api.register(household_reference="H-EDIT", relationship_to_head="head")
    api.register(household_reference="H-EDIT", relationship_to_head="child", birth_date="2015-03-01")
    read = api.get("inm.supervisor", "/api/v1/households/H-EDIT")
    assert read.status_code == 200 and head["reference"] in read.json()["members"] and not read.json()["split"]
    etag = read.headers["etag"]
    reason = {"reason": "El padre viaja después por razones médicas documentadas."}
    split = send(api, "POST", "inm.supervisor", "/api/v1/households/H-EDIT/split", reason, etag)
    assert split.status_code == 201 and split.headers["etag"] != etag
    before = audit_count(session)
    # The agency's only supervisor, in a second tab opened before the first split.
    second = {"reason": "Otra razón escrita, decidida sin ver la primera."}
    refused_412(send(api, "POST", "inm.supervisor", "/api/v1/households/H-EDIT/split", second, etag),
                "inm.supervisor", "MX-INM")
    assert audit_count(session) == before
    household = session.execute(sa.select(Household).where(Household.reference == "H-EDIT")).scalar_one()
    splits = session.execute(sa.select(HouseholdSplit.reason).where(
        HouseholdSplit.household_id == household.id)).scalars().all()
    assert splits == [reason["reason"]]
    assert ok(api.get("inm.supervisor", "/api/v1/households/H-EDIT"))["split"] is True


def test_an_import_updating_a_case_moves_its_version_so_an_edit_opened_before_is_refused(
    client: TestClient, world: World, session: Session
) -> None:
    api = Api(client, world)
    header = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,"
              "cedula,lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
    row = "IMP-1,,Ana,Pérez,,F,1990-02-01,VEN,V-12.345.679,{held},TAP,2025-10-01\n"

    def upload(held: str) -> Any:
        files = {"file": ("lista.csv", (header + row.format(held=held)).encode(), "text/csv")}
        return ok(client.post("/api/v1/cases/import", files=files, headers=world.headers("inm.officer")), 201)

    assert upload("Tapachula")["created"] == 1
    ref = session.execute(sa.select(Case.reference).where(Case.agency_reference == "IMP-1")).scalar_one()
    opened = api.get("inm.officer", f"/api/v1/cases/{ref}").headers["etag"]
    assert upload("Villahermosa")["updated"] == 1
    assert api.get("inm.officer", f"/api/v1/cases/{ref}").headers["etag"] != opened
    refused_412(send(api, "PATCH", "inm.officer", f"/api/v1/cases/{ref}", {"held_at": "Siglo XXI"}, opened),
                "inm.officer", "MX-INM")
    assert session.execute(sa.select(Case.held_at).where(Case.reference == ref)).scalar_one() == "Villahermosa"


def test_a_matching_run_moves_the_versions_of_the_cases_it_offers(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    wanted = opportunity(api)
    case = returnee(api)
    ok(api.put("op.officer", f"/api/v1/cases/{case['reference']}/intake",
               {**INTAKE, "preferences": [wanted["reference"]]}))
    # The case's ETag is given to whoever may edit it, not to the operator; nor, after arrival, to the sending side,
    # which no longer edits it and whom its version would tell each reintegration step (`visibility.versions_told`).
    for reader in ("op.officer", "inm.officer"):
        assert "etag" not in api.get(reader, f"/api/v1/cases/{case['reference']}").headers

    def version() -> int:
        session.expire_all()
        return int(session.execute(sa.select(Case.version).where(Case.reference == case["reference"])).scalar_one())

    before = version()
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    assert api.get("op.officer", f"/api/v1/cases/{case['reference']}").json()["state"] == "matched"
    assert version() == before + 1


def test_two_transactions_racing_on_one_case_the_later_update_matches_nothing(
    client: TestClient, world: World, session_factory: sessionmaker[Session]
) -> None:
    """What If-Match cannot see, the version column does: an UPDATE from a version read before another commit."""
    ref = Api(client, world).register()["reference"]
    with session_factory() as late:
        stale = late.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
        # Another transaction's committed change, which this session's copy of the case has not seen.
        late.execute(sa.update(Case).where(Case.id == stale.id).values(held_at="Primero", version=Case.version + 1)
                     .execution_options(synchronize_session=False))
        attempt = late.begin_nested()
        stale.held_at = "Después"
        with pytest.raises(StaleDataError):
            late.flush()
        attempt.rollback()
        with late.no_autoflush:
            row = late.execute(sa.select(Case.held_at, Case.version).where(Case.id == stale.id)).one()
        assert tuple(row) == ("Primero", 2)


def test_an_emergency_document_issued_before_a_name_correction_is_refused_not_printed(
    client: TestClient, world: World
) -> None:
    """Found by the contract test once edits carried If-Match: the old document's PDF was a 500."""
    api = Api(client, world)
    ref = api.register()["reference"]
    api.screen(ref)
    api.verify(ref)
    number = ok(api.post("saime.officer", f"/api/v1/cases/{ref}/emergency-document"), 201)["number"]
    assert api.get("saime.officer", f"/api/v1/emergency-documents/{number}.pdf").status_code == 200
    ok(api.patch("inm.officer", f"/api/v1/cases/{ref}", {"given_names": "María"}))
    outdated = api.get("saime.officer", f"/api/v1/emergency-documents/{number}.pdf")
    assert outdated.status_code == 409 and outdated.json()["error"]["code"] == "document_superseded"


def test_an_edit_that_changes_nothing_writes_nothing_and_is_not_named_as_the_change_since(
    client: TestClient, world: World, session: Session
) -> None:
    """Red team round 34, L1: a PATCH giving an opportunity's tutors as they were answered 200 with the same ETag and
    left an `opportunity.update` record; the next stale edit's 412 then said it was changed by that official, whose
    edit had changed nothing. A field given as stored is no change: no record, no version. Likewise an intake saved
    again with the same answers by who recorded it."""
    api = Api(client, world)
    ref = opportunity(api)["reference"]
    path = f"/api/v1/opportunities/{ref}"
    etag = api.get("op.officer", path).headers["etag"]
    first = send(api, "PATCH", "op.officer", path, {"seats": 5}, etag)
    assert first.status_code == 200
    before = audit_count(session)
    same = send(api, "PATCH", "op.supervisor", path, {"seats": 5, "tutors": ok(first)["tutors"]}, first.headers["etag"])
    assert same.status_code == 200 and same.headers["etag"] == first.headers["etag"]
    assert audit_count(session) == before
    refused_412(send(api, "PATCH", "op.supervisor", path, {"seats": 9}, etag), "op.officer", "VE-VUELTA")
    case = returnee(api)
    intake = f"/api/v1/cases/{case['reference']}/intake"
    saved = send(api, "PUT", "op.officer", intake, INTAKE, api.get("op.officer", intake).headers["etag"])
    assert saved.status_code == 200
    before = audit_count(session)
    again = send(api, "PUT", "op.officer", intake, INTAKE, saved.headers["etag"])
    assert again.status_code == 200 and again.headers["etag"] == saved.headers["etag"]
    assert audit_count(session) == before


def test_a_conflict_made_by_another_countrys_agency_names_neither_its_official_nor_the_agency(
    client: TestClient, world: World
) -> None:
    """Red team round 37, F2: ICE's record of the same person, with an asylum claim, took INM's passenger off its
    manifest; INM's stale edit was then told "changed by ice.officer (US-ICE)", action `manifest.removed`, where the
    case's timeline says "another agency". The refusal says the same, by the API and the page."""
    api = Api(client, world)
    mexican = api.ready_case(national_id="V25239107")["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mexican]}), 201)
    etag = api.get("inm.officer", f"/api/v1/cases/{mexican}").headers["etag"]
    american = api.register("ice.officer", national_id="V-25.239.107", agency_reference="ICE-RT-CONFLICT")
    api.screen(american["reference"], ["pending_asylum_claim"], user="ice.officer")
    refused = send(api, "PATCH", "inm.officer", f"/api/v1/cases/{mexican}", {"notes": "rt37"}, etag)
    assert refused.status_code == 412, refused.text
    error = refused.json()["error"]
    assert "changed by another agency at " in error["message"]
    assert (error["details"]["changed_by"], error["details"]["agency"], error["details"]["action"]) == (
        "another agency", "another agency", None)
    assert "ice." not in refused.text and "US-ICE" not in refused.text and "manifest" not in refused.text


def test_a_refused_attempt_on_a_case_is_no_change_an_edit_conflict_names(client: TestClient, world: World) -> None:
    """Red team round 38, F3: after ICE's concern took INM's case off its manifest, INM's officer had an addition
    refused (an audited attempt on the case); a stale edit then said the officer had changed the case, at the time of
    that refusal. Reads, exports and refused attempts are no changes."""
    api = Api(client, world)
    mexican = api.ready_case(national_id="V25239107")["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mexican]}), 201)
    etag = api.get("inm.officer", f"/api/v1/cases/{mexican}").headers["etag"]
    american = api.register("ice.officer", national_id="V-25.239.107", agency_reference="ICE-RT38-REFUSED")
    api.screen(american["reference"], ["pending_asylum_claim"], user="ice.officer")
    assert api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [mexican]}).status_code == 409
    ok(api.get("inm.officer", f"/api/v1/cases/{mexican}/timeline"))
    refused = send(api, "PATCH", "inm.officer", f"/api/v1/cases/{mexican}", {"notes": "rt38"}, etag)
    assert refused.status_code == 412, refused.text
    assert refused.json()["error"]["details"]["changed_by"] == "another agency", refused.text
