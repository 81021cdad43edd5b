"""The manifest of a flight as each party reads it: what the receiving side decides on, households for the carrier.

The two states see, per passenger, the birth date and age on the departure date, the household, how
verification stands and what (if anything) stops approval, named by its rule; the carrier sees its
passenger-list fields grouped by household, with ages, so that a household boards together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from retorno import safeguards
from retorno.agencies.models import User
from retorno.cases.facts import traveller_facts
from retorno.cases.schemas import household_shown
from retorno.flights import service as flights
from retorno.flights.airports import children_day
from retorno.flights.models import Flight
from retorno.reporting import caselist
from retorno.travel import bulk

# The safeguards by name, in Spanish; the English catalog translates them.
RULES = {
    safeguards.NON_REFOULEMENT: "No devolución: evaluación de protección",
    safeguards.CHILDREN: "Niñas, niños y adolescentes",
    safeguards.FAMILY_UNITY: "Unidad familiar",
    safeguards.VERIFIED_NATIONALITY: "Nacionalidad verificada",
    safeguards.VALID_DOCUMENT: "Documento de viaje válido",
    safeguards.CAPACITY: "Capacidad del vuelo",
    safeguards.MEDICAL_ESCORT: "Escolta médica",
    safeguards.VERIFIED_IDENTITY: "Identidad verificada",
    safeguards.ONE_SEAT: "Una persona, un asiento",
}
# How a passenger's verification stands, for the manifest's readers; the English catalog translates.
VERIFICATION_STATES = {"verified": "verificada", "changed": "identidad cambiada: reabierta",
                       "not_verified": "sin verificar"}


def manifest_context(session: Session, user: User, flight: Flight, carrier_list: list[Any] | None = None,
                     boarding: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the manifest table shows: for the two states, what to decide on; for the carrier, households."""
    departure = flight.departure_utc.date()
    if user.agency.kind == "carrier":
        return {"departure": departure,
                "carrier_groups": carrier_groups(carrier_list or [], boarding or {}, children_day(flight))}
    rows = flights.active_passengers(session, flight)
    facts = traveller_facts(session, [c for _, c in rows])
    deciding = flight.manifest_state == "proposed" and flight.state == "accepted"
    lines = []
    for passenger, case in rows:
        fact = facts[case.id]
        stops = (safeguards.may_be_approved(fact, departure, flight.receiving_agency.country, flight=flight.reference)
                 if passenger.approval == "proposed" else [])
        lines.append({
            "passenger": passenger, "case": case,
            "age": safeguards.counted_age(case.birth_date, fact.birth_date_elsewhere, children_day(flight)),
            "birth_elsewhere": (fact.birth_date_elsewhere if fact.birth_date_elsewhere not in (None, case.birth_date)
                               else None),
            "household": (household_shown(user.agency.code, *fact.household.split("/", 1)) if fact.household
                          else None),
            "verification": ("verified" if fact.nationality_verified
                             else "changed" if fact.identity_changed_since_verification else "not_verified"),
            "document": safeguards.document_usable(fact, departure),
            "stops": [(RULES.get(v.rule, v.rule), bulk.told(user, v)) for v in stops],
        })
    return {"lines": lines, "deciding": deciding, "departure": departure,
            "proposed_count": sum(1 for p, _c in rows if p.approval == "proposed"),
            "stopped_count": sum(1 for line in lines if line["stops"]),
            "verification_states": VERIFICATION_STATES}


def carrier_groups(passengers: list[Any], boarding: Mapping[str, str], departure: date) -> list[dict[str, Any]]:
    """The carrier's list by household (in seat order of each household's first seat): each passenger with
    their age on the departure date, and who is still to board."""
    groups: dict[str, dict[str, Any]] = {}
    for passenger in passengers:
        key = passenger.household_reference or passenger.case_reference
        group = groups.setdefault(key, {"household": passenger.household_reference, "passengers": [],
                                        "pending": []})
        group["passengers"].append((passenger, safeguards.age_on(passenger.birth_date, departure)))
        if boarding.get(passenger.case_reference, "pending") == "pending":
            group["pending"].append(passenger.case_reference)
    return list(groups.values())


def ready_near(session: Session, user: User, flight: Flight) -> caselist.CaseListPage:
    """How many ready cases are near the flight's departure airport (the flight page's link to the picker)."""
    wanted = caselist.CaseFilter(state="ready", airport=flight.origin)
    return caselist.list_cases(session, user, wanted, limit=1)
