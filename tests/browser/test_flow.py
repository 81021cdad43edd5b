"""The whole return flow in real Chromium, each agency on its own pages, in the order the work happens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from retorno.db import make_engine
from retorno.flights import airports
from retorno.flights.models import Flight
from tests.browser.conftest import Served, log_in
from tests.factories import next_flight_number

pytestmark = pytest.mark.browser

HEADER = (
    "referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
    "lugar_custodia,fecha_ingreso,aeropuerto_cercano\n"
)
CASE_LIST = (
    HEADER
    + """INM-B-1,José Ángel,Muñoz,Pérez,M,1985-03-12,VEN,V13572468,E.M. Tapachula,2023-10-01,TAP
INM-B-2,Ana Lucía,Peña,Rodríguez,F,1990-02-01,VEN,V24681357,Estación Migratoria Siglo XXI,2023-10-05,TAP
"""
)
NAMES = ("José Ángel Muñoz Pérez", "Ana Lucía Peña Rodríguez")


def _open_case(page: Page, name: str) -> None:
    page.goto("/cases?q=" + name.split()[0])
    page.get_by_role("link", name=re.compile(r"^[A-Z]{2}-\d{4}-")).first.click()


def test_sending_officer_imports_a_case_list_and_screens(page: Page, tmp_path: Path) -> None:
    log_in(page, "inm.officer")
    expect(page.locator("#who")).to_contain_text("MX-INM")
    bad = tmp_path / "casos-malos.csv"
    bad.write_text(CASE_LIST.replace("1985-03-12", "1985-02-31"), encoding="utf-8")
    page.get_by_role("link", name="Importar").click()
    page.get_by_label("Archivo").set_input_files(str(bad))
    page.get_by_role("button", name="Importar").click()
    expect(page.get_by_role("alert")).to_contain_text("No se importó nada")
    expect(page.locator("table#problems")).to_contain_text("1985-02-31")
    good = tmp_path / "casos.csv"
    good.write_text(CASE_LIST, encoding="utf-8")
    page.get_by_label("Archivo").set_input_files(str(good))
    page.get_by_role("button", name="Importar").click()
    expect(page.get_by_role("status").first).to_contain_text("2 creados")
    for name in NAMES:
        # Search without accents finds the accented name.
        page.goto("/cases?q=" + name.split()[0].replace("é", "e"))
        page.get_by_role("link", name=re.compile(r"^[A-Z]{2}-\d{4}-")).first.click()
        expect(page.locator("h1")).to_contain_text(name)
        page.get_by_role("button", name="Registrar evaluación").click()
        expect(page.get_by_role("status").first).to_contain_text("Evaluación de protección registrada")
        page.get_by_role("button", name="Solicitar verificación de identidad y nacionalidad").click()
        expect(page.locator(".state")).to_contain_text("verificación solicitada")


def test_receiving_officer_verifies_side_by_side_and_issues_documents(page: Page) -> None:
    log_in(page, "saime.officer")
    page.get_by_role("link", name="Verificación").click()
    expect(page.locator("h1")).to_contain_text("Cola de verificación")
    for index in range(2):
        review = page.locator("section.review").first
        expect(review).to_contain_text("Declarado por la autoridad de envío")
        review.get_by_label("Registro coincidente").fill(f"VE-REG-{index + 1}")
        review.get_by_role("button", name="Verificar").click()
        expect(page.get_by_role("status").first).to_contain_text("registrada")
    expect(page.get_by_text("No hay solicitudes pendientes.")).to_be_visible()
    for name in NAMES:
        _open_case(page, name)
        page.get_by_role("button", name="Emitir documento de viaje de emergencia").click()
        # The receiving side is told 'ready' as 'documented' (it may not learn who a concern holds back).
        expect(page.get_by_role("status").first).to_contain_text("emitido")
        expect(page.locator(".state")).to_contain_text("documentado")


def test_planner_proposes_a_flight_and_builds_the_manifest_with_the_receiving_side(page: Page) -> None:
    log_in(page, "inm.officer")
    page.get_by_role("link", name="Proponer vuelo").click()
    departure = airports.to_local(datetime.now(UTC) + timedelta(days=10), "TAP").replace(
        second=0, microsecond=0
    )
    arrival = airports.to_local(departure + timedelta(hours=5), "CCS")
    page.get_by_label("Número de vuelo").fill(next_flight_number())
    page.get_by_label("Autoridad receptora").select_option("VE-SAIME")
    page.get_by_label("Aerolínea").select_option("CONVIASA")
    page.get_by_label("Asientos").fill("180")
    page.get_by_label("Origen (IATA)").fill("TAP")
    page.get_by_label("Destino (IATA)").fill("CCS")
    page.get_by_label("Salida, hora local del origen").fill(departure.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Llegada, hora local del destino").fill(arrival.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Escoltas", exact=True).fill("4")
    page.get_by_role("button", name="Proponer vuelo").click()
    expect(page.get_by_role("status").first).to_contain_text("propuesto")
    flight_url = page.url
    # Ready cases are picked on a page of their own, near the departure airport.
    page.get_by_role("link", name="Elegir casos listos").click()
    for name in NAMES:
        page.get_by_label(re.compile(name)).check()
    page.get_by_role("button", name="Añadir al manifiesto").click()
    expect(page.get_by_role("status").first).to_contain_text("Pasajeros añadidos al manifiesto: 2")

    log_in(page, "saime.officer")
    page.goto(flight_url)
    page.get_by_role("button", name="Aceptar el vuelo (permiso de aterrizaje)").click()
    expect(page.locator("dl.fields")).to_contain_text("aceptado")

    log_in(page, "inm.officer")
    page.goto(flight_url)
    page.get_by_role("button", name="Proponer el manifiesto").click()
    expect(page.get_by_role("status").first).to_contain_text("Manifiesto propuesto")

    log_in(page, "saime.officer")
    page.goto(flight_url)
    # A rejection without a reason is refused with the service's message, and changes nothing.
    page.get_by_role("button", name="Rechazar").first.click()
    expect(page.get_by_role("alert")).to_contain_text("hace falta un motivo escrito")
    for _ in NAMES:
        page.get_by_role("button", name="Aprobar", exact=True).first.click()
        expect(page.get_by_role("status").first).to_contain_text("registrada")
    # Locking cannot be undone: the page asks once more, saying what it does.
    page.get_by_text("Cerrar el manifiesto…").click()
    expect(page.locator("#confirm-lock")).to_contain_text("No se puede deshacer")
    page.get_by_role("button", name="Sí, cerrar el manifiesto").click()
    expect(page.locator("dl.fields")).to_contain_text("manifiesto cerrado")


def _scheduled_departure(server: Served) -> datetime:
    """The scheduled departure of the module's one flight (proposed on the planner's page)."""
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        departure = session.execute(sa.select(Flight.departure_utc)).scalar_one()
    engine.dispose()
    return departure


def test_carrier_downloads_the_paxlst_and_records_boarding(page: Page, tmp_path: Path, server: Served) -> None:
    log_in(page, "carrier.officer")
    # The carrier's home is its queue: the locked flight waits there for boarding.
    expect(page.locator("h1")).to_contain_text("Mi trabajo")
    expect(page.locator("section#boarding")).to_contain_text("RF-")
    page.get_by_role("link", name=re.compile(r"^Vuelos")).click()
    page.get_by_role("link", name=re.compile(r"^RF-")).first.click()
    expect(page.locator("table")).to_contain_text("Muñoz Pérez")
    expect(page.locator("main")).not_to_contain_text("Estación Migratoria")
    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar PAXLST").click()
    saved = tmp_path / "paxlst.edi"
    download.value.save_as(saved)
    assert saved.read_text().startswith("UNA") and "MUNOZ" in saved.read_text()
    with page.expect_download() as pdf:
        page.get_by_role("link", name="Descargar manifiesto (PDF)").click()
    assert pdf.value.suggested_filename.endswith(".pdf")
    # Ten days before the flight the door is shut: boarding is refused, with the rule named.
    flight_url = page.url
    page.get_by_role("button", name="Registrar", exact=True).first.click()
    expect(page.get_by_role("alert")).to_contain_text("el embarque del vuelo")
    # An hour before the scheduled departure, the door is open.
    with server.clock.at(_scheduled_departure(server) - timedelta(hours=1)):
        log_in(page, "carrier.officer")
        page.goto(flight_url)
        for _ in NAMES:
            page.get_by_role("button", name="Registrar", exact=True).first.click()
            expect(page.get_by_role("status").first).to_contain_text("Embarque de")
        page.get_by_text("Registrar la salida…").click()
        page.get_by_role("button", name="Sí, registrar la salida").click()
        expect(page.locator("dl.fields")).to_contain_text("despegó")
        expect(page.locator("dl.fields")).to_contain_text("Salida real")


def test_arrival_desk_confirms_each_passenger_and_the_counts_agree(page: Page, server: Served) -> None:
    departure = _scheduled_departure(server)
    # Two hours after it left, a five-hour flight is in the air: nobody to receive, no landing yet, no difference.
    with server.clock.at(departure + timedelta(hours=1)):
        log_in(page, "saime.officer")
        page.get_by_role("link", name="Vuelos").click()
        page.get_by_role("link", name=re.compile(r"^RF-")).first.click()
        flight_url = page.url
        expect(page.locator("dl.fields")).not_to_contain_text("diferencia")
        page.get_by_role("link", name="Mesa de llegadas").click()
        expect(page.locator(".counts")).to_contain_text("La recepción empieza cuando se registra el aterrizaje")
        expect(page.get_by_role("button", name=re.compile("Confirmar recepción"))).to_have_count(0)
        page.goto(flight_url)
        page.get_by_role("button", name="Registrar el aterrizaje").click()
        expect(page.get_by_role("alert")).to_contain_text("no puede haber aterrizado antes de")
    landing = departure + timedelta(hours=5)
    with server.clock.at(landing):
        log_in(page, "saime.officer")
        page.goto(flight_url)
        page.get_by_role("button", name="Registrar el aterrizaje").click()
        expect(page.locator("h1")).to_contain_text("Mesa de llegadas")
        page.get_by_label("Nombre o referencia").fill("munoz")
        page.get_by_role("button", name="Buscar").click()
        page.get_by_role("button", name="Confirmar recepción de José Ángel Muñoz Pérez").first.click()
        expect(page.locator(".counts")).to_contain_text("Diferencia: 1")
        page.get_by_role("button", name=re.compile("Confirmar recepción de Ana")).first.click()
        expect(page.locator(".counts")).to_contain_text("Recibidos: 2")
        expect(page.locator(".counts")).not_to_contain_text("Diferencia")
        page.goto(flight_url)
        local = airports.to_local(landing, "CCS").strftime("%H:%M")
        expect(page.locator("dl.fields")).to_contain_text("Aterrizaje real")
        expect(page.locator("dl.fields")).to_contain_text(local)


def test_monitor_sees_aggregates_and_an_intact_audit_chain(page: Page) -> None:
    log_in(page, "monitor.viewer")
    # A monitor acts on nothing: its queue says so, and the menu leads to its pages.
    expect(page.locator("main")).to_contain_text("Ninguna tarea de su agencia y función espera aquí")
    page.get_by_role("link", name="Seguimiento", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Seguimiento del mecanismo")
    expect(page.locator("svg").first).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Muñoz")
    page.get_by_role("link", name="Verificar la cadena de auditoría").click()
    expect(page.locator("#verify-status")).to_contain_text("La cadena está íntegra")
    page.goto("/cases")
    expect(page.locator("h1")).to_contain_text("Acceso denegado")
    page.goto("/monitor")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("h1")).to_contain_text("Monitoring the mechanism")
