"""Logging in and out: throttled password checks, server-side login sessions, and revoking them.

Throttling slows guessing down instead of locking accounts, so nobody can lock a named official
out by typing wrong passwords for them (README, "Sessions and login throttling"). Three counts
each ask for a wait of 2^(n - free) seconds after their latest failure, capped:

- the account from this address (`free` = the `login_free_failures` setting);
- the account from anywhere (10 free), except from an address it logged in from within 30 days,
  so guessing spread over many addresses is slowed without slowing the official at their desk;
- the distinct accounts failed from this address (5 free): one password sprayed over many users.

A success forgets the failures before it for that account and address.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2.exceptions import VerificationError
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency, LoginAttempt, LoginSession, User
from retorno.agencies.permissions import action, require
from retorno.agencies.service import (
    agency_by_code,
    hash_password,
    issue_secret,
    password_turn,
    refuse_disabled_agency,
    rehash_if_outdated,
    require_stand_in,
    revoke_secret,
    revoke_sessions,
    revoke_tokens,
    row_of_secret,
    set_password,
    verify_password,
)
from retorno.audit.service import record
from retorno.config import Settings
from retorno.db import AFTER_ROLLBACK, utcnow
from retorno.errors import InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from retorno.reasons import written_reason

_DUMMY_HASH = hash_password("not-a-password")
# Failures older than this no longer count.
FAILURE_MEMORY = timedelta(hours=24)
# Failures of one account from all addresses before the account-wide wait starts.
ACCOUNT_FREE_FAILURES = 10
# Distinct accounts failed from one address before the spraying wait starts.
ADDRESS_FREE_ACCOUNTS = 5
# An address the account logged in from within this time is the official's own: exempt from the account-wide wait.
KNOWN_ADDRESS_MEMORY = timedelta(days=30)
# A session's last-seen time is written at most this often (not on every request).
SEEN_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class LoginPolicy:
    """The installation's session timeouts and throttling figures."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=8)
    free_failures: int = 3
    delay_cap: timedelta = timedelta(minutes=5)

    @classmethod
    def of(cls, settings: Settings) -> LoginPolicy:
        return cls(idle=timedelta(seconds=settings.session_idle_seconds),
                   absolute=timedelta(seconds=settings.session_max_age_seconds),
                   free_failures=settings.login_free_failures,
                   delay_cap=timedelta(seconds=settings.login_delay_cap_seconds))


def _wait(failures: int, free: int, cap: timedelta) -> timedelta:
    """2^(failures - free) seconds from `free` failures on, never more than `cap`."""
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2.0 ** min(failures - free, 30)), cap)


def retry_after(session: Session, username: str, address: str, policy: LoginPolicy) -> timedelta:
    """How long this account may not try again from this address (zero: it may try now)."""
    now = utcnow()
    attempts = session.execute(
        sa.select(LoginAttempt.username, LoginAttempt.address, LoginAttempt.succeeded, LoginAttempt.at)
        .where(sa.or_(LoginAttempt.username == username, LoginAttempt.address == address),
               LoginAttempt.at >= now - FAILURE_MEMORY)
        .order_by(LoginAttempt.at, LoginAttempt.id)
    ).all()
    # A success clears the failures before it of the same account from the same address (and,
    # for the account-wide count, from anywhere).
    cleared_at: dict[tuple[str, str], datetime] = {}
    account_cleared_at: datetime | None = None
    for row in attempts:
        if row.succeeded:
            cleared_at[(row.username, row.address)] = row.at
            if row.username == username:
                account_cleared_at = row.at
    failures = [row for row in attempts if not row.succeeded
                and ((row.username, row.address) not in cleared_at or row.at > cleared_at[(row.username, row.address)])]
    pair = [row.at for row in failures if row.username == username and row.address == address]
    account = [row.at for row in failures if row.username == username
               and (account_cleared_at is None or row.at > account_cleared_at)]
    sprayed = [row for row in failures if row.address == address]
    known = session.execute(
        sa.select(LoginAttempt.id).where(LoginAttempt.username == username, LoginAttempt.address == address,
                                         LoginAttempt.succeeded, LoginAttempt.at >= now - KNOWN_ADDRESS_MEMORY)
        .limit(1)
    ).first() is not None
    waits = [timedelta(0)]
    if pair:
        waits.append(max(pair) + _wait(len(pair), policy.free_failures, policy.delay_cap) - now)
    if account and not known:
        waits.append(max(account) + _wait(len(account), ACCOUNT_FREE_FAILURES, policy.delay_cap) - now)
    if sprayed:
        accounts = len({row.username for row in sprayed})
        waits.append(max(row.at for row in sprayed) + _wait(accounts, ADDRESS_FREE_ACCOUNTS, policy.delay_cap) - now)
    return max(waits)


def authenticate(session: Session, username: str, password: str, *, address: str,
                 policy: LoginPolicy | None = None) -> User:
    """Check a username and password, slowed down after failures; the same for pages, API and CLI
    (`check_password`), audited as `login`."""
    user = check_password(session, username, password, address=address, policy=policy)
    record(session, user, "login", "user", username, after={"address": address})
    return user


# The doors that check a user's password besides logging in (`check_password`), as a failure's audit record names
# them: the login page, `POST /api/v1/auth/token` and `retorno users token` are `login`.
PASSWORD_DOORS = ("login", "password_change")


def check_password(session: Session, username: str, password: str, *, address: str,
                   policy: LoginPolicy | None = None, door: str = "login") -> User:
    """The one check of a user's password, at every door that asks for one: logging in (the login page,
    `POST /api/v1/auth/token`, `retorno users token`) and the current password on `/account/password`.

    Every door shares the login throttle (a wait of 2^(n-3) s after the failures of the account from this address,
    and the account-wide and spraying counts: 429 `login_throttled` with Retry-After), and each failure is counted
    and audited as `login.failed` (naming the door when it is not the login) in a transaction of its own, committed
    at once: the caller's transaction is rolled back with the refusal, and a failure that vanished with it would
    never be counted. A right password forgives the failures before it, as a login does. Red team round 11,
    RE8812 M3: the password page checked the current password unthrottled and unaudited, so a session left open
    was an oracle of the official's password at twelve guesses a second.
    """
    assert door in PASSWORD_DOORS
    policy = policy or LoginPolicy()
    # A turn at password hashing before the first query: a crowd logging in at once waits here without
    # holding a connection of the pool, which the other requests need (`service.password_turn`).
    with password_turn():
        wait, attempt = _take_turn(session, username, address, policy)
        if wait > timedelta(0):
            seconds = math.ceil(wait.total_seconds())
            if door == "login":
                raise TooManyAttempts("too many failed logins; try again in %(retry_after)s s", retry_after=seconds)
            raise TooManyAttempts("too many wrong passwords; try again in %(retry_after)s s", retry_after=seconds)
        user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
        try:
            verify_password(user.password_hash if user else _DUMMY_HASH, password)
            ok = user is not None and user.active and user.agency.active
        except VerificationError:
            ok = False
        if not ok or user is None:
            _record_failure(session, username, address, attempt, known=user is not None, door=door)
            if door == "login":
                raise NotAuthenticated("wrong username or password", code="login_failed")
            raise NotAuthenticated("the current password is wrong", code="password_wrong")
        _settle(session, attempt)
        rehash_if_outdated(user, password)
        return user


def _take_turn(session: Session, username: str, address: str, policy: LoginPolicy) -> tuple[timedelta, int | None]:
    """The wait this attempt must still make, or (none) the attempt counted as a failure before its answer is known,
    in a transaction of its own, committed at once, one attempt of the installation at a time.

    Counting a failure only once it was known let a burst of attempts sent together all read the count before any
    of them added to it (red team round 43, F1: thirty wrong birth dates sent at once had five checked, where three
    are free). Now the count is read and this attempt added to it as one step, which the next attempt waits for
    (SQLite: every transaction holds the write lock; PostgreSQL: an advisory lock of the throttle); a right answer
    then turns it into a success (`_settle`). Returns the wait and the attempt's id (None while it must wait)."""
    # The caller's transaction has only read so far; ending it frees SQLite's write lock for ours.
    session.rollback()
    with Session(bind=session.get_bind(), join_transaction_mode="create_savepoint") as separate:
        if separate.get_bind().dialect.name == "postgresql":
            separate.execute(sa.select(sa.func.pg_advisory_xact_lock(_THROTTLE_LOCK)))
        wait = retry_after(separate, username, address, policy)
        attempt = None
        if wait <= timedelta(0):
            row = LoginAttempt(username=username[:80], address=address[:64], succeeded=False, at=utcnow())
            separate.add(row)
            separate.flush()
            attempt = row.id
        separate.commit()
    return wait, attempt


# The key of the advisory lock that takes the throttle's attempts one at a time on PostgreSQL.
_THROTTLE_LOCK = 0x52455452  # 'RETR'


def _settle(session: Session, attempt: int | None) -> None:
    """A right answer: the attempt `_take_turn` counted as a failure is a success, which forgives the failures before
    it; committed at once, as the failure was, whatever becomes of the caller's transaction (a right birth date whose
    consent is then refused for another rule is still a right answer)."""
    session.rollback()
    with Session(bind=session.get_bind(), join_transaction_mode="create_savepoint") as separate:
        separate.execute(sa.update(LoginAttempt).where(LoginAttempt.id == attempt)
                         .values(succeeded=True, at=utcnow()))
        separate.commit()


def guarded_secret(session: Session, by: User, key: str) -> int | None:
    """Refuse a lookup by a guessable secret (a returnee's birth date with their reference) once `actor` has
    guessed wrong too often: the login throttle's counts, with `key` the thing guessed and the actor's
    username the place guessed from — so the same case guessed at, and many cases guessed at by one
    official, are slowed down as an account and a sprayed address are. The lookup is counted as a wrong one
    until `record_guess` says otherwise (`_take_turn`); returns what to give it. Not an action: the caller's is."""
    wait, attempt = _take_turn(session, key, by.username, LoginPolicy())
    if wait > timedelta(0):
        raise TooManyAttempts("too many wrong answers; try again in %(retry_after)s s", code="lookup_throttled",
                              retry_after=math.ceil(wait.total_seconds()))
    return attempt


def record_guess(session: Session, by: User, attempt: int | None, *, right: bool, action: str, object_type: str,
                 object_id: str) -> None:
    """Settle a lookup by a guessable secret that `guarded_secret` counted: a right one clears the actor's wrong ones
    (as a login does); a wrong one stays counted and is audited in a transaction of its own, like a failed login."""
    if right:
        _settle(session, attempt)
        return
    actor_id = by.id
    # Nothing of the caller's session is touched after its rollback: reloading the actor would begin its
    # transaction again, and the refusal's rollback would then take this record with it.
    session.rollback()
    with Session(bind=session.get_bind(), join_transaction_mode="create_savepoint") as separate:
        _failed_now(separate, attempt)
        record(separate, separate.get(User, actor_id), action, object_type, object_id[:60])
        separate.commit()


# What the audit trail names a failed login by when the name typed is no account's.
UNKNOWN_ACCOUNT = "(unknown)"


def _failed_now(separate: Session, attempt: int | None) -> None:
    """The attempt counted when it began failed now: the waits run from the failure, as they did when it was counted
    only then."""
    separate.execute(sa.update(LoginAttempt).where(LoginAttempt.id == attempt).values(at=utcnow()))


def _record_failure(session: Session, username: str, address: str, attempt: int | None, *, known: bool,
                    door: str = "login") -> None:
    """Audit a failed login, counted since it began (`_take_turn`), in its own committed transaction (see
    `authenticate`).

    A name that is no account's is not written to the audit trail, which monitors and administrators read: it is
    often a password typed in the wrong box (red team: inm.oficial's password, then a login as inm.oficial from the
    same address a moment later, told whose it was). The throttle's own count keeps it, as it must to count."""
    # The caller's transaction has only read so far; ending it frees SQLite's write lock for ours.
    session.rollback()
    with Session(bind=session.get_bind(), join_transaction_mode="create_savepoint") as separate:
        _failed_now(separate, attempt)
        record(separate, None, "login.failed", "user", username[:80] if known else UNKNOWN_ACCOUNT,
               after={"address": address} if door == "login" else {"address": address, "door": door})
        separate.commit()


def start_session(session: Session, user: User, address: str, *, replacing: str | None = None) -> str:
    """Open a login session for `user`; returns the random id for the cookie (only its digest is kept).

    Every login gets a new id, and the session the browser held before (`replacing`) ends, so an id
    planted in a browser before login is worth nothing after it.
    """
    now = utcnow()
    held = row_of_secret(session, LoginSession, "session", replacing) if replacing else None
    if held is not None and held.revoked_at is None:
        revoke_secret(held)
    return issue_secret(session, LoginSession(user_id=user.id, address=address[:64], created_at=now,
                                              last_seen_at=now), "session")


def user_for_session(session: Session, token: str, policy: LoginPolicy) -> User | None:
    """The user of a live login session: not revoked, not idle too long, not older than the absolute limit."""
    row = row_of_secret(session, LoginSession, "session", token)
    if row is None or row.revoked_at is not None or not row.user.active or not row.user.agency.active:
        return None
    now = utcnow()
    if now - row.last_seen_at > policy.idle or now - row.created_at > policy.absolute:
        # Ended for good, even if the request is then refused: its times set back in the database do not revive it
        # (red team round 95, F2).
        revoke_secret(row)
        session.info.setdefault(_ENDED, set()).add(row.id)
        return None
    if now - row.last_seen_at > SEEN_GRANULARITY:
        row.last_seen_at = now
    return row.user


_ENDED = "retorno_login_sessions_ended"


def _end_after_rollback(session: Session) -> None:
    """End, in a transaction of their own, the login sessions a refused request found idle or too old."""
    ended = session.info.pop(_ENDED, None)
    if ended:
        for row in session.execute(sa.select(LoginSession).where(LoginSession.id.in_(sorted(ended)),
                                                                 LoginSession.revoked_at.is_(None))).scalars():
            revoke_secret(row)
        session.commit()


AFTER_ROLLBACK.append(_end_after_rollback)


@sa.event.listens_for(Session, "after_commit")
def _forget_ended(session: Session) -> None:
    session.info.pop(_ENDED, None)


def end_session(session: Session, user: User, token: str) -> None:
    """Log out: the session is revoked on the server, so a copy of the cookie no longer works."""
    row = row_of_secret(session, LoginSession, "session", token)
    if row is not None and row.revoked_at is None:
        revoke_secret(row)
    record(session, user, "logout", "user", user.username)


@action("admin.users", system=True)
def disable_agency(session: Session, actor: User | None, code: str, *, reason: str) -> list[User]:
    """Disable an agency and every user of it at once (their sessions and tokens end); the agency stays on record.

    Its cases, flights and audit records keep naming it. No user is added to it, enabled or let in until an
    administrator enables it again (`enable_agency`; red team round 22, X-F3: a user added later worked at once).
    An administrator cannot disable their own agency (nobody would be left to undo it).
    """
    agency = agency_by_code(session, code)
    if actor is not None and actor.agency_id == agency.id:
        raise InvalidInput("an administrator cannot disable their own agency", code="agency.own")
    if actor is not None and agency.kind == "administrator":
        # Else one administrator adds an administrator agency, and its user disables every other administrator's
        # (red team round 46a, F3): the operator at the server's console (`actor` None) disables one.
        raise InvalidInput("agency %(agency)s is an administrator agency: it is disabled only at the server's command "
                           "line (retorno agencies disable), so that no administrator can lock the others out",
                           code="agency.administrator", agency=agency.code)
    reason = written_reason(reason)
    users = list(session.execute(sa.select(User).where(User.agency_id == agency.id, User.active.is_(True))
                                 .order_by(User.username)).scalars())
    if not agency.active:
        raise InvalidInput("agency %(agency)s is already disabled", code="agency.disabled", agency=code)
    for user in users:
        disable_user(session, actor, user.username, reason=reason)
    agency.active = False
    record(session, actor, "agency.disable", "agency", code, reason=reason,
           after={"users_disabled": [u.username for u in users], "active": False})
    for react in AGENCY_DISABLED_REACTIONS:
        react(session, actor, agency)
    return users


# What else ends when an agency is disabled: the work held for nobody of it to do (a reintegration operator's offers
# not answered, `reintegration.service`). Called after the agency and its users are disabled.
AGENCY_DISABLED_REACTIONS: list[Callable[[Session, User | None, Agency], None]] = []


@action("admin.users", system=True)
def enable_agency(session: Session, actor: User | None, code: str, *, reason: str) -> Agency:
    """Enable an agency disabled by `disable_agency`, with a written reason (audited). Its users stay disabled: each
    is enabled on its own, with its own reason (`enable_user`, the pages)."""
    agency = agency_by_code(session, code)
    if agency.active:
        raise InvalidInput("agency %(agency)s is not disabled", code="agency.enabled", agency=code)
    reason = written_reason(reason)
    agency.active = True
    session.flush()
    record(session, actor, "agency.enable", "agency", code, reason=reason, after={"active": True})
    return agency


def _user_named(session: Session, username: str) -> User:
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound("no user '%(username)s'", code="user_not_found", username=username)
    return user


def change_password(session: Session, by: User | None, username: str, new_password: str) -> User:
    """Set a user's password (the user themself, an administrator, or the operator's CLI when `by` is None).

    Every login session of the user ends and every API token of theirs is revoked (`service.set_password`):
    whoever held one must log in with the new password. Not an
    `@action`: any official, a viewer too, may change their own password; another's needs admin.users, and only
    in an administrator or a monitor agency (`service.stands_in`): every other agency's are its own supervisors'
    to reset, and the console's.
    """
    user = _user_named(session, username)
    if by is not None and by.id != user.id:
        require(by, "admin.users")
        require_stand_in(by, user.agency)
    ended, revoked = set_password(session, user, new_password, by=by)
    record(session, by, "user.password", "user", username,
           after={"sessions_ended": ended, "tokens_revoked": revoked})
    return user


@action("admin.users", system=True)
def disable_user(session: Session, actor: User | None, username: str, *, reason: str) -> User:
    """Disable a user (an administrator, or the operator's CLI): their sessions and API tokens end at once."""
    return end_access(session, actor, _user_named(session, username), reason=reason)


@action("admin.users", system=True)
def enable_user(session: Session, actor: User | None, username: str, *, reason: str) -> User:
    """Let a disabled user log in again (the operator's CLI, `retorno users enable`, audited as the system with
    its written reason, as `disable_user` is): with the password they had, or one the console sets after."""
    user = _user_named(session, username)
    if user.active:
        raise InvalidInput("user '%(username)s' is already enabled", code="user.enabled", username=username)
    return restore_access(session, actor, user, reason=reason)


def restore_access(session: Session, by: User | None, user: User, *, reason: str) -> User:
    """The step `enable_user` and `accounts.enable` share, audited as `by`'s; each checks who may call it.

    Enabling asks for a written reason at every door, as disabling does (`end_access`): the console's
    `retorno users enable --reason`, the administrator's and the agency supervisor's page (red team round 5,
    B-F3: the pages enabled with none).
    """
    reason = written_reason(reason)
    refuse_disabled_agency(user.agency)
    user.active = True
    session.flush()
    record(session, by, "user.enable", "user", user.username, reason=reason, after={"active": True})
    return user


def end_access(session: Session, by: User | None, user: User, *, reason: str) -> User:
    """The step `disable_user` and `accounts.disable` share, audited as `by`'s; each checks who may call it.

    Nobody disables their own account, by any door: nobody might be left to enable it again.
    """
    if by is not None and by.id == user.id:
        raise InvalidInput("you cannot change your own account here; your password is changed on its own page",
                           code="user.own_account")
    reason = written_reason(reason)
    user.active = False
    ended = revoke_sessions(session, user)
    record(session, by, "user.disable", "user", user.username, reason=reason,
           after={"active": False, "sessions_ended": ended, "tokens_revoked": revoke_tokens(session, user)})
    return user
