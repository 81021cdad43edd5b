"""The whole flow through the operator's command line only, on a fresh SQLite file database.

A household (a mother and her child), a man and a girl travelling alone are imported, screened,
verified and documented; a flight goes from proposal to the arrival bulletin with its refusals
(a minor alone at propose-manifest, a child boarding before her mother, a concern raised after
locking that pulls a passenger), then the mother goes through consent, intake, matching,
placement and follow-up.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from retorno.agencies.service import create_agency
from retorno.cli.common import console, err_console, settings, unit_of_work
from retorno.cli.main import app
from retorno.db import clock_at
from retorno.documents import mrz
from retorno.flights import airports
from tests.factories import AGENCIES, PASSWORD, next_flight_number, registry_record
from tests.reintegration.test_opportunity_import import BAD_CELLS, bad_file, good_file

runner = CliRunner()

USERS = [("inm.officer", "MX-INM", "officer"), ("inm.supervisor", "MX-INM", "supervisor"),
         ("saime.officer", "VE-SAIME", "officer"), ("saime.supervisor", "VE-SAIME", "supervisor"),
         ("carrier.officer", "CONVIASA", "officer"), ("op.officer", "VE-VUELTA", "officer")]
CASES = ("referencia,hogar,nombres,primer_apellido,segundo_apellido,sexo,fecha_nacimiento,nacionalidad,cedula,"
         "lugar_custodia,aeropuerto_cercano,fecha_ingreso,parentesco\n"
         "A-1,H-1,Ana María,Pérez,Gómez,F,1990-05-17,VEN,V-12.345.679,Siglo XXI,TAP,2023-09-01,titular\n"
         "A-2,H-1,Lucía,Pérez,Gómez,F,2015-03-02,VEN,,Siglo XXI,TAP,2023-09-01,hija\n"
         "A-3,,Carlos,Rojas,,M,1985-11-11,VEN,V-9.876.542,Siglo XXI,TAP,2023-08-15,\n"
         "A-4,,Sofía,Díaz,,F,2012-01-20,VEN,,Siglo XXI,TAP,2023-08-20,\n")


@pytest.fixture(autouse=True, scope="module")
def wide_console() -> Iterator[None]:
    """Tables as wide as they need, whatever terminal the tests run in, so cells are not wrapped."""
    widths = console.width, err_console.width
    console.width = err_console.width = 250
    yield
    console.width, err_console.width = widths


@dataclass
class Flow:
    url: str
    tmp: Path
    refs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Result] = field(default_factory=dict)

    def run(self, *args: str, user: str | None = None, code: int = 0, stdin: str | None = None) -> Result:
        full = [*args, "--database-url", self.url] if args[0] not in ("mrz",) else list(args)
        if user:
            full += ["--as", user]
        result = runner.invoke(app, full, input=stdin)
        assert result.exit_code == code, f"{full}: {result.output}"
        return result

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql, params).fetchall()


def said(result: Result) -> str:
    """The output with the console's line wrapping and table column rules undone."""
    return " ".join(result.output.replace("│", " ").replace("┃", " ").split())


def _passport(flow: Flow, key: str, surnames: str, given: str, born: date, sex: str) -> None:
    text = mrz.build_td3(document_code="P", issuing_state="VEN", surnames=surnames, given_names=given,
                         document_number=f"12345678{key[-1]}", nationality="VEN", birth_date=born, sex=sex,
                         expiry_date=date.today() + timedelta(days=1000))
    out = said(flow.run("documents", "add", flow.refs[key], "--mrz", text, user="inm.officer"))
    assert "valid" in out and "not valid" not in out and "case state ready" in out


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """Everything up to four cases ready to travel, through the CLI (agencies through the service)."""
    tmp = tmp_path_factory.mktemp("cli-flow")
    flow = Flow(f"sqlite:///{tmp / 'retorno.sqlite3'}", tmp)
    flow.run("db", "upgrade")
    with unit_of_work(settings(flow.url)) as session:
        for code, name, kind, country, carrier_code in AGENCIES:
            create_agency(session, None, code=code, name=name, kind=kind, country=country, carrier_code=carrier_code)
    for username, agency, role in USERS:
        flow.run("users", "add", username, "--agency", agency, "--role", role, "--password", PASSWORD)
    cases_file = tmp / "casos.csv"
    cases_file.write_text(CASES, encoding="utf-8")
    out = flow.run("import", "cases", str(cases_file), "--agency", "MX-INM", user="inm.officer")
    assert "4 created" in said(out)
    flow.refs = dict(flow.query("select agency_reference, reference from cases"))
    for key in ("A-1", "A-2", "A-3"):
        assert "cleared" in said(flow.run("cases", "screen", flow.refs[key], user="inm.officer"))
    # The girl alone is an unaccompanied child (safeguard 2): a screening saying nothing of it is refused. A
    # supervisor lets her case go on; travelling alone still needs a best-interests determination.
    refused = said(flow.run("cases", "screen", flow.refs["A-4"], user="inm.officer", code=2))
    assert "error (safeguard.children)" in refused and flow.refs["A-4"] in refused
    flow.run("cases", "screen", flow.refs["A-4"], "--concern", "unaccompanied_child", user="inm.officer")
    flow.run("cases", "resolve", flow.refs["A-4"], "--decision", "travel_permitted", "--reason",
             "evaluated: travels with a determination", user="inm.supervisor")
    for key in ("A-1", "A-2", "A-3", "A-4"):
        flow.run("cases", "request-verification", flow.refs[key], user="inm.officer")
    decisions = tmp / "decisiones.jsonl"
    decisions.write_text("".join(json.dumps({"request": f"VR-{flow.refs[k]}", "outcome": "verified",
                                             "registry_record": registry_record(k)}) + "\n" for k in flow.refs))
    flow.run("verify", "import-decisions", str(decisions), user="saime.officer")
    _passport(flow, "A-1", "Pérez Gómez", "Ana María", date(1990, 5, 17), "F")
    _passport(flow, "A-3", "Rojas", "Carlos", date(1985, 11, 11), "M")
    pdf = tmp / "emergencia.pdf"
    out = flow.run("documents", "issue-emergency", flow.refs["A-2"], "--pdf", str(pdf), user="saime.officer")
    # Ready to the sending side; to the receiving side, which may not tell who a concern holds back, documented.
    assert "case state documented" in said(out) and pdf.read_bytes()[:4] == b"%PDF"
    flow.run("documents", "issue-emergency", flow.refs["A-4"], user="saime.officer")
    show = said(flow.run("cases", "show", flow.refs["A-1"], user="inm.officer"))
    assert "ready" in show and "Ana María" in show and "sí / yes" in show
    yield flow


@pytest.fixture(scope="module")
def flown(flow: Flow) -> Flow:
    fly(flow)
    return flow


def fly(flow: Flow) -> None:
    """Propose a flight and take it to its arrival bulletin, checking every step and refusal on the way."""
    refs = flow.refs
    # Each step at its time (SPEC.md section 4.9): the flight is proposed ten days before a departure six
    # hours ago, boards two hours before it and leaves 30 minutes late; it lands and is received now.
    departure = (datetime.now(UTC) - timedelta(hours=6)).replace(second=0, microsecond=0)
    local_departure = airports.to_local(departure, "TAP").strftime("%Y-%m-%dT%H:%M")
    local_arrival = airports.to_local(departure + timedelta(hours=6), "CCS").strftime("%Y-%m-%dT%H:%M")
    with clock_at(departure - timedelta(days=10)):
        out = flow.run("flights", "propose", "--number", next_flight_number(), "--receiving", "VE-SAIME", "--carrier",
                       "CONVIASA", "--seats", "40", "--origin", "TAP", "--destination", "CCS", "--departure",
                       local_departure, "--arrival", local_arrival, "--escorts", "2", user="inm.officer")
        flight = flow.query("select reference from flights")[0][0]
        assert f"flight {flight}" in said(out) and "proposed" in said(out)
        flow.run("flights", "accept", flight, user="saime.officer")

        # A girl alone cannot go even on the draft manifest.
        refused = said(flow.run("flights", "add", flight, refs["A-4"], user="inm.officer", code=2))
        assert "error (safeguard.children)" in refused and refs["A-4"] in refused

        # The planner puts the household and the man on the flight and says why the girl is left off.
        planned = said(flow.run("plan", "--flights", flight, "--apply", "--time-limit", "5", user="inm.officer"))
        assert "objective" in planned and "bound" in planned and "gap" in planned
        assert f"H-1: {', '.join(sorted((refs['A-1'], refs['A-2'])))}" in planned and refs["A-3"] in planned
        assert refs["A-4"] in planned.split("left off", 1)[1]
        assert "applied: 3 cases put on 1 manifests" in planned

        flow.run("flights", "propose-manifest", flight, user="inm.officer")
        refused = said(flow.run("flights", "decide", flight, refs["A-3"], "--reject", user="saime.officer", code=2))
        assert "error (reason_required)" in refused
        for key in ("A-1", "A-2", "A-3"):
            flow.run("flights", "decide", flight, refs[key], "--approve", user="saime.officer")
        assert "manifest_locked" in said(flow.run("flights", "lock", flight, user="saime.officer"))

        # Once locked, taking someone off needs a supervisor of each side; one side is not enough.
        flow.run("flights", "authorise-change", flight, refs["A-1"], "--reason", "family request",
                 user="inm.supervisor")
        refused = said(flow.run("flights", "remove", flight, refs["A-1"], "--reason", "family request",
                                user="inm.officer", code=2))
        assert "error (locked_change_needs_both_sides)" in refused and "missing: receiving" in refused

        # Boarding opens six hours before the scheduled departure, not ten days.
        refused = said(flow.run("flights", "board", flight, refs["A-1"], user="carrier.officer", code=2))
        assert "error (flow.boarding_window)" in refused

    with clock_at(departure - timedelta(hours=2)):
        # A concern raised after locking pulls the man off; boarding him is then refused.
        flow.run("cases", "screen", refs["A-3"], "--concern", "pending_asylum_claim", user="inm.officer")
        refused = said(flow.run("flights", "board", flight, refs["A-3"], user="inm.officer", code=2))
        assert "error (not_found)" in refused and "not on the manifest" in refused
        refused = said(flow.run("flights", "board", flight, refs["A-3"], user="carrier.officer", code=2))
        assert "error (not_found)" in refused
        # Only a supervisor resolves the concern; he is ready again, for a later flight.
        refused = said(flow.run("cases", "resolve", refs["A-3"], "--decision", "travel_permitted", "--reason",
                                "claim withdrawn in writing", user="inm.officer", code=2))
        assert "error (forbidden.screening.resolve)" in refused
        flow.run("cases", "resolve", refs["A-3"], "--decision", "travel_permitted", "--reason",
                 "claim withdrawn in writing", user="inm.supervisor")
        # The child cannot board before her mother.
        refused = said(flow.run("flights", "board", flight, refs["A-2"], user="carrier.officer", code=2))
        assert "error (safeguard.children)" in refused
        flow.run("flights", "board", flight, refs["A-1"], user="carrier.officer")
        flow.run("flights", "board", flight, refs["A-2"], user="carrier.officer")

        paxlst = flow.tmp / "vuelo.edi"
        flow.run("flights", "paxlst", flight, "--out", str(paxlst), user="carrier.officer")
        message = paxlst.read_text()
        assert message.startswith("UNA") and "PAXLST" in message and "PEREZ" in message and "ROJAS" not in message
        pdf, csv = flow.tmp / "manifiesto.pdf", flow.tmp / "manifest.csv"
        flow.run("flights", "manifest", flight, "--pdf", str(pdf), "--csv", str(csv), "--lang", "en",
                 user="inm.officer")
        assert pdf.read_bytes()[:4] == b"%PDF" and refs["A-2"] in csv.read_text(encoding="utf-8-sig")

        # Nobody is received before the landing; a departure is recorded when it has happened.
        refused = said(flow.run("flights", "arrive", flight, refs["A-1"], user="saime.officer", code=2))
        assert "error (flow.not_landed)" in refused
        late = airports.to_local(departure + timedelta(minutes=30), "TAP").strftime("%Y-%m-%dT%H:%M")
        refused = said(flow.run("flights", "depart", flight, "--at", late, user="carrier.officer", code=2))
        assert "error (flow.future_time)" in refused
    with clock_at(departure + timedelta(hours=1)):
        flow.run("flights", "depart", flight, "--at", late, user="carrier.officer")
        # A six-hour flight that left half an hour ago has not landed.
        refused = said(flow.run("flights", "land", flight, user="saime.officer", code=2))
        assert "error (flow.landing_too_soon)" in refused
    landed = airports.to_local(departure + timedelta(hours=6, minutes=-10), "CCS").strftime("%Y-%m-%dT%H:%M")
    flow.run("flights", "land", flight, "--at", landed, user="saime.officer")
    out = said(flow.run("flights", "arrive", flight, refs["A-1"], user="saime.officer"))
    assert "1 of 2 boarded" in out
    shown = said(flow.run("flights", "show", flight, user="saime.officer"))
    assert "boarded 2, received 1, difference 1: FLAGGED" in shown
    assert f"departed (local) {late}-06:00" in shown and f"landed (local) {landed}-04:00" in shown
    flow.run("flights", "explain-difference", flight, "--reason", "the child was taken to hospital from the ramp",
             user="saime.officer")
    shown = said(flow.run("flights", "show", flight, user="saime.officer"))
    assert "explained: the child was taken to hospital" in shown and "FLAGGED" not in shown
    flow.run("flights", "arrive", flight, refs["A-2"], user="saime.officer")
    shown = said(flow.run("flights", "show", flight, user="inm.officer"))
    assert "boarded 2, received 2, difference 0: ok" in shown and "arrived" in shown

    bulletin = said(flow.run("flights", "bulletin", flight, user="saime.officer"))
    assert "2 nacionales aterrizaron en Maiquetía (CCS) procedentes de Tapachula (TAP)" in bulletin
    assert "2 nationals landed at Maiquetía (CCS) from Tapachula (TAP)" in bulletin


def test_a_flight_from_proposal_to_bulletin_through_the_cli(flown: Flow) -> None:
    """`fly` ran every step; the trail it left is whole and the cases are where the flight left them."""
    states = dict(flown.query("select agency_reference, state from cases"))
    assert states == {"A-1": "arrived", "A-2": "arrived", "A-3": "ready", "A-4": "ready"}
    alerts = flown.query("select kind, message from alerts")
    assert [kind for kind, _ in alerts] == ["protection_pull"] and flown.refs["A-3"] in alerts[0][1]
    assert "intact" in said(flown.run("audit", "verify"))


def test_mrz_check_on_the_icao_specimen_and_a_broken_one(tmp_path: Path) -> None:
    specimen = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
    path = tmp_path / "td3.txt"
    path.write_text(specimen)
    ok = runner.invoke(app, ["mrz", "check", str(path), "--on", "2010-01-01"])
    assert ok.exit_code == 0, ok.output
    assert "ERIKSSON" in ok.output and "L898902C3" in ok.output and "valid" in ok.output
    expired = runner.invoke(app, ["mrz", "check", str(path)])
    assert expired.exit_code == 1 and "expired (expiry_date)" in expired.output
    broken = specimen.replace("L898902C36", "L898902C37").replace("7408122F", "7408132F")
    bad = runner.invoke(app, ["mrz", "check", "-", "--on", "2010-01-01"], input=broken)
    assert bad.exit_code == 1, bad.output
    text = " ".join(bad.output.split())
    assert "check_digit (document_number)" in text and "check_digit (birth_date)" in text
    assert "composite_check_digit (composite)" in text and "not valid: 3 problems" in text
    shapeless = runner.invoke(app, ["mrz", "check", "-"], input="P<UTOERIKSSON\n")
    assert shapeless.exit_code == 1 and "not a machine readable zone" in " ".join(shapeless.output.split())


def test_reintegration_through_the_cli(flown: Flow) -> None:
    flow, refs = flown, flown.refs
    bad = flow.tmp / "oportunidades.csv"
    bad.write_bytes(bad_file())
    refused = flow.run("opportunities", "import", str(bad), user="op.officer", code=1)
    assert "nothing imported: rows with errors: 8" in said(refused)
    report = (flow.tmp / "oportunidades.informe.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert [(int(line.split(",")[0]), line.split(",")[1]) for line in report if line.endswith(",error")] == BAD_CELLS
    assert flow.query("select count(*) from opportunities") == [(0,)]
    good = flow.tmp / "buenas.csv"
    good.write_bytes(good_file())
    assert "2 created" in said(flow.run("opportunities", "import", str(good), user="op.officer"))
    assert flow.query("select count(*) from opportunities") == [(2,)]
    welding = flow.query("select reference from opportunities where isco_code = '7212' order by id")[0][0]
    flow.run("opportunities", "edit", welding, "--seats", "5", user="op.officer")
    refused = said(flow.run("opportunities", "edit", welding, "--state", "VE-Q", user="op.officer", code=2))
    assert "error (invalid_opportunity)" in refused
    assert "Ayudante de soldadura" in said(flow.run("opportunities", "list", user="op.officer"))

    refused = said(flow.run("returnees", "consent", refs["A-1"], "--birth-date", "1990-05-18", user="op.officer",
                            code=2))
    assert "error (not_found)" in refused
    flow.run("returnees", "consent", refs["A-1"], "--birth-date", "1990-05-17", user="op.officer")
    flow.run("returnees", "intake", refs["A-1"], "--home-state", "VE-V", "--municipality", "Maracaibo",
             "--education", "3", "--occupation", "7212", "--skill", "soldadura", "--skill", "lectura de planos",
             "--preference", welding,
             user="op.officer")
    # Again with one option: the rest stays as recorded (red team round 46a, F1: the command replaced the whole intake
    # and erased a colleague's skills, preferences and needs); a version named that has moved since is refused.
    out = said(flow.run("returnees", "intake", refs["A-1"], "--municipality", "San Francisco", user="op.officer"))
    version = int(out.split("(version ")[1].split(")")[0])
    kept = flow.query("select municipality, skills, preferences, version from intake_profiles")
    assert [(m, json.loads(sk), json.loads(p), v) for m, sk, p, v in kept] == [
        ("San Francisco", ["soldadura", "lectura de planos"], [welding], version)], kept
    refused = said(flow.run("returnees", "intake", refs["A-1"], "--municipality", "Maracaibo", "--version",
                            str(version - 1), user="op.officer", code=2))
    assert "error (edit_conflict)" in refused and "op.officer" in refused
    flow.run("returnees", "intake", refs["A-1"], "--municipality", "Maracaibo", "--version", str(version),
             user="op.officer")
    opportunity_version = flow.query("select version from opportunities where reference = ?", welding)[0][0]
    refused = said(flow.run("opportunities", "edit", welding, "--tutors", "2", "--version",
                            str(opportunity_version + 1), user="op.officer", code=2))
    assert "error (edit_conflict)" in refused
    # The intake is handed to another operator with a written reason, and back by the receiving authority.
    refused = said(flow.run("returnees", "transfer-intake", refs["A-1"], "--operator", "VE-FUNDAPRO", "--reason", " ",
                            user="op.officer", code=2))
    assert "error (" in refused
    # Not to an operator nobody of which can act yet (red team round 77, F2): once one of its officials is added.
    refused = said(flow.run("returnees", "transfer-intake", refs["A-1"], "--operator", "VE-FUNDAPRO", "--reason",
                            "se mudó a Mérida", user="op.officer", code=2))
    assert "error (agency.no_officials)" in refused
    flow.run("users", "add", "op2.officer", "--agency", "VE-FUNDAPRO", "--role", "officer", "--password", PASSWORD)
    assert "handed to VE-FUNDAPRO" in said(flow.run("returnees", "transfer-intake", refs["A-1"], "--operator",
                                                    "ve-fundapro", "--reason", "se mudó a Mérida", user="op.officer"))
    refused = said(flow.run("returnees", "transfer-intake", refs["A-1"], "--operator", "VE-VUELTA", "--reason",
                            "vuelve con el plan Vuelta", user="op.officer", code=2))
    assert "forbidden.intake.transfer" in refused
    flow.run("returnees", "transfer-intake", refs["A-1"], "--operator", "VE-VUELTA", "--reason", "vuelve a Maracaibo",
             user="saime.officer")
    handed = flow.query("select actor, before from audit_records where action = 'intake.transfer' order by seq")
    assert [actor for actor, _ in handed] == ["op.officer", "saime.officer"]
    assert handed[0][1] == '{"operator":"VE-VUELTA"}'
    flow.run("returnees", "consent", refs["A-2"], user="saime.officer")
    # Her consent was taken by the receiving authority, not by this operator: it records the withdrawal.
    refused = said(flow.run("returnees", "withdraw-consent", refs["A-2"], "--reason", "her mother asked",
                            user="op.officer", code=2))
    assert "forbidden.consent.withdraw" in refused
    out = said(flow.run("returnees", "withdraw-consent", refs["A-2"], "--reason", "her mother asked",
                        user="saime.officer"))
    assert "state closed" in out
    assert refs["A-2"] not in said(flow.run("returnees", "list", user="op.officer"))

    preview = said(flow.run("match", "preview", user="op.officer"))
    assert "stable / estable" in preview and "welfare / bienestar" in preview and "blocking pairs" in preview
    ran = said(flow.run("match", "run", "--mode", "stable", user="op.officer"))
    assert f"{refs['A-1']} {welding}" in ran and "1 offers made" in ran
    placement = flow.query("select id from placements")[0][0]
    explained = said(flow.run("match", "explain", refs["A-1"], "--lang", "en", user="op.officer"))
    assert welding in explained and f"placement {placement} (offered)" in explained
    flow.run("placements", "step", str(placement), "--status", "accepted", user="op.officer")
    # A start is dated from the returnee's consent on (today), never before it.
    before = (date.today() - timedelta(days=100)).isoformat()
    refused = said(flow.run("placements", "step", str(placement), "--status", "started", "--on", before,
                            user="op.officer", code=2))
    assert "error (invalid_date.placement)" in refused
    flow.run("placements", "step", str(placement), "--status", "started", user="op.officer")
    refused = said(flow.run("placements", "step", str(placement), "--status", "accepted", user="op.officer", code=2))
    assert "error (invalid_transition.placement)" in refused
    follow_up = flow.query("select id from follow_ups where months_after_start = 3")[0][0]
    answers = ("--work", "in_placement", "--income", "minimum", "--housing", "stable", "--household", "together",
               "--wellbeing", "4", "--intends-to-migrate", "no")
    # Not before it falls due ...
    refused = said(flow.run("follow-ups", "record", str(follow_up), *answers, user="op.officer", code=2))
    assert "error (followup.not_due)" in refused
    # ... a hundred days in, the 3-month follow-up is overdue, the 6 and 12-month ones are not.
    with clock_at(datetime.now(UTC) + timedelta(days=100)):
        overdue = said(flow.run("follow-ups", "list", "--overdue", user="op.officer"))
        assert f"{follow_up} {refs['A-1']} 3" in overdue and overdue.count(refs["A-1"]) == 1
        out = said(flow.run("follow-ups", "record", str(follow_up), *answers, user="op.officer"))
        assert "score 0.903" in out
        refused = said(flow.run("follow-ups", "record", str(follow_up), *answers, user="op.officer", code=2))
        assert "error (invalid_transition)" in refused
    assert "intact" in said(flow.run("audit", "verify"))


def test_the_cli_refuses_a_flight_from_another_state_or_longer_than_a_day(flow: Flow) -> None:
    """Red team: a flight JFK→MAD for Venezuela, proposed by Mexico, and one a year long, were accepted."""
    departure = (datetime.now(UTC) + timedelta(days=20)).replace(second=0, microsecond=0)
    common = ("flights", "propose", "--number", "V0 3199", "--receiving", "VE-SAIME", "--carrier", "CONVIASA",
              "--seats", "40", "--escorts", "2", "--departure", departure.isoformat())
    before = flow.query("select count(*) from flights")
    refused = said(flow.run(*common, "--origin", "JFK", "--destination", "MAD", "--arrival",
                            (departure + timedelta(hours=8)).isoformat(), user="inm.officer", code=2))
    assert "JFK is an airport of US, not of MEX" in refused and "MAD is an airport of ES, not of VEN" in refused
    refused = said(flow.run(*common, "--origin", "TAP", "--destination", "CCS", "--arrival",
                            (departure + timedelta(days=365)).isoformat(), user="inm.officer", code=2))
    assert "a flight lasts at most 24 hours" in refused
    assert flow.query("select count(*) from flights") == before
