"""Red team round 56, L1 (low): a JSON body giving one key twice (`{"concerns": [], "concerns": ["..."]}`) was
accepted, the last copy kept: a proxy, a log reader or a client library keeping the first would read another request
than the one recorded. Such a body is refused, 422 `duplicate_key` naming the key, nothing written; at any depth, at
every JSON door."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.screening.models import Screening
from retorno.web.security import duplicate_key
from tests.factories import Api, World, ok


def _screenings(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(Screening)).scalar_one())


def test_a_body_giving_a_key_twice_is_refused_and_writes_nothing(client: TestClient, world: World,
                                                                  session: Session) -> None:
    api = Api(client, world)
    case = api.register()["reference"]
    before = _screenings(session)
    headers = {**world.headers("inm.officer"), "Content-Type": "application/json"}
    for body in ('{"concerns": [], "concerns": ["pending_asylum_claim"]}',
                 '{"concerns": ["pending_asylum_claim"], "medical_escorts": 0, "medical_escorts": 1}'):
        refused = client.post(f"/api/v1/cases/{case}/screenings", content=body, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "duplicate_key", refused.text
        assert "concerns" in refused.text or "medical_escorts" in refused.text
    spanish = client.post(f"/api/v1/cases/{case}/screenings", content='{"concerns": [], "concerns": []}',
                          headers={**headers, "Accept-Language": "es"})
    assert "más de una vez" in spanish.json()["error"]["localized"]["message"], spanish.text
    assert _screenings(session) == before
    # The same body with each key once is taken.
    ok(client.post(f"/api/v1/cases/{case}/screenings", content='{"concerns": ["pending_asylum_claim"]}',
                   headers=headers), 201)


def test_keys_are_read_at_every_depth_and_bodies_not_json_are_left_to_the_parser() -> None:
    assert duplicate_key(b'{"a": {"b": 1, "b": 2}}') == "b"
    assert duplicate_key(b'[{"x": 1}, {"x": 2}]') is None  # two objects, each with its key once
    assert duplicate_key(b'{"a": 1, "b": 2}') is None
    assert duplicate_key(b"not json") is None
    assert duplicate_key(b"") is None
