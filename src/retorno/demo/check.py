"""An independent check of a demo database: is what the demo shows true?

It reads the tables with queries of its own and decides every rule again here, in plain Python
over plain rows, without calling the safeguard functions or the fact-gathering code
(`cases/facts.py`, `flights/service.manifest_facts`) that allowed the data in: a bug there cannot
hide itself here. What it checks, each rule named in the report:

- `one_head`: every household has exactly one head (relationship ``head``; ``titular`` in older demos);
- `one_family`: a household's number appears once in its agency (the first demo restarted its
  numbers for every batch, merging families; such a merge also shows as a second head). Members
  may be detained at different places or on different days: families are held apart (men and
  women in different facilities), and every door accepts it;
- `families_on_manifests`: on every flight not yet flown, a household with someone on the manifest
  has every member on it;
- `families_on_flown_flights`: on every flight that departed, a household with someone aboard had
  every member aboard: nobody of it flew elsewhere, stayed behind or is still waiting;
  for both rules, a supervisor's recorded split (`household_splits`) lets a household go apart, and an
  adult who left the process (withdrawn, unfit to fly, not a national; not a no-show, who is put back in
  line) lets the others go, as the manifest safeguard does (red team round 26c, F3: the check named
  splits the product had rightly accepted); a person is on a flight by any record of theirs, of any
  agency (`_people_as_one`: the same cédula, registry record or document, or a possible duplicate decided the
  same person or undecided), which brings that record's household in (F2; round 27, F1; round 57, F6);
- `minors_with_an_adult`: every minor on a manifest or aboard a flight has an adult of their
  household on the same flight, or a best-interests determination; every minor still waiting,
  from the screening on, belongs to a household with an adult waiting (or at the aircraft's door),
  or has a determination or an unaccompanied-child concern on record (open, or closed by a
  supervisor's written resolution); and so does every minor who stays behind (not a national, withdrawn,
  unfit to fly, a no-show) while every adult of the household has gone on a manifest, aboard or arrived,
  none staying behind or waiting off the manifests with them (red team round 13, F7). The product
  guarantees it from the screening on: a screening
  of such a minor names the concern, and the last adult leaving the household's waiting (withdrawn,
  unfit to fly, not a national, a no-show, arrived), or a birth date corrected into a minor's,
  or a verification against a registry record whose birth date is a minor's,
  raises it in the same transaction (`screening.service`, `travel.service`); a registered case
  is not yet screened. A minor is one by the declared birth date or by the verified registry
  record's (red team round 13);
- `one_seat`: one person holds one seat: no two records of one person are on manifests of flights not yet
  flown (this one or two), or aboard a flight that left and not yet received at its destination, records being one
  person when they share a cédula (its digits), a registry record verified by one receiving authority, a travel
  document on file (issuing state and number; not one withdrawn), a declared document number (declared or filed),
  or a supervisor's decision that they are the same person, or are a possible duplicate no supervisor has decided
  (the person may be one; red team round 13, F5);
- `cleared_and_verified`: everyone on a manifest or aboard a flight was screened, has no concern
  open (on this record or another record with the same cédula, whatever its letter, or verified by the same receiving
  authority against the same registry record, however spelled), was verified by the receiving
  side for the identity they have now, and holds a travel document for that identity, with a
  valid machine readable zone, not expired on the day of the flight (aboard a flight that has left, a concern
  raised after it left does not count: it is recorded and leaves the person aboard, README rule 1);
- `states_agree`: a case is ``manifested`` exactly when it is on a manifest of a flight not yet
  flown, or ``boarded`` once the door recorded them aboard such a flight (a flight boarding now), and
  ``boarded`` only then or aboard a flown flight; everyone aboard a flown flight has left the waiting
  states, and everyone whose state says they arrived was received from an arrived flight;
- `concerns_listed`: the lists' marker of an open concern on each case (`cases.concern_open_since`, what
  the supervisors' queue, the case list's filter and the dashboard count by) is set exactly on the cases
  with a concern of their own still open, and dates it from the oldest such screening;
- `identifiers_ascii`: every identifier records are linked and searched by (a case's national ID and declared
  document number, a filed travel document's number, a verified decision's registry record) is written in ASCII:
  one holding another script's digit or letter links nobody (red team round 5, A-F1; migration 0022 folds what an
  older installation stored);
- `internships_adults_only`: nobody was offered, accepted into or started in a paid internship while a minor (by the
  declared or the verified registry birth date) on the day of the offer or on the placement's start (the day recorded,
  else the opportunity's planned start), whatever became of the placement since; and no internship asks a minimum age
  under 18 (red team round 17, Q-F1);
- `deboardings_confirmed`: nobody taken off the manifest after boarding (they had to leave the aircraft) is on a flight
  that departed without the sending side or the carrier recording them off it (`boarding.deboarded` on the audit
  trail; a row still 'leaving', or 'deboarded' as data written before round 17 set it at the pull; red team round 17,
  O-F5 and P-F2);
- `one_emergency_document`: no person (records linked as one as for `one_seat`, an undecided possible duplicate
  apart: two records only alike may be two people, each issued one before they were flagged, and the one-seat rule
  keeps one of them off every flight until a supervisor decides; red team round 54, F2) holds two valid emergency
  travel documents of one state: issued here, valid, on file, for the identity the record has now, not expired, of a
  record not withdrawn or unfit to fly (red team round 17, O-F2);
- `audit_chain`: the hash chain and its signed checkpoints verify. This rule calls the trail's
  own verifier (`audit.verify.verify_chain`, as `retorno audit verify` does): it is not the code
  that wrote the records but the one that re-derives every hash and signature from them, and a
  second copy of the hashing format here would check nothing more.
- `screenings_on_trail`: the protection screenings and resolutions stored are those the audit trail describes,
  replayed in order (`screening.trail.off_trail`, as `retorno audit verify` and `db restore` run it): a concern
  emptied, escorts lowered, a screening deleted or a resolution inserted outside the service is named (red team
  round 90, F3).
- `records_as_sealed`: every row that carries a safeguard's decision (screenings, resolutions, best-interests
  determinations, verification requests and decisions, travel documents, household splits, consents to change a
  locked manifest, passengers, cases, households, possible duplicates, flights, users, agencies: `audit.seals.SEALED`)
  is stored as the audit trail last sealed it, and the triggers that note their changes are migration 0049's
  (`audit.seals.unsealed`, as `retorno audit verify` and `db restore` run it): a decision flipped, a split or
  determination inserted, a resolution's author changed, a consent added, a household moved, a role raised, seats
  lowered outside the service is named (red team rounds 91 and 92).
- `schema_as_migrated`: the database's tables, columns, indexes, unique constraints, foreign keys (their ON DELETE
  included) and named checks are those the migrations make (`migrations.schema_differences`, as `retorno audit
  verify` and `db restore` run it): a foreign key made to delete passengers with their case, a unique index dropped,
  a check dropped is named (red team round 94, F6).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency
from retorno.audit.models import AuditRecord
from retorno.audit.seals import unsealed
from retorno.audit.verify import verify_chain
from retorno.cases.facts import people_births_elsewhere
from retorno.cases.models import Case, Household, PossibleDuplicate, national_id_digits
from retorno.db import Base, utcnow
from retorno.documents.models import TravelDocument, refused_as_anothers
from retorno.flights.airports import earliest_day
from retorno.flights.models import Flight, HouseholdSplit, Passenger
from retorno.identifiers import emergency_series_number, identity_card_digits, placeholder_document_number
from retorno.migrations import schema_differences
from retorno.reintegration.models import Opportunity, Placement
from retorno.safeguards import IDENTITY_FIELDS, identity_fingerprint
from retorno.screening.models import BestInterestsDetermination, Screening, ScreeningResolution
from retorno.screening.trail import off_trail
from retorno.verification.models import VerificationDecision, VerificationRequest
from retorno.verification.records import record_digits

CHECKS = ("one_head", "one_family", "families_on_manifests", "families_on_flown_flights", "minors_with_an_adult",
          "one_seat", "cleared_and_verified", "states_agree", "concerns_listed", "identifiers_ascii",
          "internships_adults_only", "deboardings_confirmed", "one_emergency_document", "audit_chain",
          "screenings_on_trail", "records_as_sealed", "schema_as_migrated")
# Written out here rather than imported, so that the check states its own reading of the lifecycle.
WAITING = ("registered", "screened", "verification_requested", "verified", "documented", "ready", "manifested")
ARRIVED = ("arrived", "reintegration_intake", "matched", "placed", "closed")
ON_MANIFEST = ("proposed", "approved")
STAYING_BEHIND = ("withdrawn", "not_national", "unfit_to_fly", "no_show")
FLOWN = ("departed", "arrived")
NOT_YET_FLOWN = ("proposed", "accepted", "manifest_locked")


def _naive(moment: datetime) -> datetime:
    """A stored moment in UTC without its zone (SQLite gives none, PostgreSQL may), to compare them."""
    return moment.replace(tzinfo=None)


def _earliest(into: dict[str, datetime], more: dict[str, datetime]) -> None:
    for code, moment in more.items():
        into[code] = min(into.get(code, moment), moment)


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.message}"


@dataclass
class CheckReport:
    """Per rule, how many things it examined; and every finding, naming the rule and what it is about."""

    examined: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def problems(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    def add(self, check: str, subject: str, message: str) -> None:
        self.findings.append(Finding(check, subject, message))


def adult_on(birth: date, on: date) -> bool:
    """Whether someone born on `birth` is 18 on `on`: their eighteenth birthday has come.

    Written here, as a birthday rather than as an age, so the check does not lean on
    `safeguards.is_minor`; someone born on 29 February comes of age on 1 March.
    """
    try:
        eighteenth = birth.replace(year=birth.year + 18)
    except ValueError:
        eighteenth = date(birth.year + 18, 3, 1)
    return on >= eighteenth


@dataclass(frozen=True)
class _Person:
    id: int
    reference: str
    household: int | None
    head: bool
    birth_date: date
    state: str
    held_at: str
    detained_since: date
    national_id: str | None
    fingerprint: str


@dataclass(frozen=True)
class _Flight:
    id: int
    reference: str
    state: str
    day: date
    # The day the children's rules count ages on (`children_day`: the earliest calendar date of the departure).
    children_day: date
    # When it left (recorded, else scheduled): a concern raised after it leaves its people aboard (README, rule 1).
    departed: datetime


class _Demo:
    """The rows the rules are decided on, read once."""

    def __init__(self, session: Session) -> None:
        self.people = {p.id: p for p in self._people(session)}
        self.households = {hid: f"{code}/{ref}" for hid, code, ref in session.execute(
            sa.select(Household.id, Agency.code, Household.reference).join(Agency, Agency.id == Household.agency_id))}
        self.members: dict[int, list[_Person]] = defaultdict(list)
        for person in self.people.values():
            if person.household is not None:
                self.members[person.household].append(person)
        self.flights = {row.id: _Flight(row.id, row.reference, row.state, row.departure_utc.date(),
                                        earliest_day(row.departure_utc, row.origin, row.destination),
                                        _naive(row.actual_departure_utc or row.departure_utc))
                        for row in session.execute(sa.select(Flight.id, Flight.reference, Flight.state,
                                                             Flight.departure_utc, Flight.actual_departure_utc,
                                                             Flight.origin, Flight.destination))}
        self.passengers = session.execute(
            sa.select(Passenger.flight_id, Passenger.case_id, Passenger.approval, Passenger.boarding,
                      Passenger.arrival)).all()
        self.by_reference = {person.reference: case_id for case_id, person in self.people.items()}
        self.registered_at: dict[int, datetime] = dict(session.execute(sa.select(Case.id, Case.registered_at)).all())
        self.received_at: dict[int, datetime] = {}
        for case_id, at in session.execute(sa.select(Passenger.case_id, Passenger.received_at).where(
                Passenger.arrival == "received", Passenger.received_at.is_not(None)).order_by(Passenger.received_at)):
            self.received_at[case_id] = at  # type: ignore[assignment]  # not null: asked so just above
        # Per case, the flights whose manifest it is on, and those it boarded.
        self.manifested_on: dict[int, set[int]] = defaultdict(set)
        self.boarded_on: dict[int, set[int]] = defaultdict(set)
        for flight_id, case_id, approval, boarding, _ in self.passengers:
            if approval in ON_MANIFEST:
                self.manifested_on[case_id].add(flight_id)
            if boarding == "boarded":
                self.boarded_on[case_id].add(flight_id)
        self.splits = set(session.execute(sa.select(HouseholdSplit.household_id)).scalars())
        self.determinations = set(session.execute(sa.select(BestInterestsDetermination.case_id).where(
            BestInterestsDetermination.spent_at.is_(None))).scalars())
        # Per case, its own open concerns and when the oldest screening still holding one was raised.
        self.own_concerns: dict[int, set[str]] = defaultdict(set)
        # Per case, every concern its own screenings raised, closed since or not.
        self.raised: dict[int, set[str]] = defaultdict(set)
        self.open_since: dict[int, datetime] = {}
        # Per case, each concern open for it (its own or a linked record's) and when it was first raised.
        self.open_raised: dict[int, dict[str, datetime]] = {}
        self.open_concerns = self._open_concerns(session)
        self.listed = {cid: since for cid, since in session.execute(
            sa.select(Case.id, Case.concern_open_since).where(Case.concern_open_since.is_not(None)))}
        self.screened = set(session.execute(sa.select(Screening.case_id)).scalars())
        # Per case, the youngest birth date recorded for a registry record of its person (`_registry_born_of_people`).
        self.registry_born: dict[int, date] = {}
        self.verified_as = self._verified_as(session)
        self.documents: dict[int, list[tuple[str | None, date | None]]] = defaultdict(list)
        for case_id, fingerprint, expiry in session.execute(
                sa.select(TravelDocument.case_id, TravelDocument.identity_fingerprint, TravelDocument.expiry_date)
                .where(TravelDocument.mrz_valid, TravelDocument.withdrawn_at.is_(None))):
            self.documents[case_id].append((fingerprint, expiry))

    def other_journeys(self, one: int, other: int) -> bool:
        """Whether two records of a person are of two journeys: one was received at its destination before the other
        was registered (`cases.facts.other_records`)."""
        return any(came is not None and came < self.registered_at[later]
                   for came, later in ((self.received_at.get(one), other), (self.received_at.get(other), one)))

    @staticmethod
    def _people(session: Session) -> Iterable[_Person]:
        """Each case, with the digest of its identity as it is now.

        The digest is `safeguards.identity_fingerprint`: it is the format in which the database
        stores which identity a verification and a document were about, not a rule, so reading a
        stored decision needs it; a copy of it here would only be a second copy of the format.
        """
        identity = [getattr(Case, name) for name in IDENTITY_FIELDS]
        rows = session.execute(sa.select(Case.id, Case.reference, Case.household_id, Case.relationship_to_head,
                                         Case.birth_date, Case.state, Case.held_at, Case.detained_since, *identity))
        for row in rows:
            values = dict(zip(IDENTITY_FIELDS, row[8:8 + len(IDENTITY_FIELDS)], strict=True))
            yield _Person(row.id, row.reference, row.household_id, row.relationship_to_head in ("head", "titular"),
                          row.birth_date, row.state, row.held_at, row.detained_since, row.national_id,
                          identity_fingerprint(values))

    def _open_concerns(self, session: Session) -> dict[int, set[str]]:
        """Per case, the concerns a screening raised that no 'travel permitted' resolution of it closed.

        A resolution whose concerns are SQL NULL (older rows) closes all of its screening's concerns, one
        whose concerns are no list (a JSON null) none; a concern open on another record with the same cédula (its
        digits, whatever its letter), or verified against the same registry record by the same receiving
        authority, counts for this one too.
        """
        closed: dict[int, set[str]] = defaultdict(set)
        for screening_id, screening_concerns, resolved, closes_all in session.execute(
                sa.select(Screening.id, Screening.concerns, ScreeningResolution.concerns,
                          ScreeningResolution.concerns.is_(None))
                .join(ScreeningResolution, ScreeningResolution.screening_id == Screening.id)
                .where(ScreeningResolution.decision == "travel_permitted")):
            closed[screening_id].update((screening_concerns or []) if closes_all
                                        else resolved if isinstance(resolved, list) else [])
        own = self.own_concerns
        raised: dict[int, dict[str, datetime]] = defaultdict(dict)
        for screening_id, case_id, concerns, screened_at in session.execute(
                sa.select(Screening.id, Screening.case_id, Screening.concerns, Screening.screened_at)):
            left = set(concerns or []) - closed[screening_id]
            own[case_id].update(left)
            for code in left:
                raised[case_id][code] = min(raised[case_id].get(code, _naive(screened_at)), _naive(screened_at))
            self.raised[case_id].update(concerns or [])
            if left and (case_id not in self.open_since or screened_at < self.open_since[case_id]):
                self.open_since[case_id] = screened_at
        # A cédula by its digits, whatever its letter (red team M4: E20282780 is V20282780, `cedula_digits`).
        by_cedula: dict[str, set[str]] = defaultdict(set)
        cedula_raised: dict[str, dict[str, datetime]] = defaultdict(dict)
        for person in self.people.values():
            if national_id_digits(person.national_id):
                by_cedula[national_id_digits(person.national_id)].update(own.get(person.id, set()))
                _earliest(cedula_raised[national_id_digits(person.national_id)], raised.get(person.id, {}))
        # A registry record verified for two cases by one receiving authority makes them one person, however the
        # record was spelled when it was stored (red team H1: '025440' and '25440').
        records: dict[int, set[tuple[int, str]]] = defaultdict(set)
        for case_id, agency_id, record in session.execute(
                sa.select(VerificationRequest.case_id, VerificationRequest.receiving_agency_id,
                          VerificationDecision.registry_record)
                .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
                .where(VerificationDecision.outcome == "verified", VerificationDecision.registry_record.is_not(None))):
            records[case_id].add((agency_id, record_digits(str(record))))
        by_record: dict[tuple[int, str], set[str]] = defaultdict(set)
        record_raised: dict[tuple[int, str], dict[str, datetime]] = defaultdict(dict)
        for case_id, held in records.items():
            for key in held:
                by_record[key].update(own.get(case_id, set()))
                _earliest(record_raised[key], raised.get(case_id, {}))
        for pid, p in self.people.items():
            times = dict(raised.get(pid, {}))
            if national_id_digits(p.national_id):
                _earliest(times, cedula_raised[national_id_digits(p.national_id)])
            for key in records.get(pid, ()):
                _earliest(times, record_raised[key])
            self.open_raised[pid] = times
        return {pid: own.get(pid, set()) | (by_cedula[national_id_digits(p.national_id)]
                                            if national_id_digits(p.national_id) else set())
                | {code for key in records.get(pid, ()) for code in by_record[key]}
                for pid, p in self.people.items()}

    def _verified_as(self, session: Session) -> dict[int, str | None]:
        """Per case whose latest final decision (verified or rejected) verified it: the identity verified."""
        latest: dict[int, tuple[str, str | None]] = {}
        for case_id, outcome, fingerprint in session.execute(
                sa.select(VerificationRequest.case_id, VerificationDecision.outcome,
                          VerificationDecision.identity_fingerprint)
                .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
                .where(VerificationDecision.outcome.in_(("verified", "rejected")))
                .order_by(VerificationDecision.id)):
            latest[case_id] = (outcome, fingerprint)
        return {cid: fp for cid, (outcome, fp) in latest.items() if outcome == "verified"}

    def adult(self, person: _Person, on: date) -> bool:
        """Whether `person` is an adult on `on` by their declared birth date AND by the verified registry record's:
        a minor by either is a minor for every children's rule (red team round 13)."""
        registry = self.registry_born.get(person.id)
        return adult_on(person.birth_date, on) and (registry is None or adult_on(registry, on))

    def travelling(self) -> dict[int, tuple[str, set[int]]]:
        """Per flight, who travels on it: aboard, once it has flown; on the manifest, before."""
        groups: dict[int, tuple[str, set[int]]] = {}
        for row in self.passengers:
            flight = self.flights[row.flight_id]
            if flight.state in FLOWN and row.boarding == "boarded":
                groups.setdefault(flight.id, ("aboard", set()))[1].add(row.case_id)
            elif flight.state in NOT_YET_FLOWN and row.approval in ON_MANIFEST:
                groups.setdefault(flight.id, ("on the manifest", set()))[1].add(row.case_id)
        return groups


def check_demo(session: Session) -> CheckReport:
    """Every rule of the module's docstring, over the whole database."""
    demo = _Demo(session)
    report = CheckReport()
    person_of = _people_as_one(session, demo)
    _registry_born_of_people(session, demo, person_of)
    _households(demo, report)
    travelling = demo.travelling()
    for flight_id, (how, cases) in sorted(travelling.items()):
        flight = demo.flights[flight_id]
        _families(demo, report, flight, how, cases, person_of)
        _minors_aboard(demo, report, flight, how, cases)
        _cleared_and_verified(demo, report, flight, how, cases)
    _minors_waiting(demo, report, person_of)
    _minors_behind(demo, report)
    _one_seat(demo, report, travelling, person_of)
    _one_emergency_document(session, demo, report, _people_as_one(session, demo, undecided=False))
    _states(demo, report, travelling)
    _concerns_listed(demo, report)
    _identifiers_ascii(session, report)
    _internships_adults_only(session, demo, report)
    _deboardings_confirmed(session, report)
    chain = verify_chain(session)
    report.examined["audit_chain"] = chain.records
    for problem in chain.problems:
        report.add("audit_chain", f"audit record {problem.seq}", problem.message)
    screenings = off_trail(session)
    report.examined["screenings_on_trail"] = screenings.screenings
    for off in screenings.problems:
        report.add("screenings_on_trail", f"case {off.case}, screening {off.screening}", off.problem)
    seals = unsealed(session)
    report.examined["records_as_sealed"] = seals.rows
    for row in seals.problems:
        report.add("records_as_sealed", f"{row.table} {row.row}", row.problem)
    differences = schema_differences(session.connection())
    report.examined["schema_as_migrated"] = len(Base.metadata.tables)
    for difference in differences:
        report.add("schema_as_migrated", "tables", difference)
    return report


def _internships_adults_only(session: Session, demo: _Demo, report: CheckReport) -> None:
    """A paid internship is for adults: every placement in one (any status: an offer declined was still made) of a
    returnee adult on the day of the offer and on the start; every internship asks 18 at least."""
    for reference, min_age in session.execute(sa.select(Opportunity.reference, Opportunity.min_age).where(
            Opportunity.kind == "internship", Opportunity.min_age < 18)):
        report.add("internships_adults_only", f"opportunity {reference}",
                   f"an internship open from the age of {min_age}")
    rows = session.execute(
        sa.select(Placement.id, Placement.case_id, Placement.status, Placement.offered_at, Placement.started_on,
                  Opportunity.reference, Opportunity.start_date)
        .join(Opportunity, Opportunity.id == Placement.opportunity_id).where(Opportunity.kind == "internship")
        .order_by(Placement.id))
    for row in rows:
        report.examined["internships_adults_only"] += 1
        person = demo.people[row.case_id]
        offered, start = _naive(row.offered_at).date(), row.started_on or row.start_date
        if not (demo.adult(person, offered) and demo.adult(person, start)):
            report.add("internships_adults_only", f"case {person.reference}",
                       f"a minor in the paid internship {row.reference} (placement {row.id}, '{row.status}', offered "
                       f"{offered}, starting {start})")


def _deboardings_confirmed(session: Session, report: CheckReport) -> None:
    """Per flight that departed, each of its passenger rows: one taken off after boarding was recorded off the
    aircraft first."""
    confirmed = {(record.object_id, (record.after or {}).get("flight")) for record in session.execute(
        sa.select(AuditRecord).where(AuditRecord.action == "boarding.deboarded",
                                     AuditRecord.object_type == "case")).scalars()}
    for reference, flight, boarding in session.execute(
            sa.select(Case.reference, Flight.reference, Passenger.boarding)
            .join(Passenger, Passenger.case_id == Case.id).join(Flight, Flight.id == Passenger.flight_id)
            .where(Flight.state.in_(FLOWN)).order_by(Flight.reference, Case.reference)):
        report.examined["deboardings_confirmed"] += 1
        if boarding == "leaving" or (boarding == "deboarded" and (reference, flight) not in confirmed):
            report.add("deboardings_confirmed", f"case {reference}",
                       f"boarded flight {flight}, was taken off its manifest and had to leave the aircraft; the "
                       "flight departed and nobody recorded them off it")


def _identifiers_ascii(session: Session, report: CheckReport) -> None:
    decided = (sa.select(Case.reference, VerificationDecision.registry_record)
               .join(VerificationRequest, VerificationRequest.case_id == Case.id)
               .join(VerificationDecision, VerificationDecision.request_id == VerificationRequest.id)
               .where(VerificationDecision.outcome == "verified"))
    for name, query in (
            ("national ID", sa.select(Case.reference, Case.national_id)),
            ("declared document number", sa.select(Case.reference, Case.declared_document_number)),
            ("travel document number", sa.select(Case.reference, TravelDocument.number)
             .join(TravelDocument, TravelDocument.case_id == Case.id)),
            ("verified registry record", decided)):
        for reference, value in session.execute(query):
            if value is None:
                continue
            report.examined["identifiers_ascii"] += 1
            if not value.isascii():
                report.add("identifiers_ascii", f"case {reference}",
                           f"{name} {value!r} holds {', '.join(f'U+{ord(c):04X}' for c in value if not c.isascii())}")


def _households(demo: _Demo, report: CheckReport) -> None:
    for hid, name in sorted(demo.households.items(), key=lambda item: item[1]):
        members = demo.members.get(hid, [])
        report.examined["one_head"] += 1
        report.examined["one_family"] += 1
        heads = [p.reference for p in members if p.head]
        if len(heads) != 1:
            report.add("one_head", f"household {name}",
                       f"{len(heads)} heads ({', '.join(heads) or 'none'}) among {len(members)} members")
    names = sorted(demo.households.values())
    for repeated in sorted({n for n in names if names.count(n) > 1}):
        report.add("one_family", f"household {repeated}", "the number is used more than once in its agency")


# The exits of an adult that let the others of the household go without a split (the product's rule, SPEC.md 4.3:
# they leave the process); a no-show is put back in line, and a minor who stays behind needs a split.
_LEFT_THE_PROCESS = ("withdrawn", "unfit_to_fly", "not_national")


def _families(demo: _Demo, report: CheckReport, flight: _Flight, how: str, cases: set[int],
              person_of: dict[int, int]) -> None:
    rule = "families_on_flown_flights" if flight.state in FLOWN else "families_on_manifests"
    # A person travels with their household by any of their records (`_people_as_one`: a cédula, a registry record, a
    # document, a possible duplicate decided the same person or undecided): a record of the household that is a
    # passenger's person is on the flight with them, and brings its household in (red team round 26c, F2), whichever
    # agency holds it (round 27, F1: another agency's second record of a mother flew alone, her child left behind;
    # round 57, F6: a household tied by a likeness to a passenger in the air was not read).
    # A record of another journey of the person (registered after one was received at its destination, or received
    # before the other was registered) is not with them: a person returned may be returned again (README, one seat).
    aboard: dict[int, list[int]] = defaultdict(list)
    for c in cases:
        aboard[person_of.get(c, c)].append(c)
    with_person = {p.id for p in demo.people.values()
                   if p.id not in cases and p.household is not None
                   and any(not demo.other_journeys(p.id, c) for c in aboard.get(person_of.get(p.id, p.id), ()))}
    households = {demo.people[c].household for c in cases | with_person} - {None}
    for hid in sorted(h for h in households if h is not None):
        report.examined[rule] += 1
        if hid in demo.splits:
            continue
        members = demo.members[hid]
        missing = [p for p in members if p.id not in cases and p.id not in with_person
                   and not (p.state in _LEFT_THE_PROCESS and demo.adult(p, flight.children_day))]
        if missing:
            report.add(rule, f"household {demo.households[hid]} on {flight.reference}",
                       f"{len(members) - len(missing)} of {len(members)} members {how}; not: " + ", ".join(
                           f"{p.reference} ({p.state})" for p in sorted(missing, key=lambda p: p.reference))
                       + "; no recorded split")


def _minors_aboard(demo: _Demo, report: CheckReport, flight: _Flight, how: str, cases: set[int]) -> None:
    people = [demo.people[c] for c in cases]
    with_adult = {p.household for p in people if p.household is not None and demo.adult(p, flight.children_day)}
    for person in sorted(people, key=lambda p: p.reference):
        if demo.adult(person, flight.children_day):
            continue
        report.examined["minors_with_an_adult"] += 1
        if person.household not in with_adult and person.id not in demo.determinations:
            report.add("minors_with_an_adult", f"case {person.reference} on {flight.reference}",
                       f"a minor {how} with no adult of their household on the flight and no best-interests "
                       "determination")


def minors_waiting(session: Session) -> CheckReport:
    """The `minors_with_an_adult` rule over the minors waiting alone (safeguard 2 from the screening on), read as
    `check_demo` reads it: people as one, births declared elsewhere. The invariant the stateful tests check."""
    demo = _Demo(session)
    report = CheckReport()
    person_of = _people_as_one(session, demo)
    _registry_born_of_people(session, demo, person_of)
    _minors_waiting(demo, report, person_of)
    return report


def _minors_waiting(demo: _Demo, report: CheckReport, person_of: dict[int, int]) -> None:
    today = utcnow().date()
    away = _travelling_elsewhere(demo, person_of)
    for person in sorted(demo.people.values(), key=lambda p: p.reference):
        # From the screening on: a minor registered alone is an unaccompanied child, which its screening says.
        if person.state not in WAITING or person.state == "registered" or demo.adult(person, today):
            continue
        report.examined["minors_with_an_adult"] += 1
        family = demo.members.get(person.household, []) if person.household is not None else []
        # An adult at the aircraft's door still waits with a minor on its manifest (a household boards one by one),
        # with no other: one registered after the adults flew, or left off their flight, is alone.
        door = demo.manifested_on[person.id]
        # An adult waiting by a record whose person travels, or travelled, by another waits with a minor at the door
        # of that flight only (red team round 29b, F1).
        # An adult holding a seat on a manifest waits with a minor on that manifest only (red team round 40, F1).
        if any(demo.adult(m, today) and (
                (m.state in WAITING and m.state != "manifested" and (m.id not in away or door & away[m.id]))
                or (m.state == "manifested" and door & demo.manifested_on[m.id])
                or (m.state == "boarded" and door & demo.boarded_on[m.id])) for m in family):
            continue
        if (person.id in demo.determinations or "unaccompanied_child" in demo.open_concerns[person.id]
                or "unaccompanied_child" in demo.raised[person.id]):
            continue
        report.add("minors_with_an_adult", f"case {person.reference}",
                   "a minor waiting with no adult of their household waiting with them, no best-interests "
                   "determination and no unaccompanied-child concern on record")


def _travelling_elsewhere(demo: _Demo, person_of: dict[int, int]) -> dict[int, set[int]]:
    """Per case, the flights its person (`_people_as_one`) travels on, or came by, by another record: a seat held on a
    manifest not yet flown or aboard a flight until received, and the flight of a reception after this case was
    registered (`cases.facts.other_records`, as `screening.left_alone` reads it). Cases with none are left out."""
    flights_of: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for flight_id, case_id, approval, boarding, arrival in demo.passengers:
        flight = demo.flights[flight_id]
        if ((flight.state in NOT_YET_FLOWN and approval in ON_MANIFEST)
                or (flight.state not in NOT_YET_FLOWN and boarding == "boarded" and arrival != "received")):
            flights_of[person_of[case_id]].add((case_id, flight_id))
    came_by = {case_id: flight_id for flight_id, case_id, _, _, arrival in demo.passengers if arrival == "received"}
    received: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for other, at in demo.received_at.items():
        if other in came_by:
            received[person_of[other]].append((other, at))
    away: dict[int, set[int]] = {}
    for case_id, root in person_of.items():
        found = {flight for other, flight in flights_of.get(root, ()) if other != case_id}
        found.update(came_by[other] for other, at in received.get(root, ())
                     if other != case_id and demo.registered_at[case_id] < at)
        if found:
            away[case_id] = found
    return away


def _minors_behind(demo: _Demo, report: CheckReport) -> None:
    """A minor who stays behind, whom every adult of the household has left (gone on a manifest, aboard, arrived):
    a determination or the unaccompanied-child concern on record."""
    today = utcnow().date()
    staying = (*(state for state in WAITING if state != "manifested"), *STAYING_BEHIND)
    for person in sorted(demo.people.values(), key=lambda p: p.reference):
        if person.state not in STAYING_BEHIND or person.household is None or demo.adult(person, today):
            continue
        adults = [m for m in demo.members[person.household] if demo.adult(m, today)]
        report.examined["minors_with_an_adult"] += 1
        if not adults or any(m.state in staying for m in adults):
            continue
        if (person.id in demo.determinations or "unaccompanied_child" in demo.open_concerns[person.id]
                or "unaccompanied_child" in demo.raised[person.id]):
            continue
        report.add("minors_with_an_adult", f"case {person.reference}",
                   f"a minor staying behind ('{person.state}') whom every adult of the household has left, with no "
                   "best-interests determination and no unaccompanied-child concern on record")


def _registry_born_of_people(session: Session, demo: _Demo, person_of: dict[int, int]) -> None:
    """`demo.registry_born`: per case, the youngest birth date recorded for a registry record of its person
    (`_people_as_one`) or declared on any record of theirs, as every children's rule reads it
    (`facts.people_births_elsewhere`: red team round 16, F2; round 17, O-F4; round 29b, F3)."""
    records: dict[int, set[int]] = defaultdict(set)
    for pid, root in person_of.items():
        records[root].add(pid)
    youngest = people_births_elsewhere(session, records)
    demo.registry_born = {pid: youngest[root] for pid, root in person_of.items() if root in youngest}


def _kind(document_type: str | None) -> str | None:
    """A document type as passport's (`P`) or other (`I`), None when not recorded (`cases.facts._document_kind`)."""
    return None if document_type is None else "P" if str(document_type).startswith("P") else "I"


def _people_as_one(session: Session, demo: _Demo, *, undecided: bool = True) -> dict[int, int]:
    """Per case, one case standing for its person: records sharing a cédula's digits, a registry record one receiving
    authority verified, a travel document, a declared document number (an identity card's as a cédula too), or a pair
    of possible duplicates decided the same person or (`undecided`) not decided at all (`same_person` or NULL) are
    one, transitively."""
    parent = {pid: pid for pid in demo.people}

    def root(pid: int) -> int:
        while parent[pid] != pid:
            parent[pid] = parent[parent[pid]]
            pid = parent[pid]
        return pid

    def join(ids: Iterable[int]) -> None:
        first: int | None = None
        for pid in ids:
            if pid not in parent:
                continue
            if first is None:
                first = root(pid)
            else:
                parent[root(pid)] = first

    keys: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for person in demo.people.values():
        if national_id_digits(person.national_id):
            keys[("cedula", national_id_digits(person.national_id))].append(person.id)
    for case_id, agency_id, record in session.execute(
            sa.select(VerificationRequest.case_id, VerificationRequest.receiving_agency_id,
                      VerificationDecision.registry_record)
            .join(VerificationRequest, VerificationRequest.id == VerificationDecision.request_id)
            .where(VerificationDecision.outcome == "verified", VerificationDecision.registry_record.is_not(None))):
        keys[("record", str(agency_id), record_digits(str(record)))].append(case_id)
        keys[("cedula", record_digits(str(record)))].append(case_id)  # the cédula of its digits (round 61, F3)
    # Document numbers by kind, passport's or other (`cases.facts._same_kind`): two kinds of one number are two
    # documents, flagged possible duplicates (round 63, F1), but for a number of no type or of the emergency series.
    numbers: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for case_id, state, number, problems, document_type in session.execute(
            sa.select(TravelDocument.case_id, TravelDocument.issuing_state, TravelDocument.number,
                      TravelDocument.problems, TravelDocument.document_type)
            .where(TravelDocument.withdrawn_at.is_(None))):
        # A placeholder number links nobody (`identifiers.placeholder_document_number`), nor a document refused as
        # another identity's (`documents.models.links_records`).
        if not placeholder_document_number(str(number)) and not refused_as_anothers(problems):
            keys[("document", str(state), str(number))].append(case_id)
            numbers[str(number)].append((case_id, _kind(document_type)))
    for case_id, declared, kind in session.execute(
            sa.select(Case.id, Case.declared_document_number, Case.declared_document_type)
            .where(Case.declared_document_number.is_not(None))):
        if not placeholder_document_number(str(declared)):
            numbers[str(declared)].append((case_id, _kind(kind)))
            # An identity card's number is a national ID (red team round 60, F3); one of the emergency series is
            # that document, whatever its type (round 63, F1).
            if not str(kind or "").startswith("P") and not emergency_series_number(str(declared)):
                for digits in {national_id_digits(str(declared)), identity_card_digits(str(declared))} - {""}:
                    keys[("cedula", digits)].append(case_id)
    for number, held in numbers.items():
        if emergency_series_number(number):
            keys[("number", number)].extend(case_id for case_id, _ in held)
            continue
        for kind in ("P", "I"):
            keys[("number", number, kind)].extend(case_id for case_id, held_kind in held if held_kind in (kind, None))
    for ids in keys.values():
        join(ids)
    for case_id, other_id in session.execute(
            sa.select(PossibleDuplicate.case_id, PossibleDuplicate.other_case_id)
            .where(sa.or_(PossibleDuplicate.decision.is_(None) if undecided else sa.false(),
                          PossibleDuplicate.decision == "same_person"))):
        join((case_id, other_id))
    return {pid: root(pid) for pid in demo.people}


def _one_seat(demo: _Demo, report: CheckReport, travelling: dict[int, tuple[str, set[int]]],
              person_of: dict[int, int]) -> None:
    seats: dict[int, list[tuple[str, str]]] = defaultdict(list)
    # Aboard a flight that left, a person holds the seat until received at the destination (red team round 29, F1).
    on_the_way = {(flight, case) for flight, case, _, boarding, arrival in demo.passengers
                  if boarding == "boarded" and arrival != "received"}
    for flight_id, (_, cases) in sorted(travelling.items()):
        flight = demo.flights[flight_id]
        for case_id in cases:
            if flight.state not in NOT_YET_FLOWN and (flight_id, case_id) not in on_the_way:
                continue
            report.examined["one_seat"] += 1
            seats[person_of[case_id]].append((demo.people[case_id].reference, flight.reference))
    for held in seats.values():
        if len(held) > 1:
            report.add("one_seat", "cases " + ", ".join(sorted(ref for ref, _ in held)),
                       "records of one person (or of a possible duplicate no supervisor has decided) hold "
                       f"{len(held)} seats: " + ", ".join(f"{ref} on {flight}" for ref, flight in sorted(held)))
    # A record registered before another of its person was received at the destination holds no seat: the journey it
    # was registered for is made.
    received: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for case_id, at in demo.received_at.items():
        received[person_of[case_id]].append((at, case_id))
    for person, held in seats.items():
        for reference, flight_ref in held:
            case_id = demo.by_reference[reference]
            came = [(at, other) for at, other in received.get(person, ()) if other != case_id
                    and demo.registered_at[case_id] < at]
            if came:
                at, other = max(came)
                report.add("one_seat", f"case {reference}",
                           f"holds a seat on {flight_ref}, registered before {demo.people[other].reference} of the "
                           f"same person was received at its destination ({at.isoformat(timespec='minutes')})")


def _one_emergency_document(session: Session, demo: _Demo, report: CheckReport, person_of: dict[int, int]) -> None:
    """Per person (`_people_as_one`) and issuing state, at most one valid emergency travel document: issued here,
    valid, on file, for the identity its record has now, not expired, of a record not closed before boarding
    (withdrawn or unfit to fly). Red team round 17, O-F2: two were issued to records alike and both stayed valid."""
    today = utcnow().date()
    held: dict[tuple[int, str], list[tuple[str, str]]] = defaultdict(list)
    for case_id, number, state, fingerprint, expiry in session.execute(
            sa.select(TravelDocument.case_id, TravelDocument.number, TravelDocument.issuing_state,
                      TravelDocument.identity_fingerprint, TravelDocument.expiry_date)
            .where(TravelDocument.emergency, TravelDocument.issued_by_agency_id.is_not(None),
                   TravelDocument.mrz_valid, TravelDocument.withdrawn_at.is_(None))
            .order_by(TravelDocument.id)):
        person = demo.people[case_id]
        report.examined["one_emergency_document"] += 1
        if (fingerprint == person.fingerprint and person.state not in ("withdrawn", "unfit_to_fly")
                and (expiry is None or expiry >= today)):
            held[(person_of[case_id], str(state))].append((person.reference, str(number)))
    for (_, state), documents in sorted(held.items(), key=lambda item: item[1]):
        if len(documents) > 1:
            report.add("one_emergency_document", "cases " + ", ".join(sorted({ref for ref, _ in documents})),
                       f"records of one person hold {len(documents)} valid emergency travel documents of {state}: "
                       + ", ".join(f"{number} ({ref})" for ref, number in documents))


def _cleared_and_verified(demo: _Demo, report: CheckReport, flight: _Flight, how: str, cases: set[int]) -> None:
    rule = "cleared_and_verified"
    for person in sorted((demo.people[c] for c in cases), key=lambda p: p.reference):
        report.examined[rule] += 1
        subject = f"case {person.reference} {how} {flight.reference}"
        if person.id not in demo.screened:
            report.add(rule, subject, "never screened")
        concerns = demo.open_concerns[person.id]
        if flight.state in FLOWN:
            # Aboard a flight that has left: a concern raised after it left is recorded and leaves the person aboard
            # (README, rule 1); one open from before it left is a person who should never have boarded.
            concerns = {code for code in concerns if demo.open_raised[person.id].get(code, flight.departed)
                        < flight.departed}
        if concerns:
            report.add(rule, subject, "open protection concern(s): " + ", ".join(sorted(concerns)))
        if person.id not in demo.verified_as:
            report.add(rule, subject, "not verified by the receiving side")
        elif demo.verified_as[person.id] != person.fingerprint:
            report.add(rule, subject, "verified for an identity other than the one the case has now")
        usable = [expiry for fingerprint, expiry in demo.documents.get(person.id, [])
                  if fingerprint == person.fingerprint and (expiry is None or expiry >= flight.day)]
        if not usable:
            report.add(rule, subject, f"no travel document for this identity valid on {flight.day.isoformat()}")


def _concerns_listed(demo: _Demo, report: CheckReport) -> None:
    rule = "concerns_listed"
    for person in sorted(demo.people.values(), key=lambda p: p.reference):
        report.examined[rule] += 1
        subject, listed, since = f"case {person.reference}", demo.listed.get(person.id), demo.open_since.get(person.id)
        if listed is None and since is not None:
            report.add(rule, subject, "a concern of its own is open ("
                       + ", ".join(sorted(demo.own_concerns[person.id])) + ") but the lists do not show it")
        elif listed is not None and since is None:
            report.add(rule, subject, "listed with an open concern, but none of its own is open")
        elif listed != since:
            report.add(rule, subject, f"listed as open since {listed}, but its oldest open concern was raised {since}")


def _states(demo: _Demo, report: CheckReport, travelling: dict[int, tuple[str, set[int]]]) -> None:
    manifested: dict[int, list[str]] = defaultdict(list)
    aboard: set[int] = set()
    received: set[int] = set()
    for flight_id, (_, cases) in travelling.items():
        flight = demo.flights[flight_id]
        for case_id in cases:
            if flight.state in FLOWN:
                aboard.add(case_id)
            else:
                manifested[case_id].append(flight.reference)
    at_the_door: set[int] = set()
    for row in demo.passengers:
        flight = demo.flights[row.flight_id]
        if flight.state == "arrived" and row.arrival == "received":
            received.add(row.case_id)
        if flight.state in NOT_YET_FLOWN and row.approval in ON_MANIFEST and row.boarding == "boarded":
            at_the_door.add(row.case_id)
    for person in sorted(demo.people.values(), key=lambda p: p.reference):
        report.examined["states_agree"] += 1
        flights = manifested.get(person.id, [])
        subject = f"case {person.reference}"
        if len(flights) > 1:
            report.add("states_agree", subject, f"on the manifests of {len(flights)} flights: {', '.join(flights)}")
        expected = ("boarded" if person.id in at_the_door else "manifested") if flights else None
        if person.state != expected and (flights or person.state == "manifested"):
            report.add("states_agree", subject, f"state '{person.state}' but on the manifest of "
                                                f"{', '.join(flights) or 'no flight'}"
                                                + (" and boarded at its door" if person.id in at_the_door else ""))
        if person.state == "boarded" and not flights and person.id not in aboard:
            report.add("states_agree", subject, "state 'boarded' but aboard no flight")
        if person.id in aboard and person.state in WAITING:
            report.add("states_agree", subject, f"aboard a flight that departed but still '{person.state}'")
        if person.state in ARRIVED and person.id not in received:
            report.add("states_agree", subject, f"state '{person.state}' but never received from an arrived flight")


def format_report(report: CheckReport) -> list[str]:
    """The report as lines: one per rule (examined, problems), then every finding."""
    lines = [f"{'ok' if not report.problems(check) else 'FAIL':4} {check}: {report.examined[check]} examined, "
             f"{len(report.problems(check))} problem(s)" for check in CHECKS]
    lines += [str(finding) for finding in report.findings]
    return lines

