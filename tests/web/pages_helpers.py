"""Driving the pages like a browser without one: log in through the form, post forms with their CSRF token."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, path: str = "/login") -> str:
    match = TOKEN.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(client), "next": "/"},
        follow_redirects=False,
    )
    return response


def post_form(client: TestClient, path: str, data: dict[str, Any], *, page: str = "/") -> Any:
    return client.post(path, data={**data, "csrf_token": csrf(client, page)}, follow_redirects=False)


def alert(html: str) -> str:
    match = re.search(r'role="alert">(.*?)</div>', html, re.S)
    return match.group(1) if match else ""
