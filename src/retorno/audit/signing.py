"""The audit signing key: an Ed25519 key in a file outside the database, its public half beside it.

`FILE` holds the private key (PEM, mode 0600), `FILE.pub` its public half. A rotation keeps the
old public half as `FILE.retired-<key id>.pub`, so old checkpoints stay verifiable by anyone
holding only the public files.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from retorno.config import Settings
from retorno.errors import RetornoError

KEY_FILE_NAME = "audit_signing_key"
PAYLOAD_VERSION = "retorno-audit-checkpoint/1"


def key_file(settings: Settings) -> Path:
    """Where this installation's signing key lives: RETORNO_AUDIT_KEY_FILE, or the data directory."""
    return Path(settings.audit_key_file) if settings.audit_key_file else Path(settings.data_dir) / KEY_FILE_NAME


def signing_key(settings: Settings) -> KeyFile:
    """The installation's signing key. Created on first use only in the data directory (the demo):
    a key file named by RETORNO_AUDIT_KEY_FILE must exist, so a lost production key is noticed at
    once instead of being silently replaced by a new, unannounced one."""
    return KeyFile(key_file(settings), create=not settings.audit_key_file)


def checkpoint_payload(key_id: str, first_seq: int, seq: int, head_hash: str, signed_at: datetime,
                       records_digest: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return "\n".join((PAYLOAD_VERSION, key_id, str(first_seq), str(seq), head_hash, signed_at.isoformat(),
                      records_digest)).encode()


@dataclass(frozen=True)
class PublicKey:
    """A verification key and its id (the first 16 hex digits of the SHA-256 of its raw bytes)."""

    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @property
    def text(self) -> str:
        """Base64 of the raw 32 bytes: what exports and rotation announcements carry."""
        return base64.b64encode(self.raw).decode()

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        return cls(Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True)))

    def verifies(self, signature: str, payload: bytes) -> bool:
        try:
            self.key.verify(base64.b64decode(signature, validate=True), payload)
        except (InvalidSignature, ValueError):
            return False
        return True


def _pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_new(path: Path, content: bytes, mode: int) -> None:
    """Create `path` with `content` atomically, unless it already exists (another process won the race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    try:
        os.link(scratch, path)
    except FileExistsError:
        pass
    finally:
        scratch.unlink()


def _replace(path: Path, content: bytes, mode: int) -> None:
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    os.replace(scratch, path)


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Keyring:
    """The public keys a verifier trusts from outside the database, by key id."""

    def __init__(self, keys: list[PublicKey] | None = None) -> None:
        self.keys: dict[str, PublicKey] = {k.key_id: k for k in keys or []}

    def get(self, key_id: str) -> PublicKey | None:
        return self.keys.get(key_id)


class AuditKeyMissing(RetornoError):
    """The configured signing key file is missing: nothing is written unsigned."""

    status = 503
    code = "audit_key_missing"


class KeyFile:
    """The signing key at `path`, created on first use; re-read whenever the file changes (a rotation)."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self.create = create
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._key: Ed25519PrivateKey | None = None

    @property
    def public_path(self) -> Path:
        return self.path.with_name(self.path.name + ".pub")

    @property
    def next_path(self) -> Path:
        return self.path.with_name(self.path.name + ".next")

    def retired_public_path(self, key_id: str) -> Path:
        return self.path.with_name(f"{self.path.name}.retired-{key_id}.pub")

    def _retired_private_path(self, key_id: str) -> Path:
        return self.path.with_name(f"{self.path.name}.retired-{key_id}")

    def _private(self) -> Ed25519PrivateKey:
        with self._lock:
            if not self.path.exists():
                if not self.create:
                    raise AuditKeyMissing("the audit signing key %(path)s does not exist: restore it from the "
                                          "backup, or announce a new key with 'retorno audit rotate-key' from "
                                          "the old one", path=self.path)
                _write_new(self.path, _private_pem(Ed25519PrivateKey.generate()), 0o600)
            info = self.path.stat()
            stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
            if self._key is None or stamp != self._stamp:
                key = _load_private(self.path)
                self._key, self._stamp = key, stamp
                if not self.public_path.exists():
                    _write_new(self.public_path, _pem(key.public_key()), 0o644)
            return self._key

    def public(self) -> PublicKey:
        return PublicKey(self._private().public_key())

    def sign(self, payload: bytes) -> tuple[str, str]:
        """Sign `payload`; returns (key id, base64 signature)."""
        key = self._private()
        return PublicKey(key.public_key()).key_id, base64.b64encode(key.sign(payload)).decode()

    def keyring(self) -> Keyring:
        """The public keys kept beside the key file (current and retired); the private key is not needed."""
        keys = []
        if self.public_path.exists():
            keys.append(_load_public(self.public_path))
        elif self.path.exists():
            keys.append(self.public())
        keys.extend(_load_public(p) for p in sorted(self.path.parent.glob(f"{self.path.name}.retired-*.pub")))
        return Keyring(keys)

    def stage_next(self) -> PublicKey:
        """Create the next key beside the current one (not yet used for signing)."""
        self.next_path.unlink(missing_ok=True)
        _write_new(self.next_path, _private_pem(Ed25519PrivateKey.generate()), 0o600)
        return PublicKey(_load_private(self.next_path).public_key())

    def promote_next(self) -> PublicKey:
        """Sign with the staged key from now on; the old private key waits in a side file until `forget_retired`."""
        old = self.public()
        new_public = PublicKey(_load_private(self.next_path).public_key())
        _replace(self.retired_public_path(old.key_id), _pem(old.key), 0o644)
        os.replace(self.path, self._retired_private_path(old.key_id))
        os.replace(self.next_path, self.path)
        _replace(self.public_path, _pem(new_public.key), 0o644)
        return old

    def demote(self, old_key_id: str) -> None:
        """Undo `promote_next` (the announcing transaction failed): the old key signs again."""
        retired = self._retired_private_path(old_key_id)
        if retired.exists():
            os.replace(retired, self.path)
            _replace(self.public_path, _pem(_load_private(self.path).public_key()), 0o644)
            self.retired_public_path(old_key_id).unlink(missing_ok=True)
        self.next_path.unlink(missing_ok=True)

    def forget_retired(self, old_key_id: str) -> None:
        """Destroy the retired private key once its successor is announced; its public half stays."""
        self._retired_private_path(old_key_id).unlink(missing_ok=True)


def _load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _load_public(path: Path) -> PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} does not hold an Ed25519 public key")
    return PublicKey(key)
