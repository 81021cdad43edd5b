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

from typing import Any

from retorno.errors import InvalidInput, Message, Term

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
