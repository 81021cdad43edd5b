"""The receiving officer's review queue in real Chromium, with proposals made by record linkage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.db import make_engine
from retorno.synthetic.registry import make_registry
from retorno.verification import jobs
from retorno.verification.linkage import train
from tests.browser.conftest import SCREENSHOTS, Served, log_in
from tests.verification.test_jobs import _person, misdated, open_case

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def linked(server: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two requests linked against a small registry: one verified, one sent to review."""
    folder = tmp_path_factory.mktemp("registry")
    registry = make_registry(3_000, 31, folder / "registry.parquet")
    model = folder / "model.json"
    train(registry, model, seed=32, u_pairs=2e5)
    records = pq.read_table(registry).to_pylist()
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        users = {u.username: u for u in session.execute(sa.select(User)).scalars()}
        clean = open_case(session, users["inm.officer"], _person(records[10]))
        doubtful = open_case(session, users["inm.officer"], misdated(records[20]))
        summary = jobs.verify_open_requests(session, users["saime.officer"], registry, model)
        session.commit()
        references = {"clean": clean.reference, "doubtful": doubtful.reference,
                      "record": str(records[20]["registry_id"]), "summary": summary.as_dict()}
    engine.dispose()
    yield references


def test_receiving_officer_decides_a_linkage_proposal_side_by_side(page: Page, linked: dict[str, Any],
                                                                   server: Served,
                                                                   request: pytest.FixtureRequest) -> None:
    assert linked["summary"]["verified"] == 1 and linked["summary"]["review"] == 1
    log_in(page, "saime.officer")
    page.get_by_role("link", name="Verificación").click()
    review = page.locator("section.review", has=page.get_by_role("heading", name=linked["doubtful"]))
    expect(review).to_contain_text("Propuesta: a revisión")
    expect(review).to_contain_text("ni la fecha de nacimiento ni la cédula coinciden")
    table = review.get_by_role("table", name="Comparación campo por campo con los candidatos del registro")
    expect(table.get_by_role("columnheader", name=f"Registro {linked['record']}")).to_be_visible()
    # The birth date disagrees and is flagged; the names agree.
    birth_row = table.get_by_role("row", name="Fecha de nacimiento")
    expect(birth_row.locator("td.agreement-disagree").first).to_contain_text("no coincide")
    expect(table.get_by_role("row", name="Primer apellido").locator("td.agreement-agree").first).to_be_visible()
    # The best candidate is suggested; the officer confirms it.
    expect(review.get_by_label("Registro coincidente")).to_have_value(linked["record"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.replace("[", "-").replace("]", "")
    review.screenshot(path=str(SCREENSHOTS / f"{name}-queue.png"))
    review.get_by_role("button", name="Verificar", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("registrada")
    expect(page.locator("section.review", has=page.get_by_role("heading", name=linked["doubtful"]))).to_have_count(0)
    page.goto(f"/cases/{linked['doubtful']}")
    expect(page.locator(".state")).to_contain_text("verificado")
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        states = dict(session.execute(sa.select(Case.reference, Case.state)
                                      .where(Case.reference.in_([linked["clean"], linked["doubtful"]]))).all())
    engine.dispose()
    assert states == {linked["clean"]: "verified", linked["doubtful"]: "verified"}
