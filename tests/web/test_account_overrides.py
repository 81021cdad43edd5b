"""An agency's supervisor does not undo what an administrator decided about one of its users.

An administrator disables an account (a password seen in the wrong hands, a person under investigation);
the agency's own supervisor could enable it again the next minute. They may still enable a user one of
their own disabled, and an administrator may enable either. The operator's console counts as an administrator.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.logins import disable_user
from tests.factories import World
from tests.web.pages_helpers import alert, login, post_form


def _post(client: TestClient, path: str, data: dict[str, str]) -> object:
    return post_form(client, path, data, page="/users")


def test_an_agency_supervisor_cannot_enable_a_user_an_administrator_disabled(client: TestClient,
                                                                              world: World) -> None:
    login(client, "admin")
    assert _post(client, "/users/inm.officer/disable", {"reason": "contraseña expuesta"}).status_code == 303
    login(client, "inm.supervisor")
    refused = _post(client, "/users/inm.officer/enable", {})
    assert refused.status_code == 403, refused.text[:300]
    assert "administrador" in alert(refused.text)
    # Red team: the user's page offered the button that always answers 403; it says why instead.
    page = client.get("/users/inm.officer").text
    assert "/users/inm.officer/enable" not in page and "solo un administrador lo vuelve a activar" in page
    # What the agency's supervisor disabled, they enable again.
    assert _post(client, "/users/inm.viewer/disable", {"reason": "Licencia médica prolongada."}).status_code == 303
    assert _post(client, "/users/inm.viewer/enable", {}).status_code == 303
    login(client, "admin")
    assert _post(client, "/users/inm.officer/enable", {}).status_code == 303


def test_nor_one_the_operators_console_disabled(client: TestClient, world: World, session: Session) -> None:
    disable_user(session, None, "inm.officer", reason="retorno users disable")
    session.commit()
    login(client, "inm.supervisor")
    assert _post(client, "/users/inm.officer/enable", {}).status_code == 403
