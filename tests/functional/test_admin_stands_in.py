"""An administrator stands in for an agency's own supervisors only where that agency has none.

Red team (medium; SPEC.md 2 and 4.6, each agency sees only what it needs): an administrator's supervisor added
a supervisor of their own making to MX-INM, through the API or the pages, logged in as them and read protection
screenings, resolved concerns, approved manifests; raised another agency's officer to supervisor; reset the
password of another agency's supervisor and was shown the new one. Now an administrator adds a user, changes a
role, resets a password or enables a user of another (non-administrator) agency only while it has no active
supervisor besides the user acted on: a new agency's first supervisor, the only supervisor who forgot their
password, the last one gone. Disabling and reading stay open to them; the operator's console is not restricted.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.logins import change_password, disable_user
from retorno.agencies.models import User
from retorno.agencies.service import create_user
from retorno.audit.models import AuditRecord
from retorno.errors import Forbidden
from tests.factories import Api, World, ok
from tests.web.pages_helpers import alert, login, post_form

REFUSED = "forbidden.users.agency_has_supervisors"


def _user(session: Session, username: str) -> User | None:
    session.expire_all()
    return session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()


def _audited(session: Session, action: str, username: str) -> list[AuditRecord]:
    return list(session.execute(sa.select(AuditRecord).where(AuditRecord.action == action,
                                                             AuditRecord.object_id == username)).scalars())


def _refused(response: Any, agency: str = "MX-INM") -> None:
    assert response.status_code == 403, response.text[:400]
    error = response.json()["error"]
    assert error["code"] == REFUSED and agency in error["message"], error


def _page(client: TestClient, path: str, data: dict[str, str]) -> Any:
    return post_form(client, path, data, page="/users")


def _refused_page(response: Any, agency: str = "MX-INM") -> None:
    assert response.status_code == 403, response.text[:400]
    said = alert(response.text)
    assert agency in said and "supervisores activos propios" in said, said


def _body(username: str, agency: str, role: str) -> dict[str, str]:
    return {"username": username, "full_name": "Persona Nueva", "agency": agency, "role": role,
            "password": "una clave bastante larga"}


@pytest.mark.parametrize("role", ["supervisor", "officer"])
def test_an_administrator_adds_nobody_to_an_agency_that_has_a_supervisor_by_the_api(
        client: TestClient, world: World, session: Session, role: str) -> None:
    api = Api(client, world)
    _refused(api.post("admin", "/api/v1/users", _body("inm.planted", "MX-INM", role)))
    assert _user(session, "inm.planted") is None and not _audited(session, "user.create", "inm.planted")


@pytest.mark.parametrize("role", ["supervisor", "officer"])
def test_nor_by_the_pages_which_do_not_offer_that_agency(client: TestClient, world: World, session: Session,
                                                         role: str) -> None:
    login(client, "admin")
    listing = client.get("/users").text
    offered = re.search(r'<select id="new-agency".*?</select>', listing, re.S)
    assert offered is not None
    # Agencies with an active supervisor are not offered; those without one, a monitor and the administrators' are.
    for code in ("MX-INM", "VE-SAIME", "CONVIASA", "VE-VUELTA", "US-ICE"):
        assert f'value="{code}"' not in offered.group(0), code
    for code in ("RET-ADMIN", "MON-DDP", "MX-SRE", "CO-MIG", "AVIOR", "VE-FUNDAPRO"):
        assert f'value="{code}"' in offered.group(0), code
    assert 'id="own-supervisors"' in listing
    _refused_page(_page(client, "/users", {"username": "inm.planted", "full_name": "Persona Nueva",
                                           "agency": "MX-INM", "role": role}))
    assert _user(session, "inm.planted") is None and not _audited(session, "user.create", "inm.planted")


def test_an_administrator_changes_no_role_of_an_agency_that_has_another_supervisor(
        client: TestClient, world: World, session: Session) -> None:
    login(client, "admin")
    page = client.get("/users/inm.officer").text
    assert "/users/inm.officer/role" not in page and "/users/inm.officer/password-reset" not in page
    assert 'id="own-supervisors"' in page and "/users/inm.officer/disable" in page
    _refused_page(_page(client, "/users/inm.officer/role", {"role": "supervisor"}))
    user = _user(session, "inm.officer")
    assert user is not None and user.role == "officer" and not _audited(session, "user.role", "inm.officer")


def test_an_administrator_resets_no_password_where_the_agency_has_another_supervisor(
        client: TestClient, world: World, session: Session) -> None:
    login(client, "admin")
    before = _user(session, "inm.officer")
    assert before is not None
    digest = before.password_hash
    refused = _page(client, "/users/inm.officer/password-reset", {})
    _refused_page(refused)
    assert "<code class=\"mono\">" not in refused.text
    after = _user(session, "inm.officer")
    assert after is not None and after.password_hash == digest and not after.must_change_password
    assert not _audited(session, "user.password_reset", "inm.officer")
    assert client.get("/api/v1/me", headers=world.headers("inm.officer")).status_code == 200
    # Nor through the service's own door for setting another's password.
    admin = _user(session, "admin")
    with pytest.raises(Forbidden) as raised:
        change_password(session, admin, "inm.officer", "la clave del administrador")
    assert raised.value.code == REFUSED


def test_an_administrator_enables_no_user_the_agency_disabled_while_it_has_a_supervisor(
        client: TestClient, world: World, session: Session) -> None:
    login(client, "inm.supervisor")
    assert _page(client, "/users/inm.viewer/disable", {"reason": "dejó la institución"}).status_code == 303
    login(client, "admin")
    assert "/users/inm.viewer/enable" not in client.get("/users/inm.viewer").text
    _refused_page(_page(client, "/users/inm.viewer/enable", {}))
    user = _user(session, "inm.viewer")
    assert user is not None and not user.active and not _audited(session, "user.enable", "inm.viewer")


def test_an_administrator_does_not_enable_a_user_whose_temporary_password_is_known(
        client: TestClient, world: World, session: Session) -> None:
    """Undoing an administrator's own disabling is allowed only for a user whose password is their own."""
    login(client, "inm.supervisor")
    assert _page(client, "/users", {"username": "inm.nuevo", "full_name": "Nuevo", "agency": "MX-INM",
                                    "role": "officer"}).status_code == 200
    login(client, "admin")
    assert _page(client, "/users/inm.nuevo/disable", {"reason": "revisión de la cuenta"}).status_code == 303
    assert "/users/inm.nuevo/enable" not in client.get("/users/inm.nuevo").text
    _refused_page(_page(client, "/users/inm.nuevo/enable", {}))
    user = _user(session, "inm.nuevo")
    assert user is not None and not user.active


def test_an_agency_without_a_supervisor_is_set_up_and_recovered_by_an_administrator(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    ok(api.post("admin", "/api/v1/agencies", {"code": "VE-INTT", "name": "INTT", "kind": "receiving_authority",
                                              "country": "VEN"}), 201)
    # Bootstrap: the first supervisor and an officer, while the agency has no active supervisor.
    ok(api.post("admin", "/api/v1/users", _body("intt.officer", "VE-INTT", "officer")), 201)
    ok(api.post("admin", "/api/v1/users", _body("intt.jefa", "VE-INTT", "supervisor")), 201)
    # From then on the agency's own supervisor manages its users.
    _refused(api.post("admin", "/api/v1/users", _body("intt.otro", "VE-INTT", "officer")), "VE-INTT")
    assert _user(session, "intt.otro") is None
    login(client, "admin")
    # Its only supervisor forgot their password: an administrator resets it (the acted-on user does not count).
    reset = _page(client, "/users/intt.jefa/password-reset", {})
    assert reset.status_code == 200, reset.text[:400]
    temporary = re.search(r'<code class="mono">([^<]+)</code>', reset.text)
    assert temporary is not None
    _refused_page(_page(client, "/users/intt.officer/role", {"role": "supervisor"}), "VE-INTT")
    _refused_page(_page(client, "/users/intt.officer/password-reset", {}), "VE-INTT")
    # The supervisor chooses a password and manages the agency's users.
    login(client, "intt.jefa", temporary.group(1))
    assert post_form(client, "/account/password", {"current": temporary.group(1), "new": "mi clave propia 1",
                                                   "repeated": "mi clave propia 1"},
                     page="/account/password").status_code == 303
    added = _page(client, "/users", {"username": "intt.otro", "full_name": "Otro", "agency": "VE-INTT",
                                     "role": "officer"})
    assert added.status_code == 200 and _audited(session, "user.create", "intt.otro")[0].actor == "intt.jefa"
    assert _page(client, "/users/intt.officer/role", {"role": "viewer"}).status_code == 303
    # The last supervisor leaves (disabling stays open to administrators): the supervisor an administrator disabled
    # still holds the agency, else disabling every supervisor, then adding one's own, would take it over in two steps.
    login(client, "admin")
    assert _page(client, "/users/intt.jefa/disable", {"reason": "se jubiló este mes"}).status_code == 303
    _refused_page(_page(client, "/users/intt.officer/role", {"role": "supervisor"}), "VE-INTT")
    _refused(api.post("admin", "/api/v1/users", _body("intt.propio", "VE-INTT", "supervisor")), "VE-INTT")
    assert _user(session, "intt.officer").role == "viewer"  # type: ignore[union-attr]
    # Recovery is the operator's console's, the root of trust (`retorno users add`).
    create_user(session, None, username="intt.nueva", full_name="Nueva Jefa", agency_code="VE-INTT",
                role="supervisor", password="una clave bastante larga")
    session.commit()
    assert _user(session, "intt.nueva").role == "supervisor"  # type: ignore[union-attr]


def test_an_administrator_demotes_no_agencys_only_supervisor(client: TestClient, world: World,
                                                            session: Session) -> None:
    """Demoting an agency's only supervisor would leave it with none, where an administrator stands in: the
    supervisor demoted still counts."""
    api = Api(client, world)
    ok(api.post("admin", "/api/v1/agencies", {"code": "VE-INTT", "name": "INTT", "kind": "receiving_authority",
                                              "country": "VEN"}), 201)
    ok(api.post("admin", "/api/v1/users", _body("intt.jefa", "VE-INTT", "supervisor")), 201)
    login(client, "admin")
    page = client.get("/users/intt.jefa").text
    assert "/users/intt.jefa/role" not in page and "/users/intt.jefa/password-reset" in page
    _refused_page(_page(client, "/users/intt.jefa/role", {"role": "officer"}), "VE-INTT")
    assert _user(session, "intt.jefa").role == "supervisor"  # type: ignore[union-attr]
    _refused(api.post("admin", "/api/v1/users", _body("intt.propio", "VE-INTT", "supervisor")), "VE-INTT")


def test_an_agencys_own_supervisor_and_the_administrators_own_agency_are_unchanged(
        client: TestClient, world: World, session: Session) -> None:
    login(client, "inm.supervisor")
    assert _page(client, "/users", {"username": "inm.propio", "full_name": "Propio", "agency": "MX-INM",
                                    "role": "supervisor"}).status_code == 200
    assert _page(client, "/users/inm.officer/role", {"role": "viewer"}).status_code == 303
    assert _page(client, "/users/inm.officer/password-reset", {}).status_code == 200
    login(client, "admin")
    page = client.get("/users/admin.officer").text
    assert "/users/admin.officer/role" in page and "/users/admin.officer/password-reset" in page
    assert _page(client, "/users/admin.officer/role", {"role": "supervisor"}).status_code == 303
    assert _page(client, "/users/admin.viewer/password-reset", {}).status_code == 200
    assert _page(client, "/users", {"username": "admin.nuevo", "full_name": "Nuevo", "agency": "RET-ADMIN",
                                    "role": "supervisor"}).status_code == 200
    # A monitor's supervisors manage no users: a monitor's are the administrators'.
    assert _page(client, "/users", {"username": "monitor.nuevo", "full_name": "Nuevo", "agency": "MON-DDP",
                                    "role": "viewer"}).status_code == 200
    # Disabling stays open to administrators everywhere, as does reading the users.
    assert _page(client, "/users/inm.propio/disable", {"reason": "revisión de la cuenta"}).status_code == 303
    assert "inm.officer" in client.get("/users?agency=MX-INM").text


def test_the_operators_console_is_not_restricted(session: Session, world: World) -> None:
    create_user(session, None, username="inm.consola", full_name="Consola", agency_code="MX-INM", role="supervisor",
                password="una clave bastante larga")
    assert not change_password(session, None, "inm.supervisor", "la clave de consola").must_change_password
    disable_user(session, None, "inm.consola", reason="prueba de la consola")
    session.flush()
    assert _user(session, "inm.consola") is not None
