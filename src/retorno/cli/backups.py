"""`retorno db backup` and `retorno db restore`: a copy that restores, checked, and the keys to keep with it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.engine import make_url

from retorno.audit.seals import unsealed
from retorno.audit.signing import key_file
from retorno.audit.verify import verify_chain
from retorno.backups import Manifest, backup, count_differences, data_key_samples, restore
from retorno.cli.audit import said_off_trail, said_schema, said_unsealed
from retorno.cli.common import DatabaseUrl, console, err_console, refusals, settings, unit_of_work
from retorno.config import Settings
from retorno.datakeys import DataKeyError, key_file_of, keyring_for
from retorno.migrations import current_revisions, head_revisions, schema_differences
from retorno.models import Base
from retorno.screening.trail import off_trail
from retorno.verification import linkers

# The file `retorno verify --train` writes in the data directory (README "Verifying identity and nationality").
VERIFICATION_MODEL = "verification-model.json"


def register(db_app: typer.Typer) -> None:
    db_app.command("backup")(db_backup)
    db_app.command("restore")(db_restore)


def outside_the_database(config: Settings) -> list[str]:
    """What a backup of the database does not hold and the installation cannot do without, one line each."""
    audit_key = key_file(config)
    retired = sorted(audit_key.parent.glob(f"{audit_key.name}.retired-*.pub"))
    lines = [f"audit signing key: {audit_key} and {audit_key}.pub"
             + (f", and the retired public keys {', '.join(str(p) for p in retired)}" if retired else "")
             + " (without the public keys no checkpoint can be checked)",
             f"data keys: {key_file_of(config)} (every key in it: without them the sensitive text is lost)"]
    if os.environ.get("RETORNO_SECRET_KEY"):
        lines.append("secret key: the RETORNO_SECRET_KEY variable (browser sessions)")
    else:
        lines.append(f"secret key: {Path(config.data_dir) / 'secret_key'} (browser sessions)")
    linker = Path(config.data_dir) / linkers.KEY_FILE_NAME
    if linker.exists():
        lines.append(f"linking key: {linker} (or make a new one, and have a supervisor trust it again)")
    model = Path(config.data_dir) / VERIFICATION_MODEL
    if model.exists():
        lines.append(f"verification model: {model} (or train it again)")
    return lines


def _print_outside(config: Settings) -> None:
    console.print("Keep these with the backup; they live outside the database:")
    for line in outside_the_database(config):
        console.print(f"  - {escape(line)}", highlight=False, soft_wrap=True)


def db_backup(out: Annotated[Path, typer.Option("--out", help="the backup file to write (must not exist)")],
              database_url: DatabaseUrl = None) -> None:
    """Back the database up while the service runs (PostgreSQL: pg_dump custom format; SQLite: online backup)."""
    config = settings(database_url)
    with refusals():
        manifest = backup(config.database_url, out)
    console.print(f"backup written to [bold]{out}[/bold] ({out.stat().st_size:,} bytes): {manifest.engine}, schema"
                  f" {','.join(manifest.revisions) or 'none'}, {len(manifest.row_counts)} tables,"
                  f" {sum(manifest.row_counts.values()):,} rows, audit chain of {manifest.audit_records:,} records;"
                  f" row counts in {Manifest.path_for(out)}", highlight=False)
    _print_outside(config)


def db_restore(file: Annotated[Path, typer.Argument(help="a file written by 'retorno db backup'")],
               database_url: Annotated[str, typer.Option("--database-url", help="the EMPTY database to restore into")],
               ) -> None:
    """Restore a backup into an empty database, then check the audit chain, the row counts and the data keys."""
    config = settings(database_url)
    manifest = Manifest.load(file)
    with refusals():
        restore(file, config.database_url)
    console.print(f"restored {file} into {make_url(config.database_url).render_as_string(hide_password=True)}")
    problems: list[str] = []
    with refusals(), unit_of_work(config) as session:
        report = verify_chain(session)
        screenings = off_trail(session)
        seals = unsealed(session)
        connection = session.connection()
        schema = schema_differences(connection)
        differences = count_differences(manifest.row_counts, connection) if manifest else {}
        revisions = current_revisions(connection)
        keyring = keyring_for(config)
        for key_id, sample in sorted(data_key_samples(connection, Base.metadata).items()):
            try:
                keyring.decrypt(sample)
            except DataKeyError as error:
                problems.append(f"data key {key_id}: {error.message}")
    if report.ok:
        console.print(f"[green]audit chain intact[/green]: {report.records} records, {report.checkpoints} signed"
                      " checkpoints, with this installation's public keys")
    else:
        problems.append(f"audit chain broken at record {report.first_broken_seq}: {report.problem}")
    if not said_off_trail(screenings):
        problems.append("protection screenings stored otherwise than the audit trail says")
    if not said_unsealed(seals):
        problems.append("safeguard records stored otherwise than the audit trail sealed them")
    if not said_schema(schema):
        problems.append("tables changed from what the migrations make")
    if manifest is None:
        err_console.print(f"[yellow]warning[/yellow]: no {Manifest.path_for(file).name} beside the backup: the row"
                          " counts cannot be compared")
    elif differences:
        problems += [f"table {name}: {expected} rows in the backup, {found} restored"
                     for name, (expected, found) in differences.items()]
    else:
        console.print(f"[green]row counts match[/green]: {len(manifest.row_counts)} tables,"
                      f" {sum(manifest.row_counts.values()):,} rows")
    if set(revisions) != set(head_revisions()):
        console.print(f"schema at {','.join(revisions)}; run 'retorno db upgrade' to bring it to"
                      f" {','.join(head_revisions())}")
    _print_outside(config)
    if manifest is not None and manifest.engine == "postgresql":
        console.print("Owners and grants were not restored: run the GRANTs of README 'Audit trail keys' again.")
    if problems:
        for problem in problems:
            err_console.print(f"[red]problem[/red]: {escape(problem)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
