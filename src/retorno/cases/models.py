"""Cases (one person each) and households (who must travel together)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.functions import FunctionElement

from retorno.agencies.models import Agency
from retorno.db import Base, EncryptedText, Versioned, utcnow


class Household(Versioned, Base):
    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    reference: Mapped[str] = mapped_column(sa.String(60))

    __table_args__ = (sa.UniqueConstraint("agency_id", "reference", name="uq_households_agency_reference"),)


class Case(Versioned, Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public reference every agency uses in messages, e.g. MX-2023-000123.
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    # The sending agency's own reference, the key of idempotent imports.
    agency_reference: Mapped[str] = mapped_column(sa.String(60))
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    relationship_to_head: Mapped[str | None] = mapped_column(sa.String(20))
    given_names: Mapped[str] = mapped_column(sa.String(120))
    first_surname: Mapped[str] = mapped_column(sa.String(80))
    second_surname: Mapped[str | None] = mapped_column(sa.String(80))
    # Folded "given first second" for accent-insensitive search (a LIKE scan: no B-tree index helps).
    search_name: Mapped[str] = mapped_column(sa.String(300))
    sex: Mapped[str] = mapped_column(sa.String(1))
    birth_date: Mapped[date]
    place_of_birth: Mapped[str | None] = mapped_column(sa.String(120))
    country_of_birth: Mapped[str | None] = mapped_column(sa.String(3))
    nationality: Mapped[str] = mapped_column(sa.String(3))
    # A Venezuelan cédula as its letter and digits ('V12345678', `cases.rows.normalise_cedula`); the records of one
    # person are linked by its digits alone (`cedula_digits`), looked up by their index (ix_cases_national_id_digits).
    national_id: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    # A travel document as declared on intake; the checked one (with its MRZ) is a TravelDocument. Its number links
    # the records of one person (`facts._linked_pairs`), looked up by its index.
    declared_document_type: Mapped[str | None] = mapped_column(sa.String(4))
    declared_document_number: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    held_at: Mapped[str] = mapped_column(sa.String(120))
    nearest_airport: Mapped[str | None] = mapped_column(sa.String(3))
    detained_since: Mapped[date]
    language: Mapped[str] = mapped_column(sa.String(3), default="es")
    contact: Mapped[str | None] = mapped_column(sa.String(120))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(30))
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The official of the sending side who works this case now (set by `cases.service.assign_case`).
    assigned_to: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # When the oldest protection concern of this case that no resolution closed was raised; None when none
    # is open. Only an index for the lists that find such cases among many (`cases.facts.OPEN_CONCERN`),
    # kept by `cases.facts.mark_open_concerns` in the transaction that writes a screening or a resolution;
    # the safeguards decide on the screenings themselves.
    concern_open_since: Mapped[datetime | None]

    agency: Mapped[Agency] = relationship(lazy="joined")
    household: Mapped[Household | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("agency_id", "agency_reference", name="uq_cases_agency_reference"),
        # Dashboards count each side's cases by state and detention date; measured to keep pages fast.
        sa.Index("ix_cases_agency_state_detained", "agency_id", "state", "detained_since"),
        sa.Index("ix_cases_nationality_state", "nationality", "state"),
        # The case list sorted by a column (then the id, as `reporting.caselist` orders) reads its page off
        # one of these instead of sorting every case (migration 0011; at 500,000 cases 100 ms → 5 ms); days
        # detained also serves the filter by days. On PostgreSQL the migration also keeps statistics of
        # lower(held_at), so the planner knows how many a place filter keeps.
        sa.Index("ix_cases_detained_since_id", "detained_since", "id"),
        sa.Index("ix_cases_birth_date_id", "birth_date", "id"),
        sa.Index("ix_cases_name_id", "first_surname", "second_surname", "given_names", "id"),
        sa.Index("ix_cases_held_at_id", "held_at", "id"),
        # By state, then id: the list sorted by state reads its page off it (migration 0012 replaced the
        # index on the state alone, whose order within a state sorted hundreds of thousands of cases).
        sa.Index("ix_cases_state_id", "state", "id"),
        # The few cases with an open protection concern, oldest first, with what the supervisors' queue and the
        # counts filter them by (migration 0013): a partial index, read alone for a count.
        sa.Index("ix_cases_open_concern", "concern_open_since", "id", "agency_id", "state",
                 postgresql_where=sa.text("concern_open_since IS NOT NULL"),
                 sqlite_where=sa.text("concern_open_since IS NOT NULL")),
    )

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_names, self.first_surname, self.second_surname) if p)


# By name descending, where the cases without a second surname come last as they do ascending: read backwards,
# ix_cases_name_id puts them first, so PostgreSQL sorted every case (migration 0015). On SQLite, where NULL is
# the smallest value, ix_cases_name_id read backwards already has that order; the index is PostgreSQL's alone
# (`info["dialects"]`, which the migrations' comparison with the models honours too).
sa.Index("ix_cases_name_desc_id", Case.first_surname.desc(), Case.second_surname.desc().nulls_last(),
         Case.given_names.desc(), Case.id.desc(), info={"dialects": ("postgresql",)}).ddl_if(dialect="postgresql")


def cedula_digits(national_id: sa.SQLColumnExpression[str | None]) -> sa.ColumnElement[str]:
    """A national ID as the records of one person are linked by (red team M4, SPEC.md 4.1): without the letter of a
    cédula, E (a foreigner) or V ('E20282780' and 'V20282780' are one person: a foreigner who naturalises keeps the
    number and becomes V, and two agencies may record the letter differently). A false link holds both records back
    until a supervisor sorts it out; a missed one can send a person with an open protection claim back.

    Any national ID loses its leading E and V letters so, a non-Venezuelan one too (stored as typed, upper-case:
    `cases.service.normal_national_id`): records whose IDs were equal stay linked whatever their nationalities say,
    and one whose nationality is wrong still links. An ID of those letters alone has no digits to link by (''). The
    text is the one of the index (`'VE'` a literal, not a parameter), so that both databases use it.
    """
    return sa.func.ltrim(national_id, sa.literal_column("'VE'"))


# The letters around a registry record's digits and the digits of a record (`registry_record_digits`): literals
# (not parameters), as the text of the index is (migration 0039).
_LETTERS: sa.ColumnElement[str] = sa.literal_column("'ABCDEFGHIJKLMNOPQRSTUVWXYZ'")
_DIGIT_CHARACTERS: sa.ColumnElement[str] = sa.literal_column("'0123456789'")


class _TrimLetters(FunctionElement[str]):
    """A text without the letters A to Z at either end: `trim(x, letters)` on SQLite, `btrim(x, letters)` on
    PostgreSQL (one function whose first argument is the column, so that an index of it is the table's: SQLAlchemy
    does not find the column of a function of a function, `rtrim(ltrim(x))`)."""

    type = sa.String()
    inherit_cache = True
    name = "trim_letters"
    zeros = False  # and its leading zeros too (`_CardDigits`)


class _CardDigits(_TrimLetters):
    """An identity card's number without the letters A to Z at either end and its leading zeros:
    `ltrim(trim(x, letters), '0')`, one element whose first argument is the column, for its index."""

    inherit_cache = True
    name = "card_digits"
    zeros = True


def _trimmed(element: _TrimLetters, function: str, compiler: Any, **kw: Any) -> str:
    text = f"{function}({compiler.process(element.clauses, **kw)})"
    return f"ltrim({text}, '0')" if element.zeros else text


@compiles(_TrimLetters, "postgresql")
def _btrim(element: _TrimLetters, compiler: Any, **kw: Any) -> str:
    return _trimmed(element, "btrim", compiler, **kw)


@compiles(_TrimLetters)
def _trim(element: _TrimLetters, compiler: Any, **kw: Any) -> str:
    return _trimmed(element, "trim", compiler, **kw)


def identity_card_digits(number: sa.SQLColumnExpression[str | None]) -> sa.ColumnElement[str]:
    """An identity card's declared number as a cédula is linked by it (`identifiers.identity_card_digits` in SQL, the
    text of its index, migration 0042)."""
    return _CardDigits(number, _LETTERS)


def registry_record_key(record: sa.SQLColumnExpression[str | None]) -> sa.ColumnElement[str]:
    """A registry record without its letters at either end, what its index holds (`verification.models`, migration
    0039): two records `registry_record_digits` finds equal have the same key (`identifiers.registry_record_key`), so
    a comparison of records asks both (`same_registry_record`) and is read off the index. The text of the index: the
    letters a literal, not a parameter."""
    return _TrimLetters(record, _LETTERS)


def registry_record_digits(record: sa.SQLColumnExpression[str | None]) -> sa.ColumnElement[str]:
    """A registry record as records are compared by it (`identifiers.registry_record_digits` in SQL, the same text on
    both databases): the digits of a record of letters, digits and letters (`CI25956097`, `VEN25956097`, `V25956097`,
    `CIVEN25956097`, `25956097V`: `25956097`, red team rounds 18 R-F4, 19 T-F3, 21 W-F1), else the record without its
    leading E and V (`cedula_digits`). In `ltrim`, `rtrim` and `CASE` only; compared off the index of
    `registry_record_key`."""
    rest = registry_record_key(record)
    return sa.case((sa.and_(rest != sa.literal_column("''"),
                            sa.func.ltrim(rest, _DIGIT_CHARACTERS) == sa.literal_column("''")), rest),
                   else_=cedula_digits(record))


def same_registry_record(one: sa.SQLColumnExpression[str | None], other: sa.SQLColumnExpression[str | None]
                         ) -> sa.ColumnElement[bool]:
    """Whether two registry records are one (`verification.records.same_record` in SQL): their digits equal, asked
    with their keys (implied by it) so that the records are found off the index of `registry_record_key`."""
    return sa.and_(registry_record_key(one) == registry_record_key(other),
                   registry_record_digits(one) == registry_record_digits(other))


def national_id_digits(national_id: str | None) -> str:
    """`cedula_digits` in Python ('' for none)."""
    return (national_id or "").lstrip("VE")


# The records of one person by their cédula's digits (`cases.facts._linked_pairs`, the manifest guard; migration 0019).
sa.Index("ix_cases_national_id_digits", cedula_digits(Case.national_id))
# ... and by the digits of an identity card's number declared, as a cédula's and with letters around or leading zeros
# (`cases.facts._linked_pairs`; migration 0042).
sa.Index("ix_cases_declared_digits", cedula_digits(Case.declared_document_number))
sa.Index("ix_cases_declared_card_digits", identity_card_digits(Case.declared_document_number))


# A supervisor's decision on a possible duplicate: one person (their records linked for good, `facts._linked_pairs`)
# or two (the hold an undecided one puts on them ends, `facts.protection_status`).
ONE_PERSON = "same_person"
DIFFERENT_PEOPLE = "different_people"
DUPLICATE_DECISIONS = (ONE_PERSON, DIFFERENT_PEOPLE)


class PossibleDuplicate(Base):
    """Two cases that may be the same person, for a person to decide; never merged automatically.

    Undecided, it holds both back while either person has a protection concern open (`facts.protection_status`);
    a supervisor decides it once (`travel.duplicates.decide_duplicate`), with a written reason. Two records in two
    countries, which no supervisor may read both of, are two people only once a supervisor of each agency holding
    them has said so: the first says it (`first_decided_by`, `_at`, `first_decision_reason`), the second decides.
    """

    __tablename__ = "possible_duplicates"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    other_case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    score: Mapped[float]
    reason: Mapped[str] = mapped_column(sa.String(200))
    decision: Mapped[str | None] = mapped_column(sa.String(20))
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(EncryptedText)
    decided_at: Mapped[datetime | None]
    first_decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    first_decision_reason: Mapped[str | None] = mapped_column(EncryptedText)
    first_decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedSearch(Base):
    """A search of a list an official named to run again: the list's query string, per user."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # Which list the search is of ("cases"), so other lists can keep theirs in the same table.
    list_name: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(80))
    query: Mapped[str] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "list_name", "name", name="uq_saved_searches_user_list_name"),)
