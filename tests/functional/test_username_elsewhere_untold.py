"""An agency's supervisor adding a user is not told which usernames other agencies have (red team round 11, RE8812
L4): "ya está en uso" answered for another agency's official, while their user and token pages answer 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.pages_helpers import alert, login, post_form

UNAVAILABLE = "el nombre de usuario &#39;%s&#39; no se puede usar; elija otro"


def _add(client: TestClient, username: str) -> object:
    return post_form(client, "/users", {"username": username, "full_name": "Prueba Enumeracion", "role": "viewer",
                                        "agency": "VE-VUELTA"})


def test_another_agencys_username_is_refused_without_saying_whose(client: TestClient) -> None:
    assert login(client, "op.supervisor").status_code == 303
    for taken in ("op2.officer", "admin", "saime.officer"):
        refused = _add(client, taken)
        assert refused.status_code == 422, refused.text
        said = alert(refused.text)
        assert UNAVAILABLE % taken in said and "en uso" not in said, said
    # One of the agency's own users is named so: the supervisor reads them anyway.
    own = _add(client, "op.viewer")
    assert own.status_code == 422 and "ya es el de un usuario de su agencia" in alert(own.text)
    assert _add(client, "nobody.here.rt12").status_code == 200
