"""Security headers on every response, no inline script or style in any template, no server banner."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.factories import World
from tests.web.pages_helpers import login

TEMPLATES = Path(__file__).parents[2] / "src" / "retorno" / "web" / "templates"
INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)


def assert_hardened(response: object, *, cached: bool = False) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "style-src 'self'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert (headers.get("cache-control") == "no-store") is not cached
    assert "server" not in headers


def test_pages_api_answers_downloads_and_errors_carry_the_headers(client: TestClient, world: World) -> None:
    assert_hardened(client.get("/login"))
    assert_hardened(client.get("/estadisticas"))
    assert_hardened(client.get("/no/such/page"))
    assert_hardened(client.get("/api/v1/me"))  # a 401
    assert_hardened(client.get("/api/v1/cases", headers=world.headers("inm.officer")))
    assert_hardened(client.get("/api/v1/reports/public.csv", headers=world.headers("inm.officer")))
    login(client, "inm.officer")
    assert_hardened(client.get("/cases"))
    assert_hardened(client.get("/static/retorno.css"), cached=True)


def test_no_template_has_inline_script_or_style() -> None:
    found = {path.name: INLINE.findall(path.read_text()) for path in TEMPLATES.glob("*.html")}
    assert {name: hits for name, hits in found.items() if hits} == {}
    assert len(found) > 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_retorno_serve_sends_no_server_banner(tmp_path: Path) -> None:
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "retorno"), "serve", "--database-url", url, "--port", str(port)],
        env={"RETORNO_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    headers = response.headers
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("retorno serve did not start")
        assert headers.get("server") is None
        assert headers["x-content-type-options"] == "nosniff"
    finally:
        server.terminate()
        server.wait(timeout=20)
