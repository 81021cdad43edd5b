"""Agencies, users, passwords and API tokens (logging in is in `logins`)."""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import pycountry
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from retorno.agencies.models import AGENCY_KINDS, ROLES, Agency, ApiToken, LoginSession, User
from retorno.agencies.permissions import ADMINISTRATOR, MONITOR, action, can
from retorno.audit.service import SYSTEM, record
from retorno.db import keyring_of, utcnow
from retorno.errors import Forbidden, InvalidInput, InvalidTransition, NotAuthenticated, NotFound
from retorno.names import latin_lookalike

# Argon2id at OWASP's first recommended setting (Password Storage Cheat Sheet: 46 MiB, one pass, one lane),
# no longer argon2-cffi's default (64 MiB, three passes, four lanes): measured on the 2-core benchmark
# machine, 85 ms of processor time per login instead of 263 ms, while fifty officials logging in at the
# start of `retorno bench load` took both cores for many seconds from everyone else's requests. A
# password hashed with other settings still verifies, and is hashed again at its next login
# (`rehash_if_outdated`).
_hasher = PasswordHasher(time_cost=1, memory_cost=47_104, parallelism=1)
# Argon2 is slow and memory-hard on purpose (64 MiB, four lanes each): a crowd logging in at the start of a
# shift must queue for it, not run fifty at once and starve every other request of the same worker process
# (measured by `retorno bench load`: fifty logins at once took 10 to 40 s each and got a worker killed
# by its supervisor's health check). Two at a time per process keeps both cores busy.
_hashing = threading.BoundedSemaphore(2)


@contextlib.contextmanager
def password_turn() -> Iterator[None]:
    """Wait for one of this process's turns at password hashing (`verify_password` needs one).

    Take it before the request's first query: waiting for a turn while holding a connection of the
    pool starved the other requests of connections (`retorno bench load`: 500s after 30 s).
    """
    with _hashing:
        yield


def hash_password(password: str) -> str:
    with password_turn():
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> None:
    """Raise argon2's VerificationError unless `password` is the one `password_hash` was made from.

    The caller holds a `password_turn()`.
    """
    _hasher.verify(password_hash, password)


def rehash_if_outdated(user: User, password: str) -> None:
    """After a right password: its hash again with the current settings, if it was made with others.

    The caller holds a `password_turn()`.
    """
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)


AGENCY_CODE = re.compile(r"(?=.{2,40}\Z)[A-Z0-9]+(?:-[A-Z0-9]+)*\Z")
# IATA airline designator: two letters or digits (PAXLST names the carrier by it).
CARRIER_CODE = re.compile(r"[A-Z0-9]{2}\Z")


@dataclass(frozen=True)
class AgencyListing:
    agency: Agency
    users: int
    active_users: int


@action("admin.users", system=True)
def create_agency(session: Session, actor: User | None, *, code: str, name: str, kind: str, country: str,
                  carrier_code: str | None = None) -> Agency:
    """Add an agency (an administrator's action; `actor` None for the operator's CLI, which bootstraps)."""
    if kind not in AGENCY_KINDS:
        raise InvalidInput("agency kind must be one of %(kinds)s, not '%(kind)s'",
                           code="agency.kind", kinds=", ".join(AGENCY_KINDS), kind=kind)
    if not AGENCY_CODE.match(code):
        raise InvalidInput("an agency code is 2 to 40 capital letters and digits, single hyphens between them (like "
                           "VE-SAIME), not '%(agency)s'", code="agency.code", agency=code)
    if code.replace("-", "").lower() == SYSTEM:
        raise InvalidInput("'%(agency)s' is the name the audit trail gives the installation itself: an agency takes "
                           "another code", code="agency.code_reserved", agency=code)
    if not name.strip():
        raise InvalidInput("an agency needs a name", code="agency.name")
    if pycountry.countries.get(alpha_3=country.upper()) is None:
        raise InvalidInput("country is an ISO 3166 three-letter code (VEN, MEX, USA...), not '%(country)s'",
                           code="agency.country", country=country)
    carrier_code = carrier_code.upper() if carrier_code else None
    if kind == "carrier" and (carrier_code is None or not CARRIER_CODE.match(carrier_code)):
        raise InvalidInput("a carrier needs its two-character IATA airline designator (--carrier-code, like V0)",
                           code="agency.carrier_code")
    if kind != "carrier" and carrier_code is not None:
        raise InvalidInput("only a carrier has an airline designator", code="agency.carrier_code")
    # One that reads as another but for its hyphens ('MXINM' beside 'MX-INM') is the other on the audit trail (red team
    # round 37, F5), as a username is (`skeleton`).
    alike = next((taken for taken in session.execute(sa.select(Agency.code)).scalars()
                  if taken.replace("-", "") == code.replace("-", "")), None)
    if alike is not None:
        raise InvalidInput("the agency code '%(agency)s' is taken", code="agency.code_taken", agency=alike)
    holder = session.execute(sa.select(Agency.code).where(Agency.carrier_code == carrier_code)).scalar() \
        if carrier_code else None
    if holder is not None:
        # One airline per designator: a flight's number names its airline on the PAXLST and the carrier's list (red
        # team round 22, X-F4: a second 'V0' carrier, with no users, was given a flight numbered as CONVIASA's).
        raise InvalidInput("the airline designator %(designator)s is %(agency)s's", code="agency.carrier_code_taken",
                           designator=carrier_code, agency=holder)
    agency = Agency(code=code, name=name.strip(), kind=kind, country=country.upper(), carrier_code=carrier_code)
    session.add(agency)
    session.flush()
    record(session, actor, "agency.create", "agency", code,
           after={"code": code, "name": agency.name, "kind": kind, "country": agency.country,
                  "carrier_code": carrier_code})
    return agency


def refuse_disabled_agency(agency: Agency) -> None:
    """No user is added to a disabled agency, nor enabled in it (`logins.disable_agency`, red team round 22, X-F3)."""
    if not agency.active:
        raise InvalidTransition("agency %(agency)s is disabled: an administrator enables it first, with a written "
                                "reason (retorno agencies enable, POST /api/v1/agencies/%(agency)s/enable)",
                                code="agency.disabled", agency=agency.code)


def list_agencies(session: Session) -> list[AgencyListing]:
    """Every agency by code, with how many users it has and how many of them are active."""
    rows = session.execute(
        sa.select(Agency, sa.func.count(User.id), sa.func.count(User.id).filter(User.active.is_(True)))
        .outerjoin(User, User.agency_id == Agency.id).group_by(Agency.id).order_by(Agency.code)
    ).all()
    return [AgencyListing(agency, users, active) for agency, users, active in rows]


@action("admin.users", system=True)
def create_user(session: Session, actor: User | None, *, username: str, full_name: str, agency_code: str,
                role: str, password: str, locale: str = "es") -> User:
    """Add a user to an agency with an argon2-hashed password."""
    return add_account(session, actor, username=username, full_name=full_name, agency_code=agency_code, role=role,
                       password=password, locale=locale)


def set_password(session: Session, user: User, password: str, *, by: User | None) -> tuple[int, int]:
    """Give `user` a password: the one place every door sets one (the user on the password page, a supervisor's
    or an administrator's reset, the console's `retorno users password`, a new account). Returns how many login
    sessions ended and how many API tokens were revoked.

    A password that changes ends every login session of the user AND revokes every API token of theirs, whoever
    changes it and by whatever door: an official who changes a password they fear has leaked must not leave
    working the tokens someone made with it (red team round 5, B-F2). A new account (not yet flushed) has none.

    Here too is decided whether they must replace it at their next login. A password another official set (an
    administrator through the API or the pages, a reset) is theirs to know too: the user must choose their own
    before anything else (`web.access`; no API token is issued). One the user set themself is theirs. So is one
    set at the operator's console (`by` None: `retorno users add|password`, the installation's first
    administrator, the demo's printed logins), where the prompt that does not echo is for the person it belongs
    to to type.
    """
    if len(password) < 10:
        raise InvalidInput("a password needs at least 10 characters", code="password_too_short")
    if len(set(password.casefold())) < 5:
        # 'aaaaaaaaaaaa' or '1212121212' is long but guessed at once.
        raise InvalidInput("a password needs at least 5 different characters", code="password_too_plain")
    # The agency's name and code are in every page's header, known to every official (red team round 43, L3:
    # 'Instituto Nacional de Migración' was accepted as the password of an official of the INM).
    agency = user.agency if user.agency is not None else session.get(Agency, user.agency_id)
    agency_words = f"{agency.code} {agency.name}" if agency is not None else ""
    # Its words of `AGENCY_WORD` letters or more: 'para' or 'Poder' in a ministry's name are in many passphrases.
    named = " ".join(word for word in re.split(r"[\W_]+", agency_words) if len(word) >= AGENCY_WORD)
    if personal_word_in(password, user.username, f"{user.full_name or ''} {named}"):
        raise InvalidInput("a password may not contain the username, a word of the user's full name, or a word of "
                           "their agency's name or code", code="password_personal")
    if guessed_soon(password, user.username, f"{user.full_name or ''} {agency_words}"):
        # '1234567890', 'qwertyuiop', 'password2026': ten different characters, and among the first guesses tried.
        raise InvalidInput("a password that is a run, a keyboard row, a common password or word, or a date is guessed "
                           "at once: choose a longer one, several words for instance", code="password_guessable")
    user.password_hash = hash_password(password)
    user.must_change_password = by is not None and by.id != user.id
    if user.id is None:
        return 0, 0
    return revoke_sessions(session, user), revoke_tokens(session, user)


# Guesses an attacker needs (zxcvbn's estimate): fewer than this, and the password is refused. Its score 3, "safely
# unguessable: moderate protection from offline slow-hash scenario" (the hashes are Argon2's).
GUESSES_NEEDED = 10**8


# Words an attacker of this installation tries first, which zxcvbn's (English) dictionaries lack.
_LOCAL_WORDS = ("contraseña", "contrasena", "clave", "password", "retorno", "venezuela", "mexico", "méxico",
                "bienvenido", "bienvenida", "admin", "administrador", "supervisor", "oficial", "usuario", "secreto",
                "conviasa", "saime", "caracas", "maiquetia", "tapachula")


def guessed_soon(password: str, username: str, full_name: str | None) -> bool:
    """Whether `password` is among the first GUESSES_NEEDED guesses (its user's username and name guessed first).
    zxcvbn reads the first 100 characters: a password as long is a passphrase past any guess anyway."""
    from zxcvbn import zxcvbn  # its dictionaries take a moment to load: only where a password is set
    inputs = [username, *(full_name or "").split(), *_LOCAL_WORDS]
    # Look-alike letters written as the letters they look like ('qwеrtyuiоp' with Cyrillic е and о: red team round 23,
    # Y-F4): the guesser's list holds the keyboard row.
    guesses = zxcvbn(latin_lookalike(password[:100]), user_inputs=[value for value in inputs if value])["guesses"]
    return bool(float(guesses) < GUESSES_NEEDED)


# A word of a full name this long or longer may not be in a password; shorter ones ('Ana', 'de') are in many words.
PERSONAL_WORD = 4
# A word of the agency's name or code this long or longer may not be in a password.
AGENCY_WORD = 6


def password_skeleton(text: str) -> str:
    """Text compared without case, accents, look-alike letters nor signs, its letters and digits only: 'Pérez' in
    'PEREZ2026!' is found, so are 'rt23.mon1' in 'rt23mon1rt23mon1' and 'Zacarías' in 'Zacarıas2024!' (red team round
    23, Y-F4)."""
    return re.sub(r"[\W_]+", "", latin_lookalike(unicodedata.normalize("NFKC", text)).casefold())


def personal_word_in(password: str, username: str | None, full_name: str | None) -> bool:
    """Whether `password` holds the username (or a part of it of `PERSONAL_WORD` characters or more), or a word of
    `full_name` of `PERSONAL_WORD` letters or more, whatever their case, accents, look-alike letters and signs: the
    first things a guesser tries (red team round 11, RE8812 L3: 'rt12.m1rt12.m1' was accepted for rt12.m1).
    `set_password` refuses such a password at every door that sets one."""
    folded = password_skeleton(password)
    parts = [password_skeleton(part) for part in re.split(r"[\W_]+", f"{username or ''} {full_name or ''}")]
    words = [password_skeleton(username or "")] + [part for part in parts if len(part) >= PERSONAL_WORD]
    return any(word and word in folded for word in words)


def revoke_sessions(session: Session, user: User) -> int:
    """End every open login session of `user` at once; returns how many were open."""
    result = session.execute(sa.update(LoginSession).where(LoginSession.user_id == user.id,
                                                           LoginSession.revoked_at.is_(None))
                             .values(revoked_at=utcnow(), token_hash=_REVOKED + sa.cast(LoginSession.id, sa.String)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every API token of `user` at once; returns how many were live."""
    tokens = session.execute(sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=utcnow(), token_hash=_REVOKED + sa.cast(ApiToken.id, sa.String)))
    return int(tokens.rowcount or 0)  # type: ignore[attr-defined]


# The agency kinds whose users an administrator manages through the web and the API (`stands_in`): their own, and
# a monitor's, which reads no personal data and whose supervisors manage no users (`users.manage`).
ADMINISTERED_KINDS = frozenset({ADMINISTRATOR, MONITOR})


def stands_in(manager: User | None, agency: Agency) -> bool:
    """Whether `manager` may add a user to `agency`, change a role, reset a password or enable a user there (each
    door also checks its own capability and scope): the one decision for the API, the pages (which offer only
    what it allows) and `logins.change_password`.

    Through the web and the API an administrator manages the users of administrator and monitor agencies only.
    Every other agency's users are its own supervisors' (`users.manage`), and its first supervisor, or a new one
    once all are gone, comes from the operator's console (`manager` None: `retorno users add|password`), the root
    of trust, held by whoever runs the server and its database. Otherwise an administrator could create an agency
    (a sending authority for MEX sees every MEX case) or take over an existing one, give it a supervisor of their
    own making, and reach its cases, protection screenings and powers. Creating agencies, disabling users and
    agencies, and reading user lists stay the administrators' everywhere.
    """
    if manager is None or manager.agency.kind != ADMINISTRATOR:
        return True
    return agency.kind in ADMINISTERED_KINDS


def require_stand_in(manager: User | None, agency: Agency) -> None:
    """Refuse unless `stands_in`: the agency's own supervisors manage its users."""
    if not stands_in(manager, agency):
        raise Forbidden("the users of %(agency)s (%(name)s) are managed by its own supervisors; its first supervisor "
                        "comes from the operator's console (retorno users add)",
                        code="forbidden.users.agency_manages_its_own", agency=agency.code, name=agency.name)


# What a username may be: lower-case ASCII letters and digits, dots, hyphens and underscores, beginning and ending
# with a letter or a digit.
USERNAME = r"[a-z0-9][a-z0-9._-]{1,78}[a-z0-9]"


def skeleton(username: str) -> str:
    """A username as it reads, its dots, hyphens and underscores left out: two usernames of one skeleton are one name
    to a reader of the audit trail ('inm.oficial', 'inm_oficial', 'inmoficial')."""
    return re.sub(r"[._-]", "", username)


def add_account(session: Session, by: User | None, *, username: str, full_name: str, agency_code: str, role: str,
                password: str, locale: str = "es") -> User:
    """The step `create_user` and `accounts.add_user` share, audited as `by`'s; each checks who may call it,
    and here whether an administrator may add to that agency at all (`stands_in`: an administrator or a monitor
    agency).

    A username is plain lower-case ASCII at every door (API, pages, console): the audit trail must tell
    officials apart, and 'Admin.Supervisor', 'admin.supervisor ' or a Cyrillic 'а' would read as another.
    """
    if not re.fullmatch(USERNAME, username):
        raise InvalidInput("a username is 3 to 80 lower-case letters, digits, dots, hyphens or underscores, beginning "
                           "and ending with a letter or a digit, not '%(username)s'", code="user.username",
                           username=username)
    if username == SYSTEM or skeleton(username) == SYSTEM:
        raise InvalidInput("'%(username)s' is the name the audit trail gives the installation itself: a user takes "
                           "another", code="user.username_reserved", username=username)
    if role not in ROLES:
        raise InvalidInput("role must be one of %(roles)s, not '%(role)s'", code="user.role", roles=", ".join(ROLES),
                           role=role)
    agency = session.execute(sa.select(Agency).where(Agency.code == agency_code)).scalar_one_or_none()
    if agency is None:
        raise NotFound("no agency with code '%(agency_code)s'", agency_code=agency_code)
    refuse_disabled_agency(agency)
    require_stand_in(by, agency)
    holder = session.execute(sa.select(User.agency_id).where(User.username == username)).scalar_one_or_none()
    if holder is None:
        # One that reads as another but for its dots, hyphens and underscores ('inm.consulta.', 'inm_oficial') is the
        # other on the audit trail (red team round 36, F3): refused as the other itself would be.
        holder = next((agency_id for name, agency_id in session.execute(sa.select(User.username, User.agency_id))
                       if skeleton(name) == skeleton(username)), None)
    if holder is not None:
        if by is None or by.agency.kind == ADMINISTRATOR:
            # The console and an administrator's supervisors read every agency's users anyway.
            raise InvalidInput("the username '%(username)s' is taken", username=username)
        if holder == by.agency_id:
            raise InvalidInput("the username '%(username)s' is already one of your agency's users",
                               code="user.username_taken", username=username)
        # A username is one for the whole installation, so another agency's cannot be given again; but whose it is,
        # or that it is an official's at all, is not told (red team round 11, RE8812 L4: "ya está en uso" told an
        # agency's supervisor which usernames other agencies have, while their user and token pages do not).
        raise InvalidInput("the username '%(username)s' cannot be used; choose another",
                           code="user.username_unavailable", username=username)
    user = User(username=username, full_name=full_name, agency=agency, role=role, locale=locale)
    set_password(session, user, password, by=by)
    session.add(user)
    session.flush()
    record(session, by, "user.create", "user", username,
           after={"username": username, "agency": agency_code, "role": role})
    return user


# A secret the service hands out, a bearer token (`rt_<row id>.<random>`) or a login cookie (`<row id>.<random>`),
# is kept as the keyed digest (`DataKeyring.secret_digests`) of itself with its row's id, its user and its expiry (a
# token) or start (a session): a row written in the database, moved to another user, or given a later expiry or start
# (round 95, F2), matches no secret
# (red team round 93, F3: a plain SHA-256 let whoever could write the database mint a supervisor's token).
SecretRow = TypeVar("SecretRow", ApiToken, LoginSession)


def _bound(kind: str, row: ApiToken | LoginSession, secret: str) -> str:
    moment = row.expires_at if isinstance(row, ApiToken) else row.created_at
    return f"{kind}|{row.id}|{row.user_id}|{int(moment.timestamp())}|{secret}"


# A revoked token's or session's digest is replaced by this and its id: clearing the revocation in the database does
# not bring it back (red team round 95, F1).
_REVOKED = sa.literal("revoked:")


def revoke_secret(row: ApiToken | LoginSession) -> None:
    row.revoked_at = utcnow()
    row.token_hash = f"revoked:{row.id}"


def bind_secret(session: Session, row: ApiToken | LoginSession, kind: str, secret: str) -> None:
    """Keep the digest of `secret` for `row`, bound to its id, user and expiry (a token) or start (a session)."""
    row.token_hash = keyring_of(session).secret_digests(_bound(kind, row, secret))[0]


def issue_secret(session: Session, row: SecretRow, kind: str) -> str:
    """Store `row` (its id is part of the secret) and give it a new secret, of which only the digest is kept."""
    row.token_hash = "unset:" + secrets.token_hex(26)
    session.add(row)
    session.flush()
    secret = f"{row.id}.{secrets.token_urlsafe(32)}"
    bind_secret(session, row, kind, secret)
    session.flush()
    return secret


def row_of_secret(session: Session, model: type[SecretRow], kind: str, secret: str) -> SecretRow | None:
    """The row whose secret `secret` is (revoked or not), under any of the data keys; None for any other text."""
    row_id, dot, _ = secret.partition(".")
    if not dot or not row_id.isdigit() or len(row_id) > 15:
        return None
    row = session.get(model, int(row_id))
    if row is None:
        return None
    found = keyring_of(session).secret_digests(_bound(kind, row, secret))
    return row if any(hmac.compare_digest(row.token_hash, digest) for digest in found) else None


# A token's last use is written when it is this much older than the request: not on every request (`retorno bench
# load` counts the statements of each), yet near enough for its owner to tell a forgotten token from a busy one.
TOKEN_USE_GRANULARITY = timedelta(minutes=1)


def create_token(session: Session, user: User, *, name: str, longest_days: int, days: int | None = None) -> str:
    """Issue a bearer token for `user` themselves (`issue_token`); returns the token."""
    return issue_token(session, user, name=name, longest_days=longest_days, days=days)[0]


def issue_token(session: Session, user: User, *, name: str, longest_days: int,
                days: int | None = None) -> tuple[str, ApiToken]:
    """Issue a bearer token for `user` themselves (shown once; only its digest is kept): the token and its row.

    It expires `days` after now, `longest_days` (the installation's RETORNO_TOKEN_DAYS, which each door passes) if
    not asked: a caller may ask for fewer days, never more. Audited as `token.create` with its id, name and expiry.
    """
    if user.must_change_password:
        # At every door that issues one (the API, the command line: red team round 46a, F4): a password someone else
        # set lets its user do nothing but choose their own.
        raise Forbidden("%(username)s must first choose a new password on the page /account/password: the "
                        "current one was set by someone else", code="password_change_required", username=user.username)
    if days is None:
        days = longest_days
    if not 1 <= days <= longest_days:
        raise InvalidInput("a token lasts from 1 to %(longest)s days, not %(days)s", code="token.days",
                           longest=longest_days, days=days)
    now = utcnow()
    row = ApiToken(user_id=user.id, name=name, created_at=now, expires_at=now + timedelta(days=days))
    token = "rt_" + issue_secret(session, row, "token")
    record(session, user, "token.create", "user", user.username,
           after={"token": row.id, "name": name, "expires_at": row.expires_at.isoformat()})
    return token, row


def user_for_token(session: Session, token: str) -> User:
    """The user of a live bearer token: known, not revoked, not expired, its user active.

    Its last use is noted when older than `TOKEN_USE_GRANULARITY`, by a statement of its own that skips the row if
    another request is noting it (PostgreSQL: a row lock held until that request commits must not make this one
    wait; SQLite writes one at a time anyway).
    """
    row = row_of_secret(session, ApiToken, "token", token.removeprefix("rt_"))
    if row is None or row.revoked_at is not None or not row.user.active or not row.user.agency.active:
        raise NotAuthenticated("the bearer token is unknown or revoked", code="bad_token")
    now = utcnow()
    if now >= row.expires_at:
        raise NotAuthenticated("the bearer token expired; ask for a new one (POST /api/v1/auth/token)",
                               code="token_expired")
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_GRANULARITY:
        stale = sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_USE_GRANULARITY)
        free = sa.select(ApiToken.id).where(ApiToken.id == row.id, stale).with_for_update(skip_locked=True)
        session.execute(sa.update(ApiToken).where(ApiToken.id.in_(free.scalar_subquery())).values(last_used_at=now),
                        execution_options={"synchronize_session": False})
    return row.user


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """active, expired or revoked."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if (now or utcnow()) >= token.expires_at else "active"


def manages_tokens_of(by: User | None, user: User) -> bool:
    """Whether `by` may list and revoke the API tokens of `user`: their own (any official, a viewer too, as their own
    password); a user of their own agency for a supervisor holding `tokens.manage`; anyone's at the operator's
    console (`by` None). Nobody else's, an administrator's included (disabling a user revokes all of them)."""
    if by is None or by.id == user.id:
        return True
    return by.agency_id == user.agency_id and can(by, "tokens.manage")


def token_owner(session: Session, by: User | None, username: str) -> User:
    """The user named `username` whose tokens `by` may manage; any other does not exist for `by` (404)."""
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not manages_tokens_of(by, user):
        raise NotFound("no user '%(username)s' whose tokens you manage", code="user_not_found", username=username)
    return user


def list_tokens(session: Session, by: User | None, username: str) -> list[ApiToken]:
    """The API tokens of `username`, newest first (`manages_tokens_of` decides whose; never a secret nor a hash)."""
    user = token_owner(session, by, username)
    return list(session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).scalars())


def revoke_token(session: Session, by: User | None, username: str, token_id: int) -> ApiToken:
    """Revoke one API token of `username` (audited as `token.revoke`): it stops working at the next request.

    A token that is not `username`'s, or whose user `by` may not manage, is answered as unknown (404), not refused:
    its existence is not told. One already revoked stays as it was, and nothing is audited again.
    """
    user = token_owner(session, by, username)
    row = session.execute(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
                          ).scalar_one_or_none()
    if row is None:
        raise NotFound("no token %(token)s of %(username)s", code="token_not_found", token=token_id,
                       username=username)
    if row.revoked_at is None:
        revoke_secret(row)
        session.flush()
        record(session, by, "token.revoke", "user", user.username,
               after={"token": row.id, "name": row.name, "expires_at": row.expires_at.isoformat()})
    return row


def agency_by_code(session: Session, code: str) -> Agency:
    agency = session.execute(sa.select(Agency).where(Agency.code == code)).scalar_one_or_none()
    if agency is None:
        raise NotFound("no agency with code '%(agency)s'", agency=code)
    return agency


def receiving_authority_for(session: Session, country: str) -> Agency:
    """The receiving authority of a country (the first registered one, if several)."""
    agency = session.execute(
        sa.select(Agency).where(Agency.kind == "receiving_authority", Agency.country == country)
        .order_by(Agency.id).limit(1)
    ).scalar_one_or_none()
    if agency is None:
        raise NotFound("no receiving authority is registered for %(country)s", country=country)
    return agency
