"""Red team round 19, T-F1: a travel document filed with a number another person's record holds
(`document_held_by_another`) linked nobody since round 18 (S-F2), so a concern open on either record held nobody: a
stranger holding the passport number of a person with an asylum claim open was added, approved and locked on a
manifest, within one agency and across two, the concern raised before or after the filing; a passenger aboard stayed
aboard. The two records are possible duplicates now (`travel.duplicates.flag_held_document`): a concern open on
either holds the other, as for any flag, until supervisors decide; one seat counts for both."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from retorno.documents import mrz
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused

HOLDER = {"given_names": "Anacleto Rufino", "first_surname": "Mavarez", "second_surname": "Ochoa", "sex": "M",
          "birth_date": "1991-02-16"}
STRANGER = {"given_names": "Brigida", "first_surname": "Tovar", "second_surname": "Lugo", "sex": "F",
            "birth_date": "1972-07-03"}
NUMBER = "P45977165"


def _passport(person: dict[str, Any], number: str = NUMBER) -> str:
    return mrz.build_td3(document_code="P", issuing_state="VEN",
                         surnames=f"{person['first_surname']} {person['second_surname']}",
                         given_names=person["given_names"], document_number=number, nationality="VEN",
                         birth_date=date.fromisoformat(person["birth_date"]), sex=person["sex"],
                         expiry_date=date.today() + timedelta(days=1500))


def _ready(api: Api, user: str, person: dict[str, Any], number: str) -> str:
    """A case of `person` by `user`'s agency, screened, verified and ready on its own passport `number`."""
    case = api.register(user, national_id=None, **person)
    api.screen(case["reference"], user=user)
    api.verify(case["reference"], user)
    filed = ok(api.post(user, f"/api/v1/cases/{case['reference']}/documents", {"mrz": _passport(person, number)}), 201)
    assert filed["case_state"] == "ready", filed
    return str(case["reference"])


def _state(api: Api, reference: str, user: str) -> str:
    return str(ok(api.get(user, f"/api/v1/cases/{reference}"))["state"])


@pytest.mark.parametrize("stranger_agency", ["ice.officer", "inm.officer"])
def test_a_concern_on_the_holder_holds_the_stranger_filing_its_number(
        client: TestClient, world: World, stranger_agency: str) -> None:
    api = Api(client, world)
    holder = _ready(api, "inm.officer", HOLDER, NUMBER)
    api.screen(holder, ["pending_asylum_claim"])
    stranger = _ready(api, stranger_agency, STRANGER, "C8260514K")
    filed = ok(api.post(stranger_agency, f"/api/v1/cases/{stranger}/documents", {"mrz": _passport(STRANGER)}), 201)
    assert "document_held_by_another" in [problem["code"] for problem in filed["problems"]], filed
    # Before: 'ready', and added, approved and locked on a manifest.
    assert _state(api, stranger, stranger_agency) == "documented"
    flight = api.flight(user=stranger_agency)["reference"]
    error = refused(api.post(stranger_agency, f"/api/v1/flights/{flight}/passengers", {"cases": [stranger]}), 409,
                    "invalid_transition")
    assert "protection concern" in str(error["message"]), error


def test_a_concern_raised_after_takes_the_stranger_off_a_locked_manifest(client: TestClient, world: World) -> None:
    api = Api(client, world)
    holder = _ready(api, "inm.officer", HOLDER, NUMBER)
    stranger = _ready(api, "inm.officer", STRANGER, "C8260514K")
    ok(api.post("inm.officer", f"/api/v1/cases/{stranger}/documents", {"mrz": _passport(STRANGER)}), 201)
    flight = locked_flight(api, [stranger])
    assert stranger in [p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))]
    api.screen(holder, ["pending_asylum_claim"])
    # Before: left approved on the locked manifest.
    assert stranger not in [p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
                            if p["approval"] in ("proposed", "approved")]
    assert _state(api, stranger, "inm.officer") == "documented"


def test_the_stranger_and_the_holder_take_one_seat_until_decided(client: TestClient, world: World) -> None:
    api = Api(client, world)
    holder = _ready(api, "inm.officer", HOLDER, NUMBER)
    stranger = _ready(api, "ice.officer", STRANGER, "C8260514K")
    ok(api.post("ice.officer", f"/api/v1/cases/{stranger}/documents", {"mrz": _passport(STRANGER)}), 201)
    ice_flight = api.flight(user="ice.officer")["reference"]
    ok(api.post("ice.officer", f"/api/v1/flights/{ice_flight}/passengers", {"cases": [stranger]}), 201)
    inm_flight = api.flight()["reference"]
    # Before: 201, the two counted as two people.
    refused(api.post("inm.officer", f"/api/v1/flights/{inm_flight}/passengers", {"cases": [holder]}), 409,
            "safeguard.one_seat")
