"""Who may do what: the one declaration that maps agency kind and role to capabilities (SPEC.md section 2).

Every action of every `service.py` declares the capability it needs with `@action` (a change)
or `@reader` (a read); the check runs in the decorator, in one place, before the action's body,
whichever door (page, API, CLI, import, plan) called it. Deny by default: a capability not in
`CAPABILITIES` cannot be declared, a viewer holds no capability that changes anything, and a
test fails on any public service function taking an `actor` without a declaration.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.audit import refusals as linked
from retorno.errors import Forbidden, RetornoError, Term

SENDING = "sending_authority"
RECEIVING = "receiving_authority"
CARRIER = "carrier"
OPERATOR = "reintegration_operator"
MONITOR = "monitor"
ADMINISTRATOR = "administrator"

ROLE_RANK = {"viewer": 0, "officer": 1, "supervisor": 2}


@dataclass(frozen=True)
class Capability:
    """Agency kinds that hold a capability, the least role within them, and whether it only reads."""

    kinds: frozenset[str]
    role: str
    reads: bool = False

    def __post_init__(self) -> None:
        # A viewer changes nothing: only reading capabilities may be open to viewers.
        if not self.reads and self.role == "viewer":
            raise ValueError("a capability that changes data needs at least an officer")


def _change(*kinds: str, role: str = "officer") -> Capability:
    return Capability(frozenset(kinds), role)


def _read(*kinds: str, role: str = "viewer") -> Capability:
    return Capability(frozenset(kinds), role, reads=True)


CAPABILITIES: dict[str, Capability] = {
    "case.register": _change(SENDING),
    "case.update": _change(SENDING),
    "case.read": _read(SENDING, RECEIVING),
    # A case's audit history holds protection concerns and reasons: officers, and every read audited.
    "case.timeline": _read(SENDING, role="officer"),
    "case.withdraw": _change(SENDING),
    # Giving cases to an official of one's own agency to work (a queue, not a safeguard).
    "case.assign": _change(SENDING),
    # Naming a search of one's case list to run again: a personal setting, but stored, so a change (audited as
    # `search.save` / `search.delete`, as one's own password and tokens are); a viewer changes nothing (SPEC.md 4.6;
    # red team round 6, F5).
    "search.save": _change(SENDING, RECEIVING),
    "screening.record": _change(SENDING),
    "screening.resolve": _change(SENDING, role="supervisor"),
    "screening.read_details": _read(SENDING, role="officer"),
    "child.decide": _change(SENDING, role="supervisor"),
    # Possible duplicates an import flagged: whether one holds a case back tells of a protection concern, so officers
    # read them; a supervisor decides whether the two records are one person (`travel.duplicates`).
    "duplicate.read": _read(SENDING, role="officer"),
    "duplicate.decide": _change(SENDING, role="supervisor"),
    "verification.request": _change(SENDING),
    "verification.decide": _change(RECEIVING),
    # Withdrawing a verification made in error: a supervisor of the authority that verified, with a written reason.
    "verification.revoke": _change(RECEIVING, role="supervisor"),
    "verification.queue": _read(RECEIVING, role="officer"),
    "verification.export": _read(RECEIVING, role="officer"),
    # Trusting a linking machine's key: its signed decisions files are imported as linkage's (`verification.linkers`).
    "verification.trust_linker": _change(RECEIVING, role="supervisor"),
    "document.read": _read(SENDING, RECEIVING),
    "document.add": _change(SENDING, RECEIVING),
    "document.issue_emergency": _change(RECEIVING),
    # Withdrawing a document filed in error: it stops linking records as one person, so a supervisor, with a written
    # reason (`documents.service.withdrawable_document` says of which agency).
    "document.withdraw": _change(SENDING, RECEIVING, role="supervisor"),
    "flight.read": _read(SENDING, RECEIVING, CARRIER),
    "flight.propose": _change(SENDING),
    "flight.accept": _change(RECEIVING),
    "flight.cancel": _change(SENDING, RECEIVING),
    # Cancelling a flight the receiving side has accepted, or whose manifest is locked.
    "flight.cancel_accepted": _change(SENDING, RECEIVING, role="supervisor"),
    "manifest.propose": _change(SENDING),
    "manifest.plan": _read(SENDING, role="officer"),
    "manifest.decide": _change(RECEIVING),
    "manifest.lock": _change(SENDING, RECEIVING),
    "manifest.change_locked": _change(SENDING, RECEIVING, role="supervisor"),
    "household.split": _change(SENDING, role="supervisor"),
    "boarding.record": _change(SENDING, CARRIER),
    # Correcting a no-show recorded at the door by mistake, before the flight departs, with a written reason
    # (`flights.no_show`): the case back in line, never back on the flight by this step.
    "boarding.correct_no_show": _change(SENDING, role="supervisor"),
    "flight.depart": _change(SENDING, CARRIER),
    # Boarding or departing outside the window around the scheduled departure, with a written reason.
    "flight.depart_off_schedule": _change(SENDING, CARRIER, role="supervisor"),
    "arrival.confirm": _change(RECEIVING),
    "paxlst.read": _read(SENDING, RECEIVING, CARRIER),
    "consent.record": _change(RECEIVING, OPERATOR),
    "consent.withdraw": _change(RECEIVING, OPERATOR),
    "returnee.read": _read(OPERATOR),
    "intake.record": _change(OPERATOR),
    # Handing a returnee's intake to another operator: the operator holding it, or the receiving authority.
    "intake.transfer": _change(RECEIVING, OPERATOR),
    "opportunity.read": _read(OPERATOR),
    "opportunity.manage": _change(OPERATOR),
    "matching.run": _change(OPERATOR),
    "placement.manage": _change(OPERATOR),
    # Taking back the end of a placement recorded by mistake, with a written reason (`reintegration.service.
    # reopen_placement`).
    "placement.reopen": _change(OPERATOR, role="supervisor"),
    # Recording a placement completed before its opportunity's duration has run, with a written reason
    # (`reintegration.service.update_placement`; red team round 77, F3).
    "placement.complete_early": _change(OPERATOR, role="supervisor"),
    "followup.record": _change(OPERATOR),
    "reports.aggregate": _read(SENDING, RECEIVING, OPERATOR, MONITOR, ADMINISTRATOR),
    "audit.read": _read(MONITOR, ADMINISTRATOR),
    "audit.keys": _change(ADMINISTRATOR, role="supervisor"),
    # Agencies and accounts through the API: an administrator's supervisors, as `users.manage` in the pages
    # (an officer there could otherwise make themselves a supervisor).
    "admin.users": _change(ADMINISTRATOR, role="supervisor"),
    # User administration in the pages: each operational agency's supervisors for their own; an administrator's
    # supervisors read and disable every agency's, and add and change those of administrator and monitor
    # agencies only (agencies.service.stands_in); monitors change nothing, their users too.
    "users.read": _read(SENDING, RECEIVING, CARRIER, OPERATOR, ADMINISTRATOR, role="supervisor"),
    "users.manage": _change(SENDING, RECEIVING, CARRIER, OPERATOR, ADMINISTRATOR, role="supervisor"),
    # Listing and revoking the API tokens of another user of one's own agency (never another agency's: an
    # administrator ends another agency's user's tokens by disabling the user). Each official lists and revokes their
    # own, a viewer too, as their own password (`agencies.service.manages_tokens_of`).
    "tokens.manage": _change(SENDING, RECEIVING, CARRIER, OPERATOR, ADMINISTRATOR, role="supervisor"),
}


def can(user: User, capability: str) -> bool:
    """Whether `user` holds `capability` by their agency's kind and their role (deny by default)."""
    declared = CAPABILITIES.get(capability)
    if declared is None or not user.active or not user.agency.active or user.agency.kind not in declared.kinds:
        return False
    if user.role == "viewer" and not declared.reads:
        return False
    return ROLE_RANK.get(user.role, -1) >= ROLE_RANK[declared.role]


def can_any(user: User, capabilities: tuple[str, ...]) -> bool:
    return any(can(user, c) for c in capabilities)


def require(user: User, capability: str) -> None:
    """Refuse with a clear message unless `user` holds `capability`."""
    if not can(user, capability):
        declared = CAPABILITIES[capability]
        said: dict[str, Any] = dict(username=user.username, agency=user.agency.code,
                                    kind=Term("agency_kind", user.agency.kind), role=Term("role", user.role),
                                    capability=capability, needed=Term("role", declared.role),
                                    kinds=[Term("agency_kind", k) for k in sorted(declared.kinds)])
        if declared.role == "officer":  # the article goes with the English word: "an officer"
            raise Forbidden("%(username)s (%(agency)s, %(kind)s %(role)s) may not %(capability)s; it needs an "
                            "%(needed)s of one of: %(kinds)s", code="forbidden." + capability, **said)
        raise Forbidden("%(username)s (%(agency)s, %(kind)s %(role)s) may not %(capability)s; it needs a "
                        "%(needed)s of one of: %(kinds)s", code="forbidden." + capability, **said)


P = ParamSpec("P")
R = TypeVar("R")


def _declare(capability: str, *, reads: bool, system: bool) -> Callable[[Callable[P, R]], Callable[P, R]]:
    declared = CAPABILITIES[capability]
    if declared.reads != reads:
        raise ValueError(f"capability {capability} is declared as {'a read' if declared.reads else 'a change'}")

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        names = list(inspect.signature(function).parameters)
        if "actor" not in names:
            raise TypeError(f"{function.__qualname__} declares {capability} but takes no 'actor'")
        position = names.index("actor")

        @functools.wraps(function)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            actor: Any = kwargs["actor"] if "actor" in kwargs else args[position]
            if actor is None:
                if not system:
                    raise Forbidden("%(capability)s needs an acting official", code="forbidden." + capability,
                                    capability=capability)
            else:
                require(actor, capability)
            session = next((a for a in (*args, *kwargs.values()) if isinstance(a, Session)), None)
            if reads or session is None:
                return function(*args, **kwargs)
            note_acting(session, actor)
            if not session.info.get(_DEPTH):
                session.info.pop(STEP_WORK, None)
            session.info[_DEPTH] = session.info.get(_DEPTH, 0) + 1
            # A refused action on a case another agency's record holds a concern for is audited (`audit.refusals`).
            outer, refused_by, refused = linked.begin_action(session), None, None
            try:
                result = function(*args, **kwargs)
                if session.info[_DEPTH] == 1:
                    _end_of_step(session)
                return result
            except RetornoError as refusal:
                refused_by, refused = (actor.id if actor is not None else None), refusal
                raise
            finally:
                session.info[_DEPTH] -= 1
                linked.end_action(session, outer, refused_by=refused_by, capability=capability, refusal=refused)

        checked.__capability__ = capability  # type: ignore[attr-defined]
        return checked

    return decorate


# Work a higher layer leaves to the end of the outermost action, once every change of the step is made, kept in
# `session.info[STEP_WORK]` (dropped when the next step begins): `travel.service`'s children's checks, which read
# who waits with whom (red team round 50b, F1; round 51b, F3: an adult's seat given up, or a record of her person
# pulled, later in the same step than the check, named a child unaccompanied while her mother waited with her).
END_OF_STEP: list[Callable[[Session], None]] = []
STEP_WORK = "retorno.step_work"
_SETTLING = "retorno.settling"


def in_step(session: Session) -> bool:
    """Whether an action is under way in `session` whose end will do the work left to it (`END_OF_STEP`)."""
    return bool(session.info.get(_DEPTH)) and not session.info.get(_SETTLING)


def _end_of_step(session: Session) -> None:
    session.info[_SETTLING] = True
    try:
        for settle in END_OF_STEP:
            settle(session)
    finally:
        session.info[_SETTLING] = False


def action(capability: str, *, system: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare that a service function changes data and needs `capability` of its `actor`.

    `system=True` lets the function run with `actor=None` (the installation itself, e.g. the
    scheduled manifest lock or bootstrapping the first administrator).
    """
    return _declare(capability, reads=False, system=system)


def reader(capability: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare that a service function reads data and needs `capability` of its `actor`."""
    return _declare(capability, reads=True, system=False)


# The officials whose actions the transaction holds (user ids), for what the commit-time guard may tell them: a
# safeguard its check finds broken on a flight one of them may not see is told without naming that flight or its
# people (`travel.invariants`; red team round 5, tester C, F2). An action begun outside any other starts the set
# again: one request, one command, one test step.
ACTING = "retorno.acting_officials"
_DEPTH = "retorno.action_depth"


def note_acting(session: Session, official: Any) -> None:
    """Note `official` (a User, or None for the system) as acting in the session's transaction."""
    if official is None:
        return
    if not session.info.get(_DEPTH):
        session.info[ACTING] = set()
    session.info.setdefault(ACTING, set()).add(official.id)


def acting(session: Session) -> set[int]:
    """The ids of the officials acting in the session's transaction (`note_acting`)."""
    return set(session.info.get(ACTING, set()))
