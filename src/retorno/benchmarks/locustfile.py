"""The officials of `retorno bench load`: Locust users, one class per role, each logged in with an account of its own.

Locust loads this file in a process of its own (`benchmarks.load` starts it); nothing of Retorno is imported
here. The benchmark's plan, a JSON file named by `RETORNO_LOAD_PLAN`, holds the logins it created and the
work it staged through the service's own actions: manifests waiting for the receiving side, a locked flight
at the door, a flight in the air, returnees to enrol. The simulated officials then do their day's work
through the API with bearer tokens, handing work on to each other as the offices do: a case the sending
officer screens goes to the verification queue, a flight whose last passenger is approved is locked, a
flight whose last household has boarded departs, a returnee received at the airport is asked for consent
and then enrolled by an operator.

Each piece of work is handed to one official only (`Work`), as a shared queue of an office would: two
officials never act on the same record at once, so every refusal is a fault, except the ones the scenario
provokes on purpose. Those are named "..., refused on purpose (STATUS)" and count as successes only when
the service answers with that status. Any other 4xx or 5xx, or no answer, is a failure.

`RETORNO_LOAD_COUNTS` gives how many officials of each role to start (as `role=n,role=n`), and
`RETORNO_LOAD_WAIT` the seconds one official waits between two actions (`low,high`).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task
from locust.exception import StopUser

PLAN: dict[str, Any] = json.loads(Path(os.environ["RETORNO_LOAD_PLAN"]).read_text(encoding="utf-8"))
_LOW, _HIGH = (float(x) for x in os.environ.get("RETORNO_LOAD_WAIT", "0.5,2").split(","))
COUNTS = {role: int(n) for role, n in (pair.split("=") for pair in
                                       os.environ.get("RETORNO_LOAD_COUNTS", "").split(",") if pair)}
# How a refusal the scenario provokes on purpose is named: it must come with the status named after it.
REFUSED = "refused on purpose"


class Work:
    """Work waiting for the officials of one role; each item is handed out once, whoever listed it first."""

    def __init__(self) -> None:
        self.items: deque[Any] = deque()
        self.seen: set[str] = set()

    def add(self, key: str, item: Any = None) -> None:
        if key not in self.seen:
            self.seen.add(key)
            self.items.append(key if item is None else item)

    def take(self) -> Any:
        return self.items.popleft() if self.items else None


WORK: dict[str, Work] = {name: Work() for name in (
    "screen", "request", "resolve", "verify", "document", "approve", "lock", "board", "depart", "land", "receive",
    "consent", "intake", "follow_up_vuelta", "follow_up_fundapro")}
# Per flight, how many approvals (or households at the door) are still to come before it can be locked (departs).
REMAINING: dict[str, int] = {}
STAGED_CEDULAS = set(PLAN["staged_cedulas"])

for flight in PLAN["approve"]:
    REMAINING[f"approve {flight['flight']}"] = len(flight["passengers"])
    for ref in flight["passengers"]:
        WORK["approve"].add(f"{flight['flight']}/{ref}", (flight["flight"], ref))
for flight in PLAN["board"]:
    REMAINING[f"board {flight['flight']}"] = len(flight["households"])
    for household in flight["households"]:
        WORK["board"].add(f"{flight['flight']}/{household[0]}", (flight["flight"], household))
for flight in PLAN["land"]:
    WORK["land"].add(flight["flight"], flight)
for returnee in PLAN["consent"]:
    WORK["consent"].add(returnee)
for returnee in PLAN["intake"]:
    WORK["intake"].add(returnee)

FOLLOW_UP_ANSWERS = {"work": ["in_placement", "other_work", "no_work"],
                     "income": ["below_minimum", "minimum", "above_minimum"], "housing": ["stable", "temporary"],
                     "household": ["together", "partly"], "intends_to_migrate": ["no", "unsure", "yes"]}


def _logins(role: str) -> Iterator[tuple[str, str]]:
    yield from ((login["username"], login["password"]) for login in PLAN["logins"][role])


LOGINS = {role: _logins(role) for role in PLAN["logins"]}


def _done(key: str) -> bool:
    """One more of a flight's items done; True for the last one."""
    REMAINING[key] -= 1
    return REMAINING[key] == 0


class Official(HttpUser):
    """One official: logs in with an account of their own, then works with a pause between two actions."""

    abstract = True
    role = ""
    wait_time = between(_LOW, _HIGH)

    def on_start(self) -> None:
        """Log in for a bearer token; a failed login (an error) is tried again twice, as a person would."""
        self.username, password = next(LOGINS[self.role])
        for _ in range(3):
            answer = self.write("POST", "/api/v1/auth/token", "POST /auth/token",
                                {"username": self.username, "password": password, "token_name": "load"})
            if answer is not None:
                self.client.headers["Authorization"] = f"Bearer {answer['token']}"
                return
            time.sleep(random.uniform(1, 3))
        raise StopUser()

    def get(self, path: str, name: str, **kwargs: Any) -> Any:
        with self.client.get(path, name=name, catch_response=True, **kwargs) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}: {answer.text[:300]}")
                return None
            return answer

    def write(self, method: str, path: str, name: str, body: Any = None, *, expect: int | None = None,
              headers: dict[str, str] | None = None) -> Any:
        """A change; with `expect`, a refusal provoked on purpose that must come with that status."""
        label = f"{name}, {REFUSED} ({expect})" if expect else name
        with self.client.request(method, path, json=body, name=label, catch_response=True,
                                 headers=headers) as answer:
            wanted = (expect,) if expect else (200, 201)
            if answer.status_code not in wanted:
                answer.failure(f"{answer.status_code}: {answer.text[:300]}")
                return None
            answer.success()
            return answer.json() if not expect else answer

    def open_case(self, ref: str) -> None:
        self.get(f"/api/v1/cases/{ref}", "GET /cases/[ref]")

    @task(1)
    def inbox(self) -> None:
        self.get("/api/v1/inbox", "GET /inbox")


class SendingOfficer(Official):
    """Searches and opens cases, screens the registered, asks for verification, closes the aircraft door."""

    role = "sending_officer"

    @task(5)
    def search_name(self) -> None:
        self.get("/api/v1/cases", "GET /cases?q=[name]", params={"q": random.choice(PLAN["names"])})

    @task(2)
    def search_cedula(self) -> None:
        self.get("/api/v1/cases", "GET /cases?q=[cédula]", params={"q": random.choice(PLAN["cedulas"])})

    @task(2)
    def filtered_list(self) -> None:
        self.get("/api/v1/cases", "GET /cases?state&held&sort", params={
            "state": random.choice(["registered", "screened", "ready"]), "held": random.choice(PLAN["places"]),
            "sort": random.choice(["-detained", "name", "-reference", "-registered"]),
            "offset": random.choice([0, 0, 50, 500])})

    @task(5)
    def open(self) -> None:
        self.open_case(random.choice(PLAN["cases"]))

    @task(1)
    def timeline(self) -> None:
        self.get(f"/api/v1/cases/{random.choice(PLAN['cases'])}/timeline", "GET /cases/[ref]/timeline")

    def _registered(self) -> None:
        """The registered cases waiting longest: the screening officers' list."""
        listed = self.get("/api/v1/cases", "GET /cases?state=registered", params={
            "state": "registered", "sort": "detained", "limit": 100,
            "offset": random.randrange(0, min(PLAN["registered"], 2000) // 100 * 100 or 1, 100)})
        for case in listed.json()["items"] if listed is not None else []:
            WORK["screen"].add(case["reference"], case)

    @task(6)
    def screen(self) -> None:
        case = WORK["screen"].take()
        if case is None:
            self._registered()
            return
        # Now and then a concern, never on a person who stands on a staged manifest under another record.
        concern = random.random() < 0.06 and case.get("national_id") not in STAGED_CEDULAS
        body = {"concerns": ["medical_condition"], "medical_escorts": 1, "notes": "Tratamiento en curso."} \
            if concern else {"concerns": []}
        if self.write("POST", f"/api/v1/cases/{case['reference']}/screenings", "POST /cases/[ref]/screenings",
                      body) is not None:
            WORK["resolve" if concern else "request"].add(case["reference"])

    @task(3)
    def request_verification(self) -> None:
        ref = WORK["request"].take()
        if ref is None:
            self.open()
        elif (asked := self.write("POST", f"/api/v1/cases/{ref}/verification-request",
                                  "POST /cases/[ref]/verification-request")) is not None:
            WORK["verify"].add(ref, (ref, asked["request"]))

    @task(1)
    def depart(self) -> None:
        flight = WORK["depart"].take()
        if flight is None:
            self.get("/api/v1/flights", "GET /flights")
        else:
            self.write("POST", f"/api/v1/flights/{flight}/depart", "POST /flights/[ref]/depart")


class SendingSupervisor(Official):
    """Resolves the protection concerns the officers raised, watches the concern list."""

    role = "sending_supervisor"

    @task(3)
    def resolve(self) -> None:
        ref = WORK["resolve"].take()
        if ref is None:
            self.concerns()
        elif self.write("POST", f"/api/v1/cases/{ref}/screenings/resolution", "POST /cases/[ref]/screenings/resolution",
                        {"decision": "travel_permitted", "reason": "Tratamiento compatible con el viaje."}) is not None:
            WORK["request"].add(ref)

    @task(2)
    def concerns(self) -> None:
        self.get("/api/v1/cases", "GET /cases?concern=open", params={"concern": "open", "sort": "-detained"})

    @task(2)
    def open(self) -> None:
        self.open_case(random.choice(PLAN["cases"]))


def _decision(ref: str, proposal: dict[str, Any] | None) -> dict[str, Any]:
    """What a receiving officer decides on a queue entry, as the service lets an officer alone decide it.

    Without a linkage proposal the officer verifies against the record they read (`RC-` and the case's reference, its
    letters written as numbers, in this world: records are compared by their digits, so `RC-MX-2026-000001` and
    `RC-US-2026-000001` would be one record, `identifiers.registry_record_digits`). With
    one, only against a candidate it proposed that is not dead and not plainly another person (`_another_person`):
    anything else is a supervisor's override with a written reason (red team round 13, F1), not an officer's daily
    work; the officer then finds the person not in the registry (`not_found`), which leaves the case to be decided.
    """
    if proposal is None:
        return {"outcome": "verified",
                "registry_record": "RC-" + "".join(str(ord(char) - 55) if char.isalpha() else char for char in ref)}
    fit = [candidate for candidate in proposal.get("candidates") or [] if isinstance(candidate, dict)
           and candidate.get("registry_record") and not candidate.get("deceased") and not _another_person(candidate)]
    if not fit:
        return {"outcome": "not_found"}
    best = max(fit, key=lambda candidate: candidate.get("probability") or 0.0)
    return {"outcome": "verified", "registry_record": best["registry_record"]}


def _another_person(candidate: dict[str, Any]) -> bool:
    """A candidate the service lets only a supervisor verify against (`verification.service._overrides`): both its
    birth date and cédula differ from the request's, or its sex does, or both its given names and first surname do.
    (A load run once failed on the sex: an officer of the simulation verified such a candidate and was refused.)"""
    agreement = candidate.get("agreement") or {}
    return (all(agreement.get(name) == "disagree" for name in ("birth_date", "cedula"))
            or agreement.get("sex") == "disagree"
            or all(agreement.get(name) == "disagree" for name in ("given_names", "first_surname")))


class ReceivingOfficer(Official):
    """Verifies identities, documents, approves passengers and locks manifests, receives flights and returnees."""

    role = "receiving_officer"

    @task(2)
    def queue(self) -> None:
        listed = self.get("/api/v1/verification/queue", "GET /verification/queue", params={"limit": 100})
        for entry in listed.json() if listed is not None else []:
            WORK["verify"].add(entry["case"]["reference"],
                               (entry["case"]["reference"], entry["request"], entry.get("proposal")))

    @task(5)
    def verify(self) -> None:
        item = WORK["verify"].take()
        if item is None:
            self.queue()
            return
        # A decision names the request it was made on, as the queue or the request's answer gave it.
        ref, request, proposal = item if len(item) == 3 else (*item, None)
        self.open_case(ref)
        decision = _decision(ref, proposal)
        if self.write("POST", f"/api/v1/cases/{ref}/verification-decision", "POST /cases/[ref]/verification-decision",
                      {**decision, "request": request}) is not None and decision["outcome"] == "verified":
            WORK["document"].add(ref)

    @task(2)
    def document(self) -> None:
        ref = WORK["document"].take()
        if ref is not None:
            self.write("POST", f"/api/v1/cases/{ref}/emergency-document", "POST /cases/[ref]/emergency-document")

    @task(6)
    def approve(self) -> None:
        item = WORK["approve"].take()
        if item is None:
            self.flights()
            return
        flight, ref = item
        if self.write("POST", f"/api/v1/flights/{flight}/passengers/{ref}/decision",
                      "POST /flights/[ref]/passengers/[ref]/decision", {"approve": True}) is not None \
                and _done(f"approve {flight}"):
            WORK["lock"].add(flight)

    @task(1)
    def lock(self) -> None:
        flight = WORK["lock"].take()
        if flight is not None:
            self.write("POST", f"/api/v1/flights/{flight}/manifest/lock", "POST /flights/[ref]/manifest/lock")

    @task(1)
    def land(self) -> None:
        flight = WORK["land"].take()
        if flight is None:
            return
        if self.write("POST", f"/api/v1/flights/{flight['flight']}/landing", "POST /flights/[ref]/landing") is not None:
            for passenger in flight["passengers"]:
                WORK["receive"].add(f"{flight['flight']}/{passenger['case']}", (flight["flight"], passenger))

    @task(5)
    def receive(self) -> None:
        item = WORK["receive"].take()
        if item is None:
            return
        flight, passenger = item
        if self.write("POST", f"/api/v1/flights/{flight}/passengers/{passenger['case']}/arrival",
                      "POST /flights/[ref]/passengers/[ref]/arrival") is not None and passenger["adult"]:
            WORK["consent"].add(passenger["case"])

    @task(2)
    def consent(self) -> None:
        ref = WORK["consent"].take()
        if ref is not None and self.write("POST", f"/api/v1/cases/{ref}/consent", "POST /cases/[ref]/consent",
                                          {}) is not None:
            WORK["intake"].add(ref)

    @task(2)
    def flights(self) -> None:
        self.get("/api/v1/flights", "GET /flights")

    @task(2)
    def passengers(self) -> None:
        self.get(f"/api/v1/flights/{random.choice(PLAN['flights'])}/passengers", "GET /flights/[ref]/passengers")


class CarrierOfficer(Official):
    """Boards households at the door, adults first; reads the passenger lists and the PAXLST message."""

    role = "carrier_officer"

    @task(6)
    def board(self) -> None:
        item = WORK["board"].take()
        if item is None:
            self.passengers()
            return
        flight, household = item
        for ref in household:
            if self.write("POST", f"/api/v1/flights/{flight}/passengers/{ref}/boarding",
                          "POST /flights/[ref]/passengers/[ref]/boarding", {"status": "boarded"}) is None:
                return
        if random.random() < 0.2:
            # The same boarding sent twice (a second click at the door): refused, the first one stands.
            self.write("POST", f"/api/v1/flights/{flight}/passengers/{household[0]}/boarding",
                       "POST /flights/[ref]/passengers/[ref]/boarding again", {"status": "boarded"}, expect=409)
        if _done(f"board {flight}"):
            WORK["depart"].add(flight)

    @task(2)
    def flights(self) -> None:
        self.get("/api/v1/flights", "GET /flights")

    @task(2)
    def passengers(self) -> None:
        self.get(f"/api/v1/flights/{random.choice(PLAN['carrier_flights'])}/passengers",
                 "GET /flights/[ref]/passengers")

    @task(1)
    def paxlst(self) -> None:
        self.get(f"/api/v1/flights/{random.choice(PLAN['carrier_flights'])}/paxlst", "GET /flights/[ref]/paxlst")


class Operator(Official):
    """Enrols returnees who consented (intake), records follow-ups, reads returnees and opportunities."""

    role = "operator"

    def on_start(self) -> None:
        super().on_start()
        self.queue = "follow_up_" + ("vuelta" if self.username.startswith("vuelta.") else "fundapro")

    @task(4)
    def intake(self) -> None:
        ref = WORK["intake"].take()
        if ref is None:
            self.returnees()
            return
        current = self.get(f"/api/v1/cases/{ref}/intake", "GET /cases/[ref]/intake")
        if current is None:
            return
        self.write("PUT", f"/api/v1/cases/{ref}/intake", "PUT /cases/[ref]/intake", {
            "home_state": random.choice(["VE-A", "VE-L", "VE-M", "VE-X"]), "municipality": "Libertador",
            "education": random.choice(["1", "2", "3", "4"]), "occupations": [], "skills": ["costura"],
            "preferences": [], "needs": []}, headers={"If-Match": current.headers["etag"]})

    @task(2)
    def follow_ups(self) -> None:
        listed = self.get("/api/v1/follow-ups", "GET /follow-ups")
        today = datetime.now(UTC).date().isoformat()
        # Only those open for recording: one not yet open is refused (followup.not_due), as it should be.
        for due in listed.json() if listed is not None else []:
            if due["opens_on"] <= today:
                WORK[self.queue].add(str(due["id"]))

    @task(3)
    def follow_up(self) -> None:
        follow_up = WORK[self.queue].take()
        if follow_up is None:
            self.follow_ups()
            return
        answers: dict[str, Any] = {name: random.choice(options) for name, options in FOLLOW_UP_ANSWERS.items()}
        self.write("POST", f"/api/v1/follow-ups/{follow_up}", "POST /follow-ups/[id]",
                   {**answers, "wellbeing": random.randint(1, 5)})

    @task(2)
    def returnees(self) -> None:
        self.get("/api/v1/returnees", "GET /returnees")

    @task(1)
    def opportunities(self) -> None:
        self.get("/api/v1/opportunities", "GET /opportunities")


class Monitor(Official):
    """The human rights monitor: reads the figures and the audit trail; a try to decide is refused (403)."""

    role = "monitor"

    @task(3)
    def dashboard(self) -> None:
        self.get("/api/v1/reports/dashboard", "GET /reports/dashboard")

    @task(2)
    def audit(self) -> None:
        self.get("/api/v1/audit", "GET /audit?action", params={"action": random.choice(
            ["manifest.approve", "boarding.boarded", "verification.verified", "screening.record"]), "limit": 100})

    @task(1)
    def checkpoint(self) -> None:
        self.get("/api/v1/audit/checkpoint", "GET /audit/checkpoint")

    @task(1)
    def decide(self) -> None:
        flight, ref = random.choice(PLAN["flights"]), random.choice(PLAN["cases"])
        self.write("POST", f"/api/v1/flights/{flight}/passengers/{ref}/decision",
                   "POST /flights/[ref]/passengers/[ref]/decision by a monitor", {"approve": True}, expect=403)


ROLES: dict[str, type[Official]] = {cls.role: cls for cls in (
    SendingOfficer, SendingSupervisor, ReceivingOfficer, CarrierOfficer, Operator, Monitor)}
for _role, _cls in ROLES.items():
    # Exactly the number the benchmark asked for, one account each; a role not asked for starts none.
    _cls.fixed_count = COUNTS.get(_role, 0)
