"""Listing who has a protection concern open is an audited read (SPEC.md 4.7), through the API and the page alike
(red team, low: `GET /api/v1/cases?concern=open` named the people with open concerns and left no record, where an
export of the same list was audited)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from retorno.audit.models import AuditRecord
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login


def _concern_lists(session_factory: sessionmaker[Session]) -> list[tuple[str, dict[str, object] | None]]:
    with session_factory() as session:
        return [(r.actor, r.after) for r in session.execute(
            sa.select(AuditRecord).where(AuditRecord.action == "cases.concern_list").order_by(AuditRecord.seq))
            .scalars()]


def test_listing_the_cases_with_an_open_concern_is_audited(client: TestClient, world: World,
                                                           session_factory: sessionmaker[Session]) -> None:
    api = Api(client, world)
    held = api.register()["reference"]
    api.screen(held, ["trafficking_victim"])
    assert _concern_lists(session_factory) == []
    # Another list, without the concern filter, is no protection read.
    ok(api.get("inm.officer", "/api/v1/cases?state=screened"))
    assert _concern_lists(session_factory) == []
    listed = ok(api.get("inm.officer", "/api/v1/cases?concern=open"))
    assert held in [c["reference"] for c in listed["items"]]
    (actor, after), = _concern_lists(session_factory)
    assert actor == "inm.officer" and after is not None and after["rows"] >= 1
    assert login(client, "inm.officer").status_code == 303
    page = client.get("/cases?concern=open", follow_redirects=False)
    assert page.status_code == 200 and held in page.text
    assert [actor for actor, _ in _concern_lists(session_factory)] == ["inm.officer", "inm.officer"]


def test_the_work_queue_naming_people_with_an_open_concern_is_an_audited_read(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 34, M1: the supervisor's work page (`/`, `/?kind=concerns`) and `GET /api/v1/inbox` named every
    case with a protection concern open, reference and name, and left no record, where the case list's concern filter
    was audited. Each such queue shown is now recorded; the navigation's counts, which name nobody, are not."""
    api = Api(client, world)
    held = api.register()["reference"]
    api.screen(held, ["trafficking_victim"])
    assert _concern_lists(session_factory) == []
    queue = {k["kind"]: k for k in ok(api.get("inm.supervisor", "/api/v1/inbox"))["kinds"]}
    assert held in [item["reference"] for item in queue["concerns"]["items"]]
    (actor, after), = _concern_lists(session_factory)
    assert actor == "inm.supervisor" and after is not None
    assert after["from"] == "work_queue" and after["cases"] == [held] and after["rows"] == 1
    assert login(client, "inm.supervisor").status_code == 303
    # A page that only counts the queue in its navigation names nobody: no record.
    assert client.get("/flights").status_code == 200
    assert len(_concern_lists(session_factory)) == 1
    for path in ("/", "/?kind=concerns"):
        page = client.get(path)
        assert page.status_code == 200 and held in page.text, path
    assert [actor for actor, _ in _concern_lists(session_factory)] == ["inm.supervisor"] * 3


def test_an_alert_telling_a_protection_or_health_removal_is_an_audited_read(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The alerts of people taken off a manifest for a protection concern or their medical needs say why to those who
    read protection details: shown, they are recorded as the concern list is; the receiving side, told only that they
    were taken off, reads nothing so recorded."""
    api = Api(client, world)
    pulled = api.ready_case(national_id="V25239107")["reference"]
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [pulled]}), 201)
    api.screen(pulled, ["pending_asylum_claim"])
    before = len(_concern_lists(session_factory))
    ok(api.get("saime.supervisor", "/api/v1/inbox"))
    assert len(_concern_lists(session_factory)) == before
    alerts = {k["kind"]: k for k in ok(api.get("inm.officer", "/api/v1/inbox"))["kinds"]}["alerts"]["items"]
    assert [(item["reference"], item["note"]) for item in alerts] == [(pulled, "protection_pull")]
    actor, after = _concern_lists(session_factory)[-1]
    assert actor == "inm.officer" and after is not None and after["alerts"] == [pulled]


def test_a_case_told_held_back_by_a_concern_is_an_audited_read_at_every_door(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 36, F1: to those who read screenings `documented` means a concern is open (a documented case
    moves on to ready otherwise): `state=documented` listed the 62 people held back and left no record. A case so
    told, in a list, a search, its page or its answer, is recorded as the concern list is; a ready one is not."""
    api = Api(client, world)
    held = api.ready_case()["reference"]
    ready = api.ready_case(given_names="Rosa")["reference"]
    api.screen(held, ["trafficking_victim"])
    before = len(_concern_lists(session_factory))
    ok(api.get("inm.officer", "/api/v1/cases?state=ready"))
    ok(api.get("inm.officer", f"/api/v1/cases/{ready}"))
    assert len(_concern_lists(session_factory)) == before
    for path in ("/api/v1/cases?state=documented", "/api/v1/cases?sort=state", f"/api/v1/cases/{held}"):
        ok(api.get("inm.officer", path))
        actor, after = _concern_lists(session_factory)[-1]
        assert actor == "inm.officer" and after is not None, path
        assert after["from"] == "case_state" and held in after["cases"] and ready not in after["cases"], path
    assert login(client, "inm.officer").status_code == 303
    count = len(_concern_lists(session_factory))
    page = client.get("/cases?state=documented")
    assert page.status_code == 200 and held in page.text
    # The list of that state (round 37, F1) and the states it told.
    assert [after["from"] if after and "from" in after else after and after["filters"]
            for _, after in _concern_lists(session_factory)[count:]] == [{"state": "documented"}, "case_state"]
    # The receiving side is told both states alike: nothing of a concern, nothing recorded.
    count = len(_concern_lists(session_factory))
    ok(api.get("saime.officer", "/api/v1/cases?limit=200"))
    assert len(_concern_lists(session_factory)) == count


def test_a_refusal_saying_a_concern_is_open_is_an_audited_read(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 36, F2: a manifest addition of 110 cases answered which 65 had a concern open, and no record
    was written; F4: an officer's screening asking for fewer medical escorts was told the case needs more. Each such
    refusal is recorded, after its own rollback."""
    api = Api(client, world)
    held = api.ready_case()["reference"]
    api.screen(held, ["pending_asylum_claim"])
    flight = api.flight()["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [held]})
    assert refused.status_code == 409 and held in refused.text
    actor, after = _concern_lists(session_factory)[-1]
    assert actor == "inm.officer" and after is not None
    assert after["from"].startswith("refusal:") and after["cases"] == [held]
    medical = api.ready_case(given_names="Rosa")["reference"]
    api.screen(medical, medical_escorts=2)
    lowered = api.post("inm.officer", f"/api/v1/cases/{medical}/screenings", {"concerns": [], "medical_escorts": 0})
    assert lowered.status_code == 409, lowered.text
    with session_factory() as session:
        read = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "screening.escorts_read")
                               .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
        assert (read.actor, read.object_id, read.after) == ("inm.officer", medical,
                                                            {"from": "refusal:screening.record"})


def test_the_case_page_saying_a_concern_is_open_is_an_audited_read(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """The case page's banner tells those who read screenings that a concern is open on the person, whatever the
    case's state (a screened case too): recorded as the concern list is; a case with none records nothing."""
    api = Api(client, world)
    held = api.register()["reference"]
    clear = api.register(given_names="Rosa", agency_reference="INM-RT-CLEAR")["reference"]
    api.screen(held, ["pending_asylum_claim"])
    assert login(client, "inm.officer").status_code == 303
    count = len(_concern_lists(session_factory))
    assert client.get(f"/cases/{clear}").status_code == 200
    assert len(_concern_lists(session_factory)) == count
    page = client.get(f"/cases/{held}")
    assert page.status_code == 200 and "concern-banner" in page.text
    actor, after = _concern_lists(session_factory)[-1]
    assert actor == "inm.officer" and after is not None and after["from"] == "case_page" and after["cases"] == [held]


def test_a_list_of_the_state_that_means_a_concern_is_audited_even_by_its_count(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 37, F1: `state=documented&q=REF` past the last page answered total 1 (0 for `ready`) and left
    no record: to those who read screenings that count says the person has a concern open. Such a list is recorded as
    the concern filter's is, whatever page it shows."""
    api = Api(client, world)
    held = api.ready_case()["reference"]
    api.screen(held, ["trafficking_victim"])
    count = len(_concern_lists(session_factory))
    probe = ok(api.get("inm.officer", f"/api/v1/cases?state=documented&q={held}&offset=5000"))
    assert probe["total"] == 1 and probe["items"] == []
    actor, after = _concern_lists(session_factory)[-1]
    assert len(_concern_lists(session_factory)) == count + 1 and actor == "inm.officer" and after is not None
    assert after["filters"] == {"state": "documented", "text": held} and after["rows"] == 0
    assert login(client, "inm.officer").status_code == 303
    assert client.get(f"/cases?state=documented&q={held}&page=50").status_code == 200
    assert len(_concern_lists(session_factory)) == count + 2


def test_a_refusal_for_the_medical_staff_a_flight_lacks_records_the_need_it_tells(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 37, F4: adding one person needing three medical escorts to a flight with one medical staff was
    refused "medical cases need 3 medical escorts, only 1 medical staff are assigned": that person's need, told with
    no record. The refusal is recorded as a read of the escorts of the cases it counted."""
    api = Api(client, world)
    medical = api.ready_case(given_names="Rosa")["reference"]
    api.screen(medical, medical_escorts=3)
    flight = api.flight(medical_staff=1)["reference"]
    refused = api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [medical]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "safeguard.medical_escort", refused.text
    with session_factory() as session:
        read = session.execute(sa.select(AuditRecord).where(AuditRecord.action == "screening.escorts_read")
                               .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one()
        assert (read.actor, read.object_id) == ("inm.officer", medical)
        assert read.after is not None and read.after["from"].startswith("refusal:")


def test_a_case_held_back_by_another_agencys_record_told_documented_is_an_audited_read(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 38, F2: ICE's record of the same person, with a concern, held INM's case back (`documented`);
    SRE read it by the API, and found it by its cédula, with no record, where the case page recorded
    it. The state is told the same whoever's record holds the concern: recorded at every door."""
    api = Api(client, world)
    mexican = api.ready_case(national_id="V25239107")["reference"]
    american = api.register("ice.officer", national_id="V-25.239.107", agency_reference="ICE-RT38-HOLD")
    api.screen(american["reference"], ["trafficking_victim"], user="ice.officer")
    for path in (f"/api/v1/cases/{mexican}", "/api/v1/cases?q=V25239107"):
        count = len(_concern_lists(session_factory))
        answer = ok(api.get("sre.officer", path))
        states = [answer["state"]] if "state" in answer else [item["state"] for item in answer["items"]]
        assert "documented" in states, (path, states)
        actor, after = _concern_lists(session_factory)[-1]
        assert len(_concern_lists(session_factory)) == count + 1 and actor == "sre.officer", path
        assert after is not None and after["from"] == "case_state" and after["cases"] == [mexican], path


def test_a_screening_refused_because_concerns_are_open_is_an_audited_read(
        client: TestClient, world: World, session_factory: sessionmaker[Session]) -> None:
    """Red team round 76, F3: a screening with no concerns, refused because concerns are open on the case, told the
    officer so and left no record, where every other refusal saying so is recorded as the concern list is."""
    api = Api(client, world)
    held = api.register()["reference"]
    api.screen(held, ["trafficking_victim"])
    before = _concern_lists(session_factory)
    refused = api.post("inm.officer", f"/api/v1/cases/{held}/screenings", {"concerns": []})
    assert refused.status_code == 409, refused.text
    after = _concern_lists(session_factory)
    assert len(after) == len(before) + 1
    actor, told = after[-1]
    assert actor == "inm.officer" and told is not None
    assert told["from"] == "refusal:screening.record" and told["cases"] == [held]
