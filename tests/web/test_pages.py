"""The officials' pages over HTTP: login, CSRF, language, refusals by URL per role, harmless errors."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.models import LoginAttempt
from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.config import Settings
from retorno.web.app import create_app
from tests.factories import Api, World, case_payload, ok
from tests.web.pages_helpers import alert, csrf, login, post_form


def test_pages_need_a_login_and_send_back_to_the_page_asked_for(client: TestClient) -> None:
    response = client.get("/cases?q=pe", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/cases%3Fq%3Dpe"


def test_login_shows_agency_and_role_and_logout_ends_the_session(client: TestClient) -> None:
    response = login(client, "inm.officer")
    assert response.status_code == 303
    home = client.get("/")
    assert "MX-INM" in home.text and "funcionario" in home.text and "autoridad de envío" in home.text
    post_form(client, "/logout", {})
    assert client.get("/", follow_redirects=False).status_code == 303


def test_cookies_are_https_only_when_the_installation_says_so(
    client: TestClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    assert "secure" not in login(client, "inm.officer").headers["set-cookie"].lower()  # the demo, on http
    app = create_app(dataclasses.replace(settings, secure_cookies=True))
    app.state.sessionmaker = session_factory
    with TestClient(app, base_url="https://testserver") as secure:
        logged_in = login(secure, "inm.officer")
        assert logged_in.status_code == 303
        assert "retorno_session=" in logged_in.headers["set-cookie"]
        assert "secure" in logged_in.headers["set-cookie"].lower()
        switched = post_form(secure, "/language", {"lang": "en", "next": "/"})
        assert "retorno_lang=en" in switched.headers["set-cookie"].replace('"', "")
        assert "secure" in switched.headers["set-cookie"].lower()
    app.state.engine.dispose()


def test_failed_logins_are_refused_audited_and_slowed_down(client: TestClient, session: Session) -> None:
    for _ in range(5):
        # An hour apart: none is refused, and the last one was just now.
        for attempt in session.execute(sa.select(LoginAttempt)).scalars():
            attempt.at -= timedelta(hours=1)
        session.flush()
        response = login(client, "inm.officer", "wrong password!")
        assert response.status_code == 401 and "usuario o contraseña incorrectos" in alert(response.text)
    throttled = login(client, "inm.officer")
    assert throttled.status_code == 429 and "demasiados intentos fallidos" in alert(throttled.text)
    assert throttled.headers["retry-after"] in ("3", "4")
    failures = session.execute(
        sa.select(sa.func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.action == "login.failed", AuditRecord.object_id == "inm.officer")
    ).scalar_one()
    assert failures == 5


def test_a_post_without_the_session_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, session: Session
) -> None:
    login(client, "inm.officer")
    before = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
    form = {**case_payload(), "csrf_token": "forged"}
    response = client.post("/cases/new", data=form, follow_redirects=False)
    assert response.status_code == 403 and "no vino de este sitio" in alert(response.text)
    assert client.post("/cases/new", data=case_payload(), follow_redirects=False).status_code == 403
    assert session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() == before


def test_the_api_with_a_bearer_token_needs_no_csrf_token(client: TestClient, world: World) -> None:
    assert Api(client, world).register()["state"] == "registered"


def test_register_a_case_through_the_form_then_find_it_without_accents(client: TestClient) -> None:
    login(client, "inm.officer")
    payload = case_payload(given_names="Andrés", first_surname="Muñoz", second_surname="Ávila")
    response = post_form(client, "/cases/new", payload, page="/cases/new")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Andrés Muñoz Ávila" in page.text and "registrado" in page.text
    found = client.get("/cases", params={"q": "andres munoz"})
    assert "Andrés Muñoz Ávila" in found.text
    by_id = client.get("/cases", params={"q": payload["national_id"]})
    assert "Andrés Muñoz Ávila" in by_id.text


def test_a_refused_form_keeps_what_was_typed_and_writes_nothing(client: TestClient, session: Session) -> None:
    login(client, "inm.officer")
    before = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()
    payload = case_payload(given_names="Perla Futura", birth_date="2999-01-01")
    response = post_form(client, "/cases/new", payload, page="/cases/new")
    assert response.status_code == 422
    assert "la fecha de nacimiento 2999-01-01 está en el futuro" in alert(response.text)
    assert 'value="Perla Futura"' in response.text
    after = session.execute(sa.select(sa.func.count()).select_from(AuditRecord)).scalar_one()
    assert after == before


def test_the_language_switch_is_remembered(client: TestClient) -> None:
    login(client, "inm.officer")
    assert '<html lang="es">' in client.get("/cases").text
    response = post_form(client, "/language", {"lang": "en", "next": "/cases"})
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    page = client.get("/cases")
    assert '<html lang="en">' in page.text and "Name, reference or national ID" in page.text
    post_form(client, "/logout", {})
    assert "Log in" in client.get("/login").text


# Pages each role must be refused by URL (not only by a hidden link).
REFUSED = {
    "carrier.officer": [
        "/cases",
        "/cases/new",
        "/cases/import",
        "/verification",
        "/monitor",
        "/audit",
        "/flights/new",
        "/audit/verify",
    ],
    "monitor.viewer": ["/cases", "/cases/new", "/verification", "/flights", "/flights/new"],
    "inm.officer": ["/verification", "/monitor", "/audit"],
    "inm.viewer": ["/cases/new", "/cases/import", "/flights/new", "/verification"],
    "saime.officer": ["/cases/new", "/cases/import", "/flights/new", "/monitor", "/audit"],
    "op.officer": ["/flights", "/verification", "/cases/new", "/monitor"],
}


@pytest.mark.parametrize("username", sorted(REFUSED))
def test_each_role_is_refused_the_pages_it_must_not_see(client: TestClient, username: str) -> None:
    login(client, username)
    for path in REFUSED[username]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 403, (username, path, response.status_code)
        assert "Acceso denegado" in response.text


def test_each_side_sees_only_its_fields_of_a_case(client: TestClient, world: World) -> None:
    api = Api(client, world)
    registered = api.register()
    ready = api.ready_case(held_at="Estación Migratoria Acayucan")
    login(client, "saime.officer")
    assert client.get(f"/cases/{registered['reference']}").status_code == 404
    page = client.get(f"/cases/{ready['reference']}")
    assert page.status_code == 200 and ready["national_id"] in page.text
    assert "Acayucan" not in page.text and "Historial" not in page.text
    assert "Detalles de protección" not in page.text
    login(client, "inm.officer")
    own = client.get(f"/cases/{ready['reference']}")
    assert "Acayucan" in own.text and "Historial" in own.text


def test_a_carrier_sees_only_the_passenger_list_fields_of_its_locked_flight(
    client: TestClient, world: World
) -> None:
    api = Api(client, world)
    case = api.ready_case(held_at="Estación Migratoria Acayucan")
    flight = api.flight()
    ref = flight["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{ref}/passengers", {"cases": [case["reference"]]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{ref}/manifest/propose"))
    ok(
        api.post(
            "saime.officer",
            f"/api/v1/flights/{ref}/passengers/{case['reference']}/decision",
            {"approve": True},
        )
    )
    ok(api.post("saime.officer", f"/api/v1/flights/{ref}/manifest/lock"))
    login(client, "carrier.officer")
    page = client.get(f"/flights/{ref}")
    assert page.status_code == 200 and "Peña Rodríguez" in page.text
    assert "Acayucan" not in page.text and case["national_id"] not in page.text
    assert client.get(f"/cases/{case['reference']}").status_code == 403
    paxlst = client.get(f"/flights/{ref}/paxlst")
    assert paxlst.status_code == 200 and paxlst.text.startswith("UNA")
    login(client, "avior.officer")
    assert client.get(f"/flights/{ref}").status_code == 404


def test_dashboards_render_for_every_role_that_has_one(client: TestClient, world: World) -> None:
    Api(client, world).ready_case()
    for username, marker in (
        ("inm.officer", "Casos por estado"),
        ("saime.officer", "En cola de verificación"),
        ("monitor.viewer", "Seguimiento del mecanismo"),
    ):
        login(client, username)
        page = client.get("/dashboard")
        assert page.status_code == 200 and marker in page.text and "<svg" in page.text, username
    login(client, "monitor.viewer")
    verified = client.get("/audit/verify")
    assert "La cadena está íntegra" in verified.text
    assert csrf(client, "/audit")


def test_the_cancel_form_of_an_accepted_flight_is_offered_to_supervisors_only(client: TestClient,
                                                                             world: World) -> None:
    """Red team round 42, F2: the flight page offered an officer the form to cancel an accepted flight, every press
    of which is refused (a supervisor's, `flight.cancel_accepted`). A proposed flight's stays an officer's."""
    api = Api(client, world)
    accepted = api.flight()["reference"]
    proposed = api.flight(accept=False)["reference"]
    for username, flight, offered in (("saime.officer", accepted, False), ("inm.officer", accepted, False),
                                      ("saime.supervisor", accepted, True), ("inm.officer", proposed, True)):
        login(client, username)
        page = client.get(f"/flights/{flight}")
        assert page.status_code == 200, page.text
        assert (f'action="/flights/{flight}/cancel"' in page.text) is offered, (username, flight)
        client.cookies.clear()
