"""Red team round 26c, F1 (high): a monitor named the case behind a pseudonym by counting registrations. Case
references were numbered in order of registration per country (MX-2026-000001, 000002...). A monitor reads every
case's audit records under a pseudonym; a registration reads '~', but the records that follow it (the case read back
after registering, a possible duplicate flagged) name the new case's pseudonym, so the order of the pseudonyms' first
appearances was the order of registration, and counting gave each pseudonym its reference: that of the case whose
protection concern was resolved among them.

References are drawn at random now (`cases.service.next_references`), at every door that makes a case (the API, the
page, an import), unique; the case list's newest-first order is the order of registration itself (`registered`).

Red team round 27, F2 (medium), the same class: emergency travel document numbers were issued in sequence per state
(E26000001, E26000002...), so the n-th `document.issue_emergency` record a monitor reads, on a case's pseudonym, was
the document E26 and n, printed on it and on every passenger list. They are drawn at random too.

Round 27c, F2 (medium), the same class again: seats were given at the lock in the order passengers were put on the
manifest, so the n-th seat of the carrier's list was the n-th `manifest.add` record a monitor reads. Seats are given
households side by side, in an order drawn at random (`flights.service.seating`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from retorno.agencies.models import User
from retorno.agencies.visibility import audit_pseudonym
from retorno.cases import service as case_service
from retorno.cases.models import Case
from tests.factories import Api, World, ok
from tests.functional.test_import_mixed_encoding import page_registration
from tests.functional.test_import_system_shaped_references import _import, _row

SHAPE = re.compile(r"MX-(\d{4})-(\d+)")


def _registered_in_order(client: TestClient, world: World) -> list[str]:
    """Cases of one country registered through each door in turn, each read back as an official does."""
    api = Api(client, world)
    made = [api.register()["reference"] for _ in range(4)]
    answer = _import(client, world, "".join(_row(f"F1-IMP-{n}", given=f"Fabián {'ABCDEF'[n]}") for n in range(4)))
    assert answer.status_code in (200, 201), answer.text[:2000]
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        made += list(session.execute(sa.select(Case.reference).where(Case.agency_reference.like("F1-IMP-%"))
                                     .order_by(Case.id)).scalars())
    for n in range(3):
        page = page_registration(client, "inm.officer", agency_reference=f"F1-PAGE-{n}", given_names="Fabián",
                                 first_surname="Ocando", national_id=f"V{20_000_000 + n}")
        assert page.status_code == 303, page.text[:2000]
        made.append(page.headers["location"].rsplit("/", 1)[-1])
    made += [api.register()["reference"] for _ in range(3)]
    for reference in made:
        ok(api.get("inm.officer", f"/api/v1/cases/{reference}"))
    return made


def test_a_monitor_cannot_place_a_pseudonym_by_counting_registrations(client: TestClient, world: World) -> None:
    made = _registered_in_order(client, world)
    api = Api(client, world)
    held = made[5]
    api.screen(held, ["pending_asylum_claim"])
    ok(api.post("inm.supervisor", f"/api/v1/cases/{held}/screenings/resolution",
                {"decision": "travel_permitted", "reason": "Solicitud desistida ante la COMAR."}), 201)
    records = ok(api.get("monitor.viewer", "/api/v1/audit?limit=1000"))
    first_seen = list(dict.fromkeys(r["object_id"] for r in records
                                    if r["object_type"] == "case" and r["object_id"] not in ("~", "")))
    key = client.app.state.audit_pseudonym_key  # type: ignore[attr-defined]
    assert audit_pseudonym(key, "case", held) in first_seen
    # Every count the monitor could make, in the width references had and in theirs now.
    year = SHAPE.fullmatch(made[0]).group(1)  # type: ignore[union-attr]
    counted = {audit_pseudonym(key, "case", f"MX-{year}-{n:0{width}d}"): n
               for n in range(1, len(first_seen) + 50) for width in (6, case_service.REFERENCE_DIGITS)}
    placed = {pseudonym: counted[pseudonym] for pseudonym in first_seen if pseudonym in counted}
    assert placed == {}, f"pseudonyms named by counting: {placed}"


def test_references_are_unordered_unique_and_the_list_keeps_registration_order(
        client: TestClient, world: World) -> None:
    made = _registered_in_order(client, world)
    assert len(set(made)) == len(made)
    assert all(len(SHAPE.fullmatch(r).group(2)) == case_service.REFERENCE_DIGITS for r in made)  # type: ignore
    # Fourteen references in registration order by chance: one in 14! draws.
    assert made != sorted(made)
    listed = ok(Api(client, world).get("inm.officer", "/api/v1/cases?limit=500"))["items"]
    mine = [c["reference"] for c in listed if c["reference"] in set(made)]
    assert mine == made[::-1], "newest first is the order of registration"


def test_a_drawn_reference_already_held_or_drawn_twice_is_drawn_again(
        client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    held = Api(client, world).register()["reference"]
    width = case_service.REFERENCE_DIGITS
    prefix, digits = held[:-width], int(held[-width:])
    draws = iter([[digits, 7, 7], [digits, 9], [11]])
    monkeypatch.setattr(case_service.identifiers, "random_serials", lambda count, _: next(draws)[:count])
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        officer = session.execute(sa.select(User).where(User.username == "inm.officer")).scalar_one()
        assert case_service.next_references(session, officer, 3) == [f"{prefix}{n:0{width}d}" for n in (7, 9, 11)]


def test_a_monitor_cannot_name_an_emergency_documents_holder_by_counting_issues(client: TestClient,
                                                                                world: World) -> None:
    api = Api(client, world)
    holders = {}
    for n in range(6):
        case = api.register(given_names=f"Emergencia {'ABCDEF'[n]}")
        api.screen(case["reference"])
        api.verify(case["reference"])
        issued = ok(api.post("saime.officer", f"/api/v1/cases/{case['reference']}/emergency-document"), 201)
        holders[issued["number"]] = case["reference"]
    records = ok(api.get("monitor.viewer", "/api/v1/audit?limit=1000"))
    issues = [r["object_id"] for r in sorted(records, key=lambda r: r["seq"])
              if r["action"] == "document.issue_emergency"]
    assert len(issues) == len(holders)
    key = client.app.state.audit_pseudonym_key  # type: ignore[attr-defined]
    year = next(iter(holders))[1:3]
    counted = {f"E{year}{n:06d}": pseudonym for n, pseudonym in enumerate(issues, start=1)}
    named = {number: holder for number, holder in holders.items()
             if number in counted and counted[number] == audit_pseudonym(key, "case", holder)}
    assert named == {}, f"document holders named by counting: {named}"


def test_random_serials_are_in_their_space_and_spread_over_it() -> None:
    from retorno.identifiers import random_serials

    drawn = random_serials(60_000, 6)
    assert len(drawn) == 60_000 and set(drawn) == set(range(6))
    # Each of six values about 10,000 times: a bias of a part in a hundred would be seen past 400.
    assert all(abs(drawn.count(value) - 10_000) < 400 for value in range(6)), [drawn.count(v) for v in range(6)]
    assert random_serials(0, 10) == [] and len(set(random_serials(1000, 10 ** 8))) > 990


def test_a_monitor_cannot_name_passengers_by_their_seats(client: TestClient, world: World) -> None:
    api = Api(client, world)
    refs = [api.ready_case(given_names=f"Asiento {'ABCDEFGHIJ'[n]}")["reference"] for n in range(9)]
    flight = api.build_manifest(refs, departure=datetime.now(UTC) + timedelta(days=5))
    seated = [p["case_reference"] for p in ok(api.get("carrier.officer", f"/api/v1/flights/{flight}/passengers"))]
    assert sorted(seated) == sorted(refs)
    records = ok(api.get("monitor.viewer", "/api/v1/audit?limit=1000"))
    added = [r["object_id"] for r in sorted(records, key=lambda r: r["seq"]) if r["action"] == "manifest.add"]
    key = client.app.state.audit_pseudonym_key  # type: ignore[attr-defined]
    assert len(added) == len(refs)
    # Nine passengers seated in the order they were added by chance: one lock in 9! = 362,880.
    assert [audit_pseudonym(key, "case", ref) for ref in seated] != added


def test_households_sit_together_the_eldest_first_in_an_order_drawn_at_random() -> None:
    from types import SimpleNamespace

    from retorno.flights.service import seating

    people = [SimpleNamespace(id=n, household_id=1 + n // 3 if n < 6 else None, birth_date=date(2000 - n, 1, 1))
              for n in range(10)]
    rows = [(SimpleNamespace(case=person.id), person) for person in people]
    orders = set()
    for _ in range(60):
        order = [p.case for p in seating(rows)]  # type: ignore[arg-type]
        assert sorted(order) == list(range(10))
        for household in ([0, 1, 2], [3, 4, 5]):
            at = order.index(household[-1])
            assert order[at:at + 3] == household[::-1], order  # side by side, the eldest (born first) first
        orders.add(tuple(order))
    assert len(orders) > 30
