"""A decisions file's linkage lines are linkage's only when signed by a linker the authority trusts (red team round 81,
F4: a line edited from "review, deceased" to "verified" was recorded as linkage's verification)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno.audit.models import AuditRecord
from retorno.audit.signing import KeyFile
from retorno.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from retorno.verification import linkers
from retorno.verification.exchange import DecisionFileError, import_decisions
from retorno.verification.models import VerificationDecision
from tests.factories import World
from tests.linker import KEY, import_file, signed
from tests.verification.test_jobs import open_case

PERSON = {"given_names": "Ramón Alberto", "first_surname": "Quintero", "second_surname": "Pacheco", "sex": "M",
          "birth_date": dt.date(1961, 4, 9), "birth_place": "Lara", "cedula": "V6123456"}


def _review_deceased(reference: str) -> dict[str, Any]:
    """The line the linker wrote: a review, the best candidate deceased."""
    candidate = {"registry_record": "6123456", "probability": 0.9991, "deceased": True,
                 "record": {"given_names": "RAMÓN ALBERTO", "first_surname": "QUINTERO", "second_surname": "PACHECO",
                            "sex": "M", "birth_date": "1961-04-09", "birth_place": "LARA", "cedula": "V-6123456"},
                 "agreement": {"given_names": "agree", "cedula": "agree", "birth_date": "agree"}}
    return {"request": f"VR-{reference}", "case": reference, "outcome": "review", "method": "linkage",
            "registry_record": "6123456", "probability": 0.9991, "candidates": [candidate], "reason": "deceased"}


def _decisions(session: Session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(VerificationDecision)).scalar_one()


def test_a_line_edited_after_the_linker_signed_it_is_refused(session: Session, world: World) -> None:
    case = open_case(session, world.users["inm.officer"], PERSON)
    (line,) = signed([_review_deceased(case.reference)])
    edited = json.loads(line)
    edited.update(outcome="verified", reason=None)
    edited["candidates"][0]["deceased"] = False
    before = _decisions(session)
    with pytest.raises(DecisionFileError) as refused:
        import_decisions(session, world.users["saime.officer"], [json.dumps(edited)], own_linker=KEY.public())
    assert refused.value.problems == [(1, f"the signature of linker {KEY.public().key_id} does not match the line: "
                                          "it was changed after it was signed")]
    assert _decisions(session) == before and case.state == "verification_requested"

    # The line as signed is linkage's review, with the deceased candidate kept.
    summary = import_decisions(session, world.users["saime.officer"], [line], own_linker=KEY.public())
    assert summary.review == 1 and case.state == "verification_requested"


def test_an_unsigned_linkage_line_is_refused_and_a_manual_one_is_the_officers(session: Session, world: World) -> None:
    case = open_case(session, world.users["inm.officer"], PERSON)
    unsigned = {**_review_deceased(case.reference), "outcome": "verified", "reason": None, "candidates": []}
    with pytest.raises(DecisionFileError) as refused:
        import_decisions(session, world.users["saime.officer"], [json.dumps(unsigned)], own_linker=KEY.public())
    assert "signed by the linker that made it" in refused.value.problems[0][1]
    assert '"method": "manual"' in refused.value.problems[0][1]
    # Written by hand, the line is the officer's decision under the manual path's rules, recorded as the officer's
    # (on a person linkage never ran on, an officer may verify; a record linkage showed as someone else's or dead
    # needs a supervisor: `tests/functional/test_verification_overrides.py`).
    manual = {**unsigned, "method": "manual"}
    assert import_decisions(session, world.users["saime.officer"], [json.dumps(manual)]).verified == 1
    decision = session.execute(sa.select(VerificationDecision).order_by(VerificationDecision.id.desc())
                               .limit(1)).scalar_one()
    assert (decision.method, decision.decided_by) == ("manual", world.users["saime.officer"].id)


def test_only_a_linker_the_authority_trusts_signs_for_it(session: Session, world: World,
                                                         tmp_path: Any) -> None:
    other = KeyFile(tmp_path / linkers.KEY_FILE_NAME)
    case = open_case(session, world.users["inm.officer"], PERSON)
    lines = signed([_review_deceased(case.reference)], key=other)
    saime, supervisor = world.users["saime.officer"], world.users["saime.supervisor"]
    with pytest.raises(DecisionFileError, match="your agency does not trust"):
        import_decisions(session, saime, lines)
    with pytest.raises(Forbidden):
        linkers.trust_linker(session, saime, other.public().text, "Sala del registro")
    with pytest.raises(Forbidden):
        linkers.trust_linker(session, world.users["inm.supervisor"], other.public().text, "Sala del registro")
    for malformed in ("not a key", other.public().text[:-8], other.public().text + "AAAA"):
        with pytest.raises(InvalidInput, match="not a linker's public key"):
            linkers.trust_linker(session, supervisor, malformed, "Sala del registro")
    with pytest.raises(InvalidInput, match="named"):
        linkers.trust_linker(session, supervisor, other.public().text, "  ")
    trusted = linkers.trust_linker(session, supervisor, other.public().text, "SAIME, sala del registro")
    assert trusted.key_id == other.public().key_id
    with pytest.raises(InvalidTransition, match="already on your agency's list"):
        linkers.trust_linker(session, supervisor, other.public().text, "again")
    assert [linker.key_id for linker in linkers.trusted_linkers(session, saime)] == [trusted.key_id]

    # Trusted: the same file imports. Then revoked (with a written reason), the next file is refused.
    assert import_decisions(session, saime, lines).review == 1
    with pytest.raises(InvalidInput):
        linkers.revoke_linker(session, supervisor, trusted.key_id, "lost")
    with pytest.raises(NotFound):
        linkers.revoke_linker(session, supervisor, "0123456789abcdef", "The laptop was stolen from the office.")
    linkers.revoke_linker(session, supervisor, trusted.key_id, "The laptop was stolen from the office.")
    second = open_case(session, world.users["inm.officer"], {**PERSON, "given_names": "Ramona", "sex": "F"})
    with pytest.raises(DecisionFileError, match="your agency does not trust"):
        import_decisions(session, saime, signed([_review_deceased(second.reference)], key=other))
    actions = session.execute(sa.select(AuditRecord.action).where(AuditRecord.object_type == "linker")
                              .order_by(AuditRecord.seq)).scalars().all()
    assert actions == ["verification.linker_trusted", "verification.linker_revoked"]


def test_the_test_helper_signs_what_the_linker_signs(session: Session, world: World) -> None:
    case = open_case(session, world.users["inm.officer"], PERSON)
    assert import_file(session, world.users["saime.officer"], [_review_deceased(case.reference)]).review == 1


def test_a_dead_record_rekeyed_with_its_cedula_is_still_dead(session: Session, world: World) -> None:
    """Red team round 86, F1: linkage showed record 990003 (cédula V-22268064) dead; a later signed run named record
    9900030 with the same cédula, alive, verified, and an officer's import recorded it."""
    person = {**PERSON, "cedula": "V22268064"}
    case = open_case(session, world.users["inm.officer"], person)
    dead = _review_deceased(case.reference)
    dead["candidates"][0]["record"]["cedula"] = "V-22268064"
    assert import_file(session, world.users["saime.officer"], [dead]).review == 1
    alive = {**dead["candidates"][0], "registry_record": "9900030", "deceased": False, "probability": 0.9999}
    rekeyed = {**dead, "outcome": "verified", "registry_record": "9900030", "probability": 0.9999, "reason": None,
               "candidates": [alive]}
    with pytest.raises(DecisionFileError, match="as deceased"):
        import_file(session, world.users["saime.officer"], [rekeyed])
    # By hand, an officer does not verify against it either: the supervisor's override, with a written reason.
    manual = {**rekeyed, "method": "manual", "candidates": []}
    with pytest.raises(DecisionFileError, match="supervisor"):
        import_file(session, world.users["saime.officer"], [manual])
    assert case.state == "verification_requested"
