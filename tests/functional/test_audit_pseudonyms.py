"""The audit view names no person's record: monitors and administrators read a case's or a household's reference
as a keyed pseudonym (red team, medium: `screening.resolve` told a monitor which cases had a protection concern), and
an uploaded file's name too (red team round 3: officials name files after people)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from retorno.agencies.visibility import audit_pseudonym
from tests.factories import Api, World, ok
from tests.reintegration.test_opportunity_import import good_file
from tests.web.pages_helpers import login


def test_monitors_read_a_persons_record_as_a_pseudonym(client: TestClient, world: World) -> None:
    api = Api(client, world)
    held = api.register(household_reference="HOGAR-PSEUDO-1", relationship_to_head="head")["reference"]
    other = api.register()["reference"]
    api.screen(held, ["pending_asylum_claim"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{held}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "Solicitud desistida ante la COMAR."}), 201)
    api.screen(other)
    key = client.app.state.audit_pseudonym_key  # type: ignore[attr-defined]
    for user in ("monitor.viewer", "admin"):
        records = ok(api.get(user, "/api/v1/audit?limit=1000"))
        people = [r for r in records if r["object_type"] in ("case", "household")]
        assert people and all(r["object_id"].startswith("~") for r in people), user
        text = str(records)
        for reference in (held, other, "HOGAR-PSEUDO-1"):
            assert reference not in text, (user, reference)
        resolved = ok(api.get(user, "/api/v1/audit?action=screening.resolve"))
        assert [r["object_id"] for r in resolved] == [audit_pseudonym(key, "case", held)]
        # One record, one pseudonym: the resolved case's records read as one object, another case's as another.
        of_held = {r["action"] for r in people if r["object_id"] == audit_pseudonym(key, "case", held)}
        assert {"screening.record", "screening.resolve"} <= of_held
        # A registration names no pseudonym: references are numbered in order of registration, so the n-th
        # `case.register` of an agency told which reference a pseudonym stood for (red team round 2).
        registered = [r for r in people if r["action"] == "case.register"]
        assert len(registered) >= 2 and {r["object_id"] for r in registered} == {"~"}, registered
        assert any(r["object_id"] == audit_pseudonym(key, "case", other) for r in people)
        assert audit_pseudonym(key, "case", held) != audit_pseudonym(key, "case", other)
    assert login(client, "monitor.viewer").status_code == 303
    for page in ("/monitor", "/audit", "/audit?action=screening.resolve"):
        shown = client.get(page, follow_redirects=False)
        assert shown.status_code == 200 and 'name="password"' not in shown.text, page
        assert held not in shown.text and other not in shown.text, page
        assert audit_pseudonym(key, "case", held) in shown.text, page


def test_monitors_read_an_uploaded_files_name_as_a_pseudonym(client: TestClient, world: World) -> None:
    """Officials name files after people ("asilo_juan_perez.csv"): the audit view shows an import's file name as it
    shows a person's record, a keyed pseudonym, at every import (red team round 3, L2)."""
    header = ("referencia,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
              "lugar_custodia,aeropuerto_cercano,fecha_ingreso\n")
    row = "AUD-FILE-1,Juan,Pérez,Gómez,M,1988-04-03,VEN,,Tapachula,TAP,2026-11-01\n"
    ok(client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                   files={"file": ("asilo_juan_perez.csv", (header + row).encode(), "text/csv")}), 201)
    ok(client.post("/api/v1/opportunities/import", headers=world.headers("op.officer"),
                   files={"file": ("ofertas_de_maria_gonzalez.csv", good_file(), "text/csv")}), 201)
    key = client.app.state.audit_pseudonym_key  # type: ignore[attr-defined]
    api = Api(client, world)
    for user in ("monitor.viewer", "admin"):
        records = ok(api.get(user, "/api/v1/audit?limit=1000"))
        assert "juan_perez" not in str(records) and "maria_gonzalez" not in str(records), user
        imports = {r["action"]: r["object_id"] for r in records if r["object_type"] == "import"}
        assert imports == {"import.cases": audit_pseudonym(key, "import", "asilo_juan_perez.csv"),
                           "import.opportunities": audit_pseudonym(key, "import", "ofertas_de_maria_gonzalez.csv")}
    assert login(client, "monitor.viewer").status_code == 303
    for page in ("/audit", "/audit?action=import.cases"):
        shown = client.get(page, follow_redirects=False)
        assert shown.status_code == 200 and "juan_perez" not in shown.text, page
    assert audit_pseudonym(key, "import", "asilo_juan_perez.csv") in shown.text
