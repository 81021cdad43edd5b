"""The demo's civil registry, and the waiting verification requests linked against it.

The receiving side of the demo keeps a synthetic civil registry (Parquet, in the data
directory) holding the demo's people among others; the requests still waiting in its queue
are linked with the same Splink model and actions as `retorno verify`, so the review queue
shows real proposals: most verified, some for a person to decide, a few not found.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.cases.models import Case
from retorno.synthetic.registry import REGISTRY_SCHEMA, make_registry
from retorno.verification import jobs
from retorno.verification.linkage import Thresholds, train

REGISTRY_FILE = "registro-civil-demo.parquet"
MODEL_FILE = "verification-model.json"
# Of the requests still waiting: people the registry does not hold, people whose day of
# birth differs and whose cédula the registry lacks (for a person to decide), and people
# whose second surname the registry spells with one letter different (still verified).
NOT_IN_REGISTRY, WRITTEN_WRONGLY, SURNAME_SPELLED_DIFFERENTLY = 0.04, 0.12, 0.15


def link_waiting_requests(session: Session, rng: random.Random, saime: User, data_dir: Path,
                          thresholds: Thresholds, *, seed: int) -> jobs.RunSummary:
    """Write the demo registry and model to `data_dir`, then link every waiting request of `saime`."""
    cases = session.execute(sa.select(Case).order_by(Case.id)).scalars().all()
    population = max(2_000, 10 * len(cases))
    data_dir.mkdir(parents=True, exist_ok=True)
    registry_path = data_dir / REGISTRY_FILE
    make_registry(population, seed, registry_path)
    records = pq.read_table(registry_path).to_pylist()
    for number, case in enumerate(cases, start=population + 1):
        record = _record(number, case)
        if case.state == "verification_requested":
            roll = rng.random()
            if roll < NOT_IN_REGISTRY:
                continue
            if roll < NOT_IN_REGISTRY + WRITTEN_WRONGLY:
                record = _written_wrongly(record, rng)
            elif roll < NOT_IN_REGISTRY + WRITTEN_WRONGLY + SURNAME_SPELLED_DIFFERENTLY:
                record["second_surname"] = _one_letter_changed(record["second_surname"], rng)
        records.append(record)
    rng.shuffle(records)
    pq.write_table(pa.Table.from_pylist(records, schema=REGISTRY_SCHEMA), registry_path)
    model_path = data_dir / MODEL_FILE
    train(registry_path, model_path, seed=seed, u_pairs=1e6)
    return jobs.verify_open_requests(session, saime, registry_path, model_path, thresholds)


def _record(number: int, case: Case) -> dict[str, Any]:
    cedula = case.national_id
    return {
        "registry_id": number, "given_names": case.given_names.upper(),
        "first_surname": case.first_surname.upper(),
        "second_surname": case.second_surname.upper() if case.second_surname else None,
        "sex": case.sex, "birth_date": case.birth_date,
        "birth_place": case.place_of_birth.upper() if case.place_of_birth else None,
        "cedula": f"V-{cedula.lstrip('Vv-')}" if cedula else None,
    }


def _written_wrongly(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The registry holds no cédula for them and another day of birth in the same month.

    The names agree but neither the birth date nor the cédula anchors the match: a person
    decides, with the candidates side by side.
    """
    born: date = record["birth_date"]
    day = born.day + 13 if born.day <= 15 else born.day - 13
    return {**record, "birth_date": born.replace(day=day), "cedula": None}


def _one_letter_changed(surname: str | None, rng: random.Random) -> str | None:
    if not surname or len(surname) < 4:
        return surname
    position = rng.randrange(1, len(surname) - 1)
    letter = rng.choice([c for c in "AEIOURSNL" if c != surname[position]])
    return surname[:position] + letter + surname[position + 1:]
