"""In Chromium, a Spanish page says every kind of refusal in Spanish: no English sentence reaches the official.

Each refusal is met as an official meets it: a wrong password at the login form, a case with an open
protection concern put on a manifest (the concern is named), a verification rejected without a reason,
a date that does not exist and a code that is no country in the new-case form, a page the
official's agency may not open (a plain sentence about the page first, who was refused below it), a case
that is not there and an address with a value of the wrong kind, an edit another official overtook, the
people a bulk approval cannot approve and its refusal all or nothing, and the bad rows of an import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from retorno.cases.template import case_template
from tests.browser.conftest import Served, log_in, served_api
from tests.browser.test_bulk import concern_behind_the_guard

# Words of English sentences that no Spanish sentence uses; case references, codes and names never hold them.
ENGLISH = {"the", "is", "not", "cannot", "must", "needs", "need", "with", "and", "of", "to", "may", "has", "was",
           "be", "are", "or", "your", "this", "that", "only", "case", "flight", "wrong", "password", "required",
           "reason", "concern", "resolved", "date", "code", "page", "open", "rejection"}


def english_words(text: str) -> set[str]:
    """The English words of `text`, leaving out the codes it names (a capability like case.read)."""
    prose = re.sub(r"\b[\w-]+(\.[\w-]+)+\b", " ", text)
    return {word for word in re.findall(r"[A-Za-z]+", prose.lower())} & ENGLISH


def said(page: Page) -> str:
    """The refusal the page shows, checked to be Spanish through and through."""
    alert = page.get_by_role("alert").first
    expect(alert).to_be_visible()
    text = alert.inner_text()
    assert english_words(text) == set(), text
    return text


@pytest.fixture(scope="module")
def cases(server: Served) -> Iterator[dict[str, Any]]:
    """A case picked for a flight whose concern is raised before it is added, and a verification to decide."""
    with served_api(server, ("inm.officer", "saime.officer")) as api:
        flight = api.flight()
        concerned = api.ready_case(given_names="Ana Concerned")
        waiting = api.register(given_names="Berta Waiting")
        api.screen(waiting["reference"])
        api.post("inm.officer", f"/api/v1/cases/{waiting['reference']}/verification-request")
        yield {"flight": flight["reference"], "concerned": concerned["reference"], "waiting": waiting["reference"],
               "api": api}


def test_a_wrong_password_is_said_in_spanish(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Usuario").fill("inm.officer")
    page.get_by_label("Contraseña").fill("not the password")
    page.get_by_role("button", name="Entrar").click()
    assert "usuario o contraseña incorrectos" in said(page)


def test_manifesting_a_case_with_an_open_concern_says_so_in_spanish_never_which(
    page: Page, cases: dict[str, Any]
) -> None:
    """Which concern is the screening's to tell, an audited read (red team round 35, F2); the refusal says one is
    open and where to read it."""
    log_in(page, "inm.officer")
    page.goto(f"/flights/{cases['flight']}/add?q={cases['concerned']}")
    page.get_by_label("Ana Concerned", exact=False).check()
    # Between picking and adding, a protection concern is raised on the person.
    cases["api"].screen(cases["concerned"], concerns=["pending_asylum_claim"])
    page.get_by_role("button", name="Añadir al manifiesto").click()
    text = said(page)
    assert cases["concerned"] in text and "preocupación de protección no está resuelta" in text
    assert "asilo" not in text


def test_a_rejection_without_a_reason_is_said_in_spanish(page: Page, cases: dict[str, Any]) -> None:
    log_in(page, "saime.officer")
    page.goto("/verification")
    page.locator(f"form:has(#reason-{cases['waiting']})").get_by_role("button", name="Rechazar").click()
    assert "hace falta un motivo escrito" in said(page)


def test_bad_values_in_a_form_are_said_in_spanish(page: Page) -> None:
    log_in(page, "inm.officer")
    page.goto("/cases/new")
    for label, value in (("Referencia de la agencia", "CHROMIUM-1"), ("Nombres", "Carla"),
                         ("Primer apellido", "Pérez"), ("Fecha de nacimiento", "1990-02-31"),
                         ("Nacionalidad (ISO alfa-3)", "VEN"), ("Lugar de custodia", "Tapachula"),
                         ("Detenido desde", "2026-01-01")):
        page.get_by_label(label, exact=False).first.fill(value)
    page.get_by_role("button", name="Registrar caso").click()
    assert "1990-02-31" in said(page)
    page.get_by_label("Fecha de nacimiento", exact=False).first.fill("1990-03-12")
    page.get_by_label("Nacionalidad (ISO alfa-3)", exact=False).fill("XXX")
    page.get_by_role("button", name="Registrar caso").click()
    assert "XXX" in said(page) and "código ISO 3166-1 alfa-3" in said(page)


def test_a_page_the_agency_may_not_open_leads_with_a_plain_spanish_sentence(page: Page) -> None:
    log_in(page, "carrier.officer")
    page.goto("/cases")
    lead = page.locator("#refusal-lead").inner_text()
    detail = page.locator("#refusal-detail").inner_text()
    assert lead == "Su agencia o su función no permiten ver esta página."
    # Who was refused, and where, comes second, in Spanish too.
    assert "carrier.officer (CONVIASA, aerolínea, funcionario) no puede" in detail and "/cases" in detail
    assert english_words(lead + " " + detail) == set()


def _spanish(text: str) -> str:
    assert english_words(text) == set(), text
    return text


def test_a_case_that_is_not_there_is_said_in_spanish(page: Page) -> None:
    log_in(page, "inm.officer")
    page.goto("/cases/MX-1999-999999")
    assert "MX-1999-999999" in said(page)
    page.goto("/cases?page=abc")
    assert "entero" in said(page)


def test_an_edit_overtaken_by_another_is_said_in_spanish(page: Page, cases: dict[str, Any]) -> None:
    api = cases["api"]
    reference = api.register(given_names="Clara Edición")["reference"]
    log_in(page, "inm.officer")
    page.goto(f"/cases/{reference}/edit")
    page.get_by_label("Lugar de custodia").fill("Estación Migratoria Acayucan")
    # Between opening the form and saving it, another official corrects the same case.
    api.patch("inm.officer", f"/api/v1/cases/{reference}", {"held_at": "Estación Migratoria Iztapalapa"})
    page.get_by_role("button", name=re.compile("Guardar")).click()
    said(page)
    conflict = page.locator("section.conflict")
    expect(conflict).to_contain_text("Otra persona cambió este registro")
    _spanish(conflict.inner_text())


def test_the_exceptions_of_a_bulk_approval_are_said_in_spanish(page: Page, server: Served,
                                                               cases: dict[str, Any]) -> None:
    api = cases["api"]
    refs = [api.ready_case(given_names=f"Lote {i}")["reference"] for i in range(3)]
    flight = api.flight()["reference"]
    api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": refs})
    api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose")
    concern_behind_the_guard(server, refs[1])
    log_in(page, "saime.officer")
    page.goto(f"/flights/{flight}")
    page.get_by_role("button", name="Aprobar a todos los que pueden aprobarse").click()
    refused = page.locator("table.refused")
    expect(refused).to_contain_text(refs[1])
    _spanish(refused.inner_text())
    _spanish(page.locator("main").get_by_role("status").first.inner_text())
    # All or nothing, the whole is refused, in Spanish, naming the person and never the concern.
    page.get_by_label(re.compile("Todo o nada")).check()
    page.get_by_role("button", name="Confirmar").click()
    text = said(page)
    assert refs[1] in text and "asilo" not in text


def test_the_bad_rows_of_an_import_are_said_in_spanish(page: Page, tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(case_template("csv").decode("utf-8-sig"))))
    column = rows[0].index("fecha_nacimiento")
    rows[1][column] = "1985-02-31"
    rows[2][rows[0].index("nacionalidad")] = "XXX"
    upload = tmp_path / "casos.csv"
    with upload.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    log_in(page, "inm.officer")
    page.goto("/cases/import")
    page.get_by_label("Archivo").set_input_files(str(upload))
    page.get_by_role("button", name="Importar", exact=True).click()
    assert "No se importó nada" in said(page)
    report = page.locator("#report")
    expect(report.locator("#problems")).to_contain_text("1985-02-31")
    # The columns are named as the template names them; everything else on the report reads in Spanish.
    _spanish(re.sub(r"\b\w+_\w+\b", " ", report.inner_text()))
