"""Whether the linkage model's match probabilities still mean what they say.

A model is calibrated when, of the candidates it gives a probability of about p, about a
share p are the person. `calibration` compares predicted probabilities with outcomes —
the officers' review decisions on an installation, the ground truth in the benchmark — in
bins, with the Brier score (mean squared error of the probability) and the expected
calibration error (the bins' gaps between mean probability and observed share, weighted by
their size). `drifted` says when the expected calibration error over the last decisions
has crossed a setting: the requests no longer look like the data the model was trained
on, and it is time to train it again (`retorno verify --train`, with `--em` or
`--from-decisions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

BINS = 10
# Above this expected calibration error the model is taken to have drifted.
MAX_ECE = 0.05
# Fewer outcomes than this say too little to call a drift either way.
MIN_OUTCOMES = 30


@dataclass(frozen=True)
class Bin:
    """Predictions with a probability in [low, high): how many, their mean, and the share that matched."""

    low: float
    high: float
    count: int
    mean_probability: float
    observed: float


@dataclass(frozen=True)
class Calibration:
    """Predicted probabilities against outcomes: per bin, the Brier score and the expected calibration error."""

    count: int
    brier: float
    ece: float
    bins: list[Bin] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "brier": round(self.brier, 5), "ece": round(self.ece, 5),
                "bins": [{"low": b.low, "high": b.high, "count": b.count,
                          "mean_probability": round(b.mean_probability, 5), "observed": round(b.observed, 5)}
                         for b in self.bins]}


def calibration(outcomes: Iterable[tuple[float, bool]], bins: int = BINS) -> Calibration:
    """Compare (predicted probability, whether it was the person) pairs in `bins` equal-width bins."""
    if bins < 1:
        raise ValueError(f"at least one bin, got {bins}")
    pairs = [(min(max(float(p), 0.0), 1.0), bool(y)) for p, y in outcomes]
    if not pairs:
        return Calibration(0, 0.0, 0.0, [])
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, y in pairs:
        grouped[min(int(p * bins), bins - 1)].append((p, y))
    table = [
        Bin(low=i / bins, high=(i + 1) / bins, count=len(group),
            mean_probability=sum(p for p, _ in group) / len(group), observed=sum(y for _, y in group) / len(group))
        for i, group in enumerate(grouped) if group
    ]
    brier = sum((p - y) ** 2 for p, y in pairs) / len(pairs)
    ece = sum(b.count * abs(b.mean_probability - b.observed) for b in table) / len(pairs)
    return Calibration(len(pairs), brier, ece, table)


def drifted(report: Calibration, max_ece: float = MAX_ECE, min_outcomes: int = MIN_OUTCOMES) -> bool | None:
    """True when the expected calibration error is above `max_ece`; None with too few outcomes to tell."""
    if report.count < min_outcomes:
        return None
    return report.ece > max_ece
