"""A travel document is issued by a state: one of the ICAO specimen state Utopia, a nationality category or an
international organisation is kept with a problem and never valid (red team round 19, T-F2).

A passport whose issuing state was `UTO` (the Doc 9303 specimen) was a valid travel document and its holder was
approved on a manifest; so were documents of `XXA` (stateless), `XXB`, `XXC`, `XXX`, the UN's `UNO`, `UNA`, `UNK`, the
EU's `EUE`, `XOM`, Interpol's `XPO`, and `GBD` (a British nationality: the United Kingdom issues as `GBR`). The rule
(`documents.mrz.issued_by_a_state`): ISO 3166-1 alpha-3, Germany's `D` and Kosovo's `RKS`. `ZZZ`, no ICAO code at all,
stays `country_code`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from retorno.documents import mrz
from tests.documents.test_placeholder_numbers import _documents, _passport, _verified
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

NOT_STATES = ("UTO", "XXA", "XXB", "XXC", "XXX", "UNO", "UNA", "UNK", "EUE", "XOM", "XPO", "GBD")
STATES = ("VEN", "GBR", "D", "RKS", "DEU", "MEX")


def test_the_rule() -> None:
    assert [code for code in NOT_STATES if mrz.issued_by_a_state(code)] == []
    assert [code for code in STATES if not mrz.issued_by_a_state(code)] == []
    # Each is an ICAO code: the MRZ itself reads (its nationality field may hold one, a stateless person's XXA).
    assert set(NOT_STATES) <= mrz.country_codes()


@pytest.mark.parametrize("code", NOT_STATES)
def test_a_document_issued_by_no_state_is_filed_with_its_problem_and_never_valid(
        client: TestClient, world: World, code: str) -> None:
    api = Api(client, world)
    case = _verified(api)
    filed = ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents",
                        {"mrz": _passport(case, "C55500011", code)}), 201)
    # Before: valid, and the case ready.
    assert filed["valid"] is False, filed
    assert [(p["code"], p["field"]) for p in filed["problems"]] == [("issuing_state_not_a_state", "issuing_state")]
    assert code in filed["problems"][0]["message"] and "is not a state" in filed["problems"][0]["message"]
    assert ok(api.get("inm.officer", f"/api/v1/cases/{case['reference']}"))["state"] == "verified"


def test_the_utopia_passports_holder_is_not_put_on_a_manifest_and_a_states_passport_makes_them_ready(
        client: TestClient, world: World) -> None:
    """The finding's steps: a verified person, a passport of Utopia filed, a flight; the planner's and the officer's
    way onto the manifest is closed (before: approved). Their passport issued by Venezuela makes them ready."""
    api = Api(client, world)
    case = _verified(api)
    reference = case["reference"]
    ok(api.post("inm.officer", f"/api/v1/cases/{reference}/documents", {"mrz": _passport(case, "C55500011", "UTO")}),
       201)
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    flight = api.flight(departure=departure)["reference"]
    added = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [reference]})
    assert added.status_code >= 400, added.text
    assert reference not in str(ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers")))
    # On the case page, in Spanish.
    login(client, "inm.officer")
    page = client.get(f"/cases/{reference}")
    assert "el estado emisor UTO no es un Estado" in page.text, page.text
    valid = ok(api.post("inm.officer", f"/api/v1/cases/{reference}/documents",
                        {"mrz": _passport(case, "C55500012")}), 201)
    assert valid["valid"] is True, valid
    assert [d["issuing_state"] for d in _documents(api, reference)] == ["UTO", "VEN"]
    assert ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))["state"] == "ready"


@pytest.mark.parametrize("code", ["GBR", "D", "RKS"])
def test_a_document_of_a_state_named_by_icao_is_of_a_state(client: TestClient, world: World, code: str) -> None:
    """Of a state, yet not the one a Venezuelan is returned to: kept with that problem alone (red team round 47b, F2);
    a Venezuelan's own passport is valid (`test_the_utopia_passports_holder...`)."""
    api = Api(client, world)
    case = _verified(api)
    filed = ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/documents",
                        {"mrz": _passport(case, "C55500011", code)}), 201)
    assert [p["code"] for p in filed["problems"]] == ["issuing_state_not_nationality"], filed
