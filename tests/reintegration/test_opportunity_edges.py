"""Red team round 3 (L5, low): an opportunity took amounts, a currency and a start date at the edges of its rule.
"-0" was stored as -0.0; "1_000", " 12 " and Arabic-Indic digits "١٢٣" were read as 1000, 12 and 123 (Decimal()
takes them all), where the README says an amount is its exact decimal text; "XXX" (ISO 4217's "no currency") was a
currency; a start 366 days ahead was taken where the README says a year. One rule at every door
(`reintegration.bounds`): the import, the API, the pages and the command line refuse each, and write nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.cli.main import app
from retorno.reintegration import bounds
from retorno.reintegration.models import Opportunity
from tests.edit_helpers import OPPORTUNITY
from tests.factories import Api, World, ok
from tests.reintegration.helpers import post, refused, today
from tests.reintegration.test_opportunity_import import HEADER
from tests.web.pages_helpers import login
from tests.web.test_operator_pages import OPPORTUNITY_FORM, alert, send

NOT_AMOUNTS = ["-0", "-0.00", "1_000", " 12 ", "١٢٣", "12.", ".5", "1.000,00", "1e3", "12.345", "NaN", "+5"]


def _count(session: Session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(Opportunity)).scalar_one()


def test_the_rule_itself() -> None:
    for text in NOT_AMOUNTS:
        assert bounds.amount(text) is None, text
    assert [bounds.amount(t) for t in ("0", "12", "12.5", "130,50", "9999999999.99")] == [
        Decimal(0), Decimal(12), Decimal("12.5"), Decimal("130.50"), Decimal("9999999999.99")]
    assert not bounds.is_amount(Decimal("-0")) and not bounds.is_amount(Decimal("-0.0"))
    assert not bounds.is_amount(Decimal("1e10")) and not bounds.is_amount(Decimal("1.005"))
    assert bounds.is_amount(Decimal(0)) and bounds.is_amount(Decimal("130.50"))
    assert not any(bounds.is_currency(code) for code in ("XXX", "XTS", "XAU", "XDR", "ZZZ"))
    assert all(bounds.is_currency(code) for code in ("VES", "USD", "EUR", "XAF", "XCD"))
    assert bounds.latest_day(date(2026, 12, 1)) == date(2027, 12, 1)
    assert bounds.latest_day(date(2028, 2, 29)) == date(2029, 2, 28)


def _bad_api_fields() -> list[dict[str, Any]]:
    ahead = bounds.latest_day(today())
    return ([{"monthly_amount": text} for text in NOT_AMOUNTS] + [{"monthly_amount": -0.0}]
            + [{"currency": "XXX"}, {"currency": "XTS"},
               {"start_date": date.fromordinal(ahead.toordinal() + 1).isoformat()}])


def test_the_api_refuses_each(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    before = _count(session)
    for change in _bad_api_fields():
        response = post(api, "/api/v1/opportunities", {**OPPORTUNITY, **change})
        refused(response, 422)
    assert _count(session) == before
    # A year ahead, to the day, is taken; and an amount as text or as a JSON number.
    ok(post(api, "/api/v1/opportunities", {**OPPORTUNITY, "start_date": bounds.latest_day(today()).isoformat()}), 201)
    created = ok(post(api, "/api/v1/opportunities", {**OPPORTUNITY, "monthly_amount": 130.5}), 201)
    assert created["monthly_amount"] == 130.5
    # A change is held to the same rule.
    path = f"/api/v1/opportunities/{created['reference']}"
    for change in _bad_api_fields():
        etag = api.get("op.officer", path).headers["etag"]
        response = client.patch(path, json=change, headers={**world.headers("op.officer"), "If-Match": etag})
        assert response.status_code == 422, (change, response.text)
    assert ok(api.get("op.officer", path))["monthly_amount"] == 130.5


def test_the_currency_no_money_is_told_in_both_languages(client: TestClient, world: World) -> None:
    api = Api(client, world)
    error = refused(post(api, "/api/v1/opportunities", {**OPPORTUNITY, "currency": "XXX"}), 422,
                    "invalid_opportunity")
    assert "'XXX' names no money" in error["message"]
    assert "'XXX' no es dinero" in error["localized"]["message"]


def test_the_pages_refuse_each(client: TestClient, session: Session) -> None:
    login(client, "op.officer")
    before = _count(session)
    ahead = date.fromordinal(bounds.latest_day(today()).toordinal() + 1).isoformat()
    for change in ([{"monthly_amount": text} for text in NOT_AMOUNTS if text.strip() != "12"]
                   + [{"currency": "XXX"}, {"start_date": ahead}]):
        page = send(client, "/reintegration/opportunities/new", {**OPPORTUNITY_FORM, **change})
        assert page.status_code == 422, (change, alert(page.text))
    assert _count(session) == before


def test_the_import_refuses_each(client: TestClient, world: World, session: Session) -> None:
    ahead = date.fromordinal(bounds.latest_day(today()).toordinal() + 1).strftime("%Y-%m-%d")
    start = today().strftime("%Y-%m-%d")
    row = ",pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,4,1,{amount},{currency},{start},6,,,"
    rows = [row.format(amount=f'"{text}"', currency="VES", start=start) for text in NOT_AMOUNTS
            if text.strip() != "12"]
    rows += [row.format(amount="100", currency="XXX", start=start), row.format(amount="100", currency="VES",
                                                                                start=ahead),
             row.format(amount="100", currency="VES", start=start).replace(",4,1,", ",٤,1,")]
    before = _count(session)
    response = client.post("/api/v1/opportunities/import?lang=en", headers=world.headers("op.officer"),
                           files={"file": ("ofertas.csv", "\n".join([HEADER, *rows]).encode(), "text/csv")})
    assert response.status_code == 422, response.text
    cells = {(d["row"], d["column"]) for d in response.json()["error"]["details"] if d["severity"] == "error"}
    amounts = len(rows) - 3
    assert cells == {*((n, "monto_mensual") for n in range(2, 2 + amounts)), (2 + amounts, "moneda"),
                     (3 + amounts, "fecha_inicio"), (4 + amounts, "cupos")}, cells
    assert _count(session) == before


@pytest.mark.parametrize("amount", NOT_AMOUNTS)
def test_the_command_line_refuses_each_amount(amount: str) -> None:
    result = CliRunner().invoke(app, [
        "opportunities", "add", "--kind", "internship", "--title", "Pasantía", "--workplace", "Taller",
        "--sector", "manufactura", "--isco", "7212", "--state", "VE-V", "--municipality", "Maracaibo",
        "--seats", "2", "--amount", amount, "--currency", "USD", "--start", today().isoformat(),
        "--duration", "6", "--database-url", "sqlite:///nonexistent-never-opened.db"])
    assert result.exit_code == 2 and "--amount takes a number" in " ".join(result.output.split()), result.output
