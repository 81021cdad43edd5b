"""Bulk actions in real Chromium: the receiving officer approves a manifest in one step with the exceptions
listed, and the carrier boards a household together.

The cases are brought to where each page starts through the REST API (as the other agencies' systems
would); what the officials do here is done on the pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from retorno.cases.models import Case
from retorno.db import make_engine
from retorno.screening.models import Screening
from tests.browser.conftest import SCREENSHOTS, Served, log_in, served_api
from tests.factories import Api, ok

pytestmark = pytest.mark.browser
USERS = ("inm.officer", "saime.officer", "carrier.officer")


@pytest.fixture(scope="module")
def api(server: Served) -> Iterator[Api]:
    with served_api(server, USERS) as client:
        yield client


def _backend(server: Served) -> str:
    return server.database_url.split(":")[0].split("+")[0]


def concern_behind_the_guard(server: Served, reference: str) -> None:
    """A concern written straight to the table (a door without the travel reaction): the person stays on the
    manifest, and approval must still never reach them."""
    engine = make_engine(server.database_url)
    with engine.begin() as connection:
        case_id = connection.execute(sa.select(Case.id).where(Case.reference == reference)).scalar_one()
        officer = connection.execute(sa.text("SELECT id FROM users WHERE username = 'inm.officer'")).scalar_one()
        connection.execute(sa.insert(Screening).values(case_id=case_id, screened_by=officer,
                                                       concerns=["pending_asylum_claim"], medical_escorts=0))
    engine.dispose()


def test_receiving_officer_approves_a_manifest_in_one_step_with_the_exceptions_listed(
        page: Page, api: Api, server: Served) -> None:
    refs = [api.ready_case(given_names=f"Aprobable {i}")["reference"] for i in range(5)]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    blocked = refs[2]
    concern_behind_the_guard(server, blocked)

    log_in(page, "saime.officer")
    page.goto(f"/flights/{flight}")
    manifest = page.locator("table.manifest")
    expect(manifest).to_contain_text("Impide aprobar")
    expect(manifest.locator("tr", has_text=blocked)).to_contain_text("No devolución")
    expect(manifest.locator("tr", has_text=refs[0])).to_contain_text("verificada")
    page.get_by_role("button", name="Aprobar a todos los que pueden aprobarse").click()

    expect(page.locator("h1")).to_contain_text("Aprobar el manifiesto")
    expect(page.get_by_role("status").first).to_contain_text("Serán aprobados: 4")
    expect(page.get_by_role("status").first).to_contain_text("No pueden aprobarse: 1")
    refused = page.locator("table.refused")
    expect(refused).to_contain_text(blocked)
    expect(refused).to_contain_text("No devolución")
    # The receiving state learns that screening is not cleared, never which concern.
    expect(page.locator("main")).not_to_contain_text("asilo")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"approval-preview-{_backend(server)}.png"), full_page=True)
    page.get_by_label("Rechazar con este motivo a quienes no pueden aprobarse").fill(
        "La evaluación de protección no está resuelta")
    page.get_by_role("button", name="Confirmar").click()

    expect(page.locator("p.flash")).to_contain_text("Pasajeros aprobados: 4")
    expect(page.locator("p.flash")).to_contain_text(blocked)
    # The rejected person has left the manifest; everyone else on it is approved.
    expect(manifest).not_to_contain_text(blocked)
    for ref in refs:
        if ref != blocked:
            expect(manifest.locator("tr", has_text=ref)).to_contain_text("aprobado")


def test_the_carrier_boards_a_household_together(page: Page, api: Api, server: Served) -> None:
    six = (date.today() - timedelta(days=365 * 6 + 40)).isoformat()
    # The mother first: her child is screened with an adult of the household waiting with her (safeguard 2).
    adult = api.ready_case(given_names="Rosa", household_reference="FAM-PUERTA")
    child = api.ready_case(given_names="Valentina", birth_date=six, household_reference="FAM-PUERTA")
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    flight = api.build_manifest([child["reference"], adult["reference"]], departure=departure)

    with server.clock.at(departure - timedelta(hours=1)):
        log_in(page, "carrier.officer")
        page.goto(f"/flights/{flight}")
        household = page.locator("tbody.household", has_text="FAM-PUERTA")
        expect(household).to_contain_text("Hogar MX-INM/FAM-PUERTA · personas: 2")
        child_row = household.locator("tr", has_text="Valentina")
        expect(child_row).to_contain_text("(menor)")
        # The child alone first is refused, and the refusal names what the carrier's list shows.
        child_row.get_by_role("button", name="Registrar").click()
        expect(page.get_by_role("alert")).to_contain_text(child["reference"])
        expect(page.locator("table.boarding")).to_contain_text(child["reference"])

        page.locator("tbody.household", has_text="FAM-PUERTA").get_by_role(
            "button", name=re.compile("Embarcar al hogar junto")).click()
        expect(page.locator("h1")).to_contain_text("Embarcar un hogar")
        expect(page.get_by_role("status").first).to_contain_text("Embarcarán juntos: 2")
        expect(page.locator("ul.bulk-done")).to_contain_text("(edad: 6)")
        page.screenshot(path=str(SCREENSHOTS / f"boarding-preview-{_backend(server)}.png"), full_page=True)
        page.get_by_role("button", name="Confirmar").click()

        expect(page.locator("p.flash")).to_contain_text("Pasajeros embarcados juntos: 2")
        rows = page.locator("tbody.household", has_text="FAM-PUERTA")
        expect(rows.locator("tr", has_text=child["reference"])).to_contain_text("embarcado")
        expect(rows.locator("tr", has_text=adult["reference"])).to_contain_text("embarcado")
