"""The households a case list's rows make and join: planned once, checked at the rows' cells, then written.

A household cell names a household code, another row's case, or a case the agency holds (`cases.rows` resolves it);
the new rows these names link are one group, which joins the one household held among what it names, or makes one.

Before anything is written, `problems` finds each row that would break a household rule against what the agency
holds — a re-import moving a case to another household, a group joining two families, a household given a second head
or left with none, a head re-imported as another relationship — as an error at the row's cell, in the one report that
names every bad row (red team round 44a, F2: these were refusals of the whole file at the write, one at a time and
only once every other bad row was mended, after a check-only report that showed nothing wrong). The rules a file
breaks by itself (two heads among its rows, a household of its own without a head) are `cases.rows`'s. `write`
applies the plan, and the refusals at the write (`moved`, `write`, `one_head_each`) stay as a second line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.audit.service import record
from retorno.cases import lifecycle
from retorno.cases.facts import records_alike
from retorno.cases.models import Case, Household
from retorno.cases.rows import CaseRow, linked
from retorno.cases.service import HEADS
from retorno.db import insert_columns, utcnow
from retorno.errors import InvalidInput, InvalidTransition, Message
from retorno.flights.airports import earliest_day
from retorno.flights.models import Flight, HouseholdSplit, Passenger
from retorno.flights.service import leaving_unconfirmed
from retorno.safeguards import is_minor

_CHUNK = 5000


@dataclass
class Plan:
    """The groups a file's new rows make. `groups`: each row's group (None: the row names no household and none names
    it, so it is in none); `nodes`: each group's members, `row:REF` a new row, `case:ID` a held case a cell names,
    `code:CODE` a household code a cell names; `codes`: the agency's household codes, to their ids;
    `held_household`: each held case named, to its household (None: in none yet)."""

    groups: list[str | None]
    nodes: dict[str, list[str]]
    codes: dict[str, int]
    held_household: dict[int, int | None]

    def existing(self, group: str) -> set[int]:
        """The households held that `group` names: one it joins; two or more, a file joining families."""
        nodes = self.nodes[group]
        found = {household for node in nodes if node.startswith("case:")
                 if (household := self.held_household[int(node[5:])]) is not None}
        found |= {self.codes[node[5:]] for node in nodes if node.startswith("code:") and node[5:] in self.codes}
        return found

    def held_cases(self, group: str) -> list[int]:
        """The held cases `group` names."""
        return [int(node[5:]) for node in self.nodes[group] if node.startswith("case:")]


def plan(session: Session, by: User, named: Sequence[str | None], references: Sequence[str],
         held_own: dict[str, int]) -> Plan:
    """The groups of new rows whose household cells are `named` and own references `references`."""
    codes: dict[str, int] = dict(session.execute(
        sa.select(Household.reference, Household.id).where(Household.agency_id == by.agency_id)).all())
    if not any(named):
        return Plan([None] * len(references), {}, codes, {})
    in_file = set(references)
    if in_file.isdisjoint(named) and held_own.keys().isdisjoint(named):
        # Every cell a household code (the common shape of a large file): a code is its group.
        groups = [None if code is None else "code:" + code for code in named]
        return Plan(groups, {group: [group] for group in set(groups) if group is not None}, codes, {})
    targets = [None if household is None else "row:" + household if household in in_file
               else f"case:{held_own[household]}" if household in held_own else "code:" + household
               for household in named]
    root = linked(targets, ["row:" + reference for reference in references])
    members = {target for target in targets if target is not None}
    members.update("row:" + reference for reference, target in zip(references, targets, strict=True)
                   if target is not None)
    nodes: dict[str, list[str]] = {}
    for node in sorted(members):
        nodes.setdefault(root(node), []).append(node)
    held_ids = sorted({int(node[5:]) for node in members if node.startswith("case:")})
    held_household: dict[int, int | None] = {}
    for start in range(0, len(held_ids), _CHUNK):
        held_household.update(session.execute(sa.select(Case.id, Case.household_id).where(
            Case.id.in_(held_ids[start:start + _CHUNK]))).all())
    return Plan([root("row:" + reference) if "row:" + reference in members else None for reference in references],
                nodes, codes, held_household)


def _conflict(session: Session, households: Iterable[int]) -> str:
    return ", ".join(_names(session, households).values())


def _names(session: Session, households: Iterable[int]) -> dict[int, str]:
    """Households' codes, by id, in the order of the codes."""
    ids = sorted(set(households))
    found: dict[int, str] = {}
    for start in range(0, len(ids), _CHUNK):
        found.update(session.execute(sa.select(Household.id, Household.reference).where(
            Household.id.in_(ids[start:start + _CHUNK]))).all())
    return dict(sorted(found.items(), key=lambda item: item[1]))


def boarded_members(session: Session, household_ids: Collection[int], case_ids: Collection[int] = (),
                    newcomers: Collection[int] = ()) -> tuple[dict[int, str | None], dict[int, str | None]]:
    """Of `household_ids`, those with a member whose person boarded a flight, and of `case_ids`, those whose person
    boarded one, each to that flight's reference (the latest boarded), or None where another record of the person
    boarded it (the flight, maybe another agency's, is not named): a household whose members are on their way or home,
    which nobody joins (`refuse_joining_boarded`).

    A person boarded by this record or by another that may be theirs (`cases.facts.records_alike`: linked, or an
    undecided possible duplicate, as family unity reads them: red team round 55, F1: a child joined the household of
    ICE's record of a mother in the air on INM's), except a record received at its destination before this one was
    registered (a journey made: this record is a new journey's). Boarded is in their seat (at the door, in the air or
    arrived) or still to be recorded off the aircraft (`flights.service.leaving_unconfirmed`: round 55, F2: the
    members on the list of who must leave the aircraft were joined)."""
    households, cases = sorted(set(household_ids)), sorted(set(case_ids))
    household_of: dict[int, int | None] = {case_id: None for case_id in cases}
    for start in range(0, len(households), _CHUNK):
        household_of.update(session.execute(sa.select(Case.id, Case.household_id).where(
            Case.household_id.in_(households[start:start + _CHUNK]))).all())
    # The newcomers joining are not what they join (a newcomer aboard elsewhere is `refuse_flown_apart`'s).
    for newcomer in newcomers:
        household_of.pop(newcomer, None)
    if not household_of:
        return {}, {}
    members = sorted(household_of)
    alike = records_alike(session, members)
    everyone = sorted({*members, *(other for others in alike.values() for other in others)})
    registered: dict[int, Any] = {}
    flown: dict[int, tuple[str, Any]] = {}
    for start in range(0, len(everyone), _CHUNK):
        chunk = everyone[start:start + _CHUNK]
        registered.update(session.execute(sa.select(Case.id, Case.registered_at).where(Case.id.in_(chunk))).all())
        for case_id, flight, received in session.execute(
                sa.select(Passenger.case_id, Flight.reference, Passenger.received_at)
                .join(Flight, Flight.id == Passenger.flight_id)
                .where(Passenger.case_id.in_(chunk), sa.or_(Passenger.boarding == "boarded", leaving_unconfirmed()))
                .order_by(Passenger.id)):
            flown[case_id] = (flight, received)
    def boarded(member: int) -> tuple[bool, str | None]:
        if member in flown:
            return True, flown[member][0]
        return any(flown[other][1] is None or flown[other][1] >= registered[member]
                   for other in alike.get(member, set()) & flown.keys()), None

    by_household: dict[int, str | None] = {}
    by_case: dict[int, str | None] = {}
    for member in members:
        aboard, named = boarded(member)
        if not aboard:
            continue
        household = household_of[member]
        if household is not None and household in households and by_household.get(household) is None:
            by_household[household] = named
        if member in cases:
            by_case[member] = named
    return by_household, by_case


def refuse_joining_boarded(session: Session, household_ids: Collection[int], newcomers: Collection[int] = (), *,
                           moved: bool = False) -> None:
    """Nobody joins a household a member of which boarded a flight, by any door (registration, import, correction):
    its members are on their way or home, and the household would be split across a flight that left with no
    supervisor's split, which family unity never allows (red team round 52, F2 and F3: a child corrected, or
    registered, into a household that had arrived). A newcomer is registered in a household of their own (named
    unaccompanied if a minor alone), as a person returned and registered again is a new journey's. A member boarded by
    another record of their person (`boarded_members`) counts as boarded, its flight not named. `moved`: a supervisor's
    household correction moves a record in, which is then told it is not moved (red team round 59, F3: it was told to
    register a newcomer)."""
    advice = _STAYS if moved else _REGISTER_APART
    _refuse_newcomers_boarded(session, newcomers, advice)
    found, _ = boarded_members(session, household_ids, newcomers=newcomers)
    if not found:
        return
    household, flight = min(found.items())
    name = _names(session, [household])[household]
    if flight is None:
        raise InvalidTransition("household %(household)s has a member who boarded a flight by another record of their "
                                "person: nobody joins it now (a household travels together, and they are on their way "
                                "or home); %(advice)s", code="household_boarded", household=name, advice=advice)
    raise InvalidTransition("household %(household)s has members who boarded flight %(flight)s: nobody joins it "
                            "now (a household travels together, and they are on their way or home); %(advice)s",
                            code="household_boarded", household=name, flight=flight, advice=advice)


# What a person refused a household a member of which boarded does instead: a newcomer, and a record a household
# correction would have moved.
_REGISTER_APART = Message("register the newcomer in a household of its own")
_STAYS = Message("the record is not moved, and stays where it was")


def _refuse_newcomers_boarded(session: Session, newcomers: Collection[int], advice: Message = _REGISTER_APART
                              ) -> None:
    """Nor does a newcomer join a household others wait in while their own person, by another record or a possible
    duplicate, boarded a flight (at the door, still to be recorded off it, in the air or arrived; not a journey made
    before the newcomer was registered): the household would be split from them (red team round 57, F5: at the
    aircraft door the first such registration was taken, and took another country's family off the aircraft, the same
    request refused right after; F8: an import row refused as if a member had boarded)."""
    if not newcomers:
        return
    _, boarded = boarded_members(session, (), case_ids=newcomers)
    for newcomer in sorted(boarded):
        household_id = session.execute(sa.select(Case.household_id).where(Case.id == newcomer)).scalar_one_or_none()
        if household_id is None:
            continue
        waiting = session.execute(sa.select(sa.func.count()).select_from(Case).where(
            Case.household_id == household_id, Case.id.not_in(sorted(newcomers)))).scalar_one()
        if waiting:
            raise InvalidTransition(
                "a newcomer to household %(household)s is a record of a person who boarded a flight (by another "
                "record, or a possible duplicate): they do not join a household that waits; %(advice)s",
                code="household_boarded", household=_names(session, [household_id])[household_id], advice=advice)


def write(session: Session, by: User, plan_: Plan) -> tuple[list[int | None], list[int]]:
    """Each new row's household id, the households a group makes written in one batch; and the ids of the households
    held before that rows joined (a held case in none joins the one its new members make, audited)."""
    chosen: dict[str, int] = {}
    joined: set[int] = set()
    to_create: dict[str, str] = {}
    for group, nodes in plan_.nodes.items():
        existing = plan_.existing(group)
        if len(existing) > 1:
            raise InvalidInput("the household column joins households %(households)s, which are not one family",
                               code="import_households_conflict", households=_conflict(session, existing))
        if existing:
            chosen[group] = existing.pop()
            joined.add(chosen[group])
            continue
        code = next((node[5:] for node in sorted(nodes) if node.startswith("code:")), None)
        if code is None:
            held = next((int(node[5:]) for node in sorted(nodes) if node.startswith("case:")), None)
            under = (session.get(Case, held).agency_reference if held is not None  # type: ignore[union-attr]
                     else next(node[4:] for node in sorted(nodes) if node.startswith("row:")))
            code = _free_code(under, plan_.codes.keys() | set(to_create.values()))
        to_create[group] = code
    codes = plan_.codes
    missing = sorted(set(to_create.values()) - codes.keys())
    if missing:
        table = Household.__table__
        insert_columns(session, table, {"agency_id": [by.agency_id] * len(missing), "reference": missing,
                                        **({"version": [1] * len(missing)} if "version" in table.c else {})})
        codes = dict(session.execute(sa.select(Household.reference, Household.id)
                                     .where(Household.agency_id == by.agency_id)).all())
    for group, code in to_create.items():
        chosen[group] = codes[code]
    # Held cases without a household join the one their new members make.
    for group in plan_.nodes:
        for case_id in plan_.held_cases(group):
            if plan_.held_household.get(case_id) is None:
                case = session.get(Case, case_id)
                assert case is not None
                case.household_id = chosen[group]
                joined.add(case.household_id)
                record(session, by, "case.household", "case", case.reference, before={"household": None},
                       after={"household": session.get(Household, case.household_id).reference})  # type: ignore
    return [None if group is None else chosen[group] for group in plan_.groups], sorted(joined)


def _free_code(reference: str, taken: Collection[str]) -> str:
    """The code of a household made under a case's reference (the rows name no code): the reference, with '/' written
    '_' (other agencies read a household as AGENCY/CODE: `cases.rows._check_household_codes`), and a number after it
    when another household of the agency has that code. Before, the new household was looked up by that code and,
    when a stranger family had it, the rows joined that family (red team round 20: a case referenced H00471 and a
    row naming it joined the family coded H00471 as its second head)."""
    base = reference.replace("/", "_")
    code, number = base, 1
    while code in taken:
        number += 1
        code = f"{base}-{number}"
    return code


def one_head_each(session: Session, household_ids: list[int | None], relationships: list[str | None],
                  held_before: list[int]) -> None:
    """A household has one head: the new rows' heads and those held, together (`cases.service.one_head`);
    and never none: every household a row (or a held case it names) joins has its head held or in the file
    (`cases.service.headed`). The second line behind `problems`.

    Only the households in `held_before` (those the rows joined) can hold cases already; the others
    were made by this import.
    """
    heads = Counter(h for h, relationship in zip(household_ids, relationships, strict=True)
                    if h is not None and relationship in HEADS)
    touched = {h for h in household_ids if h is not None} | set(held_before)
    if not touched:
        return
    held = _heads_held(session, sorted(set(held_before)))
    two = sorted(h for h in heads if heads[h] + len(held.get(h, ())) > 1)
    if two:
        raise InvalidInput("households %(households)s would have more than one head: a household has one",
                           code="household_two_heads", households=_conflict(session, two))
    none = sorted(h for h in touched if heads[h] + len(held.get(h, ())) == 0)
    if none:
        shown = _conflict(session, none[:20])
        raise InvalidInput("households %(households)s would have no head: a household has one, registered "
                           "before its other members or in the same file", code="household_without_head",
                           households=shown + (f" (+{len(none) - 20})" if len(none) > 20 else ""))


def _heads_held(session: Session, households: Sequence[int]) -> dict[int, list[str]]:
    """The references of the heads held of each of `households`."""
    heads: dict[int, list[str]] = {}
    for start in range(0, len(households), _CHUNK):
        for household, reference in session.execute(sa.select(Case.household_id, Case.agency_reference).where(
                Case.household_id.in_(households[start:start + _CHUNK]), Case.relationship_to_head.in_(HEADS))):
            if household is not None:
                heads.setdefault(household, []).append(reference)
    return heads


# Where a case's household and its relationship to the head may be changed, at any door (a supervisor's correction, an
# import row): waiting off every manifest, before boarding. On a manifest its seat was taken for the household as it
# is, approved by both sides (red team round 66, F1: an officer's re-import made a passenger of a locked manifest the
# head's child, and cleared a one-year-old's relationship on it, with no supervisor, reason or consent): it is taken
# off first.
CORRECTABLE = frozenset(lifecycle.BEFORE_BOARDING) - {"manifested"}


def fixed(session: Session, cases: Sequence[Case]) -> set[int]:
    """The ids of those of `cases` whose household and relationship no door changes now (`CORRECTABLE`): on a manifest,
    boarded or further, or taken off after boarding and not yet recorded off the aircraft."""
    waiting = [case.id for case in cases if case.state in CORRECTABLE]
    aboard = set(session.execute(sa.select(Passenger.case_id).where(
        Passenger.case_id.in_(waiting), leaving_unconfirmed())).scalars()) if waiting else set()
    return {case.id for case in cases if case.state not in CORRECTABLE} | aboard


@dataclass(frozen=True)
class _Stored:
    """A held case a row re-imports, as stored."""

    reference: str
    household_id: int | None
    code: str | None
    relationship: str | None


def _cases(session: Session, ids: Sequence[int]) -> dict[int, Case]:
    found: dict[int, Case] = {}
    for start in range(0, len(ids), _CHUNK):
        found.update((case.id, case) for case in session.execute(
            sa.select(Case).where(Case.id.in_(ids[start:start + _CHUNK]))).scalars())
    return found


def _stored(session: Session, ids: Sequence[int]) -> dict[int, _Stored]:
    found: dict[int, _Stored] = {}
    for start in range(0, len(ids), _CHUNK):
        for case_id, reference, household_id, code, relationship in session.execute(
                sa.select(Case.id, Case.agency_reference, Case.household_id, Household.reference,
                          Case.relationship_to_head).outerjoin(Household, Household.id == Case.household_id)
                .where(Case.id.in_(ids[start:start + _CHUNK]))):
            found[case_id] = _Stored(reference, household_id, code, relationship)
    return found


def moved(session: Session, rows: Sequence[CaseRow], own: dict[str, int], named: set[str | None]
          ) -> list[tuple[CaseRow, str | None]]:
    """The rows of cases held already whose household cell names another household than the case's (a re-import
    never moves a case between households, nor silently ignores its household column), each with the code of the
    case's household.

    The cell names the household by its code or by a held member's reference; an empty cell is the case's household
    when it was made around the case (under its reference) or another row names the case.
    """
    stored = _stored(session, [own[row.case_reference] for row in rows])
    members = [own[row.household_reference] for row in rows if row.household_reference in own]
    household_of = {case_id: held.household_id for case_id, held in _stored(session, members).items()}
    found = []
    for row in rows:
        held = stored[own[row.case_reference]]
        cell = row.household_reference
        if cell is None:
            same = held.household_id is None or held.code == held.reference or held.reference in named
        elif cell in own:
            same = held.household_id is not None and household_of.get(own[cell]) == held.household_id
        else:
            same = cell == held.code
        if not same:
            found.append((row, held.code))
    return found


def refuse_moved(session: Session, rows: Sequence[CaseRow], own: dict[str, int], named: set[str | None]) -> None:
    """`moved`, refused whole at the write: the second line behind `problems`."""
    found = [f"{row.case_reference} ({code or '-'} → {row.household_reference or '-'})"
             for row, code in moved(session, rows, own, named)]
    if found:
        raise InvalidInput("a re-import does not move a case between households, and the household column "
                           "of these rows names another than the case's: %(rows)s", code="import_household_moved",
                           rows=", ".join(found[:20]) + (f" (+{len(found) - 20})" if len(found) > 20 else ""))


@dataclass(frozen=True)
class Problem:
    """A row that would break a household rule: its number, the field of the cell at fault, the message's code in
    `cases.rows.MESSAGES` and its parameters."""

    row_number: int
    field: str
    code: str
    params: dict[str, Any]


def problems(session: Session, by: User, rows: Sequence[CaseRow], own: dict[str, int], *, household_column: bool,
             relationship_column: bool, refused: Collection[str]) -> list[Problem]:
    """Every row of `rows` (a checked file's good rows) that would break a household rule against what the agency
    holds (`own`: its cases by their own reference). `household_column`, `relationship_column`: whether the file has
    these columns (a re-import without one keeps what is stored). `refused`: the household cells and case references
    of the rows refused for another cell, one of which may be the head a household would lack: a household one of them
    names is not called headless until they are mended (as `cases.rows` does for a household the file alone makes).

    A group of new rows names at most one household held (each row names one thing, so a group of k rows links k+1
    at most: itself and one code or held case); `write` refuses more, as a second line."""
    found: list[Problem] = []
    again = [row for row in rows if row.case_reference in own]
    new = [row for row in rows if row.case_reference not in own]
    if again and household_column:
        named = {row.household_reference for row in rows}
        found += [Problem(row.row_number, "household_reference", "household_moved", {"household": code or "—"})
                  for row, code in moved(session, again, own, named)]
    plan_ = plan(session, by, [row.household_reference for row in new], [row.case_reference for row in new], own)
    stored = _stored(session, sorted({own[row.case_reference] for row in again} | plan_.held_household.keys()))
    # A held case's relationship once the file is written: a head stays one (a head re-imported as another is an
    # error here, and refused at the write by `cases.service.head_leaves`).
    relationship_after: dict[int, str | None] = {case_id: held.relationship for case_id, held in stored.items()}
    becoming: dict[int, list[int]] = {}  # held household -> rows making a held case of it its head
    changing = [row for row in again if relationship_column and row.relationship != stored[
        own[row.case_reference]].relationship]
    cases = _cases(session, [own[row.case_reference] for row in changing])
    kept = fixed(session, list(cases.values()))
    for row in changing:
        case_id = own[row.case_reference]
        held = stored[case_id]
        if case_id in kept:
            found.append(Problem(row.row_number, "relationship", "household_correction_state",
                                 {"case": cases[case_id].reference}))
        elif held.household_id is None:
            relationship_after[case_id] = row.relationship
        elif held.relationship in HEADS and row.relationship not in HEADS:
            found.append(Problem(row.row_number, "relationship", "household_head_leaves",
                                 {"household": held.code or "—"}))
        elif row.relationship in HEADS and held.relationship not in HEADS:
            becoming.setdefault(held.household_id, []).append(row.row_number)
            relationship_after[case_id] = row.relationship
    members: dict[str, list[CaseRow]] = {}
    for row, group in zip(new, plan_.groups, strict=True):
        if group is not None:
            members.setdefault(group, []).append(row)
    target: dict[str, int] = {}
    for group in members:
        existing = plan_.existing(group)
        if len(existing) == 1:
            target[group] = existing.pop()
    # Nobody joins a household a member of which boarded (`refuse_joining_boarded`), told at each row's cell.
    held_alone = {case_id for group in members for case_id in plan_.held_cases(group)
                  if plan_.held_household.get(case_id) is None}
    boarded_households, boarded_cases = boarded_members(session, set(target.values()), held_alone)
    joined_names = _names(session, sorted(boarded_households))
    for group, group_rows in members.items():
        if target.get(group, 0) in boarded_households:
            flight, name = boarded_households[target[group]], joined_names[target[group]]
        else:
            flown = next((case_id for case_id in plan_.held_cases(group) if case_id in boarded_cases), None)
            if flown is None:
                continue
            flight, name = boarded_cases[flown], stored[flown].reference
        # Boarded by another record of a member's person: that flight (maybe another agency's) is not named.
        code, values = (("household_boarded", {"household": name, "flight": flight}) if flight is not None
                        else ("household_person_boarded", {"household": name}))
        found += [Problem(row.row_number, "household_reference", code, values) for row in group_rows]
    touched = sorted(set(target.values()) | becoming.keys())
    heads_held = _heads_held(session, touched)
    names = _names(session, touched)
    # What names each household held the rows join: its code and its members' references.
    called: dict[int, set[str]] = {household: {name} for household, name in names.items()}
    for start in range(0, len(touched), _CHUNK) if refused else ():
        for household, reference in session.execute(sa.select(Case.household_id, Case.agency_reference).where(
                Case.household_id.in_(touched[start:start + _CHUNK]))):
            called.setdefault(household or 0, set()).add(reference)
    # The heads each group would have: the new rows', the held household's (with the re-imported cases made its
    # head, and the held cases in no household that join it), over every group joining it.
    joining_heads: dict[str, list[str]] = {}
    for group, group_rows in members.items():
        joining_heads[group] = [stored[case_id].reference for case_id in plan_.held_cases(group)
                                if plan_.held_household.get(case_id) is None
                                and relationship_after.get(case_id) in HEADS]
        if group in target:
            becoming.setdefault(target[group], []).extend(row.row_number for row in group_rows
                                                          if row.relationship in HEADS)
            heads_held.setdefault(target[group], []).extend(joining_heads[group])
    for household, numbers in becoming.items():
        heads = heads_held.get(household, [])
        if len(heads) + len(numbers) > 1:
            head = ", ".join(heads) or ", ".join(map(str, sorted(numbers)))
            found += [Problem(number, "relationship", "household_has_head",
                              {"household": names.get(household, "—"), "head": head}) for number in numbers]
    for group, group_rows in members.items():
        known = {node.split(":", 1)[1] for node in plan_.nodes[group] if not node.startswith("case:")}
        known |= {stored[case_id].reference for case_id in plan_.held_cases(group)}
        known |= {row.case_reference for row in group_rows}
        if group in target:
            headless = not heads_held.get(target[group]) and not becoming.get(target[group])
            known |= called.get(target[group], set())
        elif plan_.held_cases(group) and not plan_.existing(group):
            # Held cases in no household, which join the one the group makes.
            heads, adding = joining_heads[group], [row.row_number for row in group_rows if row.relationship in HEADS]
            if heads and len(heads) + len(adding) > 1:
                found += [Problem(number, "relationship", "household_has_head",
                                  {"household": ", ".join(heads), "head": ", ".join(heads)}) for number in adding]
            headless = not heads and not adding
        else:
            continue  # a household the file alone makes: `cases.rows`'s
        if headless and known.isdisjoint(refused):
            found += [Problem(row.row_number, "relationship", "household_without_head", {}) for row in group_rows]
    return found


# The flight states after which nobody leaves the aircraft: a household split across them stays split.
_LEFT = ("departed", "arrived")
# An adult who left the process lets the others go (a no-show is put back in line): as family unity reads it.
_LEFT_THE_PROCESS = ("withdrawn", "not_national", "unfit_to_fly")


def refuse_flown_apart(session: Session, case: Case) -> None:
    """A link or a likeness made now (a registration, a correction of names, birth date, cédula or document number, a
    document filed, a verification, a supervisor's "same person") must not change who flew on a flight that has left
    (in the air or arrived). `case`'s person is its records and those that may be theirs (`cases.facts.records_alike`:
    linked, or an undecided possible duplicate, chains included, as every hold reads them); if one of them is aboard
    such a flight, refused (409, nothing written):

    - `household_flown_apart`, where another of the person's records is a member of a household other members of which
      are not on that flight: the household would be split across a flight that left with no supervisor's split (red
      team round 55, F1: ICE corrected the cédula of the head of its household of two to that of INM's passenger in
      the air, and her child stayed behind; round 57, F1-F4: the same by names and birth date, by a registration or an
      import row alike to the passenger, by her passport filed). Until a supervisor corrects that household (takes the
      record out of it, or its other members) or records its split; a likeness the supervisors then decide "different
      people" ties nothing, and the record may join the household again.
    - `flown_as_an_adult`, where another of the person's records declares a birth date that makes a minor, on that
      flight's children's day, of someone who flew as an adult by their own record (round 57, F4: a passport of an
      adult in the air filed on a child's record made her a minor aboard alone).

    Before departure, the pull of linked records takes the household off the manifest, or off the aircraft, with them
    instead. A record received at its destination before the other was registered is of a journey made (the other a
    new journey's) and ties nothing; an adult member who left the process (withdrawn, unfit to fly, not a national)
    lets the others go, and a record aboard itself changes nothing here (its arrival is recorded as it travelled).
    Neither the case (a registration refused has none), the flight nor another agency's household is named."""
    person = records_alike(session, [case.id]).get(case.id, set())
    records = sorted({case.id, *person})
    flown = {row.case_id: row for row in session.execute(
        sa.select(Passenger.case_id, Passenger.flight_id, Passenger.received_at, Case.birth_date,
                  Flight.departure_utc, Flight.origin, Flight.destination)
        .join(Flight, Flight.id == Passenger.flight_id).join(Case, Case.id == Passenger.case_id)
        .where(Passenger.case_id.in_(records), Passenger.boarding == "boarded", Flight.state.in_(_LEFT)))}
    if not flown or case.id in flown:
        return
    rows = {row.id: row for row in session.execute(
        sa.select(Case.id, Case.household_id, Case.registered_at, Case.birth_date).where(Case.id.in_(records)))}
    # Per flight left, the person's records not aboard it that are of its journey (not registered after a reception).
    tied: dict[int, set[int]] = {}
    for record_id, row in rows.items():
        if record_id in flown:
            continue
        for aboard in flown.values():
            if aboard.received_at is None or aboard.received_at >= row.registered_at:
                tied.setdefault(aboard.flight_id, set()).add(record_id)
    for aboard in flown.values():
        day = earliest_day(aboard.departure_utc, aboard.origin, aboard.destination)  # `airports.children_day`
        if not is_minor(aboard.birth_date, day) and any(
                is_minor(rows[record_id].birth_date, day) for record_id in tied.get(aboard.flight_id, ())):
            raise InvalidTransition(
                "this record would make a person aboard a flight that has left, by another record of theirs or a "
                "possible duplicate, a minor who travelled as an adult: refused; check its birth date, cédula and "
                "documents (a possible duplicate is decided by supervisors)", code="flown_as_an_adult")
    households = sorted({rows[record_id].household_id for records_ in tied.values() for record_id in records_
                         if rows[record_id].household_id is not None})
    if not households:
        return
    split = set(session.execute(sa.select(HouseholdSplit.household_id)
                                .where(HouseholdSplit.household_id.in_(households))).scalars())
    households_of = dict(session.execute(sa.select(Household.id, Household.agency_id)
                                         .where(Household.id.in_(households))).all())
    members = session.execute(sa.select(Case.id, Case.household_id, Case.state, Case.birth_date)
                              .where(Case.household_id.in_(households))).all()
    others = [member for member in members if member.id not in rows]
    alike = records_alike(session, [member.id for member in others]) if others else {}
    aboard_on = dict(session.execute(
        sa.select(Passenger.case_id, Passenger.flight_id).join(Flight, Flight.id == Passenger.flight_id)
        .where(Passenger.case_id.in_(sorted({m.id for m in others} | set().union(set(), *alike.values()))),
               Passenger.boarding == "boarded", Flight.state.in_(_LEFT))).all()) if others else {}
    today = utcnow().date()
    for flight_id, records_ in tied.items():
        tied_households = {rows[record_id].household_id for record_id in records_} - {None}
        for member in others:
            if member.household_id not in tied_households or member.household_id in split:
                continue
            if any(aboard_on.get(record_id) == flight_id for record_id in {member.id, *alike.get(member.id, set())}):
                continue
            if member.state in _LEFT_THE_PROCESS and not is_minor(member.birth_date, today):
                continue
            # Whose household it is, and who may undo the tie, told without naming it (red team round 58, F1 and F4:
            # the advice sent another country's officer to correct a household they could not see).
            if households_of.get(member.household_id) == case.agency_id:
                raise InvalidTransition(
                    "a record of this person, or of a possible duplicate, boarded a flight that has left, and a "
                    "household of this record's agency waits with a member who may be them: a household travels "
                    "together, so this is refused, nothing written; a newcomer is registered in a household of its "
                    "own; otherwise a supervisor of the agency corrects that household (takes the record, or its "
                    "members, out of it, any on a manifest taken off it first) or records its split, and the step is "
                    "tried again",
                    code="household_flown_apart")
            raise InvalidTransition(
                "a record of this person, or of a possible duplicate, boarded a flight that has left, and a household "
                "another agency holds waits with a member who may be them: a household travels together, so this is "
                "refused, nothing written; that agency's supervisor corrects its household or records its split (ask "
                "that agency), and the step is tried again", code="household_flown_apart")


def refuse_flown_apart_of_new(session: Session, rows: Mapping[str, int]) -> None:
    """`refuse_flown_apart` for records registered now in bulk (an import's new rows: reference to row number), found
    from the side of the passengers aboard flights that have left and not yet received at their destination (one
    received before is of a journey made, which a record registered now does not join): they are few, the rows may be
    many. A refusal names the file's row."""
    flown = sorted(session.execute(
        sa.select(Passenger.case_id).join(Flight, Flight.id == Passenger.flight_id)
        .where(Passenger.boarding == "boarded", Flight.state.in_(_LEFT), Passenger.received_at.is_(None))).scalars())
    if not flown or not rows:
        return
    near = sorted({other for others in records_alike(session, flown).values() for other in others})
    wanted = set(rows)
    reached = [case_id for start in range(0, len(near), _CHUNK) for case_id, reference in session.execute(
        sa.select(Case.id, Case.reference).where(Case.id.in_(near[start:start + _CHUNK]))) if reference in wanted]
    for case_id in sorted(reached):
        case = session.get(Case, case_id)
        assert case is not None
        try:
            refuse_flown_apart(session, case)
        except InvalidTransition as refused:
            # The file's row, not the reference its case would have had (red team round 58, F2).
            raise InvalidTransition("row %(row)s of the file: %(refusal)s", code=refused.code, row=rows[case.reference],
                                    refusal=list(refused.parts)) from refused
