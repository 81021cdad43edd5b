"""A receiving state's emergency series is decided on the state and the number, whatever the document (red team round
15, RE8702).

H1: the withdrawn emergency travel document E26001050, and the never-issued E26009998, filed by the sending side as
TD1 identity cards (type I) were accepted (201, valid), and the person went ready, onto a manifest and was approved:
`emergency_number_not_issued` and `document_withdrawn` were asked of passport-kind documents only. A document is
identified by its issuing state and number, so every kind (P, I, A, C, V) and format (TD1, TD2, TD3, MRV) is refused
alike, nothing written, and an identity card with an ordinary number still files.

L2: a second emergency document was issued to a person holding a valid one (now 409 `emergency_document_held`); a
withdrawn document was listed `valid: true`; the refusal of a withdrawal on a locked manifest spoke of filing another
document; and `document_issued_to_another` told a sending officer which numbers of the series exist (now the same
refusal as a number never issued, to anyone not of the issuing state).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from retorno.cases.models import Case
from retorno.cli import cases as cli_cases
from retorno.cli.main import app as cli_app
from retorno.documents import mrz
from retorno.documents.models import EmergencyDocumentCounter
from retorno.documents.service import issue_emergency_document
from tests.documents.test_emergency_document_bound import _documents, _state, _verified
from tests.factories import Api, World, another_agency_officer, ok
from tests.web.pages_helpers import login, post_form

REASON = "Emitido sobre el registro equivocado: la persona no lo pidió."


def _document(case: dict[str, Any], number: str, kind: str) -> str:
    """`case`'s document numbered `number`, of `kind` ("TD1 I", "TD2 A", "TD3 P", "MRVA V"...), its check digits
    right: the machine readable zone a sending officer would type."""
    shape, code = kind.split()
    fields: dict[str, Any] = {
        "document_code": "P" if shape == "MRVA" else code, "issuing_state": "VEN",
        "surnames": f"{case['first_surname']} {case['second_surname'] or ''}".strip(),
        "given_names": case["given_names"], "document_number": number, "nationality": "VEN",
        "birth_date": date.fromisoformat(case["birth_date"]), "sex": case["sex"],
        "expiry_date": date.today() + timedelta(days=700)}
    if shape == "TD1":
        return mrz.build_td1(**fields)
    if shape == "TD2":
        return mrz.build_td2(**fields)
    text = mrz.build_td3(**fields)
    # A machine readable visa (MRV-A) is shaped as a passport's zone and begins with V.
    return "V<" + text[2:] if shape == "MRVA" else text


def _command(session: Session, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """A console command run in the test's session: one command, one transaction, rolled back when refused
    (`installation.unit_of_work`)."""
    @contextmanager
    def in_test(_config: object) -> Iterator[Session]:
        with session.begin_nested():
            yield session

    monkeypatch.setattr(cli_cases, "unit_of_work", in_test)
    return CliRunner().invoke(cli_app, list(args), terminal_width=200)


KINDS = ["TD1 I", "TD1 A", "TD1 C", "TD2 I", "TD3 P", "TD3 PE", "MRVA V"]


def _another(sequence: int, apart: int) -> int:
    """A serial `apart` from one drawn, within the series (serials are drawn at random: one near its end plus `apart`
    fell outside it, 1,000,430)."""
    return sequence + apart if sequence + apart <= mrz.EMERGENCY_SERIES else sequence - apart


@pytest.mark.parametrize("kind", KINDS)
def test_a_withdrawn_or_never_issued_emergency_number_is_refused_whatever_the_document(
        client: TestClient, world: World, kind: str) -> None:
    api = Api(client, world)
    case = _verified(api, given_names="Roberto Carlos", first_surname="Perez", second_surname="Ramirez")
    reference = case["reference"]
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    ok(api.post("saime.supervisor", f"/api/v1/cases/{reference}/documents/{issued['id']}/withdraw",
                {"reason": REASON}))
    before = _state(api, reference)
    year, sequence = mrz.parse_emergency_document_number(issued["number"])
    never = mrz.emergency_document_number(year, _another(sequence, 900))
    for number, code in ((issued["number"], "document_withdrawn"), (never, "emergency_number_not_issued")):
        text = _document(case, number, kind)
        assert mrz.parse_mrz(text).document_number == number
        refused = api.post("inm.officer", f"/api/v1/cases/{reference}/documents", {"mrz": text})
        assert refused.status_code == 422, (kind, number, refused.text)
        assert refused.json()["error"]["code"] == code, (kind, number, refused.text)
    # Nothing written: the withdrawn document alone, the case where it was.
    assert [(d["number"], d["withdrawn"]) for d in _documents(api, reference)] == [(issued["number"], True)]
    assert _state(api, reference) == before
    # A document of the person's own with an ordinary number files, whatever its kind, and makes them ready; but a
    # visa, which carries nobody home, is kept with its problem and never valid (red team round 15).
    if kind == "TD3 PE":
        # Of the series' own kind, a number the state never issued is refused whatever its shape (red team round 47b,
        # F3: a "PE" with a number a letter or a digit short of the series' was filed valid).
        refused = api.post("inm.officer", f"/api/v1/cases/{reference}/documents",
                           {"mrz": _document(case, "148213795", kind)})
        assert refused.json()["error"]["code"] == "emergency_number_not_issued", refused.text
        return
    own = ok(api.post("inm.officer", f"/api/v1/cases/{reference}/documents",
                      {"mrz": _document(case, "148213795", kind)}), 201)
    if kind == "MRVA V":
        assert own["valid"] is False and [p["code"] for p in own["problems"]] == ["not_a_travel_document"], own
        assert _state(api, reference) == before
        return
    assert own["valid"] is True and own["number"] == "148213795", own
    assert _state(api, reference) == "ready"


@pytest.mark.parametrize("door", ["page", "cli"])
def test_every_door_refuses_a_withdrawn_emergency_number_on_an_identity_card(
        client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch, door: str) -> None:
    api = Api(client, world)
    case = _verified(api)
    reference = case["reference"]
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    ok(api.post("saime.supervisor", f"/api/v1/cases/{reference}/documents/{issued['id']}/withdraw",
                {"reason": REASON}))
    card = _document(case, issued["number"], "TD1 I")
    if door == "page":
        login(client, "inm.officer")
        page = post_form(client, f"/cases/{reference}/documents", {"mrz": card}, page=f"/cases/{reference}")
        assert page.status_code == 422 and "fue retirado" in page.text, page.text
    else:
        result = _command(session, monkeypatch, "documents", "add", reference, "--mrz", card, "--as", "inm.officer")
        assert result.exit_code != 0 and "document_withdrawn" in result.output, result.output
    assert [d["number"] for d in _documents(api, reference)] == [issued["number"]]


def test_a_number_issued_to_another_person_is_told_to_the_sending_side_as_one_never_issued(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    holder, other = _verified(api), _verified(api)
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{holder['reference']}/emergency-document"), 201)
    year, sequence = mrz.parse_emergency_document_number(issued["number"])
    never = mrz.emergency_document_number(year, _another(sequence, 500))
    path = f"/api/v1/cases/{other['reference']}/documents"

    def error(user: str, number: str, kind: str = "TD3 PE") -> dict[str, Any]:
        refused = api.post(user, path, {"mrz": _document(other, number, kind)})
        assert refused.status_code == 422, refused.text
        return dict(refused.json()["error"])

    for kind in ("TD3 PE", "TD1 I"):
        taken, unissued = error("inm.officer", issued["number"], kind), error("inm.officer", never, kind)
        assert taken["code"] == unissued["code"] == "emergency_number_not_issued", (taken, unissued)
        assert taken["message"].replace(issued["number"], "N") == unissued["message"].replace(never, "N"), (
            taken, unissued)
        assert holder["reference"] not in str(taken)
    # The issuing state's own agency is told whose series it is.
    assert error("saime.officer", issued["number"])["code"] == "document_issued_to_another"
    # Withdrawn from its person, the number is told to the sending side as never issued too.
    ok(api.post("saime.supervisor", f"/api/v1/cases/{holder['reference']}/documents/{issued['id']}/withdraw",
                {"reason": REASON}))
    assert error("inm.officer", issued["number"])["code"] == "emergency_number_not_issued"
    assert error("saime.officer", issued["number"])["code"] == "document_withdrawn"
    # ... and as withdrawn on its own person's record, whose document list shows it so.
    refiled = api.post("inm.officer", f"/api/v1/cases/{holder['reference']}/documents",
                       {"mrz": _document(holder, issued["number"], "TD1 I")})
    assert refiled.status_code == 422 and refiled.json()["error"]["code"] == "document_withdrawn", refiled.text
    assert _documents(api, other["reference"]) == []


def _issued_count(session: Session) -> int:
    """How many emergency documents Venezuela issued this year (`EmergencyDocumentCounter`)."""
    session.expire_all()
    return session.execute(sa.select(EmergencyDocumentCounter.last).where(
        EmergencyDocumentCounter.issuing_state == "VEN")).scalar_one()


@pytest.mark.parametrize("door", ["api", "page", "cli"])
def test_a_person_holding_a_valid_emergency_document_is_not_issued_a_second(
        client: TestClient, world: World, session: Session, session_factory: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch, door: str) -> None:
    api = Api(client, world)
    with session_factory() as setup:
        mppt = another_agency_officer(setup, code="VE-MPPT", kind="receiving_authority", country="VEN",
                                      username="mppt.officer")
    case = _verified(api)
    reference = case["reference"]
    first = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    assert _state(api, reference) == "ready"
    if door == "api":
        for refused in (api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"),
                        client.post(f"/api/v1/cases/{reference}/emergency-document", headers=mppt)):
            assert refused.status_code == 409, refused.text
            error = refused.json()["error"]
            assert error["code"] == "emergency_document_held" and first["number"] in error["message"], error
            assert "withdraws it first" in error["message"], error
    elif door == "page":
        login(client, "saime.officer")
        # The case page offers no issuing button to the holder (red team round 15, left open): it says why.
        shown = client.get(f"/cases/{reference}")
        assert f'action="/cases/{reference}/emergency-document"' not in shown.text, shown.text
        assert f"tiene el documento de viaje de emergencia {first['number']}" in shown.text
        page = post_form(client, f"/cases/{reference}/emergency-document", {}, page=f"/cases/{reference}")
        assert page.status_code == 409 and first["number"] in page.text and "lo retira antes" in page.text, page.text
    else:
        result = _command(session, monkeypatch, "documents", "issue-emergency", reference, "--as", "saime.officer")
        assert result.exit_code != 0 and "emergency_document_held" in result.output, result.output
    assert [d["number"] for d in _documents(api, reference)] == [first["number"]]
    # Nothing drawn from the series: the state's count of issued documents is still one.
    assert _issued_count(session) == 1
    ok(api.post("saime.supervisor", f"/api/v1/cases/{reference}/documents/{first['id']}/withdraw",
                {"reason": REASON}))
    if door == "page":
        # Withdrawn, it may be issued again: the button is back.
        assert f'action="/cases/{reference}/emergency-document"' in client.get(f"/cases/{reference}").text
    second = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    assert second["number"] != first["number"] and mrz.in_emergency_series(second["number"]), second
    assert _issued_count(session) == 2
    assert _state(api, reference) == "ready"


def test_an_expired_emergency_document_is_replaced(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = _verified(api)
    record = session.execute(sa.select(Case).where(Case.reference == case["reference"])).scalar_one()
    old = issue_emergency_document(session, world.users["saime.officer"], record,
                                   issued_on=date.today() - timedelta(days=120))
    session.commit()
    new = ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/emergency-document"), 201)
    assert new["number"] != old.number


def test_a_withdrawn_document_is_listed_not_valid(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case()
    reference = case["reference"]
    passport = _documents(api, reference)[0]
    assert passport["valid"] is True
    answer = ok(api.post("inm.supervisor", f"/api/v1/cases/{reference}/documents/{passport['id']}/withdraw",
                         {"reason": REASON}))
    assert answer["withdrawn"] is True and answer["valid"] is False, answer
    for user in ("inm.officer", "saime.officer"):
        listed = ok(api.get(user, f"/api/v1/cases/{reference}/documents"))
        assert [(d["withdrawn"], d["valid"]) for d in listed] == [(True, False)], listed
        assert listed[0]["withdrawn_at"], listed


def test_a_withdrawal_refused_on_a_locked_manifest_speaks_of_the_withdrawal(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.ready_case()
    reference = case["reference"]
    passport = _documents(api, reference)[0]
    api.build_manifest([reference], departure=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2))
    refused = api.post("inm.supervisor", f"/api/v1/cases/{reference}/documents/{passport['id']}/withdraw",
                       {"reason": REASON})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "locked_change_needs_both_sides", error
    assert "withdrawing their travel document" in error["message"] and "filing" not in error["message"], error
    spanish = client.post(f"/api/v1/cases/{reference}/documents/{passport['id']}/withdraw", json={"reason": REASON},
                          headers={**world.headers("inm.supervisor"), "Accept-Language": "es"})
    assert "retirar su documento de viaje" in spanish.json()["error"]["localized"]["message"], spanish.text
    assert _documents(api, reference)[0]["withdrawn"] is False
