"""Red team round 91, F3 to F6 (high, high, medium, low): in a copy of the database a not-national decision was made
`verified`, a household split and best-interests determinations were inserted, a resolution's author and reason were
changed and consents to change a locked manifest were added, and `audit verify` and `db restore` said the copy intact:
the trail's chain covers its records, not the rows they describe. Every row that carries a safeguard's decision is now
sealed on the trail as the service writes it (`audit.seals`); `unsealed` names each row stored otherwise, on both
databases, and a later commit of the service does not seal a change it did not make (the CLI over a copy of the demo:
tests/test_cli.py)."""

from __future__ import annotations

import importlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.audit.models import SealedChange
from retorno.audit.seals import BASELINE, SEALED, SEALED_IN_PART, SEALED_WHOLE, tampered, unsealed
from retorno.audit.service import BEFORE_APPEND
from retorno.db import SEAL_HOLDER, SEAL_TOKEN, forget_stamp
from retorno.migrations import schema_differences, storage_problems
from tests.factories import Api, World, case_payload, ok


def _forge(session: Session, sql: str, **params: Any) -> None:
    """Write `sql` on the session's connection as something other than the service: without its seal token."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.connection.info[SEAL_HOLDER][0] = None
    else:
        connection.exec_driver_sql("SELECT set_config('retorno.seal', '', true)")
    forget_stamp(connection)
    connection.execute(sa.text(sql), params)


def _named(session: Session) -> dict[tuple[str, int], str]:
    """Each row named, with what is said of it (all of it, in one text)."""
    named: dict[tuple[str, int], str] = {}
    for problem in unsealed(session).problems:
        named[(problem.table, problem.row)] = f"{named.get((problem.table, problem.row), '')}; {problem.problem}"
    return named


def _last_id(session: Session, table: str) -> int:
    return int(session.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar_one())


def test_what_the_service_wrote_is_as_sealed_and_every_forged_decision_is_named_even_after_its_next_commit(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    travelling = api.ready_case(household_reference="SELLO-1", relationship_to_head="head")
    flight = api.build_manifest([travelling["reference"]], departure=datetime.now(UTC) + timedelta(days=3))
    held = api.register()
    api.screen(held["reference"], ["pending_asylum_claim", "medical_condition"], medical_escorts=1)
    ok(api.post("inm.supervisor", f"/api/v1/cases/{held['reference']}/screenings/resolution",
                {"decision": "travel_permitted", "concerns": ["medical_condition"], "reason": "Escolta lista."}))
    before = unsealed(session)
    assert before.problems == [], before.problems
    assert before.rows >= 7 and before.seals >= before.rows, before
    stored = {table: session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() for table in SEALED}
    assert all(stored[table] for table in ("screenings", "screening_resolutions", "verification_requests",
                                           "verification_decisions", "travel_documents", "passengers")), stored

    users = world.bind(session).users
    decision, resolution = _last_id(session, "verification_decisions"), _last_id(session, "screening_resolutions")
    passenger = _last_id(session, "passengers")
    case_id, household_id, flight_id = session.execute(sa.text(
        "SELECT c.id, c.household_id, p.flight_id FROM cases c JOIN passengers p ON p.case_id = c.id "
        "WHERE p.id = :p"), {"p": passenger}).one()
    assert household_id is not None and flight
    now = datetime.now(UTC).replace(tzinfo=None)
    _forge(session, "UPDATE verification_decisions SET outcome = 'not_national' WHERE id = :id", id=decision)
    _forge(session, "UPDATE screening_resolutions SET resolved_by = :by WHERE id = :id",
           by=users["ice.supervisor"].id, id=resolution)
    _forge(session, "UPDATE passengers SET approval = 'proposed' WHERE id = :id", id=passenger)
    _forge(session, "INSERT INTO household_splits (household_id, authorised_by, reason, created_at) "
                    "VALUES (:h, :by, 'forged', :at)", h=household_id, by=users["inm.supervisor"].id, at=now)
    _forge(session, "INSERT INTO best_interests_determinations (case_id, decided_by, decided_at, summary, "
                    "receiving_guardian) VALUES (:c, :by, :at, 'forged', 'forged')",
           c=case_id, by=users["saime.supervisor"].id, at=now)
    _forge(session, "INSERT INTO locked_change_approvals (flight_id, case_id, change, side, approved_by, reason, "
                    "used, created_at) VALUES (:f, :c, 'remove', 'receiving', :by, 'forged', false, :at)",
           f=flight_id, c=case_id, by=users["saime.supervisor"].id, at=now)
    forged = {("verification_decisions", decision), ("screening_resolutions", resolution), ("passengers", passenger),
              ("household_splits", _last_id(session, "household_splits")),
              ("best_interests_determinations", _last_id(session, "best_interests_determinations")),
              ("locked_change_approvals", _last_id(session, "locked_change_approvals"))}
    named = _named(session)
    assert forged <= named.keys(), (forged, named)
    assert "otherwise than the trail sealed it" in named[("verification_decisions", decision)]
    assert "never sealed" in named[("household_splits", _last_id(session, "household_splits"))]

    # The service's next commit seals what it changed, not what was changed beside it.
    api.register()
    assert forged <= _named(session).keys()
    # Nor does a forger who empties the notes of the changes, or notes them as rows stored before sealing began.
    _forge(session, "DELETE FROM sealed_changes")
    session.add_all(SealedChange(table_name=table, row_id=row, token=BASELINE) for table, row in sorted(forged))
    session.flush()
    api.register()
    assert forged <= _named(session).keys()
    assert session.execute(sa.select(sa.func.count()).select_from(SealedChange)
                           .where(SealedChange.token == BASELINE)).scalar_one() == len(forged)


def test_a_row_the_service_deletes_is_sealed_as_deleted_and_a_row_deleted_beside_it_is_named(
        client: TestClient, world: World, session: Session) -> None:
    api = Api(client, world)
    case = api.ready_case()
    flight = api.flight()
    ok(api.post("inm.officer", f"/api/v1/flights/{flight['reference']}/passengers", {"cases": [case["reference"]]}),
       201)
    passenger = _last_id(session, "passengers")
    document = _last_id(session, "travel_documents")
    assert unsealed(session).problems == []
    _forge(session, "DELETE FROM passengers WHERE id = :id", id=passenger)
    named = _named(session)
    assert "sealed on the trail, not stored (deleted)" in named.get(("passengers", passenger), ""), named
    _forge(session, "UPDATE travel_documents SET expiry_date = :later WHERE id = :id",
           later=datetime(2099, 1, 1).date(), id=document)
    assert ("travel_documents", document) in _named(session)


def test_every_sealed_table_has_its_triggers_and_the_migration_names_the_same_tables(session: Session) -> None:
    for revision in ("0049_sealed_changes", "0050_sealed_rows_as_they_were"):
        assert importlib.import_module(f"retorno.migrations.versions.{revision}").SEALED == SEALED_WHOLE
    assert importlib.import_module("retorno.migrations.versions.0051_secrets_keyed").SEALED_IN_PART == SEALED_IN_PART
    assert SEALED_WHOLE + tuple(SEALED_IN_PART) == SEALED
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        found = connection.execute(sa.text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' "
                                           "AND name LIKE 'sealed_%'")).all()
        assert len(found) == 5 * len(SEALED)
    else:
        found = connection.execute(sa.text("SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON "
                                           "c.oid = t.tgrelid WHERE t.tgname LIKE 'sealed_%'")).all()
        assert len(found) == len(SEALED)
    assert {table for table, _ in found} == set(SEALED)


def test_a_trigger_changed_to_note_a_row_the_service_did_not_change_stops_every_commit_that_would_seal(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 92, F5 (high): a trigger given a second note (a decision the person is not a national, forged
    `verified`) had the service's next screening seal the forged row with its own token. The noting of changes is
    compared with migration 0049's before a commit seals: changed, nothing is written (503); and every check names
    it."""
    api = Api(client, world)
    held, other = api.register(), api.register()
    api.screen(held["reference"], [])
    assert tampered(session.connection()) == []
    extra = "INSERT INTO sealed_changes (table_name, row_id, token) VALUES ('screenings', 1, {token}); "
    if session.connection().dialect.name == "sqlite":
        _forge(session, "DROP TRIGGER sealed_screenings_insert")
        _forge(session, "CREATE TRIGGER sealed_screenings_insert AFTER INSERT ON screenings BEGIN INSERT INTO "
                        "sealed_changes (table_name, row_id, token) VALUES ('screenings', NEW.id, "
                        "retorno_seal_token()); " + extra.format(token="retorno_seal_token()") + "END")
    else:
        _forge(session, "CREATE OR REPLACE FUNCTION retorno_note_sealed_change() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$ BEGIN INSERT INTO sealed_changes (table_name, row_id, token) VALUES (TG_TABLE_NAME, "
                        "CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, NULLIF(current_setting("
                        "'retorno.seal', true), '')); " + extra.format(token="NULLIF(current_setting("
                        "'retorno.seal', true), '')") + "RETURN NULL; END $$")
    told = tampered(session.connection())
    assert any("sealed_screenings" in problem for problem in told), told
    answer = api.post("inm.officer", f"/api/v1/cases/{other['reference']}/screenings", {"concerns": []})
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "sealing_tampered", answer.text
    assert any(problem.table == "sealed_changes" and "changed" in problem.problem
               for problem in unsealed(session).problems)


def test_a_household_moved_a_role_raised_or_seats_lowered_in_the_database_is_named(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 92, F1, F2, F3 and F7: a spouse moved out of the family's household (the rest flown without
    them), an officer made supervisor to resolve asylum claims and made officer again, a flight's seats lowered under
    its manifest, a name hidden from the search: the cases, flights and users are sealed too."""
    api = Api(client, world)
    case = api.register(household_reference="SELLO-2", relationship_to_head="head")
    flight = api.flight()
    assert unsealed(session).problems == []
    ids = session.execute(sa.text("SELECT id FROM cases WHERE reference = :r"), {"r": case["reference"]}).scalar_one()
    flight_id = session.execute(sa.text("SELECT id FROM flights WHERE reference = :r"),
                                {"r": flight["reference"]}).scalar_one()
    officer = world.bind(session).users["inm.officer"].id
    _forge(session, "UPDATE cases SET household_id = NULL, search_name = 'X' WHERE id = :id", id=ids)
    _forge(session, "UPDATE flights SET seats = 2 WHERE id = :id", id=flight_id)
    _forge(session, "UPDATE users SET role = 'supervisor' WHERE id = :id", id=officer)
    _forge(session, "UPDATE users SET role = 'officer' WHERE id = :id", id=officer)
    named = _named(session)
    assert {("cases", ids), ("flights", flight_id), ("users", officer)} <= named.keys(), named
    assert "no seal" in named[("users", officer)] and "otherwise" not in named[("users", officer)]


def test_a_trigger_no_migration_made_stops_sealing_and_forged_tokens_linkers_or_consents_are_named(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 93: F1 (high), a trigger of another name, on the login sessions, made a viewer a supervisor and a
    decision `verified` in the service's own transaction at the next login, which sealed them; F2 to F4 (high), a
    returnee's consent, an API token and a trusted linking machine inserted in the database, none sealed; F5 (low), an
    encrypted text that cannot be decrypted made `audit verify` fail instead of naming its row. (API tokens and login
    sessions are not sealed: their last use is written at every request.)"""
    api = Api(client, world)
    case = api.register()
    api.screen(case["reference"], ["pending_asylum_claim"])
    users = world.bind(session).users
    assert unsealed(session).problems == []
    viewer, screening = users["inm.viewer"].id, _last_id(session, "screenings")
    _forge(session, "INSERT INTO trusted_linkers (agency_id, key_id, public_key, name, trusted_by, trusted_at) "
                    "VALUES (:a, 'k', 'p', 'x', :u, :at)", a=users["saime.supervisor"].agency_id,
           u=users["saime.supervisor"].id, at=datetime(2099, 1, 1))
    _forge(session, "UPDATE screenings SET notes = 'v1:00000000:no es base64!' WHERE id = :id", id=screening)
    named = _named(session)
    assert {("trusted_linkers", _last_id(session, "trusted_linkers")), ("screenings", screening)} <= named.keys(), \
        named
    if session.connection().dialect.name == "sqlite":
        _forge(session, "CREATE TRIGGER login_touch AFTER INSERT ON saved_searches BEGIN UPDATE users SET role = "
                        f"'supervisor' WHERE id = {viewer}; END")
    else:
        _forge(session, "CREATE FUNCTION login_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE users SET "
                        f"role = 'supervisor' WHERE id = {viewer}; RETURN NULL; END $$")
        _forge(session, "CREATE TRIGGER login_touch AFTER INSERT ON saved_searches FOR EACH ROW EXECUTE FUNCTION "
                        "login_touch()")
    assert any("login_touch, which no migration made" in problem for problem in tampered(session.connection()))
    answer = api.post("inm.officer", "/api/v1/cases", case_payload())
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "sealing_tampered", answer.text


def test_a_row_forged_and_its_note_removed_is_named_after_the_service_changes_it_and_seals_it(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 94, F1 and F4 (high): a case's birth date and household forged in the database and the note of
    the change deleted (or the triggers dropped and made again around it), then the service's next change of that row
    (an officer correcting a name) sealed the forged row as its own, and every check said it intact. The triggers now
    keep the row as it was before the transaction first changed it, and each seal says the digest of that: a seal
    whose row before the change is not the trail's last seal of it names the row, for good."""
    api = Api(client, world)
    case = api.register(household_reference="SELLO-3", relationship_to_head="head")
    case_id = session.execute(sa.text("SELECT id FROM cases WHERE reference = :r"),
                              {"r": case["reference"]}).scalar_one()
    assert unsealed(session).problems == []
    _forge(session, "UPDATE cases SET birth_date = :born WHERE id = :id", born=datetime(1990, 1, 1).date(), id=case_id)
    _forge(session, "DELETE FROM sealed_changes WHERE token IS NULL")
    assert ("cases", case_id) in _named(session)
    ok(api.patch("inm.officer", f"/api/v1/cases/{case['reference']}", {"given_names": "Corregida"}))
    named = _named(session)
    assert "changed outside the service" in named.get(("cases", case_id), ""), named


def test_the_noting_function_is_pinned_to_its_schema_and_a_search_path_around_it_is_named(session: Session) -> None:
    """Red team round 94, F3 (high, PostgreSQL): the role's search path set to find a `current_setting` of another
    schema first had the trigger's function call that one (every change noted as the service's). Its calls are
    qualified and its search path pinned (migration 0050); the pin removed or changed is named as tampering."""
    connection = session.connection()
    assert tampered(connection) == []
    if connection.dialect.name == "sqlite":
        _forge(session, "DROP TRIGGER sealed_cases_before_update")
        assert tampered(connection) == ["trigger sealed_cases_before_update missing"]
        return
    source = connection.execute(sa.text("SELECT prosrc FROM pg_proc WHERE proname = 'retorno_note_sealed_change'"))
    assert "pg_catalog.current_setting" in source.scalar_one()
    _forge(session, "ALTER FUNCTION retorno_note_sealed_change() SET search_path = public, pg_catalog")
    told = tampered(connection)
    assert len(told) == len(SEALED) and all("settings changed" in problem for problem in told), told


def test_a_table_changed_in_the_database_is_named(session: Session) -> None:
    """Red team round 94, F6 (low): a foreign key made to delete a case's passengers with it, or an index dropped, in
    the database was checked by nothing. The tables are compared with those the migrations make."""
    connection = session.connection()
    assert schema_differences(connection) == []
    _forge(session, "DROP INDEX ix_sealed_changes_token_row")
    if connection.dialect.name == "postgresql":
        _forge(session, "ALTER TABLE passengers DROP CONSTRAINT fk_passengers_case_id_cases")
        _forge(session, "ALTER TABLE passengers ADD CONSTRAINT fk_passengers_case_id_cases FOREIGN KEY (case_id) "
                        "REFERENCES cases (id) ON DELETE CASCADE")
    told = schema_differences(connection)
    assert any("ix_sealed_changes_token_row" in difference for difference in told), told
    if connection.dialect.name == "postgresql":
        assert any("fk_passengers_case_id_cases" in difference and "CASCADE" in difference for difference in told)


def test_a_note_written_with_the_service_s_token_by_another_transaction_is_not_sealed(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 95, F3 (high, PostgreSQL): the seal token is sent to the server, which can log it; a second
    session that set it while the service's transaction was open had its forged role sealed by the service's commit.
    A note holds the id of the transaction that wrote it, and a commit seals only its own transaction's (on SQLite one
    transaction writes at a time and the token never leaves the service's process)."""
    api = Api(client, world)
    officer = world.bind(session).users["inm.officer"].id
    case = api.register()
    assert unsealed(session).problems == []
    _forge(session, "UPDATE users SET role = 'supervisor' WHERE id = :id", id=officer)
    _forge(session, "DELETE FROM sealed_changes WHERE token IS NULL")
    postgresql = session.connection().dialect.name == "postgresql"

    def forged_note_with_the_token(service: Session) -> None:
        """As another session would, committed: on PostgreSQL its own transaction (a new connection)."""
        token = service.info.get(SEAL_TOKEN)
        if token is None:
            return
        if not postgresql:
            service.add(SealedChange(table_name="users", row_id=officer, token=token))
            return
        with service.get_bind().engine.begin() as other:
            other.execute(sa.insert(SealedChange).values(table_name="users", row_id=officer, token=token))
            forged.append(token)

    forged: list[str] = []

    BEFORE_APPEND.insert(0, forged_note_with_the_token)
    try:
        api.screen(case["reference"], [])
    finally:
        BEFORE_APPEND.remove(forged_note_with_the_token)
    named = _named(session)
    if postgresql:
        # Committed by another transaction: the test's own rollback does not take it away.
        with session.get_bind().engine.begin() as other:
            other.exec_driver_sql("SET LOCAL lock_timeout = '5s'")  # a note this test's transaction deleted: fail
            other.execute(sa.delete(SealedChange).where(SealedChange.token.in_(forged)))
    if not postgresql:
        # SQLite: a note of the service's token is sealed as the service's, but with no row before it, where the
        # service's own update would have kept one.
        assert "noted, outside the service" in named.get(("users", officer), ""), named
        return
    assert "stored otherwise than the trail sealed it" in named.get(("users", officer), ""), named
    assert "changed by something other than the service" in named[("users", officer)]


def test_an_index_that_does_not_hold_its_table_s_rows_is_named(tmp_path: Path) -> None:
    """Red team round 96, F1 (medium): two partial indexes of a SQLite database rebuilt without one case, their
    definitions written back, hid an open asylum claim from the service's lists; `audit verify` and `db restore`
    vouched for it. SQLite's integrity check is part of the comparison of the database with the migrations."""
    path = tmp_path / "indexed.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)")
        raw.executemany("INSERT INTO t (a) VALUES (?)", [(1,), (2,), (3,)])
        raw.execute("CREATE INDEX ix_t_open ON t (a) WHERE a > 1")
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert storage_problems(connection) == []
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA writable_schema = ON")
        raw.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX ix_t_open ON t (a) WHERE a > 0' "
                    "WHERE name = 'ix_t_open'")
    engine.dispose()
    with engine.connect() as connection:
        told = storage_problems(connection)
    engine.dispose()
    assert told and all("integrity check" in line for line in told), told
