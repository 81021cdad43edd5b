"""Every export writes its text through one sanitiser (red team): the spreadsheet exports left out invisible
characters, the PAXLST and the PDFs did not — a zero-width space in a stored name became a space inside the
name in the passenger list ('MIGRA CION'), and the PDF carried a right-to-left override."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retorno.agencies.models import Agency
from retorno.cases.models import Case, Household
from retorno.documents.pdf import render_emergency_document
from retorno.flights import outputs
from retorno.flights.manifest_data import FlightManifest
from retorno.flights.models import Flight
from retorno.flights.paxlst import build_paxlst, unoa
from retorno.flights.printing import manifest_csv, render_manifest_pdf
from tests.documents.test_pdf import _document as document
from tests.factories import Api, World
from tests.flights.test_paxlst import PASSENGERS, manifest

# A zero-width space, a right-to-left override, a soft hyphen and a BOM: none shows, each changes what is read.
HIDDEN = ("\u200b", "\u202e", "\u00ad", "\ufeff")


def _hide(text: str) -> str:
    """`text` with an invisible character after its first, third and fifth letters."""
    out = text
    for position, char in zip((5, 3, 1), HIDDEN, strict=False):
        out = out[:position] + char + out[position:]
    return out


def _dirty_manifest() -> tuple[FlightManifest, FlightManifest]:
    passengers = [dataclasses.replace(p, surnames=_hide(p.surnames), given_names=_hide(p.given_names),
                                      household_reference=_hide(p.household_reference or "H-1"))
                  for p in PASSENGERS]
    clean = manifest([dataclasses.replace(p, household_reference=p.household_reference or "H-1")
                      for p in PASSENGERS])
    dirty = dataclasses.replace(clean, passengers=passengers, sending_authority=_hide(clean.sending_authority),
                                carrier_name=_hide(clean.carrier_name))
    return clean, dirty


def _paxlst(m: FlightManifest) -> str:
    return build_paxlst(m, sender="INM MEX", recipient="SAIME VEN", interchange_reference="000000042",
                        prepared_at=datetime(2023, 12, 29, 18, 0, tzinfo=UTC))


def test_paxlst_pdf_and_csv_of_a_manifest_leave_invisible_characters_out() -> None:
    clean, dirty = _dirty_manifest()
    assert _paxlst(dirty) == _paxlst(clean)
    assert render_manifest_pdf(dirty) == render_manifest_pdf(clean)
    assert manifest_csv(dirty) == manifest_csv(clean)
    assert unoa("Migra\u200bción") == "MIGRACION"


def test_the_emergency_travel_document_leaves_invisible_characters_out() -> None:
    clean = document()
    dirty = dataclasses.replace(clean, place_of_birth=_hide(clean.place_of_birth),
                                issuing_authority=_hide(clean.issuing_authority),
                                case_reference=_hide(clean.case_reference))
    assert render_emergency_document(dirty) == render_emergency_document(clean)


def test_a_locked_flights_documents_leave_out_what_an_older_record_holds(
        client: TestClient, world: World, session: Session) -> None:
    """Through the service every door uses: a household reference and an agency name stored before such
    characters were refused come out of the PAXLST, the PDF and the CSV without them."""
    api = Api(client, world)
    ref = api.ready_case(household_reference="HOGAR-1", relationship_to_head="head")["reference"]
    reference = api.build_manifest([ref], departure=datetime.now(UTC).replace(microsecond=0) + timedelta(days=3))
    carrier = world.users["carrier.officer"]

    def documents(household_reference: str, sender_name: str) -> tuple[bytes, str, str]:
        flight = session.execute(sa.select(Flight).where(Flight.reference == reference)).scalar_one()
        household = session.execute(sa.select(Household).join(Case, Case.household_id == Household.id)
                                    .where(Case.reference == ref)).scalar_one()
        sender = session.get(Agency, flight.sending_agency_id)
        assert sender is not None
        household.reference, sender.name = household_reference, sender_name
        session.flush()
        session.expire_all()
        flight = session.execute(sa.select(Flight).where(Flight.reference == reference)).scalar_one()
        return (outputs.manifest_pdf(session, carrier, flight, "es"), outputs.manifest_csv(session, carrier, flight,
                                                                                             "es"),
                outputs.paxlst_message(session, carrier, flight))

    pdf, csv, paxlst = documents(_hide("HOGAR-1"), "Instituto Nacional de Migra\u200bci\u202eón")
    assert "NAD+MS+++INSTITUTO NACIONAL DE MIGRACION'" in paxlst
    clean_pdf, clean_csv, _ = documents("HOGAR-1", "Instituto Nacional de Migración")
    assert (pdf, csv) == (clean_pdf, clean_csv)
    assert "HOGAR-1" in csv
