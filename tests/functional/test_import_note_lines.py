"""Red team round 12, F5 (low): a case list exported as CSV and imported back unchanged reported `updated: 1` and
turned the line break of a note into a space: the import made every run of white space in a free-text column one
space, although a note may run over lines.

Now a column that may hold line breaks (`plaintext.single_line`: the notes) keeps them: each line's runs of spaces
made one, empty lines at either end taken off; a one-line column is read as before.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.cases.models import Case
from retorno.imports.rows import text_lines
from tests.factories import Api, World
from tests.functional.test_household_code_system_shaped import exported_for_import

# The case list export's headers, as the import's columns.
_IMPORT_NAMES = {"Referencia de la agencia": "referencia", "Nombres": "nombres", "Primer apellido": "primer_apellido",
                 "Segundo apellido": "segundo_apellido", "Sexo": "sexo", "Fecha de nacimiento": "fecha_nacimiento",
                 "Nacionalidad": "nacionalidad", "Lugar de custodia": "lugar_custodia",
                 "Aeropuerto cercano": "aeropuerto_cercano", "Detenido desde": "fecha_ingreso",
                 "Contacto": "telefono", "Notas": "observaciones"}
NOTES = ["=HYPERLINK(\"x\")\n'-menos' y @arroba", "primera línea\n\nsegunda línea, tras una en blanco",
         "una sola línea"]


def test_a_note_keeps_its_lines_and_each_line_its_words() -> None:
    assert text_lines("  dos   espacios \t y\r\n\r\n  otra  línea  \n\n") == "dos espacios y\n\notra línea"
    assert text_lines(" una \t línea ") == "una línea"


def _notes(session_factory: sessionmaker[Session], references: list[str]) -> list[Any]:
    with session_factory() as session:
        return list(session.execute(sa.select(Case.notes).where(Case.agency_reference.in_(references))
                                    .order_by(Case.agency_reference)).scalars())


def test_a_csv_export_of_notes_over_lines_imports_back_unchanged(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    references = [f"RT12-N{n}" for n in range(len(NOTES))]
    for reference, note in zip(references, NOTES, strict=True):
        api.register(agency_reference=reference, first_surname="Renglones", notes=note, contact="+58 414 555 0101")
    assert _notes(session_factory, references) == NOTES
    exported = exported_for_import(client, "Renglones", _IMPORT_NAMES, len(NOTES))
    again = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                        files={"file": ("casos.csv", exported.encode(), "text/csv")})
    assert again.status_code == 201, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 3), again.text
    assert _notes(session_factory, references) == NOTES
