"""Name normalisation: the DuckDB SQL used for linkage folds names exactly as `retorno.names` does."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retorno.names import fold, key
from retorno.verification.normalise import install_macros

HARD_NAMES = [
    "Muñoz", "PEÑA", "José", "María José", "de la Cruz", "DEL VALLE", "Pérez-Rojas", "D'Angelo",
    "  gonzález  ", "N\u0303u\u0301n\u0303ez", "Straße", "Ærø", "Œuvre", "Müller", "Çelik", "",
    "García Márquez", "Yépez", "MONTES DE OCA", "María de los Ángeles", "Dos Santos", "SAN JUAN",
    "O'Higgins", "Núñez  del   Arco", "José-Gregorio", "IBÁÑEZ", "Ángel", "ÑAÑEZ", "van der Berg",
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    install_macros(connection)
    return connection


def _sql(con: duckdb.DuckDBPyConnection, function: str, text: str) -> str:
    (value,) = con.execute(f"SELECT {function}(?)", [text]).fetchall()[0]
    return value or ""


@pytest.mark.parametrize("name", HARD_NAMES)
def test_sql_folding_agrees_with_python(con: duckdb.DuckDBPyConnection, name: str) -> None:
    assert _sql(con, "rt_fold", name) == fold(name)
    assert _sql(con, "rt_key", name) == key(name)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdeñáéíóúüçÑÁÉÍÓÚÜ ABCXYZ-'.", max_size=30))
def test_sql_and_python_agree_on_latin_text(con: duckdb.DuckDBPyConnection, name: str) -> None:
    assert _sql(con, "rt_key", name) == key(name)


@pytest.mark.parametrize(
    ("raw", "folded", "keyed"),
    [
        ("Muñoz", "MUNOZ", "MUNOZ"),
        ("Peña", "PENA", "PENA"),
        ("josé", "JOSE", "JOSE"),
        ("De La Cruz", "DE LA CRUZ", "CRUZ"),
        ("Del Valle", "DEL VALLE", "VALLE"),
        ("Pérez-Rojas", "PEREZ ROJAS", "PEREZ ROJAS"),
    ],
)
def test_normalisation_rules(con: duckdb.DuckDBPyConnection, raw: str, folded: str, keyed: str) -> None:
    assert _sql(con, "rt_fold", raw) == folded
    assert _sql(con, "rt_key", raw) == keyed


@pytest.mark.parametrize(
    "spellings",
    [
        ("VASQUEZ", "VAZQUEZ", "BASQUES"),
        ("HERNANDEZ", "ERNANDEZ", "HERNANDES"),
        ("YEPEZ", "LLEPEZ"),
        ("JIMENEZ", "GIMENEZ"),
        ("QUINTERO", "KINTERO"),
        ("GUERRERO", "GUERERO"),
        ("JHONNY", "JONNY", "JONY"),
        ("CECILIA", "SESILIA"),
    ],
)
def test_phonetic_key_joins_spanish_spellings(
    con: duckdb.DuckDBPyConnection, spellings: tuple[str, ...]
) -> None:
    keys = {_sql(con, "rt_phonetic", spelling) for spelling in spellings}
    assert len(keys) == 1, keys


def test_phonetic_key_keeps_different_names_apart(con: duckdb.DuckDBPyConnection) -> None:
    names = ["GONZALEZ", "GOMEZ", "GARCIA", "PEREZ", "PENA", "MUNOZ", "MORENO", "LOPEZ"]
    assert len({_sql(con, "rt_phonetic", name) for name in names}) == len(names)
