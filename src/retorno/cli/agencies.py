"""`retorno agencies add|list|disable`, and how every command that sets a password reads it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retorno.agencies.logins import disable_agency, enable_agency
from retorno.agencies.models import AGENCY_KINDS
from retorno.agencies.service import create_agency, list_agencies
from retorno.cli.common import DatabaseUrl, console, err_console, refusals, settings, unit_of_work

agencies_app = typer.Typer(help="Agencies: the first administrator's, then every other one.", no_args_is_help=True)

PasswordOption = Annotated[str | None, typer.Option(
    help="the password itself: visible in the process list and the shell's history; prefer the prompt "
         "or --password-file")]
PasswordFile = Annotated[Path | None, typer.Option(
    "--password-file", help="read the password from the first line of this file ('-': standard input)",
    allow_dash=True)]


def register(app: typer.Typer) -> None:
    app.add_typer(agencies_app, name="agencies")


def password_from(given: str | None, password_file: Path | None, *, confirm: bool = True) -> str:
    """The password from --password-file, else --password (with a warning), else asked for without echo."""
    if password_file is not None:
        text = sys.stdin.readline() if str(password_file) == "-" else password_file.read_text(encoding="utf-8")
        password = text.splitlines()[0] if text.splitlines() else ""
        if not password:
            raise typer.BadParameter(f"{password_file} holds no password on its first line",
                                     param_hint="--password-file")
        return password
    if given is not None:
        err_console.print("[yellow]warning[/yellow]: a password given with --password is visible to other users of"
                          " this machine (process list) and stays in the shell's history; use the prompt or"
                          " --password-file")
        return given
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


@agencies_app.command("add")
def agencies_add(
    code: Annotated[str, typer.Argument(help="short code, capitals (VE-SAIME, MX-INM, RET-ADMIN)")],
    kind: Annotated[str, typer.Option(help=", ".join(AGENCY_KINDS))],
    name: Annotated[str, typer.Option(help="the agency's full name")],
    country: Annotated[str, typer.Option(help="ISO 3166 three-letter code: VEN, MEX, USA...")],
    carrier_code: Annotated[str | None, typer.Option(help="a carrier's IATA airline designator (V0)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Add an agency (audited as 'system'); the first is the administrators' own (--kind administrator)."""
    with refusals(), unit_of_work(settings(database_url)) as session:
        agency = create_agency(session, None, code=code, name=name, kind=kind, country=country,
                               carrier_code=carrier_code)
    console.print(f"agency [bold]{agency.code}[/bold] added: {agency.kind}, {agency.country}")


@agencies_app.command("list")
def agencies_list(database_url: DatabaseUrl = None) -> None:
    """List the agencies with their users (active of all)."""
    with refusals(), unit_of_work(settings(database_url)) as session:
        listed = list_agencies(session)
    table = Table("código / code", "nombre / name", "tipo / kind", "país / country", "aerolínea / carrier",
                  "usuarios activos / active users")
    for row in listed:
        table.add_row(row.agency.code, row.agency.name, row.agency.kind, row.agency.country,
                      row.agency.carrier_code or "", f"{row.active_users}/{row.users}"
                      + ("" if row.agency.active else " (desactivada / disabled)"))
    console.print(table)


@agencies_app.command("disable")
def agencies_disable(code: str, reason: Annotated[str, typer.Option(help="why, for the audit trail")] = "",
                     database_url: DatabaseUrl = None) -> None:
    """Disable every user of an agency: their sessions and tokens end at once (audited as 'system')."""
    with refusals(), unit_of_work(settings(database_url)) as session:
        users = disable_agency(session, None, code, reason=reason)
    console.print(f"agency [bold]{code}[/bold]: {len(users)} user(s) disabled"
                  + (f" ({', '.join(u.username for u in users)})" if users else ""))


@agencies_app.command("enable")
def agencies_enable(code: str, reason: Annotated[str, typer.Option(help="why, for the audit trail")] = "",
                    database_url: DatabaseUrl = None) -> None:
    """Enable a disabled agency again (audited as 'system'); its users stay disabled until each is enabled."""
    with refusals(), unit_of_work(settings(database_url)) as session:
        enable_agency(session, None, code, reason=reason)
    console.print(f"agency [bold]{code}[/bold] enabled; its users stay disabled until each is enabled "
                  "(retorno users enable)")
