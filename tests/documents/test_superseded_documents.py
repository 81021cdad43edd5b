"""A document for an identity the case no longer has (red team round 16, F10 and F6).

F10: SAIME issued E26001085 for birth date 2008-01-10; the birth date was corrected to 2007-01-10, verified again, and
E26001086 issued. `GET /api/v1/emergency-documents/E26001085.pdf` answered 200: a printable emergency passport whose
visual zone showed the case's current birth date (2007) beside its MRZ of the identity at issue (080110), a second
printable passport of one person. An emergency document prints exactly what was issued (the identity at issue, stored
with it), and one superseded (by an identity change, or by a newer one issued to the person) is refused at print, 409
`document_superseded`, as a withdrawn one is.

F6: after the identity change the old documents (the emergency one, and a passport whose MRZ birth date is no longer
the case's) still read `valid: true` with no problem, though the safeguards no longer count them: every door says
`valid: false` with the problem `identity_changed`; and the document the manifests show is the one the safeguards count.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from retorno.cli import cases as cli_cases
from retorno.cli.main import app as cli_app
from retorno.documents import service as documents_service
from retorno.documents.models import TravelDocument
from retorno.documents.pdf import EmergencyDocumentPrint
from tests.factories import Api, World, ok, registry_record
from tests.web.pages_helpers import login


def _documents(api: Api, reference: str, user: str = "inm.officer") -> dict[str, dict[str, Any]]:
    return {d["number"]: d for d in ok(api.get(user, f"/api/v1/cases/{reference}/documents"))}


def _state(api: Api, reference: str) -> str:
    return str(ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))["state"])


def _verify_again(api: Api, reference: str) -> None:
    request = api.open_request(reference)
    ok(api.post("saime.officer", f"/api/v1/cases/{reference}/verification-decision",
                {"outcome": "verified", "registry_record": registry_record(reference), "request": request}), 201)


def _pdf(api: Api, number: str) -> Any:
    return api.get("saime.officer", f"/api/v1/emergency-documents/{number}.pdf")


def _printed(monkeypatch: pytest.MonkeyPatch) -> list[EmergencyDocumentPrint]:
    """What each print is drawn from, as the service hands it to the renderer."""
    printed: list[EmergencyDocumentPrint] = []
    render = documents_service.render_emergency_document

    def spy(doc: EmergencyDocumentPrint, **kwargs: Any) -> bytes:
        printed.append(doc)
        return render(doc, **kwargs)

    monkeypatch.setattr(documents_service, "render_emergency_document", spy)
    return printed


@pytest.mark.parametrize("change", [{"birth_date": "1987-01-10"}, {"place_of_birth": "Carora"}])
def test_an_emergency_document_superseded_by_an_identity_change_is_not_printed(
        client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, change: dict[str, str]) -> None:
    api = Api(client, world)
    case = api.register(birth_date="1988-01-10", place_of_birth="Lara")
    reference = case["reference"]
    api.screen(reference)
    api.verify(reference)
    old = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    printed = _printed(monkeypatch)
    assert _pdf(api, old["number"]).status_code == 200
    assert (printed[-1].birth_date, printed[-1].place_of_birth) == (date(1988, 1, 10), "Lara")
    ok(api.patch("inm.officer", f"/api/v1/cases/{reference}", change))
    # Issued for an identity the case no longer has: not the person's document for travel, not printed (in Spanish too).
    refused = _pdf(api, old["number"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "document_superseded", refused.text
    spanish = client.get(f"/api/v1/emergency-documents/{old['number']}.pdf",
                         headers={**world.headers("saime.officer"), "Accept-Language": "es"})
    assert "no se imprime" in spanish.json()["error"]["localized"]["message"], spanish.text
    _verify_again(api, reference)
    new = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    assert _state(api, reference) == "ready"
    assert _pdf(api, old["number"]).status_code == 409
    # The new one prints the identity it was issued for, the one its MRZ holds.
    assert _pdf(api, new["number"]).status_code == 200
    expected = {**{"birth_date": date(1988, 1, 10), "place_of_birth": "Lara"},
                **{k: date.fromisoformat(v) if k == "birth_date" else v for k, v in change.items()}}
    assert (printed[-1].birth_date, printed[-1].place_of_birth) == (expected["birth_date"], expected["place_of_birth"])
    assert printed[-1].mrz == new["mrz"]


def test_an_emergency_document_keeps_the_identity_it_was_issued_for(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    case = api.register(birth_date="1990-03-04", place_of_birth="Lara")
    reference = case["reference"]
    api.screen(reference)
    api.verify(reference)
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    ok(api.patch("inm.officer", f"/api/v1/cases/{reference}", {"place_of_birth": "Carora", "birth_date": "1990-03-05"}))
    with session_factory() as session:
        stored = session.execute(sa.select(TravelDocument.issued_identity).where(
            TravelDocument.number == issued["number"])).scalar_one()
    assert stored is not None
    assert (stored["birth_date"], stored["place_of_birth"], stored["given_names"]) == (
        "1990-03-04", "Lara", case["given_names"])
    assert stored["issue_date"] == datetime.now(UTC).date().isoformat()


def test_an_emergency_document_replaced_by_a_newer_one_is_not_printed(client: TestClient, world: World) -> None:
    api = Api(client, world)
    case = api.register()
    reference = case["reference"]
    api.screen(reference)
    api.verify(reference)
    # Issued a hundred days ago: expired now, so the person is issued another for the same identity.
    with api.clock(datetime.now(UTC) - timedelta(days=100)):
        old = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    assert _pdf(api, old["number"]).status_code == 200  # an expired one alone still prints, for the file
    new = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    refused = _pdf(api, old["number"])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "document_superseded", refused.text
    assert _pdf(api, new["number"]).status_code == 200


@pytest.mark.parametrize("door", ["api", "page", "cli"])
def test_a_document_filed_before_an_identity_change_reads_not_valid_at_every_door(
        client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch, door: str) -> None:
    api = Api(client, world)
    case = api.ready_case(birth_date="2004-05-28")
    reference = case["reference"]
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    (passport,) = [n for n in _documents(api, reference) if n != issued["number"]]
    assert all(d["valid"] and d["problems"] == [] for d in _documents(api, reference).values())
    ok(api.patch("inm.officer", f"/api/v1/cases/{reference}", {"birth_date": "2004-05-29"}))
    _verify_again(api, reference)
    # The safeguards count neither: the case waits for a document of the identity it has now.
    assert _state(api, reference) == "verified"
    if door == "api":
        for user in ("inm.officer", "saime.officer"):
            listed = _documents(api, reference, user)
            for number in (passport, issued["number"]):
                assert listed[number]["valid"] is False, listed[number]
                assert [p["code"] for p in listed[number]["problems"]] == ["identity_changed"], listed[number]
    elif door == "page":
        login(client, "inm.officer")
        page = client.get(f"/cases/{reference}")
        assert page.status_code == 200
        assert page.text.count("la identidad del caso cambió después de archivarse este documento") == 2, page.text
        assert ">sí</td>" not in page.text.split('id="h-docs"')[1].split("</table>")[0]
    else:
        @contextmanager
        def in_test(_config: object) -> Iterator[Session]:
            yield session

        monkeypatch.setattr(cli_cases, "unit_of_work", in_test)
        result = CliRunner().invoke(cli_app, ["cases", "show", reference, "--as", "inm.officer"], terminal_width=400)
        assert result.exit_code == 0, result.output
        table = "".join(ch for ch in result.output.split("problems")[-1] if ch.isalnum() or ch in "/:")
        assert "sí/yes" not in table and table.count("identitywaschanged") == 2, result.output
    # A new emergency document for the new identity is valid, and the case ready with it.
    new = ok(api.post("saime.officer", f"/api/v1/cases/{reference}/emergency-document"), 201)
    assert new["valid"] is True and new["problems"] == []
    assert _documents(api, reference)[new["number"]]["valid"] is True
    assert _state(api, reference) == "ready"


def test_the_manifest_shows_the_document_the_safeguards_approved(client: TestClient, world: World) -> None:
    """An identity changed and changed back: the document of the identity the case has now is the one approved, and
    the one the carrier's list shows, not a newer one filed for the identity in between."""
    api = Api(client, world)
    case = api.ready_case(place_of_birth="Lara")
    reference = case["reference"]
    (first,) = _documents(api, reference)
    ok(api.patch("inm.officer", f"/api/v1/cases/{reference}", {"place_of_birth": "Carora"}))
    _verify_again(api, reference)
    second = api.passport(case)["number"]
    assert _state(api, reference) == "ready"
    ok(api.patch("inm.officer", f"/api/v1/cases/{reference}", {"place_of_birth": "Lara"}))
    _verify_again(api, reference)
    assert _state(api, reference) == "ready"
    flight = api.build_manifest([reference], departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5))
    carried = ok(api.get("carrier.officer", f"/api/v1/flights/{flight}/passengers"))
    assert [p["document_number"] for p in carried] == [first], carried
    rows = list(csv.reader(io.StringIO(api.get("carrier.officer", f"/api/v1/flights/{flight}/manifest.csv").text)))
    assert any(first in row for row in rows) and not any(second in row for row in rows), rows
    listed = _documents(api, reference)
    assert listed[first]["valid"] is True and listed[second]["valid"] is False, listed
