"""Red team M4 (SPEC.md 4.1): one person's E and V cédulas did not link their records. A foreigner (E) who naturalises
keeps the number and becomes V, and two agencies can record the letter differently: a duplicate registered as
E20282780 of a person with an open asylum concern on V20282780 became ready, went onto a manifest, was approved and
boarded. Records are linked by the cédula's digits, whatever its letter (`cases.models.cedula_digits`), at every door
and in the commit-time guard (a case written through the driver with the other letter: tests/functional/
test_invariant_guard.py).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.cases.facts import same_person
from retorno.cases.models import Case, cedula_digits
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused, state

# (the concerned record's cédula, the duplicate's): either letter on either side.
LETTERS = [("V20282780", "E20282780"), ("E20282780", "V20282780")]


def _concerned(api: Api, cedula: str) -> str:
    """A person with an open asylum concern, registered by the Mexican side."""
    ref = str(api.register(national_id=cedula, birth_date="1985-03-03")["reference"])
    api.screen(ref, ["pending_asylum_claim"])
    return ref


def _aboard(api: Api, reference: str, flight: str) -> bool:
    passengers = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    return reference in [p["case"] for p in passengers if p["approval"] in ("proposed", "approved")]


@pytest.mark.parametrize(("concerned", "duplicate"), LETTERS)
def test_a_duplicate_with_the_other_letter_is_held_back_from_a_manifest(
        client: TestClient, world: World, session: Session, concerned: str, duplicate: str) -> None:
    api = Api(client, world)
    held = _concerned(api, concerned)
    # The same person registered again by the other sending agency, with the other letter, screened with no concern.
    case = api.register("ice.officer", national_id=duplicate, birth_date="1985-03-03")
    ref = str(case["reference"])
    api.screen(ref, user="ice.officer")
    api.verify(ref, "ice.officer")
    # Before: not linked, the duplicate became ready and went onto the manifest (201).
    assert api.passport(case, user="ice.officer")["case_state"] == "documented"
    flight = api.flight(user="ice.officer")["reference"]
    refused(api.post("ice.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 409,
            "invalid_transition")
    ids = dict(session.execute(sa.select(Case.reference, Case.id).where(Case.reference.in_([ref, held]))).all())
    assert set(same_person(session, [ids[ref]])[ids[ref]]) == {ids[held]}


@pytest.mark.parametrize(("concerned", "duplicate"), LETTERS)
def test_a_concern_raised_on_the_other_letter_s_record_stops_the_approval(
        client: TestClient, world: World, concerned: str, duplicate: str) -> None:
    api = Api(client, world)
    ref = str(api.ready_case(national_id=duplicate, birth_date="1985-03-03")["reference"])
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [ref]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    _concerned(api, concerned)
    # Before: the passenger stayed on the proposed manifest and the receiving side approved them (200).
    response = api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/decision", {"approve": True})
    # Now the concern took the passenger off the manifest as it was raised: nobody of that name is left to decide on.
    refused(response, 404, "not_found")
    assert not _aboard(api, ref, flight)
    assert state(api, ref) == "documented"


@pytest.mark.parametrize(("concerned", "duplicate"), LETTERS)
def test_a_concern_raised_on_the_other_letter_s_record_stops_the_boarding(
        client: TestClient, world: World, concerned: str, duplicate: str) -> None:
    api = Api(client, world)
    ref = str(api.ready_case(national_id=duplicate, birth_date="1985-03-03")["reference"])
    flight = locked_flight(api, [ref])
    _concerned(api, concerned)
    # Before: the passenger stayed approved on the locked manifest and boarded (200).
    response = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{ref}/boarding", {"status": "boarded"})
    # Now the concern took the passenger off the locked manifest as it was raised: nobody of that name is left to board.
    refused(response, 404, "not_found")
    assert not _aboard(api, ref, flight)
    assert state(api, ref) != "boarded"


def test_a_national_id_of_letters_alone_links_no_one(client: TestClient, world: World, session: Session) -> None:
    """Without its letters such an ID has no digits: it is no key that every such record shares."""
    api = Api(client, world)
    refs = [str(api.register(nationality="COL", national_id=typed)["reference"]) for typed in ("E", "VE", "EV")]
    ids = session.execute(sa.select(Case.id).where(Case.reference.in_(refs))).scalars().all()
    assert sorted(session.execute(sa.select(Case.national_id).where(Case.id.in_(ids))).scalars()) == ["E", "EV", "VE"]
    assert same_person(session, ids) == {}


def test_the_cedula_link_is_looked_up_by_the_index_of_its_digits(session: Session) -> None:
    """Every write asks who is the same person: the cédula's link comes off ix_cases_national_id_digits (migration
    0019) on both databases, not a scan of every case (alembic compares that index with the models on PostgreSQL
    only: SQLite's expression indexes are not read back)."""
    mine, other = sa.orm.aliased(Case), sa.orm.aliased(Case)
    statement = (sa.select(mine.id, other.id)
                 .join(other, sa.and_(cedula_digits(other.national_id) == cedula_digits(mine.national_id),
                                      other.id != mine.id))
                 .where(mine.id == 1, cedula_digits(mine.national_id) != ""))
    sql = str(statement.compile(session.connection(), compile_kwargs={"literal_binds": True}))
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # The few test rows would be scanned: asked not to, the planner shows which index answers the join.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(connection.exec_driver_sql("EXPLAIN " + sql).scalars())
        connection.exec_driver_sql("RESET enable_seqscan")
    else:
        plan = " ".join(row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "ix_cases_national_id_digits" in plan, plan
