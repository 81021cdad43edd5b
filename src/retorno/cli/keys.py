"""Keys held outside the database: `retorno keys rotate-data` for the keys of sensitive text at rest."""

from __future__ import annotations

import contextlib

import typer

from retorno.audit.seals import reseal, unsealed
from retorno.audit.service import record
from retorno.cli.audit import said_unsealed
from retorno.cli.common import DatabaseUrl, console, err_console, refusals, settings, unit_of_work
from retorno.datakeys import add_data_key, key_file_of
from retorno.db import reencrypt_sensitive_text
from retorno.models import Base

keys_app = typer.Typer(help="Keys held outside the database (back them up with it).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("rotate-data")
def rotate_data(database_url: DatabaseUrl = None) -> None:
    """Add a new data key and re-encrypt all sensitive text with it, plain text left by older versions included.

    The key file (RETORNO_DATA_KEY_FILE, or `data_keys` in the data directory) keeps the old
    keys, so a backup taken before the rotation still reads; the re-encryption is one transaction.
    """
    config = settings(database_url)
    path = key_file_of(config)
    with refusals():
        # Re-encrypting writes every sealed row that holds a sensitive text, which its commit seals as it is: first,
        # every one must be as the trail sealed it, or the rotation would seal a forged one (red team round 92, F6).
        # (No key file yet: the first key of an installation, no text encrypted before it.)
        with unit_of_work(config) if path.exists() else contextlib.nullcontext() as session:
            if session is not None and (found := unsealed(session)).problems:
                said_unsealed(found)
                err_console.print("[red]no key added, nothing re-encrypted[/red]: the rows named above are not as the"
                                  " audit trail sealed them; find out why (`retorno audit verify`) before rotating")
                raise typer.Exit(1)
        # The key is saved before any row is encrypted with it, so no committed row needs an unsaved key.
        key_id = add_data_key(path)
        with unit_of_work(config) as session:
            moved = reencrypt_sensitive_text(session, Base.metadata)
            record(session, None, "data_keys.rotate", "data_keys", key_id, after={"reencrypted": moved})
        # Every row sealed again with the new key, once the re-encryption has committed (sealed as the service's
        # change): a later change's seal says the digest of the row before it with the newest key, which is compared
        # with the row's last seal only where that is the same key's.
        with unit_of_work(config) as session:
            resealed = reseal(session, f"data key {key_id} added")
    console.print(f"data key [bold]{key_id}[/bold] added to {path}; {sum(moved.values())} values re-encrypted, "
                  f"{resealed} safeguard records sealed again")
    for column, count in moved.items():
        console.print(f"  {column}: {count}")
