"""Possible duplicates: two records found alike, for a supervisor to decide (SPEC.md 4.1).

Every door that makes a case or changes what it says of the person flags two records that may be one person, against
every sending agency's records (`flag_possible_duplicates`: a registration through the API or the page, a correction
of the names, the birth date or the cédula; an import compares its rows so too, `travel.load`), scored and blocked by
`cases.duplicates`. Until a supervisor decides,
a pair whose person has a protection concern open holds both records back (`cases.facts.protection_status`): the
same person typed twice, with no number in common, must not fly on the record without the asylum claim. The
supervisor decides once, with a written reason: `same_person` links the two records for good (`facts._linked_pairs`:
every concern of one holds the other), `different_people` ends the hold.

What follows for travel is the same as for any concern open on a record of the person: a passenger held so leaves
every manifest at once (`pull_held`), when a flag is made for them, when a concern is raised on their possible
duplicate, or when a decision makes them one person with a record holding one; the commit-time guard
(`travel.invariants`) checks the manifests of both records of every flag written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import identifiers
from retorno.agencies.models import Agency, User
from retorno.agencies.permissions import action, reader
from retorno.audit.service import Entry, record, record_many, text_digest
from retorno.cases.duplicates import HeldCase, describe_reason, fields_agreeing, find_duplicates, keys_to_compare
from retorno.cases.duplicates import PossibleDuplicate as FoundDuplicate
from retorno.cases.facts import (
    CountedTogether,
    own_open_concerns,
    protection_status,
    same_person,
    undecided_duplicates,
)
from retorno.cases.facts import records_alike as counted_alike
from retorno.cases.models import (
    DIFFERENT_PEOPLE,
    DUPLICATE_DECISIONS,
    ONE_PERSON,
    Case,
    PossibleDuplicate,
    cedula_digits,
    identity_card_digits,
    national_id_digits,
)
from retorno.cases.service import ANOTHER_AGENCY, LINKED_RECORD_REACTIONS, advance, can_see, ensure_owner
from retorno.db import among, bulk_insert, utcnow
from retorno.documents import service as documents
from retorno.documents.models import HELD_BY_ANOTHER, TravelDocument, links_records
from retorno.errors import Forbidden, InvalidInput, InvalidTransition, Message, NotFound
from retorno.flights.service import households_read, take_off_for_higher_needs, take_off_households, take_off_manifests
from retorno.reasons import written_reason
from retorno.travel import seats


@dataclass(frozen=True)
class DuplicateShown:
    """A possible duplicate of a case as its page and the API show it."""

    # The other record's reference when the reader may read it (`cases.service.can_see`), else only "another agency":
    # another country's record is named to nobody.
    other: str
    other_named: bool
    # The flag's number among the case's own flags, 1 for its oldest (`_pairs`' order), by which a supervisor names it
    # in a decision whoever holds the other record. It counts no other case's flags: the flags' ids, one sequence
    # across the system, told an officer how many flags every agency had, both countries' (red team round 3).
    flag: int
    # How alike (None for another agency's record the reader may not see: `_UNSEEN_REASON`).
    score: float | None
    # Why they were found alike, in Spanish and in English (`cases.duplicates.describe_reason`).
    reason_es: str
    reason_en: str
    decision: str | None
    decided_at: datetime | None
    # Whether the pair holds the case back now (undecided, and a protection concern open on either person), as the
    # reader may know it: from the concerns of records they may read (`_concerns_seen`), never another country's;
    # None for another agency's record the reader may not see, unless a concern of the case's person they may read
    # holds it.
    holding: bool | None
    # Of two records in two countries, whose "different people" one agency has said (`_first_word`): whose word the
    # decision awaits (`_awaiting`), "other_agency" (the reader's agency said it) or "this_agency" (the other said it,
    # and the reader's agency may decide: it holds one of the two records); else None.
    awaiting: str | None = None
    # Whether a supervisor of the reader's agency may decide the pair (`_may_decide`): the page offers its form only so.
    decidable: bool = False


# Of a record the reader may not see (another country's agency's), a flag tells only that it exists and is to be
# decided (red team round 5, A-F5 and B-F1): its score and the comparison of the fields confirmed, one registration at
# a time, the name and birth date an officer guessed of a person held in another country, and `holding` whether that
# person had a protection concern open there (SPEC.md 4.6). A refusal at a travel step still says that another agency
# holds a concern open for the same person, as every door's refusal does.
_UNSEEN_REASON = ("parecido a un registro que tiene otra agencia", "alike to a record another agency holds")


def _pairs(session: Session, case: Case) -> list[tuple[PossibleDuplicate, Case]]:
    rows = session.execute(sa.select(PossibleDuplicate).where(
        sa.or_(PossibleDuplicate.case_id == case.id, PossibleDuplicate.other_case_id == case.id))
        .order_by(PossibleDuplicate.id)).scalars().all()
    pairs = []
    for pair in rows:
        other = session.get(Case, pair.other_case_id if pair.case_id == case.id else pair.case_id)
        assert other is not None
        pairs.append((pair, other))
    return pairs


@reader("duplicate.read")
def possible_duplicates(session: Session, actor: User, case: Case) -> list[DuplicateShown]:
    """The possible duplicates of `case`, either side of the pair, oldest first."""
    ensure_owner(actor, case)
    pairs = _pairs(session, case)
    if not pairs:
        return []
    concern = _concerns_seen(session, actor, [case, *(other for _, other in pairs)])
    shown = []
    for number, (pair, other) in enumerate(pairs, start=1):
        undecided = pair.decision is None
        named = can_see(session, actor, other)
        first = session.get(User, pair.first_decided_by) if undecided and pair.first_decided_by is not None else None
        awaiting, decidable = _awaiting(actor, case, other, first), _may_decide(actor, case, other)
        if named:
            shown.append(DuplicateShown(other.reference, True, number, round(pair.score, 3),
                                        describe_reason(pair.reason, "es"), describe_reason(pair.reason, "en"),
                                        pair.decision, pair.decided_at,
                                        undecided and (concern[case.id] or concern[other.id]), awaiting, decidable))
        else:
            shown.append(DuplicateShown(ANOTHER_AGENCY, False, number, None, *_UNSEEN_REASON, pair.decision,
                                        pair.decided_at, (undecided and concern[case.id]) or None, awaiting,
                                        decidable))
    return shown


def _may_decide(actor: User, case: Case, other: Case) -> bool:
    """THE rule of who decides a possible duplicate (`decide_duplicate`), and so of whom the flag tells that the
    decision awaits them (`_awaiting`): a supervisor of an agency holding one of the two records. Another sending
    agency of the same country reads the case, never decides its pair."""
    return actor.agency_id in (case.agency_id, other.agency_id)


def _awaiting(actor: User, case: Case, other: Case, first: User | None) -> str | None:
    """Whose word an undecided pair with one agency's "different people" (`first`, who said it) awaits, as `actor` is
    told: "other_agency" to the agency that said it, "this_agency" only to the agency that may give the second word
    (`_may_decide`, and not the first's); nothing to an agency holding neither record, which may not decide it (red
    team round 18, R-F5: SRE's supervisor, of INM's country, was told "this_agency" on INM's flag with ICE's record,
    then refused 403 when it decided)."""
    if first is None:
        return None
    if first.agency_id == actor.agency_id:
        return "other_agency"
    return "this_agency" if _may_decide(actor, case, other) else None


def _concerns_seen(session: Session, actor: User, records: Sequence[Case]) -> dict[int, bool]:
    """Per record among `records` that `actor` may read, whether its person has a protection concern open as `actor`
    may know it: on the record, or on another record of the person that `actor` may read (`same_person`), never on
    another country's record nor through another flag (red team round 9, H1: the flag between an officer's own two
    records of a person said `holding` when the other country's record alike had an asylum claim open, and not
    when it had none; `protection_status`, which the hold itself decides on, counts every record of the person in
    every agency and their possible duplicates)."""
    seen = [record_ for record_ in dict.fromkeys(records) if can_see(session, actor, record_)]
    links = same_person(session, [record_.id for record_ in seen])
    visible: dict[int, bool] = {record_.id: True for record_ in seen}
    for other_id in sorted({other for others in links.values() for other in others} - visible.keys()):
        other = session.get(Case, other_id)
        visible[other_id] = other is not None and can_see(session, actor, other)
    person = {record_.id: {record_.id, *(o for o in links.get(record_.id, {}) if visible[o])} for record_ in seen}
    codes = own_open_concerns(session, sorted(set().union(*person.values())))
    return {case_id: any(codes.get(r) for r in records_) for case_id, records_ in person.items()}


# How a decision's refusal names the other record when the supervisor may not read it.
_ANOTHER_AGENCYS_RECORD = "another agency's record"


def _named(session: Session, actor: User, other: Case) -> str | Message:
    """The other record of a pair as `actor` may be told of it: its reference, or only that another agency holds it."""
    return other.reference if can_see(session, actor, other) else Message(_ANOTHER_AGENCYS_RECORD)


def _pair_named(session: Session, actor: User, case: Case, name: str
                ) -> tuple[PossibleDuplicate, Case, int] | None:
    """The pair of `case` that `name` names, with its number among the case's flags: by that number
    (`DuplicateShown.flag`), or by the other record's reference when `actor` may read it (another country's
    reference names nothing to them). Of several flags of one pair (an identity corrected after a decision is
    flagged again), the one undecided."""
    named = [(pair, other, number) for number, (pair, other) in enumerate(_pairs(session, case), start=1)
             if name == str(number) or (name == other.reference and can_see(session, actor, other))]
    return next((found for found in named if found[0].decision is None), named[-1] if named else None)


@action("duplicate.decide")
def decide_duplicate(session: Session, actor: User, case: Case, other_reference: str, *, decision: str,
                     reason: str) -> PossibleDuplicate:
    """A supervisor of an agency holding one of the two records decides whether they are one person, once.

    `same_person` links the records for good: a record of the person on a manifest with a concern open on the other
    leaves it (`advance`, whose reactions pull linked records); `different_people` ends the hold, and each record
    moves on as far as its own facts allow. Of two records in two countries (the supervisor may not read the other),
    `different_people` is the first agency's word until a supervisor of the other agency says it too
    (`_first_word`); `same_person` is either's alone.
    """
    ensure_owner(actor, case)
    if decision not in DUPLICATE_DECISIONS:
        raise InvalidInput("decision must be 'same_person' or 'different_people'", code="invalid_decision")
    reason = written_reason(reason)
    found = _pair_named(session, actor, case, other_reference)
    if found is None:
        raise NotFound("case %(case)s has no possible duplicate %(other)s", case=case.reference,
                       other=other_reference)
    pair, other, number = found
    if not _may_decide(actor, case, other):
        raise Forbidden("cases %(case)s and %(other)s are other agencies' records: a supervisor of an agency holding "
                        "one of them decides", code="forbidden.duplicate.decide", case=case.reference,
                        other=_named(session, actor, other))
    # A `different_people` found wrong is corrected to `same_person`, the safe direction, by a supervisor with a reason
    # (red team round 44b, F2: a wrong "different people" let a person's new record go on while the asylum claim of
    # their withdrawn one stayed open, and nothing could take it back). The other way stays refused: a link, once
    # made, holds for good.
    corrected = pair.decision if pair.decision == DIFFERENT_PEOPLE and decision == ONE_PERSON else None
    if pair.decision is not None and corrected is None:
        raise InvalidTransition("the possible duplicate %(case)s / %(other)s was decided already (%(decision)s)",
                                code="duplicate_decided", case=case.reference, other=_named(session, actor, other),
                                decision=pair.decision)
    if decision == DIFFERENT_PEOPLE and not (can_see(session, actor, case) and can_see(session, actor, other)):
        first = session.get(User, pair.first_decided_by) if pair.first_decided_by is not None else None
        if first is None or first.agency_id == actor.agency_id:
            _first_word(session, actor, case, other, pair, number, reason, said=first is not None)
            return pair
    stood_for = households_read(session, [case, other]) if decision == DIFFERENT_PEOPLE else {}
    pair.decision, pair.decided_by, pair.decided_at = decision, actor.id, utcnow()
    pair.decision_reason = reason
    session.flush()
    record(session, actor, "duplicate.decide", "case", case.reference,
           after={"other": str(_named(session, actor, other)), "flag": number, "decision": decision,
                  "reason_sha256": text_digest(session, reason), **({"corrects": corrected} if corrected else {})})
    if stood_for:
        # A record on a flight stood for its person in the other record's household: no longer (`take_off_households`).
        now = households_read(session, [case, other])
        for record_ in (case, other):
            if lost := stood_for[record_.id] - now[record_.id]:
                take_off_households(session, actor, record_, lost,
                                    reason="another record of a household member was decided another person's")
    if decision == DIFFERENT_PEOPLE:
        _kept_apart_across_countries(session, actor, [(case.id, other.id, actor.agency.country)])
    for record_ in (case, other):
        advance(session, actor, record_)
    return pair


def keep_decided_apart(session: Session, by: User | None, case_ids: Sequence[int] | None = None) -> int:
    """The rule of `_kept_apart_across_countries` after any link made, whatever its order with the decision (red team
    round 53, F1: with INM's "different people" decided first and ICE's record linked to SRE's only later, by ICE's
    registration or correction or the receiving authority's verification, INM's person held by ICE's asylum claim was
    approved on a manifest, or stayed aboard, ICE never asked). Over the "different people" decided on two records of
    one country touching the person of `case_ids` (None: every one, after an import's rows); returns the flags made."""
    query = sa.select(PossibleDuplicate.case_id, PossibleDuplicate.other_case_id).where(
        PossibleDuplicate.decision == DIFFERENT_PEOPLE)
    if case_ids is not None:
        alike = counted_alike(session, list(case_ids))
        group = sorted({*case_ids, *(other for found in alike.values() for other in found)})
        query = query.where(sa.or_(among(PossibleDuplicate.case_id, group), among(PossibleDuplicate.other_case_id,
                                                                                  group)))
    pairs = session.execute(query).all()
    if not pairs:
        return 0
    ids = sorted({case_id for pair in pairs for case_id in pair})
    countries = dict(session.execute(sa.select(Case.id, Agency.country).join(Agency, Agency.id == Case.agency_id)
                                     .where(among(Case.id, ids))).all())
    return _kept_apart_across_countries(session, by, [(case_id, other_id, countries[case_id])
                                                         for case_id, other_id in pairs
                                                         if countries.get(case_id) == countries.get(other_id)])


def _kept_apart_across_countries(session: Session, actor: User | None, pairs: Sequence[tuple[int, int, str]]) -> int:
    """One country's "different people" on two of its records speaks for that country only: a record another
    country's agency holds that is linked as the same person to one of the two stays counted with the other, flagged
    with it (`keep_flags`) for both agencies to decide, each its word, as any flag across countries (red team round 52,
    F1: SRE registered a record with INM's person's name and birth date and ICE's person's cédula; INM's supervisor
    decided its two records different people, and INM's person, held by ICE's open asylum claim, was approved on a
    manifest, ICE never asked); or counted with it through possible duplicates (round 53, F2: INM's record alike to
    SRE's, SRE's to ICE's). No flag where one is there undecided, or different people decided already. `pairs`:
    the two records decided different people (by ids) and the country whose word that was."""
    ids = sorted({case_id for case_id, other_id, _ in pairs for case_id in (case_id, other_id)})
    if not ids:
        return 0
    # Linked as the same person, or through possible duplicates no supervisor has decided (red team round 53, F2).
    links = counted_alike(session, ids)
    foreign = sorted({linked for record_id in ids for linked in links.get(record_id, {})} - set(ids))
    if not foreign:
        return 0
    countries = dict(session.execute(sa.select(Case.id, Agency.country).join(Agency, Agency.id == Case.agency_id)
                                     .where(among(Case.id, foreign))).all())
    everyone = [*ids, *foreign]
    flagged = {frozenset((pair.case_id, pair.other_case_id)) for pair in session.execute(
        sa.select(PossibleDuplicate).where(
            among(PossibleDuplicate.case_id, everyone), among(PossibleDuplicate.other_case_id, everyone),
            sa.or_(PossibleDuplicate.decision.is_(None), PossibleDuplicate.decision == DIFFERENT_PEOPLE))).scalars()}
    now, flags = utcnow(), []
    for case_id, other_id, country in pairs:
        for mine, theirs in ((case_id, other_id), (other_id, case_id)):
            for linked in sorted(set(links.get(theirs, {})) - {case_id, other_id}):
                if linked not in countries or countries[linked] == country or frozenset((mine, linked)) in flagged:
                    continue
                flagged.add(frozenset((mine, linked)))
                flags.append({"case_id": mine, "other_case_id": linked, "score": 1.0,
                              "reason": "counted_through_decided_record", "created_at": now})
    return keep_flags(session, actor, flags)


def _first_word(session: Session, actor: User, case: Case, other: Case, pair: PossibleDuplicate, number: int,
                reason: str, *, said: bool) -> None:
    """The first agency's "different people" on a pair whose other record it may not read (another country's): kept
    apart from the decision, which a supervisor of the agency holding the other record makes (red team round 6, F6:
    an INM supervisor, told nothing of ICE's record, not its score nor that an asylum claim held it, said "different
    people", and the person INM holds was put back on a flight). Until then the pair holds as undecided; "the same
    person", the safe direction, is either agency's alone."""
    if said:
        raise InvalidTransition("your agency has already said that %(case)s and %(other)s are different people: a "
                                "supervisor of the agency holding the other record decides now",
                                code="duplicate_awaits_other_agency", case=case.reference,
                                other=_named(session, actor, other))
    pair.first_decided_by, pair.first_decided_at, pair.first_decision_reason = actor.id, utcnow(), reason
    session.flush()
    record(session, actor, "duplicate.decide", "case", case.reference,
           after={"other": str(_named(session, actor, other)), "flag": number, "decision": DIFFERENT_PEOPLE,
                  "awaits": "the other agency", "reason_sha256": text_digest(session, reason)})


# What duplicate detection compares of a case (`cases.duplicates.Person`): a correction of one is compared again.
COMPARED_FIELDS = frozenset({"given_names", "first_surname", "second_surname", "birth_date", "national_id", "sex"})
_COMPARED = (Case.id, Case.reference, Case.given_names, Case.first_surname, Case.second_surname, Case.birth_date,
             Case.national_id, Case.sex)
# Birth dates or cédulas asked in one statement: a registration asks one or two of each, a large import thousands.
_ASKED = 1000


def records_alike(session: Session, births: Iterable[date], national_ids: Iterable[str | None],
                  where: Sequence[sa.ColumnElement[bool]] = ()) -> dict[int, HeldCase]:
    """The held cases (meeting `where`), by id, that can share a blocking key of `cases.duplicates` with people born
    on `births` or holding `national_ids`: born on one of those days, on its day and month swapped or on a date near
    it (a digit off, the same day a year before or after, the 1st of January of its year), or holding one of those
    cédulas' digits (`cases.duplicates.keys_to_compare`; every record, for very many people). Off the birth-date and
    cédula indexes, in one statement for a registration's person (a thousand birth dates and a thousand cédulas a
    statement)."""
    national_ids = list(national_ids)
    born, keys = keys_to_compare(births, national_ids)
    if born is None:  # so many people that their near birth dates are about every date: every record
        return {case_id: HeldCase(reference, given, first, second, birth_date, national_id, sex=sex)
                for case_id, reference, given, first, second, birth_date, national_id, sex
                in session.execute(sa.select(*_COMPARED).where(*where)).all()}
    dates = sorted(born)
    digits = sorted((keys | set(map(national_id_digits, national_ids))) - {""})
    found: dict[int, HeldCase] = {}
    for start in range(0, max(len(dates), len(digits)), _ASKED):
        asked = [sa.select(*_COMPARED).where(condition, *where) for condition, values in (
            (Case.birth_date.in_(dates[start:start + _ASKED]), dates[start:start + _ASKED]),
            (cedula_digits(Case.national_id).in_(digits[start:start + _ASKED]), digits[start:start + _ASKED]))
            if values]
        statement = asked[0] if len(asked) == 1 else sa.union(*asked)
        found.update((case_id, HeldCase(reference, given, first, second, birth_date, national_id, sex=sex))
                     for case_id, reference, given, first, second, birth_date, national_id, sex
                     in session.execute(statement).all())
    return found


def as_compared(case: Case, index: int = 0) -> HeldCase:
    """`case` as duplicate detection compares it (its fields as they are now)."""
    return HeldCase(case.reference, case.given_names, case.first_surname, case.second_surname, case.birth_date,
                    case.national_id, index, case.sex)


def flag_possible_duplicates(session: Session, by: User, cases: Sequence[Case],
                             before: Sequence[HeldCase] | None = None) -> int:
    """Flag the records alike to `cases`, just registered or whose names, birth date or cédula were corrected,
    among every sending agency's records (SPEC.md 4.1: no door gets around the hold, and the same person is often held
    by two states, detained in one and moved to the other); returns how many flags were written.

    The import's detection (`cases.duplicates.find_duplicates`), on the few records that can share a blocking key with
    them (`records_alike`: for one person, one statement off the birth-date and cédula indexes). A pair flagged already
    and undecided, or decided one person, is not flagged again; one a supervisor decided are two people is, when the
    correction made them more alike than they were (`_alike_again`; `before`: the corrected `cases` as they were).
    Written as the import writes its flags (`keep_flags`).
    """
    if not cases:
        return 0
    session.flush()
    ids = [case.id for case in cases]
    records = [as_compared(case, index) for index, case in enumerate(cases)]
    alike = records_alike(session, [case.birth_date for case in cases], [case.national_id for case in cases])
    held = {case_id: person for case_id, person in alike.items() if case_id not in ids}
    id_of = {case.reference: case.id for case in cases} | {person.case_reference: case_id
                                                           for case_id, person in held.items()}
    found = find_duplicates(records, list(held.values()))
    if not found:
        return 0
    kept = {frozenset((first, second)) for first, second in session.execute(
        sa.select(PossibleDuplicate.case_id, PossibleDuplicate.other_case_id).where(
            sa.or_(among(PossibleDuplicate.case_id, ids), among(PossibleDuplicate.other_case_id, ids)),
            sa.or_(PossibleDuplicate.decision.is_(None), PossibleDuplicate.decision == ONE_PERSON)))}
    apart, again = _alike_again(session, by, found, records, ids, held, before)
    now, flags = utcnow(), []
    for duplicate in found:
        pair = (ids[duplicate.row_number], id_of[duplicate.other_case_reference or ""])
        if frozenset(pair) not in kept and frozenset(pair) not in apart:
            kept.add(frozenset(pair))
            # Flagged again after "different people": why, first (the supervisor decided on the rest).
            reason = "; ".join([*again.get(frozenset(pair), []), duplicate.reason])
            flags.append({"case_id": pair[0], "other_case_id": pair[1], "score": duplicate.score,
                          "reason": reason[:200], "created_at": now})
    return keep_flags(session, by, flags)


def _alike_again(session: Session, by: User, found: Sequence[FoundDuplicate], records: Sequence[HeldCase],
                 ids: Sequence[int], held: dict[int, HeldCase], before: Sequence[HeldCase] | None
                 ) -> tuple[set[frozenset[int]], dict[frozenset[int], list[str]]]:
    """The pairs among `found` (`records`, `ids`: the compared records and their ids, by row) that a supervisor decided
    are two people and that a correction did not make more alike: not flagged again (red team round 59, F2: a cédula
    recorded alone flagged the pair anew, and with the other person on a flight that had left, the household they now
    counted in refused the correction); and for each pair decided so that a correction made more alike, why, to flag
    it again with (`cases.duplicates.REASONS`: `flagged_again`, `now_same_<field>`).

    More alike is a field the two records now say the same thing in and did not before the correction (`before`: the
    corrected records as they were; `cases.duplicates.fields_agreeing`, the sex included, which the score does not
    read: red team round 60, F1, a record decided another person for its sex alone, corrected to hers, was approved on
    a flight while her asylum claim was open), or a higher score than both the decided flag's and the pair's before.
    Made less alike and then as alike again is flagged again: a supervisor looks once more rather than a step lost.

    A pair one agency said "different people" of, awaiting the other agency's word (`_first_word`), that a correction
    made more alike loses that first word, on the audit trail: both agencies decide again on the records as they are
    (red team round 61, F1: INM said it, then corrected its record's birth date to hers, and ICE's word, given without
    seeing INM's record, completed a decision made on another birth date; the record was approved on a flight while
    her asylum claim was open).
    """
    decided: dict[frozenset[int], float] = {}
    awaiting: dict[frozenset[int], list[PossibleDuplicate]] = {}
    for pair_ in session.execute(sa.select(PossibleDuplicate).where(
            sa.or_(among(PossibleDuplicate.case_id, list(ids)), among(PossibleDuplicate.other_case_id, list(ids))),
            sa.or_(PossibleDuplicate.decision == DIFFERENT_PEOPLE,
                   sa.and_(PossibleDuplicate.decision.is_(None), PossibleDuplicate.first_decided_by.is_not(None))))
                                ).scalars():
        key = frozenset((pair_.case_id, pair_.other_case_id))
        decided[key] = max(decided.get(key, 0.0), pair_.score)
        if pair_.decision is None:
            awaiting.setdefault(key, []).append(pair_)
    if not decided or before is None:
        return set(), {}
    by_reference = {person.case_reference: case_id for case_id, person in held.items()}
    apart, again = set(), {}
    for duplicate in found:
        other = by_reference[duplicate.other_case_reference or ""]
        if (pair := frozenset((ids[duplicate.row_number], other))) not in decided:
            continue
        was = {row.other_case_reference: row.score for row in find_duplicates([before[duplicate.row_number]],
                                                                              [held[other]])}
        now, then = (fields_agreeing(person[duplicate.row_number], held[other]) for person in (records, before))
        if now <= then and duplicate.score <= max(decided[pair], was.get(held[other].case_reference, 0.0)):
            apart.add(pair)
            continue
        why = ["flagged_again", *(f"now_same_{field}" for field in sorted(now - then))]
        if pair not in awaiting:
            again[pair] = why
        for waiting in awaiting.get(pair, []):
            waiting.first_decided_by = waiting.first_decided_at = waiting.first_decision_reason = None
            session.flush()
            record(session, by, "duplicate.first_word_withdrawn", "case", records[duplicate.row_number].case_reference,
                   after={"decision": DIFFERENT_PEOPLE, "withdrawn_for": "; ".join(why)})
    return apart, again


def keep_flags(session: Session, by: User | None, flags: Sequence[dict[str, Any]]) -> int:
    """Write possible duplicates (rows of `possible_duplicates`), whichever door found them; returns how many.

    Through the driver: the commit-time guard learns of both records of each pair (`travel.invariants.DRIVER_WRITES`)
    and checks their manifests. A passenger now held back by a possible duplicate whose person has a protection
    concern open leaves every manifest, as with any concern of the person's (`pull_held`).
    """
    if not flags:
        return 0
    bulk_insert(session, PossibleDuplicate.__table__, list(flags))
    _audit_flags(session, by, flags)
    flagged = {case_id for flag in flags for case_id in (flag["case_id"], flag["other_case_id"])}
    # A record counted now with one of a pair one country decided different people: another country's is flagged with
    # the other record of the pair (round 53, F1 and F2, whatever the order).
    keep_decided_apart(session, by, sorted(flagged))
    pull_held(session, by, flagged)
    # A flag makes the two records one person for the one-seat rule until a supervisor decides: kept, with one seat
    # (`seats.keep_one_seat`; red team round 14, L1: it was refused).
    seats.keep_one_seat(session, by, flagged)
    return len(flags)


def _audit_flags(session: Session, by: User | None, flags: Sequence[dict[str, Any]]) -> None:
    """Each flag written is on the audit trail (SPEC.md 4.7; red team round 6, F1: flags held a passenger off a locked
    manifest, and the trail showed only that): a `duplicate.flag` record on each of its two records, by whoever's door
    wrote it (registration, correction, import), naming the other record as `duplicate.decide` does, as the record's
    own side may read it: its reference when held in the same country, else only "another agency's record", without
    the score and reason (`_UNSEEN_REASON`). A monitor reads both objects as pseudonyms; a case's timeline names no
    other country's actor. All of them one append to the chain (`record_many`), however many an import writes."""
    ids = sorted({case_id for flag in flags for case_id in (flag["case_id"], flag["other_case_id"])})
    held: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), _ASKED):
        held.update((case_id, (reference, country)) for case_id, reference, country in session.execute(
            sa.select(Case.id, Case.reference, Agency.country).join(Agency, Agency.id == Case.agency_id)
            .where(among(Case.id, ids[start:start + _ASKED]))).all())
    entries = []
    for flag in flags:
        for this, other in ((flag["case_id"], flag["other_case_id"]), (flag["other_case_id"], flag["case_id"])):
            (reference, country), (other_reference, other_country) = held[this], held[other]
            told: dict[str, Any] = {"other": other_reference, "score": round(flag["score"], 3),
                                    "reason": flag["reason"]} if country == other_country else {
                "other": _ANOTHER_AGENCYS_RECORD}
            entries.append(Entry(FLAG_ACTION, "case", reference, after=told))
    record_many(session, by, entries)


def flag_unlinked(session: Session, by: User, withdrawn: list[TravelDocument], before: CountedTogether) -> None:
    """Records a withdrawn travel document made one person, two people again, are possible duplicates (red team
    RE8701 F1: INM's supervisor withdrew from INM's record the passport ICE had filed on its own record too, the link
    went, and with it the hold of ICE's asylum claim; INM filed an invented passport and the person was approved on a
    locked manifest. One agency alone undid a link to another agency's record, what its "different people" may not do
    alone: `_first_word`).

    Run by `documents.service.withdraw_document` (`UNLINKED_REACTIONS`) once the documents are withdrawn and before
    any record moves on: `withdrawn` the documents (one, or an emergency document and its copies), `before` who
    counted as one person with whom around their holders (`cases.facts.counted_together`), written by `keep_counted`.
    No flag where a `different_people` was decided after the document was filed (made on the records as linked: the
    withdrawal does not end what that decision ended alone); one decided before it is flagged again, the document
    having said since that they were one person.
    """
    keep_counted(session, by, before, holders=[document.case_id for document in withdrawn],
                 since=max(document.created_at for document in withdrawn), linked_reason="linked_by_withdrawn_document",
                 alike_reason="counted_through_withdrawn_document")


def keep_counted(session: Session, by: User | None, before: CountedTogether, *, holders: Sequence[int],
                 since: datetime | None, linked_reason: str, alike_reason: str) -> int:
    """After a link undone (a document withdrawn, a cédula or declared document corrected), every record keeps
    counted as its person every record it was counted with before (`before`, `cases.facts.counted_together`): each
    record no longer counted with one it was becomes a possible duplicate of it, written as every flag is
    (`keep_flags`: audited on both records, holding a person whose other record has a protection concern open, a
    medical need, a "not a national" finding, one seat between them), for supervisors to decide with the rules of
    any flag, across countries each agency's word for "different people". Returns how many flags were written.

    A record's count reads its links and the undecided possible duplicates of its linked records, one flag deep
    (`cases.facts.records_alike`), so a link undone in a chain (A linked to B by one passport, B to C by another; or
    C a possible duplicate of B, linked to A) may end a count two records away from it: every pair of records counted
    together before and not now is kept, not only the records the link joined (red team round 16, F3: the second of
    two withdrawals along a chain, or one beside a possible duplicate, freed a third record while A's refugee concern
    was open). One flag between the parts each still linked (a flag counts the other part's linked records): in a part
    holding one of `holders`, that record, else the part's oldest. No flag where the two parts have a `different_people`
    decided at or after `since` (`None`: none counts); an undecided one keeps them counted already.
    `linked_reason` is why for two parts linked before, `alike_reason` for two counted together through a possible
    duplicate only.
    """
    everyone = sorted(before.alike)
    if not any(before.alike.values()):
        return 0
    after = counted_alike(session, everyone)
    now_linked = same_person(session, sorted(set(everyone).union(*before.alike.values())))
    lost = [(case_id, other) for case_id in everyone
            for other in sorted(before.alike[case_id] - after.get(case_id, set()) - {case_id})]
    if not lost:
        return 0

    def part(case_id: int) -> set[int]:
        return {case_id, *now_linked.get(case_id, {})}

    def held(records: set[int]) -> int:
        return min((holder for holder in holders if holder in records), default=min(records))

    involved = sorted({record_ for pair in lost for case_id in pair for record_ in part(case_id)})
    decided = [(pair.case_id, pair.other_case_id) for pair in session.execute(sa.select(PossibleDuplicate).where(
        among(PossibleDuplicate.case_id, involved), among(PossibleDuplicate.other_case_id, involved),
        PossibleDuplicate.decision == DIFFERENT_PEOPLE)).scalars()
        if since is not None and pair.decided_at is not None and pair.decided_at >= since]
    countries = dict(session.execute(sa.select(Case.id, Agency.country).join(Agency, Agency.id == Case.agency_id)
                                     .where(among(Case.id, involved))).all())

    def standing_for(records: set[int]) -> list[int]:
        """One record of each country among `records` (`held` of that country's): a flag between two countries'
        records is decided "different people" by both agencies, so a part holding another country's record is flagged
        with that record itself (red team round 47a, F1: C unlinked from B, INM's, was flagged with B alone, though B
        stood for ICE's record with an open claim; one INM supervisor's word freed C, ICE never asked)."""
        by_country: dict[str | None, set[int]] = {}
        for record_ in records:
            by_country.setdefault(countries.get(record_), set()).add(record_)
        return sorted(held(group) for group in by_country.values())

    now, flags, kept = utcnow(), [], set()
    for case_id, other in lost:
        first, second = part(case_id), part(other)
        if any((a in first and b in second) or (a in second and b in first) for a, b in decided):
            continue
        for pair in ((a, b) for a in standing_for(first) for b in standing_for(second)):
            if frozenset(pair) in kept:
                continue
            kept.add(frozenset(pair))
            linked = pair[1] in before.linked.get(pair[0], set()) or pair[0] in before.linked.get(pair[1], set())
            flags.append({"case_id": pair[0], "other_case_id": pair[1], "score": 1.0,
                          "reason": linked_reason if linked else alike_reason, "created_at": now})
    return keep_flags(session, by, flags)


documents.UNLINKED_REACTIONS.append(flag_unlinked)


def flag_held_document(session: Session, by: User, case: Case, held: list[TravelDocument]) -> int:
    """`case` and each record holding a document of the number just filed on it with the problem
    `document_held_by_another` (`held`) are possible duplicates; returns how many flags were written.

    The document links nobody (`documents.models.links_records`: red team round 18, S-F2, it superseded the other
    person's emergency passport); but two identities under one number may be one person registered under two names,
    so a concern open on either record holds the other, one seat counts for both and a medical need of either
    counts, until supervisors decide, as for any flag (`keep_flags`; red team round 19, T-F1: a stranger holding the
    passport number of a person with an asylum claim open was approved and locked on a manifest, and a passenger
    aboard stayed aboard after the other record's concern). No flag for a pair flagged and undecided or decided one
    person, nor for one decided different people since the other record's document was filed (decided knowing it).
    """
    since: dict[int, datetime] = {}
    for document in held:
        since[document.case_id] = min(since.get(document.case_id, document.created_at), document.created_at)
    skip = set()
    for pair in session.execute(sa.select(PossibleDuplicate).where(sa.or_(
            sa.and_(PossibleDuplicate.case_id == case.id, among(PossibleDuplicate.other_case_id, list(since))),
            sa.and_(PossibleDuplicate.other_case_id == case.id, among(PossibleDuplicate.case_id, list(since)))))
            ).scalars():
        other = pair.other_case_id if pair.case_id == case.id else pair.case_id
        if pair.decision in (None, ONE_PERSON) or (
                pair.decision == DIFFERENT_PEOPLE and pair.decided_at is not None and pair.decided_at >= since[other]):
            skip.add(other)
    now = utcnow()
    return keep_flags(session, by, [{"case_id": case.id, "other_case_id": other, "score": 1.0,
                                     "reason": HELD_BY_ANOTHER, "created_at": now}
                                    for other in sorted(since) if other not in skip])


documents.HELD_REACTIONS.append(flag_held_document)

# Why two records are flagged when one's document number is the other's under another kind (`flag_other_kind_number`).
OTHER_KIND_NUMBER = "same_number_other_document"


def _kind(document_type: str | None) -> str:
    """A declared or filed document's type as `cases.facts._document_kind` compares them: a passport's (`P`), or an
    identity card's (`I`, a number of no type read as one, as it links a cédula: `cases.facts._identity_card`)."""
    return "P" if document_type is not None and document_type.startswith("P") else "I"


def _key(number: str | None) -> str | None:
    """A document number or a cédula as numbers of two kinds are compared (`flag_other_kind_number`): its digits,
    letters at either end and leading zeros taken off, as an identity card's number is read as a cédula
    (`identifiers.identity_card_digits`; red team round 64, F1: `V150443259`, `0163452230`, `160458305V` and the
    cédula `V129814199` were not compared with the passports of those digits). An emergency document's number too
    (`E26448220` is read `26448220`; it links by its number whatever its declared type, `cases.facts._same_kind`, and
    as a flag the cédula or identity card of its digits: round 65, F1 to F3, the cédula `E18988505`, an 'ID'
    `E26958658` and the cédula `V26448220` of an emergency document's digits were compared with nothing). None for a
    number that names nothing (`identifiers`) or one with letters among its digits."""
    digits = _digits(number)
    return digits if digits is not None and not _placeholder(number or "", digits) else None


def _digits(number: str | None) -> str | None:
    """`_key` without its placeholder checks (asked of the few numbers found under two kinds, `_placeholder`)."""
    if not number:
        return None
    digits = identifiers.identity_card_digits(number)
    return digits if digits and digits.isdigit() and digits.isascii() else None


def _placeholder(number: str, digits: str) -> bool:
    """Whether a number, or its digits, names nothing (`identifiers`: `placeholder_document_number`,
    `placeholder_cedula`)."""
    return identifiers.placeholder_document_number(number) or identifiers.placeholder_cedula(digits)


def _keys_of(session: Session, case_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """The (case, key, kind) of each number the records `case_ids` hold that may link records (`_key`): the document
    number declared on the record, its cédula (an identity card's), and the documents filed and linking
    (`links_records`)."""
    found: list[tuple[int, str | None, str]] = []
    for start in range(0, len(case_ids), _ASKED):
        chunk = list(case_ids[start:start + _ASKED])
        for case_id, number, document_type, national_id in session.execute(
                sa.select(Case.id, Case.declared_document_number, Case.declared_document_type, Case.national_id)
                .where(among(Case.id, chunk))):
            found += [(case_id, _key(number), _kind(document_type)), (case_id, _key(national_id), "I")]
        found.extend((case_id, _key(number), _kind(filed_type)) for case_id, number, filed_type in session.execute(
            sa.select(TravelDocument.case_id, TravelDocument.number, TravelDocument.document_type)
            .where(among(TravelDocument.case_id, chunk), links_records(TravelDocument))))
    return [(case_id, key, kind) for case_id, key, kind in found if key is not None]


def flag_other_kind_number(session: Session, by: User | None, case_ids: Sequence[int],
                           numbers: Collection[str | None] | None = None) -> int:
    """Records holding one number under two kinds of document (a passport's on one, declared or filed; an identity
    card's on the other, declared or filed, or its cédula), read by its digits (`_key`), are possible duplicates;
    returns how many flags were written.

    Such records are not linked (`cases.facts._same_kind`: a passport's number and an identity card's are two people's
    often enough, and a link is never undone by a decision); but the declared type is the official's choice, and a
    passport's number declared as an 'ID' is the commonest slip: red team round 63, F1, the passport number of a
    person on a manifest declared as an 'ID' on another agency's record with an asylum claim open left the passenger
    on it. So a concern open on either holds the other, and one seat counts for both, until supervisors decide, as for
    any flag (`keep_flags`). Called where a number appears on `case_ids` (a registration, an import's new rows, a
    correction of the declared number or type or of the cédula, a document filed), with `numbers` the numbers that
    appeared (None: all the records hold, new records): a pair decided different people before is flagged again, the
    number being new since (and says so first); one flagged and undecided, or decided one person, or linked, is not.
    Another record's document is found by its number as filed (its digits, or an emergency document's): one filed with
    other letters around its digits is compared from its own side only.
    """
    if not case_ids:
        return 0
    session.flush()
    appeared = None if numbers is None else {_key(number) for number in numbers} - {None}
    mine = [(case_id, key, kind) for case_id, key, kind in _keys_of(session, case_ids)
            if appeared is None or key in appeared]
    return _flag_holders(session, by, mine, _holders(session, {key for _, key, _ in mine}))


def flag_other_kind_number_of_new(session: Session, by: User | None,
                                  rows: Iterable[tuple[str, str | None, str | None, str | None]],
                                  held_before: int) -> int:
    """`flag_other_kind_number` for records registered now in bulk (an import's new rows: each one's reference,
    declared number and type, and cédula), the records held before being those of ids up to `held_before`: the
    numbers' other holders asked once for each thousand numbers, the new records' ids only of those to flag."""
    new: dict[str, list[tuple[str, str]]] = {}
    kinds: dict[str, set[str]] = {}
    written: dict[str, set[str]] = {}
    for reference, number, document_type, national_id in rows:
        for raw, kind in ((number, _kind(document_type)), (national_id, "I")):
            if (digits := _digits(raw)) is not None:
                new.setdefault(digits, []).append((reference, kind))
                kinds.setdefault(digits, set()).add(kind)
                written.setdefault(digits, set()).add(str(raw))
    if not new:
        return 0
    session.flush()
    # The records held before (none: an installation's first import) holding the numbers.
    old = _holders(session, new, held_before=held_before) if held_before else {}
    for key, held in old.items():
        if key in kinds:
            kinds[key].update(kind for _, kind in held)
    # The placeholder checks, of the few numbers found under two kinds only (a hundred thousand rows' took seconds).
    two_kinds = [key for key, found in kinds.items()
                 if len(found) > 1 and not any(_placeholder(raw, key) for raw in written[key])]
    wanted = sorted({reference for key in two_kinds for reference, _ in new[key]})
    ids: dict[str, int] = {}
    for start in range(0, len(wanted), _ASKED):
        ids.update((reference, case_id) for reference, case_id in session.execute(
            sa.select(Case.reference, Case.id).where(Case.reference.in_(wanted[start:start + _ASKED]))))
    holders = {key: [*old.get(key, ()), *((ids[reference], kind) for reference, kind in new[key])]
               for key in two_kinds}
    mine = [(ids[reference], key, kind) for key in two_kinds for reference, kind in new[key]]
    return _flag_holders(session, by, mine, holders)


# Keys asked in one statement (`among`: one parameter however many): an import's hundred thousand in ten.
_ASKED_BY_KEY = 10_000


def _holders(session: Session, keys: Collection[str], held_before: int | None = None
             ) -> dict[str, list[tuple[int, str]]]:
    """Per key (`_key`), the records holding it (of ids up to `held_before`, when given) and under which kind: declared
    (off the index of an identity card's digits), as a cédula (off the cédula's), or filed and linking (by the number
    as filed)."""
    asked = sorted(keys)
    holders: dict[str, list[tuple[int, str]]] = {}
    before = sa.true() if held_before is None else Case.id <= held_before
    for start in range(0, len(asked), _ASKED_BY_KEY):
        chunk = asked[start:start + _ASKED_BY_KEY]
        found = [(case_id, _key(number), _kind(kind)) for case_id, number, kind in session.execute(
            sa.select(Case.id, Case.declared_document_number, Case.declared_document_type)
            .where(among(identity_card_digits(Case.declared_document_number), chunk), before))]
        found += [(case_id, _key(national_id), "I") for case_id, national_id in session.execute(
            sa.select(Case.id, Case.national_id).where(among(cedula_digits(Case.national_id), chunk), before))]
        # A document by its number as filed: its digits, or an emergency document's (`E` and eight digits).
        filed = [*chunk, *(f"E{key}" for key in chunk if len(key) == 8)]
        found += [(case_id, _key(number), _kind(kind)) for case_id, number, kind in session.execute(
            sa.select(TravelDocument.case_id, TravelDocument.number, TravelDocument.document_type)
            .where(among(TravelDocument.number, filed), links_records(TravelDocument)))]
        for case_id, key, kind in found:
            if key is not None:
                holders.setdefault(key, []).append((case_id, kind))
    return holders


def _flag_holders(session: Session, by: User | None, mine: Sequence[tuple[int, str, str]],
                  holders: dict[str, list[tuple[int, str]]]) -> int:
    """Flag each of `mine` (case, key, kind) with each holder of its key under the other kind of document
    (`flag_other_kind_number`)."""
    pairs = {frozenset((case_id, other)) for case_id, key, kind in mine for other, other_kind in holders.get(key, ())
             if other != case_id and kind != other_kind}
    if not pairs:
        return 0
    involved = sorted({case_id for pair in pairs for case_id in pair})
    linked = same_person(session, involved)
    pairs = {pair for pair in pairs if not (set(pair) - {min(pair)}) <= set(linked.get(min(pair), {}))}
    standing: set[frozenset[int]] = set()
    apart: set[frozenset[int]] = set()
    for pair in session.execute(sa.select(PossibleDuplicate).where(
            among(PossibleDuplicate.case_id, involved), among(PossibleDuplicate.other_case_id, involved))).scalars():
        (apart if pair.decision == DIFFERENT_PEOPLE else standing).add(frozenset((pair.case_id, pair.other_case_id)))
    now = utcnow()
    return keep_flags(session, by, [{"case_id": first, "other_case_id": second, "score": 1.0, "created_at": now,
                                     "reason": ("flagged_again; " if frozenset((first, second)) in apart else "")
                                     + OTHER_KIND_NUMBER}
                                    for first, second in sorted(tuple(sorted(pair)) for pair in pairs - standing)])


def _filed_number_of_another_kind(session: Session, by: User, case: Case, document: TravelDocument) -> None:
    flag_other_kind_number(session, by, [case.id], numbers={document.number})


documents.FILED_REACTIONS.append(_filed_number_of_another_kind)


# The audit action of a possible duplicate written (`_audit_flags`).
FLAG_ACTION = "duplicate.flag"


def pull_held(session: Session, by: User | None, case_ids: Iterable[int]) -> list[str]:
    """Take off every manifest not yet flown, or back from 'ready', the records among `case_ids` and the other records
    of their people whom a possible duplicate now holds back for protection (or any concern of theirs), and those on a
    manifest whose medical needs, a possible duplicate's counted, are now above what it counted for them; returns the
    references taken off."""
    ids = sorted(set(case_ids))
    if not ids:
        return []
    # Every record the person may be (links, and chains of undecided possible duplicates: red team round 54, F1, a
    # new record linked to a passenger's possible duplicate and alike to a claimant left the passenger seated).
    people = sorted(set(ids).union(*counted_alike(session, ids).values()))
    waiting: list[int] = []
    for chunk in (people[i:i + 5000] for i in range(0, len(people), 5000)):
        waiting += session.execute(sa.select(Case.id).where(among(Case.id, chunk), Case.state.in_(_HELD_STATES))
                                   ).scalars()
    taken: list[str] = []
    for case_id, (_, concerns, escorts) in sorted(protection_status(session, sorted(waiting)).items()):
        record_ = session.get(Case, case_id)
        if record_ is None or record_.reference in taken:
            continue
        if not concerns:
            if record_.state in ("manifested", "boarded"):
                # The need of a possible duplicate counts until a supervisor decides (`facts._person_escorts`).
                taken += take_off_for_higher_needs(session, by, record_, escorts,
                                                   where="on a possible duplicate of this person")
            continue
        if record_.state in ("manifested", "boarded"):
            taken += take_off_manifests(session, by, record_, kind="protection_pull", back_to="documented",
                                        reason="a possible duplicate of this person has a protection concern open")
        else:
            advance(session, by, record_)  # back from 'ready'
    return taken


# The states a hold changes: on a manifest (taken off), or ready to be put on one (back to 'documented').
_HELD_STATES = ("ready", "manifested", "boarded")


def pull_possible_duplicates(session: Session, by: User | None, case: Case) -> None:
    """A change to `case` (a concern raised, a link made) may hold back the possible duplicates of its person."""
    if session.info.get(_PULLING):
        return
    records = [case.id, *same_person(session, [case.id]).get(case.id, {})]
    flagged = undecided_duplicates(session, records)
    if not flagged:
        return
    session.info[_PULLING] = True
    try:
        pull_held(session, by, {other for others in flagged.values() for other in others})
    finally:
        session.info.pop(_PULLING, None)


_PULLING = "retorno.pulling_possible_duplicates"
LINKED_RECORD_REACTIONS.append(pull_possible_duplicates)


def release_held(session: Session, by: User | None, case: Case) -> None:
    """A change to `case` (a concern resolved, a case withdrawn, a link undone) may release the other records of its
    person and its possible duplicates that waited in 'documented': each goes as far as its own guards allow now
    (`cases.service.advance`), as the holds took them back (`pull_possible_duplicates`). Red team round 82, F2: ICE's
    supervisor resolved the concern that held INM's record of the same person, and INM's record stayed 'documented',
    refused 'not ready to fly' with no reason, until someone happened to change it."""
    if session.info.get(_RELEASING):
        return
    others = set(same_person(session, [case.id]).get(case.id, {}))
    flagged = undecided_duplicates(session, [case.id, *others])
    others |= {other for found in flagged.values() for other in found}
    others.discard(case.id)
    waiting = [other for other in (session.get(Case, other_id) for other_id in sorted(others))
               if other is not None and other.state == "documented"]
    if not waiting:
        return
    session.info[_RELEASING] = True
    try:
        for other in waiting:
            advance(session, None, other)
    finally:
        session.info.pop(_RELEASING, None)


_RELEASING = "retorno.releasing_held_records"
LINKED_RECORD_REACTIONS.append(release_held)
