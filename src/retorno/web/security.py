"""What every response carries and every request is held to: security headers, body size limits, and one value per
key in a JSON body."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retorno.errors import InvalidInput, TooLarge

# Scripts and styles only from our own files: an injected <script> or style="" does nothing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The interactive API documentation (Swagger UI) loads its script and style from a CDN and starts
# with an inline script; it shows no personal data, and only these two addresses get this policy.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
# Where BodyLimit leaves its refusal in the request's scope.
REFUSAL = "retorno.body_refused"


def _headers_for(path: str) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", (DOCS_POLICY if path in DOCS_PATHS else CONTENT_SECURITY_POLICY).encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if not path.startswith("/static/"):
        # Pages, API answers and downloads carry personal data: no copy in any cache, the browser's included.
        headers.append((b"cache-control", b"no-store"))
    return headers


class SecurityHeaders:
    """Add the security headers to every HTTP response (replacing any the handler set, but for static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers_for(scope["path"])
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuse a request body over the limit with 413: `upload_bytes` for multipart uploads, `body_bytes` else.

    A declared Content-Length over the limit is refused before anything is read; a body sent without
    one is counted as it arrives. Either way the refusal is raised where the handler reads the body,
    so it is answered like any other error (JSON for the API, a page for people). It is also left in
    the scope under REFUSAL, for the body parsers that turn any error while reading into a 400.
    """

    def __init__(self, app: ASGIApp, *, upload_bytes: int, body_bytes: int) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.body_bytes = body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/")
        limit = self.upload_bytes if multipart else self.body_bytes
        declared = headers.get(b"content-length", b"")
        too_large = declared.isdigit() and int(declared) > limit
        received = 0

        def refusal() -> TooLarge:
            size = f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit} bytes"
            if multipart:
                return TooLarge("an upload may be at most %(size)s; send a smaller one",
                                details={"limit_bytes": limit}, size=size)
            return TooLarge("a request body may be at most %(size)s; send a smaller one",
                            details={"limit_bytes": limit}, size=size)

        def refuse() -> TooLarge:
            scope[REFUSAL] = refusal()
            return scope[REFUSAL]

        async def counted_receive() -> Message:
            nonlocal received
            if too_large:
                raise refuse()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise refuse()
            return message

        await self.app(scope, counted_receive, send)


class OneValuePerKey:
    """Refuse a JSON body that gives one key twice in an object (`{"concerns": [], "concerns": ["..."]}`) with 422
    `duplicate_key`, naming it: the service would keep the last, and a proxy, a log reader or a client library that
    keeps the first would read another request than the one recorded (red team round 56, L1: a screening's concerns
    were sent twice, the first list silently dropped). A body that is not JSON is left to the parser, which refuses
    it; the refusal is raised where the handler reads the body, as `BodyLimit`'s is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _json_body(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and (key := duplicate_key(b"".join(chunks))) is not None:
                    scope[REFUSAL] = InvalidInput("the request body gives the key '%(key)s' more than once in one "
                                                  "object: send each key once", code="duplicate_key", key=key)
                    raise scope[REFUSAL]
            return message

        await self.app(scope, checked_receive, send)


def _json_body(scope: Scope) -> bool:
    """Whether a request's body is read as JSON: a JSON content type (`application/json`, `…+json`), or none."""
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"").split(b";")[0].strip().lower()
    return not content_type or content_type == b"application/json" or (
        content_type.startswith(b"application/") and content_type.endswith(b"+json"))


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def duplicate_key(body: bytes) -> str | None:
    """The first key given twice in one object of a JSON body, or None (also for a body that is not JSON, which the
    parser refuses)."""
    def pairs(found: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in found:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
        return dict(found)

    try:
        json.loads(body, object_pairs_hook=pairs)
    except _Duplicate as duplicate:
        return duplicate.key
    except (ValueError, RecursionError):
        return None
    return None
