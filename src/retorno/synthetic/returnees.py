"""Made-up returnees waiting for matching and the opportunities they choose among, written in bulk."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import sqlalchemy as sa

from retorno.agencies.models import Agency
from retorno.cases.models import Case
from retorno.db import bulk_insert, utcnow
from retorno.reintegration.models import IntakeProfile, Opportunity
from retorno.reintegration.places import CAPITALS

ISCO = ["6111", "7112", "7233", "5223", "7512", "5321", "8322", "5120", "3512", "9312"]


def fill_returnees(session: Any, returnees: int, opportunities: int, prefs: int, seat_ratio: float,
                   seed: int) -> None:
    """Returnees waiting for matching (consented, profiled) and opportunities of agency VE-OP, written in bulk.

    Needs the agencies MX-INM and VE-OP. Used by the end-to-end benchmark and the crash tests.
    """
    rng = np.random.default_rng(seed)
    sending = session.execute(sa.select(Agency).where(Agency.code == "MX-INM")).scalar_one()
    operator = session.execute(sa.select(Agency).where(Agency.code == "VE-OP")).scalar_one()
    states = list(CAPITALS)
    seats = rng.multinomial(int(returnees * seat_ratio) - opportunities, np.ones(opportunities) / opportunities) + 1
    start = date.today() + timedelta(days=30)
    bulk_insert(session, Opportunity.__table__, [{
        "reference": f"OP-{j + 1:05d}", "operator_agency_id": operator.id,
        "kind": "internship" if j % 2 else "productive_project", "title": f"Oportunidad {j + 1}",
        "workplace": f"Centro {j // 3}", "sector": "sector", "isco_code": ISCO[j % len(ISCO)],
        "state_code": states[j % len(states)], "municipality": "Capital", "seats": int(seats[j]),
        "tutors": 4, "monthly_amount": Decimal(130), "currency": "USD", "start_date": start, "duration_months": 6,
        "min_age": 18, "min_education": None, "required_skills": [], "active": True} for j in range(opportunities)])
    now = utcnow()
    born = date(1990, 1, 1)
    bulk_insert(session, Case.__table__, [{
        "reference": f"MX-2026-{i + 1:06d}", "agency_id": sending.id, "agency_reference": f"B-{i + 1}",
        "given_names": "Ana", "first_surname": "Pérez", "search_name": "ANA PEREZ", "sex": "F",
        "birth_date": born, "nationality": "VEN", "held_at": "Tapachula",
        "detained_since": born + timedelta(days=12000),
        "language": "es", "state": "reintegration_intake", "state_changed_at": now, "registered_at": now}
        for i in range(returnees)])
    ids = session.execute(sa.select(Case.id).order_by(Case.id)).scalars().all()
    popularity = rng.zipf(1.3, opportunities * 4) % opportunities
    bulk_insert(session, IntakeProfile.__table__, [{
        "case_id": case_id, "consent": True, "consent_recorded_at": now, "home_state": states[k % len(states)],
        "municipality": "Capital", "education": str(int(rng.integers(0, 7))),
        "occupations": [ISCO[int(rng.integers(0, len(ISCO)))]], "skills": [], "languages": ["es"],
        "preferences": [f"OP-{int(j) + 1:05d}" for j in dict.fromkeys(
            rng.choice(popularity, prefs * 2).tolist())][:prefs],
        "needs": [], "recorded_by": 1} for k, case_id in enumerate(ids)])
