"""An emergency travel document this system issued is what it issued (red team round 14, F3 and F3b).

F3b: SAIME issued E26001089 to a person; the sending side changed the given names (verification re-opened), SAIME
verified again, and the sending side filed a re-typed machine readable zone of the same number with the new names and
recomputed check digits: accepted as valid, the case ready. A filed MRZ of a number issued here that differs from the
MRZ issued is not that document: refused (422 `emergency_document_altered`, nothing written), at every door that files
documents; the receiving authority issues a new one for the new identity.

F3: the sending side filed the next number of Venezuela's emergency series, never issued, and it was valid (refused
since 544a34a, `emergency_number_not_issued`): the exact steps, and the number stays the series' next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.cli import cases as cli_cases
from retorno.cli.main import app as cli_app
from retorno.documents import mrz
from retorno.documents import service as document_service
from tests.factories import Api, World, ok, registry_record
from tests.web.pages_helpers import login, post_form


def _documents(api: Api, reference: str) -> list[dict[str, Any]]:
    return list(ok(api.get("inm.officer", f"/api/v1/cases/{reference}/documents")))


def _state(api: Api, reference: str) -> str:
    return str(ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))["state"])


def _verified(api: Api, **overrides: Any) -> dict[str, Any]:
    case = api.register(**overrides)
    api.screen(case["reference"])
    api.verify(case["reference"])
    return case


def _retyped(case: dict[str, Any], number: str, given_names: str, expiry: date) -> str:
    """The issued document's MRZ typed again with other given names: the check digits recomputed, a valid MRZ."""
    return mrz.build_emergency_mrz(
        number=number, surnames=f"{case['first_surname']} {case['second_surname'] or ''}".strip(),
        given_names=given_names, birth_date=date.fromisoformat(case["birth_date"]), sex=case["sex"],
        expiry_date=expiry, nationality="VEN", issuing_state="VEN")


def test_the_next_number_of_the_series_filed_by_the_sending_side_is_refused_and_not_burnt(
        client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(client, world)
    first = _verified(api, given_names="Casimiro", first_surname="Ledezma", second_surname="Rtgfour")
    second = _verified(api, given_names="Primitivo", first_surname="Salcedo", second_surname="Rtgfive")
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{first['reference']}/emergency-document"), 201)
    year, sequence = mrz.parse_emergency_document_number(issued["number"])
    following = mrz.emergency_document_number(year, sequence % mrz.EMERGENCY_SERIES + 1)  # drawn at random
    text = _retyped(second, following, second["given_names"], date.today() + timedelta(days=80))
    refused = api.post("inm.officer", f"/api/v1/cases/{second['reference']}/documents", {"mrz": text})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "emergency_number_not_issued", refused.text
    assert _documents(api, second["reference"]) == [] and _state(api, second["reference"]) == "verified"
    # Nothing was filed, so the number is still the state's to issue: drawn next, it is issued.
    monkeypatch.setattr(document_service.secrets, "randbelow", lambda _: sequence)
    again = ok(api.post("saime.officer", f"/api/v1/cases/{second['reference']}/emergency-document"), 201)
    assert again["number"] == following


@pytest.mark.parametrize("door", ["api", "page", "cli"])
def test_an_issued_emergency_document_retyped_with_a_new_name_is_not_that_document(
        client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch, door: str) -> None:
    api = Api(client, world)
    case = _verified(api, given_names="Primitivo", first_surname="Salcedo", second_surname="Rtgfive",
                     birth_date="1964-08-09", sex="M")
    reference = case["reference"]
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    assert _state(api, reference) == "ready"
    expiry = date.fromisoformat(issued["expiry_date"])
    # The sending side corrects the given names: verification re-opens, the issued document no longer makes the case
    # ready; the receiving authority verifies the new identity.
    ok(api.patch("inm.officer", f"/api/v1/cases/{reference}", {"given_names": "Primitivo Jose"}))
    request = api.open_request(reference)
    ok(api.post("saime.officer", f"/api/v1/cases/{reference}/verification-decision",
                {"outcome": "verified", "registry_record": registry_record(reference), "request": request}), 201)
    assert _state(api, reference) == "verified"
    retyped = _retyped(case, issued["number"], "Primitivo Jose", expiry)
    assert not mrz.parse_mrz(retyped, today=date.today()).problems
    if door == "api":
        refused = api.post("inm.officer", f"/api/v1/cases/{reference}/documents", {"mrz": retyped})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "emergency_document_altered", refused.text
        spanish = client.post(f"/api/v1/cases/{reference}/documents", json={"mrz": retyped},
                              headers={**world.headers("inm.officer"), "Accept-Language": "es"})
        assert "difiere de la emitida" in spanish.json()["error"]["localized"]["message"], spanish.text
    elif door == "page":
        login(client, "inm.officer")
        page = post_form(client, f"/cases/{reference}/documents", {"mrz": retyped}, page=f"/cases/{reference}")
        assert page.status_code == 422 and "difiere de la emitida" in page.text, page.text
    else:
        @contextmanager
        def in_test(_config: object) -> Iterator[Session]:
            yield session

        monkeypatch.setattr(cli_cases, "unit_of_work", in_test)
        result = CliRunner().invoke(cli_app, ["documents", "add", reference, "--mrz", retyped, "--as", "inm.officer"],
                                    terminal_width=200)
        assert result.exit_code != 0 and "emergency_document_altered" in result.output, result.output
    # Nothing written: the issued document alone, the case not ready.
    assert [d["number"] for d in _documents(api, reference)] == [issued["number"]]
    assert _state(api, reference) == "verified"
    # The issued one filed as issued is that document (for the old names, so not valid for the new ones).
    copy = ok(api.post("inm.officer", f"/api/v1/cases/{reference}/documents", {"mrz": issued["mrz"]}), 201)
    assert copy["valid"] is False and _state(api, reference) == "verified"
    # The receiving authority issues a new one for the new identity: another number, and the case is ready with it.
    new = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    assert new["number"] != issued["number"] and new["valid"] is True, new
    assert _state(api, reference) == "ready"
    listed = _documents(api, reference)
    assert [d["number"] for d in listed] == [issued["number"], issued["number"], new["number"]]
