"""Synthetic population, registry and requests: distributions, uniqueness and the error model's rates."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retorno.names import key
from retorno.synthetic.people import STATES, PopulationSampler
from retorno.synthetic.registry import (
    ERROR_MODELS,
    SHAPES,
    ErrorModel,
    _date_typo,
    _digit_typo,
    error_model,
    make_registry,
    make_requests,
)
from retorno.verification.normalise import REGIONS, region_of

REQUESTS = 4_000


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_registry(20_000, 3, tmp_path_factory.mktemp("synth") / "registry.parquet")


@pytest.fixture(scope="module")
def requests(registry: Path) -> list[dict[str, object]]:
    path = make_requests(registry, REQUESTS, 5, ErrorModel(), registry.with_name("requests.parquet"))
    return pq.read_table(path).to_pylist()


def test_sample_people_has_the_documented_shape() -> None:
    people = PopulationSampler(1).sample_people(500)
    assert set(people[0]) == {
        "given_names", "first_surname", "second_surname", "sex", "birth_date", "birth_state", "cedula"
    }
    assert all(isinstance(person["birth_date"], dt.date) for person in people)
    assert all(str(person["cedula"]).startswith("V-") for person in people)
    assert {person["birth_state"] for person in people} <= set(STATES)
    assert any(" " in str(person["given_names"]) for person in people)
    assert PopulationSampler(1).sample_people(500) == people


def test_population_follows_venezuelan_name_frequencies() -> None:
    columns = PopulationSampler(2).sample_columns(50_000)
    surnames = Counter(columns["first_surname"])
    assert surnames.most_common(1)[0][0] == "GONZÁLEZ"
    assert surnames["GONZÁLEZ"] > surnames["PÉREZ"] > surnames["MUÑOZ"] > 0
    assert 0.45 < float(np.mean(columns["sex"] == "F")) < 0.56


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3_000))
def test_cedulas_are_unique_and_rise_with_age(seed: int, n: int) -> None:
    columns = PopulationSampler(seed).sample_columns(n)
    cedulas = columns["cedula"]
    assert len(set(cedulas.tolist())) == n
    assert cedulas.min() >= 1_000_000 and cedulas.max() < 33_000_000
    order = np.argsort(columns["birth_date"], kind="stable")
    assert np.all(np.diff(cedulas[order]) > 0)


def test_registry_ids_and_cedulas_are_unique(registry: Path) -> None:
    table = pq.read_table(registry)
    assert table.num_rows == 20_000
    assert len(set(table.column("registry_id").to_pylist())) == 20_000
    assert len(set(table.column("cedula").to_pylist())) == 20_000


def _share(rows: list[dict[str, object]], error: str) -> float:
    return sum(1 for row in rows if error in str(row["errors"]).split(",")) / len(rows)


@pytest.mark.parametrize(
    "error", ["accents_lost", "second_surname_dropped", "surnames_swapped", "one_typo", "two_typos",
              "dob_typo", "dob_missing", "sex_missing", "birth_place_missing", "case_changed"],
)
def test_error_rates_are_honoured(requests: list[dict[str, object]], error: str) -> None:
    rate = getattr(ErrorModel(), error)
    tolerance = 4 * (rate * (1 - rate) / len(requests)) ** 0.5 + 0.002
    assert abs(_share(requests, error) - rate) < tolerance


def test_conditional_rates_and_their_effects(requests: list[dict[str, object]]) -> None:
    nationals = [row for row in requests if row["true_registry_id"] is not None]
    assert abs(1 - len(nationals) / REQUESTS - ErrorModel().non_national_share) < 0.03
    # Cédula errors apply to nationals, who all have one in the registry.
    assert abs(_share(nationals, "cedula_missing") - ErrorModel().cedula_missing) < 0.04
    assert sum(1 for row in nationals if row["cedula"] is None) == sum(
        1 for row in nationals if "cedula_missing" in str(row["errors"])
    )
    dropped = [row for row in requests if "second_surname_dropped" in str(row["errors"])]
    assert all(row["second_surname"] is None for row in dropped)
    swapped = [row for row in requests if "dob_day_month_swapped" in str(row["errors"])]
    assert swapped and all(row["birth_date"] is None or isinstance(row["birth_date"], dt.date) for row in swapped)


def test_rates_are_settable(registry: Path, tmp_path: Path) -> None:
    model = ErrorModel(non_national_share=0.0, cedula_missing=1.0, one_typo=0.0, two_typos=0.0)
    rows = pq.read_table(make_requests(registry, 300, 9, model, tmp_path / "r.parquet")).to_pylist()
    assert all(row["true_registry_id"] is not None for row in rows)
    assert all(row["cedula"] is None for row in rows)
    assert not any("typo" in str(row["errors"]).replace("dob_typo", "") for row in rows)


def test_error_model_rejects_impossible_rates() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        ErrorModel(dob_typo=1.5)


@settings(max_examples=200, deadline=None)
@given(st.integers(1_000_000, 99_999_999), st.integers(0, 2**32 - 1))
def test_cedula_typo_changes_one_digit_or_swaps_two(number: int, seed: int) -> None:
    typed = _digit_typo(str(number), random.Random(seed))
    original = str(number)
    assert typed != original and len(typed) == len(original)
    differences = [i for i, (a, b) in enumerate(zip(typed, original, strict=True)) if a != b]
    assert len(differences) == 1 or (
        len(differences) == 2 and differences[1] == differences[0] + 1 and sorted(typed) == sorted(original)
    )


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(1920, 1, 1), dt.date(2015, 12, 31)), st.integers(0, 2**32 - 1))
def test_date_typo_changes_one_digit(born: dt.date, seed: int) -> None:
    typed = _date_typo(born, random.Random(seed))
    differences = sum(a != b for a, b in zip(typed.strftime("%Y%m%d"), born.strftime("%Y%m%d"), strict=True))
    assert differences <= 1


@pytest.fixture(scope="module")
def shifted(registry: Path) -> list[dict[str, object]]:
    path = make_requests(registry, REQUESTS, 6, ERROR_MODELS["shifted"], registry.with_name("shifted.parquet"))
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize(
    "error", ["given_surname_swapped", "sex_flipped", "birth_place_region", "dob_partial", "second_surname_dropped"],
)
def test_the_shifted_model_honours_its_rates_and_kinds(shifted: list[dict[str, object]], error: str) -> None:
    rate = getattr(ERROR_MODELS["shifted"], error)
    nationals = [row for row in shifted if row["true_registry_id"] is not None]
    if error == "birth_place_region":  # only a place still written, and not another state, can be a region
        nationals = [row for row in nationals if not {"birth_place_missing", "birth_place_wrong"}
                     & set(str(row["errors"]).split(","))]
    tolerance = 4 * (rate * (1 - rate) / len(nationals)) ** 0.5 + 0.01
    assert abs(_share(nationals, error) - rate) < tolerance


def test_new_kinds_change_what_they_say(registry: Path, shifted: list[dict[str, object]]) -> None:
    people = {row["registry_id"]: row for row in pq.read_table(registry).to_pylist()}
    regions = set(REGIONS)
    seen = Counter[str]()
    for row in shifted:
        errors = str(row["errors"]).split(",")
        person = people.get(row["true_registry_id"])  # type: ignore[arg-type]
        if person is None:
            continue
        if "given_surname_swapped" in errors and "one_typo" not in errors and "two_typos" not in errors:
            given = key(str(person["given_names"]))
            assert key(str(row["first_surname"])) in {given, given.split(" ")[0]}
            assert key(str(row["given_names"])) in {key(str(person["first_surname"])),
                                                    key(str(person["second_surname"]))}
            seen["swap"] += 1
        if "birth_place_region" in errors:
            assert row["birth_place"] in regions and row["birth_place"] == region_of(str(person["birth_place"]))
            seen["region"] += 1
        if "dob_partial" in errors:
            text = str(row["birth_date"])
            assert len(text) == 10 and "-00" in text
            assert "dob_typo" in errors or text[:4] == str(person["birth_date"])[:4]
            seen["partial"] += 1
        if "sex_flipped" in errors:
            assert row["sex"] != person["sex"]
            seen["sex"] += 1
    assert min(seen[kind] for kind in ("swap", "region", "partial", "sex")) > 0


def test_the_default_model_makes_none_of_the_new_kinds(requests: list[dict[str, object]]) -> None:
    for error in ("given_surname_swapped", "sex_flipped", "birth_place_wrong", "birth_place_region", "dob_partial"):
        assert _share(requests, error) == 0
    assert all(row["birth_date"] is None or isinstance(row["birth_date"], dt.date) for row in requests)


def test_error_models_are_named_presets_with_overrides() -> None:
    assert error_model("default") == ErrorModel()
    assert error_model("shifted,one_typo=0.3").one_typo == 0.3
    assert error_model("shifted,one_typo=0.3").accents_lost == ERROR_MODELS["shifted"].accents_lost
    assert error_model("one_typo=0.3") == ErrorModel(one_typo=0.3)
    with pytest.raises(ValueError, match="unknown error model"):
        error_model("nonsense")
    with pytest.raises(ValueError, match="unknown error rate"):
        error_model("default,typos=0.1")
    with pytest.raises(ValueError, match="NAME=RATE"):
        error_model("default,one_typo=lots")


def test_registry_shapes(tmp_path: Path) -> None:
    single = pq.read_table(make_registry(3_000, 4, tmp_path / "single.parquet", "single-surname")).to_pylist()
    assert all(row["second_surname"] is None and row["first_surname"] for row in single)
    sparse = pq.read_table(make_registry(3_000, 4, tmp_path / "sparse.parquet", "sparse")).to_pylist()
    assert all(row["sex"] is None and row["birth_place"] is None for row in sparse)
    no_day = sum(str(row["birth_date"]).endswith("-00") for row in sparse) / len(sparse)
    no_month = sum(str(row["birth_date"])[5:7] == "00" for row in sparse) / len(sparse)
    assert 0.2 < no_day < 0.3 and 0.2 < no_month < 0.3
    full = [row for row in sparse if "-00" not in str(row["birth_date"])]
    assert all(dt.date.fromisoformat(str(row["birth_date"])) for row in full)
    # Requests from a shaped registry keep its shape, the people not in it too.
    requests = pq.read_table(make_requests(tmp_path / "sparse.parquet", 400, 5, ErrorModel(),
                                           tmp_path / "q.parquet", "sparse")).to_pylist()
    assert all(row["sex"] is None and row["birth_place"] is None for row in requests)
    outsiders = [row for row in requests if row["true_registry_id"] is None]
    assert outsiders and any("-00" in str(row["birth_date"]) for row in outsiders)
    single_requests = pq.read_table(make_requests(tmp_path / "single.parquet", 400, 5, ErrorModel(),
                                                  tmp_path / "s.parquet", "single-surname")).to_pylist()
    assert all(row["second_surname"] is None for row in single_requests)
    assert not any("surnames_swapped" in str(row["errors"]) for row in single_requests)


def test_the_swapped_shape_swaps_a_share_of_requests(registry: Path, tmp_path: Path) -> None:
    rows = pq.read_table(make_requests(registry, 2_000, 8, ErrorModel(), tmp_path / "w.parquet",
                                       SHAPES["swapped"])).to_pylist()
    nationals = [row for row in rows if row["true_registry_id"] is not None]
    assert abs(_share(nationals, "given_surname_swapped") - SHAPES["swapped"].swapped_requests) < 0.04
