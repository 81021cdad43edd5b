"""The case list an official works from: filters, sorting and pages over what the reader may see.

Every filter narrows `visible_case_conditions(user)`, so nothing outside the reader's cases is
listed, counted or exported. A filter on a field the reader may not see (the receiving side's
officers do not see where a person is held, nor whether a protection concern is open) is no search
key for them: it would confirm what it hides, so it is refused (`filters_for`).

Ordering is by one column and then the case id, so every page is stable; the page's ids are read
first and their rows after, and the count stops at COUNT_CAP, as in `cases.service.search_cases`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from retorno import identifiers, names
from retorno.agencies.models import Agency, User
from retorno.agencies.visibility import sees_protection, state_condition, state_order, states_meant, visible_fields
from retorno.audit.service import record
from retorno.cases import lifecycle
from retorno.cases.facts import OPEN_CONCERN
from retorno.cases.models import Case, Household
from retorno.cases.service import COUNT_CAP, identifier_matches, visible_case_conditions
from retorno.db import among, utcnow
from retorno.errors import InvalidInput
from retorno.flights.models import ACTIVE_APPROVALS, Flight, Passenger
from retorno.flights.service import visible_flights
from retorno.verification.models import VerificationDecision, VerificationRequest

VERIFICATION_STATUSES = ("none", "pending", "review", "verified", "rejected")
CONCERN_FILTERS = ("open", "none")
# Sortable columns of the list: name → the case (or household) columns it orders by.
SORTS = ("registered", "reference", "name", "birth_date", "national_id", "state", "held_at", "detained", "household",
         "assigned")
# Newest first. References are drawn at random (`cases.service.next_references`) and order nothing; the order of
# registration is the row id's, which references had given before (so no reader learns an order they did not).
DEFAULT_SORT = "-registered"
# A case field each filter reads: without it in the reader's visible fields, the filter is theirs to miss.
_NEEDS_FIELD = {"held": "held_at", "days_min": "detained_since", "days_max": "detained_since",
                "household": "household", "national_id": "national_id"}
_SORT_NEEDS_FIELD = {"held_at": "held_at", "detained": "detained_since", "household": "household",
                     "national_id": "national_id", "birth_date": "birth_date"}


@dataclass(frozen=True)
class CaseFilter:
    """What an official asks of the case list; every field optional, all of them must hold."""

    text: str | None = None
    state: str | None = None
    concern: str | None = None
    held: str | None = None
    days_min: int | None = None
    days_max: int | None = None
    verification: str | None = None
    household: str | None = None
    flight: str | None = None
    assigned: str | None = None
    airport: str | None = None

    def used(self) -> dict[str, Any]:
        """The filters given (for a link, a saved search, an audit record)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, "")}


def available_filters(user: User) -> frozenset[str]:
    """The filters `user` may use: those over fields and facts their agency kind may see."""
    seen = visible_fields(user, "case")
    names_ = {f.name for f in fields(CaseFilter)} - {"concern", "assigned", "airport"}
    allowed = {name for name in names_ if _NEEDS_FIELD.get(name, "reference") in seen}
    if user.agency.kind == "reintegration_operator":
        allowed -= {"verification", "flight"}
    if sees_protection(user):
        # Whether a concern is open is protection information: the few who read screenings.
        allowed.add("concern")
    if user.agency.kind == "sending_authority":
        allowed |= {"assigned", "airport"}
    return frozenset(allowed)


def available_sorts(user: User) -> tuple[str, ...]:
    seen = visible_fields(user, "case")
    return tuple(s for s in SORTS if _SORT_NEEDS_FIELD.get(s, "reference") in seen
                 and (s != "assigned" or user.agency.kind == "sending_authority"))


def check_filter(user: User, wanted: CaseFilter, sort: str = DEFAULT_SORT) -> None:
    """Refuse a filter or sort over what `user` may not see, or a value no list holds."""
    given = set(wanted.used())
    if not_yours := sorted(given - available_filters(user)):
        raise InvalidInput("these filters are not available to your agency: %(not_yours)s",
                           code="filter_not_available", details={"filters": not_yours}, not_yours=", ".join(not_yours))
    if wanted.state is not None and wanted.state not in lifecycle.STATES:
        raise InvalidInput("state '%(state)s' is not a case state", code="invalid_filter", state=wanted.state)
    if wanted.state is not None:
        # A state the reader is not told (the sending side's after arrival) is refused (`states_meant`).
        states_meant(user, wanted.state)
    if wanted.concern is not None and wanted.concern not in CONCERN_FILTERS:
        raise InvalidInput("concern is 'open' or 'none'", code="invalid_filter")
    if wanted.verification is not None and wanted.verification not in VERIFICATION_STATUSES:
        raise InvalidInput("verification is one of %(statuses)s", code="invalid_filter",
                           statuses=", ".join(VERIFICATION_STATUSES))
    for value in (wanted.days_min, wanted.days_max):
        if value is not None and not 0 <= value <= 36_500:
            raise InvalidInput("days detained run from 0 to 36500", code="invalid_filter")
    if sort.removeprefix("-") not in available_sorts(user):
        raise InvalidInput("sort is one of %(sorts)s (a leading '-' for descending)", code="invalid_sort",
                           sorts=", ".join(available_sorts(user)))


def _verification_condition(status: str) -> sa.ColumnElement[bool]:
    def requests(*conditions: sa.ColumnElement[bool]) -> sa.Exists:
        return sa.exists().where(VerificationRequest.case_id == Case.id, *conditions)

    def decided(outcome: str) -> sa.Exists:
        return sa.exists().where(VerificationRequest.case_id == Case.id, VerificationRequest.status == "decided",
                                 VerificationDecision.request_id == VerificationRequest.id,
                                 VerificationDecision.outcome == outcome)

    if status == "none":
        return ~requests()
    if status in ("pending", "review"):
        return requests(VerificationRequest.status == status)
    if status == "verified":
        # Verified for the identity it has now: a changed identity re-opens a request.
        return sa.and_(decided("verified"), ~requests(VerificationRequest.status.in_(("pending", "review"))))
    return decided("rejected")


def household_condition(user: User, typed: str) -> sa.ColumnElement[bool]:
    """The cases of the household `typed`: 'US-ICE/H00072' (an agency's code, then its household's), as every reader
    of another agency's cases is shown it (`cases.schemas.household_shown`), or the bare 'H00072' of the reader's own
    agency. Codes are an agency's own: the bare code once matched every agency's household of that name, two families
    read as one (red team round 16, N1). A reader with no households of its own (the receiving side) names the
    agency; a bare code is refused saying so. Folded as codes are stored (`identifiers.reference`: 'Ｈ００２４４' and
    'MX-INM／H00244' name H00244; red team round 33, F2)."""
    text = identifiers.reference(typed)
    agency_code, slash, reference = text.partition("/")
    agency: sa.ColumnElement[Any]
    if slash:
        agency = sa.select(Agency.id).where(Agency.code == agency_code.strip()).correlate(None).scalar_subquery()
        reference = reference.strip()
    elif user.agency.kind == "sending_authority":
        agency, reference = sa.literal(user.agency_id), text
    else:
        raise InvalidInput("household: '%(value)s' names no agency; give the agency's code and the household's, "
                           "as the list shows it (e.g. US-ICE/H00072)", code="invalid_household", value=text)
    # Uncorrelated: the household table may also be joined for sorting.
    return Case.household_id.in_(sa.select(Household.id).where(
        Household.agency_id == agency, Household.reference == reference).correlate(None))


def _conditions(session: Session, user: User, wanted: CaseFilter, today: date) -> list[sa.ColumnElement[bool]]:
    """SQL conditions for the filter, within what `user` may see."""
    words = names.fold(wanted.text).split() if wanted.text and not any(ch.isdigit() for ch in wanted.text) else []
    narrowed = bool(wanted.state or wanted.verification or wanted.household or wanted.flight or wanted.assigned
                    or wanted.concern == "open")
    conditions = visible_case_conditions(session, user, use_indexes=not words or narrowed)
    if wanted.text and wanted.text.strip() and not words:
        conditions.append(Case.id.in_(identifier_matches(session, user, wanted.text)))
    conditions.extend(Case.search_name.like(f"%{word}%") for word in words)
    if wanted.state:
        # To whoever may not tell a case held back by a protection concern, 'documented' and 'ready' are one.
        conditions.append(state_condition(user, Case.state, wanted.state))
    if wanted.held:
        # lower() LIKE rather than ILIKE: the same match, a third cheaper per row on PostgreSQL.
        conditions.append(sa.func.lower(Case.held_at).contains(wanted.held.strip().lower(), autoescape=True))
    if wanted.days_min is not None:
        conditions.append(Case.detained_since <= today - timedelta(days=wanted.days_min))
    if wanted.days_max is not None:
        conditions.append(Case.detained_since >= today - timedelta(days=wanted.days_max))
    if wanted.verification:
        conditions.append(_verification_condition(wanted.verification))
    if wanted.household:
        conditions.append(household_condition(user, wanted.household))
    if wanted.flight:
        on_flight = visible_flights(user).with_only_columns(Flight.id).where(Flight.reference == wanted.flight.strip())
        conditions.append(Case.id.in_(sa.select(Passenger.case_id).where(
            Passenger.flight_id.in_(on_flight), Passenger.approval.in_(ACTIVE_APPROVALS))))
    if wanted.airport:
        conditions.append(Case.nearest_airport == wanted.airport.strip().upper())
    if wanted.assigned:
        if wanted.assigned == "none":
            conditions.append(Case.assigned_to.is_(None))
        else:
            username = user.username if wanted.assigned == "me" else wanted.assigned
            conditions.append(Case.assigned_to.in_(sa.select(User.id).where(User.username == username)
                                                   .correlate(None)))
    if wanted.concern:
        # As the supervisors' queue finds them: by the open-concern marker (`cases.facts.OPEN_CONCERN`).
        conditions.append(OPEN_CONCERN if wanted.concern == "open" else sa.not_(OPEN_CONCERN))
    return conditions


# Sorts by a column that can be empty, by the case column that is empty then: their empty values come last
# either way, an order no one index gives in both directions, so a page is read as two runs off indexes (the
# filled values in order, then the empty ones by id) rather than by sorting every case (`_page_ids`).
_EMPTY_LAST = {"national_id": Case.national_id, "household": Case.household_id, "assigned": Case.assigned_to}


def _order(user: User, sort: str, *, empty_last: bool = True) -> tuple[list[sa.ColumnElement[Any]], bool]:
    """ORDER BY columns for a sort key, and whether it needs the household (or assignee) joined; without
    `empty_last`, for rows whose sort column is never empty. By state, as `user` sees the states."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    columns: dict[str, list[Any]] = {
        "registered": [Case.id], "reference": [Case.reference],
        "name": [Case.first_surname, Case.second_surname, Case.given_names],
        "birth_date": [Case.birth_date], "national_id": [Case.national_id],
        "state": [state_order(user, Case.state)],
        "held_at": [Case.held_at],
        # Days detained: the longest first when descending, i.e. the earliest date first.
        # Household codes are each agency's own: one agency's household apart from another's of the same code.
        "detained": [Case.detained_since], "household": [Household.reference, Case.agency_id],
        "assigned": [User.username],
    }
    # The reference and the id are unique: each alone orders, so the list is read off its index.
    chosen = columns[key] + ([] if key in ("registered", "reference") else [Case.id])
    if key == "detained":
        descending = not descending
    # Empty values last either way; only where a column can be empty, since NULLS LAST on a column that
    # cannot keeps PostgreSQL from reading a descending order off an ascending index (150 ms → 1 ms).
    nullable = {Case.second_surname, Case.national_id, Household.reference, User.username}
    ordered = [(c.desc() if descending else c.asc()).nulls_last() if c in nullable and empty_last
               else (c.desc() if descending else c.asc()) for c in chosen]
    return ordered, key in ("household", "assigned")


@dataclass(frozen=True)
class CaseListPage:
    """One page of the filtered list; `total` is exact up to COUNT_CAP, past it COUNT_CAP + 1."""

    cases: list[Case]
    total: int
    assignees: Mapping[int, str]

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP


def _query(user: User, base: sa.Select[*tuple[Any, ...]], sort: str, *, empty_last: bool = True
           ) -> sa.Select[*tuple[Any, ...]]:
    ordered, joins = _order(user, sort, empty_last=empty_last)
    if joins:
        base = (base.outerjoin(Household, Household.id == Case.household_id)
                .outerjoin(User, User.id == Case.assigned_to))
    return base.order_by(*ordered)


def list_cases(session: Session, user: User, wanted: CaseFilter, *, sort: str = DEFAULT_SORT, limit: int = 50,
               offset: int = 0) -> CaseListPage:
    """A page of the cases `user` may see that match `wanted`, in the order `sort` asks."""
    check_filter(user, wanted, sort)
    conditions = _conditions(session, user, wanted, utcnow().date())
    # The page first: one that ends before its limit, or a first page with nothing on it, says how many there
    # are, and the count is asked only otherwise (a name most often matches a handful of cases, which a search
    # found by reading every name twice, once to count them and once for the page: `retorno bench load`).
    page_ids = _page_ids(session, user, conditions, sort, limit, offset)
    if wanted.concern is not None or (wanted.state is not None and sees_protection(user)
                                      and "documented" in states_meant(user, wanted.state)):
        # Who has a protection concern open is protection information: listing it is an audited read (SPEC.md 4.7),
        # as an export of the list is (red team: `?concern=open` named 85 people and left no record). To those who
        # read screenings `documented` means one is open: a list of that state is that list, its count included
        # (red team round 37, F1: `state=documented&q=REF` past the last page said 1 and left no record).
        record(session, user, "cases.concern_list", "case_list", user.agency.code,
               after={"rows": len(page_ids), "offset": offset, "filters": wanted.used(), "sort": sort})
    if len(page_ids) < limit and (page_ids or not offset):
        total = min(offset + len(page_ids), COUNT_CAP + 1)
    else:
        counted = sa.select(sa.literal(1)).select_from(Case).where(*conditions).limit(COUNT_CAP + 1)
        total = session.execute(sa.select(sa.func.count()).select_from(counted.subquery())).scalar_one()
    if not page_ids:
        return CaseListPage([], total, {})
    return CaseListPage(load_cases(session, page_ids), total, assignee_names(session, page_ids))


def _page_ids(session: Session, user: User, conditions: list[sa.ColumnElement[bool]], sort: str, limit: int,
              offset: int) -> list[int]:
    """The ids of one page in the order `_query(user, ..., sort)` gives, read off indexes.

    A sort by a column that can be empty reads the rows where it is filled (in order, no NULLS LAST
    to keep from the index) and, past their end, the empty ones by id as that order has them; the
    count of the filled ones, needed only when the page starts past them, is at most `offset`.
    """
    def ids(query: sa.Select[Any], skip: int, take: int) -> list[int]:
        return list(session.execute(query.limit(take).offset(skip)).scalars())

    empty = _EMPTY_LAST.get(sort.removeprefix("-"))
    if empty is None:
        return ids(_query(user, sa.select(Case.id).where(*conditions), sort), offset, limit)
    filled = ids(_query(user, sa.select(Case.id).where(*conditions, empty.is_not(None)), sort, empty_last=False),
                 offset, limit)
    if len(filled) == limit:
        return filled
    before = offset + len(filled) if filled else session.execute(
        sa.select(sa.func.count()).select_from(Case).where(*conditions, empty.is_not(None))).scalar_one()
    by_id = Case.id.desc() if sort.startswith("-") else Case.id.asc()
    return filled + ids(sa.select(Case.id).where(*conditions, empty.is_(None)).order_by(by_id),
                        max(0, offset - before), limit - len(filled))


def load_cases(session: Session, ids: Sequence[int]) -> list[Case]:
    """The cases of `ids`, in that order, with their households loaded in one more query."""
    if not ids:
        return []
    by_id = {c.id: c for c in session.execute(sa.select(Case).where(among(Case.id, ids))
                                              .options(selectinload(Case.household))).scalars()}
    return [by_id[i] for i in ids if i in by_id]


def assignee_names(session: Session, case_ids: Sequence[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    return dict(session.execute(sa.select(Case.id, User.username).join(User, User.id == Case.assigned_to)
                                .where(among(Case.id, case_ids))).all())


def matching_ids(session: Session, user: User, wanted: CaseFilter, *, sort: str = DEFAULT_SORT,
                 limit: int | None = None) -> list[int]:
    """Every matching case id in list order (for an export or a bulk action), at most `limit`."""
    check_filter(user, wanted, sort)
    query = _query(user, sa.select(Case.id).where(*_conditions(session, user, wanted, utcnow().date())), sort)
    return list(session.execute(query.limit(limit) if limit is not None else query).scalars())


def export_cases(session: Session, user: User, wanted: CaseFilter, *, sort: str, limit: int,
                 file_format: str) -> list[Case]:
    """The cases of the filtered list for a file, at most `limit`; who took how many is on the audit trail."""
    ids = matching_ids(session, user, wanted, sort=sort, limit=limit)
    record(session, user, "cases.export", "case_list", user.agency.code,
           after={"rows": len(ids), "format": file_format, "filters": wanted.used(), "sort": sort})
    return [case for start in range(0, len(ids), 2000) for case in load_cases(session, ids[start:start + 2000])]


def filter_from(values: Mapping[str, str]) -> CaseFilter:
    """A filter from the text of a query string or a form (empty fields are no filter)."""
    text = {f.name: (values.get(f.name) or "").strip() for f in fields(CaseFilter)}

    def number(name: str) -> int | None:
        if not text[name]:
            return None
        try:
            return int(text[name])
        except ValueError:
            raise InvalidInput("%(name)s: '%(value)s' is not a whole number of days", code="invalid_filter",
                               name=name, value=text[name]) from None

    words: dict[str, Any] = {k: v or None for k, v in text.items() if k not in ("days_min", "days_max")}
    return CaseFilter(**words, days_min=number("days_min"), days_max=number("days_max"))
