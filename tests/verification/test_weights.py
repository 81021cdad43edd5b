"""The rules that keep match weights sane on data training never saw (`verification.weights`), on hand-made models."""

from __future__ import annotations

import math
from typing import Any

import pytest

from retorno.verification.weights import LevelOrder, Seen, check, order_pairs, regularise, weight, weight_table


def _level(label: str, m: float | None = None, u: float | None = None, **extra: Any) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": extra.pop("sql", f"{label.replace(' ', '_')}_l = x"),
                             "label_for_charts": label, **extra}
    if m is not None:
        level["m_probability"] = m
    if u is not None:
        level["u_probability"] = u
    return level


def _model(*comparisons: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"comparisons": [
        {"output_column_name": name, "comparison_levels": [
            {"sql_condition": f"{name}_l IS NULL", "label_for_charts": "missing", "is_null_level": True}, *levels]}
        for name, levels in comparisons
    ]}


def _weights(model: dict[str, Any], name: str) -> dict[str, float]:
    comparison = next(c for c in model["comparisons"] if c["output_column_name"] == name)
    return {level["label_for_charts"]: weight(level) for level in comparison["comparison_levels"]
            if not level.get("is_null_level")}  # type: ignore[misc]


SEX = LevelOrder(disagreement=frozenset({"all other"}))


def test_an_unobserved_disagreement_never_weighs_for_a_match() -> None:
    # Training never saw two sexes that differ among true pairs, nor among random ones (a
    # registry without sex): the old floors (m 1e-3, u 1e-8) made that +16.6 bits.
    raw = _model(("sex", [_level("exact", 1.0, 0.5), _level("all other")]))
    sane = regularise(raw, {"sex": Seen(4_000, 1e6)}, {"sex": SEX}, {})
    assert _weights(sane, "sex")["all other"] <= 0
    assert check(sane, {"sex": SEX}) == []
    # Observed among random pairs but never among true ones: strongly against, by the sample's size.
    raw = _model(("sex", [_level("exact", 1.0, 0.5), _level("all other", None, 0.5)]))
    against = _weights(regularise(raw, {"sex": Seen(4_000, 1e6)}, {"sex": SEX}, {}), "sex")["all other"]
    assert against == pytest.approx(math.log2((0.5 / 4_001) / 0.5), abs=0.01)


def test_a_field_no_pair_ever_had_says_nothing() -> None:
    raw = _model(("sex", [_level("exact"), _level("all other")]))
    sane = regularise(raw, {"sex": Seen(0, 0)}, {"sex": SEX}, {})
    assert _weights(sane, "sex") == {"exact": 0.0, "all other": 0.0}


def test_an_agreement_no_random_pair_showed_is_as_rare_as_the_sample_can_tell() -> None:
    raw = _model(("cedula", [_level("exact", 0.95), _level("one digit apart", 0.05, 2e-7),
                             _level("all other", None, 1.0)]))
    sane = regularise(raw, {"cedula": Seen(3_000, 5e6)}, {"cedula": SEX}, {})
    exact = _weights(sane, "cedula")["exact"]
    # u is half a pair in five million, not 1e-8: about 22.8 bits, not 26.8.
    assert exact == pytest.approx(math.log2(((0.95 * 3_000 + 0.5) / 3_001.5) / (0.5 / 5_000_001.5)), abs=0.01)
    assert exact < math.log2(0.95 / 1e-8)


def test_an_unobserved_agreement_level_is_neutral_within_its_neighbours() -> None:
    order = LevelOrder(above=(("swapped", "crosswise"),), disagreement=frozenset({"all other"}))
    raw = _model(("surnames", [_level("both exact", 0.9, 1e-3), _level("swapped", None, 1e-4),
                               _level("crosswise", 0.01, 0.02), _level("all other", 0.05, 0.9)]))
    weights = _weights(regularise(raw, {"surnames": Seen(5_000, 1e6)}, {"surnames": order}, {}), "surnames")
    assert weights["swapped"] == pytest.approx(0.0, abs=1e-9)
    # Below it an observed level weighing more than 0: the unobserved one is raised to it.
    raw["comparisons"][0]["comparison_levels"][3]["m_probability"] = 0.08
    raw["comparisons"][0]["comparison_levels"][3]["u_probability"] = 0.01
    weights = _weights(regularise(raw, {"surnames": Seen(5_000, 1e6)}, {"surnames": order}, {}), "surnames")
    assert weights["swapped"] == pytest.approx(weights["crosswise"], abs=1e-6) and weights["crosswise"] > 2


def test_weights_are_made_monotone_by_lowering_the_lesser_level() -> None:
    order = LevelOrder(above=(("one digit apart", "within a year"),),
                       disagreement=frozenset({"within a year", "all other"}))
    raw = _model(("birth_date", [_level("exact", 0.9, 1e-4), _level("one digit apart", 0.02, 1e-3),
                                 _level("within a year", 0.05, 1e-3), _level("all other", 0.03, 0.9)]))
    assert any("within a year" in problem for problem in check(raw, {"birth_date": order}))
    sane = regularise(raw, {"birth_date": Seen(5_000, 1e6)}, {"birth_date": order}, {})
    weights = _weights(sane, "birth_date")
    assert weights["exact"] >= weights["one digit apart"] >= weights["within a year"] >= weights["all other"]
    assert weights["within a year"] <= 0
    assert check(sane, {"birth_date": order}) == []


def test_a_scaled_level_whose_baseline_no_random_pair_reached_scales_against_chance_agreement() -> None:
    # With single surnames every first-surname match lands on "first exact, second missing";
    # its baseline, "first exact, second differs", is never reached.
    scaled = {"tf_adjustment_column": "surname1", "tf_adjustment_weight": 1.0}
    raw = _model(("surnames", [
        _level("first exact, second missing", 0.9, 0.002, sql="surname1_l = surname1_r AND x", **scaled),
        _level("first exact, second differs", None, None, sql="surname1_l = surname1_r",
               disable_tf_exact_match_detection=True, **scaled),
        _level("all other", 0.1, 0.998)]))
    sane = regularise(raw, {"surnames": Seen(5_000, 2e6)}, {}, {"surname1": 0.002})
    baseline = sane["comparisons"][0]["comparison_levels"][2]
    assert baseline["u_probability"] == 0.002  # the column's sum of tf^2, not half a pair in two million
    assert check(sane, {}) == []


def test_a_level_reached_only_with_another_comparisons_level_counts_the_error_once() -> None:
    # A given name and surname written the other way round land on a level of each
    # comparison; each m carries the rarity of the exchange (2 %), which must count once.
    surnames = LevelOrder(disagreement=frozenset({"all other"}),
                          conditional=(("given written as surname", "given_names", ("surname written as given",)),))
    orders = {"given_names": LevelOrder(disagreement=frozenset({"all other"})), "surnames": surnames}
    raw = _model(("given_names", [_level("exact", 0.9, 0.01), _level("surname written as given", 0.02, 1e-3),
                                  _level("all other", 0.08, 0.989)]),
                 ("surnames", [_level("both exact", 0.9, 1e-4), _level("given written as surname", 0.018, 1e-5),
                               _level("all other", 0.082, 0.9999)]))
    seen = {"given_names": Seen(5_000, 1e6), "surnames": Seen(5_000, 1e6)}
    sane = regularise(raw, seen, orders, {})
    given, alone = _weights(sane, "given_names"), _weights(regularise(raw, seen, {}, {}), "surnames")
    # The surnames' half is its m given the other half: about 0.018 / 0.02, not 0.018.
    m = next(lv for lv in sane["comparisons"][1]["comparison_levels"]
             if lv["label_for_charts"] == "given written as surname")["m_probability"]
    assert m == pytest.approx(0.9, rel=0.02)
    weights = _weights(sane, "surnames")
    assert weights["given written as surname"] > alone["given written as surname"] + 5
    assert given["surname written as given"] < given["exact"]
    # Exempt from weighing no more than the first level, bound by the rest; the model may be saved.
    assert ("both exact", "given written as surname") not in order_pairs(sane["comparisons"][1], surnames)
    assert check(sane, orders) == []
    # Never above the first level's m, and untouched when training never saw the other half.
    raw["comparisons"][1]["comparison_levels"][2]["m_probability"] = 0.5
    capped = regularise(raw, seen, orders, {})
    assert next(lv for lv in capped["comparisons"][1]["comparison_levels"]
                if lv["label_for_charts"] == "given written as surname")["m_probability"] == pytest.approx(
        next(lv for lv in capped["comparisons"][1]["comparison_levels"]
             if lv["label_for_charts"] == "both exact")["m_probability"])
    raw["comparisons"][0]["comparison_levels"][2].pop("m_probability")
    unseen = regularise(raw, seen, orders, {})
    assert _weights(unseen, "surnames")["given written as surname"] == pytest.approx(
        _weights(unseen, "surnames")["both exact"])
    assert check(unseen, orders) == []


def test_a_level_that_carries_no_evidence_weighs_nothing() -> None:
    # Two records whose given names agree agree on the sex those names carry, match or not: trained
    # as it comes, the level weighs what the sex of a random pair says (about +1 bit), counted twice.
    order = LevelOrder(disagreement=frozenset({"all other"}), neutral=(("as the given name says", "exact"),),
                       apart=frozenset({"exact"}))
    raw = _model(("sex", [_level("as the given name says", 0.8, 0.01), _level("exact", 0.19, 0.49),
                          _level("all other", 0.01, 0.5)]))
    problems = check(raw, {"sex": order})
    assert any("as the given name says" in problem and "no evidence" in problem for problem in problems)
    sane = regularise(raw, {"sex": Seen(5_000, 1e6)}, {"sex": order}, {})
    weights = _weights(sane, "sex")
    assert weights["as the given name says"] == pytest.approx(0.0, abs=1e-9)
    # The sex agreeing where the given names do not is evidence still, and a disagreement against.
    assert weights["exact"] == pytest.approx(math.log2(0.99 / 0.5), abs=0.01) and weights["all other"] < 0
    assert check(sane, {"sex": order}) == []


def test_check_names_every_broken_level() -> None:
    order = LevelOrder(disagreement=frozenset({"all other"}))
    broken = _model(("sex", [_level("exact", 0.9, 0.5), _level("all other", 0.1, 1e-8)]),
                    ("cedula", [_level("exact", 0.9), _level("all other", 0.1, 0.9)]))
    problems = check(broken, {"sex": order, "cedula": order})
    assert any(p.startswith("sex / all other") and "disagreement" in p for p in problems)
    assert any(p.startswith("sex / all other") and "more than 'exact'" in p for p in problems)
    assert any(p.startswith("cedula / exact") and "estimated" in p for p in problems)
    missing = check(_model(("sex", [_level("exact", 0.9, 0.5), _level("all other", 0.1, 0.5)])),
                    {"sex": LevelOrder(above=(("exact", "swapped"),))})
    assert missing == ["sex / swapped: level missing from the model (train it again)"]


def test_order_pairs_and_weight_table() -> None:
    model = _model(("sex", [_level("exact", 1.0, 0.5), _level("all other", 0.01, 0.5)]))
    assert order_pairs(model["comparisons"][0], LevelOrder()) == [("exact", "all other")]
    rows = weight_table(model)
    assert [(r["comparison"], r["level"], r["weight"]) for r in rows] == [
        ("sex", "exact", 1.0), ("sex", "all other", -5.64)]
