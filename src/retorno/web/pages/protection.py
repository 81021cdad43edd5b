"""What the case page says about protection: the open-concern banner and which protection forms apply.

Only for the sending side's officers and supervisors (`screening.read_details`): whether a concern is
open is protection information. The banner counts the concerns and names the other records of the
same person where one is open; which concerns they are is read with the protection details, an
audited read, which is also where a supervisor resolves them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from retorno import safeguards
from retorno.agencies.models import User
from retorno.agencies.permissions import can
from retorno.audit.refusals import note_concern_told
from retorno.cases.facts import open_concern_codes, same_person, traveller_facts
from retorno.cases.models import Case
from retorno.screening.service import best_interests_problem


def protection_context(session: Session, user: User, case: Case) -> dict[str, Any]:
    """`open_concerns` (codes open on this record), `open_elsewhere` (references of the same person's other
    records this agency holds with one open), `open_other_agency` (whether another agency holds one: its
    record is not this agency's to name, and that it holds one is said only of a case otherwise ready) and
    `needs_best_interests` (a minor with no determination yet)."""
    if not can(user, "screening.read_details"):
        return {"open_concerns": [], "open_elsewhere": [], "open_other_agency": False, "needs_best_interests": False}
    others = same_person(session, [case.id]).get(case.id, {})
    told = {
        "open_concerns": open_concern_codes(session, case.id),
        "open_elsewhere": sorted(record.reference for other, record in others.items()
                                 if record.same_agency and open_concern_codes(session, other)),
        # Said only once this case is ready by its own record (verified, documented, cleared): before, nothing
        # confirms it is the person another agency's record is about (`safeguards.protection`).
        "open_other_agency": any(not record.same_agency and open_concern_codes(session, other)
                                 for other, record in others.items())
        and not safeguards.own_steps(traveller_facts(session, [case])[case.id]),
        # A minor waiting with no adult of the household and no determination yet (`best_interests_problem`).
        "needs_best_interests": best_interests_problem(session, case) is None,
    }
    if told["open_concerns"] or told["open_elsewhere"] or told["open_other_agency"]:
        # The page's banner says a concern is open on the person: an audited read, as the concern list's (red team
        # round 36, F1: every door that tells a concern is open records it).
        note_concern_told(session, user.id, "case_page", [case.reference])
    return told
