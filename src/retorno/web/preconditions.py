"""Conditional requests of the API: the ETag of a versioned record, and the If-Match an edit returns with it.

A GET of a record people edit answers with its version as a strong entity tag (`ETag: "7"`). An
edit that overwrites fields (PATCH, PUT) must send it back in `If-Match`: without it the answer is
428 Precondition Required, since the edit could silently overwrite a change the client never saw.
A step of a state machine (a POST: a placement step, a follow-up, a household split) honours an
If-Match it is sent but does not require one: the state machine already refuses a step taken from a
state that has moved on. Either way an If-Match naming another version is answered 412 with the
error body, naming who changed the record and when (`audit.versions.check_version`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from retorno.db import Versioned
from retorno.errors import PreconditionRequired, UnreadableTag
from retorno.web.openapi import errors


@dataclass(frozen=True)
class IfMatch:
    """The entity tag an If-Match header names: exactly one (`parse`)."""

    tags: tuple[str, ...]

    @classmethod
    def parse(cls, header: str) -> IfMatch:
        """The tags of an If-Match header; one carrying no tag at all, or `*`, is refused as a missing one (428).

        `*` ("whatever is current") is exactly the blind overwrite the header is there to prevent.
        """
        tags = tuple(tag.strip() for tag in header.split(",") if tag.strip())
        if not tags:
            raise PreconditionRequired(
                "this change needs an If-Match header with the ETag of the record as you read it (GET it first): "
                "without one it could overwrite a change you have not seen")
        if "*" in tags:
            raise PreconditionRequired(
                "If-Match: * is not accepted: send the ETag of the record as you read it (GET it first), so that "
                "the change cannot overwrite one you have not seen")
        if len(tags) > 1:
            # A list of versions is `*` by another name: one of them is current whatever changed since (red team
            # round 36, F5: If-Match "1", "2", ..., "199" overwrote a case without reading it).
            raise PreconditionRequired(
                "If-Match names one ETag, the record's as you read it (GET it first), not %(count)s: a list of "
                "versions would let the change overwrite one you have not seen", count=len(tags))
        return cls(tags)

    def expected_version(self, current: int) -> int:
        """The version the client edits from, for the action to check against `current`.

        The one tag must be written as the ETag is, a strong tag naming a version: a weak tag (`W/"7"`), an
        unquoted or garbled one, or one written otherwise (`"01"`: red team round 46a, F5, it was taken for "1")
        matches nothing (If-Match compares strongly, RFC 9110 section 13.1.1) and is refused as unreadable (412), not
        as version 0 changed since (red team round 51a, F5: `W/"3"` was told as "you opened version 0").
        """
        (tag,) = self.tags
        number = tag[1:-1]
        if not (3 <= len(tag) <= 22 and tag[0] == tag[-1] == '"' and number.isascii() and number.isdigit()
                and str(int(number)) == number):
            raise UnreadableTag(
                "If-Match %(tag)s names no version of this record: send the ETag exactly as reading the record gave "
                "it (a strong tag such as \"7\", not W/\"7\"); nothing was saved", tag=tag[:40],
                details={"if_match": tag[:40], "current_version": current})
        return int(number)


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, session: Session, record: Versioned) -> None:
    """Answer with `record`'s version as it will be committed (pending changes flushed first)."""
    session.flush()
    response.headers["ETag"] = etag(record.version)


def required_if_match(request: Request) -> IfMatch:
    return IfMatch.parse(request.headers.get("if-match", ""))


def optional_if_match(request: Request) -> IfMatch | None:
    """An If-Match the request carries (parsed as a required one: `*` refused); None without the header."""
    return IfMatch.parse(request.headers["if-match"]) if "if-match" in request.headers else None


IfMatchRequired = Annotated[IfMatch, Depends(required_if_match)]
IfMatchOptional = Annotated[IfMatch | None, Depends(optional_if_match)]

_IF_MATCH = {"name": "If-Match", "in": "header", "schema": {"type": "string"}}
_TAG = ("the ETag of the record as you read it (GET); `*` is refused (428), as is a header with no tag or more than "
        "one. A tag "
        "naming another version, a weak or a garbled one is answered 412, naming who changed the record since and "
        "when.")
# The header as the OpenAPI document describes it (it is read from the request, so that a missing
# one is a 428 and not a validation error).
IF_MATCH_REQUIRED: dict[str, Any] = {"parameters": [{
    **_IF_MATCH, "required": True, "description": f"Required: {_TAG} Without it: 428."}]}
IF_MATCH_OPTIONAL: dict[str, Any] = {"parameters": [{
    **_IF_MATCH, "required": False, "description": f"Optional (the step's state machine refuses stale steps): {_TAG}"}]}
ETAG = {"ETag": {"description": "the record's version, to send back in If-Match when changing it",
                 "schema": {"type": "string"}}}


def with_etag(status: int = 200, *refusals: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route answering a versioned record: its ETag header, and its own refusals."""
    return {status: {"headers": ETAG}, **errors(*refusals)}
