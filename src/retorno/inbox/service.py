"""What waits for an official's action, by kind, oldest first: one query per kind (SPEC.md section 9). The
alerts that people must leave the aircraft (`must_deboard`) come first among the alerts, every one of them shown.

A kind is listed only to users who may act on it (`permissions.can` with the capability of the
action that clears it) and holds only records their agency may see: the sending side its
country's cases and flights, the receiving side the requests sent to it and the flights it
receives, a carrier its own flights, an operator its own opportunities' placements and the
returnees who consented. A viewer acts on nothing, so their queue is empty.

Each kind is one SQL statement that returns the oldest `limit` items together with how many
there are (a window count), served by an index (migration 0008); `retorno bench web` times the
whole queue at 100,000 cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import can
from retorno.agencies.visibility import sees_protection, visible_fields
from retorno.audit.service import record
from retorno.cases import lifecycle
from retorno.cases.facts import OPEN_CONCERN
from retorno.cases.models import Case
from retorno.cases.service import RECEIVING_VISIBLE, returnees_of
from retorno.db import utcnow
from retorno.documents.models import TravelDocument
from retorno.flights.models import NOT_YET_FLOWN_STATES, Alert, Flight, Passenger
from retorno.flights.outputs import carrier_list_open_clause
from retorno.flights.service import leaving_unconfirmed, lock_hours_of
from retorno.reintegration.models import FollowUp, IntakeProfile, Opportunity, Placement
from retorno.reintegration.service import intakes_held_by, taking_in
from retorno.verification.models import VerificationRequest
from retorno.verification.service import OPEN, requests_seen

# Items of each kind shown on the page and in the API answer; the count covers them all.
SHOWN = 10
# The items of one kind the work page shows when it shows that kind alone (`/?kind=alerts`).
ONE_KIND_SHOWN = 500
# A landed flight's receptions are the desk's work for this long; a difference left after it is to explain.
RECEPTION_HOURS = 6
# Where a concern can still be resolved: before boarding, raised at the aircraft door, or of a no-show.
SCREENABLE = sorted(lifecycle.SCREENABLE)

# Each kind: its Spanish and English name, in the order the queue shows them.
KINDS: dict[str, tuple[str, str]] = {
    "concerns": ("Preocupaciones de protección por resolver", "Protection concerns to resolve"),
    "verifications": ("Verificaciones por revisar", "Verifications to review"),
    "flights_to_accept": ("Vuelos por aceptar", "Flights to accept"),
    "manifests_to_propose": ("Manifiestos por proponer", "Manifests to propose"),
    "manifests_to_approve": ("Manifiestos por aprobar", "Manifests to approve"),
    "manifests_to_lock": ("Manifiestos por cerrar", "Manifests to lock"),
    "boarding": ("Pasajeros por embarcar", "Passengers to board"),
    "arrivals": ("Llegadas por confirmar", "Arrivals to confirm"),
    "discrepancies": ("Diferencias por explicar", "Differences to explain"),
    "intakes": ("Retornados por admitir", "Returnees to take in"),
    "intakes_stranded": ("Retornados con un operador que no puede atenderlos",
                         "Returnees held by an operator that cannot act"),
    "offers": ("Ofertas por responder", "Offers to answer"),
    "follow_ups": ("Seguimientos pendientes", "Follow-ups due"),
    "documents_superseded": ("Documentos de emergencia sustituidos", "Emergency documents superseded"),
    "alerts": ("Alertas", "Alerts"),
}


@dataclass(frozen=True)
class Item:
    """One thing to do: what it is about, since when it waits, and the page where it is done."""

    reference: str
    title: str
    since: datetime
    href: str
    # How many people on it wait (passengers to approve, to board, to receive), where that applies.
    count: int | None = None
    # What kind of alert it is (alerts.kind: protection_pull, identity_changed, ...), for alerts.
    note: str | None = None


# What every alert says to whoever may not read protection details (the receiving side: SPEC.md 4.6). Not only
# the protection and health alerts (protection_pull, medical_needs): told apart from the others (a new identity,
# a withdrawal, the sending side's removal), 'taken off' would be exactly the protection pulls (red team H3). An
# identity change still reaches the receiving side as what it has to do, the case's new verification request; a
# withdrawn case leaves its view.
TAKEN_OFF = "taken_off"


# Someone who had boarded must leave the aircraft (`flights.service.MUST_DEBOARD`): told to the sending side and the
# carrier as it is, since it says no more than what the crew at the door must do; the receiving side is not shown it
# (its `taken_off` alert of the same removal tells it all it reads).
MUST_DEBOARD = "must_deboard"


def alert_told(kind: str) -> str:
    """An alert's kind as told to a user who may not read protection details: every removal alike."""
    return MUST_DEBOARD if kind == MUST_DEBOARD else TAKEN_OFF


@dataclass(frozen=True)
class Kind:
    """One kind of work: how many items wait, the oldest of them, and the page listing them all."""

    code: str
    total: int
    items: list[Item]
    href: str


@dataclass(frozen=True)
class Inbox:
    kinds: list[Kind]

    @property
    def total(self) -> int:
        return sum(kind.total for kind in self.kinds)


def _moment(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(), tzinfo=UTC)


def _country_agencies(session: Session, user: User) -> list[int]:
    return list(session.execute(sa.select(Agency.id).where(Agency.country == user.agency.country)
                                .order_by(Agency.id)).scalars())


class _Queue:
    """The queries of one user's kinds; each returns (total, items) from one statement."""

    def __init__(self, session: Session, user: User, limit: int) -> None:
        self.session, self.user, self.limit = session, user, limit
        self.names = "given_names" in visible_fields(user, "case")
        self._agencies: list[int] | None = None

    @property
    def country_agencies(self) -> list[int]:
        if self._agencies is None:
            self._agencies = _country_agencies(self.session, self.user)
        return self._agencies

    def _run(self, query: sa.Select[*tuple[Any, ...]], item: Callable[[Any], Item]) -> tuple[int, list[Item]]:
        rows = self.session.execute(query.add_columns(sa.func.count().over().label("total"))
                                    .limit(self.limit)).all()
        return (rows[0].total if rows else 0), [item(row) for row in rows]

    def _who(self, row: Any) -> str:
        if not self.names:
            return row.reference
        return " ".join(p for p in (row.given_names, row.first_surname, row.second_surname) if p)

    def _flight_side(self) -> sa.ColumnElement[bool]:
        """The flights the user's agency takes part in, on the side that does the work."""
        kind = self.user.agency.kind
        if kind == "sending_authority":
            return Flight.sending_agency_id.in_(self.country_agencies)
        if kind == "receiving_authority":
            return Flight.receiving_agency_id.in_(self.country_agencies)
        return Flight.carrier_agency_id == self.user.agency_id

    def _flight_item(self, href: str, since: str = "since", count: str | None = None) -> Callable[[Any], Item]:
        def item(row: Any) -> Item:
            return Item(row.reference, f"{row.origin} → {row.destination} · {row.flight_number}",
                        _moment(getattr(row, since)), href.format(ref=row.reference),
                        getattr(row, count) if count else None)
        return item

    def _flights(self, *columns: Any) -> sa.Select[*tuple[Any, ...]]:
        return sa.select(Flight.id, Flight.reference, Flight.origin, Flight.destination, Flight.flight_number,
                         *columns).where(self._flight_side())

    # ---- the sending side's supervisors --------------------------------------------------------

    def concerns(self) -> tuple[int, list[Item]]:
        """Cases with a concern no supervisor's resolution closed, by when the oldest open one was raised."""
        # Counted off the marker's partial index alone; only the cases shown are read.
        query = (sa.select(Case.id.label("case_id"), Case.concern_open_since.label("since"))
                 .where(OPEN_CONCERN, Case.agency_id.in_(self.country_agencies), Case.state.in_(SCREENABLE))
                 .order_by(Case.concern_open_since, Case.id))
        return self._run_named(query, ("since", "case_id"),
                               lambda row: Item(row.reference, self._who(row), _moment(row.since),
                                                f"/cases/{row.reference}?protection=1#h-resolve"))

    # ---- the receiving side --------------------------------------------------------------------

    def verifications(self) -> tuple[int, list[Item]]:
        """Verification requests to this authority waiting for a person, as the review queue orders them: of cases
        it may see (`verification.service.requests_seen`; a withdrawn case left its view, red team round 16, N2)."""
        query = (sa.select(Case.reference, Case.given_names, Case.first_surname, Case.second_surname,
                           VerificationRequest.requested_at)
                 .join(Case, Case.id == VerificationRequest.case_id)
                 .where(*requests_seen(self.session, self.user), VerificationRequest.status.in_(OPEN))
                 .order_by(VerificationRequest.requested_at, VerificationRequest.id))
        return self._run(query, lambda row: Item(row.reference, self._who(row), _moment(row.requested_at),
                                                 f"/verification#h-{row.reference}"))

    def flights_to_accept(self) -> tuple[int, list[Item]]:
        query = self._flights(Flight.created_at.label("since")).where(Flight.state == "proposed") \
            .order_by(Flight.created_at, Flight.id)
        return self._run(query, self._flight_item("/flights/{ref}"))

    def manifests_to_approve(self) -> tuple[int, list[Item]]:
        """Proposed manifests with passengers the receiving side has not decided on, and how many."""
        since = sa.func.min(Passenger.added_at).label("since")
        waiting = sa.func.count(Passenger.id).label("waiting")
        query = (self._flights(since, waiting)
                 .join(Passenger, sa.and_(Passenger.flight_id == Flight.id, Passenger.approval == "proposed"))
                 .where(Flight.state == "accepted", Flight.manifest_state == "proposed")
                 .group_by(Flight.id, Flight.reference, Flight.origin, Flight.destination, Flight.flight_number)
                 .order_by(since, Flight.id))
        return self._run(query, self._flight_item("/flights/{ref}#manifest", count="waiting"))

    def arrivals(self) -> tuple[int, list[Item]]:
        """Flights in the air (a landing to record) or landed within RECEPTION_HOURS with people to receive."""
        return self._landed(recent=True)

    def discrepancies(self) -> tuple[int, list[Item]]:
        """Flights landed over RECEPTION_HOURS ago with boarded people not received, and no explanation."""
        return self._landed(recent=False)

    def _landed(self, *, recent: bool) -> tuple[int, list[Item]]:
        cutoff = utcnow() - timedelta(hours=RECEPTION_HOURS)
        pending = (sa.select(sa.func.count(Passenger.id))
                   .where(Passenger.flight_id == Flight.id, Passenger.approval == "approved",
                          Passenger.boarding == "boarded", Passenger.arrival == "pending")
                   .correlate(Flight).scalar_subquery())
        landed = sa.and_(Flight.state == "arrived", Flight.arrival_discrepancy_explanation.is_(None), pending > 0)
        if recent:
            condition = sa.or_(Flight.state == "departed", sa.and_(landed, Flight.actual_arrival_utc > cutoff))
            since = sa.func.coalesce(Flight.actual_departure_utc, Flight.departure_utc)
            href = "/flights/{ref}/arrivals"
        else:
            condition = sa.and_(landed, sa.func.coalesce(Flight.actual_arrival_utc, Flight.arrival_utc) <= cutoff)
            since = sa.func.coalesce(Flight.actual_arrival_utc, Flight.arrival_utc)
            href = "/flights/{ref}/arrivals#explanation"
        query = (self._flights(since.label("since"), pending.label("waiting"))
                 .where(Flight.state.in_(("departed", "arrived")), condition).order_by(since, Flight.id))
        return self._run(query, self._flight_item(href, count="waiting"))

    def documents_superseded(self) -> tuple[int, list[Item]]:
        """The emergency travel documents this agency issued that were superseded (`documents.service.
        one_emergency_document`: the person holds an earlier one on a record linked since; red team round 17, O-F2),
        until they expire: printed, they are no document to travel on, and the agency that issued them is told."""
        query = (sa.select(Case.reference, TravelDocument.number, TravelDocument.created_at)
                 .join(Case, Case.id == TravelDocument.case_id)
                 .where(TravelDocument.issued_by_agency_id == self.user.agency_id, TravelDocument.emergency,
                        ~TravelDocument.mrz_valid, TravelDocument.withdrawn_at.is_(None),
                        TravelDocument.expiry_date >= utcnow().date(), Case.state.in_(RECEIVING_VISIBLE))
                 .order_by(TravelDocument.created_at, TravelDocument.id))
        return self._run(query, lambda row: Item(row.reference, row.number, _moment(row.created_at),
                                                 f"/cases/{row.reference}#documents"))

    # ---- either authority ----------------------------------------------------------------------

    def manifests_to_propose(self) -> tuple[int, list[Item]]:
        """Accepted flights whose manifest the sending side has not proposed yet, with its passengers."""
        onboard = (sa.select(sa.func.count(Passenger.id))
                   .where(Passenger.flight_id == Flight.id, Passenger.approval.in_(("proposed", "approved")))
                   .correlate(Flight).scalar_subquery())
        query = (self._flights(Flight.created_at.label("since"), onboard.label("waiting"))
                 .where(Flight.state == "accepted", Flight.manifest_state == "draft")
                 .order_by(Flight.created_at, Flight.id))
        return self._run(query, self._flight_item("/flights/{ref}#manifest", count="waiting"))

    def manifests_to_lock(self) -> tuple[int, list[Item]]:
        """Proposed manifests every passenger of which the receiving side has decided on, not yet locked by either
        side, soonest departure first. One whose lock time has come is locked for every change
        (`flights.service.manifest_locked`) but not yet for the door: boarding starts only once a side has locked
        it, which checks every safeguard again, so it stays here, noted `lock_time_passed`."""
        undecided = sa.exists().where(Passenger.flight_id == Flight.id, Passenger.approval == "proposed")
        lock_time = utcnow() + timedelta(hours=lock_hours_of(self.session))
        approved = (sa.select(sa.func.count(Passenger.id))
                    .where(Passenger.flight_id == Flight.id, Passenger.approval == "approved")
                    .correlate(Flight).scalar_subquery())
        query = (self._flights(Flight.departure_utc.label("since"), approved.label("waiting"),
                               (Flight.departure_utc <= lock_time).label("late"))
                 .where(Flight.state == "accepted", Flight.manifest_state == "proposed", ~undecided)
                 .order_by(Flight.departure_utc, Flight.id))
        listed = self._flight_item("/flights/{ref}#manifest", count="waiting")
        return self._run(query, lambda row: replace(listed(row), note="lock_time_passed")
                         if row.late else listed(row))

    def boarding(self) -> tuple[int, list[Item]]:
        """Locked manifests with approved passengers whose boarding is not recorded, and how many."""
        since = sa.func.coalesce(Flight.manifest_locked_at, Flight.created_at)
        waiting = sa.func.count(Passenger.id).label("waiting")
        query = (self._flights(since.label("since"), waiting)
                 .join(Passenger, sa.and_(Passenger.flight_id == Flight.id, Passenger.approval == "approved",
                                          Passenger.boarding == "pending"))
                 .where(Flight.state == "manifest_locked")
                 .group_by(Flight.id, Flight.reference, Flight.origin, Flight.destination, Flight.flight_number,
                           Flight.manifest_locked_at, Flight.created_at)
                 .order_by(since, Flight.id))
        return self._run(query, self._flight_item("/flights/{ref}#manifest", count="waiting"))

    def alerts(self) -> tuple[int, list[Item]]:
        """People taken off a manifest of a flight not yet flown: the manifest needs a look from both sides; and those
        who must leave the aircraft, until recorded off it."""
        # Who must leave the aircraft is told until the sending side or the carrier records them off it
        # (`flights.service.confirm_deboarding`), whatever became of the flight since (a cancellation at the door
        # too); the seat is where the crew finds them (red team round 17, P-F2: the alert vanished at departure,
        # nobody having recorded the person off, and the carrier's gave a reference its list no longer held).
        leaving = (sa.select(Passenger.seat).where(Passenger.flight_id == Alert.flight_id,
                                                   Passenger.case_id == Alert.case_id, leaving_unconfirmed())
                   .correlate(Alert).limit(1))
        query = (sa.select(Alert.id, Alert.kind, Alert.created_at, Flight.reference.label("flight"),
                           Case.reference, Case.given_names, Case.first_surname, Case.second_surname,
                           leaving.scalar_subquery().label("seat"))
                 .join(Flight, Flight.id == Alert.flight_id).outerjoin(Case, Case.id == Alert.case_id)
                 .where(self._flight_side(), sa.or_(
                     sa.and_(Alert.kind != MUST_DEBOARD, Flight.state.in_(NOT_YET_FLOWN_STATES)),
                     sa.and_(Alert.kind == MUST_DEBOARD, leaving.exists()))))
        kind = self.user.agency.kind
        if kind == "carrier":
            # The carrier boards people: it is told who must leave the aircraft, never any other removal nor why, and
            # only within its passenger list's window, as at every door naming a flight's people (red team round 18,
            # S-F3).
            query = query.where(Alert.kind == MUST_DEBOARD, carrier_list_open_clause(self.session))
        elif kind != "sending_authority":
            query = query.where(Alert.kind != MUST_DEBOARD)
        told = sees_protection(self.user)

        def item(row: Any) -> Item:
            # Who must leave the aircraft is named to whoever reads names in cases (the sending side); the carrier
            # reads the reference (the item's) and both the seat, never why; the flight's page names them to both.
            if row.kind != MUST_DEBOARD or not row.reference:
                title, href = row.flight, f"/flights/{row.flight}#manifest"
            else:
                who = self._who(row) if self.names else None
                title = " · ".join(filter(None, (who, row.flight, row.seat)))
                href = f"/flights/{row.flight}#must-leave"
            return Item(row.reference or row.flight, title, _moment(row.created_at), href,
                        note=row.kind if told else alert_told(row.kind))
        return self._run_urgent_first(query, item)

    def _run_urgent_first(self, query: sa.Select[*tuple[Any, ...]], item: Callable[[Any], Item]
                          ) -> tuple[int, list[Item]]:
        """`_run` for the alerts (red team round 12, F9): those who must leave the aircraft (`MUST_DEBOARD`) first,
        each of them shown whatever the limit, then the others, oldest first within each; the limit cuts only the
        others. People to take off a plane never wait behind an older removal already told, nor past the tenth."""
        urgent = sa.case((Alert.kind == MUST_DEBOARD, 0), else_=1)
        ranked = query.add_columns(
            urgent.label("rank"), sa.func.count().over().label("total"),
            sa.func.row_number().over(order_by=(urgent, Alert.created_at, Alert.id)).label("place")).subquery()
        rows = self.session.execute(sa.select(ranked).where(sa.or_(ranked.c.place <= self.limit, ranked.c.rank == 0))
                                    .order_by(ranked.c.place)).all()
        return (rows[0].total if rows else 0), [item(row) for row in rows]

    # ---- reintegration operators ---------------------------------------------------------------

    def intakes(self) -> tuple[int, list[Item]]:
        """Returnees who consented and whose intake interview is not recorded yet, for whom may take it
        (`reintegration.service.intakes_held_by`: an operator, the returnees whose intake it holds or none holds)."""
        query = (sa.select(Case.reference, Case.given_names, Case.first_surname, Case.second_surname,
                           IntakeProfile.consent_recorded_at)
                 .join(Case, Case.id == IntakeProfile.case_id)
                 .where(*returnees_of(self.user), *intakes_held_by(self.user), IntakeProfile.home_state.is_(None),
                        Case.state == "reintegration_intake")
                 .order_by(IntakeProfile.consent_recorded_at, IntakeProfile.id))
        return self._run(query, lambda row: Item(row.reference, self._who(row), _moment(row.consent_recorded_at),
                                                 f"/reintegration/returnees/{row.reference}#intake"))

    def intakes_stranded(self) -> tuple[int, list[Item]]:
        """The receiving authority's returnees (consenting, in reintegration) whose intake is held by an operator that
        takes in nobody now: disabled, or with no active officer or supervisor left (its last one disabled). Nobody of
        it can act on them, and no other operator may: the authority hands each intake on
        (`reintegration.service.transfer_intake`; before, nothing told it, and the returnee waited unseen)."""
        able = sa.select(Agency.id).where(taking_in())
        query = (sa.select(Case.reference, Case.given_names, Case.first_surname, Case.second_surname,
                           IntakeProfile.consent_recorded_at)
                 .join(Case, Case.id == IntakeProfile.case_id)
                 .where(Case.nationality == self.user.agency.country, IntakeProfile.consent,
                        IntakeProfile.operator_agency_id.is_not(None), IntakeProfile.operator_agency_id.not_in(able),
                        Case.state.in_(lifecycle.REINTEGRATION_STATES))
                 .order_by(IntakeProfile.consent_recorded_at, IntakeProfile.id))
        return self._run(query, lambda row: Item(row.reference, self._who(row), _moment(row.consent_recorded_at),
                                                 f"/cases/{row.reference}#h-intake-transfer"))

    def _own_placements(self, query: sa.Select[*tuple[Any, ...]]) -> sa.Select[*tuple[Any, ...]]:
        # The consent is the returnee's (intake_profiles.case_id): no case is read to find or count them.
        return (query.join(Opportunity, Opportunity.id == Placement.opportunity_id)
                .join(IntakeProfile, IntakeProfile.case_id == Placement.case_id)
                # A returnee who withdrew consent leaves the operators' view.
                .where(Opportunity.operator_agency_id == self.user.agency_id, IntakeProfile.consent))

    def _run_named(self, query: sa.Select[*tuple[Any, ...]], order: Sequence[str],
                   item: Callable[[Any], Item], *, count_apart: bool = False) -> tuple[int, list[Item]]:
        """`_run` for a query with a `case_id` column: counted and cut to the oldest without reading a case,
        whose reference and name are then read for those shown alone (in the same statement).

        `count_apart`: counted by a subquery of its own, not `count(*) OVER ()`, for a query whose order an
        index gives: PostgreSQL planned the window as if the limit spared it the rest, and joined every row
        one index lookup at a time to count it (the 10,000 follow-ups due at 500,000 cases: 43,000-63,000
        buffers, 60-100 ms); counted apart, the count hashes its joins and the page stops at its tenth row
        (454 buffers, 21 ms). A query that sorts its rows anyway (the offers) would join them twice."""
        total = (sa.select(sa.func.count()).select_from(query.order_by(None).subquery()).scalar_subquery()
                 if count_apart else sa.func.count().over())
        shown = query.add_columns(total.label("total")).limit(self.limit).subquery()
        named = (sa.select(shown, Case.reference, Case.given_names, Case.first_surname, Case.second_surname)
                 .join(Case, Case.id == shown.c.case_id).order_by(*(shown.c[name] for name in order)))
        rows = self.session.execute(named).all()
        return (rows[0].total if rows else 0), [item(row) for row in rows]

    def offers(self) -> tuple[int, list[Item]]:
        query = self._own_placements(
            sa.select(Placement.id, Placement.offered_at, Placement.case_id).where(Placement.status == "offered")
        ).order_by(Placement.offered_at, Placement.id)
        return self._run_named(query, ("offered_at", "id"), lambda row: Item(
            row.reference, self._who(row), _moment(row.offered_at),
            f"/reintegration/returnees/{row.reference}#placement-{row.id}"))

    def follow_ups(self) -> tuple[int, list[Item]]:
        """Follow-ups of this operator's placements due today or earlier and not recorded."""
        query = self._own_placements(
            sa.select(FollowUp.id, FollowUp.due_on, Placement.case_id)
            .select_from(FollowUp).join(Placement, Placement.id == FollowUp.placement_id)
            .where(FollowUp.done_at.is_(None), FollowUp.due_on <= utcnow().date())
        ).order_by(FollowUp.due_on, FollowUp.id)
        return self._run_named(query, ("due_on", "id"), lambda row: Item(
            row.reference, self._who(row), _moment(row.due_on), f"/reintegration/follow-ups/{row.id}"),
            count_apart=True)


# Each kind: the capabilities any one of which lets a user act on it, and the page listing them all.
_DECLARED: dict[str, tuple[tuple[str, ...], str]] = {
    "concerns": (("screening.resolve",), "/cases?concern=open"),
    "verifications": (("verification.decide",), "/verification"),
    "flights_to_accept": (("flight.accept",), "/flights"),
    "manifests_to_propose": (("manifest.propose",), "/flights"),
    "manifests_to_approve": (("manifest.decide",), "/flights"),
    "manifests_to_lock": (("manifest.lock",), "/flights"),
    "boarding": (("boarding.record",), "/flights"),
    "arrivals": (("arrival.confirm",), "/flights"),
    "discrepancies": (("arrival.confirm",), "/flights"),
    "intakes": (("intake.record",), "/reintegration/returnees"),
    "intakes_stranded": (("intake.transfer",), "/?kind=intakes_stranded#intakes_stranded"),
    "offers": (("placement.manage",), "/reintegration/placements?status=offered"),
    "follow_ups": (("followup.record",), "/reintegration/follow-ups"),
    # The carrier's officers (boarding.record) only for those who must leave the aircraft.
    # Alerts have no page of their own: the work page with them alone, every one (`ONE_KIND_SHOWN`).
    "documents_superseded": (("document.issue_emergency",), "/?kind=documents_superseded#documents_superseded"),
    "alerts": (("manifest.propose", "manifest.decide", "boarding.record"), "/?kind=alerts#alerts"),
}


# Kinds of one agency kind alone, whatever else holds their capability: an operator holding an intake acts on it
# itself, so only the receiving authority is told of those whose operator cannot.
_ONLY_FOR = {"intakes_stranded": "receiving_authority"}


def kinds_for(user: User) -> list[str]:
    """The kinds of work `user` can act on, in the queue's order."""
    return [code for code, (capabilities, _) in _DECLARED.items() if any(can(user, c) for c in capabilities)
            and _ONLY_FOR.get(code, user.agency.kind) == user.agency.kind]


def inbox(session: Session, user: User, *, limit: int = SHOWN, kinds: Sequence[str] | None = None,
          shown: bool = True) -> Inbox:
    """What waits for `user`: for each kind they can act on, how many items and the oldest `limit`.

    Not an `@reader`: every signed-in user has a queue, which holds only what their capabilities
    let them act on; an empty one for those who act on nothing. A queue `shown` to its reader that names people with
    a protection concern open, or taken off a manifest for one or for their health, is an audited read
    (`_record_protection_read`); the navigation's counts (`shown=False`) name nobody.
    """
    queue = _Queue(session, user, max(1, limit))
    found = []
    for code in kinds_for(user):
        if kinds is not None and code not in kinds:
            continue
        total, items = getattr(queue, code)()
        # Every alert that people must leave the aircraft is shown, beyond the limit (`_run_urgent_first`).
        found.append(Kind(code, total, items if code == "alerts" else items[:limit], _DECLARED[code][1]))
    if shown:
        _record_protection_read(session, user, found)
    return Inbox(found)


# What an alert's note tells of a person to those who read protection details (`alert_told` for the others): why
# they were taken off, a protection concern or their health.
PROTECTION_NOTES = frozenset({"protection_pull", "medical_needs"})


def _record_protection_read(session: Session, user: User, kinds: Sequence[Kind]) -> None:
    """Record, as the case list's concern filter does (`reporting.caselist.list_cases`), that `user` was shown who has a
    protection concern open (the `concerns` kind) or who was taken off a manifest for one or for their health (an
    alert's note): who has a concern open is protection information, and every read of it is audited (SPEC.md 4.7;
    red team round 34, M1: the work page and `GET /api/v1/inbox` named 83 people and left no record)."""
    concerns = [item.reference for kind in kinds if kind.code == "concerns" for item in kind.items]
    pulled = [item.reference for kind in kinds if kind.code == "alerts" for item in kind.items
              if item.note in PROTECTION_NOTES]
    if concerns or pulled:
        record(session, user, "cases.concern_list", "case_list", user.agency.code,
               after={"from": "work_queue", "rows": len(concerns), "cases": concerns,
                      **({"alerts": pulled} if pulled else {})})
