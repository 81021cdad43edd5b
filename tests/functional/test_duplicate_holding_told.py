"""What a possible duplicate's flag tells of whether it holds is decided only from records the reader may see (red
team round 9, H1 high; SPEC.md 4.6).

An officer of one country who knew only the name and birth date of a person held in another registered that person
twice (the second time with a letter of the surname changed). Of the flag between their own two records, `holding`
said true when the other country's record had a protection concern open, false when it had none: `holding` of a pair
of visible records was decided from `protection_status` of both, which counts every record of the person, flags
included, in every agency. So person by person an officer learned whether the other country held an open asylum or
protection concern, through the API, the case page ("sin decidir: retiene el caso") and after an import. The hold
itself is unchanged (the refusal at a travel step says that another agency holds a concern open); only what the
flag tells is.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
ELSEWHERE = "one another agency holds open for the same person"
# The person Mexico holds, and two records an ICE officer makes of them: the surnames swapped, and one letter off.
ROSA = {"national_id": None, "given_names": "Rosa Elena", "first_surname": "Peña", "second_surname": "Rodríguez",
        "birth_date": "1990-05-17"}
FIRST = {**ROSA, "first_surname": "Rodríguez", "second_surname": "Peña"}
SECOND = {**ROSA, "first_surname": "Rodrígues", "second_surname": "Peña"}


def _flags(api: Api, user: str, reference: str) -> list[dict[str, Any]]:
    return list(ok(api.get(user, f"/api/v1/cases/{reference}/possible-duplicates")))


def _mexicos_record(api: Api, concern: bool) -> str:
    reference = str(api.register("inm.officer", **ROSA)["reference"])
    api.screen(reference, ["pending_asylum_claim"] if concern else [], user="inm.officer")
    return reference


def _told(flags: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return sorted((str(d["other"]), d["holding"]) for d in flags)


@pytest.mark.parametrize("concern", [True, False])
def test_a_flag_between_two_own_records_tells_nothing_of_another_countrys_concern(
        client: TestClient, world: World, concern: bool) -> None:
    api = Api(client, world)
    rosa = _mexicos_record(api, concern)
    registered = [api.register("ice.officer", **FIRST), api.register("ice.officer", **SECOND)]
    first, second = (str(case["reference"]) for case in registered)
    shown = _flags(api, "ice.officer", first)
    # Mexico's record named to nobody, its concern told by nothing; the own pair: no concern ICE may read holds it.
    assert _told(shown) == sorted([("another agency", None), (second, False)]), shown
    assert _told(_flags(api, "ice.officer", second)) == sorted([("another agency", None), (first, False)])
    assert rosa not in str(shown)
    if concern:
        # The safeguard is as strong as before: the refusal at a travel step says another agency holds a concern.
        flight = api.flight(user="ice.officer")["reference"]
        for case in registered:
            reference = str(case["reference"])
            api.screen(reference, [], user="ice.officer")
            api.verify(reference, "ice.officer")
            assert api.passport(case, user="ice.officer")["case_state"] == "documented"
            refused = api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [reference]})
            assert refused.status_code == 409 and ELSEWHERE in refused.text, refused.text
            assert rosa not in refused.text


@pytest.mark.parametrize("concern", [True, False])
def test_the_case_page_tells_nothing_of_another_countrys_concern(client: TestClient, world: World,
                                                                 concern: bool) -> None:
    api = Api(client, world)
    rosa = _mexicos_record(api, concern)
    first = str(api.register("ice.officer", **FIRST)["reference"])
    api.register("ice.officer", **SECOND)
    login(client, "ice.officer")
    page = client.get(f"/cases/{first}")
    assert page.status_code == 200 and "otra agencia" in page.text and rosa not in page.text
    # Both flags read "undecided", never "holds the case".
    assert "retiene el caso" not in page.text
    assert page.text.count("sin decidir") >= 2


def test_a_concern_the_reader_may_read_still_holds_the_pair(client: TestClient, world: World) -> None:
    api = Api(client, world)
    _mexicos_record(api, True)
    first = str(api.register("ice.officer", **FIRST)["reference"])
    second = str(api.register("ice.officer", **SECOND)["reference"])
    api.screen(second, ["trafficking_victim"], user="ice.officer")
    assert _told(_flags(api, "ice.officer", first)) == sorted([("another agency", None), (second, True)])
    # The record with the concern: its own concern holds both of its flags.
    assert _told(_flags(api, "ice.officer", second)) == sorted([("another agency", True), (first, True)])
    login(client, "ice.officer")
    assert "retiene el caso" in client.get(f"/cases/{first}").text


def test_a_concern_on_a_visible_record_of_the_same_person_holds_the_pair(client: TestClient, world: World) -> None:
    api = Api(client, world)
    _mexicos_record(api, True)
    first = str(api.register("ice.officer", **FIRST)["reference"])
    second = str(api.register("ice.officer", **SECOND)["reference"])
    # A third ICE record, someone else by name, sharing the second's cédula: the same person as the second.
    api.patch("ice.officer", f"/api/v1/cases/{second}", {"national_id": "V24681357"})
    linked = str(api.register("ice.officer", national_id="V24681357", given_names="Luisa Fernanda",
                              first_surname="Gómez", second_surname="Díaz", birth_date="1984-02-23")["reference"])
    api.screen(linked, ["trafficking_victim"], user="ice.officer")
    assert (second, True) in _told(_flags(api, "ice.officer", first))


def test_a_link_to_another_countrys_record_tells_nothing_through_the_flag(client: TestClient, world: World) -> None:
    api = Api(client, world)
    # Mexico's record of someone else by name, with the cédula the first ICE record is given: the same person.
    rosa = str(api.register("inm.officer", national_id="V24681357", given_names="Luisa Fernanda",
                            first_surname="Gómez", second_surname="Díaz", birth_date="1984-02-23")["reference"])
    api.screen(rosa, ["pending_asylum_claim"], user="inm.officer")
    first = str(api.register("ice.officer", **{**FIRST, "national_id": "V24681357"})["reference"])
    second = str(api.register("ice.officer", **{**SECOND, "national_id": None})["reference"])
    assert (second, False) in _told(_flags(api, "ice.officer", first))
    assert (first, False) in _told(_flags(api, "ice.officer", second))


@pytest.mark.parametrize("concern", [True, False])
def test_after_an_import_the_flags_tell_nothing_of_another_countrys_concern(
        client: TestClient, world: World, session_factory: sessionmaker[Session], concern: bool) -> None:
    api = Api(client, world)
    rosa = _mexicos_record(api, concern)
    since = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
    rows = "".join(f"{reference},{p['given_names']},{p['first_surname']},{p['second_surname']},F,1990-05-17,VEN,,"
                   f"Houston,IAH,{since}\n" for reference, p in (("IMP-A", FIRST), ("IMP-B", SECOND)))
    upload = {"file": ("lista.csv", (HEADER + rows).encode(), "text/csv")}
    outcome = ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("ice.officer")), 201)
    assert rosa not in str(outcome)
    with session_factory() as session:
        first, second = (str(session.execute(sa.select(Case.reference).where(Case.agency_reference == reference))
                             .scalar_one()) for reference in ("IMP-A", "IMP-B"))
    shown = _flags(api, "ice.officer", first)
    assert (second, False) in _told(shown), shown
    assert all(d["holding"] in (None, False) for d in shown), shown


# Every door an official of the United States or of the receiving state reads, before and after Mexico raises an
# asylum claim and a medical need on its record alike to ICE's two records, while neither is ready by its own record
# (screened, verified, no travel document): nothing they read may change. Once a case is ready by its own record, the
# hold goes back from 'ready' and the refusal at a travel step says that another agency holds a concern open, as the
# README says; not before.
_USERS = ("ice.officer", "ice.supervisor", "saime.officer", "saime.supervisor")
_LISTS = ("/api/v1/cases?limit=100", "/api/v1/cases?sort=state&limit=100", "/api/v1/inbox",
          "/api/v1/reports/dashboard", "/api/v1/verification/queue?limit=100", "/api/v1/flights")
_PAGES = ("/", "/cases", "/cases?sort=state", "/cases?concern=open", "/dashboard", "/cases.csv", "/cases.xlsx",
          "/flights", "/verification", "/estadisticas")
# What moves by itself between two readings: times, the audit chain's head, and the reads of the first reading,
# which are on the timeline.
_MOVES = ((re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)?"), "<time>"),
          (re.compile(r"\b\d\d:\d\d(:\d\d)?\b"), "<time>"), (re.compile(r'signed-head-seq">\d+'), "<seq>"),
          (re.compile(r'csrf[-_]token"\s+(content|value)="[^"]*"'), "<csrf>"),
          (re.compile(r'"request_id":\s*"[0-9a-f]+"'), "<request>"))


def _as_read(text: str) -> str:
    text = "\n".join(line for line in text.splitlines() if not re.search(r'data-action="[a-z_.]*read"', line))
    for pattern, said in _MOVES:
        text = pattern.sub(said, text)
    return text


def _every_door(client: TestClient, world: World, references: list[str]) -> dict[str, str]:
    read: dict[str, str] = {}
    paths = [*_LISTS, *(f"/api/v1/cases/{reference}{door}" for reference in references
                        for door in ("", "/possible-duplicates", "/timeline", "/screenings"))]
    for user in _USERS:
        for path in paths:
            answer = client.get(path, headers=world.headers(user))
            try:
                data = answer.json()
            except ValueError:
                read[f"{user} {path}"] = f"{answer.status_code} {_as_read(answer.text)}"
                continue
            if isinstance(data, list):  # a timeline: the reads of the first reading left out
                data = [{k: v for k, v in entry.items() if k != "seq"} if isinstance(entry, dict) else entry
                        for entry in data if not (isinstance(entry, dict)
                                                  and str(entry.get("action", "")).endswith("read"))]
            read[f"{user} {path}"] = f"{answer.status_code} {_as_read(json.dumps(data, indent=1, sort_keys=True))}"
    for user in _USERS:
        client.cookies.clear()
        login(client, user)
        for path in (*_PAGES, *(f"/cases/{reference}{door}" for reference in references
                                for door in ("", "?protection=1"))):
            answer = client.get(path)
            text = answer.text
            if path.endswith(".xlsx") and answer.status_code == 200:  # its sheets, not the zip's times
                with zipfile.ZipFile(io.BytesIO(answer.content)) as book:
                    text = "\n".join(book.read(name).decode() for name in sorted(book.namelist())
                                     if name.startswith("xl/") and name.endswith(".xml"))
            read[f"page {user} {path}"] = f"{answer.status_code} {_as_read(text)}"
    client.cookies.clear()
    return read


def test_no_door_tells_another_countrys_concern_or_need(client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa = str(api.register("inm.officer", **ROSA)["reference"])
    api.screen(rosa, [], user="inm.officer")
    first = str(api.register("ice.officer", **FIRST)["reference"])
    second = str(api.register("ice.officer", **SECOND)["reference"])
    api.screen(first, [], user="ice.officer")
    api.verify(first, "ice.officer")
    before = _every_door(client, world, [first, second])
    api.screen(rosa, ["pending_asylum_claim"], user="inm.officer", medical_escorts=2)
    after = _every_door(client, world, [first, second])
    changed = {door: "\n".join(difflib.unified_diff(before[door].splitlines(), after[door].splitlines(),
                                                     lineterm="", n=0))
               for door in before if before[door] != after[door]}
    assert not changed, "\n".join(f"{door}:\n{diff[:2000]}" for door, diff in changed.items())
