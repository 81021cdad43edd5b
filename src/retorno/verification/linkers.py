"""The linking machines a receiving authority trusts: a decisions file's linkage lines are imported as linkage's only
when signed by one of them.

The offline path (`exchange`) carries a decisions file from the machine where the registry is to the service. A line
edited on the way (from "review, deceased" to "verified", a candidate's death or sex dropped) was recorded as
linkage's: nothing the service held told it the line was not the linker's (red team round 81, F4). Now the linking
machine signs every line it writes with an Ed25519 key of its own (`linker_signing_key` in its data directory,
created on first use, as the audit key is), and the service imports a `"method": "linkage"` line only when its
signature verifies against a key its authority trusts: one a supervisor of the authority added
(`trust_linker`, audited), not revoked, or the service's own linking key (a file linked on the service's own host).
The signature covers the whole line: the request, the outcome, the record, the probability and every candidate as
shown. A line an officer writes by hand says `"method": "manual"` and is the officer's decision, under the manual
path's rules (a supervisor's override where a known record says so).
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from retorno import plaintext
from retorno.agencies.models import User
from retorno.agencies.permissions import action, reader
from retorno.audit.service import record
from retorno.audit.signing import KeyFile, Keyring, PublicKey
from retorno.config import Settings
from retorno.db import utcnow
from retorno.errors import InvalidInput, InvalidTransition, NotFound
from retorno.reasons import written_reason
from retorno.verification.models import TrustedLinker

KEY_FILE_NAME = "linker_signing_key"
PAYLOAD_VERSION = "retorno-linkage-decision/1"
# The fields a signed line adds: which key signed it, and the signature (base64).
SIGNED_BY, SIGNATURE = "linker", "signature"


def key_file(settings: Settings) -> KeyFile:
    """This installation's linking key: `linker_signing_key` in the data directory, created on first use."""
    return KeyFile(Path(settings.data_dir) / KEY_FILE_NAME)


def own_key(settings: Settings) -> PublicKey | None:
    """The public half of this installation's linking key, if it has one (a file linked here is its own)."""
    keys = key_file(settings).keyring().keys
    return next(iter(keys.values()), None)


def payload(document: dict[str, Any]) -> bytes:
    """The exact bytes a line's signature covers: the line without its signature fields, keys sorted."""
    unsigned = {name: value for name, value in document.items() if name not in (SIGNED_BY, SIGNATURE)}
    return (PAYLOAD_VERSION + "\n" + json.dumps(unsigned, sort_keys=True, ensure_ascii=False,
                                                separators=(",", ":"))).encode()


def sign(document: dict[str, Any], key: KeyFile) -> dict[str, Any]:
    """The decision document with its signature."""
    key_id, signature = key.sign(payload(document))
    return {**document, SIGNED_BY: key_id, SIGNATURE: signature}


def signature_problem(document: dict[str, Any], keyring: Keyring) -> str | None:
    """Why a linkage line is not linkage's as far as this service can tell, or None."""
    key_id, signature = document.get(SIGNED_BY), document.get(SIGNATURE)
    if not isinstance(key_id, str) or not isinstance(signature, str):
        return ("a linkage decision is signed by the linker that made it ('linker' and 'signature'); a decision "
                "written by hand says \"method\": \"manual\"")
    key = keyring.get(key_id)
    if key is None:
        return (f"signed by linker {key_id[:16]!r}, which {'' if keyring.keys else 'no linker: '}your agency does not "
                "trust (a supervisor adds it with `retorno verify linkers add`)")
    if not key.verifies(signature, payload(document)):
        return f"the signature of linker {key_id} does not match the line: it was changed after it was signed"
    return None


def signers(lines: list[str]) -> list[str]:
    """The linkers that signed a decisions file's lines, for the audit record of its import."""
    found = set()
    for line in lines:
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict) and isinstance(document.get(SIGNED_BY), str):
            found.add(document[SIGNED_BY][:16])
    return sorted(found)


def keyring(session: Session, agency_id: int, own: PublicKey | None) -> Keyring:
    """The keys an authority's imports trust: those of its supervisors' trust not revoked, and the service's own."""
    rows = session.execute(sa.select(TrustedLinker.public_key).where(
        TrustedLinker.agency_id == agency_id, TrustedLinker.revoked_at.is_(None))).scalars()
    return Keyring([PublicKey.from_text(text) for text in rows] + ([own] if own is not None else []))


def _public_key(text: str) -> PublicKey:
    cleaned = "".join(text.split())
    try:
        key = PublicKey.from_text(cleaned)
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput("'%(key)s' is not a linker's public key: the base64 text `retorno verify linker-key` "
                           "prints on the linking machine", code="linker_key_malformed", key=text[:60]) from exc
    if base64.b64encode(key.raw).decode() != cleaned:
        raise InvalidInput("'%(key)s' is not a linker's public key: the base64 text `retorno verify linker-key` "
                           "prints on the linking machine", code="linker_key_malformed", key=text[:60])
    return key


@action("verification.trust_linker")
def trust_linker(session: Session, actor: User, public_key: str, name: str) -> TrustedLinker:
    """Trust a linking machine's key for the actor's authority: its signed decisions files import as linkage's."""
    key = _public_key(public_key)
    label = " ".join(name.split())
    if not label or len(label) > 120 or plaintext.unwanted(label, one_line=True):
        raise InvalidInput("a linker is named (where it runs, who keeps it) in at most 120 characters, one line",
                           code="linker_name_required")
    existing = session.execute(sa.select(TrustedLinker).where(
        TrustedLinker.agency_id == actor.agency_id, TrustedLinker.key_id == key.key_id)).scalar_one_or_none()
    if existing is not None:
        raise InvalidTransition("linker %(key_id)s is already on your agency's list (trusted %(when)s): a key is "
                                "trusted once, and a revoked one is not trusted again (the linking machine makes a new "
                                "one)", code="linker_known", key_id=key.key_id,
                                when=existing.trusted_at.date().isoformat())
    linker = TrustedLinker(agency_id=actor.agency_id, key_id=key.key_id, public_key=key.text, name=label,
                           trusted_by=actor.id, trusted_at=utcnow())
    session.add(linker)
    session.flush()
    record(session, actor, "verification.linker_trusted", "linker", key.key_id,
           after={"name": label, "public_key": key.text, "agency": actor.agency.code})
    return linker


@action("verification.trust_linker")
def revoke_linker(session: Session, actor: User, key_id: str, reason: str) -> TrustedLinker:
    """Stop trusting a linking machine's key (lost, replaced, compromised): its files no longer import."""
    why = written_reason(reason)
    linker = session.execute(sa.select(TrustedLinker).where(
        TrustedLinker.agency_id == actor.agency_id, TrustedLinker.key_id == key_id.strip().lower())
    ).scalar_one_or_none()
    if linker is None:
        raise NotFound("no linker %(key_id)s on your agency's list", key_id=key_id)
    if linker.revoked_at is not None:
        raise InvalidTransition("linker %(key_id)s was revoked already", code="linker_revoked", key_id=linker.key_id)
    linker.revoked_at, linker.revoked_by, linker.revoke_reason = utcnow(), actor.id, why
    record(session, actor, "verification.linker_revoked", "linker", linker.key_id, reason=why,
           after={"name": linker.name, "agency": actor.agency.code})
    return linker


@reader("verification.queue")
def trusted_linkers(session: Session, actor: User) -> list[TrustedLinker]:
    """The linkers on the actor's authority's list, revoked ones included, newest first."""
    return list(session.execute(sa.select(TrustedLinker).where(TrustedLinker.agency_id == actor.agency_id)
                                .order_by(TrustedLinker.id.desc())).scalars())
