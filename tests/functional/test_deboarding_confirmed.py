"""Red team round 17, O-F5 and P-F2 (medium): a person who had boarded was taken off the manifest (another country's
trafficking concern on a record linked to hers; an asylum claim at the door), the sending side and the carrier were
told `must_deboard`, and the flight departed 0.1 s later: nothing recorded that she left the aircraft, the alert then
vanished, and the carrier's alert and lists gave no name or seat to find her by.

Now a boarded person taken off is 'leaving' until the sending side or the carrier records them off the aircraft
(`POST /flights/REF/deboardings`, the flight's page, `retorno flights deboard`; audited), the flight does not depart
before (409 `deboarding_unconfirmed` naming them), both sides' flight pages and `GET /flights/REF/deboardings` list
them with their seat, the `must_deboard` alert stays until then (the carrier's names the seat, never why), PAXLST
still lists only who travels, and `retorno demo check` flags a flight that departed with someone never recorded
off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import Result

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.db import clock_at
from retorno.demo.check import check_demo
from retorno.flights.models import Flight, Passenger
from tests.factories import Api, World, ok
from tests.functional.test_cli_refusals_told import cli  # noqa: F401 (the fixture)
from tests.web.pages_helpers import alert, login, post_form


class Aboard:
    """Three travellers on a locked manifest whose door is open, all boarded; the first is María Isabel, cédula
    V2797441."""

    def __init__(self, api: Api, tag: str) -> None:
        self.api = api
        self.pulled = api.ready_case(given_names="María Isabel", national_id="V2797441",
                                     agency_reference=f"PULL-{tag}")["reference"]
        self.others = [api.ready_case(given_names=f"Viajera {n}")["reference"] for n in range(2)]
        self.departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        self.flight = api.build_manifest([self.pulled, *self.others], departure=self.departure)
        self.at_door = self.departure - timedelta(minutes=30)
        with clock_at(self.at_door):
            ok(api.post("carrier.officer", f"/api/v1/flights/{self.flight}/boardings",
                        {"cases": [self.pulled, *self.others]}))
            self.seat = next(p["seat"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{self.flight}/passengers"))
                             if p["case"] == self.pulled)

    def pull(self) -> None:
        """Another country registers the same person and raises a trafficking concern: she leaves the manifest."""
        with clock_at(self.at_door):
            american = self.api.register("ice.officer", national_id="V-2.797.441", given_names="María Isabel",
                                         agency_reference=f"ICE-{self.pulled}")
            self.api.screen(american["reference"], ["trafficking_victim"], user="ice.officer")

    def depart(self, user: str = "inm.officer") -> object:
        with clock_at(self.at_door + timedelta(minutes=5)):
            return self.api.post(user, f"/api/v1/flights/{self.flight}/depart", {})

    def deboard(self, user: str, *refs: str) -> object:
        with clock_at(self.at_door + timedelta(minutes=2)):
            return self.api.post(user, f"/api/v1/flights/{self.flight}/deboardings", {"cases": list(refs)})


def _alerts(api: Api, user: str) -> list[dict[str, str]]:
    kinds = {k["kind"]: k for k in ok(api.get(user, "/api/v1/inbox?limit=50"))["kinds"]}
    return [i for i in kinds.get("alerts", {"items": []})["items"] if i["note"] == "must_deboard"]


def test_the_flight_departs_only_once_the_person_pulled_after_boarding_is_recorded_off(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    aboard = Aboard(api, "A")
    aboard.pull()
    listed = ok(api.get("inm.officer", f"/api/v1/flights/{aboard.flight}/passengers"))
    assert aboard.pulled not in {p["case"] for p in listed}
    refused = aboard.depart()
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "deboarding_unconfirmed" and aboard.pulled in error["message"], error
    assert ok(api.get("inm.officer", f"/api/v1/flights/{aboard.flight}"))["state"] == "manifest_locked"
    # Both sides at the door read who must leave and the seat; the carrier's list and PAXLST keep only who travels.
    for user in ("carrier.officer", "inm.officer"):
        leaving = ok(api.get(user, f"/api/v1/flights/{aboard.flight}/deboardings"))
        assert leaving == [{"case": aboard.pulled, "surnames": leaving[0]["surnames"], "given_names": "María Isabel",
                            "seat": aboard.seat}], leaving
    refused = api.get("saime.officer", f"/api/v1/flights/{aboard.flight}/deboardings")
    assert refused.status_code == 403, refused.text
    # Said as who may, never as if the receiving authority were no party of its own flight (red team round 73, F5).
    told = refused.json()["error"]["message"]
    assert "only these parties of the flight may do this: sending, carrier" in told and "takes part" not in told, told
    carrier_list = ok(api.get("carrier.officer", f"/api/v1/flights/{aboard.flight}/passengers"))
    assert aboard.pulled not in {p["case_reference"] for p in carrier_list}
    assert aboard.pulled not in api.get("carrier.officer", f"/api/v1/flights/{aboard.flight}/paxlst").text
    # The alert stays, the carrier's naming the seat, never why nor the name.
    told = _alerts(api, "carrier.officer")
    assert [(i["reference"], i["title"]) for i in told] == [(aboard.pulled, f"{aboard.flight} · {aboard.seat}")]
    assert "María" not in str(told) and _alerts(api, "inm.officer")
    # The carrier records her off the aircraft: audited, the alert closed, the flight departs.
    done = ok(aboard.deboard("carrier.officer", aboard.pulled))
    assert done["deboarded"] == [aboard.pulled]
    assert ok(api.get("carrier.officer", f"/api/v1/flights/{aboard.flight}/deboardings")) == []
    assert _alerts(api, "carrier.officer") == [] and _alerts(api, "inm.officer") == []
    records = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "boarding.deboarded",
                                                           AuditRecord.object_id == aboard.pulled)).scalars().all()
    assert [(r.actor, (r.after or {}).get("flight")) for r in records] == [("carrier.officer", aboard.flight)]
    assert ok(aboard.depart())["state"] == "departed"
    assert not check_demo(session).problems("deboardings_confirmed")


def test_who_may_record_someone_off_the_aircraft(client: TestClient, world: World) -> None:
    api = Api(client, world)
    aboard = Aboard(api, "B")
    aboard.pull()
    # The receiving side records nothing at the door, and no viewer does.
    for user in ("saime.officer", "saime.supervisor", "inm.viewer", "carrier.viewer"):
        refused = aboard.deboard(user, aboard.pulled)
        assert refused.status_code == 403, (user, refused.text)
    # Only someone leaving the aircraft: a passenger still travelling, twice, or nobody aboard is refused.
    still = aboard.deboard("carrier.officer", aboard.others[0])
    assert still.status_code == 409 and still.json()["error"]["code"] == "not_leaving_aircraft", still.text
    assert aboard.deboard("carrier.officer", "MX-2099-999999").status_code == 404
    both = aboard.deboard("carrier.officer", aboard.pulled, aboard.others[0])
    assert both.status_code == 409, both.text
    assert [p["case"] for p in ok(api.get("inm.officer", f"/api/v1/flights/{aboard.flight}/deboardings"))] \
        == [aboard.pulled]
    # The sending side may record it as the carrier may.
    ok(aboard.deboard("inm.officer", aboard.pulled))
    again = aboard.deboard("carrier.officer", aboard.pulled)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_leaving_aircraft", again.text
    assert ok(aboard.depart("carrier.officer"))["state"] == "departed"


def test_someone_boarded_again_on_the_same_flight_holds_nothing(client: TestClient, world: World,
                                                                session: Session) -> None:
    """No door puts a person back on a locked manifest, but a row of theirs boarded again on the flight (an active
    passenger, every rule checked at that boarding) settles the earlier 'leaving' one: they are in their seat as a
    passenger, told to nobody as to leave, and the flight departs."""
    api = Api(client, world)
    aboard = Aboard(api, "C")
    with clock_at(aboard.at_door):
        # Taken off by both sides' supervisors (a locked removal), nothing holding her back afterwards.
        for user in ("inm.supervisor", "saime.supervisor"):
            ok(api.post(user, f"/api/v1/flights/{aboard.flight}/locked-changes",
                        {"case": aboard.pulled, "reason": "Retirada por acuerdo de ambos lados."}), 201)
        ok(api.post("inm.officer", f"/api/v1/flights/{aboard.flight}/passengers/{aboard.pulled}/remove",
                    {"reason": "Retirada por acuerdo de ambos lados."}))
    assert [p["case"] for p in ok(api.get("carrier.officer", f"/api/v1/flights/{aboard.flight}/deboardings"))] \
        == [aboard.pulled]
    assert aboard.depart().status_code == 409
    flight = session.execute(sa.select(Flight).where(Flight.reference == aboard.flight)).scalar_one()
    case = session.execute(sa.select(Case).where(Case.reference == aboard.pulled)).scalar_one()
    earlier = session.execute(sa.select(Passenger).where(Passenger.flight_id == flight.id,
                                                         Passenger.case_id == case.id)).scalar_one()
    assert earlier.boarding == "leaving"
    session.add(Passenger(flight_id=flight.id, case_id=case.id, approval="approved", boarding="boarded",
                          seat=earlier.seat, approved_fingerprint=earlier.approved_fingerprint,
                          counted_medical_escorts=earlier.counted_medical_escorts))
    case.state = "boarded"
    session.commit()
    assert ok(api.get("carrier.officer", f"/api/v1/flights/{aboard.flight}/deboardings")) == []
    assert _alerts(api, "carrier.officer") == []
    refused = aboard.deboard("carrier.officer", aboard.pulled)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_leaving_aircraft", refused.text
    assert ok(aboard.depart())["state"] == "departed"


def test_the_flight_page_lists_them_with_a_button(client: TestClient, world: World) -> None:
    api = Api(client, world)
    aboard = Aboard(api, "D")
    aboard.pull()
    page = f"/flights/{aboard.flight}"
    login(client, "saime.officer")
    assert "Deben bajar del avión" not in client.get(page).text
    for user in ("inm.officer", "carrier.officer"):
        login(client, user)
        html = client.get(page).text
        assert "Deben bajar del avión" in html and "María Isabel" in html and aboard.seat in html, user
        assert f'action="/flights/{aboard.flight}/deboardings"' in html and "Confirmar que bajó del avión" in html
    client.cookies.set("retorno_lang", "en")
    english = client.get(page).text
    client.cookies.set("retorno_lang", "es")
    assert "Must leave the aircraft" in english and "Confirm they left the aircraft" in english
    posted = post_form(client, f"/flights/{aboard.flight}/deboardings", {"cases": aboard.pulled}, page=page)
    assert posted.status_code == 303, posted.text
    html = client.get(page).text
    assert "Registrado que bajaron del avión" in html and "Confirmar que bajó del avión" not in html, alert(html)
    assert ok(aboard.depart("carrier.officer"))["state"] == "departed"


def test_the_command_line_records_them_off(client: TestClient, world: World,
                                           cli: Callable[..., Result]) -> None:  # noqa: F811
    api = Api(client, world)
    aboard = Aboard(api, "E")
    aboard.pull()
    with clock_at(aboard.at_door + timedelta(minutes=1)):
        refused = cli("flights", "depart", aboard.flight, "--as", "inm.officer")
        assert refused.exit_code != 0 and aboard.pulled in refused.output, refused.output
        shown = cli("flights", "show", aboard.flight, "--as", "carrier.officer")
        assert "must leave the aircraft" in shown.output and aboard.pulled in shown.output, shown.output
        result = cli("flights", "deboard", aboard.flight, aboard.pulled, "--as", "carrier.officer")
    assert result.exit_code == 0 and aboard.pulled in result.output, result.output
    assert ok(aboard.depart())["state"] == "departed"


def test_demo_check_flags_a_flight_departed_with_someone_never_recorded_off(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    aboard = Aboard(api, "F")
    aboard.pull()
    ok(aboard.deboard("inm.officer", aboard.pulled))
    ok(aboard.depart())
    assert not check_demo(session).problems("deboardings_confirmed")
    # Data written before the rule: 'deboarded' at the pull itself, nobody recorded her off, and the flight left.
    flight = session.execute(sa.select(Flight).where(Flight.reference == aboard.flight)).scalar_one()
    case = session.execute(sa.select(Case).where(Case.reference == aboard.others[0])).scalar_one()
    row = session.execute(sa.select(Passenger).where(Passenger.flight_id == flight.id,
                                                     Passenger.case_id == case.id)).scalar_one()
    row.boarding = "deboarded"
    session.flush()
    found = check_demo(session).problems("deboardings_confirmed")
    assert [f.subject for f in found] == [f"case {aboard.others[0]}"], found
    row.boarding = "leaving"
    session.flush()
    assert [f.subject for f in check_demo(session).problems("deboardings_confirmed")] == [f"case {aboard.others[0]}"]
    session.rollback()


def test_the_identity_of_someone_still_in_their_seat_does_not_change(client: TestClient, world: World) -> None:
    """Red team round 42, F1: taken off after boarding, she was 'leaving' (still in her seat) and her given names were
    changed by an import; the carrier's list of who must leave the aircraft then named someone her boarding pass did
    not. Until she is recorded off the aircraft her identity and the document she boarded with stay as they boarded,
    at the API's correction and at the import (each cell refused with every other bad row)."""
    api = Api(client, world)
    aboard = Aboard(api, "ID")
    aboard.pull()
    with clock_at(aboard.at_door + timedelta(minutes=1)):
        refused = api.patch("inm.officer", f"/api/v1/cases/{aboard.pulled}", {"given_names": "Cambiada"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "identity_locked", refused.text
        held = ok(api.get("inm.officer", f"/api/v1/cases/{aboard.pulled}"))
        header = "referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula," \
                 "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n"
        cells = [held["agency_reference"], "Cambiada", *(held[name] or "" for name in (
            "first_surname", "second_surname", "sex", "birth_date", "nationality", "national_id", "held_at",
            "nearest_airport", "detained_since"))]
        body = header + ",".join(f'"{cell}"' for cell in cells) + "\n"
        imported = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                               files={"file": ("lista.csv", body.encode(), "text/csv")})
        assert imported.status_code == 422, imported.text
        assert [(p["row"], p["column"]) for p in imported.json()["error"]["details"]
                if p["severity"] == "error"] == [(2, "nombres")], imported.text
    assert ok(api.get("inm.officer", f"/api/v1/cases/{aboard.pulled}"))["given_names"] == "María Isabel"
    # Recorded off the aircraft, the identity is the sending side's to correct again.
    ok(aboard.deboard("inm.officer", aboard.pulled))
    with clock_at(aboard.at_door + timedelta(minutes=3)):
        ok(api.patch("inm.officer", f"/api/v1/cases/{aboard.pulled}", {"given_names": "María Isabela"}))
