"""Operator commands that act on the service's data: import, template, verify, plan, match, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from retorno.cli.common import ActAs, DatabaseUrl, acting_user, console, refusals, report_import, settings, unit_of_work

import_app = typer.Typer(help="Import spreadsheets agencies already use (CSV, XLSX).", no_args_is_help=True)
template_app = typer.Typer(help="Blank spreadsheets to fill in, with a sheet documenting each column.",
                           no_args_is_help=True)



def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.add_typer(template_app, name="template")


@import_app.command("cases")
def import_cases_command(file: Path, agency: Annotated[str, typer.Option(help="the sending agency's code")],
                        act_as: ActAs = None, database_url: DatabaseUrl = None,
                        lang: Annotated[str, typer.Option(help="language of the report: es or en")] = "es") -> None:
    """Import a case list; a file with any bad row imports nothing and gets a report CSV next to it."""
    from retorno.travel.load import import_cases
    data = file.read_bytes()
    config = settings(database_url)
    with refusals(), unit_of_work(config) as session:
        actor = acting_user(session, act_as)
        if actor.agency.code != agency:
            raise typer.BadParameter(f"{actor.username} belongs to {actor.agency.code}, not {agency}")
        with console.status(f"checking and importing {file.name}…"):
            outcome = import_cases(session, actor, data, file.name, locale=lang, max_unpacked=config.max_unpacked_bytes,
                                   alike_elsewhere_a_day=config.alike_elsewhere_rows_a_day)
        if not outcome.ok:
            # Leave the transaction with nothing written, then report.
            session.rollback()
    report_import(file, outcome, lang, f"{outcome.created} created, {outcome.updated} updated, "
                  f"{outcome.unchanged} unchanged, {outcome.duplicates_flagged} possible duplicates flagged"
                  + (f"; columns not in the file, kept as stored for cases already held: "
                     f"{', '.join(outcome.report.absent.values())}" if outcome.report.absent else "")
                  # Whichever rule took them (a household joined, a hold on the person: red team round 55, F4, it
                  # said "so that their household travels together" of one a protection concern held): as the API's
                  # `taken_off_with` names them; each one's timeline says why.
                  + (f"; taken off a manifest (each case's timeline says why): {', '.join(outcome.taken_off)}"
                     if outcome.taken_off else ""))


@template_app.command("cases")
def template_cases(fmt: Annotated[str, typer.Option("--format", help="xlsx or csv")] = "xlsx",
                   lang: str = "es", output: Path | None = None) -> None:
    """Write the case-list template."""
    from retorno.cases.template import case_template
    if fmt not in ("xlsx", "csv"):
        raise typer.BadParameter("--format is xlsx or csv")
    path = output or Path(f"{'casos' if lang == 'es' else 'cases'}.{fmt}")
    path.write_bytes(case_template(fmt, lang))  # type: ignore[arg-type]
    console.print(f"template written to {path}")
