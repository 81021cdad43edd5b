"""Red team (HIGH): the state 'documented' named everyone held back by an open protection concern.

A documented case with a valid document and verified nationality moves on to 'ready' unless a concern is
open, and a protection pull takes a manifested case back to 'documented' where any other removal takes it
to 'ready'. To whoever may not read protection screenings (the receiving side, every role; the sending
side's viewers) the two are one state, 'documented', at every door: a case, the lists and their filters and
order, the exports, the figures, the pages, the command line. The sending side's officers and supervisors,
who read screenings, still see the real states.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retorno.cases import lifecycle
from retorno.cli import cases as cli_cases
from retorno.cli.main import app as cli_app
from retorno.errors import RetornoError
from retorno.web.refusals import told_to
from tests.factories import Api, World, ok
from tests.web.pages_helpers import login

# Users who may see cases and may not read protection screenings.
BLIND = ("saime.officer", "saime.supervisor", "saime.viewer", "inm.viewer")
STATE_ON_PAGE = re.compile(r'<p class="state">[^<]*<strong>([^<]*)</strong>')


class Cases:
    """A case held back by a concern and a ready one, and two taken off a flight: by a concern, and otherwise."""

    def __init__(self, api: Api) -> None:
        # Ready first: by id it comes before the held one, by real state after it ('documented' < 'ready').
        self.ready = api.ready_case(first_surname="Listo")["reference"]
        self.held = api.ready_case(first_surname="Retenido")["reference"]
        api.screen(self.held, ["pending_asylum_claim"])
        self.removed = api.ready_case(first_surname="Retirado")["reference"]
        self.pulled = api.ready_case(first_surname="Protegido")["reference"]
        flight = api.flight(departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=10))["reference"]
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers", {"cases": [self.removed, self.pulled]}),
           201)
        ok(api.post("inm.officer", f"/api/v1/flights/{flight}/passengers/{self.removed}/remove",
                    {"reason": "plaza para otro caso"}))
        api.screen(self.pulled, ["trafficking_victim"])

    @property
    def all(self) -> tuple[str, ...]:
        return self.ready, self.held, self.removed, self.pulled


@pytest.fixture()
def cases(client: TestClient, world: World) -> Cases:
    return Cases(Api(client, world))


def _states(api: Api, user: str, refs: tuple[str, ...]) -> dict[str, str]:
    return {ref: ok(api.get(user, f"/api/v1/cases/{ref}"))["state"] for ref in refs}


def _listed(api: Api, user: str, **params: str) -> list[tuple[str, str]]:
    query = "&".join(f"{k}={v}" for k, v in {"limit": "500", **params}.items())
    return [(item["reference"], item["state"]) for item in ok(api.get(user, f"/api/v1/cases?{query}"))["items"]]


def test_the_sending_supervisor_still_sees_who_is_held_back(client: TestClient, world: World, cases: Cases) -> None:
    api = Api(client, world)
    assert _states(api, "inm.supervisor", cases.all) == {
        cases.ready: "ready", cases.held: "documented", cases.removed: "ready", cases.pulled: "documented"}
    assert {ref for ref, _ in _listed(api, "inm.supervisor", state="ready")} >= {cases.ready, cases.removed}
    assert not {ref for ref, _ in _listed(api, "inm.supervisor", state="ready")} & {cases.held, cases.pulled}
    by_state = ok(api.get("inm.supervisor", "/api/v1/reports/dashboard"))["cases_by_state"]
    assert by_state["ready"] >= 2 and by_state["documented"] >= 2
    ordered = [ref for ref, _ in _listed(api, "inm.supervisor", sort="state") if ref in (cases.ready, cases.held)]
    assert ordered == [cases.held, cases.ready]


@pytest.mark.parametrize("user", BLIND)
def test_the_api_tells_no_one_without_protection_access_who_is_held_back(
        client: TestClient, world: World, cases: Cases, user: str) -> None:
    api = Api(client, world)
    assert set(_states(api, user, cases.all).values()) == {"documented"}
    # Filtering by either state gives the union; every item says the same state.
    for state in ("documented", "ready"):
        found = dict(_listed(api, user, state=state))
        assert set(cases.all) <= set(found), state
        assert set(found.values()) == {"documented"}, state
    # The whole list, and its order by state: the two states interleave by id, as one.
    everything = dict(_listed(api, user))
    assert "ready" not in everything.values()
    ordered = [ref for ref, _ in _listed(api, user, sort="state") if ref in (cases.ready, cases.held)]
    assert ordered == [cases.ready, cases.held]
    # The figures count them as one state, and leave out the counts that date a concern.
    figures = ok(api.get(user, "/api/v1/reports/dashboard"))
    assert "ready" not in figures["cases_by_state"] and figures["cases_by_state"]["documented"] >= 4
    assert "open_concerns" not in figures
    assert "protection_pulls" not in figures["safeguard_exceptions"]
    assert "screening_resolutions" not in figures["safeguard_exceptions"]
    # The concern filter stays refused, and the case's history is not theirs to read.
    assert api.get(user, "/api/v1/cases?concern=open").json()["error"]["code"] == "filter_not_available"
    assert api.get(user, f"/api/v1/cases/{cases.held}/timeline").status_code == 403
    # No version to watch either: the ETag moves with a concern raised, and only an editor sends it back.
    assert "etag" not in api.get(user, f"/api/v1/cases/{cases.ready}").headers
    # Nor the moment the state last changed, which moves when a concern is raised on a ready case.
    for ref in cases.all:
        assert "state_changed_at" not in ok(api.get(user, f"/api/v1/cases/{ref}")), ref
    assert all("state_changed_at" not in item for item in ok(api.get(user, "/api/v1/cases"))["items"])


def test_the_monitor_counts_states_apart_as_it_counts_open_concerns(
        client: TestClient, world: World, cases: Cases) -> None:
    figures = ok(Api(client, world).get("monitor.viewer", "/api/v1/reports/dashboard"))
    assert figures["cases_by_state"]["ready"] >= 2 and figures["open_concerns"] >= 2


def _csv(client: TestClient, state: str) -> list[dict[str, str]]:
    """The case list filtered by `state`, exported as CSV (its header translated: 'Referencia', 'Estado')."""
    return list(csv.DictReader(io.StringIO(client.get("/cases.csv", params={"state": state}).text.lstrip("\ufeff"))))


@pytest.mark.parametrize("user", ["saime.officer", "inm.viewer"])
def test_pages_and_exports_tell_no_one_without_protection_access_who_is_held_back(
        client: TestClient, world: World, cases: Cases, user: str) -> None:
    login(client, user)
    for ref in cases.all:
        assert STATE_ON_PAGE.findall(client.get(f"/cases/{ref}").text) == ["documentado"], ref
    for state in ("documented", "ready"):
        page = client.get("/cases", params={"state": state, "sort": "state"}).text
        assert all(ref in page for ref in cases.all), state
        assert ">listo<" not in page.replace("\n", "").replace(" ", ""), state
        assert 'value="ready"' not in page
        exported = _csv(client, state)
        rows = {row["Referencia"]: row for row in exported}
        assert set(cases.all) <= set(rows), state
        assert {row["Estado"] for row in rows.values()} == {"documented"}, state
        assert all("Último cambio" not in row for row in exported), state
    assert "Último cambio" not in client.get(f"/cases/{cases.held}").text
    home = client.get("/").text
    assert "listo" not in home.lower()


def test_pages_and_exports_show_the_sending_supervisor_the_real_states(
        client: TestClient, world: World, cases: Cases) -> None:
    login(client, "inm.supervisor")
    assert STATE_ON_PAGE.findall(client.get(f"/cases/{cases.ready}").text) == ["listo"]
    assert STATE_ON_PAGE.findall(client.get(f"/cases/{cases.held}").text) == ["documentado"]
    exported = _csv(client, "ready")
    assert cases.ready in {row["Referencia"] for row in exported}
    assert all(row["Último cambio"] for row in exported)
    assert ok(Api(client, world).get("inm.supervisor", f"/api/v1/cases/{cases.held}"))["state_changed_at"]
    assert cases.held not in {row["Referencia"] for row in exported}


def _verified(api: Api) -> dict[bool, str]:
    """Two verified cases with no document yet, by whether a concern of theirs is open."""
    made = {}
    for concerns in ([], ["unaccompanied_child"]):
        ref = api.register()["reference"]
        api.screen(ref, concerns)
        api.verify(ref)
        made[bool(concerns)] = ref
    return made


def test_an_emergency_document_tells_the_receiving_side_no_state_a_concern_decides(
        client: TestClient, world: World) -> None:
    """Issuing the document moves a verified case to 'documented' (a concern open) or on to 'ready'."""
    api = Api(client, world)
    answers = {concern: ok(api.post("saime.officer", f"/api/v1/cases/{ref}/emergency-document"), 201)
               for concern, ref in _verified(api).items()}
    assert answers[False]["case_state"] == answers[True]["case_state"] == "documented"


def _cli(monkeypatch: pytest.MonkeyPatch, session: Session, user: str, *args: str) -> str:
    """A command run in the test's own transaction (the data the test made is not committed)."""

    @contextmanager
    def in_test(_config: object) -> Iterator[Session]:
        yield session

    monkeypatch.setattr(cli_cases, "unit_of_work", in_test)
    result = CliRunner().invoke(cli_app, [*args, "--as", user], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_command_line_shows_the_state_as_the_reader_may_see_it(
        client: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    issued = _verified(Api(client, world))
    for ref in issued.values():
        said = _cli(monkeypatch, session, "saime.officer", "documents", "issue-emergency", ref)
        assert "; case state documented" in " ".join(said.split()), said
        assert re.search(r"state\s*│\s*documented", _cli(monkeypatch, session, "saime.officer", "cases", "show", ref))
    shown = _cli(monkeypatch, session, "inm.supervisor", "cases", "show", issued[False])
    assert re.search(r"state\s*│\s*ready", shown), shown


def _told(response: object) -> tuple[int, str, str]:
    """A refusal as told, with the case's reference taken out: what tells two cases apart if anything does."""
    status = response.status_code  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    params = {k: v for k, v in (error.get("params") or {}).items() if k not in ("case", "reference")}
    return status, re.sub(r"(MX|US)-\d{4}-\d{6,}", "REF", error["message"]), repr(sorted(params.items()))


@pytest.mark.parametrize("user", ["saime.officer", "saime.supervisor"])
def test_a_refusal_tells_no_one_without_protection_access_who_is_held_back(
        client: TestClient, world: World, cases: Cases, user: str) -> None:
    """Red team (high): a receiving-side officer's refused consent said "it is 'ready'" of a case told everywhere else
    as documented, and "it is 'documented'" of one held back by a concern: one request, writing nothing, per case.
    Every refusal naming a case state is told as the reader may see states (`web.refusals.told_to`), the states a
    transition allows from it included."""
    api = Api(client, world)
    answers = {_told(api.post(user, f"/api/v1/cases/{ref}/consent", {})) for ref in cases.all}
    assert len(answers) == 1, answers
    status, message, params = answers.pop()
    assert status == 409 and "'documented'" in message and "ready" not in message, message
    assert params == repr([("state", "documented")]), params
    # The sending side, who reads screenings, is still told the real state.
    told = api.post("inm.officer", f"/api/v1/cases/{cases.ready}/verification-request", {}).json()["error"]
    assert "'ready'" in told["message"], told


def test_the_states_a_transition_allows_tell_nothing_either() -> None:
    """A refused step lists the states allowed from the case's: from 'ready' they differ from those from
    'documented' ('manifested'), so they are told as allowed from either."""
    def refused(current: str) -> RetornoError:
        with pytest.raises(RetornoError) as raised:
            lifecycle.check_transition("MX-2026-000001", current, "arrived")
        return raised.value

    blind = [told_to(refused(state), reads_protection=False) for state in ("ready", "documented")]
    assert blind[0].message == blind[1].message and "ready" not in blind[0].message.split(";")[0]
    assert str(blind[0].params["current"]) == "documented"
    seeing = [told_to(refused(state), reads_protection=True) for state in ("ready", "documented")]
    assert seeing[0].message != seeing[1].message
