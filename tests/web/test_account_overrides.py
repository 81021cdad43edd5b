"""An agency's supervisor does not undo what an administrator decided about one of its users.

An administrator disables an account (a password seen in the wrong hands, a person under investigation);
the agency's own supervisor could enable it again the next minute. They may still enable a user one of
their own disabled, and an administrator may enable either. The operator's console counts as an administrator.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies import accounts
from retorno.agencies.logins import disable_user
from retorno.agencies.models import User
from retorno.audit.models import AuditRecord
from retorno.errors import InvalidInput
from tests.factories import World
from tests.web.pages_helpers import alert, login, post_form

BACK = {"reason": "Volvió de la licencia, lo pidió su agencia."}


def _post(client: TestClient, path: str, data: dict[str, str]) -> object:
    return post_form(client, path, data, page="/users")


def test_an_agency_supervisor_cannot_enable_a_user_an_administrator_disabled(client: TestClient,
                                                                              world: World) -> None:
    login(client, "admin")
    assert _post(client, "/users/inm.officer/disable", {"reason": "contraseña expuesta"}).status_code == 303
    login(client, "inm.supervisor")
    refused = _post(client, "/users/inm.officer/enable", BACK)
    assert refused.status_code == 403, refused.text[:300]
    assert "administrador" in alert(refused.text)
    # Red team: the user's page offered the button that always answers 403; it says why instead.
    page = client.get("/users/inm.officer").text
    assert "/users/inm.officer/enable" not in page and "solo un administrador lo vuelve a activar" in page
    # What the agency's supervisor disabled, they enable again.
    assert _post(client, "/users/inm.viewer/disable", {"reason": "Licencia médica prolongada."}).status_code == 303
    assert _post(client, "/users/inm.viewer/enable", BACK).status_code == 303
    login(client, "admin")
    assert _post(client, "/users/inm.officer/enable", BACK).status_code == 303


def test_nor_one_the_operators_console_disabled(client: TestClient, world: World, session: Session) -> None:
    disable_user(session, None, "inm.officer", reason="retorno users disable")
    session.commit()
    login(client, "inm.supervisor")
    assert _post(client, "/users/inm.officer/enable", BACK).status_code == 403


def test_enabling_a_user_asks_for_a_written_reason_at_every_door(client: TestClient, world: World,
                                                                   session: Session) -> None:
    """Red team round 5, B-F3: the console's `retorno users enable` refused without --reason, while the pages
    (an administrator's, an agency supervisor's) enabled with none. The service step every door shares
    (`logins.restore_access`) now asks for it."""
    login(client, "inm.supervisor")
    assert _post(client, "/users/inm.viewer/disable", {"reason": "Licencia médica prolongada."}).status_code == 303
    for unsaid in ({}, {"reason": "  "}, {"reason": "x"}):
        refused = _post(client, "/users/inm.viewer/enable", unsaid)
        assert refused.status_code == 422, refused.text[:300]
        assert "motivo" in alert(refused.text).lower()
    assert 'id="enable-reason" name="reason"' in client.get("/users/inm.viewer").text
    enabled = _post(client, "/users/inm.viewer/enable", {"reason": "Volvió de la licencia médica."})
    assert enabled.status_code == 303
    (record,) = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "user.enable",
                                                             AuditRecord.object_id == "inm.viewer")).scalars()
    assert record.reason == "Volvió de la licencia médica." and record.actor == "inm.supervisor"
    # The administrator's page, and the service step itself, whatever door calls it.
    disable_user(session, None, "inm.officer", reason="retorno users disable")
    session.commit()
    login(client, "admin")
    assert _post(client, "/users/inm.officer/enable", {}).status_code == 422
    with pytest.raises(InvalidInput) as unsaid_error:
        accounts.enable(session, world.bind(session).users["admin"], "inm.officer", reason="")
    assert unsaid_error.value.code == "reason_required"
    assert session.execute(sa.select(User.active).where(User.username == "inm.officer")).scalar_one() is False
