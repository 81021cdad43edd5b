"""Test data: the agencies and users of a small world, and cases driven along through the API."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.service import create_agency, create_token, create_user
from retorno.db import clock_at
from retorno.documents import mrz

PASSWORD = "correct horse battery"
# The world's tokens are made once per test database and used by tests that run the clock months ahead
# (`clock_at`): they last ten years, as an installation's RETORNO_TOKEN_DAYS could let them.
TOKEN_DAYS = 3650

AGENCIES = [
    ("MX-INM", "Instituto Nacional de Migración", "sending_authority", "MEX", None),
    ("MX-SRE", "Secretaría de Relaciones Exteriores", "sending_authority", "MEX", None),
    ("US-ICE", "U.S. Immigration and Customs Enforcement", "sending_authority", "USA", None),
    ("VE-SAIME", "SAIME", "receiving_authority", "VEN", None),
    ("CO-MIG", "Migración Colombia", "receiving_authority", "COL", None),
    ("CONVIASA", "Conviasa", "carrier", "VEN", "V0"),
    ("AVIOR", "Avior Airlines", "carrier", "VEN", "9V"),
    ("VE-VUELTA", "Plan Vuelta a la Patria", "reintegration_operator", "VEN", None),
    ("VE-FUNDAPRO", "Fundación Emprende Retorno", "reintegration_operator", "VEN", None),
    ("MON-DDP", "Defensoría del Pueblo", "monitor", "VEN", None),
    ("RET-ADMIN", "Administración", "administrator", "VEN", None),
]
USERS = [
    ("inm.officer", "MX-INM", "officer"), ("inm.supervisor", "MX-INM", "supervisor"),
    ("inm.viewer", "MX-INM", "viewer"), ("sre.officer", "MX-SRE", "officer"),
    ("ice.officer", "US-ICE", "officer"), ("ice.supervisor", "US-ICE", "supervisor"),
    ("saime.officer", "VE-SAIME", "officer"), ("saime.supervisor", "VE-SAIME", "supervisor"),
    ("saime.viewer", "VE-SAIME", "viewer"), ("col.officer", "CO-MIG", "officer"),
    ("carrier.officer", "CONVIASA", "officer"), ("avior.officer", "AVIOR", "officer"),
    ("op.officer", "VE-VUELTA", "officer"), ("op.supervisor", "VE-VUELTA", "supervisor"),
    ("op2.officer", "VE-FUNDAPRO", "officer"), ("monitor.viewer", "MON-DDP", "viewer"),
    ("admin", "RET-ADMIN", "supervisor"),
    # Every role of every kind, for the route × role matrix.
    ("carrier.viewer", "CONVIASA", "viewer"), ("carrier.supervisor", "CONVIASA", "supervisor"),
    ("op.viewer", "VE-VUELTA", "viewer"), ("monitor.officer", "MON-DDP", "officer"),
    ("monitor.supervisor", "MON-DDP", "supervisor"), ("admin.viewer", "RET-ADMIN", "viewer"),
    ("admin.officer", "RET-ADMIN", "officer"),
]


_FLIGHT_NUMBERS = itertools.count()


def next_flight_number() -> str:
    """A flight number of CONVIASA's no other flight of the test has: a carrier flies one flight of a number a day
    (red team round 22, X-F4), and the tests propose many on the same day."""
    return f"V0 {1000 + next(_FLIGHT_NUMBERS) % 9000}"


@dataclass
class World:
    tokens: dict[str, str]
    users: dict[str, User] = field(default_factory=dict)

    def bind(self, session: Session) -> World:
        """The same world with its users loaded in `session`."""
        rows = session.execute(sa.select(User).where(User.username.in_(self.tokens))).scalars()
        return World(self.tokens, {u.username: u for u in rows})

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def build_world(session: Session) -> World:
    for code, name, kind, country, carrier_code in AGENCIES:
        create_agency(session, None, code=code, name=name, kind=kind, country=country, carrier_code=carrier_code)
    tokens = {}
    for username, agency, role in USERS:
        user = create_user(session, None, username=username, full_name=username, agency_code=agency, role=role,
                           password=PASSWORD)
        tokens[username] = create_token(session, user, name="tests", longest_days=TOKEN_DAYS)
    return World(tokens)


def another_agency_officer(session: Session, *, code: str, kind: str, country: str, username: str) -> dict[str, str]:
    """An officer of an agency the world lacks (a second receiving authority of a state...), committed in `session`:
    the headers the officer's requests carry."""
    create_agency(session, None, code=code, name=code, kind=kind, country=country)
    user = create_user(session, None, username=username, full_name=username, agency_code=code, role="officer",
                       password=PASSWORD)
    headers = {"Authorization": f"Bearer {create_token(session, user, name='tests', longest_days=90)}"}
    session.commit()
    return headers


_counter = itertools.count(1)


def _far_apart_birth_dates() -> list[str]:
    """Adults' birth dates (1984–1994: the reports' age group 30–44 for years yet), none a day of the month the
    12th or before (no other's day and month swapped), none the 1st of January (an unknown day), and any two at
    least two digits apart and not two neighbouring digits swapped (slips of a key, `cases.duplicates`)."""
    chosen: list[str] = []
    near: set[str] = set()
    for year, month, day in itertools.product(range(1984, 1995), range(1, 13), range(13, 29)):
        text = f"{year}-{month:02d}-{day:02d}"
        if text not in near:
            chosen.append(text)
            near.update(text[:i] + digit + text[i + 1:] for i in range(len(text)) if text[i].isdigit()
                        for digit in "0123456789")
            near.update(text[:i] + text[i + 1] + text[i] + text[i + 2:] for i in range(len(text) - 1)
                        if text[i].isdigit() and text[i + 1].isdigit())
    return chosen


_BIRTH_DATES = _far_apart_birth_dates()


def _birth_date(n: int) -> str:
    """A birth date of its own for each person the factory makes: people of one name and birth date, or of one name
    and birth dates a digit apart, are possible duplicates of one another (`cases.duplicates`), and every registration
    is compared with every record held, so a concern raised on one would hold all the others back
    (`_far_apart_birth_dates`; 232 people before a birth date comes again)."""
    return _BIRTH_DATES[n % len(_BIRTH_DATES)]


def case_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    payload: dict[str, Any] = {
        "agency_reference": f"T-{n:07d}", "given_names": "María José", "first_surname": "Peña",
        "second_surname": "Rodríguez", "sex": "F", "birth_date": _birth_date(n), "nationality": "VEN",
        "national_id": f"V{10_000_000 + n}", "held_at": "Estación Migratoria Siglo XXI, Tapachula",
        "nearest_airport": "TAP", "detained_since": (date.today() - timedelta(days=30)).isoformat(),
    }
    payload.update(overrides)
    for name in ("given_names", "first_surname", "second_surname"):
        if isinstance(payload.get(name), str):
            payload[name] = payload[name].translate(_DIGITS_AS_LETTERS)
    return payload


# A person's names hold no digits (`names.foreign_letters`, red team round 5, C-F1): a test's numbered person
# ("Persona 3") is registered with its number as a letter ("Persona D").
_DIGITS_AS_LETTERS = str.maketrans("0123456789", "ABCDEFGHIJ")


def registry_record(reference: str) -> str:
    """The tests' civil-registry record of a case: REG- and its reference with each letter written as a number (A 10
    to Z 35). Records are compared by their digits whatever letters are around them (`identifiers.
    registry_record_digits`), so REG-MX-2026-000001 and REG-US-2026-000001 would be one record."""
    return "REG-" + "".join(str(ord(char) - 55) if char.isalpha() else char for char in reference.upper())


def ok(response: Any, status: int | tuple[int, ...] = (200, 201)) -> Any:
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, response.text
    return response.json()


class Api:
    """Drives cases and flights through the REST API as each agency's user would.

    `clock` runs requests as if it were another moment: `clock_at` for an app in this thread's
    context (the TestClient), the served app's own clock for a server in another thread.
    """

    def __init__(self, client: TestClient, world: World,
                 clock: Callable[[datetime], AbstractContextManager[None]] = clock_at) -> None:
        self.client = client
        self.world = world
        self.clock = clock

    def post(self, user: str, path: str, body: Any = None) -> Any:
        return self.client.post(path, json=body, headers=self.world.headers(user))

    def get(self, user: str, path: str) -> Any:
        return self.client.get(path, headers=self.world.headers(user))

    def edit(self, method: str, user: str, path: str, body: Any) -> Any:
        """PATCH or PUT `path` as a client should: read it first, and send its ETag back in If-Match."""
        etag = self.get(user, path).headers.get("etag")
        headers = {**self.world.headers(user), **({"If-Match": etag} if etag else {})}
        return self.client.request(method, path, json=body, headers=headers)

    def patch(self, user: str, path: str, body: Any) -> Any:
        return self.edit("PATCH", user, path, body)

    def put(self, user: str, path: str, body: Any) -> Any:
        return self.edit("PUT", user, path, body)

    def register(self, user: str = "inm.officer", **overrides: Any) -> dict[str, Any]:
        """Register a case; in a household, unless the test says how, as its head when it has none yet."""
        household = overrides.get("household_reference")
        if household and "relationship_to_head" not in overrides:
            held = self.get(user, f"/api/v1/households/{household}")
            overrides["relationship_to_head"] = "other" if held.status_code == 200 and held.json()["members"] \
                else "head"
        return ok(self.post(user, "/api/v1/cases", case_payload(**overrides)), 201)

    def screen(self, ref: str, concerns: list[str] | None = None, user: str = "inm.officer",
               medical_escorts: int = 0) -> Any:
        return ok(self.post(user, f"/api/v1/cases/{ref}/screenings",
                            {"concerns": concerns or [], "medical_escorts": medical_escorts}), 201)

    def verify(self, ref: str, sender: str = "inm.officer", *, record: str | None = None) -> None:
        """Verify `ref` against its own registry record, or against `record`. A person has one registry record
        (`verification.service.PERSON_VERIFIED_ELSEWHERE`): where another record of the person is verified already,
        the one it is verified against, as the refusal names it."""
        request = ok(self.post(sender, f"/api/v1/cases/{ref}/verification-request"), 201)["request"]
        path = f"/api/v1/cases/{ref}/verification-decision"
        answer = self.post("saime.officer", path, {"outcome": "verified", "request": request,
                                                   "registry_record": record or registry_record(ref)})
        if record is None and answer.status_code == 409 and \
                answer.json()["error"]["code"] == "person_verified_other_record":
            theirs = re.findall(r"\(([^()]+)\)", answer.json()["error"]["params"]["elsewhere"])[0]
            answer = self.post("saime.officer", path, {"outcome": "verified", "registry_record": theirs,
                                                       "request": request})
        ok(answer, 201)

    def open_request(self, ref: str, user: str = "saime.officer") -> str:
        """The reference of the request about `ref` waiting in `user`'s verification queue."""
        queue = ok(self.get(user, "/api/v1/verification/queue?limit=500"))
        return str(next(entry["request"] for entry in queue if entry["case"]["reference"] == ref))

    def passport(self, case: dict[str, Any], expiry: date | None = None, user: str = "inm.officer") -> Any:
        return ok(self.passport_response(case, expiry, user), 201)

    def passport_response(self, case: dict[str, Any], expiry: date | None = None, user: str = "inm.officer") -> Any:
        """The answer to filing a new valid passport of `case` (whatever its status)."""
        # A number of 4 characters other than 0 or more (`identifiers.placeholder_document_number`: 100000001 is a 1
        # padded, red team round 18, R-F2).
        text = mrz.build_td3(document_code="P", issuing_state="VEN",
                             surnames=f"{case['first_surname']} {case['second_surname'] or ''}".strip(),
                             given_names=case["given_names"], document_number=f"1{next(_counter) + 25_000_000:08d}",
                             nationality="VEN", birth_date=date.fromisoformat(case["birth_date"]), sex=case["sex"],
                             expiry_date=expiry or date.today() + timedelta(days=1000))
        return self.post(user, f"/api/v1/cases/{case['reference']}/documents", {"mrz": text})

    def ready_case(self, sender: str = "inm.officer", **overrides: Any) -> dict[str, Any]:
        case = self.register(sender, **overrides)
        screened = self.post(sender, f"/api/v1/cases/{case['reference']}/screenings", {"concerns": []})
        if screened.status_code == 409 and screened.json()["error"]["code"] == "safeguard.children":
            # A minor with no adult of the household waiting is screened as an unaccompanied child; a supervisor's
            # resolution lets the case go on (travel still needs a best-interests determination).
            self.screen(case["reference"], ["unaccompanied_child"], user=sender)
            supervisor = sender.split(".")[0] + ".supervisor"
            ok(self.post(supervisor, f"/api/v1/cases/{case['reference']}/screenings/resolution",
                         {"decision": "travel_permitted", "reason": "Evaluado: viaja con determinación."}), 201)
        else:
            ok(screened, 201)
        self.verify(case["reference"], sender)
        result = self.passport(case, user=sender)
        assert result["case_state"] == "ready", result
        return case

    def flight(self, origin: str | None = None, seats: int = 180, escorts: int = 10, medical_staff: int = 1,
               days_ahead: int = 10, user: str = "inm.officer", accept: bool = True,
               departure: datetime | None = None) -> dict[str, Any]:
        departure = departure or datetime.now(UTC).replace(microsecond=0) + timedelta(days=days_ahead)
        # From an airport of the sending state: Mexico's Tapachula, or Harlingen in the United States.
        origin = origin or ("HRL" if user.startswith("ice.") else "TAP")
        flight = ok(self.post(user, "/api/v1/flights", {
            "flight_number": next_flight_number(),
            "receiving_agency": "VE-SAIME", "carrier": "CONVIASA", "seats": seats,
            "origin": origin, "destination": "CCS", "departure_utc": departure.isoformat(),
            "arrival_utc": (departure + timedelta(hours=5)).isoformat(), "escorts": escorts,
            "medical_staff": medical_staff}), 201)
        if accept:
            flight = ok(self.post("saime.officer", f"/api/v1/flights/{flight['reference']}/accept"))
        return flight

    def build_manifest(self, refs: list[str], *, departure: datetime, origin: str = "TAP") -> str:
        """A flight departing at `departure` with `refs` approved and locked, built two days before it."""
        with self.clock(departure - timedelta(days=2)):
            ref: str = self.flight(origin=origin, departure=departure)["reference"]
            ok(self.post("inm.officer", f"/api/v1/flights/{ref}/passengers", {"cases": refs}), 201)
            ok(self.post("inm.officer", f"/api/v1/flights/{ref}/manifest/propose"))
            for case_ref in refs:
                ok(self.post("saime.officer", f"/api/v1/flights/{ref}/passengers/{case_ref}/decision",
                             {"approve": True}))
            ok(self.post("saime.officer", f"/api/v1/flights/{ref}/manifest/lock"))
        return ref

    def arrived_family(self, household: str, child_years: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """A parent and a child of `child_years` of `household`, made ready and flown together to 'arrived'."""
        adult = self.ready_case(given_names="Madre", household_reference=household, relationship_to_head="head")
        child = self.ready_case(given_names="Niño", household_reference=household, relationship_to_head="child",
                                birth_date=(date.today() - timedelta(days=child_years * 366)).isoformat())
        self.fly_to_arrival([adult, child])
        return adult, child

    def fly_to_arrival(self, cases: list[dict[str, Any]], origin: str = "TAP") -> list[dict[str, Any]]:
        """Ready cases taken through one whole flight from `origin` to 'arrived', each step at its time.

        The flight was scheduled to leave three hours ago on a five-hour flight: its manifest was
        built two days before, boarding an hour before departure, which was on time; it lands and
        its passengers are received now (SPEC.md section 4.9).
        """
        departure = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        refs = [c["reference"] for c in cases]
        ref = self.build_manifest(refs, departure=departure, origin=origin)
        with self.clock(departure - timedelta(hours=1)):
            for case_ref in refs:
                ok(self.post("inm.officer", f"/api/v1/flights/{ref}/passengers/{case_ref}/boarding",
                             {"status": "boarded"}))
        with self.clock(departure):
            ok(self.post("inm.officer", f"/api/v1/flights/{ref}/depart"))
        ok(self.post("saime.officer", f"/api/v1/flights/{ref}/landing"))
        for case_ref in refs:
            ok(self.post("saime.officer", f"/api/v1/flights/{ref}/passengers/{case_ref}/arrival"))
        return cases

    def arrive(self, count: int = 1, *, name: str = "Returnee", **overrides: Any) -> list[dict[str, Any]]:
        """`count` new cases, made ready and flown to 'arrived'."""
        return self.fly_to_arrival([self.ready_case(**{"given_names": f"{name} {i}", **overrides})
                                    for i in range(count)])
