"""A day's work from each official's queue, in real Chromium: `/` says what waits, each item opens where it is done.

A sending supervisor clears the protection concerns waiting for them; a reintegration operator works the
follow-ups due; the carrier boards at the aircraft door and the receiving officer receives at the arrival
desk on a 390-px phone, every main action on screen. The cases are brought to where each page starts
through the REST API; screenshots of each role's queue are saved under test-output/queues/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Served, log_in, served_api
from tests.factories import Api, ok

pytestmark = pytest.mark.browser
USERS = ("inm.officer", "inm.supervisor", "saime.officer", "carrier.officer", "op.officer")
QUEUES = Path("test-output/queues")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def api(server: Served) -> Iterator[Api]:
    with served_api(server, USERS) as client:
        yield client


def _shot(page: Page, name: str, server: Served) -> None:
    QUEUES.mkdir(parents=True, exist_ok=True)
    database = "postgresql" if "postgresql" in server.database_url else "sqlite"
    page.screenshot(path=str(QUEUES / f"{name}-{database}.png"), full_page=True)


def test_a_supervisor_clears_their_queue_of_protection_concerns_from_the_home_page(
        page: Page, api: Api, server: Served) -> None:
    one = api.register(given_names="Inés")
    two = api.register(given_names="Julia")
    api.screen(one["reference"], ["medical_condition"])
    api.screen(two["reference"], ["pending_asylum_claim", "pregnancy"])
    log_in(page, "inm.supervisor")
    page.goto("/")
    concerns = page.locator("section#concerns")
    expect(concerns.locator("h2")).to_contain_text("Preocupaciones de protección por resolver")
    expect(concerns.locator(".count")).to_have_text("2")
    expect(page.locator("nav a[href='/']")).to_contain_text("Mi trabajo")
    # Oldest first: Inés was screened before Julia.
    expect(concerns.locator("li").first).to_contain_text("Inés")
    _shot(page, "sending-supervisor", server)
    for _ in range(2):
        page.locator("section#concerns li a").first.click()
        expect(page.locator("#concern-banner")).to_contain_text("el viaje está bloqueado")
        resolution = page.locator("form[action$='/resolution']")
        for box in resolution.locator("input[type=checkbox]").all():
            box.check()
        resolution.get_by_label("Motivo escrito").fill("Resuelto por escrito tras la entrevista con la persona")
        resolution.get_by_role("button", name="Registrar resolución").click()
        expect(page.locator("p.flash")).to_contain_text("Resolución registrada")
        expect(page.locator("#concern-banner")).to_have_count(0)
        page.get_by_role("link", name=re.compile("^Mi trabajo")).click()
    expect(page.locator("section#concerns")).to_have_count(0)
    expect(page.locator("ul.clear")).to_contain_text("Preocupaciones de protección por resolver: nada pendiente")


def test_the_dashboard_charts_are_readable_and_its_figures_open_their_lists(page: Page, api: Api) -> None:
    api.register(given_names="Karina")
    log_in(page, "inm.supervisor")
    page.goto("/dashboard")
    captions = page.locator("figure figcaption")
    expect(captions.first).to_be_visible()
    assert "Casos por estado" in captions.all_text_contents()
    expect(page.locator("dl.figures a[href='/cases']")).to_be_visible()
    expect(page.locator("dl.figures a[href='/cases?concern=open']")).to_be_visible()
    # Every text of every chart is drawn at 11 px or more and lies inside its chart.
    problems = page.evaluate("""() => {
        const found = [];
        for (const svg of document.querySelectorAll('svg.chart')) {
            const box = svg.getBoundingClientRect();
            for (const text of svg.querySelectorAll('text')) {
                const r = text.getBoundingClientRect();
                const size = parseFloat(getComputedStyle(text).fontSize) * box.width / svg.viewBox.baseVal.width;
                if (size < 11) found.push(`${text.textContent}: ${size.toFixed(1)} px`);
                if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
                    || r.bottom > box.bottom + 0.5) found.push(`${text.textContent}: outside its chart`);
            }
        }
        return found;
    }""")
    assert problems == []
    assert page.locator("svg.chart").count() >= 3
    for axis in ("Estado", "Casos", "Días detenido", "Personas"):
        expect(page.locator("svg.chart text", has_text=axis).first).to_be_visible()


# A hundred days after the placement below starts (2027-01-01), when its 3-month follow-up is due.
HUNDRED_DAYS_IN = datetime(2027, 4, 11, 12, tzinfo=UTC)


def _follow_up_due(api: Api, server: Served) -> dict[str, Any]:
    """An arrived returnee who consented, took an offer and starts on 2027-01-01: a hundred days in
    (`HUNDRED_DAYS_IN`), the 3-month follow-up is due."""
    (case,) = api.arrive(name="Lucía")
    ref = case["reference"]
    ok(api.post("saime.officer", f"/api/v1/cases/{ref}/consent", {}), 201)
    opportunity = ok(api.post("op.officer", "/api/v1/opportunities", {
        "kind": "internship", "title": "Pasantía en soldadura", "workplace": "Astillero del Lago",
        "sector": "manufactura", "isco_code": "7212", "state_code": "VE-L", "municipality": "Libertador",
        "seats": 1, "monthly_amount": "100", "currency": "USD", "start_date": "2027-01-01", "duration_months": 6,
        "required_skills": ["soldadura"]}), 201)
    ok(api.put("op.officer", f"/api/v1/cases/{ref}/intake", {
        "home_state": "VE-L", "municipality": "Libertador", "education": "3", "skills": ["soldadura"],
        "preferences": [opportunity["reference"]]}))
    ok(api.post("op.officer", "/api/v1/matching/runs"), 201)
    placement = ok(api.get("op.officer", f"/api/v1/cases/{ref}/placements"))[0]["id"]
    ok(api.post("op.officer", f"/api/v1/placements/{placement}", {"status": "accepted"}))
    with server.clock.at(datetime(2027, 1, 1, 12, tzinfo=UTC)):  # recorded once begun (red team round 17, Q-F2)
        ok(api.post("op.officer", f"/api/v1/placements/{placement}", {"status": "started", "on": "2027-01-01"}))
    return case


def test_an_operator_works_the_follow_ups_due_from_the_queue(page: Page, api: Api, server: Served) -> None:
    case = _follow_up_due(api, server)
    with server.clock.at(HUNDRED_DAYS_IN):
        log_in(page, "op.officer")
        page.goto("/")
        due = page.locator("section#follow_ups")
        expect(due.locator(".count")).to_have_text("1")
        expect(due).to_contain_text("Lucía")
        expect(page.locator("nav a[href='/reintegration/follow-ups'] .count")).to_contain_text("1")
        _shot(page, "reintegration-operator", server)
        # The returnee's page explains the offer by where they stood and what it asked for, never by a score.
        page.goto(f"/reintegration/returnees/{case['reference']}")
        expect(page.locator(".explanation").first).to_contain_text("quedaste en el puesto 1")
        expect(page.locator(".explanation").first).to_contain_text("Pedía")
        expect(page.locator("main")).not_to_contain_text("puntu")
        page.goto("/")
        page.locator("section#follow_ups li a").first.click()
        form = page.locator("form[action*='/follow-ups/']")
        for fieldset in form.locator("fieldset").all():
            fieldset.locator("input[type=radio]").first.check()
        form.get_by_role("button", name="Registrar el seguimiento").click()
        expect(page.locator("p.flash")).to_contain_text("Seguimiento registrado")
        page.get_by_role("link", name=re.compile("^Mi trabajo")).click()
        expect(page.locator("section#follow_ups")).to_have_count(0)
        expect(page.locator("ul.clear")).to_contain_text("Seguimientos pendientes: nada pendiente")


def _on_screen(page: Page, selector: str) -> list[str]:
    """What of `selector` is off a phone's screen sideways or too small to touch, and any sideways scrolling."""
    return list(page.evaluate("""([selector, width]) => {
        const found = [];
        const main = document.querySelector('main');
        if (document.documentElement.scrollWidth > width) found.push(`page ${document.documentElement.scrollWidth} px`);
        if (main.scrollWidth > main.clientWidth) found.push(`main scrolls sideways ${main.scrollWidth} px`);
        const targets = document.querySelectorAll(selector);
        if (!targets.length) found.push(`nothing matches ${selector}`);
        for (const element of targets) {
            const r = element.getBoundingClientRect();
            if (r.left < 0 || r.right > width) found.push(`${element.textContent.trim()}: ${r.left}-${r.right}`);
            if (r.height < 44) found.push(`${element.textContent.trim()}: ${r.height} px high`);
        }
        return found;
    }""", [selector, PHONE["width"]]))


def test_the_carrier_boards_and_the_desk_receives_on_a_390_px_phone(
        browser: Browser, api: Api, server: Served) -> None:
    eight = (date.today() - timedelta(days=365 * 8 + 30)).isoformat()
    child = api.ready_case(given_names="Mateo", birth_date=eight, household_reference="FAM-MOVIL")
    adult = api.ready_case(given_names="Marta", household_reference="FAM-MOVIL")
    alone = api.ready_case(given_names="Nicolás")
    refs = [child["reference"], adult["reference"], alone["reference"]]
    departure = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    flight = api.build_manifest(refs, departure=departure)
    context = browser.new_context(base_url=server, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        with server.clock.at(departure - timedelta(hours=1)):
            log_in(page, "carrier.officer")
            page.goto("/")
            boarding = page.locator("section#boarding")
            expect(boarding).to_contain_text(flight)
            expect(page.locator("nav a[href='/flights'] .count")).to_be_visible()
            _shot(page, "carrier-phone", server)
            assert _on_screen(page, "section#boarding li a") == []
            boarding.locator("li", has_text=flight).locator("a").click()
            expect(page.locator("table.boarding")).to_be_visible()
            _shot(page, "carrier-boarding-list-phone", server)
            assert _on_screen(page, "table.boarding button") == []
            page.locator("tr", has_text="Nicolás").get_by_role("button", name="Registrar").click()
            expect(page.locator("p.flash")).to_contain_text("Embarque de")
            page.locator("tbody.household", has_text="FAM-MOVIL").get_by_role(
                "button", name=re.compile("Embarcar al hogar junto")).click()
            expect(page.get_by_role("button", name="Confirmar")).to_be_visible()
            page.wait_for_load_state()
            assert _on_screen(page, "main button") == []
            page.get_by_role("button", name="Confirmar").click()
            expect(page.locator("p.flash")).to_contain_text("Pasajeros embarcados juntos: 2")
            assert _on_screen(page, "details.confirm > summary") == []
        with server.clock.at(departure):
            ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/depart"))
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/landing"))
        log_in(page, "saime.officer")
        page.goto("/")
        arrivals = page.locator("section#arrivals")
        expect(arrivals).to_contain_text(flight)
        _shot(page, "receiving-officer-phone", server)
        arrivals.locator("li", has_text=flight).locator("a").click()
        expect(page.locator("table.cards").first).to_be_visible()
        page.wait_for_load_state()
        _shot(page, "arrival-desk-phone", server)
        assert _on_screen(page, "table.cards button") == []
        for name in ("Mateo", "Marta", "Nicolás"):
            page.locator("table.cards").last.locator("tr", has_text=name).get_by_role(
                "button", name=re.compile("Confirmar recepción")).click()
            expect(page.locator("p.flash")).to_contain_text("recibido")
        expect(page.locator("p.counts")).to_contain_text("Recibidos: 3")
    finally:
        context.close()


@pytest.mark.parametrize("username", ["inm.officer", "saime.officer", "monitor.viewer", "admin"])
def test_every_role_has_a_queue_page(page: Page, server: Served, username: str) -> None:
    log_in(page, username)
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Mi trabajo")
    expect(page.get_by_role("status").first).to_be_visible()
    _shot(page, username.replace(".", "-"), server)
