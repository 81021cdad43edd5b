"""A file not written (the import page's "check only" report, an import refused for a bad row) that warns of a record
another country's agency holds is audited, and tells one official at most so many such rows a day (red team round
11, RE8811 F4: a US officer learned, cédula by cédula, whether Mexico held a person, and nothing was audited)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from tests.factories import Api, World
from tests.web.pages_helpers import csrf, login

HEADER = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
          "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
SINCE = (date.today() - timedelta(days=30)).strftime("%Y-%m-%d")
ELSEWHERE = "otra agencia tiene registrado"


def _row(reference: str, cedula: str, born: str = "1950-01-01") -> str:
    # A made-up name and birth date: only the cédula is another country's person's.
    return f"{reference},Nadie,Inexistente,Ficticio,M,{born},VEN,{cedula},Harlingen,HRL,{SINCE}\n"


def _alike_records(session_factory: sessionmaker[Session]) -> list[AuditRecord]:
    with session_factory() as session:
        return list(session.execute(sa.select(AuditRecord).where(AuditRecord.action == "import.alike_elsewhere")
                                    .order_by(AuditRecord.seq)).scalars())


def _cases_of_ice(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return session.execute(sa.select(sa.func.count()).select_from(Case).where(
            Case.agency_reference.like("A-PROBE-%"))).scalar_one()


def _check_only(client: TestClient, text: str) -> str:
    answer = client.post("/cases/import/report", data={"csrf_token": csrf(client, "/cases/import")},
                         files={"file": ("sondeo.csv", text.encode(), "text/csv")})
    assert answer.status_code == 200, answer.text
    return answer.text


@pytest.fixture
def mexicos(client: TestClient, world: World) -> list[str]:
    """Two people Mexico's INM holds, whom the US may not read."""
    api = Api(client, world)
    return [api.register("inm.officer", national_id=cedula)["reference"] for cedula in ("V31627513", "V31627514")]


def test_a_check_only_report_telling_of_another_countrys_record_is_audited(
        client: TestClient, world: World, session_factory: sessionmaker[Session], mexicos: list[str]) -> None:
    login(client, "ice.officer")
    report = _check_only(client, HEADER + _row("A-PROBE-4", "V31627513") + _row("A-PROBE-5", "V99999998"))
    assert ELSEWHERE in report  # the officer is still told (a supervisor decides when the file is imported)
    assert _cases_of_ice(session_factory) == 0  # nothing written
    [audited] = _alike_records(session_factory)
    assert audited.actor == "ice.officer" and audited.object_type == "import"
    assert audited.after == {"written": False, "check_only": True, "rows": [2], "other_cases": [mexicos[0]],
                             "withheld": 0}


def test_a_refused_import_telling_of_another_countrys_record_is_audited(
        client: TestClient, world: World, session_factory: sessionmaker[Session], mexicos: list[str]) -> None:
    upload = HEADER + _row("A-PROBE-4", "V31627513") + _row("A-PROBE-6", "V99999997", born="1950-02-31")
    for door in ("api", "page"):
        if door == "api":
            refused = client.post("/api/v1/cases/import", files={"file": ("sondeo.csv", upload.encode(), "text/csv")},
                                  headers=world.headers("ice.officer"))
        else:
            login(client, "ice.officer")
            refused = client.post("/cases/import", data={"csrf_token": csrf(client, "/cases/import")},
                                  files={"file": ("sondeo.csv", upload.encode(), "text/csv")})
        assert refused.status_code == 422, refused.text
        assert ELSEWHERE in refused.text or "another agency holds" in refused.text
    assert _cases_of_ice(session_factory) == 0
    audited = _alike_records(session_factory)
    assert [(record.after or {}).get("rows") for record in audited] == [[2], [2]]
    assert all((record.after or {}).get("check_only") is False and (record.after or {}).get("other_cases")
               == [mexicos[0]] for record in audited)


def test_one_agency_is_told_of_so_many_such_rows_a_day(
        client: TestClient, world: World, session_factory: sessionmaker[Session], mexicos: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The installation's setting (RETORNO_ALIKE_ELSEWHERE_ROWS_A_DAY), as the service reads it.
    monkeypatch.setattr(client.app.state, "settings",  # type: ignore[attr-defined]
                        replace(client.app.state.settings, alike_elsewhere_rows_a_day=1))  # type: ignore[attr-defined]
    login(client, "ice.officer")
    both = HEADER + _row("A-PROBE-4", "V31627513") + _row("A-PROBE-5", "V31627514")
    report = _check_only(client, both).splitlines()
    assert [line.split(",")[0] for line in report if ELSEWHERE in line] == ["2"]
    assert _check_only(client, both).count(ELSEWHERE) == 0
    assert [(record.after or {}).get("rows") for record in _alike_records(session_factory)] == [[2], []]
    assert [(record.after or {}).get("withheld") for record in _alike_records(session_factory)] == [1, 2]
    # Another official of the agency shares it (red team round 32b, F3: a supervisor who made users multiplied it).
    client.cookies.clear()
    login(client, "ice.supervisor")
    assert _check_only(client, both).count(ELSEWHERE) == 0
    assert [(record.after or {}).get("withheld") for record in _alike_records(session_factory)] == [1, 2, 2]
    # Another agency has an allowance of its own: INM is told of a record ICE holds.
    Api(client, world).register("ice.officer", national_id="V31627519", agency_reference="A-HELD-9")
    client.cookies.clear()
    login(client, "inm.officer")
    probe = HEADER.replace("HRL", "TAP") + _row("INM-PROBE-1", "V31627519").replace("Harlingen,HRL", "Tapachula,TAP")
    assert _check_only(client, probe).count(ELSEWHERE) == 1
