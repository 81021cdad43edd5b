"""Red team (low): written reasons were checked place by place with different rules, so "x" or ".........." was
taken as the reason of a protection resolution, a removal, a cancellation, a split, a rejection, a disable, a
decision on a possible duplicate, a consent withdrawal, and "." as a best-interests determination's summary. One
rule now (`reasons.written_reason`): at least 10 characters once stripped, two words holding a letter, not one
character repeated; refused in one sentence (both languages) at every door, each keeping its code."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.errors import InvalidInput
from retorno.reasons import is_written_reason, written_reason
from retorno.screening.service import resolve_screening
from retorno.verification.exchange import DecisionFileError
from tests.factories import Api, World, ok, registry_record
from tests.linker import import_file
from tests.web.pages_helpers import login, post_form

# Each poor in its own way: too short, no word, one character repeated, one word, no letter.
POOR = ["x", "..........", "   .   ", "aaaaa aaaaa", "unasolapalabralarga", "123 456 7890", "ok ok", "- - - - - -",
        # Red team round 39: each closed an asylum claim, split a household or consented to a removal.
        "n/a n/a n/a n/a", "test test test", "sin motivo alguno", "asdf qwer zxcv", "lorem ipsum dolor",
        "no reason given", "xx yy zz ww", "ok ok ok ok ok", "a b c d e f g h i j", "no reason at all", "..... ab cd",
        "asdf asdf asdf", "because because", "ниет ниет ниет"]
# Enough of them at each door: one the old length rule refused, the others it let through.
AT_DOORS = ["x", "..........", "aaaaa aaaaa", "unasolapalabralarga"]
GOOD = "Revisado por la supervisión: motivo explicado."
RULE = "a written reason is needed: at least 10 characters and two words that say why (not one character repeated)"
RULE_ES = "hace falta un motivo escrito: al menos 10 caracteres y dos palabras que digan por qué"


@pytest.mark.parametrize("text", POOR)
def test_the_rule_refuses_what_says_nothing(text: str) -> None:
    assert not is_written_reason(text)
    with pytest.raises(InvalidInput) as refused:
        written_reason(text)
    assert refused.value.code == "reason_required" and refused.value.message == RULE
    with pytest.raises(InvalidInput) as other:
        written_reason(text, code="flow.departure_window")
    assert other.value.code == "flow.departure_window"


@pytest.mark.parametrize("text", ["Alta médica: ya no necesita escolta.", "  Reunificación familiar.  ",
                                  "ñandú ágil", "Причина отказа", "salió de la agencia", "V0 1 llegó tarde",
                                  "No cumple.", "Sin aviones.", "ya no viaja", "Se mudaron.", "sin riesgo"])
def test_the_rule_takes_a_sentence_in_any_alphabet_stripped(text: str) -> None:
    assert is_written_reason(text)
    assert written_reason(text) == text.strip()


def _refused_everywhere(api: Api, user: str, path: str, body: Any, code: str = "reason_required",
                        field: str = "reason") -> None:
    """Each poor reason at `path` is a 422 with `code`, said in English and in Spanish."""
    for text in AT_DOORS:
        response = api.post(user, path, {**body, field: text})
        assert response.status_code == 422, (text, response.text)
        error = response.json()["error"]
        assert error["code"] == code and error["message"] == RULE, (text, error)
    spanish = api.client.post(path, json={**body, field: "x"},
                              headers={**api.world.headers(user), "Accept-Language": "es"})
    assert RULE_ES in json.dumps(spanish.json(), ensure_ascii=False), spanish.text


def _state(api: Api, ref: str) -> str:
    return str(ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"])


def test_screening_doors(client: TestClient, world: World) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    api.screen(ref, ["pending_asylum_claim"])
    path = f"/api/v1/cases/{ref}/screenings/resolution"
    _refused_everywhere(api, "inm.supervisor", path, {"decision": "travel_permitted"})
    assert _state(api, ref) == "screened"
    ok(api.post("inm.supervisor", path, {"decision": "travel_permitted", "reason": GOOD}), 201)
    # Lowering the medical escorts a case needs is a resolution too.
    api.screen(ref, medical_escorts=2)
    screenings = f"/api/v1/cases/{ref}/screenings"
    _refused_everywhere(api, "inm.supervisor", screenings, {"concerns": [], "medical_escorts": 0})
    ok(api.post("inm.supervisor", screenings, {"concerns": [], "medical_escorts": 0, "reason": GOOD}), 201)
    # A best-interests determination's summary.
    child = api.register(birth_date=(date.today() - timedelta(days=365 * 9)).isoformat())["reference"]
    api.screen(child, ["unaccompanied_child"])
    decide = f"/api/v1/cases/{child}/best-interests"
    _refused_everywhere(api, "inm.supervisor", decide, {"receiving_guardian": "Ana Pérez, tía"}, field="summary")
    assert api.post("inm.supervisor", decide, {"summary": ".", "receiving_guardian": "Ana"}).status_code == 422
    ok(api.post("inm.supervisor", decide, {"summary": "Reunificación familiar con su tía en Maracay.",
                                           "receiving_guardian": "Ana Pérez, tía"}), 201)


def test_case_and_verification_doors(client: TestClient, world: World, session_factory: sessionmaker[Session]
                                     ) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    api.screen(ref)
    ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)
    request = api.open_request(ref)
    path = f"/api/v1/cases/{ref}/verification-decision"
    _refused_everywhere(api, "saime.officer", path, {"outcome": "rejected", "request": request})
    # The decisions file: a line with a poor reason is a problem of the file, nothing decided.
    with session_factory() as session, pytest.raises(DecisionFileError) as bad_file:
        saime = session.execute(sa.select(User).where(User.username == "saime.officer")).scalar_one()
        import_file(session, saime, [json.dumps({"request": request, "outcome": "rejected",
                                                      "reason": ".........."})])
    assert bad_file.value.problems == [(1, RULE)]
    ok(api.post("saime.officer", path, {"outcome": "rejected", "request": request, "reason": GOOD}), 201)
    # Withdrawing a case.
    other = api.register()["reference"]
    _refused_everywhere(api, "inm.officer", f"/api/v1/cases/{other}/withdraw", {})
    assert _state(api, other) == "registered"
    ok(api.post("inm.officer", f"/api/v1/cases/{other}/withdraw", {"reason": GOOD}))


def test_a_supervisor_takes_another_persons_record_with_a_written_reason_only(client: TestClient,
                                                                              world: World) -> None:
    api = Api(client, world)
    passenger = api.ready_case(national_id="V15267491", birth_date="1980-05-05")["reference"]
    other = api.register("ice.officer", national_id="V25239108", birth_date="2000-02-02")["reference"]
    api.screen(other, user="ice.officer")
    ok(api.post("ice.officer", f"/api/v1/cases/{other}/verification-request"), 201)
    body = {"outcome": "verified", "registry_record": registry_record(passenger), "request": api.open_request(other)}
    _refused_everywhere(api, "saime.supervisor", f"/api/v1/cases/{other}/verification-decision", body,
                        code="registry_record_of_another_person")
    ok(api.post("saime.supervisor", f"/api/v1/cases/{other}/verification-decision", {**body, "reason": GOOD}), 201)


def test_flight_and_manifest_doors(client: TestClient, world: World) -> None:
    api = Api(client, world)
    refs = [api.ready_case(given_names=f"Viajera {i}")["reference"] for i in range(4)]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    remove = f"/api/v1/flights/{flight}/passengers/{refs[0]}/remove"
    _refused_everywhere(api, "inm.officer", remove, {})
    ok(api.post("inm.officer", remove, {"reason": GOOD}))
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    decide = f"/api/v1/flights/{flight}/passengers/{refs[1]}/decision"
    _refused_everywhere(api, "saime.officer", decide, {"approve": False})
    ok(api.post("saime.officer", decide, {"approve": False, "reason": GOOD}))
    # The bulk doors: one reason for every passenger chosen, refused before anyone is touched.
    rejections = f"/api/v1/flights/{flight}/rejections"
    _refused_everywhere(api, "saime.officer", rejections, {"cases": [refs[2]]})
    _refused_everywhere(api, "saime.officer", f"/api/v1/flights/{flight}/approvals", {}, field="reject_reason")
    passengers = {p["case"]: p["approval"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))}
    assert passengers[refs[2]] == passengers[refs[3]] == "proposed", passengers
    ok(api.post("saime.officer", rejections, {"cases": [refs[2]], "reason": GOOD}))
    # The receiving side explains a difference in the count received.
    explain = f"/api/v1/flights/{flight}/arrival-discrepancy"
    _refused_everywhere(api, "saime.officer", explain, {})
    cancel = f"/api/v1/flights/{flight}/cancel"
    _refused_everywhere(api, "inm.supervisor", cancel, {})
    assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))["state"] == "accepted"
    ok(api.post("inm.supervisor", cancel, {"reason": GOOD}))


def test_locked_manifest_boarding_and_departure_doors(client: TestClient, world: World) -> None:
    api = Api(client, world)
    departure = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=49)
    with clock_at(departure - timedelta(days=2)):
        refs = [api.ready_case(given_names=f"Viajera {i}")["reference"] for i in range(3)]
    flight = api.build_manifest(refs, departure=departure)
    with clock_at(departure - timedelta(days=1)):
        _refused_everywhere(api, "inm.supervisor", f"/api/v1/flights/{flight}/locked-changes",
                            {"case": refs[0], "change": "remove"})
    with clock_at(departure - timedelta(hours=1)):
        boarding = f"/api/v1/flights/{flight}/passengers/{refs[0]}/boarding"
        _refused_everywhere(api, "carrier.officer", boarding, {"status": "refused"})
        ok(api.post("carrier.officer", boarding, {"status": "refused", "reason": GOOD}))
        for ref in refs[1:]:
            ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding",
                        {"status": "boarded"}))
    # 49 hours late: outside the window, a supervisor's written reason, refused with the window's code.
    depart = f"/api/v1/flights/{flight}/depart"
    _refused_everywhere(api, "carrier.supervisor", depart, {}, code="flow.departure_window")
    assert ok(api.get("inm.officer", f"/api/v1/flights/{flight}"))["state"] == "manifest_locked"
    assert ok(api.post("carrier.supervisor", depart, {"reason": GOOD}))["state"] == "departed"


def test_household_split_consent_and_account_doors(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    api.register(household_reference="FAM-MOTIVO")
    split = "/api/v1/households/FAM-MOTIVO/split"
    _refused_everywhere(api, "inm.supervisor", split, {})
    ok(api.post("inm.supervisor", split, {"reason": GOOD}), 201)
    (returnee,) = api.arrive(1)
    ok(api.post("op.officer", f"/api/v1/cases/{returnee['reference']}/consent",
                {"birth_date": returnee["birth_date"]}), 201)
    withdraw = f"/api/v1/cases/{returnee['reference']}/consent/withdraw"
    _refused_everywhere(api, "op.officer", withdraw, {})
    ok(api.post("op.officer", withdraw, {"reason": "Ya consiguió trabajo por su cuenta."}))
    _refused_everywhere(api, "admin", "/api/v1/users/inm.viewer/disable", {})
    _refused_everywhere(api, "admin", "/api/v1/agencies/AVIOR/disable", {})
    assert api.post("admin", "/api/v1/users/inm.viewer/disable", {}).status_code == 422
    active = dict(session.execute(sa.select(User.username, User.active)
                                  .where(User.username.in_(("inm.viewer", "avior.officer")))).all())
    assert active == {"inm.viewer": True, "avior.officer": True}
    ok(api.post("admin", "/api/v1/users/inm.viewer/disable", {"reason": "Dejó la institución en noviembre."}))


def test_a_possible_duplicate_is_decided_with_a_written_reason(client: TestClient, world: World,
                                                               session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    first = api.register(national_id=None, given_names="Rosa Elena", first_surname="Peña",
                         second_surname="Rodríguez", birth_date="1990-05-17")["reference"]
    header = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
              "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
    row = f"DUP-MOTIVO,Roza Elena,Peña,Rodrigues,F,1990-05-17,VEN,,Tapachula,TAP,{date.today():%Y-%m-%d}\n"
    outcome = ok(client.post("/api/v1/cases/import", files={"file": ("lista.csv", (header + row).encode(), "text/csv")},
                             headers=world.headers("inm.officer")), 201)
    assert outcome["possible_duplicates"] >= 1, outcome
    with session_factory() as session:
        second = session.execute(sa.select(Case.reference).where(Case.agency_reference == "DUP-MOTIVO")).scalar_one()
    path = f"/api/v1/cases/{second}/possible-duplicates/{first}/decision"
    _refused_everywhere(api, "inm.supervisor", path, {"decision": "different_people"})
    ok(api.post("inm.supervisor", path, {"decision": "different_people", "reason": GOOD}), 201)


def test_the_pages_and_the_command_lines_domain_step_refuse_the_same(client: TestClient, world: World,
                                                                     session: Session) -> None:
    api = Api(client, world)
    ref = api.register()["reference"]
    login(client, "inm.officer")
    page = post_form(client, f"/cases/{ref}/withdraw", {"reason": ".........."}, page=f"/cases/{ref}")
    assert page.status_code == 422 and RULE_ES in page.text, page.status_code
    assert _state(api, ref) == "registered"
    # The step `retorno cases resolve` calls.
    api.screen(ref, ["pending_asylum_claim"])
    case = session.execute(sa.select(Case).where(Case.reference == ref)).scalar_one()
    supervisor = session.execute(sa.select(User).where(User.username == "inm.supervisor")).scalar_one()
    for text in POOR:
        with pytest.raises(InvalidInput) as refused:
            resolve_screening(session, supervisor, case, decision="travel_permitted", reason=text)
        assert refused.value.code == "reason_required"
    resolve_screening(session, supervisor, case, decision="travel_permitted", reason=f"  {GOOD}  ")
    session.flush()
    screenings = ok(api.get("inm.supervisor", f"/api/v1/cases/{ref}/screenings"))
    assert [r["reason"] for s in screenings for r in s["resolutions"]] == [GOOD]
