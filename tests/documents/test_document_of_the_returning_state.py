"""Red team round 47b. F2: passports issued by the United States (a "PT", a refugee travel document) and Mexico were
filed valid on a Venezuelan's case, which went ready on them: a person is returned on a document of the state they are
a national of. F3: a Venezuelan emergency passport the state never issued was filed valid when its number was the
series' with a letter for a digit (E2635345O), or shorter with the rest in the optional data: a document of the
series' kind ("PE") of a state whose receiving authority is here is one it issued, whatever its number."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from retorno.documents import mrz
from tests.documents.test_placeholder_numbers import _passport, _verified
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused


def _zone(case: dict[str, Any], number: str, *, code: str = "P", issuer: str = "VEN", optional: str = "") -> str:
    return mrz.build_td3(document_code=code, issuing_state=issuer,
                         surnames=f"{case['first_surname']} {case['second_surname'] or ''}".strip(),
                         given_names=case["given_names"], document_number=number, nationality="VEN",
                         birth_date=date.fromisoformat(case["birth_date"]), sex=case["sex"],
                         expiry_date=date.today() + timedelta(days=1000), optional_data=optional)


def _filing(client: TestClient, world: World) -> tuple[Api, dict[str, Any]]:
    api = Api(client, world)
    return api, _verified(api)


def _file(api: Api, case: dict[str, Any], zone: str) -> Any:
    return api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents", {"mrz": zone})


@pytest.mark.parametrize(("code", "issuer", "number"), [("PT", "USA", "584619284"), ("P", "USA", "573619284"),
                                                        ("P", "MEX", "G84619285"), ("P", "COL", "AB7419263")])
def test_a_document_of_another_state_is_kept_with_its_problem_and_never_valid(
        client: TestClient, world: World, code: str, issuer: str, number: str) -> None:
    api, case = _filing(client, world)
    filed = ok(_file(api, case, _zone(case, number, code=code, issuer=issuer)), 201)
    assert filed["valid"] is False, filed
    assert [(p["code"], p["field"]) for p in filed["problems"]] == [("issuing_state_not_nationality", "issuing_state")]
    assert ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}"))["state"] == "verified"
    ok(_file(api, case, _passport(case, "C55500011")), 201)  # the person's own state's passport makes them ready
    assert ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}"))["state"] == "ready"


@pytest.mark.parametrize(("code", "number", "optional"), [("PE", "E2635345O", ""), ("P", "E2635345O", ""),
                                                          ("PE", "E263534", "50"), ("PE", "374918265", "")])
def test_an_emergency_passport_the_state_never_issued_is_refused_whatever_its_number(
        client: TestClient, world: World, code: str, number: str, optional: str) -> None:
    api, case = _filing(client, world)
    refused(_file(api, case, _zone(case, number, code=code, optional=optional)), 422, "emergency_number_not_issued")
    assert ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}"))["state"] == "verified"
