"""The demo scenario of SPEC.md section 1, built through the same actions officials use.

Mexico's migration institute and foreign ministry and the US enforcement agency hold
Venezuelan nationals in Tapachula, Villahermosa, Mexico City and Harlingen; Venezuela's
identity service verifies them; flights TAP→CCS, VSA→CCS and HRL→CCS carry them home;
reintegration operators offer projects and internships. Past flights are replayed with
the clock set to their dates, so the audit trail, states and counts are all real.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.agencies.service import create_agency, create_user
from retorno.audit.signing import signing_key
from retorno.cases.models import Case
from retorno.cases.service import CaseInput, register_case
from retorno.config import Settings
from retorno.datakeys import keyring_for
from retorno.db import analyze_written, clock_at, make_sessionmaker, transaction, utcnow
from retorno.demo.reintegration import build_reintegration
from retorno.demo.summary import DemoSummary, FlightFigures
from retorno.demo.verification import link_waiting_requests
from retorno.documents import mrz
from retorno.documents.service import issue_emergency_document
from retorno.flights import service as flights
from retorno.flights.lifecycle import DepartureWindow
from retorno.installation import installation_engine
from retorno.migrations import rebuild_postgresql, upgrade
from retorno.safeguards import is_minor
from retorno.screening.service import left_alone, record_best_interests, resolve_screening
from retorno.synthetic.people import PopulationSampler, named_document_number
from retorno.travel.service import add_document, record_screening
from retorno.verification.linkage import Thresholds
from retorno.verification.service import open_request, record_decision, request_verification

AGENCIES = [
    ("MX-INM", "Instituto Nacional de Migración", "sending_authority", "MEX", None, "inm"),
    ("MX-SRE", "Secretaría de Relaciones Exteriores", "sending_authority", "MEX", None, "sre"),
    ("US-ICE", "U.S. Immigration and Customs Enforcement", "sending_authority", "USA", None, "ice"),
    ("VE-SAIME", "Servicio Administrativo de Identificación, Migración y Extranjería", "receiving_authority",
     "VEN", None, "saime"),
    ("VE-MPPT", "Ministerio del Poder Popular para el Transporte", "receiving_authority", "VEN", None, "mppt"),
    ("CONVIASA", "Consorcio Venezolano de Industrias Aeronáuticas y Servicios Aéreos", "carrier", "VEN", "V0",
     "conviasa"),
    ("VE-VUELTA", "Plan Vuelta a la Patria — programa de reinserción", "reintegration_operator", "VEN", None,
     "vuelta"),
    ("VE-FUNDAPRO", "Fundación Emprende Retorno (ONG)", "reintegration_operator", "VEN", None, "fundapro"),
    ("MON-DDP", "Defensoría del Pueblo (observador)", "monitor", "VEN", None, "monitor"),
    ("RET-ADMIN", "Operación del sistema Retorno", "administrator", "VEN", None, "admin"),
]

# (facility, airport, sending agency, share of cases)
FACILITIES = [
    ("Estación Migratoria Siglo XXI, Tapachula", "TAP", "MX-INM", 0.35),
    ("Estación Migratoria Villahermosa", "VSA", "MX-INM", 0.25),
    ("Estación Migratoria Las Agujas, Ciudad de México", "MEX", "MX-INM", 0.20),
    ("Port Isabel Service Processing Center, Harlingen", "HRL", "US-ICE", 0.20),
]
HOUSEHOLD_SIZES = [(1, 0.45), (2, 0.15), (3, 0.15), (4, 0.12), (5, 0.08), (6, 0.05)]

# The demo's own registry records of people without a cédula: REG- and ten digits (`_prepare`).
_DEMO_RECORDS = 9_000_000_000


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    agency: str
    role: str


def _reset_schema(url: str) -> None:
    """Start the demo from nothing: the SQLite file removed, or the server database's schema emptied."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        rebuild_postgresql(url)
        return
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
    upgrade(url)


def _users(session: Session) -> tuple[list[DemoLogin], dict[str, User]]:
    logins, users = [], {}
    for code, name, kind, country, carrier_code, short in AGENCIES:
        create_agency(session, None, code=code, name=name, kind=kind, country=country, carrier_code=carrier_code)
        roles = ("supervisor",) if kind == "administrator" else ("viewer", "officer", "supervisor")
        for role in roles:
            label = {"viewer": "consulta", "officer": "oficial", "supervisor": "supervisor"}[role]
            username = f"{short}.{label}"
            password = secrets.token_urlsafe(9)
            users[username] = create_user(session, None, username=username, full_name=f"{short.upper()} {label}",
                                          agency_code=code, role=role, password=password)
            logins.append(DemoLogin(username, password, code, role))
    return logins, users


def _people(rng: random.Random, sampler: PopulationSampler, count: int, today: date,
            numbers: dict[str, int], held: tuple[str, str, str] | None = None) -> list[dict[str, object]]:
    """Venezuelan-looking people grouped in households, each with a facility and a detention date.

    A family is detained together: same facility, same day. `held` (facility, airport, agency)
    places the whole batch; otherwise each household draws its facility. `numbers` holds the last
    household number used per agency, so that numbers never repeat from one batch to the next.
    """
    drawn = sampler.sample_people(count)
    people: list[dict[str, object]] = []
    index = 0
    while index < count:
        size = rng.choices([s for s, _ in HOUSEHOLD_SIZES], [w for _, w in HOUSEHOLD_SIZES])[0]
        size = min(size, count - index)
        facility, airport, agency = held or rng.choices([f[:3] for f in FACILITIES], [f[3] for f in FACILITIES])[0]
        detained = today - timedelta(days=rng.randint(1, 90))
        household = None
        if size > 1:
            numbers[agency] = numbers.get(agency, 0) + 1
            household = f"H{numbers[agency]:05d}"
        # The head, a spouse in households of three or more, and children born at least 17 years after
        # the younger parent.
        parents = [rng.randint(19, 55)] + ([rng.randint(19, 50)] if size > 2 else [])
        head = drawn[index]
        for member in range(size):
            person = dict(drawn[index])
            if member < len(parents):
                age = parents[member]
            else:
                age = rng.randint(0, min(17, min(parents) - 18))
                person["first_surname"] = head["first_surname"]
            # Born before the family was detained (detention started at most 90 days ago).
            person["birth_date"] = today - timedelta(days=age * 365 + rng.randint(100, 364))
            person.update(facility=facility, airport=airport, agency=agency, detained=detained, household=household,
                          relationship=("titular", "conyuge")[member] if member < len(parents) else "hijo")
            people.append(person)
            index += 1
    return people


def _register(session: Session, users: dict[str, User], people: list[dict[str, object]],
              summary: DemoSummary) -> list[Case]:
    officer = {"MX-INM": users["inm.oficial"], "US-ICE": users["ice.oficial"]}
    cases = []
    households = {(p["agency"], p["household"]) for p in people if p["household"] is not None}
    summary.households.update(str(agency) for agency, _ in households)
    summary.household_members.update(str(p["agency"]) for p in people if p["household"] is not None)
    summary.cases.update(str(p["agency"]) for p in people)
    first = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one() + 1
    for n, p in enumerate(people, start=first):
        agency = str(p["agency"])
        cases.append(register_case(session, officer[agency], CaseInput(
            agency_reference=f"{'INM' if agency == 'MX-INM' else 'A'}-{n:06d}",
            given_names=str(p["given_names"]).title(), first_surname=str(p["first_surname"]).title(),
            second_surname=str(p["second_surname"]).title(), sex=str(p["sex"]),
            birth_date=p["birth_date"],  # type: ignore[arg-type]
            place_of_birth=str(p["birth_state"]).title(), country_of_birth="VEN", nationality="VEN",
            national_id=str(p["cedula"]).replace("-", ""), held_at=str(p["facility"]),
            nearest_airport=str(p["airport"]), detained_since=p["detained"],  # type: ignore[arg-type]
            household_reference=p["household"], relationship_to_head=str(p["relationship"]),  # type: ignore[arg-type]
        )))
    return cases


CONCERN_MIX = [("pending_asylum_claim", 0.35), ("medical_condition", 0.25), ("pregnancy", 0.15),
               ("trafficking_victim", 0.1), ("disability", 0.15)]


def _by_household(cases: list[Case]) -> list[list[Case]]:
    groups: dict[object, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.household_id or f"single-{case.id}", []).append(case)
    return list(groups.values())


def _prepare(session: Session, rng: random.Random, users: dict[str, User], cases: list[Case],
             today: date, summary: DemoSummary) -> None:
    """Screen, verify and document most households, leaving a realistic spread of states and concerns.

    A household moves as one: its members are screened, sent for verification and documented
    together, and a member whose concern stays open keeps the whole household off the flights
    (`ready_households`). The receiving side rejects only people who are alone: a family with
    one member found not to be a national would stay together, which the demo does not show.
    """
    saime = users["saime.oficial"]
    for household in _by_household(cases):
        roll = rng.random()
        if roll < 0.08:
            continue  # just registered
        for case in household:
            officer = users["inm.oficial" if case.agency.code == "MX-INM" else "ice.oficial"]
            supervisor = users["inm.supervisor" if case.agency.code == "MX-INM" else "ice.supervisor"]
            concerns: list[str] = []
            if rng.random() < 0.06:
                concerns = [rng.choices([c for c, _ in CONCERN_MIX], [w for _, w in CONCERN_MIX])[0]]
            # A minor with no adult of the household waiting, by the service's own reading (`left_alone`): a birth
            # date another record of the person declares counts, as the screening reads it (it refuses to say none:
            # the demo's build failed now and then, as the order in which records are linked varies from run to run).
            if left_alone(session, [case], today):
                concerns = ["unaccompanied_child"]
            record_screening(session, officer, case, concerns=concerns,
                             notes="Entrevista de protección en la estación migratoria." if concerns else None,
                             medical_escorts=1 if concerns == ["medical_condition"] else 0)
            summary.screened += 1
            summary.screened_with_concern += bool(concerns)
            if concerns and rng.random() < 0.5 and concerns != ["pending_asylum_claim"]:
                if concerns == ["unaccompanied_child"]:
                    record_best_interests(session, supervisor, case,
                                          summary="Determinación del interés superior: reunificación familiar.",
                                          receiving_guardian="Consejo de Protección de Niños, Niñas y "
                                                             "Adolescentes, Caracas")
                resolve_screening(session, supervisor, case, decision="travel_permitted",
                                  reason="Revisado por supervisión: el retorno voluntario es seguro.")
                summary.concerns_resolved += 1
        if roll < 0.16:
            continue  # screened only
        for case in household:
            if case.state == "screened":
                request_verification(session, users["inm.oficial" if case.agency.code == "MX-INM"
                                                     else "ice.oficial"], case)
        if roll < 0.30:
            continue  # waiting in the receiving side's queue
        for case in household:
            if case.state != "verification_requested":
                continue
            # SAIME decides on the request it reads, as its pages and API do.
            asked = open_request(session, saime, case).reference
            if len(household) == 1 and rng.random() < 0.02:
                record_decision(session, saime, case, outcome="rejected", request_reference=asked,
                                reason="Sin registro de nacimiento ni cédula en el registro civil.")
                summary.rejected += 1
                continue
            record_decision(session, saime, case, outcome="verified", method="manual", request_reference=asked,
                            # Records are compared by their digits (`identifiers.registry_record_digits`): the
                            # demo's own, of ten digits, are no cédula's (nine at most) nor a registry integer id.
                            registry_record=case.national_id or f"REG-{_DEMO_RECORDS + case.id}")
            summary.verified_by_hand += 1
            if rng.random() < 0.55 and not is_minor(case.birth_date, today):
                number = named_document_number(f"{rng.randint(100000000, 199999999)}")
                text = mrz.build_td3(document_code="P", issuing_state="VEN",
                                     surnames=f"{case.first_surname} {case.second_surname or ''}".strip(),
                                     given_names=case.given_names, document_number=number, nationality="VEN",
                                     birth_date=case.birth_date, sex=case.sex,
                                     expiry_date=today + timedelta(days=rng.randint(60, 3000)))
                add_document(session, users["inm.oficial" if case.agency.code == "MX-INM" else "ice.oficial"],
                             case, mrz_text=text)
                summary.passports += 1
            else:
                issue_emergency_document(session, saime, case)
                summary.emergency_documents += 1


def propose(session: Session, users: dict[str, User], settings: Settings, *, origin: str, number: str,
            departure: datetime, sender: str) -> flights.Flight:
    return flights.propose_flight(session, users[sender], flights.FlightInput(
        flight_number=number, receiving_agency="VE-SAIME", carrier="CONVIASA", seats=180, origin=origin,
        destination="CCS", departure_utc=departure, arrival_utc=departure + timedelta(hours=5), escorts=20,
        medical_staff=2))


def ready_households(session: Session, airport: str, limit: int) -> list[Case]:
    """Whole households, every member ready, held near `airport`, longest-waiting first, up to `limit`."""
    ready = session.execute(sa.select(Case).where(Case.state == "ready", Case.nearest_airport == airport)
                            .order_by(Case.detained_since, Case.id)).scalars().all()
    groups = _by_household(list(ready))
    chosen: list[Case] = []
    for group in groups:
        if group[0].household_id is not None:
            # Every member, whatever their state: a family whose member is held back stays together.
            members = session.execute(sa.select(sa.func.count()).select_from(Case).where(
                Case.household_id == group[0].household_id)).scalar_one()
            if members != len(group):
                continue
        adults = [c for c in group if not is_minor(c.birth_date, utcnow().date())]
        if not adults and any(is_minor(c.birth_date, utcnow().date()) for c in group):
            continue
        if len(chosen) + len(group) > limit:
            break
        chosen.extend(group)
    return chosen


# How far `fly` takes a flight: its manifest proposed, locked, the flight departed, or arrived.
FLIGHT_STEPS = ("proposed", "locked", "departed", "arrived")


def fly(session: Session, users: dict[str, User], settings: Settings, flight: flights.Flight,
        cases: list[Case], *, until: str = "arrived") -> None:
    """Take a flight through approval, locking, boarding, departure and arrival, or up to step `until`.

    Run under `clock_at` a little before the scheduled departure; boarding, departure and landing
    then happen at their own times around it, as they did (SPEC.md section 4.9).
    """
    if until not in FLIGHT_STEPS:
        raise ValueError(f"until is one of {', '.join(FLIGHT_STEPS)}")
    ppe = settings.passengers_per_escort
    flights.accept_flight(session, users["saime.oficial"], flight)
    sender = users["inm.oficial" if flight.origin != "HRL" else "ice.oficial"]
    flights.add_passengers(session, sender, flight, cases, passengers_per_escort=ppe, lock_hours=0)
    flights.propose_manifest(session, sender, flight, passengers_per_escort=ppe)
    if until == "proposed":
        return
    for case in cases:
        flights.decide_passenger(session, users["saime.oficial"], flight, case, approve=True)
    flights.lock_manifest(session, users["saime.oficial"], flight, passengers_per_escort=ppe)
    if until == "locked":
        return
    window = DepartureWindow.of(settings)
    for case in cases:
        flights.record_boarding(session, sender, flight, case, status="boarded", window=window)
    with clock_at(flight.departure_utc + timedelta(minutes=20)):
        flights.depart(session, sender, flight, window=window)
    if until == "departed":
        return
    landed = flight.arrival_utc + timedelta(minutes=10)
    with clock_at(landed):
        flights.record_landing(session, users["saime.oficial"], flight)
    with clock_at(landed + timedelta(minutes=40)):
        for case in cases:
            flights.confirm_arrival(session, users["saime.oficial"], flight, case)


def _figures(flight: flights.Flight, manifested: int, *, flown: bool) -> FlightFigures:
    return FlightFigures(flight.reference, flight.flight_number, flight.origin, flight.destination,
                         flight.departure_utc.date(), flight.state, manifested, manifested if flown else 0,
                         manifested if flown else 0)


def build_demo(settings: Settings, *, cases: int = 2000, seed: int = 2023) -> tuple[list[DemoLogin], DemoSummary]:
    """Build a fresh demo database; return the demo logins (printed once, used only here) and what was built."""
    _reset_schema(settings.database_url)
    rng = random.Random(seed)
    sampler = PopulationSampler(seed)
    engine = installation_engine(settings.database_url, data_keys=keyring_for(settings),
                                 audit_signer=signing_key(settings),
                                 passengers_per_escort=settings.passengers_per_escort,
                                 lock_hours=settings.lock_hours_before_departure)
    now = utcnow()
    summary = DemoSummary()
    # The last household number of each agency: numbers never restart from one batch to the next.
    numbers: dict[str, int] = {}
    try:
        with transaction(make_sessionmaker(engine)) as session:
            logins, users = _users(session)
            # History first: a flight five months ago and one twelve days ago, replayed at their dates.
            for days_ago, origin, number, count in ((150, "TAP", "V0 3101", 150), (12, "VSA", "V0 3102", 140)):
                past = now - timedelta(days=days_ago + 3)
                with clock_at(past):
                    facility = next(f[0] for f in FACILITIES if f[1] == origin)
                    people = _people(rng, sampler, count + 40, past.date(), numbers, (facility, origin, "MX-INM"))
                    batch = _register(session, users, people, summary)
                    analyze_written(session)
                    _prepare(session, rng, users, batch, past.date(), summary)
                departure = datetime.combine(past.date() + timedelta(days=3), time(14, 0), tzinfo=UTC)
                with clock_at(departure - timedelta(days=2)):
                    flight = propose(session, users, settings, origin=origin, number=number, departure=departure,
                                     sender="inm.oficial")
                    passengers = ready_households(session, origin, count)
                with clock_at(departure - timedelta(hours=2)):
                    fly(session, users, settings, flight, passengers)
                summary.flights.append(_figures(flight, len(passengers), flown=True))
            # The people waiting now were registered, screened and verified some days ago, before the flight now
            # boarding was proposed and locked: every case's timeline reads in the order things happened (red team
            # round 44b, F7: registered at the demo's start, its passengers were manifested the day before).
            registered = now - timedelta(days=5)
            with clock_at(registered):
                current = _register(session, users, _people(rng, sampler, cases, registered.date(), numbers),
                                    summary)
                analyze_written(session)
                _prepare(session, rng, users, current, registered.date(), summary)
            # The receiving side links the requests still waiting against its civil registry.
            with clock_at(registered + timedelta(days=1)):
                analyze_written(session)
                linked = link_waiting_requests(session, rng, users["saime.oficial"], Path(settings.data_dir),
                                               Thresholds.from_settings(settings), seed=seed * 31 + 17)
            summary.linkage.update({"verified": linked.verified, "review": linked.review,
                                    "not_found": linked.not_found})
            # A flight boarding now: its manifest approved and locked yesterday, departing in three hours, so that
            # the carrier's gate, the departure and then the arrival desk can be tried on the demo as they are.
            boarding = (now + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
            with clock_at(boarding - timedelta(days=3)):
                gate = propose(session, users, settings, origin="VSA", number="V0 3106", departure=boarding,
                               sender="inm.oficial")
            ready_vsa = ready_households(session, "VSA", 40)
            if ready_vsa:
                with clock_at(boarding - timedelta(hours=30)):
                    fly(session, users, settings, gate, ready_vsa, until="locked")
            summary.flights.append(_figures(gate, len(ready_vsa), flown=False))
            departure = datetime.combine(now.date() + timedelta(days=6), time(15, 0), tzinfo=UTC)
            tap = propose(session, users, settings, origin="TAP", number="V0 3103", departure=departure,
                          sender="inm.oficial")
            flights.accept_flight(session, users["saime.oficial"], tap)
            ready_tap = ready_households(session, "TAP", 120)
            flights.add_passengers(session, users["inm.oficial"], tap, ready_tap,
                                   passengers_per_escort=settings.passengers_per_escort,
                                   lock_hours=settings.lock_hours_before_departure)
            summary.flights.append(_figures(tap, len(ready_tap), flown=False))
            for origin, number, sender, days in (("VSA", "V0 3104", "inm.oficial", 2),
                                                 ("HRL", "V0 3105", "ice.oficial", 4)):
                later = propose(session, users, settings, origin=origin, number=number,
                                departure=departure + timedelta(days=days), sender=sender)
                summary.flights.append(_figures(later, 0, flown=False))
            build_reintegration(session, rng, users, summary)
    finally:
        engine.dispose()
    return logins, summary
