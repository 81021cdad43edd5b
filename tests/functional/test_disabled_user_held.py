"""A user an administrator disabled keeps their password and role until an administrator enables them (red team round
11, RE8812 L2): an agency supervisor's reset of such a user left them enabled by nobody but the console."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import World
from tests.web.pages_helpers import alert, login, post_form

HELD = "lo desactivó un administrador: su contraseña y su función quedan como están"


def _as(client: TestClient, username: str) -> None:
    client.cookies.clear()
    assert login(client, username).status_code == 303


def test_a_supervisor_changes_nothing_of_a_user_an_administrator_disabled(client: TestClient, world: World) -> None:
    disabled = client.post("/api/v1/users/saime.officer/disable", json={"reason": "prueba admin desactiva"},
                           headers=world.headers("admin"))
    assert disabled.status_code == 200, disabled.text
    _as(client, "saime.supervisor")
    page = client.get("/users/saime.officer")
    assert page.status_code == 200 and "/password-reset" not in page.text and "/role" not in page.text
    for path, data in (("/users/saime.officer/password-reset", {}), ("/users/saime.officer/role",
                                                                     {"role": "supervisor"})):
        refused = post_form(client, path, data)
        assert refused.status_code == 403 and HELD in alert(refused.text), (path, refused.text)
    # The way out the refusal names: an administrator enables them (their password is their own), then the
    # agency's supervisor resets it.
    _as(client, "admin")
    assert post_form(client, "/users/saime.officer/enable", {"reason": "vuelve a su puesto de trabajo"}
                     ).status_code == 303
    _as(client, "saime.supervisor")
    assert post_form(client, "/users/saime.officer/password-reset", {}).status_code == 200


def test_a_user_their_own_supervisor_disabled_is_still_reset_then_enabled(client: TestClient) -> None:
    _as(client, "saime.supervisor")
    assert post_form(client, "/users/saime.officer/disable", {"reason": "dejó la institución hoy"}
                     ).status_code == 303
    assert post_form(client, "/users/saime.officer/password-reset", {}).status_code == 200
    assert post_form(client, "/users/saime.officer/role", {"role": "viewer"}).status_code == 303
    assert post_form(client, "/users/saime.officer/enable", {"reason": "volvió a la institución"}
                     ).status_code == 303


CONSOLE = "así que lo activa la consola del operador (retorno users enable)"


def test_a_new_user_an_administrator_disabled_is_told_the_console_enables_them(client: TestClient) -> None:
    """Red team round 14, RT-H F1 (low): a user whose password was still the temporary one their agency handed over,
    disabled by an administrator: the agency was told an administrator enables them, and the administrator was
    refused by the rule of the agencies it stands in for. No administrator enables them while the password is a
    temporary one (the agency knows it); both now hear that, and that the operator's console does."""
    _as(client, "saime.supervisor")
    made = post_form(client, "/users", {"username": "saime.nuevo", "full_name": "Oficial Recién Llegado",
                                        "role": "officer"})
    assert made.status_code in (200, 303), made.text
    _as(client, "admin")
    assert post_form(client, "/users/saime.nuevo/disable", {"reason": "cuenta creada sin la autorización"}
                     ).status_code == 303
    refused = post_form(client, "/users/saime.nuevo/enable", {"reason": "autorización recibida por escrito"})
    assert refused.status_code == 403 and CONSOLE in alert(refused.text), refused.text
    _as(client, "saime.supervisor")
    for path, data in (("/users/saime.nuevo/enable", {"reason": "autorización recibida por escrito"}),
                       ("/users/saime.nuevo/password-reset", {}), ("/users/saime.nuevo/role", {"role": "viewer"})):
        refused = post_form(client, path, data)
        assert refused.status_code == 403 and CONSOLE in alert(refused.text), (path, refused.text)
