"""Red team H1 (SPEC.md 4.1): two records of one person are linked by the registry record their verifications name,
and an officer typed it as they pleased. A duplicate record of a person with an open protection concern, verified by
hand to '025440' or 'V-20282780' (the concerned record verified as '25440' or 'V20282780'), was no relation of it:
it became ready, went onto a manifest and was approved on a locked one. A record id has one spelling now
(`verification.records`), at every door, and the rows stored before are rewritten to it (migration 0017: its test
is in tests/test_migrations.py)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import same_person
from retorno.cases.models import Case
from retorno.verification.exchange import DecisionFileError
from retorno.verification.models import VerificationDecision, VerificationRequest
from retorno.verification.records import canonical_or_none, canonical_record, same_record
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused, state
from tests.linker import import_file
from tests.web.pages_helpers import login, post_form

# The red team's spellings: (the concerned record's registry record, what the duplicate was verified to by hand).
VARIANTS = [("25440", "025440"), ("25440", " 25440 "), ("V20282780", "v20282780"), ("V20282780", "V-20282780"),
            ("V20282780", "V020282780"), ("V20282780", " V20282780 ")]
MALFORMED = ["25440.0", "+25440", "-25440", "25.440", "2020/12", "25440,0", "V_2028", "25440-", "", "  ", "-"]


def test_one_spelling_per_record_id() -> None:
    for stored, typed in VARIANTS:
        assert canonical_record(typed) == canonical_record(stored) == stored
    # The ids the system itself writes stay valid: the registry's integers, the demo's cédulas and REG-<case id>,
    # the load benchmark's RC-<case reference>, the tests' REG-<case reference>.
    assert canonical_record("12345") == "12345"
    assert canonical_record("REG-17") == "REG17"
    assert canonical_record("RC-MX-2026-000012") == "RCMX2026000012"
    assert canonical_record("ve-reg-07") == "VEREG7"
    assert canonical_record("0") == canonical_record("000") == "0"
    assert canonical_record("A001B0C00\t") == "A1B0C0"
    assert canonical_record("V\u201320282780") == "V20282780"  # an en dash typed for the hyphen
    assert canonical_record("V２０２８") == "V2028"  # full-width digits are those digits (red team round 5, A-F1)
    for value in [*MALFORMED, "ÑU12", "V\u0416028"]:
        assert canonical_or_none(value) is None, value
    assert same_record("025440", "25440") and same_record("25440.0", "25440.0") and not same_record("25440.0", "25440")
    assert not same_record(None, "1")


@pytest.mark.parametrize("value", [*[typed for _, typed in VARIANTS], "12345", "REG-17", "RC-MX-2026-000012",
                                   "a-0-b-00-1", "V 0 0 1", "007", "0x00ff"])
def test_canonical_is_idempotent(value: str) -> None:
    once = canonical_record(value)
    assert canonical_record(once) == once and canonical_or_none(once) == once


def _verify(api: Api, ref: str, record: str, user: str = "saime.officer") -> object:
    return api.post(user, f"/api/v1/cases/{ref}/verification-decision",
                    {"outcome": "verified", "registry_record": record, "request": api.open_request(ref)})


def _concerned(api: Api, record: str) -> str:
    """A person with an open protection concern, verified against `record` (as linkage verifies: the plain id)."""
    ref = api.register(national_id="V20282780", birth_date="1985-03-03")["reference"]
    api.screen(ref, ["pending_asylum_claim"])
    ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)
    ok(_verify(api, ref, record), 201)
    return ref


def _duplicate(api: Api, number: int) -> dict[str, object]:
    """The same person registered again by the other sending agency, with no cédula, screened with no concern."""
    case = api.register("ice.officer", national_id=None, birth_date="1985-03-03",
                        agency_reference=f"ICE-H1-{number}")
    api.screen(str(case["reference"]), user="ice.officer")
    ok(api.post("ice.officer", f"/api/v1/cases/{case['reference']}/verification-request"), 201)
    return case


@pytest.mark.parametrize(("stored", "typed"), VARIANTS)
def test_a_duplicate_verified_to_another_spelling_is_the_same_person_and_stays_off_manifests(
        client: TestClient, world: World, session: Session, stored: str, typed: str) -> None:
    api = Api(client, world)
    concerned = _concerned(api, stored)
    duplicate = _duplicate(api, 1)
    ref = str(duplicate["reference"])
    ok(_verify(api, ref, typed), 201)
    # Before: not linked, the duplicate became ready and went onto the manifest.
    result = api.passport(duplicate, user="ice.officer")
    assert result["case_state"] != "ready", result
    flight = api.flight(user="ice.officer")["reference"]
    refused(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 409,
            "invalid_transition")
    recorded = session.execute(sa.select(VerificationDecision.registry_record)
                               .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
                               .join(Case, Case.id == VerificationRequest.case_id)
                               .where(Case.reference == ref)).scalar_one()
    assert recorded == stored
    ids = dict(session.execute(sa.select(Case.reference, Case.id).where(Case.reference.in_([ref, concerned]))).all())
    assert set(same_person(session, [ids[ref]])[ids[ref]]) == {ids[concerned]}


def test_a_passenger_on_a_locked_manifest_leaves_it_when_a_concerned_record_is_verified_to_their_record(
        client: TestClient, world: World) -> None:
    """The other order: the duplicate travels first, then the concerned record is verified to another spelling."""
    api = Api(client, world)
    passenger = api.register(national_id=None, birth_date="1985-03-03")
    ref = str(passenger["reference"])
    api.screen(ref)
    ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)
    ok(_verify(api, ref, "V20282780"), 201)
    assert api.passport(passenger)["case_state"] == "ready"
    flight = locked_flight(api, [ref])
    _concerned(api, " v-020282780 ")
    assert state(api, ref) != "manifested"
    passengers = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    assert ref not in [p["case"] for p in passengers if p["approval"] in ("proposed", "approved")]


@pytest.mark.parametrize("typed", MALFORMED[:6])
def test_a_record_id_that_is_not_letters_and_digits_is_refused_naming_the_rule(
        client: TestClient, world: World, typed: str) -> None:
    api = Api(client, world)
    ref = str(_duplicate(api, 2)["reference"])
    error = refused(_verify(api, ref, typed), 422, "registry_record_malformed")
    assert "letters and digits" in str(error["message"]) and typed in str(error["message"])
    spanish = api.client.post(f"/api/v1/cases/{ref}/verification-decision",
                              json={"outcome": "verified", "registry_record": typed, "request": api.open_request(ref)},
                              headers={**world.headers("saime.officer"), "Accept-Language": "es"})
    assert "letras y cifras" in spanish.json()["error"]["localized"]["message"], spanish.text
    assert ok(api.get("ice.officer", f"/api/v1/cases/{ref}"))["state"] == "verification_requested"


def test_the_review_page_stores_the_one_spelling_and_refuses_a_malformed_one(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    concerned = _concerned(api, "25440")
    ref = api.register(national_id=None, birth_date="1985-03-03")["reference"]
    api.screen(ref)
    ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)
    login(client, "saime.officer")
    malformed = post_form(client, f"/verification/{ref}", {"outcome": "verified", "registry_record": "25440.0",
                                                           "request": api.open_request(ref)}, page="/verification")
    assert malformed.status_code == 422 and "letras y cifras" in malformed.text
    assert state(api, ref) == "verification_requested"
    done = post_form(client, f"/verification/{ref}", {"outcome": "verified", "registry_record": " 0254-40 ",
                                                      "request": api.open_request(ref)}, page="/verification")
    assert done.status_code == 303, done.text
    ids = dict(session.execute(sa.select(Case.reference, Case.id).where(Case.reference.in_([ref, concerned]))).all())
    assert set(same_person(session, [ids[ref]])[ids[ref]]) == {ids[concerned]}


def test_a_decisions_file_names_the_line_with_a_malformed_record_and_stores_the_one_spelling(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    refs = [str(_duplicate(api, n)["reference"]) for n in (3, 4)]
    requests = [api.open_request(ref) for ref in refs]
    saime = world.bind(session).users["saime.officer"]
    lines = [json.dumps({"request": requests[0], "outcome": "verified", "registry_record": "V-020282780"}),
             json.dumps({"request": requests[1], "outcome": "verified", "registry_record": "+25440"})]
    with pytest.raises(DecisionFileError) as refusal:
        import_file(session, saime, lines)
    [(line, problem)] = refusal.value.problems
    assert line == 2 and "'+25440' is not letters and digits" in problem, problem
    import_file(session, saime, lines[:1])
    assert session.execute(sa.select(VerificationDecision.registry_record)).scalars().all()[-1] == "V20282780"
    session.commit()
