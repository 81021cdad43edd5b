"""User administration in the pages: add, disable and enable, reset a password, change a role; each audited.

An administrator's supervisors manage the users of every agency; each other agency's supervisors
(`users.manage`) those of their own agency only: a user of another agency does not exist for them.
An administrator adds a user, changes a role, resets a password or enables a user only in an administrator or
a monitor agency (`service.stands_in`); every other agency's are its own supervisors', its first supervisor the
operator's console's. Administrators disable and read anywhere.
Nobody changes their own account here (they would be locked out with nobody left to undo it); their
own password they change on the password page, which is also where a reset password leads.

A new user, or one whose password was reset, gets a temporary password shown once to the person who
made it, and must choose their own at the next login before doing anything else (`web.access`).
"""

from __future__ import annotations

import difflib
import math
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.logins import LoginPolicy, change_password, check_password, end_access, restore_access
from retorno.agencies.models import ROLES, Agency, User
from retorno.agencies.permissions import ADMINISTRATOR, action, reader
from retorno.agencies.service import (
    add_account,
    agency_by_code,
    guessed_soon,
    password_skeleton,
    personal_word_in,
    require_stand_in,
    set_password,
    stands_in,
)
from retorno.audit.models import AuditRecord
from retorno.audit.service import SYSTEM, record
from retorno.errors import Forbidden, InvalidInput, NotFound, Term

# Letters and digits nobody confuses when reading a temporary password aloud (no 0/O, 1/l/I).
_READABLE = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TEMPORARY_LENGTH = 14


def temporary_password(username: str, full_name: str) -> str:
    """A random password to hand over once; the user replaces it at their next login. Drawn again in the rare case
    it holds the username or a word of the full name (`service.personal_word_in`), or is guessed soon (a run of letters:
    `service.guessed_soon`), which `set_password` refuses."""
    while True:
        password = "".join(secrets.choice(_READABLE) for _ in range(TEMPORARY_LENGTH))
        if not personal_word_in(password, username, full_name) and not guessed_soon(password, username, full_name):
            return password


def _manages_all(actor: User) -> bool:
    return actor.agency.kind == ADMINISTRATOR


def _in_scope(actor: User, agency: Agency) -> None:
    if not _manages_all(actor) and agency.id != actor.agency_id:
        raise Forbidden("%(username)s manages the users of %(agency)s only",
                        code="forbidden.users.manage", username=actor.username, agency=actor.agency.code)


def _managed(session: Session, actor: User, username: str) -> User:
    """Another user `actor` may manage; one of another agency does not exist for an agency's supervisor."""
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not (_manages_all(actor) or user.agency_id == actor.agency_id):
        raise NotFound("no user '%(username)s' that you manage", code="user_not_found", username=username)
    if user.id == actor.id:
        raise InvalidInput("you cannot change your own account here; your password is changed on its own page",
                           code="user.own_account")
    return user


@reader("users.read")
def managed_users(session: Session, actor: User, *, agency_code: str | None = None) -> list[User]:
    """The users `actor` manages, by agency and username: every agency's for an administrator."""
    query = sa.select(User).join(Agency, Agency.id == User.agency_id).order_by(Agency.code, User.username)
    if not _manages_all(actor):
        query = query.where(User.agency_id == actor.agency_id)
    elif agency_code:
        query = query.where(Agency.code == agency_code)
    return list(session.execute(query).scalars())


@reader("users.read")
def managed_agencies(session: Session, actor: User) -> list[Agency]:
    """The agencies whose users `actor` manages."""
    if not _manages_all(actor):
        return [actor.agency]
    return list(session.execute(sa.select(Agency).order_by(Agency.code)).scalars())


def agencies_to_add_to(session: Session, manager: User) -> list[Agency]:
    """The agencies `manager` may add a user to (the page offers only these)."""
    return [agency for agency in managed_agencies(session, manager) if stands_in(manager, agency)]


def may_change(manager: User, user: User) -> bool:
    """Whether `manager` may change `user`'s role or reset their password (the page offers only what works)."""
    return stands_in(manager, user.agency)


@reader("users.read")
def managed_user(session: Session, actor: User, username: str) -> User:
    """One user `actor` manages (themselves included, to see their own account)."""
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not (_manages_all(actor) or user.agency_id == actor.agency_id):
        raise NotFound("no user '%(username)s' that you manage", code="user_not_found", username=username)
    return user


@action("users.manage")
def add_user(session: Session, actor: User, *, username: str, full_name: str, agency_code: str,
             role: str) -> tuple[User, str]:
    """Add a user with a temporary password (returned, to hand over once); they choose their own at login."""
    if not full_name.strip():
        raise InvalidInput("a user needs a full name", code="user.full_name")
    _in_scope(actor, agency_by_code(session, agency_code))
    password = temporary_password(username, full_name.strip())
    user = add_account(session, actor, username=username, full_name=full_name.strip(), agency_code=agency_code,
                       role=role, password=password)
    return user, password


@action("users.manage")
def disable(session: Session, actor: User, username: str, *, reason: str) -> User:
    """Disable a user: their login sessions and API tokens end at once."""
    user = _managed(session, actor, username)
    if not user.active:
        raise InvalidInput("user '%(username)s' is already disabled", code="user.disabled", username=username)
    return end_access(session, actor, user, reason=reason)


def disabled_by_an_administrator(session: Session, user: User) -> bool:
    """Whether the latest disabling of `user` (alone, or with their whole agency) was an administrator's or
    the operator's console's (`retorno users disable`, audited as the system)."""
    latest = session.execute(
        sa.select(AuditRecord.agency).where(AuditRecord.action == "user.disable", AuditRecord.object_type == "user",
                                            AuditRecord.object_id == user.username)
        .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one_or_none()
    if latest is None:
        return False
    if latest == SYSTEM:
        return True
    kind = session.execute(sa.select(Agency.kind).where(Agency.code == latest)).scalar_one_or_none()
    return kind == ADMINISTRATOR


def _undoes_an_administrators_disabling(session: Session, manager: User, user: User) -> bool:
    """An administrator enabling a user an administrator (or the console) disabled, whose password is their own:
    it gives back what the agency had granted and the administrator no access (they know no password of the
    user's), where nobody else may (`may_enable`)."""
    return (_manages_all(manager) and not user.must_change_password
            and disabled_by_an_administrator(session, user))


def may_enable(session: Session, manager: User, user: User) -> bool:
    """Whether `manager` may let the disabled `user` log in again (the page offers the button only to whom it
    will work): a user an administrator disabled, only an administrator enables (else disabling would not hold
    against the agency's own supervisors); an administrator, in an administrator or a monitor agency
    (`service.stands_in`), or elsewhere to undo an administrator's disabling of a user whose password is their
    own, which nobody else may do."""
    if not _manages_all(manager):
        return not disabled_by_an_administrator(session, user)
    return stands_in(manager, user.agency) or _undoes_an_administrators_disabling(session, manager, user)


def _refuse_held_with_a_temporary_password(session: Session, user: User) -> None:
    """Refuse, naming the only way out, a change of a user an administrator disabled while their password is still
    a temporary one (which the agency that handed it over knows): no administrator enables them then (`may_enable`),
    so the operator's console does (red team round 14, RT-H F1: the agency was told an administrator enables them,
    and the administrator was refused by the rule of the agencies it stands in for)."""
    if user.must_change_password and disabled_by_an_administrator(session, user):
        raise Forbidden("user '%(username)s' was disabled by an administrator while their password is still a "
                        "temporary one, which the agency that handed it over knows: an administrator enables them "
                        "only once the password is their own, so the operator's console enables them (retorno users "
                        "enable)", code="forbidden.users.enable_temporary_password", username=user.username)


def _not_held_by_an_administrator(session: Session, actor: User, user: User) -> None:
    """Refuse to reset the password or change the role of a user an administrator (or the console) disabled, unless
    `actor` may enable them (`may_enable`): an agency's supervisor who reset it would leave the user whom nobody
    but the console enables, since an administrator enables such a user only while their password is their own
    (red team round 11, RE8812 L2). The way out is named: an administrator enables them first."""
    if not user.active and not may_enable(session, actor, user):
        _refuse_held_with_a_temporary_password(session, user)
        raise Forbidden("user '%(username)s' was disabled by an administrator: their password and role stay as they "
                        "are until an administrator enables them again (then reset or change them here)",
                        code="forbidden.users.disabled_by_administrator", username=user.username)


@action("users.manage")
def enable(session: Session, actor: User, username: str, *, reason: str) -> User:
    """Let a disabled user log in again (with the password they had, or a reset one), for a written reason."""
    user = _managed(session, actor, username)
    if user.active:
        raise InvalidInput("user '%(username)s' is already enabled", code="user.enabled", username=username)
    if not may_enable(session, actor, user):
        _refuse_held_with_a_temporary_password(session, user)
        require_stand_in(actor, user.agency)
        raise Forbidden("user '%(username)s' was disabled by an administrator; only an administrator enables them",
                        code="forbidden.users.enable", username=username)
    return restore_access(session, actor, user, reason=reason)


@action("users.manage")
def reset_password(session: Session, actor: User, username: str) -> str:
    """Give a user a temporary password (returned, to hand over once); every session and token of theirs ends."""
    user = _managed(session, actor, username)
    require_stand_in(actor, user.agency)
    _not_held_by_an_administrator(session, actor, user)
    password = temporary_password(user.username, user.full_name)
    ended, revoked = set_password(session, user, password, by=actor)
    session.flush()
    record(session, actor, "user.password_reset", "user", username,
           after={"must_change_password": True, "sessions_ended": ended, "tokens_revoked": revoked})
    return password


@action("users.manage")
def change_role(session: Session, actor: User, username: str, role: str) -> User:
    """Make a user a viewer, an officer or a supervisor of their agency."""
    if role not in ROLES:
        raise InvalidInput("role must be one of %(roles)s, not '%(role)s'", code="user.role", roles=", ".join(ROLES),
                           role=role)
    user = _managed(session, actor, username)
    require_stand_in(actor, user.agency)
    _not_held_by_an_administrator(session, actor, user)
    if user.role == role:
        raise InvalidInput("user '%(username)s' is already a %(role)s", code="user.same_role", username=username,
                           role=Term("role", role))
    before = user.role
    user.role = role
    session.flush()
    record(session, actor, "user.role", "user", username, before={"role": before}, after={"role": role})
    return user


def change_own_password(session: Session, user: User, *, current: str, new: str, repeated: str, address: str,
                        policy: LoginPolicy | None = None) -> User:
    """A user sets their own password, knowing the current one (any role, a viewer too).

    The current password is checked as a login checks it (`logins.check_password`): throttled with the login's
    counts for the account from `address`, each wrong one audited as `login.failed` (red team round 11, RE8812 M3).
    Every login session of theirs ends and every API token of theirs is revoked (`service.set_password`); the
    page then opens a new session.
    """
    check_password(session, user.username, current, address=address, policy=policy, door="password_change")
    if new != repeated:
        raise InvalidInput("the new password and its repetition differ", code="password_mismatch")
    if password_skeleton(new) == password_skeleton(current):
        # Not in case, accents or signs only: whoever set a temporary password would guess the variant (red team
        # round 23, Y-F5: 'Tortuga Marina Veloz 8' for the administrator's 'tortuga marina veloz 8').
        raise InvalidInput("the new password must differ from the current one", code="password_unchanged")
    if (kept := kept_run(new, current)) >= max(KEPT_RUN, math.ceil(len(password_skeleton(current)) / 2)):
        # Nor by a character or two: a temporary password is known to whoever set it, who would try its variants
        # first (red team round 43, L2: 'yLeanyUVTYCzAf' for the supervisor's 'yLeanyUVTYCzAe'). A word in common
        # ('clave' in both) is no variant: half the current one kept in a row is.
        raise InvalidInput("the new password keeps %(n)s characters in a row of the current one: whoever knew that one "
                           "would guess it; change more of it", code="password_like_current", n=kept)
    return change_password(session, user, user.username, new)


# The fewest characters in a row of the current password (as `password_skeleton` compares) that make the new one a
# variant of it, when they are half of it or more.
KEPT_RUN = 5


def kept_run(new: str, current: str) -> int:
    """The most characters in a row of `current` that `new` holds, whatever their case, accents and signs."""
    kept, before = password_skeleton(new), password_skeleton(current)
    return difflib.SequenceMatcher(None, kept, before, autojunk=False).find_longest_match().size
