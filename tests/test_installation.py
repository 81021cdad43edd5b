"""A real installation from nothing: the README's "Running it for real" run as written on an empty database,
then logging in as the users it created; agencies added, listed and disabled by the CLI and the API, audited."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.agencies.service import create_user
from retorno.audit.models import AuditRecord
from retorno.cli.main import app
from tests.factories import World, ok
from tests.scratch import empty_database

README = Path(__file__).parents[1] / "README.md"
RETORNO = Path(sys.executable).with_name("retorno")
runner = CliRunner()
PASSWORDS = {"admin": "primera clave del operador", "luis.mora": "una clave propia, larga",
             "ana.perez": "la clave de Ana, larga"}


def readme_section_commands(title: str) -> list[str]:
    """The lines of the first indented code block of a README section."""
    text = README.read_text(encoding="utf-8")
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"\n\n((?: {4}.*\n)+)", section)
    assert block is not None, f"README section {title!r} has no code block"
    return [line.strip() for line in block.group(1).splitlines()]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _serve(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """The README's `serve` line in a process of its own, on `port` (the one thing added to it)."""
    with log.open("wb") as sink:
        server = subprocess.Popen([str(RETORNO), *command, "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if _http("GET", f"http://127.0.0.1:{port}/readyz")[0] == 200:
                return server
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.3)
    server.kill()
    raise AssertionError("the service did not become ready in 60 s")


@pytest.mark.parametrize("engine", ["postgresql", "sqlite"])
def test_the_readme_installs_from_nothing_and_its_users_log_in(engine: str, tmp_path: Path) -> None:
    commands = readme_section_commands("Running it for real")
    with empty_database(engine, tmp_path, "install") as url:
        # This installation's own places for what the README puts in /var/lib and /etc.
        ours = {"RETORNO_DATABASE_URL": url, "RETORNO_DATA_DIR": str(tmp_path / "var"),
                "RETORNO_AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit_signing_key"),
                "RETORNO_DATA_KEY_FILE": str(tmp_path / "keys" / "data_keys")}
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETORNO_")}
        served = None
        for line in commands:
            if line.startswith("export "):
                name, value = line.removeprefix("export ").split("=", 1)
                env[name] = ours.get(name, value)
                continue
            # As the shell would: $NAME is the variable exported above.
            expanded = re.sub(r"\$(\w+)", lambda m: shlex.quote(env[m.group(1)]), line)
            program, *args = shlex.split(expanded)
            assert program == ".venv/bin/retorno", line
            if args[0] == "serve":
                served = args
                continue
            user = args[2] if args[:2] == ["users", "add"] else None
            password_input = f"{PASSWORDS[user]}\n{PASSWORDS[user]}\n" if user else None
            result = runner.invoke(app, args, env=env, input=password_input)
            assert result.exit_code == 0, f"{line}\n{result.output}"
            assert "warning" not in result.output
        assert set(ours) <= set(env) and served is not None
        port = _free_port()
        server = _serve(served, env, port, tmp_path / "serve.log")
        try:
            base = f"http://127.0.0.1:{port}"
            status, answer = _http("POST", f"{base}/api/v1/auth/token",
                                   {"username": "ana.perez", "password": PASSWORDS["ana.perez"]})
            assert status == 201, answer
            status, me = _http("GET", f"{base}/api/v1/me", token=answer["token"])
            assert status == 200 and me["agency"]["code"] == "VE-SAIME" and me["role"] == "officer"
            status, answer = _http("POST", f"{base}/api/v1/auth/token",
                                   {"username": "luis.mora", "password": PASSWORDS["luis.mora"]})
            assert status == 201, answer
            status, me = _http("GET", f"{base}/api/v1/me", token=answer["token"])
            assert status == 200 and me["agency"]["code"] == "VE-SAIME" and me["role"] == "supervisor"
            status, answer = _http("POST", f"{base}/api/v1/auth/token",
                                   {"username": "admin", "password": PASSWORDS["admin"]})
            assert status == 201, answer
            admin = answer["token"]
            status, created = _http("POST", f"{base}/api/v1/agencies",
                                    {"code": "CONVIASA", "name": "Conviasa", "kind": "carrier", "country": "VEN",
                                     "carrier_code": "V0"}, token=admin)
            assert status == 201, created
            # Its first supervisor comes from the console, as VE-SAIME's did, not from the administrator.
            status, refused = _http("POST", f"{base}/api/v1/users",
                                    {"username": "conviasa.jefe", "full_name": "Jefe", "agency": "CONVIASA",
                                     "role": "supervisor", "password": "una clave bastante larga"}, token=admin)
            assert status == 403 and refused["error"]["code"] == "forbidden.users.agency_manages_its_own", refused
            status, listed = _http("GET", f"{base}/api/v1/agencies", token=admin)
            assert status == 200
            assert [(a["code"], a["users"]) for a in listed] == [("CONVIASA", 0), ("RET-ADMIN", 1), ("VE-SAIME", 2)]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=40)
        assert server.returncode == 0, (tmp_path / "serve.log").read_text()
        # Its log: JSON lines, each request's with its id.
        requests = [json.loads(line) for line in (tmp_path / "serve.log").read_text().splitlines()
                    if '"retorno.http"' in line]
        assert len(requests) >= 5 and all(re.fullmatch(r"[0-9a-f]{32}", r["request_id"]) for r in requests)
        verified = runner.invoke(app, ["audit", "verify"], env=env)
        assert verified.exit_code == 0 and "intact" in verified.output, verified.output


def test_agency_commands_refuse_what_an_installation_cannot_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'retorno.sqlite3'}"
    env = {"RETORNO_DATA_DIR": str(tmp_path), "RETORNO_DATABASE_URL": url}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(app, list(args), env=env, input=stdin)

    assert run("agencies", "add", "VE-SAIME", "--kind", "receiving_authority", "--name", "SAIME",
               "--country", "VEN").exit_code == 0
    taken = run("agencies", "add", "VE-SAIME", "--kind", "monitor", "--name", "Otra", "--country", "VEN")
    assert taken.exit_code == 2 and "agency.code_taken" in taken.output
    carrier = run("agencies", "add", "AIR", "--kind", "carrier", "--name", "Air", "--country", "VEN")
    assert carrier.exit_code == 2 and "agency.carrier_code" in carrier.output
    country = run("agencies", "add", "XX", "--kind", "monitor", "--name", "X", "--country", "VE")
    assert country.exit_code == 2 and "agency.country" in country.output
    # From standard input, without a warning; on the command line, with one.
    piped = run("users", "add", "ana", "--agency", "VE-SAIME", "--role", "officer", "--password-file", "-",
                stdin="una clave bastante larga\n")
    assert piped.exit_code == 0 and "warning" not in piped.output, piped.output
    typed = run("users", "add", "luis", "--agency", "VE-SAIME", "--role", "viewer", "--password",
                "otra clave bastante larga")
    assert typed.exit_code == 0 and "warning" in typed.output and "process list" in typed.output
    listed = run("agencies", "list")
    assert "VE-SAIME" in listed.output and "2/2" in listed.output
    disabled = run("agencies", "disable", "VE-SAIME", "--reason", "convenio terminado")
    assert disabled.exit_code == 0 and "2 user(s) disabled" in disabled.output
    assert "0/2" in run("agencies", "list").output
    refused = run("users", "token", "ana", "--password-file", "-", stdin="una clave bastante larga\n")
    assert refused.exit_code == 2


def test_administrators_add_list_and_disable_agencies_through_the_api(client: TestClient, world: World,
                                                                     session: Session) -> None:
    admin = world.headers("admin")
    body = {"code": "VE-INTT", "name": "Instituto Nacional de Transporte Terrestre", "kind": "receiving_authority",
            "country": "VEN"}
    created = ok(client.post("/api/v1/agencies", json=body, headers=admin), 201)
    assert created == {**body, "carrier_code": None, "users": 0, "active_users": 0, "active": True}
    again = client.post("/api/v1/agencies", json=body, headers=admin)
    assert again.status_code == 422 and again.json()["error"]["code"] == "agency.code_taken"
    # Its users are not the administrator's to add (tests/functional/test_admin_stands_in.py): the console's.
    refused = client.post("/api/v1/users", json={"username": "intt.officer", "full_name": "Oficial",
                                                 "agency": "VE-INTT", "role": "officer",
                                                 "password": "una clave bastante larga"}, headers=admin)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden.users.agency_manages_its_own"
    create_user(session, None, username="intt.officer", full_name="Oficial", agency_code="VE-INTT", role="officer",
                password="una clave bastante larga")
    session.commit()
    listed = {a["code"]: a for a in ok(client.get("/api/v1/agencies", headers=admin))}
    assert listed["VE-INTT"]["active_users"] == 1 and listed["CONVIASA"]["carrier_code"] == "V0"
    assert client.get("/api/v1/agencies", headers=world.headers("saime.supervisor")).status_code == 403
    own = client.post("/api/v1/agencies/RET-ADMIN/disable", json={"reason": "prueba"}, headers=admin)
    assert own.status_code == 422 and own.json()["error"]["code"] == "agency.own"
    disabled = ok(client.post("/api/v1/agencies/VE-INTT/disable", json={"reason": "Se fusionó."}, headers=admin))
    assert disabled == {"code": "VE-INTT", "users_disabled": ["intt.officer"]}
    assert client.post("/api/v1/agencies/NO-SUCH/disable", json={}, headers=admin).status_code == 404
    trail = session.execute(sa.select(AuditRecord.action, AuditRecord.actor, AuditRecord.reason)
                            .where(AuditRecord.object_id.in_(["VE-INTT", "intt.officer"]))
                            .order_by(AuditRecord.seq)).all()
    assert [tuple(r) for r in trail] == [("agency.create", "admin", None), ("user.create", "system", None),
                                         ("user.disable", "admin", "Se fusionó."),
                                         ("agency.disable", "admin", "Se fusionó.")]
