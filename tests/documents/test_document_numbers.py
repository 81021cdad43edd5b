"""A travel document is identified by its issuing state and number, and is one person's (red team round 13).

F3: two receiving authorities of one state (VE-SAIME, VE-MPPT) drew emergency-document numbers from counters of their
own and issued E26000001 to two people. F6: a passport number another passenger's record held was filed as a valid
document for a stranger, and both were approved on one manifest under it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.documents import mrz
from retorno.documents.models import EmergencyDocumentCounter
from retorno.web.refusals import say_stored
from tests.factories import Api, World, another_agency_officer, ok, registry_record

_HELD = ("the document %(issuing_state)s %(number)s is already filed on the record of another person (another "
         "identity): a travel document is one person's, and it is not valid for this one; correct the number on the "
         "record that has it wrong")


def _verified(api: Api, **overrides: Any) -> dict[str, Any]:
    case = api.register(**overrides)
    api.screen(case["reference"])
    api.verify(case["reference"])
    return case


def _verified_as_holder(api: Api, holder: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A record of `holder`'s person, verified against the person's one registry record (round 45a), which a
    supervisor decides for names written otherwise."""
    case = api.register(**overrides)
    api.screen(case["reference"])
    asked = ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/verification-request"), 201)["request"]
    ok(api.post("saime.supervisor", f"/api/v1/cases/{case['reference']}/verification-decision",
                {"outcome": "verified", "request": asked, "registry_record": registry_record(holder["reference"]),
                 "reason": "La misma persona: el acta escribe los nombres de otra forma."}), 201)
    return case


def _passport(case: dict[str, Any], number: str) -> str:
    return mrz.build_td3(document_code="P", issuing_state="VEN",
                         surnames=f"{case['first_surname']} {case['second_surname'] or ''}".strip(),
                         given_names=case["given_names"], document_number=number, nationality="VEN",
                         birth_date=date.fromisoformat(case["birth_date"]), sex=case["sex"],
                         expiry_date=date.today() + timedelta(days=1000))


def test_two_receiving_authorities_of_one_state_never_issue_one_number(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    with session_factory() as session:
        mppt = another_agency_officer(session, code="VE-MPPT", kind="receiving_authority", country="VEN",
                                      username="mppt.officer")
    first, second, third = (_verified(api) for _ in range(3))
    by_saime = ok(api.post("saime.officer", f"/api/v1/cases/{first['reference']}/emergency-document"), 201)
    by_mppt = ok(client.post(f"/api/v1/cases/{second['reference']}/emergency-document", headers=mppt), 201)
    again = ok(api.post("saime.officer", f"/api/v1/cases/{third['reference']}/emergency-document"), 201)
    numbers = [by_saime["number"], by_mppt["number"], again["number"]]
    assert len(set(numbers)) == 3, numbers
    assert {by_saime["issuing_state"], by_mppt["issuing_state"]} == {"VEN"}
    # One series, the state's: its count of issued documents counts each agency's.
    with session_factory() as session:
        assert session.execute(sa.select(EmergencyDocumentCounter.last).where(
            EmergencyDocumentCounter.issuing_state == "VEN")).scalar_one() == 3

    # Filing the machine readable zone of the first person's document on another person's record is refused, and
    # says nothing of the record it was issued for; to the sending side, not even that it was issued (red team round
    # 15, L2): a number not issued to this person, as one never issued.
    copied = mrz.build_emergency_mrz(
        number=by_saime["number"], surnames=f"{second['first_surname']} {second['second_surname']}",
        given_names=second["given_names"], birth_date=date.fromisoformat(second["birth_date"]), sex=second["sex"],
        expiry_date=date.today() + timedelta(days=80))
    for user, code in (("inm.officer", "emergency_number_not_issued"), ("saime.officer", "document_issued_to_another")):
        refused = api.post(user, f"/api/v1/cases/{second['reference']}/documents", {"mrz": copied})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == code, refused.text
        assert first["reference"] not in refused.text
    assert [d["number"] for d in ok(api.get("inm.officer", f"/api/v1/cases/{second['reference']}/documents"))] \
        == [by_mppt["number"]]
    # Its own person may have it filed on their record, as it was issued (red team round 14, F3b: typed otherwise,
    # here with another expiry date, it is not that document).
    own = mrz.build_emergency_mrz(
        number=by_saime["number"], surnames=f"{first['first_surname']} {first['second_surname']}",
        given_names=first["given_names"], birth_date=date.fromisoformat(first["birth_date"]), sex=first["sex"],
        expiry_date=date.today() + timedelta(days=80))
    altered = api.post("inm.officer", f"/api/v1/cases/{first['reference']}/documents", {"mrz": own})
    assert altered.status_code == 422 and altered.json()["error"]["code"] == "emergency_document_altered", altered.text
    assert ok(api.post("inm.officer", f"/api/v1/cases/{first['reference']}/documents", {"mrz": by_saime["mrz"]}),
              201)["valid"]


def test_a_document_number_filed_for_another_person_is_not_valid_for_a_new_one(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    holder = api.ready_case()
    number = ok(api.get("inm.officer", f"/api/v1/cases/{holder['reference']}/documents"))[0]["number"]
    stranger = _verified(api, given_names="Pedro Pablo", first_surname="Linares", second_surname="Vivas", sex="M")
    filed = ok(api.post("inm.officer", f"/api/v1/cases/{stranger['reference']}/documents",
                        {"mrz": _passport(stranger, number)}), 201)
    assert filed["valid"] is False, filed
    assert [p["code"] for p in filed["problems"]] == ["document_held_by_another"], filed
    assert filed["case_state"] == "verified", filed
    assert holder["reference"] not in str(filed)
    # Said in Spanish where a page shows it.
    assert "ya está archivado" in say_stored(filed["problems"][0] | {"template": _HELD, "params": {
        "issuing_state": "VEN", "number": number}}, "es")
    # So the stranger cannot be put on a manifest under it.
    flight = api.flight()["reference"]
    added = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [stranger["reference"]]})
    assert added.status_code in (409, 422), added.text
    # The holder's own passport stays valid, and the holder ready.
    assert ok(api.get("inm.officer", f"/api/v1/cases/{holder['reference']}"))["state"] == "ready"


def test_the_same_person_registered_again_may_file_their_document(client: TestClient, world: World) -> None:
    api = Api(client, world)
    holder = api.ready_case()
    number = ok(api.get("inm.officer", f"/api/v1/cases/{holder['reference']}/documents"))[0]["number"]
    # Registered again, with the same names (accents lost) and birth date.
    # Against the person's one registry record (round 45a: records of one person are verified against one), which a
    # supervisor decides for names written otherwise.
    again = _verified_as_holder(api, holder, given_names="Maria Jose", first_surname="Pena",
                                second_surname="Rodriguez", birth_date=holder["birth_date"], national_id=None)
    filed = ok(api.post("inm.officer", f"/api/v1/cases/{again['reference']}/documents",
                        {"mrz": _passport(again, number)}), 201)
    assert filed["valid"] is True and filed["problems"] == [], filed
    # A record of another spelling linked by the cédula is the same person too.
    linked = _verified_as_holder(api, holder, given_names="Mariajose", first_surname="Peña",
                                 second_surname="Rodríguez", national_id=holder["national_id"])
    filed = ok(api.post("inm.officer", f"/api/v1/cases/{linked['reference']}/documents",
                        {"mrz": _passport(linked, number)}), 201)
    assert filed["valid"] is True and filed["problems"] == [], filed
