"""API shapes of travel documents and emergency travel documents."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from retorno.plaintext import Input


class DocumentIn(Input):
    model_config = ConfigDict(extra="forbid")

    mrz: str = Field(min_length=60, max_length=200, description="the machine readable zone, lines separated by \\n")


class WithdrawalIn(Input):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, description="why the document was filed in error (a supervisor's written "
                                                     "reason)")


class DocumentProblem(BaseModel):
    code: str
    field: str
    message: str


class DocumentOut(BaseModel):
    """A travel document as the reader's agency may see it (`agencies.visibility`, record type "document").

    Answered with `response_model_exclude_unset`: a field the reader may not see is absent.
    """

    id: int | None = Field(default=None, description="the document's identifier on the case (to withdraw it)")
    number: str | None = None
    type: str | None = Field(default=None, description="P passport, PE emergency travel document, ...")
    issuing_state: str | None = None
    expiry_date: date | None = None
    valid: bool | None = Field(default=None, description="filed without problems, not withdrawn, and checked against "
                                                         "the identity the case has now: false for a withdrawn "
                                                         "document, whatever its problems, and for one filed before "
                                                         "the case's identity changed (problem identity_changed)")
    problems: list[DocumentProblem] | None = None
    emergency: bool | None = None
    mrz: str | None = None
    case_state: str | None = Field(default=None, description="the case's state after the document was filed")
    withdrawn: bool | None = Field(default=None, description="withdrawn as filed in error: kept for the record, not "
                                                             "the person's document on file, and linking no records")
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None
