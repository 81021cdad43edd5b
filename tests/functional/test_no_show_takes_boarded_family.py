"""Red team round 4, L1 (medium/low): at the door, a no-show recorded for one adult took the already boarded other
adult and four children off the locked manifest, with no reason asked and no word of who went with them; the
carrier's list, CSV and PAXLST then no longer matched who was in the seats. Families travel together (SPEC.md 4.3),
so they still leave, but a no-show (or a refusal) that takes off household members already boarded now asks a
written reason, and its refusal names them; the answer of every door (API, the flight's page, `retorno flights
board`) names every member taken off with the person and those who must leave the aircraft, and the audit trail
records each of them as deboarded."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import Result

from retorno.audit.models import AuditRecord
from retorno.db import clock_at
from tests.factories import Api, World, ok
from tests.functional.test_cli_refusals_told import cli  # noqa: F401 (the fixture)
from tests.web.pages_helpers import login, post_form

WHY = "No se presentó en la puerta de embarque a la hora."


class Family:
    """Two adults and two children of one household, and a traveller of their own, on a locked manifest whose
    door is open: the second adult and the children have boarded, the first adult has not."""

    def __init__(self, api: Api, household: str) -> None:
        self.api = api
        self.first = api.ready_case(household_reference=household, relationship_to_head="head",
                                    given_names="Primera Adulta")["reference"]
        self.second = api.ready_case(household_reference=household, relationship_to_head="spouse",
                                     given_names="Segundo Adulto")["reference"]
        self.children = [api.ready_case(household_reference=household, relationship_to_head="child",
                                        given_names=f"Niña {n}", birth_date=f"201{6 + n}-03-0{n + 1}")["reference"]
                         for n in range(2)]
        self.other = api.ready_case(given_names="Otra Viajera")["reference"]
        self.departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        self.flight = api.build_manifest([self.first, self.second, *self.children, self.other],
                                         departure=self.departure)
        self.at_door = self.departure - timedelta(minutes=30)
        with clock_at(self.at_door):
            for ref in [self.second, *self.children]:
                ok(api.post("carrier.officer", self.boarding(ref), {"status": "boarded"}))

    def boarding(self, ref: str) -> str:
        return f"/api/v1/flights/{self.flight}/passengers/{ref}/boarding"

    @property
    def aboard(self) -> list[str]:
        return sorted([self.second, *self.children])

    def passengers(self) -> dict[str, str]:
        listed = ok(self.api.get("inm.officer", f"/api/v1/flights/{self.flight}/passengers"))
        return {p["case"]: p["boarding"] for p in listed if p["approval"] == "approved"}


def _deboarded_on_audit(session: Session, refs: list[str]) -> None:
    session.expire_all()
    for ref in refs:
        records = session.execute(sa.select(AuditRecord).where(
            AuditRecord.object_id == ref, AuditRecord.action == "manifest.removed")).scalars().all()
        assert [r.after and r.after.get("must_deboard") for r in records] == [True], (ref, records)
        assert "must leave the aircraft" in (records[0].reason or ""), records[0].reason


def _refused_naming_them(response: Any, family: Family, spanish: bool = False) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    text = json.dumps(error, ensure_ascii=False)
    assert error["code"] == "reason_required", error
    assert all(ref in text for ref in family.aboard), text
    assert ("deben bajar del avión" if spanish else "must leave the aircraft") in text, text


def test_the_api_asks_why_and_names_who_leaves_the_aircraft(client: TestClient, world: World,
                                                            session: Session) -> None:
    api = Api(client, world)
    family = Family(api, "HOGAR-L1A")
    with clock_at(family.at_door):
        path = family.boarding(family.first)
        _refused_naming_them(api.post("carrier.officer", path, {"status": "no_show"}), family)
        _refused_naming_them(api.post("carrier.officer", path, {"status": "no_show", "reason": "x"}), family)
        spanish = api.client.post(path, json={"status": "no_show"},
                                  headers={**world.headers("carrier.officer"), "Accept-Language": "es"})
        _refused_naming_them(spanish, family, spanish=True)
        # A refusal asks its reason as before, and is told who else leaves too.
        _refused_naming_them(api.post("carrier.officer", path, {"status": "refused"}), family)
        # Nobody has left the aircraft or the manifest.
        assert family.passengers() == {family.first: "pending", family.second: "boarded", family.other: "pending",
                                       **{c: "boarded" for c in family.children}}
        answer = ok(api.post("carrier.officer", path, {"status": "no_show", "reason": WHY}))
    assert sorted(answer["taken_off_with"]) == family.aboard and sorted(answer["must_deboard"]) == family.aboard
    assert family.passengers() == {family.other: "pending"}
    _deboarded_on_audit(session, family.aboard)


def test_a_no_show_with_nobody_aboard_names_who_goes_with_them(client: TestClient, world: World) -> None:
    api = Api(client, world)
    first = api.ready_case(household_reference="HOGAR-L1B", relationship_to_head="head")["reference"]
    second = api.ready_case(household_reference="HOGAR-L1B", relationship_to_head="spouse",
                            given_names="Esposo")["reference"]
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    flight = api.build_manifest([first, second], departure=departure)
    with clock_at(departure - timedelta(minutes=30)):
        answer = ok(api.post("carrier.officer", f"/api/v1/flights/{flight}/passengers/{first}/boarding",
                             {"status": "no_show"}))
    assert answer["taken_off_with"] == [second] and answer["must_deboard"] == []


def test_the_page_asks_why_and_its_flash_names_them(client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    family = Family(api, "HOGAR-L1C")
    login(client, "carrier.officer")
    path = f"/flights/{family.flight}/boarding/{family.first}"
    with clock_at(family.at_door):
        page = post_form(client, path, {"status": "no_show"}, page=f"/flights/{family.flight}")
        assert page.status_code == 422 and "deben bajar del avión" in page.text, page.status_code
        assert all(ref in page.text for ref in family.aboard)
        assert family.passengers()[family.second] == "boarded"
        done = post_form(client, path, {"status": "no_show", "reason": WHY}, page=f"/flights/{family.flight}")
        assert done.status_code == 303, done.text
        flash = client.get(f"/flights/{family.flight}").text
    assert "Ya embarcados, deben bajar del avión" in flash and all(ref in flash for ref in family.aboard), flash
    assert family.passengers() == {family.other: "pending"}
    _deboarded_on_audit(session, family.aboard)


def test_the_command_line_asks_why_and_names_them(client: TestClient, world: World, session: Session,
                                                  cli: Callable[..., Result]) -> None:  # noqa: F811
    api = Api(client, world)
    family = Family(api, "HOGAR-L1D")
    with clock_at(family.at_door):
        refused = cli("flights", "board", family.flight, family.first, "--status", "no_show",
                      "--as", "carrier.officer")
        assert refused.exit_code != 0 and "must leave the aircraft" in refused.output, refused.output
        assert all(ref in refused.output for ref in family.aboard), refused.output
        result = cli("flights", "board", family.flight, family.first, "--status", "no_show", "--reason", WHY,
                     "--as", "carrier.officer")
    assert result.exit_code == 0, result.output
    assert "they must leave the aircraft" in result.output and all(ref in result.output for ref in family.aboard)
    assert family.passengers() == {family.other: "pending"}
    _deboarded_on_audit(session, family.aboard)
