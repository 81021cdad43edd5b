"""Names said alike are flagged in any combination of their spellings, at every door (red team round 9, M1, medium):
ICE held "Johanna Madera Nunez" with an asylum claim open, and INM's "Yohana Madera Núñez", surnames, birth date and
sex the same, was flagged by nothing and approved onto a manifest. J and Y, a silent H and a doubled letter at once
escaped the comparison of names as Spanish says them (each alone was flagged). A registration and an import row (CSV
and XLSX) flag them now, written either way, in the given names and the surnames; and a record of the same given
name, first surname, birth date and sex with another second surname is flagged too."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import Api, World, ok
from tests.functional.test_duplicate_adjacent_year import ELSEWHERE, _flags, _import
from tests.functional.test_duplicates_every_door import _by_agency_reference

# (given names, first surname, second surname, sex), each pair one person written two ways.
Names = tuple[str, str, str, str]
PAIRS: list[tuple[Names, Names]] = [
    (("Johanna", "Madera", "Nunez", "F"), ("Yohana", "Madera", "Núñez", "F")),
    (("Jefferson", "Pacheco", "Rivas", "M"), ("Yeferzon", "Pacheco", "Rivas", "M")),
    (("Yhonatan", "Yánez", "Zerpa", "M"), ("Jonathan", "Jhannes", "Serpa", "M")),
    (("Ana Yennifer", "Jhaimes", "Oropeza", "F"), ("Ana Jennifer", "Yaimez", "Oropeza", "F")),
    (("Juan", "Villalonga", "Gómez", "M"), ("Juan", "Villalonga", "González", "M")),
]
IDS = ["johanna", "jefferson", "yhonatan", "jhaimes", "second-surname"]


def _person(names: Names, born: str) -> dict[str, Any]:
    given, first, second, sex = names
    return {"national_id": None, "given_names": given, "first_surname": first, "second_surname": second, "sex": sex,
            "birth_date": born}


def _row(reference: str, names: Names, born: str) -> list[str]:
    given, first, second, sex = names
    return [reference, given, first, second, sex, date.fromisoformat(born).strftime("%Y-%m-%d"), "VEN",
            "Estación Migratoria Villahermosa", "VSA", (date.today() - timedelta(days=12)).strftime("%Y-%m-%d")]


def test_the_finding_johanna_held_by_ice_and_yohana_registered_by_inm(client: TestClient, world: World) -> None:
    api = Api(client, world)
    held, written = PAIRS[0]
    johanna = str(api.register("ice.officer", **_person(held, "1996-03-08"))["reference"])
    api.screen(johanna, ["pending_asylum_claim"], user="ice.officer")
    case = api.register(**_person(written, "1996-03-08"))
    yohana = case["reference"]
    assert _flags(api, yohana) == [("another agency", None)]
    # Held off a manifest while ICE's concern is open.
    api.screen(yohana, [])
    api.verify(yohana)
    api.passport(case)
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [yohana]})
    assert refused.status_code == 409 and ELSEWHERE in refused.json()["error"]["message"], refused.text


@pytest.mark.parametrize("reverse", [False, True], ids=["as-held", "reversed"])
@pytest.mark.parametrize(("held", "written"), PAIRS, ids=IDS)
def test_a_registration_written_otherwise_is_flagged(client: TestClient, world: World, held: Names, written: Names,
                                                     reverse: bool) -> None:
    api = Api(client, world)
    if reverse:
        held, written = written, held
    api.register("ice.officer", **_person(held, "1987-10-19"))
    reference = api.register(**_person(written, "1987-10-19"))["reference"]
    assert _flags(api, reference) == [("another agency", None)]
    # Within one country too, read by its reason.
    own = api.register(**_person(held, "1971-05-26"))["reference"]
    again = api.register(**_person(written, "1971-05-26"))["reference"]
    [shown] = ok(api.get("inm.officer", f"/api/v1/cases/{again}/possible-duplicates"))
    assert shown["other"] == own and shown["reason"] in (
        "name that sounds the same, spelled differently", "name spelled differently", "another second surname"), shown


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_import_rows_written_otherwise_are_flagged(client: TestClient, world: World, kind: str,
                                                   session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    # Against ICE's records, one person each, written the other way in the file (both ways over the pairs).
    borns = ["1960-01-10", "1963-02-11", "1966-03-12", "1969-04-13", "1972-05-14"]
    rows = []
    for index, ((held, written), born) in enumerate(zip(PAIRS, borns, strict=True)):
        first, second = (held, written) if index % 2 else (written, held)
        api.register("ice.officer", **_person(first, born))
        rows.append(_row(f"SA-{kind}-{index}", second, born))
    # And two rows of the file alike, each pair written both ways.
    for index, ((held, written), born) in enumerate(zip(PAIRS, ["2001-10-20", "2004-11-21", "2007-12-22", "1994-06-23",
                                                                 "1984-07-24"], strict=True)):
        rows += [_row(f"IN-{kind}-{index}-a", held, born), _row(f"IN-{kind}-{index}-b", written, born)]
    outcome = _import(client, world, kind, rows)
    assert outcome["created"] == 3 * len(PAIRS) and outcome["possible_duplicates"] == 2 * len(PAIRS), outcome
    for index in range(len(PAIRS)):
        assert _flags(api, _by_agency_reference(session_factory, f"SA-{kind}-{index}")) == [("another agency", None)]
        first = _by_agency_reference(session_factory, f"IN-{kind}-{index}-a")
        assert _flags(api, _by_agency_reference(session_factory, f"IN-{kind}-{index}-b")) == [(first, None)]
