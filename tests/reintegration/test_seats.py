"""Red team, round 2 (G1, medium): an opportunity's seats were cut below its placements under way (OP-00007 to 1
seat with 3 started), and offers were then accepted and started over capacity. Seats are never cut below the
placements that hold one, and no offer is taken up without a free seat, at every door."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.errors import InvalidTransition
from retorno.reintegration.load import import_opportunities
from retorno.reintegration.models import Opportunity, Placement
from retorno.reintegration.service import (
    get_opportunity,
    update_opportunity,
    update_placement,
)
from tests.edit_helpers import INTAKE
from tests.factories import Api, World, ok
from tests.reintegration.helpers import offers, patch, placement_of, refused, step, today
from tests.web.pages_helpers import login
from tests.web.test_operator_pages import OPPORTUNITY_FORM, alert, send


def test_seats_never_go_below_the_placements_holding_one_at_any_door(client: TestClient, world: World,
                                                                     session: Session) -> None:
    api = Api(client, world)
    cases, (reference,) = offers(api, 3, seats=3)
    first, second, _third = (placement_of(api, case) for case in cases)
    ok(step(api, first, "accepted"))
    ok(step(api, second, "accepted"))
    ok(step(api, second, "started", today().isoformat()))
    # The API: two placements hold a seat, so one seat is refused (409, naming how many), two are not.
    error = refused(patch(api, reference, {"seats": 1}), 409,
                     "opportunity.seats_held")
    assert error["params"] == {"opportunity": reference, "seats": 1, "held": 2}, error
    assert "ocupan plazas: 2" in error["localized"]["message"] and "1 plazas" not in error["localized"]["message"]
    # The pages, the import and the command line's action, each refused the same way.
    version = api.get("op.officer", f"/api/v1/opportunities/{reference}").headers["etag"].strip('"')
    login(client, "op.officer")
    page = send(client, f"/reintegration/opportunities/{reference}",
                {**OPPORTUNITY_FORM, "seats": "1", "version": version, "active": "on"})
    assert page.status_code == 409 and "plazas" in alert(page.text), alert(page.text)
    operator = world.bind(session).users["op.officer"]
    opportunity = get_opportunity(session, reference)
    with pytest.raises(InvalidTransition) as cut:
        update_opportunity(session, operator, opportunity, {"seats": 1})
    assert cut.value.code == "opportunity.seats_held"
    row = (",pasantia,Ayudante,Taller,manufactura,7212,VE-V,Maracaibo,1,1,1500,VES,"
           f"{(today() + timedelta(days=30)).strftime('%Y-%m-%d')},6,18,,")
    header = ("referencia,tipo,titulo,lugar_de_trabajo,sector,ocupacion_ciuo,estado,municipio,cupos,tutores,"
              "monto_mensual,moneda,fecha_inicio,duracion_meses,edad_minima,educacion_minima,habilidades")
    # The import's report names the row and its column (red team round 77, F1), and writes nothing.
    outcome = import_opportunities(session, operator, f"{header}\n{reference}{row}".encode(), "oportunidades.csv")
    assert not outcome.report.ok
    assert [(p.row_number, p.column) for p in outcome.report.problems] == [(2, "cupos")], outcome.report.problems
    assert session.execute(sa.select(Opportunity.seats).where(Opportunity.reference == reference)).scalar_one() == 3
    ok(api.edit("PATCH", "op.officer", f"/api/v1/opportunities/{reference}", {"seats": 2}))


def test_an_offer_is_not_accepted_or_started_without_a_free_seat(client: TestClient, world: World,
                                                                 session: Session) -> None:
    api = Api(client, world)
    cases, (reference,) = offers(api, 3, seats=3)
    first, second, third = (placement_of(api, case) for case in cases)
    ok(step(api, first, "accepted"))
    ok(step(api, second, "accepted"))
    ok(api.edit("PATCH", "op.officer", f"/api/v1/opportunities/{reference}", {"seats": 2}))
    # Two seats, both held: the third offer cannot be taken up (the API, the page, the command line's action).
    refused(step(api, third, "accepted"), 409, "placement.no_free_seat")
    login(client, "op.officer")
    page = send(client, f"/reintegration/placements/{third['id']}", {"status": "accepted"})
    assert page.status_code == 409 and "plaza libre" in alert(page.text), alert(page.text)
    operator = world.bind(session).users["op.officer"]
    with pytest.raises(InvalidTransition):
        update_placement(session, operator, third["id"], status="accepted")
    # An opportunity left over capacity before this rule (seats cut below its placements): no more start.
    session.execute(sa.update(Opportunity).where(Opportunity.reference == reference).values(seats=1))
    session.commit()
    refused(step(api, second, "started", today().isoformat()), 409, "placement.no_free_seat")
    # A seat freed (the first drops out, back within capacity) is taken again.
    session.execute(sa.update(Opportunity).where(Opportunity.reference == reference).values(seats=2))
    session.commit()
    ok(step(api, first, "dropped"))
    ok(step(api, third, "accepted"))
    ok(step(api, third, "started", today().isoformat()))
    held = session.execute(sa.select(sa.func.count()).select_from(Placement).where(
        Placement.status.in_(("accepted", "started")))).scalar_one()
    assert held == 2


def test_an_offer_says_the_seats_the_opportunity_had_left_not_its_seats(client: TestClient, world: World) -> None:
    """The red team read "you came 2, within its 1 seats" of a four-seat opportunity: the figure was the seats it
    had left in that run. The explanation says so, in the singular when one was left."""
    api = Api(client, world)
    cases, (reference,) = offers(api, 1, seats=2)
    ok(step(api, placement_of(api, cases[0]), "accepted"))
    (late,) = api.arrive(1, name="Tardía")
    ok(api.post("saime.officer", f"/api/v1/cases/{late['reference']}/consent", {}), 201)
    ok(api.put("op.officer", f"/api/v1/cases/{late['reference']}/intake", {**INTAKE, "preferences": [reference]}))
    ok(api.post("op.officer", "/api/v1/matching/runs?mode=stable"), 201)
    assigned = placement_of(api, late)["explanation"]["assigned"]
    assert assigned["es"].endswith("quedaste en el puesto 1, dentro de la única plaza que le quedaba."), assigned
    assert assigned["en"].endswith("you came 1, within the one seat it had left."), assigned


def test_an_opportunity_list_names_every_row_its_placements_refuse_beside_its_other_bad_rows(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 77, F1: a file with rows of bad format and two rows whose changes the opportunities' placements
    refuse (seats below those held; a start after a placement started) was refused naming the format errors only;
    without them, a 409 named the first such row, with no row number. One report names every bad row."""
    api = Api(client, world)
    cases, (cut,) = offers(api, 2, seats=3)
    for case in cases:
        placement = placement_of(api, case)
        ok(step(api, placement, "accepted"))
        ok(step(api, placement, "started", today().isoformat()))
    (late_case,), (moved,) = offers(api, 1, seats=1)
    late = placement_of(api, late_case)
    ok(step(api, late, "accepted"))
    ok(step(api, late, "started", today().isoformat()))
    header = ("referencia,tipo,titulo,lugar_de_trabajo,sector,ocupacion_ciuo,estado,municipio,cupos,tutores,"
              "monto_mensual,moneda,fecha_inicio,duracion_meses,edad_minima,educacion_minima,habilidades")
    start, ahead = today().isoformat(), (today() + timedelta(days=30)).isoformat()
    row = "{ref},pasantia,Pasantía 0,Taller,manufactura,7212,VE-V,Maracaibo,{seats},1,1500,{currency},{start},6,18,,"
    lines = [header, row.format(ref=cut, seats=1, currency="VES", start=start),
             row.format(ref=moved, seats=1, currency="VES", start=ahead),
             row.format(ref="", seats=2, currency="XXX", start=start)]
    before = session.execute(sa.select(Opportunity.reference, Opportunity.seats, Opportunity.start_date)
                             .order_by(Opportunity.id)).all()
    for rows, expected in ((lines, {(2, "cupos"), (3, "fecha_inicio"), (4, "moneda")}),
                           (lines[:3], {(2, "cupos"), (3, "fecha_inicio")})):
        answer = client.post("/api/v1/opportunities/import", headers=world.headers("op.officer"),
                             files={"file": ("ofertas.csv", "\n".join(rows).encode(), "text/csv")})
        assert answer.status_code == 422, answer.text
        details = answer.json()["error"]["details"]
        assert {(d["row"], d["column"]) for d in details if d["severity"] == "error"} == expected, details
        said = {d["row"]: d["expected"] for d in details}
        assert "2" in said[2] and start in said[3], said
        session.expire_all()
        assert session.execute(sa.select(Opportunity.reference, Opportunity.seats, Opportunity.start_date)
                               .order_by(Opportunity.id)).all() == before
