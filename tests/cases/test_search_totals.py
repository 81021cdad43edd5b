"""A name search's total and pages (`reporting.caselist.list_cases`, which answers `GET /api/v1/cases`): the page
is read first and the count asked only when the page does not tell it, with the same answers as counting first."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from retorno.reporting import caselist
from tests.factories import Api, World, ok


def test_a_name_search_tells_the_same_total_on_every_page(client: TestClient, world: World,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(client, world)
    # (A name holds no digits: five second given names.)
    made = [api.register(given_names=f"Zuleidy {second}", first_surname="Quintero")["reference"]
            for second in ("Ana", "Bea", "Carla", "Dora", "Eva")]
    api.register(given_names="Zuleidy", first_surname="Otra")

    def search(**params: object) -> dict[str, object]:
        query = "&".join(f"{name}={value}" for name, value in {"q": "zuleidy quintero", **params}.items())
        return dict(ok(api.get("inm.officer", f"/api/v1/cases?{query}")))

    def references(answer: dict[str, object]) -> list[str]:
        return [item["reference"] for item in answer["items"]]  # type: ignore[attr-defined]

    newest_first = list(reversed(made))
    assert (search()["total"], references(search())) == (5, newest_first)
    for offset, limit in ((0, 2), (2, 2), (4, 2), (5, 2), (9, 2), (0, 5), (3, 5)):
        answer = search(limit=limit, offset=offset)
        assert answer["total"] == 5, (offset, limit, answer)
        assert references(answer) == newest_first[offset:offset + limit], (offset, limit)
    assert search(q="nadie")["total"] == 0
    # Past the cap the total says "more": the page's own count is capped as the count's is.
    monkeypatch.setattr(caselist, "COUNT_CAP", 3)
    assert search(limit=2, offset=4)["total"] == 4
    assert search(limit=10)["total"] == 4
