"""Protection screenings, their supervisor resolutions, and best-interests determinations for children."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Mapper, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from retorno.db import Base, EncryptedText, utcnow

# SPEC.md section 3: anything but "cleared" blocks travel until a supervisor resolves it.
CONCERNS = {
    "pending_asylum_claim": ("solicitud de asilo o protección pendiente", "pending asylum or protection claim"),
    "recognised_refugee": ("refugiado reconocido", "recognised refugee"),
    "trafficking_victim": ("posible víctima de trata", "possible trafficking victim"),
    "unaccompanied_child": ("niño, niña o adolescente no acompañado o separado", "unaccompanied or separated child"),
    "medical_condition": ("condición médica", "medical condition"),
    "pregnancy": ("embarazo", "pregnancy"),
    "disability": ("discapacidad", "disability"),
}


class Screening(Base):
    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    screened_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    screened_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Empty list: cleared.
    concerns: Mapped[list[Any]]
    # Protection details: encrypted at rest (SPEC.md section 4.6), like the resolution's reason.
    notes: Mapped[str | None] = mapped_column(EncryptedText)
    # Medical escorts the person's condition requires on a flight (SPEC.md section 4.5).
    medical_escorts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        # The few screenings that raised a concern, for the supervisors' queue (inbox.service): a
        # partial index, which the queue's condition repeats word for word so both databases use it.
        sa.Index("ix_screenings_raised_concerns", "case_id",
                 postgresql_where=sa.text("jsonb_array_length(concerns) > 0"),
                 sqlite_where=sa.text("json_array_length(concerns) > 0")),
    )


class ScreeningResolution(Base):
    """A supervisor's written decision on a screening's concerns."""

    __tablename__ = "screening_resolutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(sa.ForeignKey("screenings.id"), index=True)
    resolved_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime] = mapped_column(default=utcnow)
    # travel_permitted lifts the block; withdrawn ends the case (e.g. protection granted).
    decision: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(EncryptedText)
    # The concern codes of the screening this resolution closes (SQL NULL, in older rows: all of them). Anything
    # else that is not a list (a JSON null, a string) closes nothing, read either way (`cases.facts`); the
    # database refuses it (the check below, migration 0014) and so does the model (`_names_its_concerns`).
    concerns: Mapped[list[Any] | None]


class _JSONFunction(GenericFunction[Any]):
    """A JSON function both databases have under two names (`names`, by dialect)."""

    inherit_cache = True
    names: ClassVar[dict[str, str]] = {}


@compiles(_JSONFunction)
def _json_function(element: _JSONFunction, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{element.names[compiler.dialect.name]}({compiler.process(element.clauses, **kw)})"


class json_length(_JSONFunction):
    """The number of elements of a JSON array column (named as SQL functions are)."""

    type = sa.Integer()
    inherit_cache = True
    names = {"postgresql": "jsonb_array_length", "sqlite": "json_array_length"}


class json_kind(_JSONFunction):
    """The kind of a JSON value: 'array', 'null', 'object', ..."""

    type = sa.String()
    inherit_cache = True
    names = {"postgresql": "jsonb_typeof", "sqlite": "json_type"}


cast(sa.Table, ScreeningResolution.__table__).append_constraint(sa.CheckConstraint(
    sa.or_(ScreeningResolution.concerns.is_(None), json_kind(ScreeningResolution.concerns) == "array"),
    name="concerns_array"))
# A screening's concerns are a list (empty: cleared). A JSON null or any other value would read as no concern
# at all, a person cleared by a value nobody wrote as a decision: the database refuses it (migration 0016) and
# so does the model (`_lists_its_concerns`).
cast(sa.Table, Screening.__table__).append_constraint(sa.CheckConstraint(
    json_kind(Screening.concerns) == "array", name="concerns_array"))


@sa.event.listens_for(ScreeningResolution, "before_insert")
@sa.event.listens_for(ScreeningResolution, "before_update")
def _names_its_concerns(_mapper: Mapper[Any], _connection: sa.Connection, target: ScreeningResolution) -> None:
    """A resolution is written naming the concerns it closes: None (a JSON null) or a resolution left without
    them would read as an unknown, which closes nothing. SQL NULL, the older rows' "all of them", is written
    only on purpose (`sa.null()`)."""
    if not isinstance(target.concerns, list | sa.Null):
        raise ValueError(f"a screening resolution names the concerns it closes as a list, not {target.concerns!r}")


@sa.event.listens_for(Screening, "before_insert")
@sa.event.listens_for(Screening, "before_update")
def _lists_its_concerns(_mapper: Mapper[Any], _connection: sa.Connection, target: Screening) -> None:
    """A screening is written with the list of concerns it raised: None or anything else that is no list would
    read as none raised, a clearance nobody decided."""
    if not isinstance(target.concerns, list):
        raise ValueError(f"a screening lists the concerns it raised, not {target.concerns!r}")


class BestInterestsDetermination(Base):
    """The recorded decision that lets an unaccompanied child travel, with the named receiving guardian."""

    __tablename__ = "best_interests_determinations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    decided_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[str] = mapped_column(EncryptedText)
    receiving_guardian: Mapped[str] = mapped_column(EncryptedText)
    # When an adult of the household waited with the child again (`screening.service.spend_determinations`): the
    # determination answered the separation it was recorded for, and counts no longer (red team round 68, F1).
    spent_at: Mapped[datetime | None] = mapped_column(default=None)


# The determinations that count: not spent.
COUNTING = BestInterestsDetermination.spent_at.is_(None)
