"""API shapes of a case: what comes in, and what each kind of agency may see of it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retorno.agencies.models import User
from retorno.agencies.visibility import cut, dates_state_change, state_of
from retorno.cases.models import Case
from retorno.errors import Forbidden, Term
from retorno.plaintext import Input, LocalizedMessage


class CaseCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency_reference: str = Field(min_length=1, max_length=60)
    given_names: str = Field(min_length=1, max_length=120)
    first_surname: str = Field(min_length=1, max_length=80)
    second_surname: str | None = Field(default=None, max_length=80)
    sex: Literal["M", "F", "X"]
    birth_date: date
    place_of_birth: str | None = Field(default=None, max_length=120)
    country_of_birth: str | None = Field(default=None, min_length=3, max_length=3)
    nationality: str = Field(min_length=3, max_length=3)
    national_id: str | None = Field(default=None, max_length=20)
    held_at: str = Field(min_length=1, max_length=120)
    nearest_airport: str | None = Field(default=None, min_length=3, max_length=3)
    detained_since: date
    household_reference: str | None = Field(default=None, max_length=60)
    relationship_to_head: str | None = Field(default=None, max_length=20)
    language: str = Field(default="es", max_length=3)
    contact: str | None = Field(default=None, max_length=120)
    notes: str | None = Field(default=None, max_length=2000)


class HouseholdCorrection(Input):
    """A supervisor's correction of the household a case belongs to (`travel.service.correct_household`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    household: str | None = Field(default=None, max_length=60, description=(
        "the agency's code of the household the case belongs to (a new code makes a new household); null: none"))
    relationship_to_head: str | None = Field(default=None, max_length=20)
    reason: str = Field(min_length=1, max_length=2000, description="why the household is corrected, in words")


class CaseUpdate(Input):
    """Declared fields an official corrects; a change to an identity field re-opens verification."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    given_names: str | None = Field(default=None, min_length=1, max_length=120)
    first_surname: str | None = Field(default=None, min_length=1, max_length=80)
    second_surname: str | None = Field(default=None, max_length=80)
    sex: Literal["M", "F", "X"] | None = None
    birth_date: date | None = None
    place_of_birth: str | None = Field(default=None, max_length=120)
    national_id: str | None = Field(default=None, max_length=20)
    held_at: str | None = Field(default=None, min_length=1, max_length=120)
    contact: str | None = Field(default=None, max_length=120)
    notes: str | None = Field(default=None, max_length=2000)


class CaseIdentity(BaseModel):
    """What the receiving authority needs to verify and approve: identity, not detention details."""

    model_config = ConfigDict(from_attributes=True)

    reference: str
    state: str
    given_names: str
    first_surname: str
    second_surname: str | None
    sex: str
    birth_date: date
    place_of_birth: str | None
    country_of_birth: str | None = None
    nationality: str
    national_id: str | None
    household: str | None = None


class CaseWarning(BaseModel):
    """Something worth a look that refuses nothing (a relationship the ages contradict), in the answer of a
    registration."""

    message: str
    localized: LocalizedMessage | None = None


class CaseFull(CaseIdentity):
    """The sending authority's view of its own case (protection details are a separate, audited read)."""

    agency: str
    agency_reference: str
    held_at: str
    nearest_airport: str | None
    detained_since: date
    language: str
    contact: str | None
    notes: str | None
    relationship_to_head: str | None
    registered_at: datetime
    # Told only to whoever sees protection (`agencies.visibility.visible_fields`): it moves with a concern raised.
    state_changed_at: datetime | None = None
    taken_off_with: list[str] | None = Field(default=None, description=(
        "in the answer of a registration, a correction or a withdrawal only, when it took cases of your agency off a "
        "manifest (a newcomer joining their household, a record linked to theirs, the case itself): their references; "
        "each is back to ready (or held) and alerted"))
    warnings: list[CaseWarning] | None = Field(default=None, description=(
        "in the answer of a registration only, when there is any: relationships to the household's head that the "
        "ages contradict (check the relationship or the birth date)"))


class Returnee(BaseModel):
    """A reintegration operator's view: an arrived returnee who consented, without travel or protection data."""

    reference: str
    state: str
    given_names: str
    first_surname: str
    second_surname: str | None
    sex: str
    birth_date: date
    contact: str | None


def household_shown(reader_agency: str, agency: str, reference: str | None) -> str | None:
    """A household's code as a reader is told it. Codes are an agency's own (ICE's H00072 and INM's H00072 are two
    families), so to a reader of another agency, who may see several agencies' cases (the receiving side, the other
    sending authority of the same country, a carrier), it is qualified by the agency's code, 'US-ICE/H00072', the
    form the safeguards name it by (`facts.household_key`); to the agency's own readers it stays bare (red team
    round 16, N1). The case list's filter takes both forms (`reporting.caselist.household_condition`)."""
    if reference is None:
        return None
    return reference if agency == reader_agency else f"{agency}/{reference}"


_SCHEMAS: dict[str, type[BaseModel]] = {"sending_authority": CaseFull, "receiving_authority": CaseIdentity,
                                         "reintegration_operator": Returnee}


def case_out(user: User, case: Case, *, state: str | None = None) -> CaseIdentity | CaseFull | Returnee:
    """The view of `case` that `user`'s agency kind is allowed (SPEC.md section 4.6), cut by `visibility`; its
    state as `user` is told it (`visibility.state_of`; `state`, when a list has told it already)."""
    schema = _SCHEMAS.get(user.agency.kind)
    if schema is None:
        raise Forbidden("a %(kind)s does not see individual cases", code="forbidden.case.read",
                        kind=Term("agency_kind", user.agency.kind))
    values = {name: getattr(case, name) for name in schema.model_fields
              if hasattr(case, name) and name not in ("household", "agency")}
    values.update(household=household_shown(user.agency.code, case.agency.code,
                                            case.household.reference if case.household else None),
                  agency=case.agency.code,
                  state=state if state is not None else state_of(user, case))
    if not dates_state_change(user, case.state):
        # An arrived case's last change, to the sending side, would date its reintegration steps.
        del values["state_changed_at"]
    return schema.model_validate(cut(user, "case", values))  # type: ignore[return-value]


def case_shown(user: User, case: Case, *, state: str | None = None) -> dict[str, Any]:
    """`case_out` as the fields a page or an export shows, by name: only those the reader may read (a field its
    agency kind's view has and `visibility` keeps from this reader is left out, not shown empty)."""
    return case_out(user, case, state=state).model_dump(exclude_unset=True)


# A case as the reader's agency kind sees it: the sending authority's full view, the receiving
# authority's identity view, or a reintegration operator's returnee view (never more than `case_out` gives).
CaseView = CaseFull | CaseIdentity | Returnee


class CaseListQuery(BaseModel):
    """The filters of the case list (every one optional, all must hold) and its order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str | None = Field(default=None, max_length=200,
                          description="a name (accents optional), a reference or a cédula")
    state: str | None = Field(default=None, max_length=30)
    concern: Literal["open", "none"] | None = Field(default=None, description=(
        "whether a protection concern of the case is open (officers who read screenings)"))
    held: str | None = Field(default=None, max_length=120, description="part of where the person is held")
    days_min: int | None = Field(default=None, ge=0, le=36_500, description="detained at least this many days")
    days_max: int | None = Field(default=None, ge=0, le=36_500, description="detained at most this many days")
    verification: Literal["none", "pending", "review", "verified", "rejected"] | None = None
    household: str | None = Field(default=None, max_length=100, description=(
        "the household: 'US-ICE/H00072' (the agency's code, then its household code), or the bare code of the "
        "reader's own agency"))
    flight: str | None = Field(default=None, max_length=40, description="on the manifest of this flight")
    airport: str | None = Field(default=None, min_length=3, max_length=3, description="nearest airport (IATA)")
    assigned: str | None = Field(default=None, max_length=80, description="'me', 'none' or a username")
    sort: str = Field(default="-registered", max_length=20, description=(
        "registered (the order of registration), reference, name, birth_date, national_id, state, held_at, detained, "
        "household or assigned; "
        "a leading '-' for descending"))
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=2**31 - 1)


class CasePage(BaseModel):
    total: int = Field(description="how many match; past the count cap, the cap + 1 (see total_capped)")
    total_capped: bool
    items: list[CaseView]


class CaseState(BaseModel):
    """A step taken on a case: its reference and the state it is in now."""

    case: str
    state: str


class TimelineEntry(BaseModel):
    """One audit record of a case's own history (the sending side that owns the case)."""

    seq: int
    at: datetime
    actor: str
    agency: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


class ImportProblem(BaseModel):
    row: int
    column: str
    value: str
    expected: str
    severity: str


class ProblemKind(BaseModel):
    severity: str
    column: str
    expected: str
    count: int


class ProblemSummary(BaseModel):
    problems: int
    listed: int
    bad_rows: int
    by_kind: list[ProblemKind]


class CaseImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    possible_duplicates: int
    columns_kept: list[str] = Field(description="the optional columns the file has none of (as the report names "
                                                "them): a case already held keeps what is stored in those fields; "
                                                "a column with an empty cell clears it")
    warnings: list[ImportProblem] = Field(description="at most the first 1,000")
    summary: ProblemSummary
    taken_off_with: list[str] = Field(default_factory=list, description=(
        "the cases of your agency the import took off a manifest (a new member joining their household, a record "
        "linked to theirs): back to ready, each alerted; the report warns of such a row at its household cell"))
    encoding: str | None = Field(default=None, description="the encoding a CSV file was read in: UTF-8, or, for a "
                                 "file without a single UTF-8 letter, Windows-1252 (Latin-1 for the bytes it leaves "
                                 "undefined); none for XLSX. A UTF-8 file with bytes of another encoding is refused")


class Reason(Input):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
