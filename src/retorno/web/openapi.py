"""How the API describes itself: one error body for every refusal, and which refusals each operation documents.

The refusals every route shares follow from how it is declared and what it takes, so they are added
to the document here rather than repeated on each handler: 401 and 403 from the access declaration
(`web.access.ROUTES`), 413 and 422 from a request body, 422 from parameters, 404 from path parameters
(an address naming nothing), 400, 413 and 422 from a request body (400: one that is not JSON, or a
malformed upload). A handler declares the refusals of its own action with `errors(...)`: 409 for a step
its record's state does not allow or a safeguard refuses, 404 for a record named in the body, 429 for
a throttled login or a throttled lookup by a returnee's birth date (documented with its Retry-After header),
412 and 428 for an edit's If-Match (`web.preconditions`, which also documents the If-Match header and the ETag
of the answer).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from retorno.plaintext import LocalizedMessage
from retorno.web.access import PUBLIC, declared_access

ERROR_REF = "#/components/schemas/ErrorBody"
# FastAPI's own validation error shapes, which our handler never answers with (see web.app).
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")

DESCRIPTIONS = {
    400: "The request body could not be read: not JSON (UTF-8), or a malformed upload.",
    401: "No valid bearer token or login session.",
    403: "The caller's agency or role may not do this (or a cookie-authenticated change without CSRF token).",
    404: "Nothing of that name that the caller may see.",
    409: "The record's state does not allow this step now, or a safeguard refuses it (or another request "
         "changed the record at the same moment: edit_conflict.concurrent).",
    412: "The If-Match names a version of the record that is no longer current: someone changed it since it "
         "was read. `details` names who and when (changed_by, agency, changed_at) and the versions; nothing "
         "was written. A weak, unquoted or garbled tag matches no version: edit_conflict.unreadable_tag.",
    413: "The request body or upload is over the size limit.",
    422: "A parameter or a field of the body is invalid; `details` names each one.",
    428: "An If-Match header is required (the ETag a GET of the record answered with): an edit without one "
         "could overwrite a change the client has not seen.",
    429: "Too many wrong answers (a password, a returnee's birth date): try again after the Retry-After seconds.",
}
# The headers a refusal's answer carries, by status: every 429 says when to try again.
HEADERS = {429: {"Retry-After": {"description": "seconds to wait before trying again",
                                 "schema": {"type": "integer", "minimum": 0}}}}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(title="ErrorDetail")

    code: str = Field(description="stable, for programs: not_found, invalid_request, safeguard.children, ...")
    message: str = Field(description="for people, in English: what was refused and what to do")
    params: dict[str, Any] | None = Field(
        default=None, description="the values the message names (a case reference, a state code, a date...)")
    localized: LocalizedMessage | None = Field(
        default=None, description="the message in the language the request asked for with Accept-Language, when "
                                  "that is a supported one other than English (es)")
    details: Any = Field(description="what exactly: the invalid fields, the safeguards, the bad rows; null when "
                                     "the message says all")
    summary: dict[str, Any] | None = Field(default=None, description="an import's problems counted by kind")
    request_id: str | None = Field(description="the request's X-Request-ID, also on its log lines")


class ErrorBody(BaseModel):
    """The body of every refusal of the API."""

    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route for the refusals its own action can give."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status],
                     **({"headers": HEADERS[status]} if status in HEADERS else {})} for status in statuses}


def media(media_type: str, description: str, binary: bool = False) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route answering a file (CSV, PDF, PAXLST) rather than JSON."""
    schema = {"type": "string", "format": "binary"} if binary else {"type": "string"}
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


def shared_refusals(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """The refusals an operation can give by how it is declared and what it takes."""
    statuses = []
    declared = declared_access(method, path)
    if declared != PUBLIC:
        statuses += [401, 403]
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    if "requestBody" in operation:
        statuses += [400, 413]
    if parameters or "requestBody" in operation:
        statuses.append(422)
    return statuses


def document_refusals(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every API operation's refusals described by ErrorBody (FastAPI's 422 replaced)."""
    for path, operations in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in shared_refusals(method.upper(), path, operation):
                responses[str(status)] = {"description": DESCRIPTIONS[status],
                                          "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_VALIDATION:
        schemas.pop(name, None)
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    return document


def install(app: FastAPI) -> None:
    """Serve `app`'s OpenAPI document with the refusals of `document_refusals` (built once, on first request)."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_refusals(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
