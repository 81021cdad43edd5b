"""Many officials at once: the served API under Locust on PostgreSQL (`retorno bench load`, issue 17 item 2).

The database is the demo (`demo.build`: agencies, households, screenings, verifications, documents, flights
flown and to come, reintegration, all through the officials' own actions and on the audit trail), grown
to the size asked with registered cases in bulk (`synthetic.work.fill_cases`, the generator of `retorno bench
web`), and the work of the day staged the same way as the demo flies its flights (`demo.build.fly`):
manifests proposed for the receiving side to decide, a locked flight at the door, a flight in the air;
returnees waiting to consent and to be enrolled. Each simulated official gets an account of their own.

Then `retorno serve --workers N` serves it on loopback and Locust (`benchmarks.locustfile`, headless, in a process
of its own) runs the officials for the time asked, each logged in with a bearer token. Afterwards the
service is stopped and the database is checked by code that did not write it: `demo.check` re-decides
every safeguard over the whole database with its own queries, and `retorno audit verify` re-derives the
audit chain and its signatures.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from retorno import names
from retorno.agencies.models import Agency, User
from retorno.agencies.service import create_user
from retorno.audit.models import AuditRecord
from retorno.cases.models import Case
from retorno.config import Settings
from retorno.db import analyze_written, clock_at, utcnow
from retorno.demo.build import build_demo, fly, propose, ready_households
from retorno.demo.check import check_demo, format_report
from retorno.flights.models import Flight
from retorno.installation import unit_of_work
from retorno.reintegration.models import IntakeProfile
from retorno.reintegration.service import record_consent
from retorno.safeguards import is_minor
from retorno.synthetic.work import fill_cases

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATABASE = "retorno_bench_load"
# Who the simulated officials are, in the order they are started: every ten, three sending officers,
# three receiving officers, and one each of the carrier, a reintegration operator, a sending supervisor
# and a monitor. The first six cover every role.
ROLE_ORDER = ("sending_officer", "receiving_officer", "carrier_officer", "operator", "sending_supervisor", "monitor",
              "sending_officer", "receiving_officer", "sending_officer", "receiving_officer")
# Per role: the agencies its officials belong to (taken in turn), their role, and the start of their usernames.
ACCOUNTS = {
    "sending_officer": (("MX-INM",), "officer", "inm.oficial"),
    "sending_supervisor": (("MX-INM",), "supervisor", "inm.supervisor"),
    "receiving_officer": (("VE-SAIME",), "officer", "saime.oficial"),
    "carrier_officer": (("CONVIASA",), "officer", "conviasa.oficial"),
    "operator": (("VE-VUELTA", "VE-FUNDAPRO"), "officer", "oficial"),
    "monitor": (("MON-DDP",), "viewer", "monitor.consulta"),
}
OPERATOR_PREFIX = {"VE-VUELTA": "vuelta", "VE-FUNDAPRO": "fundapro"}
# The demo builds this many cases of its own (besides its two flown flights) per 50 cases asked, within
# these bounds; the rest are registered cases in bulk.
DEMO_SHARE, DEMO_MIN, DEMO_MAX = 50, 120, 2000
# A staged flight carries at most this many passengers, in whole households; each kind of staged work
# (manifest to decide, flight at the door, flight in the air) at most STAGE_CAP passengers.
FLIGHT_PASSENGERS, STAGE_CAP = 120, 360
SENDING_AIRPORTS = ("TAP", "VSA", "MEX")
READ_P95_MS, WRITE_P95_MS = 300, 500
# With `reuse`, the world built once is kept in this database and folder and each run works on a copy of it
# (PostgreSQL's CREATE DATABASE ... TEMPLATE, seconds instead of minutes). The staged flights are timed from
# when they were built (at the door: departing in two hours; in the air: left four hours ago), so a world
# older than this is built again.
WORLD_DATABASE = f"{DEFAULT_DATABASE}_world"
WORLD_MAX_AGE = timedelta(hours=2)
PASSWORD_BYTES = 12


def role_counts(users: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in range(users):
        role = ROLE_ORDER[n % len(ROLE_ORDER)]
        counts[role] = counts.get(role, 0) + 1
    return counts


@dataclasses.dataclass
class World:
    """What the benchmark built: the plan handed to Locust and the figures of the build."""

    plan: dict[str, Any]
    demo_cases: int
    bulk_cases: int
    staged: dict[str, int]


def _accounts(session: Session, counts: dict[str, int], rng: random.Random) -> dict[str, list[dict[str, str]]]:
    """An account of their own for every simulated official, created as an administrator would (audited)."""
    logins: dict[str, list[dict[str, str]]] = {}
    for role, count in counts.items():
        agencies, kind, start = ACCOUNTS[role]
        for n in range(count):
            agency = agencies[n % len(agencies)]
            prefix = f"{OPERATOR_PREFIX[agency]}.{start}" if role == "operator" else start
            username = f"{prefix}.load{n + 1:02d}"
            password = rng.randbytes(PASSWORD_BYTES).hex()
            create_user(session, None, username=username, full_name=f"{username} (bench)", agency_code=agency,
                        role=kind, password=password)
            logins.setdefault(role, []).append({"username": username, "password": password})
    return logins


def _households(cases: list[Case]) -> list[list[Case]]:
    """`ready_households`' cases grouped back into their households, adults first (the oldest first)."""
    groups: dict[object, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.household_id or f"single-{case.id}", []).append(case)
    return [sorted(group, key=lambda c: (c.birth_date, c.id)) for group in groups.values()]


def _flight_loads(session: Session) -> list[tuple[str, list[list[Case]]]]:
    """Every ready household of the sending agency, packed into flight loads from its nearest airport.

    A load is FLIGHT_PASSENGERS at most, and small enough that there are at least two of each kind.
    """
    ready = {airport: _households(ready_households(session, airport, 1_000_000)) for airport in SENDING_AIRPORTS}
    people = sum(len(household) for households in ready.values() for household in households)
    size = max(4, min(FLIGHT_PASSENGERS, people // 6))
    loads: list[tuple[str, list[list[Case]]]] = []
    for airport, households in ready.items():
        load: list[list[Case]] = []
        for household in households:
            if load and sum(map(len, load)) + len(household) > size:
                loads.append((airport, load))
                load = []
            load.append(household)
        if load:
            loads.append((airport, load))
    return loads


def _stage_flights(session: Session, users: dict[str, User], settings: Settings) -> dict[str, list[Any]]:
    """The flights of the day, through the demo's own steps: manifests proposed, at the door, in the air.

    The loads are dealt in turn to the three kinds, each up to STAGE_CAP passengers; flights in the air
    left four hours ago (replayed at their times), so that they may land now.
    """
    now = utcnow()
    staged: dict[str, list[Any]] = {"approve": [], "board": [], "land": []}
    carried = dict.fromkeys(staged, 0)
    kinds = list(staged)
    for number, (airport, load) in enumerate(_flight_loads(session)):
        open_kinds = [k for k in kinds if carried[k] < STAGE_CAP]
        if not open_kinds:
            break
        kind = open_kinds[number % len(open_kinds)]
        people = [case for household in load for case in household]
        carried[kind] += len(people)
        flight_number = f"V0 {5001 + number}"
        if kind == "approve":
            departure = now + timedelta(days=3, hours=number)
            flight = propose(session, users, settings, origin=airport, number=flight_number, departure=departure,
                             sender="inm.oficial")
            fly(session, users, settings, flight, people, until="proposed")
            staged[kind].append({"flight": flight.reference, "passengers": [c.reference for c in people]})
        elif kind == "board":
            departure = now + timedelta(hours=2, minutes=number)
            # Proposed days before, as a flight is (none is proposed inside its manifest's lock time).
            with clock_at(departure - timedelta(days=2)):
                flight = propose(session, users, settings, origin=airport, number=flight_number,
                                 departure=departure, sender="inm.oficial")
            fly(session, users, settings, flight, people, until="locked")
            staged[kind].append({"flight": flight.reference,
                                 "households": [[c.reference for c in household] for household in load]})
        else:
            departure = now - timedelta(hours=4, minutes=number)
            with clock_at(departure - timedelta(days=2)):
                flight = propose(session, users, settings, origin=airport, number=flight_number,
                                 departure=departure, sender="inm.oficial")
            with clock_at(departure - timedelta(hours=2)):
                fly(session, users, settings, flight, people, until="departed")
            staged[kind].append({"flight": flight.reference, "passengers": [
                {"case": c.reference, "adult": not is_minor(c.birth_date, now.date())} for c in people]})
        staged.setdefault("cedulas", []).extend(c.national_id for c in people if c.national_id)
    return staged


def _returnees(session: Session, receiver: User) -> tuple[list[str], list[str]]:
    """Adults received home and not yet asked: half consent now (for the operators to enrol), half wait."""
    today = utcnow().date()
    waiting = [case for case in session.execute(
        sa.select(Case).outerjoin(IntakeProfile, IntakeProfile.case_id == Case.id)
        .where(Case.state == "arrived", IntakeProfile.id.is_(None)).order_by(Case.id)).scalars()
        if not is_minor(case.birth_date, today)]
    for case in waiting[::2]:
        record_consent(session, receiver, case)
    return [c.reference for c in waiting[1::2]], [c.reference for c in waiting[::2]]


def _samples(session: Session, agency_id: int, rng: random.Random) -> dict[str, list[str]]:
    """What the officials look for: names, cédulas and references of the sending agency's cases, and places."""
    rows = session.execute(sa.select(Case.reference, Case.given_names, Case.first_surname, Case.national_id)
                           .where(Case.agency_id == agency_id).order_by(sa.func.random()).limit(600)).all()
    places = sorted({held.rsplit(" ", 1)[-1].strip(",") for held in session.execute(
        sa.select(Case.held_at).where(Case.agency_id == agency_id).distinct()).scalars()})
    return {
        "names": [f"{given.split()[0]} {surname}" for _, given, surname, _ in rows[:300]],
        "cedulas": [cedula for *_, cedula in rows[300:] if cedula],
        "cases": [reference for reference, *_ in rows],
        "places": [names.fold(place) for place in places] or ["tapachula"],
    }


def build_world(settings: Settings, *, cases: int, counts: dict[str, int], seed: int = 1) -> World:
    """The demo grown to `cases` cases, the accounts of the officials and the work of the day."""
    core = min(DEMO_MAX, max(DEMO_MIN, cases // DEMO_SHARE))
    build_demo(settings, cases=core, seed=seed)
    rng = random.Random(seed)
    with unit_of_work(settings) as session:
        users = {u.username: u for u in session.execute(sa.select(User)).scalars()}
        demo_cases = session.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
        bulk = max(0, cases - demo_cases)
        if bulk:
            fill_cases(session, users["inm.oficial"], users["saime.oficial"], bulk, rng, states={"registered": 1})
            analyze_written(session)
        logins = _accounts(session, counts, rng)
        staged = _stage_flights(session, users, settings)
        consent, intake = _returnees(session, users["saime.oficial"])
        inm = session.execute(sa.select(Agency.id).where(Agency.code == "MX-INM")).scalar_one()
        samples = _samples(session, inm, rng)
        carrier = session.execute(sa.select(Agency.id).where(Agency.code == "CONVIASA")).scalar_one()
        flights = session.execute(sa.select(Flight.reference, Flight.state, Flight.carrier_agency_id)).all()
        registered = session.execute(sa.select(sa.func.count()).select_from(Case)
                                     .where(Case.state == "registered")).scalar_one()
    _analyze(settings.database_url)
    plan = {
        "logins": logins, **samples, "registered": registered,
        "approve": staged["approve"], "board": staged["board"], "land": staged["land"],
        "staged_cedulas": staged.get("cedulas", []), "consent": consent, "intake": intake,
        "flights": [ref for ref, *_ in flights],
        "carrier_flights": [ref for ref, state, agency in flights
                            if agency == carrier and state == "manifest_locked"] or [ref for ref, *_ in flights],
    }
    return World(plan, demo_cases, bulk, {
        "manifest_passengers_to_decide": sum(len(f["passengers"]) for f in staged["approve"]),
        "households_at_the_door": sum(len(f["households"]) for f in staged["board"]),
        "passengers_in_the_air": sum(len(f["passengers"]) for f in staged["land"]),
        "returnees_to_ask": len(consent), "returnees_to_enrol": len(intake)})


def _analyze(url: str) -> None:
    """What autovacuum does soon after a bulk load: statistics for the planner."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


@contextlib.contextmanager
def server_database(name: str, admin_url: str = ADMIN_URL, *, keep: bool = False,
                    template: str | None = None) -> Iterator[str]:
    """A fresh database `name` on the PostgreSQL server of `admin_url` (a copy of `template` if named);
    dropped afterwards unless `keep`."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        copy = f' TEMPLATE "{template}"' if template else ""
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _retorno(*args: str) -> list[str]:
    """The `retorno` command line of this interpreter."""
    return [sys.executable, "-c", "from retorno.cli.main import app; app(prog_name='retorno')", *args]


@contextlib.contextmanager
def served(settings: Settings, workers: int, log: Path) -> Iterator[str]:
    """`retorno serve --workers N` on a free loopback port, until it answers /readyz; stopped by SIGTERM."""
    port = _free_port()
    env = {**os.environ, "RETORNO_DATA_DIR": str(settings.data_dir), "RETORNO_DATABASE_URL": settings.database_url}
    with log.open("wb") as output:
        server = subprocess.Popen(_retorno("serve", "--workers", str(workers), "--port", str(port),
                                           "--log-level", "warning"), env=env, stdout=output, stderr=output,
                                  start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"the service stopped on its own: {log.read_text()[-2000:]}")
                with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the service was not ready within 180 s: {log.read_text()[-2000:]}")
                time.sleep(0.5)
            yield base
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def drive(base: str, plan: Path, counts: dict[str, int], *, duration: int, spawn_rate: float,
          wait: tuple[float, float], out: Path) -> subprocess.CompletedProcess[str]:
    """Locust, headless, in a process of its own, with the roles asked; its statistics in CSV under `out`."""
    classes = {"sending_officer": "SendingOfficer", "sending_supervisor": "SendingSupervisor",
               "receiving_officer": "ReceivingOfficer", "carrier_officer": "CarrierOfficer", "operator": "Operator",
               "monitor": "Monitor"}
    env = {**os.environ, "RETORNO_LOAD_PLAN": str(plan), "RETORNO_LOAD_WAIT": f"{wait[0]},{wait[1]}",
           "RETORNO_LOAD_COUNTS": ",".join(f"{role}={n}" for role, n in counts.items())}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", base,
               "-u", str(sum(counts.values())), "-r", str(spawn_rate), "-t", f"{duration}s", "--stop-timeout", "30",
               "--csv", str(out / "locust"), "--only-summary", "--loglevel", "WARNING",
               *(classes[role] for role, n in counts.items() if n)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 600, check=False)


def _number(value: str) -> float:
    return float(value) if value not in ("", "N/A") else 0.0


def read_stats(out: Path) -> dict[str, Any]:
    """Locust's CSV: per kind of request its count, failures and percentiles; the total; the failures named."""
    kinds: dict[str, dict[str, Any]] = {}
    total: dict[str, Any] = {}
    with (out / "locust_stats.csv").open(encoding="utf-8") as stats:
        for row in csv.DictReader(stats):
            figures = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                       "p50_ms": _number(row["50%"]), "p95_ms": _number(row["95%"]), "p99_ms": _number(row["99%"]),
                       "per_second": round(_number(row["Requests/s"]), 2)}
            if row["Name"] == "Aggregated":
                total = figures
                continue
            method = row["Type"]
            kind = "login" if row["Name"] == "POST /auth/token" else "read" if method == "GET" else "write"
            kinds[row["Name"] if row["Name"].startswith(method) else f"{method} {row['Name']}"] = {
                "kind": kind, **figures}
    with (out / "locust_failures.csv").open(encoding="utf-8") as failures:
        named = [{"request": row["Name"], "error": row["Error"][:300],
                  "occurrences": int(row["Occurrences"])} for row in csv.DictReader(failures)]
    return {"kinds": kinds, "total": total, "failures": named}


def audit_seq(settings: Settings) -> int:
    with unit_of_work(settings) as session:
        return int(session.execute(sa.select(sa.func.coalesce(sa.func.max(AuditRecord.seq), 0))).scalar_one())


def written_since(settings: Settings, seq: int) -> dict[str, int]:
    """The actions the audit trail recorded after record `seq`, by kind: what the officials changed."""
    with unit_of_work(settings) as session:
        rows = session.execute(sa.select(AuditRecord.action, sa.func.count()).where(AuditRecord.seq > seq)
                               .group_by(AuditRecord.action).order_by(AuditRecord.action)).all()
    return {action: count for action, count in rows}


def check_database(settings: Settings) -> dict[str, Any]:
    """The independent check of the demo (`demo.check`) over the whole database, and `retorno audit verify`."""
    with unit_of_work(settings) as session:
        report = check_demo(session)
    env = {**os.environ, "RETORNO_DATA_DIR": str(settings.data_dir)}
    verify = subprocess.run(_retorno("audit", "verify", "--database-url", settings.database_url), env=env,
                            capture_output=True, text=True, check=False)
    return {"ok": report.ok and verify.returncode == 0, "check": format_report(report),
            "findings": len(report.findings), "examined": report.examined,
            "audit_verify": {"exit_code": verify.returncode,
                             "output": " ".join((verify.stdout + verify.stderr).split())[:600]}}


def _logged_errors(log: Path) -> list[str]:
    """The service's error lines (JSON logs): time, request id and the exception's last line, the first ten."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                last = (entry.get("exception") or entry.get("message") or "").strip().splitlines()[-1:]
                found.append(f"{entry.get('time')} {entry.get('request_id')}: {' '.join(last)[:300]}")
    return found[:10]


def _p95_worst(kinds: dict[str, dict[str, Any]], kind: str) -> tuple[float, str | None]:
    chosen = [(figures["p95_ms"], name) for name, figures in kinds.items() if figures["kind"] == kind
              and figures["requests"]]
    return max(chosen) if chosen else (0.0, None)


def _world_folder() -> Path:
    return Path(tempfile.gettempdir()) / "retorno-load-world"


def _kept_world(wanted: dict[str, Any], progress: Any) -> World | None:
    """The world an earlier `reuse` run kept, if it was built with the same figures and is recent enough."""
    folder = _world_folder()
    with contextlib.suppress(OSError, ValueError, KeyError):
        kept = json.loads((folder / "world.json").read_text(encoding="utf-8"))
        admin = sa.create_engine(ADMIN_URL)
        try:
            with admin.connect() as connection:
                exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                            {"name": WORLD_DATABASE}).first() is not None
        finally:
            admin.dispose()
        age = utcnow() - datetime.fromisoformat(kept["built_at"])
        if exists and kept["wanted"] == wanted and age < WORLD_MAX_AGE:
            progress(f"reusing the world built {age.total_seconds() / 60:.0f} minutes ago "
                     f"({WORLD_DATABASE}, {folder})")
            return World(kept["plan"], kept["demo_cases"], kept["bulk_cases"], kept["staged"])
    return None


def _keep_world(world: World, wanted: dict[str, Any], settings: Settings) -> None:
    """The world just built, kept for later `reuse` runs: its database and its keys (the data directory)."""
    folder = _world_folder()
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(settings.data_dir, folder / "data")
    (folder / "world.json").write_text(json.dumps({
        "wanted": wanted, "built_at": utcnow().isoformat(), "plan": world.plan, "demo_cases": world.demo_cases,
        "bulk_cases": world.bulk_cases, "staged": world.staged}), encoding="utf-8")


def _world(settings: Settings, *, cases: int, counts: dict[str, int], seed: int, reuse: bool,
           progress: Any) -> World:
    """The world to work on in `settings`' database: built there, or with `reuse` copied from a kept one."""
    if not reuse:
        progress(f"building {cases} cases, the work of the day and {sum(counts.values())} "
                 "accounts...")
        return build_world(settings, cases=cases, counts=counts, seed=seed)
    wanted = {"cases": cases, "counts": counts, "seed": seed}
    world = _kept_world(wanted, progress)
    if world is None:
        progress(f"building {cases} cases, the work of the day and {sum(counts.values())} accounts, "
                 f"kept as {WORLD_DATABASE} for later runs...")
        with server_database(WORLD_DATABASE, keep=True) as url:
            built = Settings.from_env(data_dir=settings.data_dir.with_name("world-data"), database_url=url)
            world = build_world(built, cases=cases, counts=counts, seed=seed)
            _keep_world(world, wanted, built)
    # A copy of the kept world (a template may have no other connection while it is copied) and of its keys.
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = make_url(settings.database_url).database
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{WORLD_DATABASE}"')
    admin.dispose()
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    shutil.copytree(_world_folder() / "data", settings.data_dir)
    return world


def run(database_url: str | None, *, cases: int = 100_000, users: int = 50, duration: int = 120,
        spawn_rate: float | None = None, wait: tuple[float, float] = (0.5, 2.0), workers: int = 2, seed: int = 1,
        keep: bool = False, reuse: bool = False, progress: Any = print) -> dict[str, Any]:
    """Build, serve, drive, stop and check; every figure the command prints.

    With `reuse` (the default database only), the world is built once, kept, and copied for each run.
    """
    if reuse and database_url:
        raise ValueError("--reuse works on the default database only (it copies a kept one on the local server)")
    counts = role_counts(users)
    load_before = os.getloadavg()
    # The database given (the demo's build empties it), or a fresh one on the local server.
    database = contextlib.nullcontext(database_url) if database_url else server_database(DEFAULT_DATABASE, keep=keep)
    # The plan, Locust's statistics, the service's log and the data directory (keys): kept with the database.
    work = Path(tempfile.mkdtemp(prefix="retorno-load-"))
    with contextlib.ExitStack() as cleanup, database as url:
        if not keep:
            cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        settings = Settings.from_env(data_dir=work / "data", database_url=url)
        started = time.perf_counter()
        world = _world(settings, cases=cases, counts=counts, seed=seed, reuse=reuse, progress=progress)
        setup_seconds = time.perf_counter() - started
        (work / "plan.json").write_text(json.dumps(world.plan), encoding="utf-8")
        first_seq = audit_seq(settings)
        progress(f"built in {setup_seconds:.0f} s; serving with {workers} workers, {users} officials for {duration} s")
        with served(settings, workers, work / "server.log") as base:
            load_start = os.getloadavg()
            locust = drive(base, work / "plan.json", counts, duration=duration,
                           spawn_rate=spawn_rate or max(1.0, users / 5), wait=wait, out=work)
            load_end = os.getloadavg()
        if not (work / "locust_stats.csv").exists():
            raise RuntimeError(f"Locust wrote no statistics: {locust.stderr[-3000:]}")
        stats = read_stats(work)
        server_errors = _logged_errors(work / "server.log")
        written = written_since(settings, first_seq)
        invariants = check_database(settings)
    kinds, total = stats["kinds"], stats["total"]
    expected = {name: f["requests"] for name, f in kinds.items() if "refused on purpose" in name}
    read_p95, read_worst = _p95_worst(kinds, "read")
    write_p95, write_worst = _p95_worst(kinds, "write")
    errors = total.get("failures", 0)
    return {
        "benchmark": "load",
        "database": make_url(url).get_backend_name(),
        "cases": world.demo_cases + world.bulk_cases,
        "demo_cases": world.demo_cases,
        "bulk_cases": world.bulk_cases,
        "staged": world.staged,
        "setup_seconds": round(setup_seconds, 1),
        "reused_world": reuse,
        "workers": workers,
        "users": users,
        "roles": counts,
        "duration_seconds": duration,
        "wait_seconds": list(wait),
        "requests": total.get("requests", 0),
        "requests_per_second": total.get("per_second", 0),
        "p50_ms": total.get("p50_ms"), "p95_ms": total.get("p95_ms"), "p99_ms": total.get("p99_ms"),
        "errors": errors,
        "failures": stats["failures"],
        "expected_refusals": expected,
        "server_error_log_lines": server_errors,
        "kinds": kinds,
        "read_p95_ms_worst": read_p95, "read_p95_worst_kind": read_worst,
        "write_p95_ms_worst": write_p95, "write_p95_worst_kind": write_worst,
        "writes_audited": written,
        "invariants_ok": invariants["ok"],
        "invariants": invariants,
        "targets": {"errors": 0, "read_p95_ms": READ_P95_MS, "write_p95_ms": WRITE_P95_MS},
        "targets_met": {"errors": errors == 0, "read_p95": read_p95 <= READ_P95_MS,
                        "write_p95": write_p95 <= WRITE_P95_MS, "invariants": invariants["ok"]},
        "locust_exit_code": locust.returncode,
        "kept": {"database": make_url(url).render_as_string(), "folder": str(work)} if keep else None,
        "load_average": {"before_build": [round(x, 2) for x in load_before],
                         "run_start": [round(x, 2) for x in load_start],
                         "run_end": [round(x, 2) for x in load_end]},
        "cpu_count": os.cpu_count(),
    }


def print_load(figures: dict[str, Any], echo: Any = print) -> None:
    """The figures for a person: one line per kind of request, the failures, the checks, the targets."""
    echo(f"{'request':<62} {'kind':<6} {'count':>6} {'errors':>6} {'p50':>6} {'p95':>6} {'p99':>6} ms")
    for name, f in sorted(figures["kinds"].items(), key=lambda item: (item[1]["kind"], item[0])):
        echo(f"{name[:62]:<62} {f['kind']:<6} {f['requests']:>6} {f['failures']:>6} {f['p50_ms']:>6.0f} "
             f"{f['p95_ms']:>6.0f} {f['p99_ms']:>6.0f}")
    echo(f"{figures['requests']} requests, {figures['requests_per_second']} per second, {figures['errors']} errors; "
         f"p95 worst read {figures['read_p95_ms_worst']:.0f} ms ({figures['read_p95_worst_kind']}), worst write "
         f"{figures['write_p95_ms_worst']:.0f} ms ({figures['write_p95_worst_kind']})")
    for failure in figures["failures"]:
        echo(f"  error x{failure['occurrences']}: {failure['request']}: {failure['error']}")
    for line in figures["server_error_log_lines"]:
        echo(f"  logged by the service: {line}")
    for name, count in figures["expected_refusals"].items():
        echo(f"  refused on purpose, as expected: {name}: {count}")
    echo("writes on the audit trail during the run: "
         + ", ".join(f"{action} {count}" for action, count in figures["writes_audited"].items()))
    echo("independent check of the database after the run (demo.check):")
    for line in figures["invariants"]["check"]:
        echo(f"  {line}")
    echo(f"retorno audit verify: {figures['invariants']['audit_verify']['output']}")
    echo("targets: " + ", ".join(f"{name} {'met' if met else 'MISSED'}" for name, met in figures["targets_met"].items())
         + f"; load average at the start of the run {figures['load_average']['run_start'][0]}, at its end "
           f"{figures['load_average']['run_end'][0]} ({figures['cpu_count']} processors)")
