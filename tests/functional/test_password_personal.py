"""A password holds neither the username nor a word of the user's full name, at every door that sets one (red team
round 11, RE8812 L3: 'rt12.m1rt12.m1' was accepted for rt12.m1); nor is it guessed at once (round 22, X-F5)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies import accounts
from retorno.agencies.logins import change_password
from retorno.agencies.models import Agency
from retorno.agencies.service import create_user, set_password
from retorno.errors import InvalidInput
from tests.factories import PASSWORD, World
from tests.web.pages_helpers import alert, login, post_form

REFUSED = "una contraseña no puede contener el nombre de usuario, una palabra del nombre completo"


def test_ones_own_password_holds_not_the_username(client: TestClient) -> None:
    assert login(client, "inm.officer").status_code == 303
    # The World's users are named after their username: 'inm.officer' is also the full name, 'officer' its word.
    for new in ("inm.officerinm.officer", "INM.OFFICER-2026", "mi Officer del año"):
        refused = post_form(client, "/account/password", {"current": PASSWORD, "new": new, "repeated": new},
                            page="/account/password")
        assert refused.status_code == 422 and REFUSED in alert(refused.text), new
    fine = "mi clave propia 1"
    assert post_form(client, "/account/password", {"current": PASSWORD, "new": fine, "repeated": fine},
                     page="/account/password").status_code == 303


def test_an_administrator_and_the_console_set_no_such_password(client: TestClient, session: Session,
                                                               world: World) -> None:
    body = {"username": "mon.nueva", "full_name": "Marta Pérez Ñáñez", "agency": "MON-DDP", "role": "viewer"}
    for password in ("mon.nueva-clave-1", "clave-PEREZ-2026", "nanez.clave.99"):
        refused = client.post("/api/v1/users", json={**body, "password": password}, headers=world.headers("admin"))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "password_personal", password
    assert client.post("/api/v1/users", json={**body, "password": "otra clave 2026"},
                       headers=world.headers("admin")).status_code == 201
    # `retorno users add` and `retorno users password` (the console: `by` None).
    with pytest.raises(InvalidInput, match="the username, a word"):
        create_user(session, None, username="sre.nuevo", full_name="Sergio Ruiz", agency_code="MX-SRE",
                    role="officer", password="sre.nuevo.2026")
    with pytest.raises(InvalidInput, match="the username, a word"):
        change_password(session, None, "sre.officer", "Sre.Officer!99")
    # Short words of a name ('de', 'Ana') are in too many passwords to refuse.
    change_password(session, None, "sre.officer", "de la casa 2026")


def test_a_temporary_password_holding_the_username_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter("xabcabcabcabca" + "KLMNPQRSTUVWXY" + "KQZRMWTXPHNVYL")
    monkeypatch.setattr(accounts.secrets, "choice", lambda _letters: next(drawn))
    # The username in it, then a run of letters (guessed at once): both drawn again.
    assert accounts.temporary_password("abc", "Alguien") == "KQZRMWTXPHNVYL"


def test_a_password_guessed_at_once_is_refused_at_every_door(client: TestClient, session: Session,
                                                             world: World) -> None:
    """Red team round 22, X-F5: a monitor's supervisor, who reads the audit trail, chose '1234567890' (ten characters,
    ten different): runs, keyboard rows, common passwords and dates are refused wherever a password is set."""
    guessable = ("1234567890", "0987654321", "qwertyuiop", "password2026", "contraseña1", "abcdefghijk", "2026-12-03")
    body = {"username": "mon.nueva", "full_name": "Marta Pérez Ñáñez", "agency": "MON-DDP", "role": "viewer"}
    for password in guessable:
        refused = client.post("/api/v1/users", json={**body, "password": password}, headers=world.headers("admin"))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "password_guessable", password
        with pytest.raises(InvalidInput, match="guessed at once"):
            change_password(session, None, "sre.officer", password)
    assert login(client, "inm.officer").status_code == 303
    refused_page = post_form(client, "/account/password", {"current": PASSWORD, "new": "1234567890",
                                                            "repeated": "1234567890"}, page="/account/password")
    assert refused_page.status_code == 422 and "se adivina enseguida" in alert(refused_page.text)
    assert client.post("/api/v1/users", json={**body, "password": "otra clave 2026"},
                       headers=world.headers("admin")).status_code == 201


def test_look_alike_letters_and_signs_hide_no_personal_word_nor_a_guess(client: TestClient, session: Session,
                                                                        world: World) -> None:
    """Red team round 23, Y-F4: 'rt23mon1rt23mon1' (the username without its dot), 'Zacarıas2024!' (a dotless ı in a
    word of the name) and 'qwеrtyuiоp' (a keyboard row with Cyrillic е and о) were each accepted as one's own."""
    change_password(session, None, "sre.officer", "de la casa 2026")  # a password that passes, as a control
    create_user(session, None, username="rt23.mon1", full_name="Zacarías Pérez", agency_code="MON-DDP", role="viewer",
                password="tortuga marina veloz 7")
    for password, code in (("rt23mon1rt23mon1", "the username, a word"), ("mon1-ruta-larga-77", "the username, a word"),
                           ("Zacarıas2024!", "the username, a word"), ("qwеrtyuiоp", "guessed at once")):
        with pytest.raises(InvalidInput, match=code):
            change_password(session, None, "rt23.mon1", password)


def test_ones_own_password_is_not_the_temporary_one_in_other_letters(client: TestClient, world: World) -> None:
    """Red team round 23, Y-F5: 'Tortuga Marina Veloz 8' was accepted as the user's own password in place of the
    administrator's temporary 'tortuga marina veloz 8', which the administrator would guess."""
    assert login(client, "inm.officer").status_code == 303
    for same in (PASSWORD.upper(), f" {PASSWORD.title()}!"):
        refused = post_form(client, "/account/password", {"current": PASSWORD, "new": same, "repeated": same},
                            page="/account/password")
        assert refused.status_code == 422 and "distinta de la actual" in alert(refused.text), same


def test_a_word_of_the_agency_s_name_or_code_is_no_password(client: TestClient, session: Session,
                                                            world: World) -> None:
    """Red team round 43, L3: 'Defensoría del Pueblo (observador)', 'Instituto Nacional de Migración' and an agency's
    own name were accepted as passwords: the agency's name is in every page's header."""
    agencies = {"MON-DDP": "Defensoría del Pueblo (observador)", "MX-INM": "Instituto Nacional de Migración"}
    for code, name in agencies.items():
        session.execute(sa.update(Agency).where(Agency.code == code).values(name=name))
    session.flush()
    body = {"username": "mon.nueva", "full_name": "Marta Pérez Ñáñez", "agency": "MON-DDP", "role": "viewer"}
    for password in ("Defensoría del Pueblo (observador)", "el pueblo observador 9", "mi DEFENSORIA 2026 azul"):
        refused = client.post("/api/v1/users", json={**body, "password": password}, headers=world.headers("admin"))
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "password_personal", password
    with pytest.raises(InvalidInput, match="agency's name or code"):
        change_password(session, None, "inm.officer", "Instituto Nacional de Migración")
    assert login(client, "inm.officer").status_code == 303
    new = "Instituto Nacional de Migración"
    refused_page = post_form(client, "/account/password", {"current": PASSWORD, "new": new, "repeated": new},
                             page="/account/password")
    assert refused_page.status_code == 422 and "nombre o del código de su agencia" in alert(refused_page.text)
    # Short words of its name ('de', 'del', 'para') are in too many passphrases to refuse.
    change_password(session, None, "inm.officer", "de la casa para el sol")


def test_ones_own_password_keeps_no_run_of_the_one_it_replaces(client: TestClient, session: Session,
                                                              world: World) -> None:
    """Red team round 43, L2: 'yLeanyUVTYCzAf' was accepted as the user's own password in place of the supervisor's
    temporary 'yLeanyUVTYCzAe': whoever set the temporary one tries its variants first."""
    temporary = "yLeanyUVTYCzAe"
    # As a supervisor's reset sets it: the official must choose their own at the next login.
    set_password(session, world.users["inm.officer"], temporary, by=world.users["inm.supervisor"])
    session.flush()
    assert login(client, "inm.officer", temporary).status_code == 303
    for variant in ("yLeanyUVTYCzAf", "YLEANYuvtycz-AE-2027", "mi clave yLean-yUVT"):
        refused = post_form(client, "/account/password", {"current": temporary, "new": variant, "repeated": variant},
                            page="/account/password")
        assert refused.status_code == 422 and "caracteres seguidos de la actual" in alert(refused.text), variant
    # A word in common, a few characters of it in a row, or its letters apart, make a password of the user's own.
    mine = "yLea mi tortuga veloz"
    assert post_form(client, "/account/password", {"current": temporary, "new": mine, "repeated": mine},
                     page="/account/password").status_code == 303
