"""Match weights that stay sane on data training never saw: smoothing, neighbours, and the rules every model keeps.

Splink estimates, for every level of every comparison, m (how often a true pair lands on
it) and u (how often a random pair does); the level's weight is log2(m / u). A level that
training never observed has no estimate at all, and any value put there by hand decides
what the model does on data unlike the training's. `regularise` replaces the raw estimates
with values that follow from what was observed, by these rules, chosen so that the model
is never more confident than its evidence:

1. Counts, not probabilities. A level's m and u are turned back into counts over the pairs
   in which the comparison was not null (`Seen`), and smoothed with Jeffreys' prior, half a
   pseudo-pair per level: (count + ½) / (pairs + levels / 2). An agreement that no random
   pair showed gets a u of about half a pair in the sample — as rare as the sample can
   tell, no rarer (the old floor of 1e-8 claimed a rarity no sample of millions can show).
   A comparison whose field no pair ever had on both sides (a registry without sex) gets
   the same m and u on every level: weight 0, no evidence either way.
2. An agreement level that no true pair reached (m unobserved) is not evidence against a
   match: it takes the neutral weight 0 — Splink's own value for a level without an
   estimate, a Bayes factor of 1 — moved into the range its neighbours allow: no higher
   than any observed level that agrees more, no lower than any observed level that agrees
   less. A swap of given name and surname that training never made weighs nothing either
   way until a run observes it.
3. A disagreement level (`LevelOrder.disagreement`) that no true pair reached keeps its
   smoothed, strongly negative weight (half a pair over all true pairs, against its u), and
   is never above 0: on data where training saw no disagreement, a disagreement still
   counts against a match, never for it.
4. Weights are monotone within a comparison: for every declared pair (a level that agrees
   more, one that agrees less) the lesser weighs no more than the greater; a violation is
   resolved by lowering the lesser, the conservative direction.
5. A term-frequency level scaled against its column's exact level (Splink's "exact match
   detection") needs that baseline's u. When no random pair reached the baseline (with
   single surnames every first-surname match lands on "first exact, second missing", never
   on the baseline), its u becomes the column's own chance agreement, sum of tf(v)^2 —
   the value the scaling stands for — instead of a smoothed near-zero that would push a
   common surname's adjustment to -20 bits.

6. A level that a true pair reaches only together with a level of another comparison (the
   second half of a given name and surname written the other way round: the surnames
   comparison sees the given name only because the given-name comparison saw the surname)
   would count the rarity of that error twice, once in each comparison's m. Its m becomes
   the conditional m / m(other levels) — the chance of the level once one of the others is
   reached — when training observed it and one of them, and never more than the largest m
   training observed in its comparison (the first level's, or, where no pair can reach that
   one — no second surnames — the level the pairs do reach): the pair of levels then weighs
   what the error's rarity and the two agreements are worth, once. Such a level is exempt
   from weighing no more than the first level (its m is of another kind), not from the rest;
   so is a level declared `apart`, whose term frequency is another column's than the first
   level's.

7. A level declared `neutral` (label, the level carved from) carries no evidence: its m equals
   its u (weight 0), and the level it was carved from weighs what the two together would. The
   sex two records agree on where their given names agree is what the given name already said
   (MARÍA is a woman's name): weighed as a coin's agreement it counted about a bit twice, and a
   non-national MARÍA TORRES born the same day as the registry's was verified at 0.99738 (200k
   records, one surname each). Where the given names differ the sex agreeing is evidence, as
   much as sex agreeing is in general (alone, the carved level's own m and u would count the
   given names' disagreement again).

`check` states the rules a saved model must keep (every level estimated, monotone,
disagreement ≤ 0, every scaled level with a baseline) and names each level that breaks one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Pseudo-pairs per level of Jeffreys' prior.
PRIOR_PAIRS = 0.5
# A level counts as observed from about one pair on.
OBSERVED = 0.5
# Slack for rounding when checking a saved model's order.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Seen:
    """How many pairs training saw with the comparison not null: true pairs (m) and random ones (u)."""

    m_pairs: float
    u_pairs: float


@dataclass(frozen=True)
class LevelOrder:
    """Which levels of a comparison agree more than which, and which are disagreements.

    `above` holds (more agreeing, less agreeing) label pairs besides the implicit ones: the
    comparison's first non-null level agrees at least as much as every other, and its last
    (ELSE) level at most as much as every other.
    """

    above: tuple[tuple[str, str], ...] = ()
    disagreement: frozenset[str] = field(default_factory=frozenset)
    # (label, other comparison, its labels): the level a true pair reaches only with one of those (rule 6).
    conditional: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    # Levels that weigh another column's agreement than the first level does (a given name
    # written as the surname, weighed by how common the surnames are): their base weights
    # are not comparable with the first level's, only with the levels `above` names.
    apart: frozenset[str] = field(default_factory=frozenset)
    # (label, carved from): a level that carries no evidence either way and the level it was carved from (rule 7).
    neutral: tuple[tuple[str, str], ...] = ()


def _levels(comparison: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]


def order_pairs(comparison: Mapping[str, Any], order: LevelOrder) -> list[tuple[str, str]]:
    """Every (more agreeing, less agreeing) label pair of a comparison, the implicit ones included."""
    labels = [level["label_for_charts"] for level in _levels(comparison)]
    if not labels:
        return []
    top, bottom = labels[0], labels[-1]
    apart = {label for label, _, _ in order.conditional} | order.apart
    pairs = [(top, label) for label in labels[1:] if label not in apart]
    pairs += [(label, bottom) for label in labels[1:-1]]
    pairs += [pair for pair in order.above if pair not in pairs]
    return pairs


def weight(level: Mapping[str, Any]) -> float | None:
    """log2(m / u) of a level, or None when either is missing or not positive."""
    m, u = level.get("m_probability"), level.get("u_probability")
    if not isinstance(m, int | float) or not isinstance(u, int | float) or m <= 0 or u <= 0:
        return None
    return math.log2(m / u)


def _smoothed(probability: Any, pairs: float, levels: int) -> tuple[float, float]:
    """(count, smoothed probability) of one level from its raw estimate over `pairs` pairs."""
    count = float(probability) * pairs if isinstance(probability, int | float) and probability > 0 else 0.0
    return count, (count + PRIOR_PAIRS) / (pairs + PRIOR_PAIRS * levels)


def _exact_level(levels: Iterable[dict[str, Any]], column: str) -> dict[str, Any] | None:
    """The plain exact level on `column`, which Splink scales a detected term-frequency level against."""
    return next((level for level in levels if level["sql_condition"].replace(" ", "")
                 == f"{column}_l={column}_r"), None)


def _scaled(level: Mapping[str, Any]) -> bool:
    return bool(level.get("tf_adjustment_column")) and not level.get("disable_tf_exact_match_detection")


def regularise(
    model: Mapping[str, Any], seen: Mapping[str, Seen], orders: Mapping[str, LevelOrder],
    baselines: Mapping[str, float],
) -> dict[str, Any]:
    """A copy of a trained Splink model with every level's m and u set by the rules of this module.

    `seen` gives, per comparison (output column name), the pairs its raw estimates were
    counted over; `baselines` the chance agreement sum(tf^2) of each term-frequency column.
    """
    result = copy.deepcopy(dict(model))
    observed_m: dict[tuple[str, str], bool] = {}
    for comparison in result["comparisons"]:
        name = comparison["output_column_name"]
        order = orders.get(name, LevelOrder())
        levels = _levels(comparison)
        pairs = seen.get(name, Seen(0.0, 0.0))
        m_counts, u_counts, weights, u_values, m_values = {}, {}, {}, {}, {}
        for level in levels:
            label = level["label_for_charts"]
            m_counts[label], m_values[label] = _smoothed(level.get("m_probability"), pairs.m_pairs, len(levels))
            u_counts[label], u_values[label] = _smoothed(level.get("u_probability"), pairs.u_pairs, len(levels))
            weights[label] = math.log2(m_values[label] / u_values[label])
        for label, carved_from in order.neutral:
            if label in weights and carved_from in weights:
                weights[carved_from] = math.log2((m_values[label] + m_values[carved_from])
                                                 / (u_values[label] + u_values[carved_from]))
        observed = {label for label, count in m_counts.items() if count >= OBSERVED}
        observed_m.update({(name, label): label in observed for label in m_counts})
        ordered = order_pairs(comparison, order)
        for label in weights:
            if label in observed:
                continue
            if label in order.disagreement:
                weights[label] = min(weights[label], 0.0)
                continue
            floor = max((weights[low] for high, low in ordered if high == label and low in observed),
                        default=-math.inf)
            ceiling = min((weights[high] for high, low in ordered if low == label and high in observed),
                          default=math.inf)
            weights[label] = min(max(0.0, floor), ceiling)
        for label, _ in order.neutral:
            if label in weights:
                weights[label] = 0.0
        _make_monotone(weights, ordered)
        for label in order.disagreement & weights.keys():
            weights[label] = min(weights[label], 0.0)
        _make_monotone(weights, ordered)
        # A scaled level's baseline no random pair reached: the column's chance agreement instead.
        for level in levels:
            if not _scaled(level):
                continue
            baseline = _exact_level(levels, level["tf_adjustment_column"])
            column = level["tf_adjustment_column"]
            if baseline is not None and u_counts[baseline["label_for_charts"]] < OBSERVED and column in baselines:
                u_values[baseline["label_for_charts"]] = baselines[column]
        for level in levels:
            label = level["label_for_charts"]
            # The weight is what matters; where m would pass 1, u gives way instead.
            m = u_values[label] * 2.0 ** weights[label]
            level["m_probability"], level["u_probability"] = (m, u_values[label]) if m <= 1.0 else (
                1.0, 2.0 ** -weights[label])
    _condition(result, orders, observed_m)
    return result


def _condition(model: dict[str, Any], orders: Mapping[str, LevelOrder],
               observed_m: Mapping[tuple[str, str], bool]) -> None:
    """Rule 6: the m of a level reached only with another comparison's level, given that level."""
    levels = {(comparison["output_column_name"], level["label_for_charts"]): level
              for comparison in model["comparisons"] for level in _levels(comparison)}
    firsts = {comparison["output_column_name"]: _levels(comparison)[0] for comparison in model["comparisons"]
              if _levels(comparison)}
    ceilings = {name: max((level["m_probability"] for (other, label), level in levels.items()
                           if other == name and observed_m.get((name, label))), default=0.0) for name in firsts}
    for name, order in orders.items():
        for label, other_name, other_labels in order.conditional:
            level = levels.get((name, label))
            others = [levels[(other_name, other)] for other in other_labels if (other_name, other) in levels]
            if level is None or not others or name not in firsts:
                continue
            if not (observed_m.get((name, label))
                    and any(observed_m.get((other_name, other)) for other in other_labels)):
                # Not conditioned: then it weighs no more than the first level, as any other.
                ceiling = weight(firsts[name])
                if ceiling is not None and (weight(level) or 0.0) > ceiling:
                    level["m_probability"] = level["u_probability"] * 2.0 ** ceiling
                continue
            m = min(level["m_probability"] / sum(other["m_probability"] for other in others), ceilings[name])
            # Never below what it weighed alone: the condition only takes away a rarity counted twice.
            if m > level["m_probability"]:
                level["m_probability"] = m


def _make_monotone(weights: dict[str, float], ordered: list[tuple[str, str]]) -> None:
    """Lower every less-agreeing level to the weight of any more-agreeing level below it, until none is."""
    for _ in range(len(weights) * len(weights) + 1):
        changed = False
        for high, low in ordered:
            if high in weights and low in weights and weights[low] > weights[high]:
                weights[low] = weights[high]
                changed = True
        if not changed:
            return


def check(model: Mapping[str, Any], orders: Mapping[str, LevelOrder]) -> list[str]:
    """The rules a model breaks, one line per level: empty when it may be saved and used."""
    problems: list[str] = []
    for comparison in model.get("comparisons", []):
        name = comparison["output_column_name"]
        levels = _levels(comparison)
        order = orders.get(name, LevelOrder())
        weights: dict[str, float] = {}
        for level in levels:
            label = level["label_for_charts"]
            value = weight(level)
            if value is None or level["m_probability"] > 1 or level["u_probability"] > 1:
                problems.append(f"{name} / {label}: m and u must both be estimated, between 0 and 1")
                continue
            weights[label] = value
            if label in {neutral for neutral, _ in order.neutral} and abs(value) > TOLERANCE:
                problems.append(f"{name} / {label}: weighs {value:+.2f} bits, but it carries no evidence")
            if label in order.disagreement and value > TOLERANCE:
                problems.append(f"{name} / {label}: a disagreement weighs {value:+.2f} bits, as evidence for a match")
            if _scaled(level):
                baseline = _exact_level(levels, level["tf_adjustment_column"])
                if baseline is None or not isinstance(baseline.get("u_probability"), int | float):
                    problems.append(f"{name} / {label}: scaled by term frequency without an estimated exact "
                                    f"level on {level['tf_adjustment_column']}")
        for high, low in order_pairs(comparison, order):
            if high not in weights or low not in weights:
                missing = [label for label in (high, low) if label not in {lv["label_for_charts"] for lv in levels}]
                if missing:
                    problems.append(f"{name} / {missing[0]}: level missing from the model (train it again)")
                continue
            if weights[low] > weights[high] + TOLERANCE:
                problems.append(f"{name} / {low}: weighs {weights[low]:+.2f} bits, more than "
                                f"'{high}' ({weights[high]:+.2f}), which agrees more")
    return list(dict.fromkeys(problems))


def weight_table(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every non-null level's m, u and weight (bits), by comparison, in the model's order."""
    return [
        {"comparison": comparison["output_column_name"], "level": level["label_for_charts"],
         "m": level.get("m_probability"), "u": level.get("u_probability"),
         "weight": None if weight(level) is None else round(float(weight(level) or 0.0), 2),
         "term_frequency": level.get("tf_adjustment_column")}
        for comparison in model.get("comparisons", []) for level in _levels(comparison)
    ]
