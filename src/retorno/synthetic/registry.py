"""Synthetic identity registry and verification requests with a stated error model.

`make_registry` writes a receiving-side registry drawn from `PopulationSampler`, in one of
several shapes (`SHAPES`: how a registry records people — one surname or two, sex and place
of birth recorded or not, birth dates without a day or month). `make_requests` draws people
from it and corrupts them as sending-side lists do (`ErrorModel`, with named presets in
`ERROR_MODELS`), and adds people who are not in the registry at all (non-nationals, who
must never be verified). Every request carries its ground truth (`true_registry_id`, null
for non-nationals) and the list of errors applied to it (`errors`), so benchmarks and tests
can score linkage.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from retorno.synthetic.people import STATES, PopulationSampler
from retorno.verification.normalise import region_of

REGISTRY_SCHEMA = pa.schema([
    ("registry_id", pa.int64()),
    ("given_names", pa.string()),
    ("first_surname", pa.string()),
    ("second_surname", pa.string()),
    ("sex", pa.string()),
    ("birth_date", pa.date32()),
    ("birth_place", pa.string()),
    ("cedula", pa.string()),
])
# A request carries a registry record's fields, its own id and its ground truth.
REQUEST_SCHEMA = pa.schema([
    ("request_id", pa.string()),
    *(field for field in REGISTRY_SCHEMA if field.name != "registry_id"),
    ("true_registry_id", pa.int64()),
    ("errors", pa.string()),
])
NAME_FIELDS = ("given_names", "first_surname", "second_surname")
# Seed offset for the people who are not in the registry, so they are not registry people.
NON_NATIONAL_SEED_OFFSET = 1_000_003


@dataclass
class ErrorModel:
    """Rates at which a sending-side list corrupts a person's record; all settable.

    Each rate is the probability, per request, that the error is applied; errors are
    drawn independently. Defaults are what we take as typical of lists typed by hand
    from interviews and foreign documents.

    - non_national_share 0.10: requests for people not in the registry at all.
    - non_national_namesake 0.05: of those, the share who carry the full name (given
      names and both surnames) of someone in the registry but are someone else.
    - non_national_cedula 0.30: of those, the share who declare some cédula number.
    - accents_lost 0.50: accents dropped and Ñ written N, in every name.
    - case_changed 0.20: names written in title case ("Gonzalez") instead of upper case.
    - second_surname_dropped 0.15: only the first surname written.
    - surnames_swapped 0.05: the two surnames in the wrong order.
    - given_names_cut 0.30: a compound given name ("MARÍA JOSÉ") cut to its first name;
      applies only to people with two given names.
    - one_typo 0.15 / two_typos 0.05: one or two keyboard typos (substitution, deletion,
      insertion, transposition) in the given names or surnames.
    - dob_day_month_swapped 0.05: day and month exchanged; applies only where that still
      makes a date (day 12 or less, different from the month).
    - dob_typo 0.02: one digit of the birth date wrong (still a valid date).
    - dob_missing 0.01: no birth date.
    - cedula_missing 0.30: no cédula number declared.
    - cedula_typo 0.05: one digit of the cédula wrong, or two neighbouring digits swapped.
    - sex_missing 0.02: sex not recorded.
    - birth_place_missing 0.30: state of birth not recorded.

    Kinds at 0 by default (presets in `ERROR_MODELS` turn them on):
    - given_surname_swapped: given names and first surname exchanged (a list written
      surname first: GROENIER BLAKE for BLAKE GROENIER).
    - sex_flipped: the other sex recorded.
    - birth_place_wrong: another state of birth recorded (where the person lived, say).
    - birth_place_region: the region written instead of the state ("LOS ANDES" for MÉRIDA).
    - dob_partial: the day or the month of birth not written (YYYY-MM-00 or YYYY-00-DD).
    """

    non_national_share: float = 0.10
    non_national_namesake: float = 0.05
    non_national_cedula: float = 0.30
    accents_lost: float = 0.50
    case_changed: float = 0.20
    second_surname_dropped: float = 0.15
    surnames_swapped: float = 0.05
    given_names_cut: float = 0.30
    one_typo: float = 0.15
    two_typos: float = 0.05
    dob_day_month_swapped: float = 0.05
    dob_typo: float = 0.02
    dob_missing: float = 0.01
    cedula_missing: float = 0.30
    cedula_typo: float = 0.05
    sex_missing: float = 0.02
    birth_place_missing: float = 0.30
    # Kinds the default leaves out (rate 0 draws nothing, so the default's requests stay as they were).
    given_surname_swapped: float = 0.0
    sex_flipped: float = 0.0
    birth_place_wrong: float = 0.0
    birth_place_region: float = 0.0
    dob_partial: float = 0.0

    def __post_init__(self) -> None:
        for rate in fields(self):
            value = getattr(self, rate.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"error rate {rate.name} must be between 0 and 1, got {value}")
        if self.one_typo + self.two_typos > 1.0:
            raise ValueError("one_typo + two_typos must not exceed 1")


ERROR_MODELS: dict[str, ErrorModel] = {
    # Today's sending-side lists, as `ErrorModel()` describes them.
    "default": ErrorModel(),
    # What `linkage.train` corrupts its synthetic labelled pairs with: the default, plus a
    # little of every kind a list is known to make, so that training observes every level
    # a true pair can reach (a level it never observes gets no evidence either way). The region
    # written for the state is such a kind: unobserved, its level weighed 0, where a region in
    # common is worth about 3 bits (one person in seven or eight is born in a given region).
    "training": ErrorModel(given_surname_swapped=0.02, sex_flipped=0.005, birth_place_wrong=0.02,
                           dob_partial=0.02, birth_place_region=0.02),
    # Lists unlike the training's: other rates for every kind (some higher, some lower),
    # more non-nationals and namesakes among them, and places written as regions five times
    # as often as the training writes them.
    "shifted": ErrorModel(
        non_national_share=0.15, non_national_namesake=0.10, non_national_cedula=0.40, accents_lost=0.80,
        case_changed=0.50, second_surname_dropped=0.25, surnames_swapped=0.10, given_names_cut=0.20,
        one_typo=0.10, two_typos=0.08, dob_day_month_swapped=0.08, dob_typo=0.03, dob_missing=0.01,
        cedula_missing=0.40, cedula_typo=0.08, sex_missing=0.05, birth_place_missing=0.20,
        given_surname_swapped=0.05, sex_flipped=0.01, birth_place_wrong=0.04, birth_place_region=0.10,
        dob_partial=0.05,
    ),
}
# Worse lists than the training's on every count: to see where the model gives way.
ERROR_MODELS["harsh"] = replace(
    ERROR_MODELS["shifted"], surnames_swapped=0.08, given_names_cut=0.45, one_typo=0.20, two_typos=0.06,
    dob_missing=0.02, sex_missing=0.10, birth_place_missing=0.45,
)


def error_model(spec: str) -> ErrorModel:
    """An error model from a preset name, optionally followed by NAME=RATE overrides.

    "shifted", "default,one_typo=0.3", "one_typo=0.3" (the default with one rate changed).
    """
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    base = ERROR_MODELS["default"]
    if parts and "=" not in parts[0]:
        name = parts.pop(0)
        if name not in ERROR_MODELS:
            raise ValueError(f"unknown error model {name!r}; presets: {', '.join(ERROR_MODELS)}")
        base = ERROR_MODELS[name]
    rates: dict[str, float] = {}
    known = {rate.name for rate in fields(ErrorModel)}
    for part in parts:
        name, _, value = part.partition("=")
        if name.strip() not in known:
            raise ValueError(f"unknown error rate {name.strip()!r}; known: {', '.join(sorted(known))}")
        try:
            rates[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"an error rate is NAME=RATE, e.g. one_typo=0.3, not {part!r}") from None
    return replace(base, **rates)


@dataclass(frozen=True)
class Shape:
    """How a registry records people, and so how the requests drawn from it look.

    - second_surname: whether people carry a second surname (a registry of people with one
      surname only, as most countries' are, has none).
    - sex, birth_place: whether the registry records them (a request drawn from a registry
      that does not cannot carry them either).
    - partial_dates: share of birth dates recorded without a day or without a month, half
      each, written YYYY-MM-00 or YYYY-00-DD (the column is then text).
    - swapped_requests: share of requests whose given names and first surname are
      exchanged, on top of whatever the error model does.
    """

    name: str
    second_surname: bool = True
    sex: bool = True
    birth_place: bool = True
    partial_dates: float = 0.0
    swapped_requests: float = 0.0

    def requests(self, model: ErrorModel) -> ErrorModel:
        """The error model the requests of this shape are drawn with."""
        if self.swapped_requests:
            return replace(model, given_surname_swapped=max(model.given_surname_swapped, self.swapped_requests))
        return model


SHAPES: dict[str, Shape] = {
    "venezuelan": Shape("venezuelan"),
    "single-surname": Shape("single-surname", second_surname=False),
    "sparse": Shape("sparse", sex=False, birth_place=False, partial_dates=0.5),
    "swapped": Shape("swapped", swapped_requests=0.2),
}


def _shape_columns(columns: dict[str, Any], shape: Shape, rng: np.random.Generator) -> dict[str, Any]:
    """Apply a registry shape to people drawn as columns (birth_date datetime64[D] in, text out if partial)."""
    n = len(columns["given_names"])
    shaped = dict(columns)
    if not shape.second_surname:
        shaped["second_surname"] = np.full(n, None, dtype=object)
    if not shape.sex:
        shaped["sex"] = np.full(n, None, dtype=object)
    if not shape.birth_place:
        shaped["birth_state"] = np.full(n, None, dtype=object)
    if shape.partial_dates:
        text = np.datetime_as_string(columns["birth_date"], unit="D").astype(object)
        draw = rng.random(n)
        no_day, no_month = draw < shape.partial_dates / 2, (draw >= shape.partial_dates / 2) & (
            draw < shape.partial_dates)
        shaped["birth_date"] = np.where(no_day, [t[:8] + "00" for t in text],
                                        np.where(no_month, [t[:5] + "00" + t[7:] for t in text], text))
    return shaped


def make_registry(size: int, seed: int, path: str | Path, shape: Shape | str = "venezuelan") -> Path:
    """Write a synthetic registry of `size` people of a `shape` to Parquet at `path`; return the path."""
    shape = SHAPES[shape] if isinstance(shape, str) else shape
    columns = _shape_columns(PopulationSampler(seed).sample_columns(size), shape,
                             np.random.default_rng(seed + NON_NATIONAL_SEED_OFFSET))
    cedulas = pc.binary_join_element_wise("V-", pc.cast(pa.array(columns["cedula"]), pa.string()), "")
    schema = _registry_schema(shape)
    table = pa.table(
        {
            "registry_id": pa.array(np.arange(1, size + 1, dtype=np.int64)),
            "given_names": pa.array(columns["given_names"], pa.string()),
            "first_surname": pa.array(columns["first_surname"], pa.string()),
            "second_surname": pa.array(columns["second_surname"], pa.string()),
            "sex": pa.array(columns["sex"], pa.string()),
            "birth_date": pa.array(columns["birth_date"]).cast(schema.field("birth_date").type),
            "birth_place": pa.array(columns["birth_state"], pa.string()),
            "cedula": cedulas,
        },
        schema=schema,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Row groups of DuckDB's own size let it read the registry on every core.
    pq.write_table(table, path, row_group_size=122_880)
    return path


def _registry_schema(shape: Shape) -> pa.Schema:
    if not shape.partial_dates:
        return REGISTRY_SCHEMA
    return REGISTRY_SCHEMA.set(REGISTRY_SCHEMA.get_field_index("birth_date"), pa.field("birth_date", pa.string()))


def _request_schema(shape: Shape, model: ErrorModel) -> pa.Schema:
    """Birth dates are text where some may lack a day or a month, dates otherwise."""
    if not (shape.partial_dates or model.dob_partial):
        return REQUEST_SCHEMA
    return REQUEST_SCHEMA.set(REQUEST_SCHEMA.get_field_index("birth_date"), pa.field("birth_date", pa.string()))


def _outsiders(seed: int, n: int, shape: Shape) -> list[dict[str, Any]]:
    """People not in the registry, recorded the way the registry's shape records people."""
    sampler = PopulationSampler(seed + NON_NATIONAL_SEED_OFFSET)
    if shape == SHAPES["venezuelan"]:
        return sampler.sample_people(n)
    columns = _shape_columns(sampler.sample_columns(n), shape, np.random.default_rng(seed))
    born = pa.array(columns["birth_date"])
    born = born if pa.types.is_string(born.type) else born.cast(pa.date32())
    return pa.table({
        "given_names": pa.array(columns["given_names"], pa.string()),
        "first_surname": pa.array(columns["first_surname"], pa.string()),
        "second_surname": pa.array(columns["second_surname"], pa.string()),
        "sex": pa.array(columns["sex"], pa.string()), "birth_date": born,
        "birth_state": pa.array(columns["birth_state"], pa.string()),
    }).to_pylist()


def make_requests(
    registry_path: str | Path, size: int, seed: int, error_model: ErrorModel, path: str | Path,
    shape: Shape | str = "venezuelan",
) -> Path:
    """Write `size` corrupted verification requests drawn from a registry to Parquet at `path`.

    `shape` is the registry's (`make_registry`): the people who are not in it are recorded
    the same way, and its `swapped_requests` share is added to the error model's.
    """
    shape = SHAPES[shape] if isinstance(shape, str) else shape
    error_model = shape.requests(error_model)
    rng = random.Random(seed)
    # Scanned, not loaded: a registry of tens of millions does not fit in memory as a table.
    registry = ds.dataset(registry_path, format="parquet")
    registry_rows = registry.count_rows()
    non_nationals = sum(rng.random() < error_model.non_national_share for _ in range(size))
    nationals = min(size - non_nationals, registry_rows)
    picked = np.random.default_rng(seed).choice(registry_rows, nationals, replace=False)
    people = registry.take(pa.array(picked)).to_pylist()
    outsiders = _outsiders(seed, size - nationals, shape)
    namesake_rows = np.random.default_rng(seed + 1).integers(0, registry_rows, len(outsiders))
    namesakes = registry.take(pa.array(namesake_rows))
    rows: list[dict[str, Any]] = []
    for person in people:
        rows.append(_corrupt(dict(person), rng, error_model, true_id=person["registry_id"]))
    for outsider, namesake in zip(outsiders, namesakes.to_pylist(), strict=True):
        person = {**outsider, "birth_place": outsider["birth_state"], "cedula": None}
        kind = []
        if rng.random() < error_model.non_national_namesake:
            person.update({name: namesake[name] for name in (*NAME_FIELDS, "sex")})
            kind.append("namesake")
        if rng.random() < error_model.non_national_cedula:
            person["cedula"] = str(rng.randrange(1_000_000, 33_000_000))
        row = _corrupt(person, rng, error_model, true_id=None)
        row["errors"] = ",".join(["non_national", *kind, *filter(None, [row["errors"]])])
        rows.append(row)
    rng.shuffle(rows)
    for number, row in enumerate(rows, start=1):
        row["request_id"] = f"R{seed}-{number:07d}"
    schema = _request_schema(shape, error_model)
    if pa.types.is_string(schema.field("birth_date").type):
        for row in rows:
            row["birth_date"] = _date_text(row["birth_date"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _date_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value.isoformat())


def _corrupt(
    person: dict[str, Any], rng: random.Random, model: ErrorModel, *, true_id: int | None
) -> dict[str, Any]:
    """Apply the error model to one person's record; returns the request row."""
    errors: list[str] = []

    def happens(name: str, rate: float) -> bool:
        if rng.random() < rate:
            errors.append(name)
            return True
        return False

    def rarely(name: str, rate: float) -> bool:
        """`happens` for the kinds the default leaves out: at rate 0 it draws nothing."""
        return rate > 0 and happens(name, rate)

    record = {name: person.get(name) for name in (*NAME_FIELDS, "sex", "birth_date", "birth_place", "cedula")}
    given = str(record["given_names"] or "")
    if " " in given and happens("given_names_cut", model.given_names_cut):
        record["given_names"] = given.split(" ")[0]
    if record["second_surname"] and happens("surnames_swapped", model.surnames_swapped):
        record["first_surname"], record["second_surname"] = record["second_surname"], record["first_surname"]
    if rarely("given_surname_swapped", model.given_surname_swapped):
        record["given_names"], record["first_surname"] = record["first_surname"], record["given_names"]
    if record["second_surname"] and happens("second_surname_dropped", model.second_surname_dropped):
        record["second_surname"] = None
    typo_draw = rng.random()
    typos = 2 if typo_draw < model.two_typos else 1 if typo_draw < model.two_typos + model.one_typo else 0
    if typos:
        errors.append("two_typos" if typos == 2 else "one_typo")
    for _ in range(typos):
        _typo(record, rng)
    if happens("accents_lost", model.accents_lost):
        for name in NAME_FIELDS:
            record[name] = _strip_accents(record[name])
    if happens("case_changed", model.case_changed):
        for name in NAME_FIELDS:
            record[name] = str(record[name]).title() if record[name] else record[name]
    born = record["birth_date"]
    if isinstance(born, str) and "-00" not in born:
        born = date.fromisoformat(born)  # a registry whose dates are text (some without a day or month)
    if isinstance(born, date):
        swappable = born.day <= 12 and born.day != born.month
        if swappable and happens("dob_day_month_swapped", model.dob_day_month_swapped):
            born = date(born.year, born.day, born.month)
        if happens("dob_typo", model.dob_typo):
            born = _date_typo(born, rng)
        if happens("dob_missing", model.dob_missing):
            born = None
        elif rarely("dob_partial", model.dob_partial):
            text = born.isoformat()
            born = text[:8] + "00" if rng.random() < 0.5 else text[:5] + "00" + text[7:]
        record["birth_date"] = born
    elif born and happens("dob_missing", model.dob_missing):
        record["birth_date"] = None
    if record["cedula"]:
        if happens("cedula_missing", model.cedula_missing):
            record["cedula"] = None
        elif happens("cedula_typo", model.cedula_typo):
            record["cedula"] = _digit_typo(str(record["cedula"]), rng)
        if record["cedula"]:
            record["cedula"] = _cedula_format(str(record["cedula"]), rng)
    if happens("sex_missing", model.sex_missing):
        record["sex"] = None
    elif record["sex"] and rarely("sex_flipped", model.sex_flipped):
        record["sex"] = "M" if record["sex"] == "F" else "F"
    if happens("birth_place_missing", model.birth_place_missing):
        record["birth_place"] = None
    elif record["birth_place"] and rarely("birth_place_wrong", model.birth_place_wrong):
        record["birth_place"] = rng.choice([str(state) for state in STATES if state != record["birth_place"]])
    elif record["birth_place"] and rarely("birth_place_region", model.birth_place_region):
        record["birth_place"] = region_of(str(record["birth_place"]))
    return {**record, "true_registry_id": true_id, "errors": ",".join(errors)}


def _strip_accents(text: str | None) -> str | None:
    if not text:
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_KEYBOARD_NEIGHBOURS = {
    "A": "QSZ", "B": "VNG", "C": "XVD", "D": "SFE", "E": "WRD", "F": "DGR", "G": "FHT", "H": "GJY",
    "I": "UOK", "J": "HKU", "K": "JLI", "L": "KO", "M": "N", "N": "MB", "O": "IPL", "P": "O",
    "Q": "WA", "R": "ETF", "S": "ADW", "T": "RYG", "U": "YIJ", "V": "CB", "W": "QES", "X": "ZC",
    "Y": "TUH", "Z": "XA",
}


def _typo(record: dict[str, Any], rng: random.Random) -> None:
    """One keyboard typo in a randomly chosen name field (longer fields are likelier)."""
    present = [name for name in NAME_FIELDS if record[name]]
    if not present:
        return
    name = rng.choices(present, weights=[len(record[n]) for n in present])[0]
    text: str = record[name]
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    i = rng.choice(letters)
    kind = rng.choice(("substitute", "delete", "insert", "transpose"))
    neighbour = rng.choice(_KEYBOARD_NEIGHBOURS.get(unicodedata.normalize("NFD", text[i])[0].upper(), "E"))
    if kind == "substitute":
        text = text[:i] + neighbour + text[i + 1:]
    elif kind == "delete" and len(letters) > 2:
        text = text[:i] + text[i + 1:]
    elif kind == "transpose" and i + 1 < len(text) and text[i + 1].isalpha() and text[i] != text[i + 1]:
        text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    else:
        text = text[:i] + neighbour + text[i:]
    record[name] = text


def _date_typo(born: date, rng: random.Random) -> date:
    """Change one digit of a date written YYYYMMDD, keeping it a valid past date."""
    digits = born.strftime("%Y%m%d")
    for _ in range(50):
        i = rng.randrange(2, 8)  # the century is never mistyped
        candidate = digits[:i] + str(rng.randrange(10)) + digits[i + 1:]
        try:
            changed = date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:]))
        except ValueError:
            continue
        if changed != born and changed.year <= date.today().year:
            return changed
    return born


def _digit_typo(number: str, rng: random.Random) -> str:
    """Mistype a cédula: one digit replaced, or two neighbouring digits swapped."""
    digits = "".join(ch for ch in number if ch.isdigit())
    i = rng.randrange(len(digits))
    if rng.random() < 0.5 and i + 1 < len(digits) and digits[i] != digits[i + 1]:
        return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
    return digits[:i] + rng.choice([d for d in "0123456789" if d != digits[i]]) + digits[i + 1:]


def _cedula_format(number: str, rng: random.Random) -> str:
    """Write a cédula the way some sending-side list does: V-12345678, 12345678, V12.345.678."""
    digits = "".join(ch for ch in number if ch.isdigit())
    dotted = f"{int(digits):,}".replace(",", ".")
    return rng.choice((f"V-{digits}", digits, f"V{dotted}", dotted))
