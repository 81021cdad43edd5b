"""Reporting figures after a small flow through the API, per role, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.errors import Forbidden
from retorno.reintegration.models import FollowUp, IntakeProfile, Opportunity, Placement
from retorno.reporting import public
from retorno.reporting import service as reports
from tests.factories import Api, World, ok


@pytest.fixture
def flown(client: TestClient, world: World) -> dict[str, Any]:
    """11 people received: 4 women and 2 men from Tapachula, 5 women from Villahermosa; one open concern,
    one resolved."""
    api = Api(client, world)
    tap = api.fly_to_arrival([api.ready_case(**person) for person in
                              [{"sex": "F"}] * 4 + [{"sex": "M", "given_names": "José Ángel"}] * 2])
    # Five women of one age, each her own person (alike records would be possible duplicates: one seat between them).
    vsa = api.fly_to_arrival([api.ready_case(sex="F", given_names=name, birth_date=f"1960-03-0{day}")
                              for day, name in enumerate(("Alba", "Beatriz", "Carmen", "Dalia", "Elena"), 1)],
                             origin="VSA")
    concern = api.register()
    api.screen(concern["reference"], ["medical_condition"])
    resolved = api.register()
    api.screen(resolved["reference"], ["pregnancy"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{resolved['reference']}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "certificado médico: apta para volar"}), 201)
    return {"api": api, "tap": tap, "vsa": vsa}


def place(session: Session, world: World, cases: list[dict[str, Any]], still: int) -> None:
    """Started placements with their 3-month follow-up done: `still` of them still in the placement."""
    operator = world.users["op.officer"]
    opportunity = Opportunity(reference="OP-R-1", operator_agency_id=operator.agency_id, kind="internship",
                              title="Pasantía", workplace="Taller", sector="manufactura", isco_code="7233",
                              state_code="VE-L", municipality="Libertador", seats=10, monthly_amount=130,
                              currency="USD", start_date=date(2024, 1, 15), duration_months=6, required_skills=[])
    session.add(opportunity)
    session.flush()
    for number, case in enumerate(cases):
        case_id = session.execute(sa.select(Case.id).where(Case.reference == case["reference"])).scalar_one()
        session.add(IntakeProfile(case_id=case_id, consent=True, occupations=[], skills=[], languages=[],
                                  preferences=[], needs=[], recorded_by=operator.id))
        placement = Placement(case_id=case_id, opportunity_id=opportunity.id, status="started",
                              started_on=date(2024, 1, 15))
        session.add(placement)
        session.flush()
        work = "in_placement" if number < still else "no_work"
        session.add(FollowUp(placement_id=placement.id, months_after_start=3, due_on=date(2024, 4, 15),
                             done_at=sa.func.now(), answers={"work": work}, score=0.8 if number < still else 0.4))
    session.flush()


def test_case_and_return_figures_follow_each_readers_visibility(flown: dict[str, Any], session: Session,
                                                                 world: World) -> None:
    users = world.users
    assert reports.cases_by_state(session, users["inm.officer"]) == {"screened": 2, "arrived": 11}
    # The receiving side counts its nationals from the verification request on; the other sender nothing.
    assert reports.cases_by_state(session, users["saime.officer"]) == {"arrived": 11}
    assert reports.cases_by_state(session, users["ice.officer"]) == {}
    assert reports.cases_by_state(session, users["monitor.viewer"])["arrived"] == 11
    assert reports.open_concerns(session, users["inm.officer"]) == 1
    assert reports.open_concerns(session, users["ice.officer"]) == 0
    # The dashboard counts states and days detained in one statement: the same figures as each alone.
    today = date.today()
    for reader in ("inm.officer", "ice.officer", "saime.officer", "monitor.viewer"):
        sending = users[reader].agency.kind == "sending_authority"
        counted = reports.case_counts(session, users[reader], today if sending else None)
        assert counted.by_state == reports.cases_by_state(session, users[reader]), reader
        assert counted.detention == (reports.detention_bands(session, users[reader], today) if sending else None)
    assert reports.case_counts(session, users["inm.officer"], today).detention == [
        ("0–30", 0), ("30–90", 2), ("90–180", 0), ("180+", 0)]
    for reader in ("inm.officer", "saime.officer", "monitor.viewer"):
        _weeks, series = reports.returns_by_week(session, users[reader])
        assert {route: sum(v) for route, v in series.items()} == {"TAP → CCS": 6, "VSA → CCS": 5}, reader
    assert reports.returns_by_week(session, users["ice.officer"])[1] == {}
    people = reports.returnees(session, users["inm.officer"])
    by_age = reports.returns_by_age_and_sex(people)
    assert by_age["18-29"]["F"] + by_age["30-44"]["F"] == 4 and by_age["60+"]["F"] == 5
    assert sum(by_age["30-44"].values()) + sum(by_age["18-29"].values()) == 6
    exceptions = reports.exception_counts(session, users["inm.officer"])
    assert exceptions["screening_resolutions"] == 1 and exceptions["arrival_differences"] == 0
    assert reports.exception_counts(session, users["ice.officer"])["screening_resolutions"] == 0
    with pytest.raises(Forbidden):
        reports.cases_by_state(session, users["carrier.officer"])


def test_the_headline_figure_counts_started_placements_still_placed_at_each_follow_up(
    flown: dict[str, Any], session: Session, world: World
) -> None:
    place(session, world, flown["tap"] + flown["vsa"][:1], still=6)
    for reader in ("monitor.viewer", "op.officer", "saime.officer"):
        three, six, twelve = reports.follow_up_outcomes(session, world.users[reader])
        assert (three.months, three.done, three.still_placed) == (3, 7, 6), reader
        assert three.share_still_placed == pytest.approx(6 / 7) and three.mean_score == pytest.approx(0.743, abs=1e-3)
        assert (six.done, twelve.done, six.share_still_placed) == (0, 0, None)
    assert reports.placements_by_status(session, world.users["op.officer"]) == {"started": 7}
    # Another operator sees none of these placements; the other country's sender none of the cases.
    assert reports.placements_by_status(session, world.users["op2.officer"]) == {}
    assert reports.follow_up_outcomes(session, world.users["ice.officer"])[0].done == 0
    # In public, the follow-ups count by whole batches of five in the order they were recorded (red team round 17,
    # P-F1/Q-F5): the first five, all still placed; the sixth and seventh wait for three more.
    report = reports.public_report(session)
    assert public.follow_up_rows(report.follow_up)[0] == [3, 5, 5, 1.0, 0.8]


def test_dashboard_api_is_per_reader_and_refused_to_carriers(flown: dict[str, Any], client: TestClient,
                                                           world: World) -> None:
    api: Api = flown["api"]
    sending = ok(api.get("inm.officer", "/api/v1/reports/dashboard"))
    assert sending["cases_total"] == 13 and sending["open_concerns"] == 1
    assert sending["detention_days"] == {"0–30": 0, "30–90": 2, "90–180": 0, "180+": 0}
    assert sum(sum(v) for v in sending["returns_by_week"]["routes"].values()) == 11
    assert sending["safeguard_exceptions"]["screening_resolutions"] == 1
    receiving = ok(api.get("saime.officer", "/api/v1/reports/dashboard"))
    assert receiving["cases_by_state"] == {"arrived": 11} and "open_concerns" not in receiving
    other = ok(api.get("ice.officer", "/api/v1/reports/dashboard"))
    assert other["cases_total"] == 0 and other["safeguard_exceptions"]["screening_resolutions"] == 0
    monitor = ok(api.get("monitor.viewer", "/api/v1/reports/dashboard"))
    assert monitor["cases_by_state"]["arrived"] == 11 and "upcoming_flights" not in monitor
    assert api.get("carrier.officer", "/api/v1/reports/dashboard").status_code == 403
    assert client.get("/api/v1/reports/dashboard").status_code == 401


def published_numbers(rows: list[list[str]]) -> list[int]:
    return [int(cell) for row in rows for cell in row if cell.isdigit()]


def test_public_statistics_need_no_login_and_show_no_small_count(flown: dict[str, Any], client: TestClient) -> None:
    response = client.get("/api/v1/reports/public.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[1][:3] == ["#date+week", "#loc+origin+code", "#loc+destination+code"]
    body = rows[2:]
    assert not [n for n in published_numbers(body) if 0 < n < public.SMALLEST_PUBLISHED]
    by_route = {(r[1], r[2]): r for r in body if r[0] == public.TOTAL}
    # 5 women from Villahermosa are published; Tapachula's 4 women and 2 men are not.
    assert by_route[("VSA", "CCS")][3] == "5"
    assert by_route[("TAP", "CCS")][4:6] == [public.MARKER, public.MARKER]
    assert by_route[(public.TOTAL, public.TOTAL)][3] == "11"
    for table in ("age_sex", "placements", "follow_up"):
        other = client.get(f"/api/v1/reports/public.csv?table={table}")
        assert other.status_code == 200
        other_rows = list(csv.reader(io.StringIO(other.text)))
        assert all(tag.startswith("#") for tag in other_rows[1])
        assert not [n for n in published_numbers(other_rows[2:]) if 0 < n < public.SMALLEST_PUBLISHED
                    and table != "follow_up"]
    assert client.get("/api/v1/reports/public.csv?table=cases").status_code == 422
    as_json = client.get("/api/v1/reports/public").json()
    assert as_json["suppressed_marker"] == public.MARKER and as_json["tables"]["returns"][-1]["returnees"] == 11
    page = client.get("/estadisticas")
    assert page.status_code == 200 and "Retornos por semana y ruta" in page.text
    client.cookies.set("retorno_lang", "en")
    english = client.get("/estadisticas")
    assert "Public statistics" in english.text and "Download CSV with HXL tags" in english.text


def test_the_statistics_page_shows_suppressed_figures_as_suppressed_and_never_draws_them(
    flown: dict[str, Any], client: TestClient
) -> None:
    # A third route this week carries 3 people: its row is suppressed, and so is what would give it back.
    api: Api = flown["api"]
    api.fly_to_arrival([api.ready_case(sex="M") for _ in range(3)], origin="MEX")
    page = client.get("/estadisticas")
    assert page.status_code == 200
    # Never "<5" (a suppressed cell may hold any number); the mark and the rule are on the page.
    assert "&lt;5" not in page.text and "<5" not in page.text
    returns = page.text.split('id="retornos"')[1].split("</table>")[0]
    mexico = next(row for row in returns.split("<tr") if "<td>MEX</td>" in row)
    assert mexico.count('<span class="suppressed" title="suprimido" aria-hidden="true">—</span>') >= 3
    assert '<span class="sr-only">suprimido</span>' in mexico
    assert "una cifra suprimida no es una cifra pequeña" in page.text.lower()
    # The line chart leaves Mexico City's week out, with the gap named, instead of drawing a 0.
    weekly = page.text.split("<figure>")[1].split("</figure>")[0]
    assert "MEX → CCS: semana del" in weekly and "suprimido" in weekly.split("MEX → CCS:")[1].split(";")[0]
    assert "TAP → CCS: semana del" in weekly and " 6" in weekly.split("TAP → CCS:")[1].split(";")[0]
    assert weekly.count("<circle") == 2
    # The placements table names its column as a status, in both languages.
    assert "<th scope=\"col\">Estado de la colocación</th>" in page.text
    client.cookies.set("retorno_lang", "en")
    english = client.get("/estadisticas").text
    assert "<th scope=\"col\">Status</th>" in english and ">State<" not in english.split('id="colocaciones"')[1]
    assert "suppressed" in english and "A suppressed figure is not a small figure" in english
    csv_rows = list(csv.reader(io.StringIO(client.get("/api/v1/reports/public.csv").text)))[2:]
    assert [r[3:6] for r in csv_rows if r[1] == "MEX"] == [[public.MARKER, "0", public.MARKER]] * 2
    assert not [cell for row in csv_rows for cell in row if cell == "<5"]
