"""Every export of personal data is on the audit trail: who, which agency, what (SPEC 4.7).

Red team round 25, AB-F3: a SAIME officer or supervisor downloaded an emergency travel document
(`GET /api/v1/emergency-documents/E26000961.pdf`, by bearer token or with the pages' cookie): a PDF of the person's
whole identity (names, birth date and place, case reference, MRZ), and no audit record said so, while every other
export the tester made was audited (`manifest.read`, `list.export`, `cases.export`). A print now writes
`document.export` on the case, naming the document.

So that the next export does not slip the same way, the app's routes that answer a file (by their path, their
declared response or their handler's source) are each either an audited export, called here and seen to write its
action by its caller, or named as holding no stored person's data, with why.
"""

from __future__ import annotations

import inspect
import re

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.visibility import audit_pseudonym
from retorno.audit.models import AuditRecord
from retorno.web.actions import action_label
from tests.factories import USERS, Api, World, ok
from tests.functional.test_route_matrix import api_routes
from tests.web.pages_helpers import login

# Each route answering a file of people, with the action every answer of it writes and who calls it here.
AUDITED: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/api/v1/emergency-documents/{number}.pdf"): ("document.export", "saime.officer"),
    ("GET", "/api/v1/flights/{reference}/paxlst"): ("manifest.read", "inm.officer"),
    ("GET", "/api/v1/flights/{reference}/manifest.pdf"): ("manifest.read", "inm.officer"),
    ("GET", "/api/v1/flights/{reference}/manifest.csv"): ("manifest.read", "inm.officer"),
    ("GET", "/flights/{reference}/paxlst"): ("manifest.read", "carrier.officer"),
    ("GET", "/flights/{reference}/manifest.pdf"): ("manifest.read", "carrier.officer"),
    ("GET", "/flights/{reference}/manifest.csv"): ("manifest.read", "carrier.officer"),
    ("GET", "/flights/{reference}/passengers.{fmt}"): ("list.export", "inm.officer"),
    ("GET", "/cases.{fmt}"): ("cases.export", "inm.officer"),
    ("GET", "/verification.{fmt}"): ("list.export", "saime.officer"),
    ("GET", "/reintegration/returnees.{fmt}"): ("list.export", "op.officer"),
    ("GET", "/reintegration/placements.{fmt}"): ("list.export", "op.officer"),
    ("GET", "/reintegration/follow-ups.{fmt}"): ("list.export", "op.officer"),
}
# Routes answering a file that holds no stored person's data.
NOT_PERSONAL: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/reports/public.csv"): "the public statistics: counts, no person",
    ("GET", "/metrics"): "the service's own metrics for its operators: counts and timings, no person",
    ("GET", "/cases/import/template.{fmt}"): "a blank template to fill in",
    ("POST", "/cases/import/report"): "the problems of the file the official sends, nothing is written; what it tells "
                                      "of records another country's agency holds is audited (travel.load)",
}

AGENCY_OF = {username: agency for username, agency, _ in USERS}

FILE_PATH = re.compile(r"(\.(pdf|csv|xlsx|edi)|\.\{fmt\}|/paxlst)$")
FILE_SOURCE = re.compile(r"Content-Disposition|FileResponse|StreamingResponse|\bdownload\(|_download\(|_answer\(|"
                         r"media_type=")
NOT_FILES = (JSONResponse, HTMLResponse, RedirectResponse)


def answers_a_file(route: APIRoute) -> bool:
    """A route whose answer is a file: by its path, its declared response class or media, or its handler's source."""
    if FILE_PATH.search(route.path):
        return True
    declared = getattr(route.response_class, "value", route.response_class)
    if isinstance(declared, type) and not issubclass(declared, NOT_FILES):
        return True
    media = {kind for answer in route.responses.values() for kind in answer.get("content", {})}
    if media - {"application/json"}:
        return True
    return bool(FILE_SOURCE.search(inspect.getsource(inspect.unwrap(route.endpoint))))


def file_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {(method, route.path) for route in api_routes(app) if answers_a_file(route)
            for method in route.methods if method != "HEAD"}


def test_every_route_answering_a_file_is_an_audited_export_or_holds_nobody(client: TestClient) -> None:
    found = file_routes(client.app)  # type: ignore[arg-type]
    assert sorted(found - set(AUDITED) - set(NOT_PERSONAL)) == [], "a file answered without a known audit record"
    assert sorted((set(AUDITED) | set(NOT_PERSONAL)) - found) == [], "listed routes the app no longer serves as files"


def _records(session_factory: sessionmaker[Session], action: str) -> list[AuditRecord]:
    with session_factory() as session:
        return list(session.execute(sa.select(AuditRecord).where(AuditRecord.action == action)
                                    .order_by(AuditRecord.seq)).scalars())


def _emergency_document(api: Api) -> tuple[str, str]:
    case = api.register()
    api.screen(case["reference"])
    api.verify(case["reference"])
    issued = ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/emergency-document"), 201)
    return case["reference"], issued["number"]


def test_an_emergency_document_downloaded_is_audited_by_token_and_by_cookie(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """AB-F3 as the tester found it: the officer by token, the supervisor with the pages' cookie."""
    api = Api(client, world)
    reference, number = _emergency_document(api)
    assert _records(session_factory, "document.export") == []
    by_token = client.get(f"/api/v1/emergency-documents/{number}.pdf", headers=world.headers("saime.officer"))
    assert by_token.status_code == 200 and by_token.content.startswith(b"%PDF"), by_token.text
    assert login(client, "saime.supervisor").status_code == 303
    by_cookie = client.get(f"/api/v1/emergency-documents/{number}.pdf?lang=en")
    assert by_cookie.status_code == 200 and by_cookie.content.startswith(b"%PDF"), by_cookie.text
    records = _records(session_factory, "document.export")
    assert [(r.actor, r.agency, r.object_type, r.object_id) for r in records] == [
        ("saime.officer", "VE-SAIME", "case", reference), ("saime.supervisor", "VE-SAIME", "case", reference)]
    assert [(r.after or {}).get("document") for r in records] == [number, number]
    # The audit view tells it of the case, as a pseudonym to a monitor, under its label.
    key = client.app.state.audit_pseudonym_key  # type: ignore[attr-defined]
    shown = ok(api.get("monitor.viewer", "/api/v1/audit?action=document.export"))
    assert sorted((r["actor"], r["agency"], r["object_id"]) for r in shown) == [
        ("saime.officer", "VE-SAIME", audit_pseudonym(key, "case", reference)),
        ("saime.supervisor", "VE-SAIME", audit_pseudonym(key, "case", reference))], shown
    assert action_label("document.export") == "Documento de viaje de emergencia descargado"
    # A print refused (no such document of the agency) exported nothing and is not recorded as an export.
    assert api.get("saime.officer", "/api/v1/emergency-documents/E99999999.pdf").status_code == 404
    assert len(_records(session_factory, "document.export")) == 2


def _locked_flight(api: Api) -> str:
    flight = api.flight()["reference"]
    passenger = api.ready_case()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [passenger]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{passenger}/decision",
                {"approve": True}))
    ok(api.post("saime.officer", f"/api/v1/flights/{flight}/manifest/lock"))
    return flight


def test_each_audited_export_writes_its_action_by_its_caller(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    _, number = _emergency_document(api)
    flight = _locked_flight(api)
    values = {"number": number, "reference": flight, "fmt": "csv"}
    for (method, path), (action, user) in AUDITED.items():
        before = len(_records(session_factory, action))
        address = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        if path.startswith("/api/"):
            answer = client.request(method, address, headers=world.headers(user))
        else:
            assert login(client, user).status_code == 303
            answer = client.request(method, address)
        assert answer.status_code == 200, (path, answer.text[:300])
        records = _records(session_factory, action)[before:]
        assert [(r.actor, r.agency) for r in records] == [(user, AGENCY_OF[user])], (path, records)
