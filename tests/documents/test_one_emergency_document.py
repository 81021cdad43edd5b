"""One person holds at most one valid emergency travel document of a state (red team round 17, O-F2 and O-F3).

O-F2: SAIME issued one on INM's record and MPPT another on ICE's record alike to it (same names, sex and birth date), a
possible duplicate no supervisor had decided; a later `same_person` decision left both valid and printable. The held
rule now counts the records that may be the person's (`records_alike`), and when records become one person later, by
whatever door, the earliest document issued stays and the others are superseded: not valid, not printed, audited.

O-F3: the emergency document of a withdrawn case still printed (200) for the receiving side, which no longer sees the
case: 409 `case_closed`, and it reads as not valid.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases import facts
from retorno.documents import service as documents
from retorno.documents.mrz import build_td3
from tests.factories import Api, World, another_agency_officer, ok, registry_record

PERSON = {"given_names": "Rosendo", "first_surname": "Pabon", "second_surname": "Uzcategui", "sex": "M",
          "birth_date": "1970-03-04"}
WHY = "Retirado: la persona fue liberada por la autoridad."
SAME = {"decision": "same_person", "reason": "Huellas y fotografía coinciden: es la misma persona."}


def _verified(api: Api, user: str = "inm.officer", registry: str | None = None, **person: Any) -> dict[str, Any]:
    """A case verified, against its own registry record or (a supervisor, with a reason) against `registry`."""
    case = api.register(user, **person)
    api.screen(case["reference"], user=user)
    request = ok(api.post(user, f"/api/v1/cases/{case['reference']}/verification-request"), 201)["request"]
    body = {"outcome": "verified", "registry_record": registry or registry_record(case['reference']),
            "request": request}
    ok(api.post("saime.supervisor" if registry else "saime.officer",
                f"/api/v1/cases/{case['reference']}/verification-decision",
                {**body, "reason": "Huellas coinciden: el mismo registro civil."} if registry else body), 201)
    return case


def _mppt(world: World, session_factory: sessionmaker[Session]) -> dict[str, str]:
    with session_factory() as setup:
        return another_agency_officer(setup, code="VE-MPPT", kind="receiving_authority", country="VEN",
                                      username="mppt.officer")


def _emergency(api: Api, user: str, reference: str) -> Any:
    return api.post(user, f"/api/v1/cases/{reference}/emergency-document")


def _document(api: Api, reference: str, number: str, user: str) -> dict[str, Any]:
    return next(d for d in ok(api.get(user, f"/api/v1/cases/{reference}/documents")) if d["number"] == number)


def _pdf(client: TestClient, headers: dict[str, str], number: str) -> Any:
    return client.get(f"/api/v1/emergency-documents/{number}.pdf", headers=headers)


def test_an_undecided_possible_duplicate_holding_one_is_not_issued_another(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The reproduction of O-F2 at issue: INM's and ICE's records alike, SAIME issues on one, MPPT on the other."""
    api = Api(client, world)
    mppt = _mppt(world, session_factory)
    ours = _verified(api, **PERSON)
    theirs = _verified(api, "ice.officer", **PERSON)
    issued = ok(_emergency(api, "saime.officer", ours["reference"]), 201)
    for headers in (mppt, world.headers("saime.officer")):
        refused = client.post(f"/api/v1/cases/{theirs['reference']}/emergency-document", headers=headers)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "emergency_document_held" and issued["number"] in error["message"], error
        assert "possible duplicate" in error["message"], error
    assert ok(api.get("ice.officer", f"/api/v1/cases/{theirs['reference']}/documents")) == []


def _two_issued(api: Api, client: TestClient, mppt: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                first: dict[str, Any], second: dict[str, Any], *, alike: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """One emergency document issued on each record, SAIME's first."""
    one = ok(_emergency(api, "saime.officer", first["reference"]), 201)
    with monkeypatch.context() as legacy:
        if alike:
            # Issued as before round 17 (linked records only counted): the state the installed data may hold.
            legacy.setattr(documents, "records_alike",
                           lambda session, ids: {k: set(v) for k, v in facts.same_person(session, ids).items()},
                           raising=False)
        other = client.post(f"/api/v1/cases/{second['reference']}/emergency-document", headers=mppt)
        assert other.status_code == 201, other.text
    return one, other.json()


@pytest.mark.parametrize("way", ["same_person", "document", "registry_record", "cedula", "import"])
def test_records_linked_after_both_were_issued_keep_one_valid_document(
        client: TestClient, world: World, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch,
        way: str) -> None:
    api = Api(client, world)
    mppt = _mppt(world, session_factory)
    saime = world.headers("saime.officer")
    if way in ("same_person", "document"):
        first = _verified(api, **PERSON)
        second = _verified(api, "ice.officer", **PERSON)
    else:
        first = _verified(api, given_names="Anselmo", first_surname="Briceno", second_surname="Lugo", sex="M",
                          birth_date="1977-07-17")
        second = _verified(api, "ice.officer", given_names="Bartolo", first_surname="Carrasquero",
                           second_surname="Mijares", sex="M", birth_date="1962-02-12")
    one, other = _two_issued(api, client, mppt, monkeypatch, first, second, alike=way in ("same_person", "document"))
    assert _document(api, second["reference"], other["number"], "ice.officer")["valid"]
    assert _pdf(client, mppt, other["number"]).status_code == 200

    if way == "same_person":
        flags = ok(api.get("ice.supervisor", f"/api/v1/cases/{second['reference']}/possible-duplicates"))
        ok(api.post("ice.supervisor", f"/api/v1/cases/{second['reference']}/possible-duplicates/{flags[0]['flag']}"
                    "/decision", SAME), 201)
    elif way == "document":
        # The person's own passport, filed on both records of their identity (one filed on another identity's record
        # is refused as another person's and links nobody: red team round 18, S-F2).
        text = build_td3(document_code="P", issuing_state="VEN", surnames="PABON UZCATEGUI", given_names="ROSENDO",
                         document_number="174302958", nationality="VEN",
                         birth_date=date(1970, 3, 4), sex="M", expiry_date=date(2035, 1, 1))
        ok(api.post("inm.officer", f"/api/v1/cases/{first['reference']}/documents", {"mrz": text}), 201)
        ok(api.post("ice.officer", f"/api/v1/cases/{second['reference']}/documents", {"mrz": text}), 201)
    elif way == "registry_record":
        # A third record of INM's, with the second's cédula, verified against the first's registry record.
        _verified(api, registry=registry_record(first['reference']), given_names="Bartolo", first_surname="Carrasquero",
                  second_surname="Mijares", sex="M", birth_date="1962-02-12", national_id=second["national_id"])
    elif way == "import":
        # A record imported with the second's cédula, declaring the first's passport (on file on the first).
        text = build_td3(document_code="P", issuing_state="VEN", surnames="BRICENO LUGO", given_names="ANSELMO",
                         document_number="174302958", nationality="VEN",
                         birth_date=date(1977, 7, 17), sex="M", expiry_date=date(2035, 1, 1))
        ok(api.post("inm.officer", f"/api/v1/cases/{first['reference']}/documents", {"mrz": text}), 201)
        sheet = ("referencia,nombres,primer_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,tipo_documento,"
                 "numero_documento,lugar_custodia,fecha_ingreso\n"
                 f"OF2-IMP,Ezequiel,Farias,M,1955-05-05,VEN,{second['national_id']},P,174302958,Tapachula,2026-01-01\n")
        imported = client.post("/api/v1/cases/import", headers=world.headers("inm.officer"),
                               files={"file": ("casos.csv", sheet.encode(), "text/csv")})
        assert imported.status_code == 201, imported.text
    else:
        # A third record of INM's, verified against the first's registry record, its cédula corrected to the second's.
        third = _verified(api, registry=registry_record(first['reference']), given_names="Cornelio",
                          first_surname="Duarte",
                          second_surname="Nieves", sex="M", birth_date="1990-10-10")
        ok(api.edit("PATCH", "inm.officer", f"/api/v1/cases/{third['reference']}",
                    {"national_id": second["national_id"]}))

    kept = _document(api, first["reference"], one["number"], "inm.officer")
    gone = _document(api, second["reference"], other["number"], "ice.officer")
    assert kept["valid"] and not gone["valid"], (kept, gone)
    assert _pdf(client, saime, one["number"]).status_code == 200
    refused = _pdf(client, mppt, other["number"])
    assert refused.status_code == 409, refused.text
    assert "document_superseded" in [p["code"] for p in gone["problems"]], gone
    assert refused.json()["error"]["code"] == "document_superseded", refused.text
    with session_factory() as session:
        audited = session.execute(sa.select(AuditRecord).where(
            AuditRecord.action == "document.superseded", AuditRecord.object_id == second["reference"])).scalars()
        # The document kept is on another agency's record: not named in the timeline of this one (red team round 18,
        # S-F2).
        assert [(a.after.get("kept"), a.after.get("kept_on")) for a in audited] == [(None, "another agency's record")]
    # Told to the agency that issued it: its work queue.
    queue = ok(client.get("/api/v1/inbox", headers=mppt))
    superseded = next(kind for kind in queue["kinds"] if kind["kind"] == "documents_superseded")
    assert superseded["total"] == 1, superseded
    # The invariant holds for the whole database too (`retorno demo check`).
    with session_factory() as session:
        assert documents.one_emergency_document(session, None) == []
        session.rollback()


def test_a_withdrawn_cases_emergency_document_is_not_printed(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """O-F3: withdrawn by the sending side, the case leaves the receiving side's view; its document is not printed."""
    api = Api(client, world)
    ours = _verified(api, **PERSON)
    issued = ok(_emergency(api, "saime.officer", ours["reference"]), 201)
    saime = world.headers("saime.officer")
    assert _pdf(client, saime, issued["number"]).status_code == 200
    ok(api.post("inm.officer", f"/api/v1/cases/{ours['reference']}/withdraw", {"reason": WHY}))
    assert client.get(f"/api/v1/cases/{ours['reference']}", headers=saime).status_code == 404
    refused = _pdf(client, saime, issued["number"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "case_closed", refused.text
    assert ours["reference"] not in refused.text
    listed = _document(api, ours["reference"], issued["number"], "inm.officer")
    assert not listed["valid"] and "case_closed" in [p["code"] for p in listed["problems"]], listed
    # No longer the person's: the person's other record may be issued one, and the dead one is not filed as a copy.
    theirs = _verified(api, "ice.officer", **PERSON)
    mrz = _document(api, ours["reference"], issued["number"], "inm.officer")["mrz"]
    copied = api.post("ice.officer", f"/api/v1/cases/{theirs['reference']}/documents", {"mrz": mrz})
    assert copied.status_code == 422 and copied.json()["error"]["code"] == "document_superseded", copied.text
    ok(_emergency(api, "saime.officer", theirs["reference"]), 201)
