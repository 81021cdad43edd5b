"""Red team H3 (SPEC.md 4.6): the receiving side was told who was pulled for protection by which removals raised an
alert. Of approved passengers taken off a manifest one way each, the sending side's removal (before the lock, or
after it with a supervisor of each side) and a no-show at the door raised none, an identity change and a withdrawal
raised their own kinds, and a protection concern alone raised 'taken_off' ("retirado del manifiesto" on the home
page): hiding the kind's name did not hide the fact. Now every removal the receiving side does not make raises an
alert, and whoever may not read protection details is told each one alike."""

from __future__ import annotations

from fastapi.testclient import TestClient

from retorno.web.actions import ALERT_KINDS
from tests.factories import Api, World, ok
from tests.functional.test_guarantees import locked_flight
from tests.web.pages_helpers import login

REASON = {"reason": "Cambio acordado por ambas partes."}


def _alerts(api: Api, user: str) -> tuple[int, dict[str, str]]:
    kinds = {k["kind"]: k for k in ok(api.get(user, "/api/v1/inbox?limit=100"))["kinds"]}
    alerts = kinds.get("alerts", {"total": 0, "items": []})
    return alerts["total"], {i["reference"]: i["note"] for i in alerts["items"]}


def test_every_removal_from_a_manifest_is_told_alike_to_the_receiving_side(client: TestClient, world: World) -> None:
    api = Api(client, world)
    pulled, renamed, withdrawn, removed = (api.ready_case(given_names=f"Persona {n}")["reference"] for n in range(4))
    flight = api.flight()["reference"]
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers",
                {"cases": [pulled, renamed, withdrawn, removed]}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/manifest/propose"))
    for ref in (pulled, renamed, withdrawn, removed):
        ok(api.post("saime.officer", f"/api/v1/flights/{flight}/passengers/{ref}/decision", {"approve": True}))
    # Four ways off a manifest the receiving side approved, before its lock.
    ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{removed}/remove", REASON))
    ok(api.patch("inm.officer", f"/api/v1/cases/{renamed}", {"given_names": "Otra Persona"}))
    ok(api.post("inm.officer", f"/api/v1/cases/{withdrawn}/withdraw", {"reason": "Desiste del retorno."}))
    api.screen(pulled, ["pending_asylum_claim"])
    # After the lock: both sides' supervisors agree to a removal; a passenger does not show up at the door.
    agreed, absent = (api.ready_case(given_names=f"Persona {n}")["reference"] for n in (5, 6))
    locked = locked_flight(api, [agreed, absent])
    for supervisor in ("inm.supervisor", "saime.supervisor"):
        ok(api.post(supervisor, f"/api/v1/flights/{locked}/locked-changes", {"case": agreed, **REASON}), 201)
    ok(api.post("inm.officer", f"/api/v1/flights/{locked}/passengers/{agreed}/remove", REASON))
    ok(api.post("inm.officer", f"/api/v1/flights/{locked}/passengers/{absent}/boarding", {"status": "no_show"}))

    every = {ref: "taken_off" for ref in (pulled, renamed, withdrawn, removed, agreed, absent)}
    for user in ("saime.officer", "saime.supervisor"):
        assert _alerts(api, user) == (6, every), user
    # Nor does the case tell them apart: pulled or removed by the sending side, it reads 'documented'.
    assert {ok(api.get("saime.officer", f"/api/v1/cases/{ref}"))["state"] for ref in (pulled, removed)} == {
        "documented"}
    assert _alerts(api, "inm.officer") == (6, {
        pulled: "protection_pull", renamed: "identity_changed", withdrawn: "withdrawn", removed: "removed",
        agreed: "removed", absent: "no_show"})
    login(client, "saime.officer")
    home = client.get("/").text
    assert home.count("retirado del manifiesto") == 6
    told_apart = [spanish for kind, (spanish, _) in ALERT_KINDS.items() if kind != "taken_off" and spanish in home]
    assert told_apart == [], told_apart
    # The sending side's officers read each reason.
    login(client, "inm.officer")
    home = client.get("/").text
    assert "retirado por una preocupación de protección" in home and "retirado por el lado que envía" in home
