"""The `retorno` command line for operators: serve, demo, db, users, audit, import, bench, and more."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from retorno.cli import agencies, backups
from retorno.cli.agencies import PasswordFile, PasswordOption, password_from
from retorno.cli.common import (
    DatabaseUrl,
    PlainArguments,
    console,
    err_console,
    refusals,
    settings,
    unit_of_work,
)
from retorno.config import Settings

app = typer.Typer(help="Retorno: coordinated return flights and reintegration programmes.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=PlainArguments)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: each prints its figures as one JSON object on its last line.",
                        no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(bench_app, name="bench")

@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the schema to the latest version."""
    from retorno.migrations import upgrade
    config = settings(database_url)
    upgrade(config.database_url, data_keys=_data_keys_if_any(config))
    console.print(f"database at [bold]{_safe_url(config.database_url)}[/bold] is up to date")


def _data_keys_if_any(config: Settings) -> object | None:
    """The installation's data keys, for a revision that encrypts rows already stored; None when a key file named
    explicitly does not exist yet (those rows then stay plain text until `retorno keys rotate-data`)."""
    from retorno.datakeys import DataKeyError, keyring_for
    try:
        return keyring_for(config)
    except DataKeyError:
        return None


@db_app.command("check")
def db_check(database_url: DatabaseUrl = None) -> None:
    """Fail if the models and the migrations disagree."""
    from retorno.migrations import check
    check(settings(database_url).database_url)
    console.print("models and migrations agree")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


@users_app.command("add")
def users_add(username: str, agency: Annotated[str, typer.Option(help="agency code")],
              role: Annotated[str, typer.Option(help="viewer, officer or supervisor")],
              full_name: Annotated[str, typer.Option()] = "",
              password: PasswordOption = None, password_file: PasswordFile = None,
              database_url: DatabaseUrl = None) -> None:
    """Add a user to an agency (an operator's bootstrap action, audited as 'system'); asks for the password."""
    from retorno.agencies.service import create_user

    def body() -> None:
        secret = password_from(password, password_file)
        with unit_of_work(settings(database_url)) as session:
            create_user(session, None, username=username, full_name=full_name or username, agency_code=agency,
                        role=role, password=secret)
        console.print(f"user [bold]{username}[/bold] added to {agency} as {role}")
    with refusals():
        body()


@users_app.command("token")
def users_token(username: str, password: PasswordOption = None, password_file: PasswordFile = None,
                name: str = "cli",
                days: Annotated[int | None, typer.Option(help="days it works: at most, and by default, "
                                                              "RETORNO_TOKEN_DAYS")] = None,
                database_url: DatabaseUrl = None) -> None:
    """Issue a bearer token for system-to-system calls (throttled like the login page); it expires after
    RETORNO_TOKEN_DAYS days (90 by default) or the fewer --days asked for."""
    from retorno.agencies.logins import LoginPolicy, authenticate
    from retorno.agencies.service import create_token

    def body() -> None:
        config = settings(database_url)
        secret = password_from(password, password_file, confirm=False)
        with unit_of_work(config) as session:
            user = authenticate(session, username, secret, address="local", policy=LoginPolicy.of(config))
            token = create_token(session, user, name=name, longest_days=config.token_days, days=days)
        console.print(token)
    with refusals():
        body()


@users_app.command("tokens")
def users_tokens(username: str, database_url: DatabaseUrl = None) -> None:
    """List a user's API tokens: id, name, made, expires, last used, state (never the token itself)."""
    from retorno.agencies.service import list_tokens, token_state

    def body() -> None:
        from rich.table import Table
        table = Table("id", "name", "created", "expires", "last used", "state")
        with unit_of_work(settings(database_url)) as session:
            for row in list_tokens(session, None, username):
                table.add_row(str(row.id), escape(row.name), _moment(row.created_at), _moment(row.expires_at),
                              _moment(row.last_used_at), token_state(row))
        console.print(table)
    with refusals():
        body()


def _moment(value: object) -> str:
    from datetime import datetime
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else "-"


@users_app.command("revoke-token")
def users_revoke_token(username: str, token_id: int, database_url: DatabaseUrl = None) -> None:
    """Revoke one API token of a user (by its id, from `retorno users tokens`; audited as 'system'): it is refused
    from the next request on."""
    from retorno.agencies.service import revoke_token

    def body() -> None:
        with unit_of_work(settings(database_url)) as session:
            row = revoke_token(session, None, username, token_id)
            name = row.name
        console.print(f"token {token_id} ({escape(name)}) of [bold]{escape(username)}[/bold] revoked", highlight=False)
    with refusals():
        body()


@users_app.command("disable")
def users_disable(username: str, reason: Annotated[str, typer.Option(help="why, for the audit trail")] = "",
                  database_url: DatabaseUrl = None) -> None:
    """Disable a user: their login sessions and API tokens stop working at once (audited as 'system')."""
    from retorno.agencies.logins import disable_user

    def body() -> None:
        with unit_of_work(settings(database_url)) as session:
            disable_user(session, None, username, reason=reason)
        console.print(f"user [bold]{username}[/bold] disabled; their sessions and tokens are revoked")
    with refusals():
        body()


@users_app.command("enable")
def users_enable(username: str, reason: Annotated[str, typer.Option(help="why, for the audit trail")] = "",
                 database_url: DatabaseUrl = None) -> None:
    """Let a disabled user log in again, with the password they had (audited as 'system', with the reason)."""
    from retorno.agencies.logins import enable_user

    def body() -> None:
        with unit_of_work(settings(database_url)) as session:
            enable_user(session, None, username, reason=reason)
        console.print(f"user [bold]{username}[/bold] enabled; they log in with the password they had")
    with refusals():
        body()


@users_app.command("password")
def users_password(username: str, password: PasswordOption = None, password_file: PasswordFile = None,
                   database_url: DatabaseUrl = None) -> None:
    """Set a user's password (asked for); every login session of theirs ends and every API token is revoked
    (audited as 'system')."""
    from retorno.agencies.logins import change_password

    def body() -> None:
        secret = password_from(password, password_file)
        with unit_of_work(settings(database_url)) as session:
            change_password(session, None, username, secret)
        console.print(f"password of [bold]{username}[/bold] changed; their login sessions are ended and their API"
                      " tokens revoked")
    with refusals():
        body()


demo_app = typer.Typer(help="The demo: build it (the default), or check a database it built.")
app.add_typer(demo_app, name="demo")


@demo_app.callback(invoke_without_command=True)
def demo(ctx: typer.Context, database_url: DatabaseUrl = None, cases: int = 2000, seed: int = 2023,
         serve: Annotated[bool, typer.Option(help="start the service afterwards")] = False,
         host: str = "127.0.0.1", port: int = 8000) -> None:
    """Build a fresh database with the scenario of SPEC.md section 1, print the logins, optionally serve."""
    if ctx.invoked_subcommand is not None:
        return
    from retorno.demo.build import build_demo
    config = settings(database_url)
    logins, summary = build_demo(config, cases=cases, seed=seed)
    console.print(f"[bold]Retorno demo[/bold] ready: {_safe_url(config.database_url)}")
    from rich.table import Table
    table = Table("usuario / user", "contraseña / password", "agencia / agency", "rol / role")
    for login in logins:
        table.add_row(login.username, login.password, login.agency, login.role)
    console.print(table)
    console.print("These demo passwords exist only in this demo database.")
    console.print("[bold]What the demo holds[/bold] (as built; `retorno demo check` checks it):")
    for label, value in summary.figures().items():
        console.print(f"  {label}: {value}", highlight=False, markup=False, soft_wrap=True)
    if serve:
        _serve(config, host, port)


@demo_app.command("check")
def demo_check(database_url: DatabaseUrl = None) -> None:
    """Check a demo database independently; exits 1 on any problem.

    Families together, one head per household, minors with an adult, everyone travelling cleared
    and verified, states that agree with the flights, the audit chain (retorno.demo.check).
    """
    from retorno.demo.check import check_demo, format_report
    with unit_of_work(settings(database_url)) as session:
        report = check_demo(session)
    for line in format_report(report):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if not report.ok:
        err_console.print(f"demo check failed: {len(report.findings)} problem(s)")
        raise typer.Exit(1)
    console.print("demo check passed")


WORKER_HEALTHCHECK_SECONDS = 60


def _serve(config: Settings, host: str, port: int, *, workers: int = 1, graceful_seconds: int = 30,
           forwarded_allow_ips: str | None = None, log_level: str = "info") -> None:
    import os
    import shutil
    import tempfile

    import uvicorn

    from retorno.web.observability import MULTIPROCESS_DIR, log_config
    console.print(f"Retorno is at [bold]http://{host}:{port}/[/bold] (API docs: http://{host}:{port}/docs)")
    # Each worker builds its own app from the environment (web.app.app_from_env), so the settings
    # given on this command line travel there.
    os.environ["RETORNO_DATABASE_URL"] = config.database_url
    os.environ["RETORNO_DATA_DIR"] = str(config.data_dir)
    metrics_dir = None
    if workers > 1:
        # Prometheus figures of every worker, summed by whichever worker is scraped.
        metrics_dir = tempfile.mkdtemp(prefix="retorno-metrics-")
        os.environ[MULTIPROCESS_DIR] = metrics_dir
    try:
        # No "server: uvicorn" banner: what runs behind the service is nobody else's business. On SIGTERM
        # uvicorn stops accepting, lets requests in flight finish for up to `graceful_seconds`, then cancels
        # the rest (their transactions roll back: nothing is committed half). The supervisor of several
        # workers kills one that does not answer its ping in time, cutting every request it serves: 5 s
        # (uvicorn's default) is what a busy worker on a loaded machine took at startup and under a crowd
        # of logins (`retorno bench load`); only a worker hung for a minute is killed.
        uvicorn.run("retorno.web.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    timeout_graceful_shutdown=graceful_seconds, log_config=log_config(log_level),
                    log_level=log_level, access_log=False, server_header=False,
                    forwarded_allow_ips=forwarded_allow_ips, timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@app.command()
def serve(database_url: DatabaseUrl = None, host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(min=1, help="worker processes (about one per core)")] = 1,
          graceful_timeout: Annotated[int, typer.Option(
              min=0, help="seconds requests in flight may take to finish on shutdown (SIGTERM)")] = 30,
          forwarded_allow_ips: Annotated[str | None, typer.Option(
              envvar="FORWARDED_ALLOW_IPS",
              help="addresses of the reverse proxies whose X-Forwarded-For/-Proto are trusted (default 127.0.0.1)")
          ] = None,
          log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info") -> None:
    """Serve the web interface and the REST API (JSON log lines on standard error)."""
    from retorno.db import refresh_statistics
    from retorno.migrations import upgrade
    config = settings(database_url)
    upgrade(config.database_url, data_keys=_data_keys_if_any(config))
    refresh_statistics(config.database_url)
    _serve(config, host, port, workers=workers, graceful_seconds=graceful_timeout,
           forwarded_allow_ips=forwarded_allow_ips, log_level=log_level)


def register_subcommands() -> None:
    """Attach the commands that live next to their domains."""
    from retorno.cli import audit, bench, cases, flights, keys, operations, reintegration, reporting, verification
    agencies.register(app)
    backups.register(db_app)
    audit.register(audit_app)
    bench.register(bench_app)
    operations.register(app)
    verification.register(app)
    reporting.register(app)
    cases.register(app)
    flights.register(app)
    reintegration.register(app)
    keys.register(app)


register_subcommands()
