"""Red team T-F6 (low): both supervisors consented to taking one spouse off a locked manifest; withdrawing her took the
other spouse and their child off with her, removals nobody of either side had consented to.

Now an adult leaving the process (withdrawn, unfit to fly) lets the others go (SPEC.md 4.3): the rest of the household
stays on the manifest, a minor left without an adult of it leaving too. And whatever takes a household off a locked
manifest with a person (a removal, a rejection, a withdrawal, an identity edit, a newcomer) takes each member off only
with a supervisor of each side's consent to removing that member: 409 `locked_change_needs_both_sides`, naming every
member and the sides missing, nothing changed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight, refused, state

NEEDS_BOTH = "locked_change_needs_both_sides"
REASON = "Cambio acordado por ambas partes."


def _aboard(api: Api, flight: str) -> list[str]:
    rows = ok(api.get("inm.officer", f"/api/v1/flights/{flight}/passengers"))
    return sorted(p["case"] for p in rows if p["approval"] in ("proposed", "approved"))


def _consent(api: Api, flight: str, ref: str, *supervisors: str) -> None:
    for supervisor in supervisors or ("inm.supervisor", "saime.supervisor"):
        ok(api.post(supervisor, f"/api/v1/flights/{flight}/locked-changes", {"case": ref, "reason": REASON}), 201)


def _family(api: Api, household: str, *, adults: int) -> list[str]:
    """`adults` adults (the first the head) and one child of eleven, ready, in one household."""
    refs = [api.ready_case(household_reference=household, given_names=f"Adulto {n}", birth_date=f"198{n}-05-06",
                           relationship_to_head="head" if n == 0 else "spouse")["reference"] for n in range(adults)]
    refs.append(api.ready_case(household_reference=household, given_names="Niña", birth_date="2015-04-02",
                               relationship_to_head="child")["reference"])
    return refs


def test_a_spouse_withdrawn_off_a_locked_manifest_leaves_alone(client: TestClient, world: World) -> None:
    api = Api(client, world)
    head, spouse, child = _family(api, "HOGAR-T6", adults=2)
    flight = locked_flight(api, [head, spouse, child])
    _consent(api, flight, spouse)
    ok(api.post("inm.officer", f"/api/v1/cases/{spouse}/withdraw", {"reason": "liberada por el juez"}))
    # Before: [] (the head and the child off too, each without a consent to removing them).
    assert _aboard(api, flight) == sorted([head, child])
    assert state(api, spouse) == "withdrawn"
    assert state(api, head) == state(api, child) == "manifested"


def test_the_household_a_removal_takes_off_a_locked_manifest_needs_consents_for_each_member(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    head, child = _family(api, "HOGAR-T7", adults=1)
    flight = locked_flight(api, [head, child])
    _consent(api, flight, head)
    # The child cannot stay without an adult of the household: removing the head takes her too, and she leaves only
    # with both sides' consent. Before: both off on the head's consents alone.
    error = refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{head}/remove",
                             {"reason": "cambio de planes"}), 409, NEEDS_BOTH)
    assert child in str(error["message"]) and "receiving" in str(error["message"]), error
    refused(api.post("inm.officer", f"/api/v1/cases/{head}/withdraw", {"reason": "liberado por el juez"}), 409,
            NEEDS_BOTH)
    assert _aboard(api, flight) == sorted([head, child]) and state(api, head) == "manifested"
    _consent(api, flight, child, "inm.supervisor")
    error = refused(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{head}/remove",
                             {"reason": "cambio de planes"}), 409, NEEDS_BOTH)
    assert child in str(error["message"]) and "sending" not in str(error["message"]).split(child)[1], error
    _consent(api, flight, child, "saime.supervisor")
    taken = ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{head}/remove",
                        {"reason": "cambio de planes"}))
    assert sorted(taken["removed"]) == sorted([head, child]), taken
    assert _aboard(api, flight) == [] and state(api, head) == state(api, child) == "ready"


def test_an_identity_edit_takes_the_household_off_a_locked_manifest_only_with_consents_for_each(
        client: TestClient, world: World) -> None:
    api = Api(client, world)
    head, spouse, child = _family(api, "HOGAR-T8", adults=2)
    flight = locked_flight(api, [head, spouse, child])
    _consent(api, flight, spouse)
    error = refused(api.patch("inm.officer", f"/api/v1/cases/{spouse}", {"given_names": "Adulta Corregida"}), 409,
                    NEEDS_BOTH)
    assert head in str(error["message"]) and child in str(error["message"]), error
    assert _aboard(api, flight) == sorted([head, spouse, child])
    assert ok(api.get("inm.officer", f"/api/v1/cases/{spouse}"))["given_names"] != "Adulta Corregida"
    _consent(api, flight, head)
    _consent(api, flight, child)
    ok(api.patch("inm.officer", f"/api/v1/cases/{spouse}", {"given_names": "Adulta Corregida"}))
    assert _aboard(api, flight) == []
