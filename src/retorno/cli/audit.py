"""`retorno audit`: verify the trail, export its signed head for monitors, rotate the signing key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from retorno.audit.checkpoints import ExportedCheckpoint, latest_checkpoint, rotate_signing_key
from retorno.audit.seals import SealCheck, unsealed
from retorno.audit.signing import KeyFile, signing_key
from retorno.audit.verify import verify_chain
from retorno.cli.common import ActAs, DatabaseUrl, acting_user, console, err_console, refusals, settings, unit_of_work
from retorno.migrations import schema_differences
from retorno.screening.trail import TrailCheck, off_trail


def register(audit_app: typer.Typer) -> None:
    audit_app.command("verify")(audit_verify)
    audit_app.command("checkpoint")(audit_checkpoint)
    audit_app.command("rotate-key")(audit_rotate_key)
    audit_app.command("new-key")(audit_new_key)


def audit_new_key(path: Annotated[Path, typer.Argument(help="where to create the signing key (must not exist)")]
                  ) -> None:
    """Create an installation's first signing key (and its .pub) for RETORNO_AUDIT_KEY_FILE."""
    if path.exists():
        raise typer.BadParameter(f"{path} exists; a key is replaced only by 'retorno audit rotate-key'")
    path.parent.mkdir(parents=True, exist_ok=True)
    public = KeyFile(path).public()
    console.print(f"signing key {public.key_id} written to {path} (public half {path}.pub)")


def audit_verify(
    against: Annotated[list[Path] | None, typer.Option(
        "--against", help="a checkpoint exported earlier (`retorno audit checkpoint`); repeatable")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check the hash chain and every signed checkpoint; with --against, that the log extends each export."""
    with refusals():
        exported = {str(path): ExportedCheckpoint.load(path) for path in against or []}
        with unit_of_work(settings(database_url)) as session:
            report = verify_chain(session, against=exported)
            screenings = off_trail(session)
            seals = unsealed(session)
            schema = schema_differences(session.connection())
    if report.ok:
        console.print(f"[green]audit chain intact[/green]: {report.records} records, {report.checkpoints} signed"
                      f" checkpoints, signed up to record {report.last_signed_seq}"
                      + (f"; it extends {len(exported)} exported checkpoint(s)" if exported else ""))
    else:
        err_console.print(f"[red]audit chain broken[/red] at record {report.first_broken_seq}:"
                          f" {escape(report.problem or '')}", highlight=False)
        for problem in report.problems[1:]:
            err_console.print(f"  record {problem.seq}: {escape(problem.message)}", highlight=False)
    told = [said_off_trail(screenings), said_unsealed(seals), said_schema(schema)]
    if not all(told) or not report.ok:
        raise typer.Exit(1)


def said_off_trail(check: TrailCheck) -> bool:
    """Print whether the protection screenings stored agree with the trail (`screening.trail.off_trail`); whether they
    do."""
    return _said([f"case {problem.case}, screening {problem.screening}: {problem.problem}"
                  for problem in check.problems],
                 f"[green]protection screenings as audited[/green]: {check.screenings} screenings and "
                 f"{check.resolutions} resolutions on the trail, stored as it says",
                 "protection screenings stored otherwise than the audit trail says")


def said_unsealed(check: SealCheck) -> bool:
    """Print whether the rows that carry a safeguard's decision are as the trail sealed them (`audit.seals`); whether
    they are."""
    return _said([f"{problem.table} {problem.row}: {problem.problem}" for problem in check.problems],
                 f"[green]safeguard records as sealed[/green]: {check.rows} rows stored as the trail's "
                 f"{check.seals} seals say",
                 "safeguard records stored otherwise than the audit trail sealed them")


def said_schema(differences: list[str]) -> bool:
    """Print whether the database's tables are as the migrations make them (`migrations.schema_differences`);
    whether they are."""
    return _said(differences, "[green]tables as the migrations make them[/green]",
                 "tables changed from what the migrations make")


def _said(problems: list[str], intact: str, broken: str) -> bool:
    """Print `intact` where nothing is named, else `broken`, the first 50 things named and how many more (red team
    round 93, F6: 113 named as 50); whether nothing was."""
    if not problems:
        console.print(intact)
        return True
    err_console.print(f"[red]{broken}[/red]: {len(problems)} (changed outside the service)", highlight=False)
    for problem in problems[:50]:
        err_console.print(f"  {escape(problem)}", highlight=False)
    if len(problems) > 50:
        err_console.print(f"  ... and {len(problems) - 50} more", highlight=False)
    return False


def audit_checkpoint(
    out: Annotated[Path | None, typer.Option("--out", help="write the JSON here (default: print it)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export the latest signed head (sequence, hash, time, key id, public key, signature) for a monitor to keep."""
    config = settings(database_url)
    with refusals(), unit_of_work(config) as session:
        exported = latest_checkpoint(session, signing_key(config).keyring())
    if out is None:
        print(exported.to_json(), end="")
        return
    out.write_text(exported.to_json(), encoding="utf-8")
    console.print(f"signed head of record {exported.seq} (key {exported.key_id}) written to {out}")


def audit_rotate_key(act_as: ActAs = None, database_url: DatabaseUrl = None) -> None:
    """Replace the signing key: the new public key is announced in a record signed with the old key."""
    config = settings(database_url)
    signer = signing_key(config)
    old_id: str | None = None
    try:
        with refusals(), unit_of_work(config) as session:
            actor = acting_user(session, act_as) if act_as else None
            old, new = rotate_signing_key(session, actor, signer)
            old_id = old.key_id
    except BaseException:
        if old_id is not None:
            signer.demote(old_id)
        raise
    signer.forget_retired(old.key_id)
    console.print(f"signing key {old.key_id} retired (public key kept at {signer.retired_public_path(old.key_id)});"
                  f" now signing with {new.key_id}")
