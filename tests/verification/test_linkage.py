"""End-to-end linkage on a small synthetic registry: decisions, thresholds, the saved model, the benchmark."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from retorno.verification import bench
from retorno.verification.linkage import FIELDS, LinkDecision, Thresholds, link, train
from retorno.verification.synth import ErrorModel, make_registry, make_requests


@dataclasses.dataclass
class Setup:
    registry: Path
    requests: Path
    model: Path
    records: list[dict[str, Any]]
    training: dict[str, Any]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    folder = tmp_path_factory.mktemp("linkage")
    registry = make_registry(5_000, 11, folder / "registry.parquet")
    requests = make_requests(registry, 300, 12, ErrorModel(), folder / "requests.parquet")
    model = folder / "model.json"
    training = train(registry, model, seed=13, u_pairs=2e5)
    return Setup(registry, requests, model, pq.read_table(registry).to_pylist(), training)


def _request(record: dict[str, Any], request_id: str, **changes: Any) -> dict[str, Any]:
    request = {name: record[name] for name in FIELDS}
    return {"request_id": request_id, **request, **changes}


def test_training_saves_a_splink_model(setup: Setup) -> None:
    model = json.loads(setup.model.read_text(encoding="utf-8"))
    assert model["link_type"] == "link_only"
    assert {c["output_column_name"] for c in model["comparisons"]} == {
        "given_names", "surnames", "birth_date", "cedula", "sex", "birth_place"
    }
    weights = setup.training["match_weights"]
    assert weights["cedula"]["exact"] > 10 > weights["cedula"]["all other"]
    dates = weights["birth_date"]
    assert dates["exact"] > dates["one digit apart"] > dates["all other"]
    assert setup.training["labelled_pairs"] > 4_000


def test_clean_copy_is_verified_and_strangers_are_not_found(setup: Setup) -> None:
    person = setup.records[42]
    stranger = {
        "request_id": "stranger", "given_names": "XAVERIUS", "first_surname": "QUOBLENSKY",
        "second_surname": "WYNDHAMPTON", "sex": "M", "birth_date": dt.date(1931, 2, 2),
        "birth_place": "ZULIA", "cedula": None,
    }
    clean, unknown = link([_request(person, "clean"), stranger], setup.registry, setup.model)
    assert (clean.request_id, clean.outcome) == ("clean", "verified")
    assert clean.registry_id == person["registry_id"]
    assert clean.probability >= Thresholds().upper
    assert clean.candidates[0].agreement == dict.fromkeys(FIELDS, "agree")
    assert clean.candidates[0].record["registry_id"] == person["registry_id"]
    assert (unknown.outcome, unknown.registry_id) == ("not_found", None)


def test_heavily_corrupted_request_goes_to_review(setup: Setup) -> None:
    person = setup.records[77]
    born: dt.date = person["birth_date"]
    corrupted = _request(
        person, "corrupted",
        given_names=str(person["given_names"]).split(" ")[0],
        first_surname=person["second_surname"], second_surname=person["first_surname"],
        birth_date=born.replace(year=born.year - 10), cedula=None, birth_place=None,
    )
    (decision,) = link([corrupted], setup.registry, setup.model)
    assert decision.outcome == "review"
    assert person["registry_id"] in [candidate.registry_id for candidate in decision.candidates]
    best = next(c for c in decision.candidates if c.registry_id == person["registry_id"])
    assert best.agreement["birth_date"] == "partial"  # ten years off is one digit off
    assert best.agreement["cedula"] == "missing"
    assert best.agreement["first_surname"] == "partial"


def test_no_non_national_is_ever_verified(setup: Setup) -> None:
    truth = {row["request_id"]: row["true_registry_id"] for row in pq.read_table(setup.requests).to_pylist()}
    decisions = link(setup.requests, setup.registry, setup.model)
    assert [d.request_id for d in decisions] == list(truth)
    for decision in decisions:
        assert len(decision.candidates) <= 3
        assert all(set(c.agreement) == set(FIELDS) for c in decision.candidates)
        if decision.outcome == "verified":
            assert decision.registry_id == truth[decision.request_id]
    scores = bench.score(decisions, truth)
    assert scores["false_verified_non_nationals"] == 0
    assert scores["auto_recall"] > 0.9
    assert scores["recall_with_review"] > 0.95


def test_thresholds_move_decisions(setup: Setup) -> None:
    requests = pq.read_table(setup.requests).to_pylist()[:60]
    default = link(requests, setup.registry, setup.model)
    # Equal thresholds leave no room for review; an upper threshold of 1 verifies nothing short of certainty.
    strict = link(requests, setup.registry, setup.model, Thresholds(upper=1.0, lower=1.0))
    assert all(d.outcome != "review" and (d.outcome != "verified" or d.probability >= 1.0) for d in strict)
    # With both thresholds at 0, every request that has a candidate is proposed (verified or review).
    lenient = link(requests, setup.registry, setup.model, Thresholds(upper=0.0, lower=0.0))
    assert all(d.outcome != "not_found" for d in lenient if d.candidates)
    verified = sum(d.outcome == "verified" for d in default)
    lenient_verified = sum(d.outcome == "verified" for d in lenient)
    assert sum(d.outcome == "verified" for d in strict) < verified <= lenient_verified
    with pytest.raises(ValueError, match="lower"):
        Thresholds(upper=0.2, lower=0.5)


def _one_digit_off(born: dt.date) -> dt.date:
    """The same date with the last digit of the day changed (one digit of YYYYMMDD)."""
    day = born.day + 1 if born.day % 10 in (0, 1) else born.day - 1
    return born.replace(day=day)


def test_only_a_birth_date_or_cedula_anchors_a_verification(setup: Setup) -> None:
    person = setup.records[123]
    born: dt.date = person["birth_date"]
    eleven_off = born.replace(year=born.year - 11, day=min(born.day, 28))
    requests = [
        _request(person, "date-one-digit-off", birth_date=_one_digit_off(born), cedula=None),
        _request(person, "date-swapped", birth_date=born.replace(month=born.day, day=born.month)
                 if born.day <= 12 else born, cedula=None),
        _request(person, "cedula-one-digit-off", birth_date=None,
                 cedula=str(person["cedula"])[:-1] + str((int(str(person["cedula"])[-1]) + 1) % 10)),
        _request(person, "date-two-digits-off", birth_date=eleven_off, cedula=None),
        _request(person, "neither", birth_date=None, cedula=None),
    ]
    # With an upper threshold of 0 every proposal that is anchored is verified: the rest wait
    # for a person, however alike the names.
    decisions = {d.request_id: d for d in link(requests, setup.registry, setup.model, Thresholds(0.0, 0.0))}
    for anchored in ("date-one-digit-off", "date-swapped", "cedula-one-digit-off"):
        assert (decisions[anchored].outcome, decisions[anchored].registry_id) == ("verified", person["registry_id"])
    for unanchored in ("date-two-digits-off", "neither"):
        assert decisions[unanchored].outcome == "review"
        assert decisions[unanchored].candidates[0].registry_id == person["registry_id"]


def test_a_mistyped_second_surname_is_more_evidence_than_none(setup: Setup) -> None:
    # The second surname's typo level is weighed by how common the pair of surnames is, not
    # by the first surname alone: for someone with a common first surname and a pair nobody
    # else has (no siblings registered), one wrong letter says more than a blank.
    pairs = Counter((r["first_surname"], r["second_surname"]) for r in setup.records)
    firsts = Counter(r["first_surname"] for r in setup.records)
    person = next(r for r in setup.records
                  if pairs[r["first_surname"], r["second_surname"]] == 1 and firsts[r["first_surname"]] >= 20
                  and len(r["second_surname"]) >= 5 and r["second_surname"].isascii()
                  and r["second_surname"].isalpha())
    surname = person["second_surname"]
    typo = surname[:2] + ("X" if surname[2] != "X" else "Z") + surname[3:]
    born: dt.date = person["birth_date"]
    # Same year and month, another day (both digits differ): the date says little either way.
    other_day = born.replace(day=born.day + 13 if born.day <= 15 else born.day - 13)
    weak = {"birth_date": other_day, "cedula": None, "birth_place": None}
    mistyped, blank = link([_request(person, "typo", second_surname=typo, **weak),
                            _request(person, "blank", second_surname=None, **weak)],
                           setup.registry, setup.model, Thresholds(0.0, 0.0))
    assert mistyped.candidates[0].registry_id == person["registry_id"]
    assert mistyped.probability > blank.probability
    assert mistyped.candidates[0].agreement["second_surname"] == "partial"


def test_every_scaled_frequency_level_has_its_exact_baseline() -> None:
    # Splink scales a term-frequency level against the comparison's plain exact level on the
    # same column; without one there is nothing to scale against.
    from retorno.verification.linkage import COMPARISONS

    for comparison in COMPARISONS:
        exact = {level["sql_condition"] for level in comparison["comparison_levels"]}
        for level in comparison["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if column and not level.get("disable_tf_exact_match_detection"):
                assert f"{column}_l = {column}_r" in exact, level["label_for_charts"]


def test_fewer_expected_nationals_make_every_posterior_warier(setup: Setup) -> None:
    person = setup.records[321]
    request = _request(person, "no-cedula", cedula=None, birth_place=None)
    (usual,) = link([request], setup.registry, setup.model, Thresholds(0.0, 0.0))
    (wary,) = link([request], setup.registry, setup.model, Thresholds(0.0, 0.0, national_share=0.3))
    assert usual.registry_id == wary.registry_id == person["registry_id"]
    assert wary.probability < usual.probability


def test_saved_model_is_loaded_not_retrained(setup: Setup, tmp_path: Path) -> None:
    before = setup.model.read_bytes()
    requests = pq.read_table(setup.requests).to_pylist()[:40]
    first = link(requests, setup.registry, setup.model)
    copy = tmp_path / "copied-model.json"
    copy.write_bytes(before)
    second = link(requests, setup.registry, copy, work_dir=tmp_path / "scratch", memory_limit="1GB")
    assert setup.model.read_bytes() == before
    assert _summary(first) == _summary(second)
    assert not list((tmp_path / "scratch").glob("*.duckdb"))
    with pytest.raises(FileNotFoundError):
        link(requests, setup.registry, tmp_path / "missing.json")


def _summary(decisions: list[LinkDecision]) -> list[tuple[Any, str, Any, float]]:
    return [(d.request_id, d.outcome, d.registry_id, round(d.probability, 6)) for d in decisions]


@pytest.mark.bench
def test_tiny_benchmark_run(tmp_path: Path) -> None:
    figures = bench.run(2_000, 100, seed=3, work_dir=str(tmp_path))
    for name in ("registry", "requests", "seconds", "train_seconds", "peak_rss_mb", "auto_precision",
                 "auto_recall", "review_share", "false_verified_non_nationals", "recall_with_review"):
        assert name in figures
    assert figures["registry"] == 2_000 and figures["requests"] == 100
    assert figures["false_verified_non_nationals"] == 0
    json.dumps(figures)


def test_the_anchor_rule_needs_a_birth_date_or_cedula_not_a_name() -> None:
    from retorno.verification.anchors import is_anchored

    names_only = {"given_names": "agree", "first_surname": "agree", "second_surname": "agree", "sex": "agree"}
    assert not is_anchored({**names_only, "birth_date": "disagree", "cedula": "missing"})
    assert not is_anchored(names_only)
    assert is_anchored({**names_only, "birth_date": "partial", "cedula": "disagree"})
    assert is_anchored({"birth_date": "missing", "cedula": "agree"})
