"""Red team round 16, N2: a case the sending side withdrew left the receiving side's view (404 at every case door) but
stayed in its verification queue (API, page with a decision form, CSV/XLSX, the inbox count and the home page), named
with its identity and the state 'withdrawn', which the receiving side is told nowhere else; the sending side could still
edit the withdrawn case's identity, and the queue got the edit under the old request; the audit sample still drew
withdrawn cases, with their reference and registry record.

Every door that lists requests to the receiving authority lists those of cases it may see, by the rule of the case doors
(`verification.service.requests_seen`); a case leaving its view (withdrawn, unfit to fly) has its open request
cancelled, never decided (`verification.service.cancel_open_requests`); a closed case's identity stays as recorded (409
`identity_closed`, at the API, the pages and an import)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from retorno.agencies.models import User
from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.verification import jobs
from retorno.verification.exchange import DecisionFileError
from retorno.verification.models import VerificationRequest
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import refused
from tests.linker import import_file
from tests.web.pages_helpers import login, post_form

WHY = "La persona obtuvo asilo en México, resolución de la COMAR."
AGREE = {"given_names": "agree", "first_surname": "agree", "second_surname": "agree", "sex": "agree",
         "birth_date": "agree", "birth_place": "agree", "cedula": "agree"}


def _requested(api: Api, **identity: Any) -> tuple[str, str]:
    ref = api.register(**identity)["reference"]
    api.screen(ref)
    request = ok(api.post("inm.officer", f"/api/v1/cases/{ref}/verification-request"), 201)["request"]
    return ref, request


def _user(session: Session, username: str) -> User:
    return session.execute(sa.select(User).where(User.username == username)).scalar_one()


def _doors(api: Api, client: TestClient) -> dict[str, str]:
    """What every door of the receiving side that lists verification requests shows, as text."""
    queue = ok(api.get("saime.officer", "/api/v1/verification/queue?limit=500"))
    inbox = ok(api.get("saime.supervisor", "/api/v1/inbox"))
    login(client, "saime.officer")
    xlsx = client.get("/verification.xlsx")
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    return {
        "queue": json.dumps(queue, ensure_ascii=False),
        "inbox": json.dumps([k for k in inbox["kinds"] if k["kind"] == "verifications"], ensure_ascii=False),
        "page": client.get("/verification").text,
        "home": client.get("/?kind=verifications").text,
        "csv": client.get("/verification.csv").text,
        "xlsx": json.dumps([[str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)],
                           ensure_ascii=False),
    }


def _waiting(api: Api) -> int:
    inbox = ok(api.get("saime.supervisor", "/api/v1/inbox"))
    return int(next(k["total"] for k in inbox["kinds"] if k["kind"] == "verifications"))


def test_a_withdrawn_case_leaves_every_queue_and_its_request_is_cancelled(client: TestClient, world: World,
                                                                          session: Session) -> None:
    api = Api(client, world)
    gone, asked = _requested(api, given_names="Elizabeth Gloria")
    kept, _ = _requested(api, given_names="Rosalinda")
    before = _doors(api, client)
    assert all(gone in shown and kept in shown for shown in before.values()), before
    waiting = _waiting(api)

    withdrawn = ok(api.post("inm.officer", f"/api/v1/cases/{gone}/withdraw", {"reason": WHY}))
    assert withdrawn["state"] == "withdrawn"
    assert api.get("saime.officer", f"/api/v1/cases/{gone}").status_code == 404

    after = _doors(api, client)
    for door, shown in after.items():
        assert gone not in shown and "Elizabeth Gloria" not in shown, door
        assert kept in shown, door
        assert "withdrawn" not in shown, door
    assert _waiting(api) == waiting - 1
    assert "verification_requested" in after["queue"]
    # The request is cancelled, never decided, and said so on the sending side's trail.
    status = session.execute(sa.select(VerificationRequest.status).where(VerificationRequest.reference == asked))
    assert status.scalar_one() == "cancelled"
    cancel = session.execute(sa.select(AuditRecord).where(AuditRecord.object_id == gone,
                                                          AuditRecord.action == "verification.cancel")).scalar_one()
    assert cancel.after == {"requests": [asked]}, cancel.after
    timeline = ok(api.get("inm.officer", f"/api/v1/cases/{gone}/timeline"))
    assert "verification.cancel" in [entry["action"] for entry in timeline]
    decided = api.post("saime.officer", f"/api/v1/cases/{gone}/verification-decision",
                       {"outcome": "verified", "registry_record": "V-1", "request": asked})
    assert decided.status_code == 404, decided.text

    # A withdrawn case is closed: its identity stays as recorded (nothing reaches the queue), its notes may change.
    error = refused(api.patch("inm.officer", f"/api/v1/cases/{gone}", {"given_names": "Elizabeth Glória"}), 409,
                    "identity_closed")
    assert "final state" in str(error["message"]), error
    ok(api.patch("inm.officer", f"/api/v1/cases/{gone}", {"held_at": "Liberada el 3 de diciembre"}))
    case = ok(api.get("inm.officer", f"/api/v1/cases/{gone}"))
    assert (case["given_names"], case["state"]) == ("Elizabeth Gloria", "withdrawn")
    assert session.execute(sa.select(sa.func.count()).select_from(VerificationRequest)
                           .join(Case, Case.id == VerificationRequest.case_id)
                           .where(Case.reference == gone)).scalar_one() == 1
    # So at the page's edit, in Spanish.
    login(client, "inm.officer")
    edit = client.get(f"/cases/{gone}/edit").text
    version = edit.split('name="version" value="')[1].split('"')[0]
    form = {"given_names": "Elizabeth Glória", "first_surname": case["first_surname"],
            "second_surname": case["second_surname"] or "", "sex": case["sex"], "birth_date": case["birth_date"],
            "place_of_birth": case["place_of_birth"] or "", "national_id": case["national_id"] or "",
            "held_at": case["held_at"], "version": version}
    page = post_form(client, f"/cases/{gone}/edit", form, page=f"/cases/{gone}/edit")
    assert page.status_code == 409, page.text[:400]
    assert "un estado final" in page.text
    assert ok(api.get("inm.officer", f"/api/v1/cases/{gone}"))["given_names"] == "Elizabeth Gloria"


def test_a_re_import_does_not_change_a_withdrawn_case_s_identity(client: TestClient, world: World) -> None:
    api = Api(client, world)
    gone, _ = _requested(api, given_names="Elizabeth Gloria")
    ok(api.post("inm.officer", f"/api/v1/cases/{gone}/withdraw", {"reason": WHY}))
    case = ok(api.get("inm.officer", f"/api/v1/cases/{gone}"))
    born, since = case["birth_date"], case["detained_since"]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["referencia", "nombres", "primer_apellido", "segundo_apellido", "sexo", "fecha_nacimiento",
                     "nacionalidad", "cedula", "lugar_custodia", "aeropuerto_cercano", "fecha_ingreso"])
    writer.writerow([case["agency_reference"], "Elizabeth Glória", case["first_surname"], case["second_surname"] or "",
                     case["sex"], born, "VEN", case["national_id"] or "",
                     case["held_at"], case["nearest_airport"] or "", since])
    upload = {"file": ("lista.csv", text.getvalue().encode(), "text/csv")}
    response = client.post("/api/v1/cases/import", files=upload, headers=world.headers("inm.officer"))
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [(d["column"], "cerrado" in d["expected"]) for d in details] == [("nombres", True)], details
    assert ok(api.get("inm.officer", f"/api/v1/cases/{gone}"))["given_names"] == "Elizabeth Gloria"


def test_unfit_to_fly_and_a_protection_withdrawal_cancel_the_request_too(client: TestClient, world: World,
                                                                         session: Session) -> None:
    api = Api(client, world)
    unfit, unfit_asked = _requested(api, given_names="Mireya")
    claimed, claimed_asked = _requested(api, given_names="Yelitza")
    login(client, "inm.officer")
    done = post_form(client, f"/cases/{unfit}/withdraw", {"target": "unfit_to_fly", "reason": WHY},
                     page=f"/cases/{unfit}")
    assert done.status_code == 303, done.text[:400]
    api.screen(claimed, ["pending_asylum_claim"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{claimed}/screenings/resolution",
                {"decision": "withdrawn", "reason": WHY}), 201)
    assert {ref: ok(api.get("inm.officer", f"/api/v1/cases/{ref}"))["state"] for ref in (unfit, claimed)} == {
        unfit: "unfit_to_fly", claimed: "withdrawn"}
    statuses = dict(session.execute(sa.select(VerificationRequest.reference, VerificationRequest.status).where(
        VerificationRequest.reference.in_((unfit_asked, claimed_asked)))).all())
    assert statuses == {unfit_asked: "cancelled", claimed_asked: "cancelled"}
    queue = json.dumps(ok(api.get("saime.officer", "/api/v1/verification/queue?limit=500")))
    assert unfit not in queue and claimed not in queue
    refused(api.patch("inm.officer", f"/api/v1/cases/{unfit}", {"given_names": "Mireya Josefina"}), 409,
            "identity_closed")


def test_a_request_left_open_on_a_withdrawn_case_is_in_no_door(client: TestClient, world: World, session: Session,
                                                               session_factory: sessionmaker[Session]) -> None:
    """A request left open by a withdrawal before the fix (as on the tester's instance): no door lists or decides it."""
    api = Api(client, world)
    gone, asked = _requested(api, given_names="Elizabeth Gloria")
    kept, _ = _requested(api, given_names="Rosalinda")
    waiting = _waiting(api)
    case = session.execute(sa.select(Case).where(Case.reference == gone)).scalar_one()
    case.state = "withdrawn"
    session.commit()
    assert session.execute(sa.select(VerificationRequest.status)
                           .where(VerificationRequest.reference == asked)).scalar_one() == "pending"
    for door, shown in _doors(api, client).items():
        assert gone not in shown and "withdrawn" not in shown, door
        assert kept in shown, door
    assert _waiting(api) == waiting - 1
    saime = _user(session, "saime.officer")
    assert gone not in [c.reference for _, c in jobs.open_requests(session, saime, include_review=True)]
    # Linkage's decisions and a decisions file naming it: no longer open, nothing written, no state named.
    document = {"request": asked, "case": gone, "outcome": "verified", "method": "linkage",
                "registry_record": "4471", "probability": 0.9999, "candidates": []}
    summary = jobs.record_linkage(session, saime, [document])
    assert summary.skipped == [(asked, "no longer open")] and summary.verified == 0
    with session_factory() as other:
        try:
            import_file(other, _user(other, "saime.officer"), [json.dumps(document)])
        except DecisionFileError as exc:
            assert "no longer open" in str(exc) and "withdrawn" not in str(exc), str(exc)
        else:
            raise AssertionError("a decision on a withdrawn case's request was imported")


def test_the_audit_sample_draws_only_cases_the_authority_sees(client: TestClient, world: World,
                                                              session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    refs: list[str] = []
    for name in ("Elizabeth Gloria", "Rosalinda"):
        ref, asked = _requested(api, given_names=name)
        refs.append(ref)
        with session_factory() as session:
            candidate = {"registry_record": f"44{len(refs)}", "probability": 0.9999, "record": {},
                         "agreement": AGREE, "deceased": False}
            summary = import_file(session, _user(session, "saime.officer"), [json.dumps({
                "request": asked, "case": ref, "outcome": "verified", "method": "linkage",
                "registry_record": f"44{len(refs)}", "probability": 0.9999, "candidates": [candidate]})])
            session.commit()
        assert summary.verified == 1, summary.as_dict()
    gone, kept = refs
    drawn_before = [row["case"] for row in ok(api.post("saime.officer", "/api/v1/verification/audit-sample",
                                                       {"share": 1.0}), 201)]
    assert drawn_before == [gone, kept]
    ok(api.post("inm.officer", f"/api/v1/cases/{gone}/withdraw", {"reason": WHY}))
    drawn = ok(api.post("saime.officer", "/api/v1/verification/audit-sample", {"share": 1.0}), 201)
    assert [row["case"] for row in drawn] == [kept], drawn
