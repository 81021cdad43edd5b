"""A possible duplicate a supervisor decided are two people is flagged again only when a correction makes the two
records more alike than they were (red team round 59, F2).

Any correction of a compared field flagged the pair anew, a cédula recorded alone included: the supervisors' decision
was undone by an official's ordinary work, the records held back again, and with the other person on a flight that
had left, the household the two now counted in refused the correction, for good. A correction that makes them more
alike (a field they now say the same thing in, the sex included, or a higher score) still flags them, for a
supervisor to decide again (round 60, F1 and F2: a record decided another person for its sex alone, corrected to
hers, flew while her asylum claim was open; and a household head so corrected was approved on a flight while she was
in the air on another).
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok

# Rosa Elena Peña Rodríguez, born 17 May 1990; and the same name written with the surnames swapped.
ROSA = {"national_id": None, "given_names": "Rosa Elena", "first_surname": "Peña", "second_surname": "Rodríguez",
        "birth_date": "1990-05-17"}
SWAPPED = {**ROSA, "first_surname": "Rodríguez", "second_surname": "Peña"}
# The first given name alone: alike, less than the surnames swapped (which score as the same names).
ROSA_ALONE = {**ROSA, "given_names": "Rosa"}
DIFFERENT = {"decision": "different_people", "reason": "Huellas y fotografía distintas: son dos personas."}


def _flags(api: Api, reference: str) -> list[dict[str, Any]]:
    return list(ok(api.get("inm.officer", f"/api/v1/cases/{reference}/possible-duplicates")))


def _undecided(api: Api, reference: str) -> list[dict[str, Any]]:
    return [flag for flag in _flags(api, reference) if flag["decision"] is None]


def _decided_two_people(api: Api, twin_is: dict[str, Any] = SWAPPED) -> tuple[str, str]:
    rosa = str(api.register(**ROSA)["reference"])
    twin = str(api.register(**twin_is)["reference"])
    [flag] = _undecided(api, twin)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{twin}/possible-duplicates/{flag['flag']}/decision", DIFFERENT),
       201)
    assert _undecided(api, twin) == []
    return rosa, twin


def test_a_cedula_recorded_alone_leaves_the_decision_as_it_is(client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa, twin = _decided_two_people(api)
    ok(api.patch("inm.officer", f"/api/v1/cases/{twin}", {"national_id": "V-18.234.567"}))
    assert _undecided(api, twin) == [] and len(_flags(api, twin)) == 1
    # Nor does a cédula recorded on the other record, another of its own.
    ok(api.patch("inm.officer", f"/api/v1/cases/{rosa}", {"national_id": "V-20.111.222"}))
    assert _undecided(api, twin) == []


def test_a_correction_no_more_alike_than_decided_leaves_it_and_one_more_alike_flags_again(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa, twin = _decided_two_people(api, ROSA_ALONE)
    # Made less alike: decided already.
    ok(api.patch("inm.officer", f"/api/v1/cases/{twin}", {"birth_date": "1990-05-18"}))
    assert _undecided(api, twin) == []
    # As alike again as the supervisor saw them: the birth date they share again is looked at once more.
    ok(api.patch("inm.officer", f"/api/v1/cases/{twin}", {"birth_date": ROSA["birth_date"]}))
    [again] = _undecided(api, twin)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{twin}/possible-duplicates/{again['flag']}/decision", DIFFERENT),
       201)
    # Both given names: more alike than decided, a supervisor decides again.
    ok(api.patch("inm.officer", f"/api/v1/cases/{twin}", {"given_names": "Rosa Elena"}))
    assert [flag["other"] for flag in _undecided(api, twin)] == [rosa]


def test_the_same_names_written_the_same_way_flag_them_again(client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa, twin = _decided_two_people(api)
    # The surnames swapped score as the same names do; written the same way now, they are more alike than decided.
    ok(api.patch("inm.officer", f"/api/v1/cases/{twin}", {"first_surname": "Peña", "second_surname": "Rodríguez"}))
    assert [flag["other"] for flag in _undecided(api, twin)] == [rosa]


def test_a_cedula_the_two_records_now_share_flags_them_again(client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa, twin = _decided_two_people(api)
    ok(api.patch("inm.officer", f"/api/v1/cases/{rosa}", {"national_id": "V-18.234.567"}))
    assert _undecided(api, twin) == []
    ok(api.patch("inm.officer", f"/api/v1/cases/{twin}", {"national_id": "V-18234567"}))
    assert [flag["other"] for flag in _undecided(api, twin)] == [rosa]


def test_the_sex_corrected_to_the_other_records_flags_them_again_by_every_door(
        client: TestClient, world: World) -> None:
    """Round 60, F1: the score reads no sex, so a pair decided two people for the sex alone scored the same once the
    sex was corrected: by the API, by a re-import, and across countries."""
    api = Api(client, world)
    rosa, twin = _decided_two_people(api, {**ROSA, "sex": "M"})
    ok(api.patch("inm.officer", f"/api/v1/cases/{twin}", {"sex": "F"}))
    assert [flag["other"] for flag in _undecided(api, twin)] == [rosa]
    # The flag says why it is back, first: the supervisors decided on the rest.
    assert _undecided(api, twin)[0]["reason"].startswith("flagged again: a correction made them more alike after "
                                                         "they were decided two people; now the same sex; ")
    # By a re-import of the sexo column.
    imported = api.register(**{**ROSA, "given_names": "Rosa Elena", "sex": "M", "agency_reference": "RE-1"})
    [flag] = [flag for flag in _undecided(api, imported["reference"]) if flag["other"] == rosa]
    ok(api.post("inm.supervisor", f"/api/v1/cases/{imported['reference']}/possible-duplicates/{flag['flag']}/decision",
                DIFFERENT), 201)
    header = "referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
    held_at, since = imported["held_at"], imported["detained_since"]
    row = f"RE-1,Rosa Elena,Peña,Rodríguez,F,1990-05-17,VEN,,\"{held_at}\",TAP,{since}\n"
    upload = {"file": ("lista.csv", (header + "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n" + row).encode(),
                       "text/csv")}
    ok(client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer")), 201)
    assert rosa in [flag["other"] for flag in _undecided(api, imported["reference"])]


def test_the_sex_corrected_flags_again_across_countries(client: TestClient, world: World) -> None:
    api = Api(client, world)
    rosa = str(api.register(**ROSA)["reference"])
    twin = str(api.register("ice.officer", **{**ROSA, "sex": "M", "held_at": "Port Isabel Detention Center",
                                              "nearest_airport": "HRL"})["reference"])
    for user, reference in (("ice.supervisor", twin), ("inm.supervisor", rosa)):
        [flag] = ok(api.get(user, f"/api/v1/cases/{reference}/possible-duplicates"))
        ok(api.post(user, f"/api/v1/cases/{reference}/possible-duplicates/{flag['flag']}/decision", DIFFERENT), 201)
    assert [flag for flag in ok(api.get("ice.officer", f"/api/v1/cases/{twin}/possible-duplicates"))
            if flag["decision"] is None] == []
    ok(api.patch("ice.officer", f"/api/v1/cases/{twin}", {"sex": "F"}))
    assert [flag for flag in ok(api.get("ice.officer", f"/api/v1/cases/{twin}/possible-duplicates"))
            if flag["decision"] is None] != []


def test_one_agencys_word_is_withdrawn_when_a_correction_makes_the_pair_more_alike(
        client: TestClient, world: World) -> None:
    """Round 61, F1: INM said "different people" of its record and ICE's (an asylum claim open), then corrected its
    record's birth date to hers; ICE's word, given without seeing INM's record, completed a decision made on another
    birth date, and INM's record was approved on a flight. INM's word is withdrawn by the correction: both decide
    again, on the records as they are."""
    api = Api(client, world)
    theirs = str(api.register("ice.officer", **{**ROSA, "held_at": "Port Isabel Detention Center",
                                                "nearest_airport": "HRL"})["reference"])
    api.screen(theirs, ["pending_asylum_claim"], user="ice.officer")
    ours = str(api.register(**{**ROSA, "birth_date": "1990-05-18"})["reference"])
    [flag] = _undecided(api, ours)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{ours}/possible-duplicates/{flag['flag']}/decision", DIFFERENT),
       201)
    assert _undecided(api, ours)[0]["awaiting"] is not None
    ok(api.patch("inm.officer", f"/api/v1/cases/{ours}", {"birth_date": ROSA["birth_date"]}))
    [flag] = _undecided(api, ours)
    assert flag["awaiting"] is None, flag
    # ICE's word alone is now the first word, awaiting INM's: the pair still holds INM's record back.
    [theirs_flag] = ok(api.get("ice.supervisor", f"/api/v1/cases/{theirs}/possible-duplicates"))
    ok(api.post("ice.supervisor", f"/api/v1/cases/{theirs}/possible-duplicates/{theirs_flag['flag']}/decision",
                DIFFERENT), 201)
    [flag] = _undecided(api, ours)
    assert flag["decision"] is None and flag["awaiting"] is not None, flag
    trail = ok(api.get("inm.supervisor", f"/api/v1/cases/{ours}/timeline"))
    assert "duplicate.first_word_withdrawn" in str(trail), trail
