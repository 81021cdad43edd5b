"""Every possible duplicate written is on the audit trail (red team round 6, F1; SPEC.md 4.7): flags written by a
registration, a correction or an import had no audit record, though one later held a passenger off a locked
manifest. Each flag gets a `duplicate.flag` record on each of its two records, by whoever's door wrote it, naming
the other record as its own side may read it: another country's record only as "another agency's record"."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from retorno.cases.models import PossibleDuplicate
from tests.factories import Api, World, ok
from tests.functional.test_duplicates_every_door import ROSA, SWAPPED, _by_agency_reference, _import
from tests.web.pages_helpers import login, post_form

ANOTHER = "another agency's record"


def _trail(session_factory: sessionmaker[Session], *references: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    with session_factory() as session:
        return [(r.object_id, r.actor, r.agency, r.after) for r in session.execute(
            sa.select(AuditRecord).where(AuditRecord.action == "duplicate.flag",
                                         AuditRecord.object_id.in_(references)).order_by(AuditRecord.seq)).scalars()]


def _flag_count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return session.execute(sa.select(sa.func.count()).select_from(PossibleDuplicate)).scalar_one()


def _audited_count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return session.execute(sa.select(sa.func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "duplicate.flag")).scalar_one()


def test_a_flag_written_by_every_door_is_audited(client: TestClient, world: World,
                                                 session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    # A registration (API), same country: both records named, with the score and why.
    rosa = api.register(**ROSA)["reference"]
    twin = api.register(**SWAPPED)["reference"]
    trail = _trail(session_factory, rosa, twin)
    assert [(o, actor, agency, after["other"]) for o, actor, agency, after in trail] == [
        (twin, "inm.officer", "MX-INM", rosa), (rosa, "inm.officer", "MX-INM", twin)], trail
    assert trail[0][3]["score"] > 0 and "swapped" in trail[0][3]["reason"], trail
    # Another country's registration: each side names the other only as another agency's record, no score.
    held_in_the_us = api.register("ice.officer", **{**ROSA, "national_id": None})["reference"]
    trail = _trail(session_factory, held_in_the_us)
    assert [(actor, agency, after) for _, actor, agency, after in trail] == [
        ("ice.officer", "US-ICE", {"other": ANOTHER})] * 2, trail
    mexican_side = [t for t in _trail(session_factory, rosa, twin) if t[3] == {"other": ANOTHER}]
    assert mexican_side and all(actor == "ice.officer" for _, actor, _, _ in mexican_side), mexican_side
    # INM's timeline of its record names neither ICE's record nor its official.
    timeline = ok(api.get("inm.officer", f"/api/v1/cases/{rosa}/timeline"))
    flagged = [entry for entry in timeline if entry["action"] == "duplicate.flag"]
    assert flagged and held_in_the_us not in str(timeline) and "ice.officer" not in str(flagged), flagged
    # A correction (PATCH) that makes a record alike.
    other = api.register(given_names="Carmen", first_surname="Moreno", second_surname="Sánchez",
                         birth_date="1996-07-09", national_id=None)["reference"]
    before = _audited_count(session_factory)
    ok(api.patch("inm.officer", f"/api/v1/cases/{other}", {
        "given_names": ROSA["given_names"], "first_surname": ROSA["first_surname"],
        "second_surname": ROSA["second_surname"], "birth_date": ROSA["birth_date"]}))
    assert any(o == other for o, _, _, _ in _trail(session_factory, other)), _trail(session_factory, other)
    assert _audited_count(session_factory) > before
    # An import, and a registration on the page.
    _import(client, world, "inm.officer", "IMP-F1", {**SWAPPED, "given_names": "Rosa Helena"})
    imported = _by_agency_reference(session_factory, "IMP-F1")
    assert _trail(session_factory, imported), "the import's flags are not audited"
    login(client, "inm.officer")
    form = {"agency_reference": "PAGE-F1", "given_names": "Roza Elena", "first_surname": "Rodríguez",
            "second_surname": "Peña", "sex": "F", "birth_date": ROSA["birth_date"], "nationality": "VEN",
            "held_at": "Tapachula", "detained_since": (date.today() - timedelta(days=9)).isoformat(),
            "language": "es"}
    done = post_form(client, "/cases/new", form, page="/cases/new")
    assert done.status_code == 303, done.text
    assert _trail(session_factory, done.headers["location"].rsplit("/", 1)[-1])
    # Every flag written, two records each.
    assert _audited_count(session_factory) == 2 * _flag_count(session_factory)
