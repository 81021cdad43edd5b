"""A page refuses in its reader's language whatever refused: a list's filter or sort, a value in the address
that is not of its kind (which FastAPI refuses before the page runs), not only a form post."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.browser.test_messages import english_words
from tests.factories import Api, World
from tests.web.pages_helpers import alert, login


def _refused_in_spanish(client: TestClient, path: str, params: dict[str, str]) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 422, (path, params)
    assert response.headers["content-type"].startswith("text/html"), response.text
    said = alert(response.text)
    # The values an address takes (sort=birth_date, concern='open') are named as they are typed.
    assert said and english_words(re.sub(r"\w+_\w+|&#39;\w+&#39;", " ", said)) == set(), (params, said)
    return said


def test_a_refused_filter_or_sort_of_a_list_is_said_in_spanish(client: TestClient, world: World) -> None:
    api = Api(client, world)
    flight = api.flight()["reference"]
    login(client, "inm.officer")
    assert "xyz" in _refused_in_spanish(client, "/cases", {"state": "xyz"})
    assert "el orden es uno de" in _refused_in_spanish(client, "/cases", {"sort": "password_hash"})
    assert "abc" in _refused_in_spanish(client, "/cases", {"days_min": "abc"})
    _refused_in_spanish(client, "/cases", {"days_max": "99999"})
    _refused_in_spanish(client, "/cases", {"concern": "maybe"})
    assert "abc" in _refused_in_spanish(client, f"/flights/{flight}/add", {"days_min": "abc"})
    login(client, "saime.officer")
    _refused_in_spanish(client, "/cases", {"held": "Tapachula"})
    # In English the same refusals read in English.
    client.cookies.set("retorno_lang", "en")
    english = client.get("/cases", params={"held": "Tapachula"})
    assert "not available to your agency" in alert(english.text)


def test_a_value_of_the_wrong_kind_in_a_page_address_is_a_page_in_the_readers_language(
        client: TestClient, world: World) -> None:
    login(client, "inm.officer")
    said = _refused_in_spanish(client, "/cases", {"page": "abc"})
    assert "page" in said and "entero" in said
    _refused_in_spanish(client, "/cases", {"page": "99999999999"})
    # The API answers JSON as before.
    api = client.get("/api/v1/cases", params={"limit": "abc"}, headers=world.headers("inm.officer"))
    assert api.status_code == 422 and api.json()["error"]["code"] == "invalid_request"
