"""Red team round 90, F2 (medium): a consent to change a locked manifest outlived its giver's authority. SAIME's only
consents to cancelling a locked flight and to taking a passenger off it came from a supervisor then disabled "as
compromised"; the Mexican side consented after, and both went through: no active supervisor of the receiving side had
agreed. A consent counts only while its giver stands behind it (active, of an active agency, still a supervisor, on the
same side); the others wait for one who does. And F4 (low): a cancelled flight's departure documents."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.accounts import change_role
from retorno.agencies.logins import disable_agency, disable_user, enable_agency, enable_user
from retorno.agencies.models import User
from retorno.agencies.service import create_token, create_user
from tests.factories import PASSWORD, Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused
from tests.functional.test_locked_manifest_changes import _aboard

REASON = {"reason": "Cambio acordado por ambas partes."}


def _second_supervisor(session: Session, world: World) -> None:
    """SAIME's other supervisor, `saime.jefa`, with a token in the world."""
    user = create_user(session, None, username="saime.jefa", full_name="saime.jefa", agency_code="VE-SAIME",
                       role="supervisor", password=PASSWORD)
    # The world's tokens are shared by the tests of a database: this test's own copy holds hers.
    world.tokens = {**world.tokens, "saime.jefa": create_token(session, user, name="tests", longest_days=30)}
    session.commit()


@pytest.mark.parametrize("loses", ["disabled", "viewer"])
def test_a_consent_whose_giver_no_longer_stands_behind_it_counts_for_nothing(
        client: TestClient, world: World, session: Session, loses: str) -> None:
    api = Api(client, world)
    _second_supervisor(session, world)
    refs = [api.ready_case()["reference"], api.ready_case()["reference"]]
    flight = locked_flight(api, refs)
    # saime.jefa consents to taking refs[0] off and to cancelling the flight; then she is disabled, or made a viewer.
    ok(api.post("saime.jefa", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}), 201)
    first = ok(api.post("saime.jefa", f"/api/v1/flights/{flight}/cancel", REASON))
    assert first["awaiting"] == ["sending"], first
    if loses == "disabled":
        disable_user(session, None, "saime.jefa", reason="cuenta comprometida")
    else:
        supervisor = session.execute(sa.select(User).where(User.username == "saime.supervisor")).scalar_one()
        change_role(session, supervisor, "saime.jefa", "viewer")
    session.commit()
    # The sending side consents: neither the removal nor the cancellation goes through.
    ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}), 201)
    refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/remove",
                     {"reason": "cambio de planes"}), 409, "locked_change_needs_both_sides")
    second = ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/cancel", REASON))
    assert (second["cancelled"], second["state"], second["awaiting"]) == (False, "manifest_locked", ["receiving"])
    assert _aboard(api, flight) == sorted(refs)
    # A supervisor of the receiving side who stands behind it completes each.
    ok(api.post("saime.supervisor", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/remove",
                {"reason": "cambio de planes"}))
    assert _aboard(api, flight) == [refs[1]]
    third = ok(api.post("saime.supervisor", f"/api/v1/flights/{flight}/cancel", REASON))
    assert (third["cancelled"], third["state"]) == (True, "cancelled"), third


@pytest.mark.parametrize("lapse", ["user", "role", "agency"])
def test_a_consent_given_before_its_giver_was_disabled_does_not_come_back_with_them(
        client: TestClient, world: World, session: Session, lapse: str) -> None:
    """Red team round 91, F2 (medium): a consent given before its supervisor (or their agency) was disabled counted
    again once they were enabled, completing a removal nobody of that side had agreed to since."""
    api = Api(client, world)
    _second_supervisor(session, world)
    refs = [api.ready_case()["reference"], api.ready_case()["reference"]]
    flight = locked_flight(api, refs)
    ok(api.post("saime.jefa", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}), 201)
    if lapse == "user":
        disable_user(session, None, "saime.jefa", reason="cuenta comprometida")
        enable_user(session, None, "saime.jefa", reason="investigación cerrada")
    elif lapse == "role":
        supervisor = session.execute(sa.select(User).where(User.username == "saime.supervisor")).scalar_one()
        change_role(session, supervisor, "saime.jefa", "viewer")
        change_role(session, supervisor, "saime.jefa", "supervisor")
    else:
        disable_agency(session, None, "VE-SAIME", reason="revisión de la agencia")
        enable_agency(session, None, "VE-SAIME", reason="revisión cerrada")
        for username in ("saime.jefa", "saime.supervisor", "saime.officer", "saime.viewer"):
            enable_user(session, None, username, reason="revisión cerrada")
    session.commit()
    world.tokens = {**world.tokens, "saime.jefa": create_token(session, session.execute(
        sa.select(User).where(User.username == "saime.jefa")).scalar_one(), name="tests", longest_days=30)}
    session.commit()
    ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}), 201)
    refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/remove",
                     {"reason": "cambio de planes"}), 409, "locked_change_needs_both_sides")
    # Her consent given again, after: it counts.
    ok(api.post("saime.jefa", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{refs[0]}/remove",
                {"reason": "cambio de planes"}))
    assert _aboard(api, flight) == [refs[1]]


def test_a_cancelled_flight_has_no_manifest_to_sign_nor_passenger_list_to_send(
        client: TestClient, world: World) -> None:
    """Red team round 90, F4 (low): a flight cancelled after its lock printed a signable manifest (no passenger, its
    escorts counted aboard) and wrote a PAXLST, neither saying it was cancelled. Both answer 409 now, at every door."""
    api = Api(client, world)
    flight = locked_flight(api, [api.ready_case()["reference"]])
    assert api.get("carrier.officer", f"/api/v1/flights/{flight}/manifest.pdf").status_code == 200
    for supervisor in ("inm.supervisor", "saime.supervisor"):
        ok(api.post(supervisor, f"/api/v1/flights/{flight}/cancel", REASON))
    for user in ("carrier.officer", "inm.officer", "saime.officer"):
        for document in ("paxlst", "manifest.pdf"):
            refused(api.get(user, f"/api/v1/flights/{flight}/{document}"), 409, "flight_cancelled")
    # Who must leave its aircraft is still read (none here: nobody had boarded).
    assert ok(api.get("carrier.officer", f"/api/v1/flights/{flight}/deboardings")) == []


def test_a_side_consents_once_a_second_consent_of_it_is_refused_and_not_stored(
        client: TestClient, world: World, session: Session) -> None:
    """Red team round 91, F7 (low): the same supervisor's consent to take a passenger off a locked manifest, sent
    twice, was stored twice (and a side's consent to cancelling, likewise): one consent a side, the second is told
    which side it waits for."""
    api = Api(client, world)
    _second_supervisor(session, world)
    refs = [api.ready_case()["reference"], api.ready_case()["reference"]]
    flight = locked_flight(api, refs)

    def consents() -> int:
        return int(session.execute(sa.text("SELECT count(*) FROM locked_change_approvals la JOIN flights f ON "
                                           "f.id = la.flight_id WHERE f.reference = :f"), {"f": flight}).scalar_one())

    ok(api.post("saime.supervisor", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}), 201)
    for again in ("saime.supervisor", "saime.jefa"):
        answer = refused(api.post(again, f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}),
                         409, "locked_change_already_consented")
        assert "sending" in str(answer["message"]), answer
    assert consents() == 1
    ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}), 201)
    refused(api.post("inm.supervisor", f"/api/v1/flights/{flight}/locked-changes", {"case": refs[0], **REASON}),
            409, "locked_change_already_consented")
    first = ok(api.post("saime.supervisor", f"/api/v1/flights/{flight}/cancel", REASON))
    assert first["awaiting"] == ["sending"], first
    refused(api.post("saime.jefa", f"/api/v1/flights/{flight}/cancel", REASON), 409, "cancel_already_consented")
    assert consents() == 3
    second = ok(api.post("inm.supervisor", f"/api/v1/flights/{flight}/cancel", REASON))
    assert second["cancelled"] is True, second
