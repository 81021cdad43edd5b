"""What every CLI command shares: settings, the database, and the acting user."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session
from typer.core import TyperGroup

from retorno import plaintext
from retorno.agencies.models import User
from retorno.agencies.permissions import can
from retorno.agencies.visibility import ends_at_arrival
from retorno.config import Settings
from retorno.errors import Forbidden, NotAuthenticated, RetornoError
from retorno.imports.rows import ImportOutcome
from retorno.installation import unit_of_work as unit_of_work  # each command's one transaction, for every CLI module
from retorno.web.refusals import told_to

console = Console()
err_console = Console(stderr=True)
# Whether the official acting in this command reads protection screenings (set by `acting_user`, read by
# `refusals`): until one is known, a refusal is told as to those who do not.
_READS_PROTECTION: ContextVar[bool] = ContextVar("reads_protection", default=False)
# And whether that official follows a case only until arrival (the sending side: `visibility.ends_at_arrival`).
_ENDS_AT_ARRIVAL: ContextVar[bool] = ContextVar("ends_at_arrival", default=False)
# And that official's agency, whose households a refusal names by their bare codes.
_AGENCY: ContextVar[str | None] = ContextVar("reader_agency", default=None)


def settings(database_url: str | None = None) -> Settings:
    return Settings.from_env(database_url=database_url) if database_url else Settings.from_env()


def acting_user(session: Session, username: str | None) -> User:
    """The operator a command acts as (`--as USER`); every action needs one for the audit trail."""
    if not username:
        raise NotAuthenticated("say who is acting with --as USERNAME (or RETORNO_USER)")
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotAuthenticated("no active user '%(username)s'", username=username)
    if user.must_change_password:
        # As at the API and the pages: a password someone else set lets its user do nothing else until they choose
        # their own (red team round 46a, F4: `--as` such a user edited an opportunity the API refused them).
        raise Forbidden("%(username)s must choose a new password on the page %(page)s first",
                        code="password_change_required", username=user.username, page="/account/password")
    _READS_PROTECTION.set(can(user, "screening.read_details"))
    _ENDS_AT_ARRIVAL.set(ends_at_arrival(user))
    _AGENCY.set(user.agency.code)
    return user


DatabaseUrl = Annotated[str | None, typer.Option("--database-url", envvar="RETORNO_DATABASE_URL",
                                                 help="SQLAlchemy URL; default: SQLite under the data directory")]
ActAs = Annotated[str | None, typer.Option("--as", envvar="RETORNO_USER",
                                           help="the official acting (audited as them)")]
# The version of a record an edit was made from, as the API's If-Match and the pages' forms name it: a change made
# since is refused, naming who made it and when (`audit.versions.check_version`).
VersionOption = Annotated[int | None, typer.Option(
    "--version", min=1, help="the version you read (the API's ETag, the number the command printed): refused, "
                             "naming who changed it since and when, if it has moved")]


class PlainArguments(TyperGroup):
    """The command line's one door for typed text: an argument holding a character no input may hold
    (`plaintext`) is refused before any command runs (exit 2), as the API, the pages and imports refuse it; so is
    a tab or a line break, except in the value of an option that runs over several lines (`--reason`, `--notes`,
    `--mrz`: `plaintext.single_line`)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        option: str | None = None
        for position, argument in enumerate(args, start=1):
            name, equals, _ = argument.partition("=")
            # The option a value belongs to: its own name (--reason=...), or the option just before it.
            field = name if argument.startswith("--") and equals else option
            option = argument if argument.startswith("--") and not equals else None
            if found := plaintext.unwanted(argument, one_line=plaintext.single_line(field)):
                raise typer.BadParameter(f"argument {position} holds control, bidirectional or invisible characters "
                                         f"({plaintext.named(found)}): no input may", ctx=ctx)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        """A file named on the command line that cannot be read or written is one line, `error (file): ...`, and
        exit code 2, whichever command met it (`retorno verify --requests` printed a traceback for a missing file)."""
        try:
            return super().invoke(ctx)
        except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            if exc.filename is None:
                raise
            err_console.print(f"[red]error[/red] (file): {escape(str(exc.filename))}: {escape(exc.strerror or '')}",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(2) from exc


@contextmanager
def refusals() -> Iterator[None]:
    """A refusal becomes one line `error (code): message` and exit code 2 (the transaction is rolled back).

    It is told as the acting official may be told it, as the pages and the API tell it (`web.refusals.told_to`,
    `safeguards.as_told`): which protection concern stops a person only to those who read screenings; to
    anyone else, and before the command knows who acts, that the screening is not cleared.
    """
    token = _READS_PROTECTION.set(False)
    arrival_token = _ENDS_AT_ARRIVAL.set(False)
    agency_token = _AGENCY.set(None)
    try:
        yield
    except RetornoError as exc:
        told = told_to(exc, reads_protection=_READS_PROTECTION.get(), ends_at_arrival=_ENDS_AT_ARRIVAL.get(),
                       agency=_AGENCY.get())
        err_console.print(f"[red]error[/red] ({told.code}): {escape(told.message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    finally:
        _READS_PROTECTION.reset(token)
        _ENDS_AT_ARRIVAL.reset(arrival_token)
        _AGENCY.reset(agency_token)


def key_value_table(title: str, values: dict[str, object]) -> Table:
    table = Table("campo / field", "valor / value", title=title, title_justify="left")
    for name, value in values.items():
        table.add_row(name, "" if value is None else str(value))
    return table


def print_figures(figures: Mapping[str, object]) -> None:
    """Benchmarks end with their figures as one JSON object on the last line."""
    print(json.dumps(figures, default=str))


def report_import(file: Path, outcome: ImportOutcome[Any], lang: str, summary: str) -> None:
    """Say how an import went: the report CSV beside the file if it has problems; the bad rows and exit
    code 1 when nothing was imported; else `summary` (what was created, updated, ...)."""
    report_path = file.with_name(file.stem + (".informe.csv" if lang == "es" else ".report.csv"))
    problems = outcome.report.problems
    if problems:
        report_path.write_text(outcome.report.to_csv(lang), encoding="utf-8")
    if not outcome.ok:
        errors = [p for p in problems if p.severity == "error"]
        table = Table("fila/row", "columna/column", "valor/value", "esperado/expected")
        for p in errors[:30]:
            table.add_row(escape(str(p.row_number)), escape(p.column), escape(p.value), escape(p.expected))
        err_console.print(table)
        err_console.print(f"[red]nothing imported[/red]: rows with errors: {len({p.row_number for p in errors})}; "
                          f"full report: {escape(str(report_path))}", highlight=False)
        raise typer.Exit(1)
    read_as = f" (read as {outcome.report.encoding})" if outcome.report.encoding else ""
    console.print(f"[green]imported[/green] {escape(file.name)}{read_as}: {escape(summary)}", highlight=False)
    if problems:
        console.print(f"warnings written to {escape(str(report_path))}", highlight=False)
