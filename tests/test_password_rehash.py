"""Passwords are hashed with Argon2id at OWASP's recommended settings; a hash made with other settings (the
library's default before) still lets its user in and is replaced by one at the current settings."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from retorno.agencies.logins import authenticate
from retorno.agencies.service import hash_password
from tests.factories import PASSWORD, World

# OWASP Password Storage Cheat Sheet, Argon2id: at least one of its settings of equal strength.
OWASP_MINIMUMS = ((47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5))  # (KiB, passes) with one lane


def test_new_hashes_meet_an_owasp_setting() -> None:
    parameters = hash_password("a-long-password").split("$")[3]
    settings = dict(part.split("=") for part in parameters.split(","))
    memory, passes = int(settings["m"]), int(settings["t"])
    assert any(memory >= m and passes >= t for m, t in OWASP_MINIMUMS), settings
    assert hash_password("a-long-password").startswith("$argon2id$")


def test_an_old_hash_lets_its_user_in_and_is_made_again_at_the_current_settings(session: Session,
                                                                                  world: World) -> None:
    user = world.users["inm.officer"]
    old = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=4).hash(PASSWORD)
    user.password_hash = old
    session.flush()
    assert authenticate(session, user.username, PASSWORD, address="127.0.0.1") is user
    assert user.password_hash != old and ",p=1$" in user.password_hash
    current = user.password_hash
    # At the current settings it stays as it is.
    assert authenticate(session, user.username, PASSWORD, address="127.0.0.1") is user
    assert user.password_hash == current
