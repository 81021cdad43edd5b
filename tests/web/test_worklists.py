"""Lists that can be worked, over HTTP: filters, sorting, pages, named searches, exports and the bulk pages."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import openpyxl
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case, SavedSearch
from retorno.cases.service import get_case
from retorno.db import clock_at
from retorno.flights.models import Passenger
from retorno.reintegration.models import Opportunity, Placement
from retorno.screening.models import Screening
from retorno.verification.service import open_request, record_decision
from tests.factories import Api, World, ok
from tests.web.pages_helpers import alert, login, post_form
from tests.web.test_operator_pages import OPPORTUNITY_FORM, consented, send

REFERENCE = re.compile(r'href="/cases/([A-Z]{2}-\d{4}-\d{6,})"')


def listed(html: str) -> list[str]:
    return REFERENCE.findall(html)


def detained(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def test_the_case_list_filters_by_each_field_sorts_by_each_column_and_pages(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    place = "Estación Filtros Norte"
    long_wait = api.register(held_at=place, detained_since=detained(200), household_reference="FAM-LIST",
                             first_surname="Zapata")["reference"]
    short_wait = api.register(held_at=place, detained_since=detained(10), first_surname="Abreu")["reference"]
    elsewhere = api.register(held_at="Otra estación", detained_since=detained(100))["reference"]
    screened = api.register(held_at=place, detained_since=detained(50))["reference"]
    api.screen(screened, ["pending_asylum_claim"])
    ready = api.ready_case(held_at=place, detained_since=detained(60))["reference"]
    # A concern a supervisor resolved is no longer open; one of two raised, resolved alone, still is.
    resolved = api.register(held_at="Estación Resueltas", detained_since=detained(5))["reference"]
    half = api.register(held_at="Estación Resueltas", detained_since=detained(6))["reference"]
    api.screen(resolved, ["pregnancy"])
    api.screen(half, ["pregnancy", "disability"])
    for ref in (resolved, half):
        ok(api.post("inm.supervisor", f"/api/v1/cases/{ref}/screenings/resolution",
                    {"decision": "travel_permitted", "reason": "valorado en persona", "concerns": ["pregnancy"]}))
    login(client, "inm.supervisor")
    assert listed(client.get("/cases", params={"concern": "open", "held": "resueltas"}).text) == [half]

    assert set(listed(client.get("/cases", params={"held": "filtros norte"}).text)) == {
        long_wait, short_wait, screened, ready}
    # Newest first unless sorted otherwise.
    assert listed(client.get("/cases", params={"held": "filtros norte", "days_min": 55}).text) == [
        ready, long_wait]
    assert listed(client.get("/cases", params={"held": "filtros norte", "days_max": 55}).text) == [
        screened, short_wait]
    assert listed(client.get("/cases", params={"household": "FAM-LIST"}).text) == [long_wait]
    assert listed(client.get("/cases", params={"concern": "open", "held": "filtros"}).text) == [screened]
    assert screened not in listed(client.get("/cases", params={"concern": "none", "held": "filtros"}).text)
    assert listed(client.get("/cases", params={"verification": "verified", "held": "filtros"}).text) == [ready]
    assert listed(client.get("/cases", params={"state": "ready", "held": "filtros"}).text) == [ready]
    assert elsewhere not in listed(client.get("/cases", params={"held": "filtros"}).text)
    # Sorted by each column: days detained (longest first), then name, both ways.
    by_days = listed(client.get("/cases", params={"held": "filtros norte", "sort": "-detained"}).text)
    assert by_days == [long_wait, ready, screened, short_wait]
    assert listed(client.get("/cases", params={"held": "filtros norte", "sort": "detained"}).text) == by_days[::-1]
    by_name = listed(client.get("/cases", params={"held": "filtros norte", "sort": "name"}).text)
    assert by_name[0] == short_wait and by_name[-1] == long_wait
    page = client.get("/cases", params={"held": "filtros norte", "sort": "-detained"}).text
    assert 'aria-sort="descending"' in page
    for column in ("registered", "reference", "name", "birth_date", "national_id", "state", "held_at", "household",
                   "assigned"):
        assert client.get("/cases", params={"sort": column}).status_code == 200, column
        assert client.get("/cases", params={"sort": f"-{column}"}).status_code == 200, column


def test_the_case_list_pages_fifty_at_a_time(client: TestClient, world: World) -> None:
    api = Api(client, world)
    refs = [api.register(held_at="Estación Páginas")["reference"] for _ in range(53)]
    login(client, "inm.officer")
    first = client.get("/cases", params={"held": "páginas"}).text
    second = client.get("/cases", params={"held": "páginas", "page": 2}).text
    assert len(listed(first)) == 50 and len(listed(second)) == 3
    assert set(listed(first)) | set(listed(second)) == set(refs)
    assert "Casos: 53" in first and 'rel="next"' in first and 'rel="prev"' in second


def test_a_filter_over_what_the_reader_may_not_see_is_refused(client: TestClient, world: World) -> None:
    api = Api(client, world)
    api.ready_case(held_at="Estación Secreta")
    login(client, "saime.officer")
    for params in ({"held": "secreta"}, {"concern": "open"}, {"days_min": "3"}, {"sort": "held_at"}):
        response = client.get("/cases", params=params)
        assert response.status_code == 422, params
        assert "no están disponibles para su agencia" in alert(response.text) or "el orden es uno de" in alert(
            response.text)
    page = client.get("/cases").text
    assert 'id="held"' not in page and 'id="concern"' not in page and 'id="verification"' in page
    assert api.get("saime.officer", "/api/v1/cases?held=secreta").status_code == 422


def test_named_searches_are_each_users_own(client: TestClient, world: World, session: Session) -> None:
    login(client, "inm.officer")
    saved = post_form(client, "/cases/searches", {"name": "Largas esperas", "query": "days_min=90&sort=-detained"},
                      page="/cases")
    assert saved.status_code == 303 and saved.headers["location"] == "/cases?days_min=90&sort=-detained"
    page = client.get("/cases").text
    assert 'href="/cases?days_min=90&amp;sort=-detained">Largas esperas</a>' in page
    post_form(client, "/cases/searches", {"name": "Largas esperas", "query": "days_min=120"}, page="/cases")
    mine = session.execute(sa.select(SavedSearch).where(SavedSearch.name == "Largas esperas")).scalars().all()
    assert [s.query for s in mine] == ["days_min=120"]
    login(client, "inm.supervisor")
    assert "Largas esperas" not in client.get("/cases").text
    assert post_form(client, f"/cases/searches/{mine[0].id}/delete", {}, page="/cases").status_code == 404
    login(client, "inm.officer")
    assert post_form(client, f"/cases/searches/{mine[0].id}/delete", {}, page="/cases").status_code == 303
    assert ">Largas esperas</a>" not in client.get("/cases").text



def test_a_viewer_saves_no_search_and_saved_searches_are_audited(client: TestClient, world: World,
                                                                  session: Session) -> None:
    """Red team round 6, F5: a viewer (inm.consulta) saved a search, unaudited; a viewer changes nothing (SPEC.md
    4.6). Refused 403 as every other viewer write, at saving and deleting, with no form to do it on the page; an
    officer's saved search, a personal setting stored as one's password is, is on the audit trail (4.7)."""
    login(client, "inm.officer")
    assert post_form(client, "/cases/searches", {"name": "Mías", "query": "days_min=30"}, page="/cases"
                     ).status_code == 303
    post_form(client, "/cases/searches", {"name": "Mías", "query": "days_min=60"}, page="/cases")
    (mine,) = session.execute(sa.select(SavedSearch).where(SavedSearch.name == "Mías")).scalars().all()
    for viewer in ("inm.viewer", "saime.viewer"):
        login(client, viewer)
        page = client.get("/cases")
        assert page.status_code == 200 and 'action="/cases/searches"' not in page.text, viewer
        refused = post_form(client, "/cases/searches", {"name": "rt6", "query": "q=x"}, page="/")
        assert refused.status_code == 403, (viewer, refused.text[:1000])
        assert post_form(client, f"/cases/searches/{mine.id}/delete", {}, page="/").status_code == 403
    session.expire_all()
    assert session.execute(sa.select(SavedSearch.name)).scalars().all() == ["Mías"]
    login(client, "inm.officer")
    assert post_form(client, f"/cases/searches/{mine.id}/delete", {}, page="/cases").status_code == 303
    trail = session.execute(sa.select(AuditRecord).where(AuditRecord.action.like("search.%"))
                            .order_by(AuditRecord.seq)).scalars().all()
    assert [(r.action, r.object_id, r.before, r.after) for r in trail] == [
        ("search.save", str(mine.id), None, {"list": "cases", "name": "Mías", "query": "days_min=30"}),
        ("search.save", str(mine.id), {"query": "days_min=30"},
         {"list": "cases", "name": "Mías", "query": "days_min=60"}),
        ("search.delete", str(mine.id), {"list": "cases", "name": "Mías", "query": "days_min=60"}, None)]
    assert {r.actor for r in trail} == {"inm.officer"}

def test_exports_hold_what_the_role_may_see_and_escape_formulas(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    case = api.ready_case(held_at="@SUMA Estación", contact="+58 412", notes="-1+1")
    # A name is written in Latin letters at every door now; a record stored before may hold a formula.
    with session_factory() as session:
        session.execute(sa.update(Case).where(Case.reference == case["reference"]).values(
            given_names="=HYPERLINK(\"http://x\")"))
        session.commit()
    login(client, "inm.officer")
    sending = client.get("/cases.csv", params={"q": case["reference"]})
    assert sending.status_code == 200 and sending.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(sending.text.lstrip("\ufeff"))))
    header, row = rows[0], rows[1]
    cell = dict(zip(header, row, strict=True))
    assert cell["Nombres"] == "'=HYPERLINK(\"http://x\")" and cell["Lugar de custodia"] == "'@SUMA Estación"
    assert cell["Contacto"] == "'+58 412" and cell["Notas"] == "'-1+1"
    book = openpyxl.load_workbook(io.BytesIO(client.get("/cases.xlsx", params={"q": case["reference"]}).content))
    values = [[c.value for c in r] for r in book.active.iter_rows()]
    assert values[1][values[0].index("Nombres")] == "=HYPERLINK(\"http://x\")"  # a string, without CSV's quote
    assert all(c.data_type != "f" for r in book.active.iter_rows() for c in r)

    login(client, "saime.officer")
    receiving = list(csv.reader(io.StringIO(client.get("/cases.csv", params={"q": case["reference"]}).text
                                            .lstrip("\ufeff"))))
    assert "Lugar de custodia" not in receiving[0] and "Contacto" not in receiving[0] and "Notas" not in receiving[0]
    assert "Cédula" in receiving[0] and len(receiving) == 2
    assert client.get("/cases.pdf").status_code == 404
    with session_factory() as session:
        exports = session.execute(sa.select(AuditRecord.actor, AuditRecord.after).where(
            AuditRecord.action == "cases.export")).all()
    assert [(actor, after["rows"]) for actor, after in exports] == [
        ("inm.officer", 1), ("inm.officer", 1), ("saime.officer", 1)]
    login(client, "carrier.officer")
    assert client.get("/cases.csv", follow_redirects=False).status_code == 403


def test_the_receiving_officer_approves_a_manifest_in_one_step_from_the_page(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    refs = [api.ready_case(given_names=f"Viajera {letter}")["reference"] for letter in "ABC"]  # (no digits in a name)
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    with session_factory() as session:
        case_id = session.execute(sa.select(Case.id).where(Case.reference == refs[0])).scalar_one()
        session.execute(sa.insert(Screening).values(case_id=case_id, screened_by=world.users["inm.officer"].id,
                                                    concerns=["trafficking_victim"], medical_escorts=0))
        session.commit()
    login(client, "saime.officer")
    page = client.get(f"/flights/{flight}").text
    assert "Impide aprobar" in page and "Verificación" in page and "verificada" in page
    assert "trata" not in page and "trafficking" not in page
    preview = post_form(client, f"/flights/{flight}/approvals", {}, page=f"/flights/{flight}")
    assert preview.status_code == 200
    assert "Serán aprobados: 2" in preview.text and "No pueden aprobarse: 1" in preview.text
    assert "No devolución" in preview.text and "Viajera A" in preview.text
    # In the reader's language, and without saying which concern.
    assert "la evaluación de protección de la autoridad de envío no está resuelta" in preview.text
    hidden = re.findall(r'name="cases" value="([^"]+)"', preview.text)
    assert sorted(hidden) == sorted(refs)
    done = post_form(client, f"/flights/{flight}/approvals",
                     {"step": "confirm", "cases": hidden, "reject_reason": "protección sin resolver"},
                     page=f"/flights/{flight}")
    assert done.status_code == 303
    with session_factory() as session:
        approvals = dict(session.execute(sa.select(Case.reference, Passenger.approval)
                                         .join(Passenger, Passenger.case_id == Case.id)).all())
    assert approvals == {refs[0]: "rejected", refs[1]: "approved", refs[2]: "approved"}
    flash = client.get(f"/flights/{flight}").text
    assert "Pasajeros aprobados: 2" in flash and refs[0] in flash


def test_the_ready_case_picker_is_filtered_by_the_departure_airport_and_paged(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    near = api.ready_case(nearest_airport="TAP")["reference"]
    far = api.ready_case(nearest_airport="MEX")["reference"]
    flight = api.flight(origin="TAP")["reference"]
    login(client, "inm.officer")
    assert "cerca de TAP" in client.get(f"/flights/{flight}").text
    picker = client.get(f"/flights/{flight}/add").text
    assert near in listed(picker) and far not in listed(picker)
    everywhere = client.get(f"/flights/{flight}/add", params={"airport": ""}).text
    assert {near, far} <= set(listed(everywhere))
    preview = post_form(client, f"/flights/{flight}/selection", {"airport": "TAP", "limit": "5"},
                        page=f"/flights/{flight}/add")
    assert preview.status_code == 200 and "Hogares que entrarán en el manifiesto" in preview.text
    hidden = re.findall(r'name="cases" value="([^"]+)"', preview.text)
    assert near in hidden and far not in hidden
    assert post_form(client, f"/flights/{flight}/selection", {"step": "confirm", "cases": hidden},
                     page=f"/flights/{flight}/add").status_code == 303
    assert near in listed(client.get(f"/flights/{flight}").text)


def test_the_verification_queue_pages_and_verifies_a_candidate_by_its_button(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    refs = []
    for i in range(12):
        case = api.register(given_names=f"Solicitante {i}")
        api.screen(case["reference"])
        ok(api.post("inm.officer", f"/api/v1/cases/{case['reference']}/verification-request"), 201)
        refs.append(case["reference"])
    with session_factory() as session:
        officer = session.merge(world.users["saime.officer"])
        first = get_case(session, officer, refs[0])
        record_decision(session, officer, first, outcome="review", method="linkage",
                        request_reference=open_request(session, officer, first).reference,
                        candidates=[{"registry_record": "VE-REG-7", "probability": 0.81},
                                    {"registry_record": "VE-REG-9", "probability": 0.4}])
        session.commit()
    login(client, "saime.officer")
    first = client.get("/verification").text
    assert "de la 1 a la 10 (página 1 de 2)" in first and 'rel="next"' in first
    second = client.get("/verification", params={"page": 2}).text
    assert len(set(re.findall(r'id="h-([A-Z]{2}-\d{4}-\d{6,})"', second))) == 2
    assert 'name="registry_record" value="VE-REG-9"' in first
    chosen = post_form(client, f"/verification/{refs[0]}", {"outcome": "verified", "registry_record": "VE-REG-9",
                                                            "request": f"VR-{refs[0]}"}, page="/verification")
    assert chosen.status_code == 303
    with session_factory() as session:
        assert session.execute(sa.select(Case.state).where(Case.reference == refs[0])).scalar_one() == "verified"
    exported = list(csv.reader(io.StringIO(client.get("/verification.csv").text.lstrip("\ufeff"))))
    assert len(exported) == 12 and "Lugar de custodia" not in exported[0] and "Cédula" in exported[0]


def test_lists_of_a_flight_and_of_returnees_export_what_each_role_may_see(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    returnee = api.arrive(1, name="Exportada")[0]
    ok(api.post("op.officer", f"/api/v1/cases/{returnee['reference']}/consent",
                {"birth_date": returnee["birth_date"]}), (200, 201))
    flight = api.build_manifest([api.ready_case()["reference"]], departure=datetime.now(UTC) + timedelta(days=1))
    login(client, "carrier.officer")
    carrier = list(csv.reader(io.StringIO(client.get(f"/flights/{flight}/passengers.csv").text.lstrip("\ufeff"))))
    assert "Número de documento" in carrier[0] and "Aprobación" not in carrier[0] and "Motivo" not in carrier[0]
    login(client, "saime.officer")
    receiving = list(csv.reader(io.StringIO(client.get(f"/flights/{flight}/passengers.csv").text.lstrip("\ufeff"))))
    assert "Aprobación" in receiving[0] and "Número de documento" not in receiving[0] and len(receiving) == 2
    login(client, "op.officer")
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reintegration/returnees.xlsx").content))
    header = [c.value for c in next(book.active.iter_rows())]
    assert "Nombres" in header and "Cédula" not in header and "Lugar de custodia" not in header
    assert client.get("/reintegration/placements.csv").status_code == 200
    assert client.get("/reintegration/follow-ups.csv").status_code == 200
    login(client, "inm.officer")
    assert client.get("/reintegration/returnees.csv", follow_redirects=False).status_code == 403


def test_the_planning_result_groups_the_left_off_by_reason_and_pages_each_group(
        client: TestClient, world: World) -> None:
    left = {f"MX-2026-9{n:05d}": ["no_seat", "all flights are full"] for n in range(30)}
    left |= {f"MX-2026-8{n:05d}": ["no_adult", "a minor without an adult"] for n in range(2)}
    plan = {"manifests": {}, "escorts": {}, "medical_staff": {}, "left_off": left, "objective": 1.0, "bound": 1.0,
            "gap": 0.0, "greedy": 1.0, "status": "optimal", "seconds": 0.1}
    login(client, "inm.officer")
    first = post_form(client, "/planning/review", {"plan": json.dumps(plan)}, page="/planning")
    assert first.status_code == 200
    assert "(30)" in first.text and "(2)" in first.text and "página 1 de 2" in first.text
    assert first.text.count('href="/cases/MX-2026-9') == 25 and 'value="no_seat:2"' in first.text
    second = post_form(client, "/planning/review", {"plan": json.dumps(plan), "left_pages": ["no_seat:1", "no_adult:1"],
                                                   "left_page": "no_seat:2"}, page="/planning")
    assert second.text.count('href="/cases/MX-2026-9') == 5 and "MX-2026-900029" in second.text


def test_placements_and_follow_ups_list_with_filters_and_a_form_opening_per_row(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    login(client, "op.officer")
    refs = []
    for title in ("Taller Filtro A", "Taller Filtro B"):
        send(client, "/reintegration/opportunities/new",
             {**OPPORTUNITY_FORM, "title": title, "seats": "2", "workplace": title, "required_skills": ""})
        refs.append(session.execute(sa.select(Opportunity.reference).where(Opportunity.title == title)).scalar_one())
    people = consented(api, client, world, 3, refs)
    assert send(client, "/reintegration/matching/run", {"mode": "stable"}).status_code == 303
    everyone = client.get("/reintegration/placements").text
    assert "Colocaciones que coinciden: 3" in everyone and everyone.count('<details class="row-form">') == 3
    one = client.get("/reintegration/placements", params={"q": people[1]["reference"]}).text
    assert "Colocaciones que coinciden: 1" in one and people[1]["reference"] in one
    by_opportunity = client.get("/reintegration/placements", params={"opportunity": refs[1]}).text
    placed = session.execute(sa.select(sa.func.count()).select_from(Placement).join(
        Opportunity, Opportunity.id == Placement.opportunity_id).where(Opportunity.reference == refs[1])).scalar_one()
    assert f"Colocaciones que coinciden: {placed}" in by_opportunity
    placement = session.execute(sa.select(Placement).order_by(Placement.id)).scalars().first()
    assert placement is not None
    for step, on in (("accepted", datetime.now(UTC).date().isoformat()), ("started", "2027-02-01")):
        # A start is recorded once begun (red team round 17, Q-F2).
        with clock_at(datetime(2027, 2, 1, 12, tzinfo=UTC) if step == "started" else datetime.now(UTC)):
            if step == "started":
                login(client, "op.officer")  # a sign-in of two months before has expired
            assert send(client, f"/reintegration/placements/{placement.id}",
                        {"status": step, "on": on, "version": str(placement.version)}).status_code == 303
        session.refresh(placement)
    # Today (December 2026) none of the three is open yet: each row says from which day, with no form (red team
    # round 5, B-F4: the form was offered and refused on submit). On 20 April 2027 the 3-month one is open.
    before = client.get("/reintegration/follow-ups").text
    assert '<details class="row-form">' not in before and before.count("se registra a partir del") == 3
    with clock_at(datetime(2027, 4, 20, 12, tzinfo=UTC)):
        login(client, "op.officer")
        due = client.get("/reintegration/follow-ups").text
    assert due.count('<details class="row-form">') == 1 and 'name="wellbeing"' in due
    assert due.count("se registra a partir del") == 2
    six = client.get("/reintegration/follow-ups", params={"months": "6"}).text
    assert "Coinciden: 1" in six and "6 meses" in six
    assert "Ningún seguimiento pendiente." in client.get("/reintegration/follow-ups", params={"due": "overdue"}).text


def test_rejecting_the_ticked_and_assigning_cases_from_the_pages_preview_then_confirm(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    refs = [api.ready_case(given_names=f"Marcada {i}")["reference"] for i in range(3)]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    login(client, "saime.officer")
    page = client.get(f"/flights/{flight}").text
    assert 'form="reject-form" name="cases"' in page
    preview = post_form(client, f"/flights/{flight}/rejections", {"cases": refs[:2], "reason": "documento dudoso"},
                        page=f"/flights/{flight}")
    assert preview.status_code == 200 and "Serán rechazados: 2" in preview.text
    assert post_form(client, f"/flights/{flight}/rejections", {"cases": refs[:2], "reason": ""},
                     page=f"/flights/{flight}").status_code == 422
    done = post_form(client, f"/flights/{flight}/rejections",
                     {"step": "confirm", "cases": refs[:2], "reason": "documento dudoso"}, page=f"/flights/{flight}")
    assert done.status_code == 303
    with session_factory() as session:
        approvals = dict(session.execute(sa.select(Case.reference, Passenger.approval)
                                         .join(Passenger, Passenger.case_id == Case.id)).all())
    assert approvals == {refs[0]: "rejected", refs[1]: "rejected", refs[2]: "proposed"}

    login(client, "inm.supervisor")
    listing = client.get("/cases", params={"q": "marcada"}).text
    assert 'id="assign-form"' in listing and 'value="inm.officer"' in listing
    preview = post_form(client, "/cases/assignments", {"cases": refs, "officer": "inm.officer", "query": "q=marcada"},
                        page="/cases")
    assert preview.status_code == 200 and "Casos que serán asignados: 3" in preview.text
    confirmed = post_form(client, "/cases/assignments",
                          {"step": "confirm", "cases": refs, "officer": "inm.officer", "query": "q=marcada"},
                          page="/cases")
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/cases?q=marcada"
    login(client, "inm.officer")
    assert set(listed(client.get("/cases", params={"assigned": "me"}).text)) == set(refs)


def test_a_search_the_list_would_refuse_is_not_saved(client: TestClient, world: World, session: Session) -> None:
    """Red team (low): a search on a filter the agency may not use was stored (the answer a 422), then refused each
    time it was followed: a refusal that wrote something. Refused now, nothing written."""
    login(client, "saime.officer")
    for query in ("concern=open", "held=tapachula&sort=held_at", "sort=state_changed_at", "days_min=tres"):
        refused = post_form(client, "/cases/searches", {"name": "rt-" + query, "query": query}, page="/cases")
        assert refused.status_code == 422, query
    assert session.execute(sa.select(sa.func.count()).select_from(SavedSearch)).scalar_one() == 0
    # What the list reads is kept, in its order; a parameter it does not read is dropped.
    saved = post_form(client, "/cases/searches", {"name": "Verificadas", "query": "x=1&verification=verified&q=ana"},
                      page="/cases")
    assert saved.status_code == 303 and saved.headers["location"] == "/cases?q=ana&verification=verified"
