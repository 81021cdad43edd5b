"""Red team: the API registered a birth date of 1800-01-01, a language 'xx' and a relationship to a household's
head with no household. Every door applies the import's rules for dates and languages; a relationship with no
household stays allowed (a held case may be made a household by an import row naming it, as it is today)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, case_payload, ok
from tests.functional.test_guarantees import refused


def test_what_the_import_refuses_the_api_refuses(client: TestClient, world: World) -> None:
    api = Api(client, world)
    for change, said in (({"birth_date": "1800-01-01"}, "before 1900"),
                         ({"language": "xx"}, "ISO 639")):
        error = refused(api.post("inm.officer", "/api/v1/cases", {**case_payload(), **change}), 422, "invalid_case")
        assert said in str(error), (change, error)
    assert ok(api.get("inm.officer", "/api/v1/cases"))["total"] == 0
    case = api.register(language="quc")
    error = refused(api.patch("inm.officer", f"/api/v1/cases/{case['reference']}", {"birth_date": "1899-12-31"}),
                    422, "invalid_case")
    assert "before 1900" in str(error)
