"""Red team round 12, F9 (low): the alerts that boarded people must leave the aircraft were listed oldest first behind
older informational alerts; with 14 alerts and the default limit of 10, the two newest `must_deboard` were neither in
the sending officer's GET /api/v1/inbox nor on their home page. Now they come first among the alerts, every one of
them shown whatever the limit, at the API and on the home page; the counts count every alert."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.flights.models import Alert, Flight
from tests.factories import Api, World, ok
from tests.functional.test_must_deboard_told import _boarded_household
from tests.web.pages_helpers import login


def _alerts(api: Api, user: str, limit: int | None = None) -> tuple[int, list[tuple[str, str]]]:
    answer = ok(api.get(user, "/api/v1/inbox" + (f"?limit={limit}" if limit else "")))
    kind = {k["kind"]: k for k in answer["kinds"]}["alerts"]
    return kind["total"], [(i["reference"], i["note"]) for i in kind["items"]]


def test_who_must_leave_the_aircraft_is_listed_first_and_never_cut_by_the_limit(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    aboard, flight, at_door = _boarded_household(api, "HOGAR-F9")
    others = [api.ready_case(given_names=f"Informada {n}")["reference"] for n in range(12)]
    flight_id = session.execute(sa.select(Flight.id).where(Flight.reference == flight)).scalar_one()
    ids = dict(session.execute(sa.select(Case.reference, Case.id).where(Case.reference.in_(others))).all())
    # Twelve older removals already told (informational), an hour before the two who must leave the aircraft.
    for n, reference in enumerate(others):
        session.add(Alert(flight_id=flight_id, case_id=ids[reference], kind="removed", message="taken off",
                          created_at=at_door - timedelta(hours=2, minutes=n)))
    session.commit()
    with clock_at(at_door):
        api.screen(aboard[0], medical_escorts=3)
        deboard = {(ref, "must_deboard") for ref in aboard}
        total, items = _alerts(api, "inm.officer")
        # 12 removals, 2 medical needs, 2 who must leave the aircraft.
        assert total == 16, items
        assert set(items[:2]) == deboard, items
        assert len(items) == 10
        # Even a limit below their number shows every one of them, first.
        total, items = _alerts(api, "inm.officer", limit=1)
        assert total == 16 and set(items) == deboard, items
        total, items = _alerts(api, "carrier.officer", limit=1)
        assert total == 2 and set(items) == deboard, items
        login(client, "inm.officer")
        home = client.get("/").text
        assert home.count("debe bajar del avión") >= 2, home
        listed = home[home.index('id="q-alerts"'):].split("</ul>")[0].split("<li>")[1:]
        assert all("debe bajar del avión" in item for item in listed[:2]), listed
        assert {"Yolimar" in listed[0] or "Yolimar" in listed[1], "Segundo" in listed[0] or "Segundo" in listed[1]} \
            == {True}, listed
        # The home page's "see all" of the alerts leads to a page listing every one (it led to the flights list,
        # which lists no alert: round 11 left it open).
        section = home[home.index('id="q-alerts"'):].split("</section>")[0]
        link = re.search(r'<a href="([^"]+)">Ver las 16</a>', section)
        assert link is not None, section
        every = client.get(link.group(1).replace("&amp;", "&"))
        assert every.status_code == 200
        shown = every.text[every.text.index('id="q-alerts"'):].split("</ol>")[0].count("<li>")
        assert shown == 16, every.text
        assert 'id="q-verifications"' not in every.text and "Al día" not in every.text
        # Another kind's name, or one the official does not act on, is the whole page as before.
        assert "Al día" in client.get("/?kind=offers").text
