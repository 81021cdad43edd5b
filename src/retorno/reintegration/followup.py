"""The follow-up questionnaire at 3, 6 and 12 months and the reintegration sustainability score.

The score follows the three dimensions used in reintegration monitoring (economic, social,
psychosocial), each in [0, 1], and is their plain mean:

- economic = mean(work, income): work is 1 if still in the placement or in other work, 0.5 in
  training or studying, 0 otherwise; income band none/below_minimum/minimum/above_minimum → 0,
  1/3, 2/3, 1;
- social = mean(housing, household): housing stable/temporary/none → 1, 0.5, 0; household
  together/partly/separated → 1, 0.5, 0;
- psychosocial = mean(well-being, intention): well-being 1-5 → (w - 1) / 4; intention to
  migrate again no/unsure/yes → 1, 0.5, 0.

The result is rounded to 3 decimals; 1 means fully sustainable reintegration on these measures.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.errors import InvalidInput, Message, Term
from retorno.reintegration.models import FollowUp, FollowUpResidue, Placement

WORK = {"in_placement": 1.0, "other_work": 1.0, "training": 0.5, "no_work": 0.0}
INCOME = {"none": 0.0, "below_minimum": 1 / 3, "minimum": 2 / 3, "above_minimum": 1.0}
HOUSING = {"stable": 1.0, "temporary": 0.5, "none": 0.0}
HOUSEHOLD = {"together": 1.0, "partly": 0.5, "separated": 0.0}
INTENTION = {"no": 1.0, "unsure": 0.5, "yes": 0.0}
NOTES_LENGTH = 2000
CHOICES = {"work": WORK, "income": INCOME, "housing": HOUSING, "household": HOUSEHOLD,
           "intends_to_migrate": INTENTION}


def validate_answers(answers: dict[str, Any]) -> None:
    """Refuse an incomplete or out-of-range questionnaire, naming every bad answer."""
    # Whatever a door hands over (JSON of any type, a form's text): an answer is one of the choices' codes.
    problems = [Message("%(question)s: one of %(options)s",
                        {"question": Term("followup_question", name),
                         "options": [Term("followup_choice", f"{name}.{option}", option) for option in options]})
                for name, options in CHOICES.items()
                if not isinstance(answers.get(name), str) or answers.get(name) not in options]
    wellbeing = answers.get("wellbeing")
    if not isinstance(wellbeing, int) or isinstance(wellbeing, bool) or not 1 <= wellbeing <= 5:
        problems.append(Message("wellbeing: a whole number from 1 to 5"))
    notes = answers.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > NOTES_LENGTH):
        problems.append(Message("notes: a text of at most %(most)s characters", {"most": NOTES_LENGTH}))
    unknown = set(answers) - set(CHOICES) - {"wellbeing", "notes"}
    if unknown:
        problems.append(Message("unknown answers %(unknown)s", {"unknown": ", ".join(sorted(unknown))}))
    if problems:
        raise InvalidInput("follow-up answers: %(problems)s", code="invalid_follow_up", problems=problems)


def score_answers(answers: dict[str, Any]) -> float:
    """The sustainability score of a complete questionnaire (see the module docstring)."""
    economic = (WORK[answers["work"]] + INCOME[answers["income"]]) / 2
    social = (HOUSING[answers["housing"]] + HOUSEHOLD[answers["household"]]) / 2
    psychosocial = ((answers["wellbeing"] - 1) / 4 + INTENTION[answers["intends_to_migrate"]]) / 2
    return round((economic + social + psychosocial) / 3, 3)


# ----- the order the programme's figures count follow-ups in ----------------------------------------------------

# A follow-up the figures count: ("follow_up", FollowUp.id) while it is kept, ("residue", FollowUpResidue.id) once
# a withdrawal of consent erased it (`reintegration.service._end_participation`).
Counted = tuple[Literal["follow_up", "residue"], int]


def done_order(session: Session) -> dict[int, list[Counted]]:
    """Each point's (3, 6, 12 months) follow-ups done, of started placements, in the order they were recorded.

    The published figures count them in whole batches of five in this order (`reporting.public.released`: red team
    round 17, P-F1/Q-F5), so it never changes but at its end: a follow-up recorded comes last (by when it was done,
    then id), and a withdrawal's residue keeps the place its follow-up had (`FollowUpResidue.done_rank`, held when it
    was erased; a residue kept before migration 0034 has none and counts first, in the order it was kept).
    """
    live: dict[int, list[Counted]] = defaultdict(list)
    for months, follow_up_id in session.execute(
            sa.select(FollowUp.months_after_start, FollowUp.id).join(Placement, Placement.id == FollowUp.placement_id)
            .where(Placement.started_on.is_not(None), FollowUp.done_at.is_not(None))
            .order_by(FollowUp.done_at, FollowUp.id)):
        live[months].append(("follow_up", follow_up_id))
    kept: dict[int, list[tuple[int | None, int]]] = defaultdict(list)
    for months, rank, residue_id in session.execute(
            sa.select(FollowUpResidue.months_after_start, FollowUpResidue.done_rank, FollowUpResidue.id)
            .order_by(FollowUpResidue.id)):
        kept[months].append((rank, residue_id))
    return {months: _merged(live.get(months, []), kept.get(months, [])) for months in sorted({*live, *kept})}


def _merged(live: list[Counted], residue: list[tuple[int | None, int]]) -> list[Counted]:
    """Residues kept before their place was (None) first, each other residue at its place, the follow-ups kept in the
    places between, in order; anything left over (a place taken twice or past the end: never made so) last."""
    order: list[Counted] = [("residue", residue_id) for rank, residue_id in residue if rank is None]
    placed: dict[int, int] = {}
    left: list[Counted] = []
    for rank, residue_id in sorted((r, i) for r, i in residue if r is not None):
        if rank in placed or rank < len(order):
            left.append(("residue", residue_id))
        else:
            placed[rank] = residue_id
    following = iter(live)
    for place in range(len(order), len(live) + len(residue)):
        if place in placed:
            order.append(("residue", placed.pop(place)))
        elif (follow_up := next(following, None)) is not None:
            order.append(follow_up)
    return [*order, *following, *(("residue", i) for i in placed.values()), *left]


def done_positions(session: Session) -> dict[int, int]:
    """Each follow-up done's place (0 the first) in its point's `done_order`, by FollowUp.id: what its residue keeps."""
    return {number: place for order in done_order(session).values()
            for place, (kind, number) in enumerate(order) if kind == "follow_up"}
