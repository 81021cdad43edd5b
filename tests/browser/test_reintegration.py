"""Reintegration operators and manifest planning in real Chromium, over a served app with its own database.

The cases are brought to the point each page starts from through the REST API (as the other
agencies' systems would); everything the operator or the officer does here is done on the pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Served, log_in, served_api
from tests.factories import Api, ok

pytestmark = pytest.mark.browser
USERS = ("inm.officer", "saime.officer", "op.officer")


@pytest.fixture(scope="module")
def api(server: Served) -> Iterator[Api]:
    with served_api(server, USERS) as client:
        yield client


def flash(page: Page) -> Any:
    return expect(page.locator("p.flash"))


def test_operator_takes_a_returnee_from_consent_to_a_follow_up(page: Page, api: Api) -> None:
    (case,) = api.arrive(given_names="Browser Retorno")
    start = (date.today() + timedelta(days=30)).isoformat()
    nursing = ok(api.post("op.officer", "/api/v1/opportunities", {
        "kind": "internship", "title": "Pasantía de enfermería", "workplace": "Hospital Central", "sector": "salud",
        "isco_code": "3221", "state_code": "VE-L", "municipality": "Libertador", "seats": 2,
        "monthly_amount": "150.00", "currency": "USD", "start_date": start, "duration_months": 6,
        "min_education": "6"}), 201)["reference"]

    log_in(page, "op.officer")
    page.get_by_role("link", name="Oportunidades").click()
    page.get_by_role("link", name="Nueva oportunidad").click()
    page.get_by_label("Título").fill("Pasantía en mantenimiento")
    page.get_by_label("Lugar de trabajo").fill("Taller Los Andes")
    page.get_by_label("Sector de actividad").fill("manufactura")
    page.get_by_label("Ocupación (código CIUO-08 de 4 cifras)").fill("7233")
    page.get_by_label("Estado (región)").select_option(label="Mérida")
    page.get_by_label("Municipio").fill("Libertador")
    page.get_by_label("Plazas").fill("2")
    page.get_by_label("Monto mensual").fill("130")
    page.get_by_label("Fecha de inicio").fill(start)
    # A missing field is refused on the server too (the browser's own check is bypassed here).
    page.locator("form.grid").evaluate("form => form.noValidate = true")
    page.get_by_label("Sector de actividad").fill("")
    page.get_by_role("button", name="Crear la oportunidad").click()
    expect(page.get_by_role("alert")).to_contain_text("Sector de actividad")
    page.get_by_label("Sector de actividad").fill("manufactura")
    page.get_by_role("button", name="Crear la oportunidad").click()
    flash(page).to_contain_text("creada")
    created = re.search(r"OP-\d+", page.locator("p.flash").inner_text())
    assert created
    workshop = created.group(0)
    expect(page.locator("table")).to_contain_text("Taller Los Andes")

    page.get_by_role("link", name="Retornados").click()
    expect(page.locator("main")).not_to_contain_text(case["reference"])
    page.get_by_label("Código de llegada (referencia del caso)").fill(case["reference"])
    page.get_by_label("Fecha de nacimiento").fill(case["birth_date"])
    page.get_by_role("button", name="Registrar el consentimiento").click()
    flash(page).to_contain_text("Complete la admisión")
    expect(page.locator("h1")).to_contain_text("Browser Retorno")
    page.get_by_label("Estado de origen").select_option(label="Mérida")
    page.get_by_label("Municipio").fill("Libertador")
    page.get_by_label("Nivel educativo (CINE 2011)").select_option("3")
    page.get_by_label("Ocupación 1").fill("7233")
    page.get_by_label("Habilidades, separadas por comas").fill("soldadura, mecánica")
    page.get_by_label("Preferencia 1").select_option(nursing)
    page.get_by_label("Preferencia 2").select_option(workshop)
    page.get_by_label("vivienda", exact=True).check()
    page.get_by_role("button", name="Guardar la admisión").click()
    flash(page).to_contain_text("Admisión de")

    page.get_by_role("link", name="Emparejamiento").click()
    expect(page.locator("#mode-stable")).to_contain_text("Pares bloqueantes")
    expect(page.locator("#mode-welfare")).to_contain_text("Personas con oferta")
    expect(page.locator("table")).to_contain_text(case["reference"])
    page.get_by_role("button", name="Ejecutar y hacer las ofertas").click()
    flash(page).to_contain_text("Ofertas hechas: 1")
    expect(page.locator("figure svg").first).to_be_visible()
    page.get_by_role("link", name="Por qué").first.click()
    explanation = page.locator("ul.explanation")
    expect(explanation).to_contain_text(nursing)
    expect(explanation).to_contain_text("nivel educativo mínimo")
    expect(page.locator("p.explanation")).to_contain_text("opción n.º 2")

    page.get_by_role("button", name="Aceptar").click()
    flash(page).to_contain_text("aceptada")
    page.get_by_role("button", name="Iniciar").click()
    flash(page).to_contain_text("iniciada")

    page.get_by_role("link", name="Seguimientos").click()
    expect(page.locator("p.counts")).to_contain_text("Por hacer: 3")
    # The first follow-up is recorded once it falls due: a hundred days later, the operator logs in again.
    with api.clock(datetime.now(UTC) + timedelta(days=100)):
        log_in(page, "op.officer")
        page.goto("/reintegration/follow-ups")
        # Each row opens its own form in place.
        row = page.locator("details.row-form").first
        row.locator("summary").click()
        row.get_by_label("sigue en la colocación").check()
        row.get_by_label("alrededor del salario mínimo").check()
        row.get_by_label("vivienda estable").check()
        row.get_by_label("vive junto", exact=True).check()
        row.get_by_label("4", exact=True).check()
        row.get_by_role("group", name="¿Piensa volver a migrar?").get_by_label("no", exact=True).check()
        row.get_by_role("button", name="Registrar el seguimiento").click()
        flash(page).to_contain_text("Seguimiento registrado")
        expect(page.locator("p.counts")).to_contain_text("Por hacer: 2")
        expect(page.locator("figure svg").first).to_be_visible()


def test_sending_officer_plans_adjusts_and_applies_a_manifest(page: Page, api: Api) -> None:
    old = (date.today() - timedelta(days=90)).isoformat()
    family = [api.ready_case(household_reference="BR-PLAN", given_names=f"Familia Plan {i}", detained_since=old)
              for i in range(2)]
    single = api.ready_case(given_names="Sola Plan")
    # An accepted flight keeps the staff both sides agreed: one escort covers these three passengers.
    flight = api.flight(seats=12, escorts=1, medical_staff=0)["reference"]

    log_in(page, "inm.officer")
    page.get_by_role("link", name="Planificar manifiestos").click()
    expect(page.get_by_label(re.compile(flight))).to_be_checked()
    page.get_by_label("Tiempo máximo de cálculo, en segundos").fill("5")
    page.get_by_role("button", name="Ejecutar el planificador").click()
    expect(page.locator(".plan-summary")).to_contain_text("Objetivo")
    expect(page.locator(".plan-summary")).to_contain_text("Es el mejor plan posible")
    section = page.locator("section.planned-flight")
    expect(section).to_contain_text("BR-PLAN")
    expect(section).to_contain_text("Escoltas necesarias")
    # The officer keeps the family and removes the single traveller from the proposal.
    page.get_by_label(re.compile("Quitar del plan: Sola Plan")).check()
    page.get_by_label("Proponer también los manifiestos a la autoridad receptora").check()
    page.get_by_role("button", name="Aplicar el plan").click()
    flash(page).to_contain_text("Pasajeros: 2; vuelos: 1")
    expect(page.locator("dl.fields")).to_contain_text("propuesto")
    manifest = page.locator("#manifest-section")
    for case in family:
        expect(manifest).to_contain_text(case["reference"])
    expect(manifest).not_to_contain_text(single["reference"])
