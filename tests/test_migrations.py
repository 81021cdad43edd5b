"""The migrations are history: they import no application code, and every revision after 0001 goes back down.

The chain from an empty database is checked against the models (alembic check) after it first
reaches the head, then every revision is downgraded one step at a time to 0001, and the chain goes
up again to a schema that still equals the models — on SQLite and PostgreSQL.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from retorno import migrations
from retorno.agencies.models import Agency, ApiToken, User
from retorno.audit.models import SealedChange
from retorno.audit.seals import BASELINE, unsealed
from retorno.benchmarks.work_pages import fill
from retorno.cases.facts import OPEN_CONCERN, _still_open
from retorno.cases.models import Case, Household, PossibleDuplicate, SavedSearch
from retorno.datakeys import DataKeyring
from retorno.db import make_engine, use_data_keys
from retorno.documents.models import TravelDocument
from retorno.flights import service as flight_service
from retorno.flights.models import Flight
from retorno.migrations import alembic_config, check, current_revisions, upgrade
from retorno.reintegration.models import WITHDRAWN, FollowUp, Placement, PlacementStep
from retorno.reporting.service import placements_by_status, released_placements
from retorno.screening.models import Screening
from retorno.verification.models import RegistryCandidate, VerificationDecision, VerificationRequest
from retorno.verification.records import record_digits
from tests.conftest import DATABASES
from tests.scratch import empty_database

VERSIONS = Path(migrations.__file__).parent / "versions"


def _revision(url: str) -> tuple[str, ...]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return current_revisions(connection)
    finally:
        engine.dispose()


def test_no_revision_imports_application_code() -> None:
    found = []
    for path in sorted(VERSIONS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            found += [f"{path.name} imports {name}" for name in names if name.split(".")[0] == "retorno"]
    assert len(list(VERSIONS.glob("*.py"))) > 10
    assert found == []


@pytest.mark.parametrize("kind", DATABASES)
def test_every_revision_after_the_first_downgrades_and_the_chain_comes_back_up(kind: str, tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config(""))
    # Head first, 0001 last: each revision with the one it goes back to.
    steps = [(rev.revision, rev.down_revision) for rev in script.walk_revisions() if rev.down_revision is not None]
    assert steps and steps[-1][1] == "0001"
    with empty_database(kind, tmp_path, "downgrades") as url:
        upgrade(url)
        check(url)
        for revision, down_revision in steps:
            assert _revision(url) == (revision,)
            command.downgrade(alembic_config(url), str(down_revision))
        assert _revision(url) == ("0001",)
        upgrade(url)
        assert _revision(url) == tuple(script.get_heads())
        check(url)


@contextmanager
def _at_head(kind: str, tmp_path: Path, data_keys: DataKeyring, label: str) -> Iterator[tuple[str, sa.Engine]]:
    """A new database migrated to the head, and an engine on it with the data keys."""
    with empty_database(kind, tmp_path, label) as url:
        upgrade(url)
        engine = make_engine(url)
        use_data_keys(engine, data_keys)
        try:
            yield url, engine
        finally:
            engine.dispose()


@contextmanager
def _filled_then_back_at(kind: str, tmp_path: Path, data_keys: DataKeyring, *, count: int, seed: int,
                         revision: str) -> Iterator[tuple[str, sa.Engine]]:
    """A database at the head filled with `count` synthetic cases, then downgraded to `revision`."""
    with _at_head(kind, tmp_path, data_keys, f"at{revision}") as (url, engine):
        with Session(engine) as session:
            fill(session, count, seed=seed)
            session.commit()
        command.downgrade(alembic_config(url), revision)
        yield url, engine


@pytest.mark.parametrize("kind", DATABASES)
def test_0013_fills_each_case_s_open_concern_marker_from_its_screenings(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    with _filled_then_back_at(kind, tmp_path, data_keys, count=600, seed=4, revision="0012") as (url, engine):
        upgrade(url)
        with engine.connect() as connection:
            marked = {cid: since for cid, since in connection.execute(
                sa.select(Case.id, Case.concern_open_since).where(OPEN_CONCERN))}
            still_open = {cid: since for cid, since in connection.execute(_still_open())}
    assert len(marked) > 10
    assert marked == still_open


@pytest.mark.parametrize("kind", DATABASES)
def test_0017_rewrites_stored_registry_records_to_the_one_spelling_and_leaves_the_others(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """Red team H1: decisions stored before the one spelling ('025440' for '25440') link once rewritten; a value
    with no canonical form ('25440.0') stays as it is, and links exactly as before."""
    typed = ["025440", " V-020282780 ", "v20282780", "25440", "25440.0", "-25440", None]
    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=5, revision="0016") as (url, engine):
        with engine.begin() as connection:
            requests = connection.execute(sa.select(VerificationRequest.id).order_by(VerificationRequest.id)
                                          .limit(len(typed))).scalars().all()
            user = connection.execute(sa.select(sa.func.min(User.id))).scalar_one()
            assert len(requests) == len(typed)
            connection.execute(sa.insert(VerificationDecision), [
                {"request_id": request, "outcome": "verified", "method": "manual", "registry_record": record,
                 "decided_by": user} for request, record in zip(requests, typed, strict=True)])
        upgrade(url)
        with engine.connect() as connection:
            stored = connection.execute(sa.select(VerificationDecision.registry_record)
                                        .order_by(VerificationDecision.id)).scalars().all()
    assert stored == ["25440", "V20282780", "V20282780", "25440", "25440.0", "-25440", None]


@pytest.mark.parametrize("kind", DATABASES)
def test_0024_encrypts_the_follow_up_answers_already_stored_with_the_keys_it_is_given(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """Red team round 6, F7: answers stored in clear JSON before are encrypted by the upgrade and read back."""
    answers = [{"work": "in_placement", "wellbeing": 2, "notes": "diagnóstico de depresión"},
               {"work": "none", "wellbeing": 5}]
    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=6, revision="0023") as (url, engine):
        with engine.begin() as connection:
            ids = connection.execute(sa.select(FollowUp.id).order_by(FollowUp.id).limit(3)).scalars().all()
            assert len(ids) == 3
            cast = "CAST(:answers AS jsonb)" if kind == "postgresql" else ":answers"
            for follow_up_id, value in zip(ids, answers, strict=False):
                connection.execute(sa.text(f"UPDATE follow_ups SET answers = {cast} WHERE id = :id"),
                                   {"answers": json.dumps(value), "id": follow_up_id})
        upgrade(url, data_keys=data_keys)
        with engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT answers FROM follow_ups WHERE id IN (:a, :b, :c) ORDER BY id"),
                                        {"a": ids[0], "b": ids[1], "c": ids[2]}).scalars().all()
            read = connection.execute(sa.select(FollowUp.answers).where(FollowUp.id.in_(ids))
                                      .order_by(FollowUp.id)).scalars().all()
    assert [value.startswith("v1:") for value in stored[:2]] == [True, True] and stored[2] is None
    assert "depresión" not in stored[0] and "wellbeing" not in stored[1]
    assert read == [*answers, None]


@pytest.mark.parametrize("kind", DATABASES)
def test_0024_without_keys_leaves_the_answers_plain_and_readable(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    answer = {"work": "in_placement", "wellbeing": 3}
    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=6, revision="0023") as (url, engine):
        with engine.begin() as connection:
            follow_up_id = connection.execute(sa.select(sa.func.min(FollowUp.id))).scalar_one()
            cast = "CAST(:answers AS jsonb)" if kind == "postgresql" else ":answers"
            connection.execute(sa.text(f"UPDATE follow_ups SET answers = {cast} WHERE id = :id"),
                               {"answers": json.dumps(answer), "id": follow_up_id})
        upgrade(url)
        with engine.connect() as connection:
            stored = connection.execute(sa.text("SELECT answers FROM follow_ups WHERE id = :id"),
                                        {"id": follow_up_id}).scalar_one()
            read = connection.execute(sa.select(FollowUp.answers).where(FollowUp.id == follow_up_id)).scalar_one()
    assert not stored.startswith("v1:") and json.loads(stored) == answer and read == answer


@pytest.mark.parametrize("kind", DATABASES)
def test_0026_gives_each_existing_token_an_expiry_from_its_creation(kind: str, tmp_path: Path,
                                                                     data_keys: DataKeyring) -> None:
    """Tokens made before expiry existed expire 90 days after they were made: an old one stops working."""
    made = [datetime(2025, 1, 10, 8, 30, tzinfo=UTC), datetime.now(UTC).replace(microsecond=0)]
    with _at_head(kind, tmp_path, data_keys, "tokens0026") as (url, engine):
        with Session(engine) as session:
            agency = Agency(code="MX-INM", name="INM", kind="sending_authority", country="MEX")
            user = User(username="inm.officer", full_name="x", agency=agency, role="officer", password_hash="x")
            session.add_all([agency, user])
            session.flush()
            session.add_all([ApiToken(user_id=user.id, name=f"t{n}", token_hash=f"{n:064d}", created_at=when,
                                      expires_at=when, last_used_at=when) for n, when in enumerate(made)])
            session.commit()
        command.downgrade(alembic_config(url), "0025")
        upgrade(url, "0050")  # 0051 deletes every token made before it (they match no keyed digest)
        with Session(engine) as session:
            rows = session.execute(sa.select(ApiToken.created_at, ApiToken.expires_at, ApiToken.last_used_at)
                                   .order_by(ApiToken.id)).all()
        upgrade(url)
        with Session(engine) as session:
            left = session.execute(sa.select(sa.func.count()).select_from(ApiToken)).scalar_one()
    assert rows == [(when, when + timedelta(days=90), None) for when in made]
    assert left == 0


@pytest.mark.parametrize("kind", DATABASES)
def test_0030_keeps_the_registry_birth_date_of_decisions_verified_before(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """The children's rules read the verified registry record's birth date too (red team round 13): decisions verified
    before the column are given it from the candidates stored with them or with the linkage proposal on their request
    (a date known in part read as the youngest it may be); none where nobody stored the record."""
    def candidate(record: str, born: str) -> dict[str, object]:
        return {"registry_record": record, "probability": 0.9, "record": {"birth_date": born}, "agreement": {}}

    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=7, revision="0029") as (url, engine):
        with engine.begin() as connection:
            requests = connection.execute(sa.select(VerificationRequest.id).order_by(VerificationRequest.id)
                                          .limit(3)).scalars().all()
            user = connection.execute(sa.select(sa.func.min(User.id))).scalar_one()
            first, second, third = requests
            base = {"decided_by": user, "identity_fingerprint": None, "match_probability": None}
            connection.execute(sa.insert(VerificationDecision), [
                # Linkage proposed V30111222 for review; an officer verified it by hand.
                {**base, "request_id": first, "outcome": "review", "method": "linkage", "registry_record": "V30111222",
                 "candidates": [candidate("V-030111222", "2009-11-02"), candidate("V1", "1990-01-01")]},
                {**base, "request_id": first, "outcome": "verified", "method": "manual",
                 "registry_record": "V30111222", "candidates": None},
                # Verified by linkage with its own candidates, the registry's date known to the year only.
                {**base, "request_id": second, "outcome": "verified", "method": "linkage",
                 "registry_record": "777", "candidates": [candidate("777", "2008-00-00")]},
                # By hand, with nothing stored of the record.
                {**base, "request_id": third, "outcome": "verified", "method": "manual",
                 "registry_record": "888", "candidates": None}])
        upgrade(url)
        with engine.connect() as connection:
            stored = dict(connection.execute(
                sa.select(VerificationDecision.registry_record, VerificationDecision.registry_birth_date)
                .where(VerificationDecision.outcome == "verified",
                       VerificationDecision.registry_record.in_(["V30111222", "777", "888"]))).all())
    assert stored == {"V30111222": date(2009, 11, 2), "777": date(2008, 12, 31), "888": None}


@pytest.mark.parametrize("kind", DATABASES)
def test_0036_gives_each_placement_held_before_one_baseline_step_as_the_figures_counted_it(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """The public placements by status count whole batches of status steps (red team round 17, P-F1): the placements
    held before the steps were are published as they stood (they were, live), those a withdrawal ended as they stood
    at the withdrawal; the next step alone moves nothing."""
    with _filled_then_back_at(kind, tmp_path, data_keys, count=300, seed=5, revision="0035") as (url, engine):
        with engine.begin() as connection:
            first, second = connection.execute(sa.select(Placement.id).where(Placement.status == "started")
                                               .order_by(Placement.id).limit(2)).scalars().all()
            connection.execute(sa.update(Placement).where(Placement.id == first).values(
                status="dropped", reason=WITHDRAWN, started_on=date(2024, 1, 15), ended_on=date(2024, 5, 2)))
            connection.execute(sa.update(Placement).where(Placement.id == second).values(
                status="dropped", reason="se mudó", ended_on=date(2024, 5, 2)))
        upgrade(url)
        with Session(engine) as session:
            live = placements_by_status(session, None)
            steps = session.execute(sa.select(PlacementStep.placement_id, PlacementStep.status,
                                              PlacementStep.baseline)).all()
            held = session.execute(sa.select(sa.func.count()).select_from(Placement)).scalar_one()
            assert len(steps) == len({placement for placement, _status, _baseline in steps}) == held > 5
            assert all(baseline for *_step, baseline in steps)
            assert {placement: status for placement, status, _baseline in steps if placement in (first, second)} == {
                first: "started", second: "dropped"}
            assert released_placements(session) == live
            # The next step, one returnee's, is in no batch yet.
            started = session.execute(sa.select(Placement).where(Placement.status == "started")
                                      .order_by(Placement.id.desc()).limit(1)).scalar_one()
            started.status, started.ended_on, started.reason = "completed", date(2024, 6, 3), None
            session.commit()
            assert placements_by_status(session, None) != live
            assert released_placements(session) == live


@pytest.mark.parametrize("kind", DATABASES)
def test_0038_flags_the_records_of_documents_filed_before_as_another_persons(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """A document filed with the number another person's record held linked the two records as one person until red
    team round 18; it links nobody since, and filing one flags the pair (round 19, T-F1). Those on file from before
    get their flag, as filing writes it, so that a concern open on either still holds the other; not a pair flagged
    and undecided already."""
    with _filled_then_back_at(kind, tmp_path, data_keys, count=40, seed=11, revision="0037") as (url, engine):
        with engine.begin() as connection:
            first, second, third, fourth = connection.execute(sa.select(Case.id).order_by(Case.id).limit(4)
                                                              ).scalars().all()
            held = [{"code": "document_held_by_another", "field": "document_number", "message": "held"}]
            base = {"document_type": "P", "issuing_state": "VEN", "nationality": "VEN", "mrz": "P<VEN",
                    "emergency": False, "created_at": datetime.now(UTC)}
            connection.execute(sa.insert(TravelDocument), [
                {**base, "case_id": first, "number": "C7731QX55", "mrz_valid": True, "problems": []},
                {**base, "case_id": second, "number": "C7731QX55", "mrz_valid": False, "problems": held},
                {**base, "case_id": third, "number": "D8842RY66", "mrz_valid": True, "problems": []},
                {**base, "case_id": fourth, "number": "D8842RY66", "mrz_valid": False, "problems": held}])
            connection.execute(sa.insert(PossibleDuplicate), [
                {"case_id": fourth, "other_case_id": third, "score": 0.9, "reason": "same_name_and_birth_date",
                 "created_at": datetime.now(UTC)}])
        upgrade(url)
        with engine.connect() as connection:
            flags = connection.execute(sa.select(PossibleDuplicate.case_id, PossibleDuplicate.other_case_id).where(
                PossibleDuplicate.reason == "document_held_by_another")).all()
    assert [tuple(flag) for flag in flags] == [(second, first)]


@pytest.mark.parametrize("kind", DATABASES)
def test_0045_gives_each_accepted_flight_the_staff_its_acceptance_recorded(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """Red team round 80, F1: a flight accepted before the column gets the staff the receiving side accepted, as the
    acceptance's audit record holds it, not a figure the sending side lowered it to afterwards."""
    flights = sa.table("flights", sa.column("reference", sa.String), sa.column("escorts", sa.Integer))
    with _at_head(kind, tmp_path, data_keys, "staff0045") as (url, engine):
        with Session(engine) as session:
            fill(session, 20, seed=5)
            sending, receiving = (session.execute(sa.select(User).where(User.username == name)).scalar_one()
                                  for name in ("inm.officer", "saime.officer"))
            departure = datetime.now(UTC).replace(microsecond=0) + timedelta(days=9)
            made = [flight_service.propose_flight(session, sending, flight_service.FlightInput(
                flight_number=f"V0 45{n}", receiving_agency=receiving.agency.code, carrier="CONVIASA",
                seats=60, origin="TAP", destination="CCS", departure_utc=departure,
                arrival_utc=departure + timedelta(hours=5), escorts=6, medical_staff=n)) for n in range(3)]
            for flight in made[:2]:
                flight_service.accept_flight(session, receiving, flight)
            session.commit()
            references = [flight.reference for flight in made]
        command.downgrade(alembic_config(url), "0044")
        with engine.begin() as connection:
            connection.execute(flights.update().where(flights.c.reference == references[0]).values(escorts=3))
        upgrade(url)
        with engine.connect() as connection:
            rows = connection.execute(sa.select(Flight.reference, Flight.state, Flight.escorts,
                                                Flight.medical_staff, Flight.accepted_escorts,
                                                Flight.accepted_medical_staff)).all()
    stored = {row.reference: (row.escorts, row.accepted_escorts, row.accepted_medical_staff) for row in rows}
    assert [stored[reference] for reference in references] == [(3, 6, 0), (6, 6, 1), (6, None, None)]
    # A flight past its acceptance with no record of it (the benchmark's, written directly) gets its staff now.
    others = {row.reference: (row.accepted_escorts, row.accepted_medical_staff) for row in rows
              if row.reference not in references}
    assert others == {row.reference: (None, None) if row.state in ("proposed", "cancelled")
                      else (row.escorts, row.medical_staff) for row in rows if row.reference not in references}


@pytest.mark.parametrize("kind", DATABASES)
def test_0046_indexes_the_records_every_stored_decision_shows_as_the_service_keys_them(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """Red team round 81, F1 and F2: what linkage showed of a registry record is found whichever request it was shown
    for; decisions stored before get their records indexed, keyed as `record_digits` keys them."""
    spellings = ["V-030111222", "E20111222", "900001", "ci 7.135.786", "V-12345678-9", "A1B2"]
    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=8, revision="0045") as (url, engine):
        with engine.begin() as connection:
            request = connection.execute(sa.select(sa.func.min(VerificationRequest.id))).scalar_one()
            user = connection.execute(sa.select(sa.func.min(User.id))).scalar_one()
            connection.execute(sa.insert(VerificationDecision), [
                {"request_id": request, "outcome": "review", "method": "linkage", "registry_record": None,
                 "decided_by": user, "identity_fingerprint": None, "match_probability": None,
                 "candidates": [{"registry_record": spelling, "record": {}} for spelling in spellings[n::2]]
                 + [{"registry_record": "55" + str(n), "record": {"cedula": "V-3011100" + str(n)}}]}
                for n in range(2)])
        upgrade(url)
        with engine.connect() as connection:
            stored = connection.execute(sa.select(VerificationDecision.id, VerificationDecision.candidates)).all()
            indexed = set(connection.execute(sa.select(RegistryCandidate.decision_id, RegistryCandidate.record_key)))
    expected = {(decision_id, record_digits(key)) for decision_id, candidates in stored for c in candidates or []
                if isinstance(c, dict)
                for key in (c.get("registry_record"), (c.get("record") or {}).get("cedula")) if isinstance(key, str)}
    assert expected and indexed == expected


@pytest.mark.parametrize("kind", DATABASES)
def test_0048_puts_stored_references_in_capitals_where_none_of_the_agency_is_alike(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """Red team round 89, L1: references are stored in capitals; those stored before are put in capitals, except where
    another of the agency differs from them only in case (the one already in capitals, else the oldest, takes it)."""
    typed = ["abc-1", "ABC-1", "def-2", "Def-2", "ghi-3", "J 4 b"]
    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=9, revision="0047") as (url, engine):
        with engine.begin() as connection:
            agency = connection.execute(sa.select(Case.agency_id).group_by(Case.agency_id)
                                        .order_by(sa.func.count().desc()).limit(1)).scalar_one()
            ids = connection.execute(sa.select(Case.id).where(Case.agency_id == agency).order_by(Case.id)
                                     .limit(len(typed))).scalars().all()
            for case_id, reference in zip(ids, typed, strict=True):
                connection.execute(sa.update(Case).where(Case.id == case_id).values(agency_reference=reference))
            household = connection.execute(sa.insert(Household).values(agency_id=agency, reference="hog-7", version=1)
                                           .returning(Household.id)).scalar_one()
            others = dict(connection.execute(sa.select(Case.id, Case.agency_reference)
                                             .where(Case.id.not_in(ids))).all())
        upgrade(url)
        with engine.connect() as connection:
            stored = dict(connection.execute(sa.select(Case.id, Case.agency_reference)).all())
            code = connection.execute(sa.select(Household.reference).where(Household.id == household)).scalar_one()
    assert [stored[case_id] for case_id in ids] == ["abc-1", "ABC-1", "DEF-2", "Def-2", "GHI-3", "J 4 B"]
    assert code == "HOG-7"
    assert {case_id: stored[case_id] for case_id in others} == {
        case_id: reference.upper() for case_id, reference in others.items()}


@pytest.mark.parametrize("kind", DATABASES)
def test_0049_notes_the_rows_stored_and_a_change_made_below_it_is_named_after_the_upgrade(
        kind: str, tmp_path: Path, data_keys: DataKeyring) -> None:
    """Red team round 91, F3 to F6: the rows that carry a safeguard's decision are sealed on the trail (`audit.seals`).
    Migration 0049 notes the rows already stored (sealed by the first commit that seals, once): below it, with the
    triggers gone, a screening changed is not sealed by the upgrade and the next commit, and is named."""
    with _filled_then_back_at(kind, tmp_path, data_keys, count=60, seed=12, revision="0048") as (url, engine):
        with engine.begin() as connection:
            screening = connection.execute(sa.select(sa.func.max(Screening.id))).scalar_one()
            connection.execute(sa.update(Screening).where(Screening.id == screening).values(medical_escorts=7))
        upgrade(url)
        with Session(engine) as session:
            noted = session.execute(sa.select(sa.func.count()).select_from(SealedChange)
                                    .where(SealedChange.token == BASELINE)).scalar_one()
            session.add(SavedSearch(user_id=session.execute(sa.select(sa.func.min(User.id))).scalar_one(),
                                    list_name="cases", name="x", query="x"))
            session.commit()
            found = unsealed(session)
    assert noted > 40
    assert screening is not None
    assert [(problem.table, problem.row) for problem in found.problems] == [("screenings", screening)]
    assert found.rows == noted
