"""`retorno report public|bulletin`: the public statistics and the arrival bulletins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from retorno.cli.common import DatabaseUrl, console, refusals, settings, unit_of_work

report_app = typer.Typer(help="Public statistics and arrival bulletins.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


@report_app.command("public")
def report_public(
    fmt: Annotated[str, typer.Option("--format", help="csv (one table, HXL-tagged) or json (every table)")] = "csv",
    table: Annotated[str, typer.Option(help="returns, age_sex, placements or follow_up (CSV only)")] = "returns",
    output: Annotated[Path | None, typer.Option(help="write here instead of standard output")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The public statistics, small counts suppressed: what /estadisticas and its CSV links publish."""
    import json

    from retorno.reporting.service import public_report

    if fmt not in ("csv", "json"):
        raise typer.BadParameter("--format is csv or json")

    def body() -> None:
        with unit_of_work(settings(database_url)) as session:
            report = public_report(session)
            text = report.csv(table) if fmt == "csv" else json.dumps(report.as_json(), default=str, indent=2)
        if output is None:
            typer.echo(text, nl=fmt == "json")
        else:
            output.write_text(text, encoding="utf-8", newline="")
            console.print(f"written to {output}")
    with refusals():
        body()


@report_app.command("bulletin")
def report_bulletin(flight: str, lang: Annotated[str, typer.Option(help="es or en")] = "es",
                    database_url: DatabaseUrl = None) -> None:
    """The public sentence for an arrived flight: how many nationals landed, where from, on which day."""
    import sqlalchemy as sa

    from retorno.errors import NotFound
    from retorno.flights.models import Flight
    from retorno.flights.outputs import flight_bulletin

    def body() -> None:
        with unit_of_work(settings(database_url)) as session:
            found = session.execute(sa.select(Flight).where(Flight.reference == flight)).scalar_one_or_none()
            if found is None:
                raise NotFound("no flight %(flight)s", flight=flight)
            typer.echo(flight_bulletin(session, found, lang))
    with refusals():
        body()

