"""Writing a checked case list: all or nothing, idempotent, duplicates flagged for a person.

The file is checked first (`cases.rows.check`, pure); only a file without a single bad row is
written, in the caller's one transaction. New cases are written in bulk, column by column
(`db.insert_columns`: COPY on PostgreSQL, one executemany elsewhere), with their audit records in
one batch of the chain (`audit.service.record_columns`): one `case.register` record per case with
its declared fields, `state` and `import: true`, as the import always wrote them.

A row whose case already exists (same agency reference) is compared with the stored case; one
that changed goes, one row at a time, through `travel.service.update_case`, the action an
official's edit uses: an identity changed after verification re-opens verification and takes the
person off every manifest, audited before and after. Such rows are few (a corrected list), so
they keep that path; unchanged rows cost one comparison each. New members of a household that
may already be on a manifest take it off (`household_grew`), and the commit-time guard
(`travel.invariants`) re-checks every manifest the import touched.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import compress
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import action
from retorno.agencies.visibility import followed_after
from retorno.audit.models import AuditRecord
from retorno.audit.service import columns_to_record, record
from retorno.audit.versions import changed_by_hand
from retorno.cases import lifecycle
from retorno.cases.duplicates import ELSEWHERE, HeldCase, held_elsewhere
from retorno.cases.models import Case, Household, PossibleDuplicate
from retorno.cases.rows import COLUMNS, MESSAGES, CaseReport, CaseRow, CaseRows, CheckedCases, LockedIdentity, check
from retorno.cases.service import AUDITED_FIELDS, next_references, search_names
from retorno.config import Settings
from retorno.db import among, insert_columns, utcnow
from retorno.flights.models import ACTIVE_APPROVALS, NOT_YET_FLOWN_STATES, Flight, Passenger
from retorno.flights.service import LEAVING, locked_removal_missing, taken_off_in
from retorno.imports.rows import ImportOutcome, undone_by_file
from retorno.safeguards import IDENTITY_FIELDS
from retorno.travel import households, seats
from retorno.travel.duplicates import flag_other_kind_number_of_new, keep_decided_apart, keep_flags, records_alike
from retorno.travel.service import household_grew, passengers_now_minors, update_case

# Where each audited field of a case comes from in a row (the same name unless said here).
_ROW_FIELD = {name: name for name in AUDITED_FIELDS} | {
    "relationship_to_head": "relationship", "declared_document_type": "document_type",
    "declared_document_number": "document_number"}
_CHUNK = 5000


@dataclass
class CaseImportOutcome(ImportOutcome[CaseRow]):
    """What a case-list import did, and how many possible duplicates it kept for a person to decide."""

    report: CaseReport
    duplicates_flagged: int = 0
    # The references of the agency's cases the import took off a manifest (`flights.service.taken_off_in`).
    taken_off: list[str] = field(default_factory=list)


@dataclass
class _Held:
    """The cases already held that an import needs: the agency's own by its reference, and the country's; and, for
    duplicate checks, another country's alike to a row (`elsewhere`, by the name detection gives them)."""

    own: dict[str, int]
    people: list[HeldCase]
    ids: dict[str, int]
    elsewhere: dict[str, int]
    # The agency's own cases' registered nationality (with their reference), by its own reference.
    nationalities: dict[str, tuple[str, str]]
    # The agency's own cases' own reference, by their system reference (MX-2026-000123), which a household cell may
    # name as the pages and the API do.
    by_reference: dict[str, str] = field(default_factory=dict)


def _held_cases(session: Session, actor: User) -> _Held:
    """This agency's cases by its own reference, and every case of the country for duplicate checks.

    Our own cases are named by our own reference, so a row re-importing one is recognised as
    that case (an update), not as a possible duplicate of itself; others by their public reference.
    """
    country_agencies = sa.select(Agency.id).where(Agency.country == actor.agency.country)
    rows = session.execute(sa.select(
        Case.id, Case.agency_id, Case.agency_reference, Case.reference, Case.given_names, Case.first_surname,
        Case.second_surname, Case.birth_date, Case.national_id, Case.nationality, Case.sex)
        .where(Case.agency_id.in_(country_agencies))).all()
    held = _Held({}, [], {}, {}, {})
    for (case_id, agency_id, agency_reference, reference, given, first, second, born, national_id, nationality,
         sex) in rows:
        mine = agency_id == actor.agency_id
        name = agency_reference if mine else reference
        if mine:
            held.own[agency_reference] = case_id
            held.nationalities[agency_reference] = (reference, nationality)
            held.by_reference[reference] = agency_reference
        held.ids[name] = case_id
        held.people.append(HeldCase(name, given, first, second, born, national_id, sex=sex))
    return held


def _held_elsewhere(session: Session, actor: User, rows: CaseRows, held: _Held) -> list[HeldCase]:
    """Another country's cases alike to a row, for duplicate checks: the same person is often held by two states
    (detained in one, moved to the other), and a registration is compared so too (`travel.duplicates.records_alike`,
    off the birth-date and cédula indexes). Named by a name that says nothing of them
    (`cases.duplicates.held_elsewhere`: the report names that agency's case to nobody), noted in `held.elsewhere`."""
    country_agencies = sa.select(Agency.id).where(Agency.country == actor.agency.country)
    people = []
    for case_id, person in records_alike(session, rows.column("birth_date"), rows.column("national_id"),
                                         [Case.agency_id.not_in(country_agencies)]).items():
        name = held_elsewhere(case_id)
        held.elsewhere[name] = case_id
        people.append(person._replace(case_reference=name))
    return people


def _household_codes(session: Session, actor: User) -> set[str]:
    """The agency's household codes, made through any door."""
    return set(session.execute(sa.select(Household.reference).where(Household.agency_id == actor.agency_id))
               .scalars())


def _households_of(session: Session, actor: User, references: Sequence[str]) -> dict[str, str | None]:
    """Of the agency's own references given, those of cases it holds, each with its household's code (None without
    one): what `cases.rows` asks of the household cells that are both a case's reference and a household code."""
    found: dict[str, str | None] = {}
    for start in range(0, len(references), _CHUNK):
        found.update(session.execute(
            sa.select(Case.agency_reference, Household.reference)
            .outerjoin(Household, Household.id == Case.household_id)
            .where(Case.agency_id == actor.agency_id, Case.agency_reference.in_(references[start:start + _CHUNK])))
            .all())
    return found


def _households_aboard(session: Session, actor: User) -> tuple[dict[str, str], dict[str, str]]:
    """The agency's households with a member on a manifest of a flight not yet flown, each named as a household cell
    names it (its code, and each member's own reference), to the flight's reference: first those whom a newcomer would
    take off a locked manifest without both sides' consent (`travel.service.household_grew`,
    `flights.service.locked_removal_agreed`), then the others, whom a newcomer takes off.

    An import row adding someone to one of the first is refused at its cell with every other bad row (red team round
    20, V-F2: the whole file was refused, 409, once every other bad row was mended); one adding someone to one of the
    others is warned of at its cell, so that a check-only report tells it before the import does (red team round 32b,
    F2: the report was silent, and the members left the manifest)."""
    rows = session.execute(
        sa.select(Case, Flight, Passenger.boarding).join(Passenger, Passenger.case_id == Case.id)
        .join(Flight, Flight.id == Passenger.flight_id)
        .where(Case.agency_id == actor.agency_id,
               Passenger.approval.in_(ACTIVE_APPROVALS), Flight.state.in_(NOT_YET_FLOWN_STATES))).all()
    if not rows:
        return {}, {}
    # A household a member of which boarded is joined by nobody, consent or not (`households.problems`,
    # `household_boarded`): told so alone (red team round 54, F4: it was also told that consents would let the row in,
    # or that its boarded members would go back to 'ready').
    boarded = {case.household_id if case.household_id is not None else case.agency_reference
               for case, _, boarding in rows if boarding == "boarded"}
    aboard = [(case, flight) for case, flight, _ in rows
              if (case.household_id if case.household_id is not None else case.agency_reference) not in boarded]
    # A split household may be on two flights: each is named (red team round 41, L1: the warning named one, and the
    # import took the members off both). A case on a flight with no household is one by its own reference: a row
    # naming it makes it the head of a household the newcomer joins (red team round 42, M1: refused whole at the
    # write, not at its cell).
    on: dict[int, set[str]] = {}
    lone: dict[str, set[str]] = {}
    waiting: set[int] = set()
    lone_waiting: set[str] = set()
    for case, flight in aboard:
        missing = bool(locked_removal_missing(session, flight, case))
        if case.household_id is None:
            lone.setdefault(case.agency_reference, set()).add(flight.reference)
            if missing:
                lone_waiting.add(case.agency_reference)
            continue
        on.setdefault(case.household_id, set()).add(flight.reference)
        if missing:
            waiting.add(case.household_id)
    locked: dict[str, str] = {}
    taken: dict[str, str] = {}
    for household_id, code, member in session.execute(
            sa.select(Household.id, Household.reference, Case.agency_reference)
            .join(Case, Case.household_id == Household.id).where(among(Household.id, sorted(on)))):
        named = locked if household_id in waiting else taken
        named[code] = named[member] = ", ".join(sorted(on[household_id]))
    for reference, flights in lone.items():
        (locked if reference in lone_waiting else taken)[reference] = ", ".join(sorted(flights))
    return locked, taken


def _household_names(held: _Held, codes: set[str]) -> Callable[[str], bool]:
    """Whether a household cell names something the agency holds: one of its cases, by its own reference (a system
    reference is read as it, `cases.rows`), or one of its households by its code, made through any door (the API's
    and the pages' `household_reference`, an earlier import). Red team round 3: a household code made through the
    API, named by one row, was refused as naming nothing. Another agency's case names no household of this one."""
    return lambda name: name in held.own or name in codes


def _locked_identities(session: Session, actor: User) -> dict[str, LockedIdentity]:
    """This agency's cases of people who have boarded (still in their seat after being taken off too), found not a
    national, closed (withdrawn, unfit to fly), or on a locked manifest without both sides' consent to taking them off
    (`service.update_case`), by its own reference, with their identity as stored."""
    locked_states = [state for state in lifecycle.STATES if lifecycle.identity_locked(state)
                     or state in _LOCKED_CODES]
    rows = session.execute(sa.select(Case.agency_reference, Case.reference, Case.state,
                                     *(getattr(Case, name) for name in IDENTITY_FIELDS))
                           .where(Case.agency_id == actor.agency_id, Case.state.in_(sorted(locked_states)))).all()
    locked = {agency_reference: LockedIdentity(reference, dict(zip(IDENTITY_FIELDS, identity, strict=True)),
                                               _LOCKED_CODES.get(state, "identity_locked"))
              for agency_reference, reference, state, *identity in rows}
    # A passenger of a locked manifest whom both sides' supervisors have not yet agreed to take off: an identity
    # change would (`travel.service.update_case`), so its cell is refused with every other bad row, not the whole
    # file at the write, one case at a time (red team round 42, M1).
    for case, flight in session.execute(
            sa.select(Case, Flight).join(Passenger, Passenger.case_id == Case.id)
            .join(Flight, Flight.id == Passenger.flight_id)
            .where(Case.agency_id == actor.agency_id, Case.state == "manifested",
                   Passenger.approval.in_(ACTIVE_APPROVALS), Flight.state.in_(NOT_YET_FLOWN_STATES))).all():
        if case.agency_reference in locked and not locked[case.agency_reference].warns:
            continue
        identity = {name: getattr(case, name) for name in IDENTITY_FIELDS}
        if locked_removal_missing(session, flight, case):
            locked[case.agency_reference] = LockedIdentity(case.reference, identity, "identity_on_locked_manifest",
                                                           flight.reference)
        else:
            # Taken off by the change, as a registration's newcomer takes a household off: told first, at its cell
            # (red team round 42, L1: the check-only report was silent and the import took two people off).
            locked[case.agency_reference] = LockedIdentity(case.reference, identity, "identity_leaves_manifest",
                                                           flight.reference, warns=True)
    # A person taken off after boarding and still in their seat (`travel.service.leaving_an_aircraft`): boarded.
    for case in session.execute(sa.select(Case).join(Passenger, Passenger.case_id == Case.id).where(
            Case.agency_id == actor.agency_id, Passenger.boarding == LEAVING)).scalars():
        locked.setdefault(case.agency_reference, LockedIdentity(
            case.reference, {name: getattr(case, name) for name in IDENTITY_FIELDS}, "identity_locked"))
    return locked


# Why a held case's identity does not change, by its state (`service.update_case`); boarded: "identity_locked".
_LOCKED_CODES = {"not_national": "identity_decided", **dict.fromkeys(lifecycle.CLOSED_EXITS, "identity_closed")}


def _arrived_cases(session: Session, actor: User) -> dict[str, LockedIdentity]:
    """This agency's cases of people who have arrived (which the sending side no longer changes:
    `service.ensure_editable`), by its own reference, with their declared fields other than the identity as stored,
    by the column that declares each."""
    after = [state for state in lifecycle.STATES if followed_after(actor, state)]
    if not after:
        return {}
    fields = [name for name in AUDITED_FIELDS if name not in IDENTITY_FIELDS]
    rows = session.execute(sa.select(Case.agency_reference, Case.reference, *(getattr(Case, name) for name in fields))
                           .where(Case.agency_id == actor.agency_id, Case.state.in_(after))).all()
    return {agency_reference: LockedIdentity(reference, {_ROW_FIELD[name]: value for name, value in
                                                         zip(fields, stored, strict=True)})
            for agency_reference, reference, *stored in rows}


def _case_fields(row: CaseRow, fields: tuple[str, ...] = AUDITED_FIELDS) -> dict[str, Any]:
    """The audited fields of a case (those of `fields`) as the row declares them."""
    return {name: getattr(row, _ROW_FIELD[name]) for name in fields}


def _fields_in(report: CaseReport) -> tuple[str, ...]:
    """The audited fields the file declares: those of the columns it has. A column absent from the file leaves what
    is stored (`CaseReport.absent`), where a column with an empty cell clears it."""
    return tuple(name for name in AUDITED_FIELDS if _ROW_FIELD[name] not in report.absent)


def _stored(session: Session, ids: list[int], fields: tuple[str, ...]) -> dict[int, tuple[str, tuple[Any, ...]]]:
    """Per held case, its reference and its declared `fields` as stored."""
    stored: dict[int, tuple[str, tuple[Any, ...]]] = {}
    columns = [getattr(Case, name) for name in fields]
    for start in range(0, len(ids), _CHUNK):
        for case_id, reference, *values in session.execute(
                sa.select(Case.id, Case.reference, *columns).where(Case.id.in_(ids[start:start + _CHUNK]))).all():
            stored[case_id] = (reference, tuple(values))
    return stored


def _changed_rows(session: Session, rows: list[CaseRow], own: dict[str, int], fields: tuple[str, ...]
                  ) -> tuple[list[tuple[int, CaseRow]], int]:
    """The rows naming a held case whose declared `fields` differ from it (with its id); and how many do not."""
    ids = [own[row.case_reference] for row in rows]
    stored = _stored(session, ids, fields)
    changed = []
    for case_id, row in zip(ids, rows, strict=True):
        if stored[case_id][1] != tuple(getattr(row, _ROW_FIELD[name]) for name in fields):
            changed.append((case_id, row))
    return changed, len(rows) - len(changed)


def _refuse_changed_by_hand(session: Session, report: CaseReport, own: dict[str, int], locale: str) -> None:
    """A row may not change a field of a held case that an official changed by another door (a page, the API) since
    an import last wrote it: the file was made before that change and would undo it unseen (red team round 22, X-F1:
    a re-imported list put back a medical note and a custody place another agency's officer had just corrected, and a
    corrected birth date). Each such row is an error naming the fields, who changed them and when; nothing is
    written. The official corrects the cells to the case's current values, or makes the change on the case's page."""
    rows = report.rows
    if not isinstance(rows, CaseRows) or not rows:
        return
    again = [row for row in rows if row.case_reference in own]
    if not again:
        return
    fields = _fields_in(report)
    stored = _stored(session, [own[row.case_reference] for row in again], fields)
    differing = []
    for row in again:
        reference, values = stored[own[row.case_reference]]
        names = [name for name, value in zip(fields, values, strict=True) if getattr(row, _ROW_FIELD[name]) != value]
        if names:
            differing.append((row, reference, names))
    if not differing:
        return
    by_hand = changed_by_hand(session, "case", [reference for _, reference, _ in differing], "case.update")
    columns = {column.field: column for column in COLUMNS}
    for row, reference, names in differing:
        changes = by_hand.get(reference, {})
        undone = [name for name in names if name in changes]
        if undone:
            newest = max((changes[name] for name in undone), key=lambda change: change.at)
            cells = [(columns[_ROW_FIELD[name]], getattr(row, _ROW_FIELD[name])) for name in undone]
            report.problems.append(undone_by_file(row.row_number, reference, cells, newest.actor, newest.agency,
                                                  newest.at, locale))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while an import works: a file's rows are a hundred thousand
    lists, and each of the collector's full passes would walk them all, a tenth of the import's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@action("case.register")
def import_cases(session: Session, actor: User, data: bytes, filename: str, *, today: date | None = None,
                 locale: str = "es", max_unpacked: int = Settings.max_unpacked_bytes,
                 alike_elsewhere_a_day: int = Settings.alike_elsewhere_rows_a_day,
                 check_only: bool = False) -> CaseImportOutcome:
    """Validate a case list and, only if every row is good, create or update its cases (`max_unpacked`: the
    installation's bound on what a workbook unpacks to, `Settings.max_unpacked_bytes`).

    `check_only` (the import page's "check only" report): the file is imported as it would be, then everything is
    rolled back, the session's transaction included. A file that is not written (checked only, or refused) and
    whose report warns of a record alike that another country's agency holds leaves an audit record of what it
    told, and tells at most `alike_elsewhere_a_day` such rows a day to the officials of one agency, all together
    (`_told_alike_elsewhere`).
    """
    with _collector_paused():
        return _import_cases(session, actor, data, filename, today=today, locale=locale, max_unpacked=max_unpacked,
                             alike_elsewhere_a_day=alike_elsewhere_a_day, check_only=check_only)


# The rows a file not written (checked only, or refused) may be warned of, over a day, as alike to a record another
# country's agency holds, for the officials of one agency together (red team round 11, RE8811 F4; round 32b, F3): each
# such warning tells whether that country holds a person of the cédula or name and birth date typed, and a file is a
# hundred thousand of them. A written
# import's warnings are flags, audited on both records and decided by a supervisor, and are not counted here. How
# many: `Settings.alike_elsewhere_rows_a_day`, passed by each door as `alike_elsewhere_a_day`.
_ALIKE_ELSEWHERE = "import.alike_elsewhere"


def _import_cases(session: Session, actor: User, data: bytes, filename: str, *, today: date | None,
                  locale: str, max_unpacked: int, alike_elsewhere_a_day: int, check_only: bool) -> CaseImportOutcome:
    today = today or utcnow().date()
    held = _held_cases(session, actor)
    codes = _household_codes(session, actor)
    checked = check(data, filename, today=today, known_case_reference=_household_names(held, codes),
                    held=held.people, locked=_locked_identities(session, actor), arrived=_arrived_cases(session, actor),
                    nationalities=held.nationalities,
                    system_references=held.by_reference, household_codes=codes,
                    households_of=lambda references: _households_of(session, actor, references),
                    households_aboard=_households_aboard(session, actor), locale=locale,
                    max_unpacked=max_unpacked)
    report = checked.report
    if isinstance(report.rows, CaseRows) and report.rows:
        checked.compare_also(_held_elsewhere(session, actor, report.rows, held))
    _refuse_changed_by_hand(session, report, held.own, locale)
    if isinstance(report.rows, CaseRows) and report.rows:
        for problem in households.problems(session, actor, report.rows, held.own,
                                           household_column="household_reference" not in report.absent,
                                           relationship_column="relationship" not in report.absent,
                                           refused=checked.refused_names()):
            checked.refuse(problem.row_number, problem.field, problem.code, **problem.params)
    outcome = CaseImportOutcome(report)
    if not report.ok:
        # The whole report, possible duplicates included, for a file refused too. A file written looks for them
        # while the database takes its cases (`_insert_new`): on SQLite too, beside the thread that makes again the
        # indexes a large batch dropped (measured, 100,000 rows: 5.1-5.2 s against 5.6 s, peak 679 MB against 583).
        checked.find_duplicates()
    if not report.ok:
        _told_alike_elsewhere(session, actor, filename, report, held, a_day=alike_elsewhere_a_day,
                              check_only=check_only)
        return outcome
    _write(session, actor, filename, checked, held, outcome)
    outcome.taken_off = taken_off_in(session, actor)
    if check_only:
        _told_alike_elsewhere(session, actor, filename, report, held, a_day=alike_elsewhere_a_day, check_only=True)
    return outcome


def _told_alike_elsewhere(session: Session, actor: User, filename: str, report: CaseReport, held: _Held, *,
                          a_day: int, check_only: bool) -> None:
    """After a file that writes nothing (refused, or checked only, whose writing is rolled back here): write in a
    transaction of its own (the session's is rolled back first) an audit record of the rows its report warned of as
    alike to a record another country's agency holds (the rows, and those records' references, as a read of them),
    when there are any.

    Over a day the officials of one agency, together, are told of at most `a_day` such rows by files not written: past
    it, the report leaves out those warnings (the rows are flagged, audited, when the file is imported), and the audit
    record counts the rows left out (`withheld`). Red team round 11, RE8811 F4: a "check only" report, or an import
    refused for a bad row, told a US officer row by row whether Mexico's agencies held a person of a cédula typed,
    for as many cédulas as a file holds, and no audit record said so.
    """
    actor_id, agency_id = actor.id, actor.agency_id
    if check_only:
        session.rollback()
    alike = [duplicate for duplicate in report.duplicates
             if (duplicate.other_case_reference or "").startswith(ELSEWHERE)]
    if not alike:
        return
    since = utcnow() - timedelta(days=1)
    # The agency's officials share one allowance: a supervisor who made more users would multiply it (red team round
    # 32b, F3).
    colleagues = sa.select(User.id).where(User.agency_id == agency_id)
    told_before = sum(len((after or {}).get("rows", ())) for after in session.execute(
        sa.select(AuditRecord.after).where(AuditRecord.actor_id.in_(colleagues), AuditRecord.action == _ALIKE_ELSEWHERE,
                                           AuditRecord.at >= since)).scalars())
    rows = sorted({duplicate.row_number for duplicate in alike})
    allowed = max(a_day - told_before, 0)
    told, withheld = rows[:allowed], set(rows[allowed:])
    if withheld:
        phrases = tuple(MESSAGES["elsewhere_case"])
        report.problems[:] = [problem for problem in report.problems
                              if not (problem.row_number in withheld and problem.severity == "warning"
                                      and any(phrase in problem.expected for phrase in phrases))]
        report.duplicates = [duplicate for duplicate in report.duplicates
                             if not (duplicate.row_number in withheld and duplicate in alike)]
    ids = sorted({held.elsewhere[duplicate.other_case_reference or ""] for duplicate in alike
                  if duplicate.row_number not in withheld})
    references = list(session.execute(sa.select(Case.reference).where(among(Case.id, ids))
                                      .order_by(Case.reference)).scalars()) if ids else []
    session.rollback()
    with Session(bind=session.get_bind(), join_transaction_mode="create_savepoint") as separate:
        record(separate, separate.get(User, actor_id), _ALIKE_ELSEWHERE, "import", filename[:60],
               after={"written": False, "check_only": check_only, "rows": told, "other_cases": references,
                      "withheld": len(withheld)})
        separate.commit()


def _write(session: Session, actor: User, filename: str, checked: CheckedCases, held: _Held,
           outcome: CaseImportOutcome) -> None:
    """Write a case list every row of which is good (`_import_cases`)."""
    report = outcome.report
    rows = report.rows
    assert isinstance(rows, CaseRows)
    known = [reference in held.own for reference in rows.column("case_reference")]
    new_rows = rows.select([not held_before for held_before in known])
    again = list(compress(rows, known)) if any(known) else []
    if again and "household_reference" not in report.absent:  # without the column, no household is named
        households.refuse_moved(session, again, held.own, set(rows.column("household_reference")))
    fields = _fields_in(report)
    changed, outcome.unchanged = _changed_rows(session, again, held.own, fields) if again else ([], 0)
    # A case updated may be flagged too (`update_case` compares a corrected identity again): counted in the answer and
    # the import's audit record as a created row's flag is (red team round 8, L1: it said 0 with the flag written).
    flags_before = session.execute(sa.select(sa.func.max(PossibleDuplicate.id))).scalar() if changed else None
    for case_id, row in changed:
        case = session.get(Case, case_id)
        assert case is not None
        if update_case(session, actor, case, _case_fields(row, fields), imported=True):
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    # The possible duplicates (warnings) are looked for while the database takes the new cases.
    held_before = session.execute(sa.select(sa.func.coalesce(sa.func.max(Case.id), 0))).scalar_one()
    references, joined = _insert_new(session, actor, new_rows, held.own, checked)
    checked.find_duplicates()  # done already, unless no case was new
    # New members of households held before, which may be on a manifest (family unity holds for them too).
    created_here = set(references)
    for start in range(0, len(joined), _CHUNK):
        chunk = joined[start:start + _CHUNK]
        # The rows joining them are newcomers, each read by their own person too (red team round 57, F8).
        newcomers = [case_id for case_id, reference in session.execute(
            sa.select(Case.id, Case.reference).where(Case.household_id.in_(chunk))) if reference in created_here]
        household_grew(session, actor, chunk, newcomers=newcomers)
    outcome.created = len(references)
    outcome.created_references = references
    created = dict(zip(new_rows.column("row_number"), references, strict=True))
    if changed:
        session.flush()
        outcome.duplicates_flagged = session.execute(
            sa.select(sa.func.count()).select_from(PossibleDuplicate)
            .where(PossibleDuplicate.id > (flags_before or 0),
                   sa.or_(among(PossibleDuplicate.case_id, ids := [case_id for case_id, _ in changed]),
                          among(PossibleDuplicate.other_case_id, ids)))).scalar_one()
    outcome.duplicates_flagged += _flag_duplicates(session, actor, report, created, held.ids | held.elsewhere)
    if references:
        # A new row declaring a number another record holds under another kind of document (red team round 63, F1).
        outcome.duplicates_flagged += flag_other_kind_number_of_new(
            session, actor, zip(references, new_rows.column("document_number"), new_rows.column("document_type"),
                                new_rows.column("national_id"), strict=True), held_before)
    if references:
        # A new row's cédula or declared document may make two passengers' records one person: the link is kept, one
        # of them keeps the seat (red team round 14, L1: the whole file was refused); the rows changed went through
        # `update_case`, which does the same.
        seats.keep_one_seat_of_passengers(session, actor)
        # ... and a new row declaring a minor makes the person's records minors, a passenger's included (round 29b, F3).
        passengers_now_minors(session, actor)
        # ... and a new row linked to a record one country decided "different people" from another of its records is
        # flagged with that other when it is another country's (red team round 53, F1; the rows changed went through
        # `update_case`).
        outcome.duplicates_flagged += keep_decided_apart(session, actor)
        # ... and no new row ties a household of the file to someone aboard a flight that has left (red team round
        # 55, F1: a head with the cédula of a passenger in the air, and her child, were imported into one household).
        households.refuse_flown_apart_of_new(session, {reference: row for row, reference in created.items()})
    if outcome.created or outcome.updated:
        record(session, actor, "import.cases", "import", filename,
               after={"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged,
                      "possible_duplicates": outcome.duplicates_flagged, "columns_kept": sorted(report.absent)})


def _initial_version(table: sa.FromClause, count: int) -> dict[str, list[int]]:
    """A record people edit starts at version 1 (`db.Versioned`), written in bulk as the ORM would."""
    return {"version": [1] * count} if "version" in table.c else {}


def _insert_new(session: Session, actor: User, rows: CaseRows, held_own: dict[str, int], checked: CheckedCases
                ) -> tuple[list[str], list[int]]:
    """Insert new cases in bulk, column by column, each with its audit record.

    Returns their references, and the households held before that they joined. The file's possible
    duplicates (`checked`) are looked for while the database takes the cases.
    """
    if not rows:
        return [], []
    count = len(rows)
    household_ids, joined = households.write(session, actor, households.plan(
        session, actor, rows.column("household_reference"), rows.column("case_reference"), held_own))
    households.one_head_each(session, household_ids, rows.column("relationship"), joined)
    references = next_references(session, actor, count)
    now = utcnow()
    declared = {name: rows.column(source) for name, source in _ROW_FIELD.items()}
    table = Case.__table__
    # The audit records are hashed, and the possible duplicates found, while the database takes the cases
    # (the chain head is locked first).
    records = columns_to_record(session, actor, "case.register", "case", references,
                                after={**declared, "state": ["registered"] * count, "import": [True] * count})

    def meanwhile() -> None:
        records.chain()
        checked.find_duplicates()

    insert_columns(session, table, {
        **declared, "reference": references, "agency_id": [actor.agency_id] * count,
        "agency_reference": rows.column("case_reference"),
        "household_id": household_ids,
        "search_name": search_names(rows.column("given_names"), rows.column("first_surname"),
                                    rows.column("second_surname")),
        "state": ["registered"] * count, "state_changed_at": [now] * count, "registered_at": [now] * count,
        **_initial_version(table, count),
    }, meanwhile=meanwhile)
    records.write()
    return references, joined


def _flag_duplicates(session: Session, actor: User, report: CaseReport, created: dict[int, str],
                     held_ids: dict[str, int]) -> int:
    """Keep the possible duplicates among cases now held, for a person to decide."""
    involved = sorted({created[n] for dup in report.duplicates for n in (dup.row_number, dup.other_row_number)
                       if n in created})
    new_ids: dict[str, int] = {}
    for start in range(0, len(involved), _CHUNK):
        new_ids.update(session.execute(sa.select(Case.reference, Case.id).where(
            Case.reference.in_(involved[start:start + _CHUNK]))).all())
    rows = []
    for dup in report.duplicates:
        mine = new_ids.get(created.get(dup.row_number, ""))
        if dup.other_row_number is not None:
            other = new_ids.get(created.get(dup.other_row_number, ""))
        else:
            other = held_ids.get(dup.other_case_reference or "")
        if mine and other:
            rows.append({"case_id": mine, "other_case_id": other, "score": dup.score, "reason": dup.reason[:200],
                         "created_at": utcnow()})
    # As every door writes them (through the driver: the commit-time guard learns of both records), a passenger
    # now held back leaving every manifest.
    return keep_flags(session, actor, rows)
