"""The data keys that encrypt sensitive free text at rest (SPEC.md section 4.6), kept outside the database.

A key file holds one `<key id> <base64 key>` line per AES-256 key, newest last. New values are
encrypted with the newest key; every key in the file still decrypts. A stored value reads
`v1:<key id>:<base64 of nonce + ciphertext>`, so each value names the key it needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from retorno.config import Settings
from retorno.errors import RetornoError

DEFAULT_KEY_FILE_NAME = "data_keys"
_NONCE_BYTES = 12
_CIPHERTEXT = re.compile(r"v1:([0-9a-f]{8}):([A-Za-z0-9+/]+={0,2})\Z")
_KEY_LINE = re.compile(r"([0-9a-f]{8}) ([A-Za-z0-9+/]{43}=)\Z")
_HEADER = ("# Retorno data keys: one '<key id> <base64 AES-256 key>' per line, newest last.\n"
           "# Back this file up with every database backup; losing a key loses the text it encrypted.\n")


class DataKeyError(RetornoError):
    """Sensitive text cannot be encrypted or decrypted: the key file is missing, wrong, or lacks a key."""

    status = 500
    code = "data_key"


def is_ciphertext(stored: str) -> bool:
    """Whether a stored value is encrypted (rows written before encryption hold plain text)."""
    return _CIPHERTEXT.match(stored) is not None


def key_id_of(stored: str) -> str | None:
    """The id of the key that encrypted a stored value, or None for plain text."""
    match = _CIPHERTEXT.match(stored)
    return match.group(1) if match else None


@dataclass(frozen=True)
class _Keys:
    by_id: dict[str, bytes]
    newest: str
    # Inode, size and modification time: a rotation replaces the file, so one of them changes.
    version: tuple[int, int, int]


class DataKeyring:
    """The keys of one key file; re-read when the file changes, so a running server follows a rotation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._keys = self._read()

    def _read(self) -> _Keys:
        try:
            stat = self.path.stat()
            text = self.path.read_text()
        except FileNotFoundError:
            raise DataKeyError("the data key file %(path)s does not exist; restore it from the backup kept with"
                               " the database, or create the first key with `retorno keys rotate-data`",
                               path=self.path) from None
        except OSError as error:
            raise DataKeyError("the data key file %(path)s cannot be read: %(strerror)s", path=self.path,
                               strerror=error.strerror) from None
        by_id: dict[str, bytes] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            match = _KEY_LINE.match(line.strip())
            if match is None:
                raise DataKeyError("the data key file %(path)s line %(number)s is not '<8 hex digits> <base64 "
                                   "of 32 bytes>'", path=self.path, number=number)
            by_id[match.group(1)] = base64.b64decode(match.group(2))
        if not by_id:
            raise DataKeyError("the data key file %(path)s holds no key", path=self.path)
        return _Keys(by_id, list(by_id)[-1], _version(stat))

    def _current(self) -> _Keys:
        """The keys, re-read if the file was rewritten (by a rotation) since they were read."""
        keys = self._keys
        try:
            changed = _version(self.path.stat()) != keys.version
        except OSError:
            changed = False
        if changed:
            with self._lock:
                self._keys = keys = self._read()
        return keys

    @property
    def newest_id(self) -> str:
        return self._current().newest

    def encrypt(self, text: str) -> str:
        """`text` encrypted with the newest key, in the stored form `v1:<key id>:<base64>`."""
        keys = self._current()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(keys.by_id[keys.newest]).encrypt(nonce, text.encode(), None)
        return f"v1:{keys.newest}:{base64.b64encode(nonce + sealed).decode()}"

    def digest(self, text: str, key_id: str | None = None) -> str:
        """A keyed digest of `text` with the newest key, `h1:<key id>:<hex>`: what the audit trail keeps of a
        sensitive free text, so a change to the text shows, while whoever reads the trail without the key file (a
        database administrator, a copy of the database) cannot confirm a guess of a short text, a guardian's name,
        as a plain SHA-256 let them (red team round 68, F4). The key is one derived from the data key, never the
        data key itself."""
        key_id, derived = self.digest_key(key_id)
        return f"h1:{key_id}:{hmac.new(derived, text.encode(), hashlib.sha256).hexdigest()}"

    def digest_key(self, key_id: str | None = None) -> tuple[str, bytes]:
        """The id and the derived key `digest` uses: the newest key's, or `key_id`'s (whoever digests many texts
        derives it once)."""
        keys = self._current()
        key_id = key_id or keys.newest
        if key_id not in keys.by_id:
            raise DataKeyError("the data key %(key_id)s is not in %(path)s (a retired key must stay in the file)",
                               key_id=key_id, path=self.path)
        return key_id, hmac.new(keys.by_id[key_id], b"retorno audit text digest", hashlib.sha256).digest()

    def secret_digests(self, text: str) -> list[str]:
        """The keyed digest (HMAC-SHA-256, hex) of a secret the service hands out (a bearer token, a login cookie,
        with what binds it to its row) under each data key, the newest first: whoever can only write the database
        cannot make the digest of a secret they chose (red team round 93, F3)."""
        keys = self._current()
        return [hmac.new(hmac.new(keys.by_id[key_id], b"retorno secret digest", hashlib.sha256).digest(),
                         text.encode(), hashlib.sha256).hexdigest() for key_id in reversed(list(keys.by_id))]

    def decrypt(self, stored: str) -> str:
        """The text of a stored value; plain text (written before encryption) is returned as it is."""
        match = _CIPHERTEXT.match(stored)
        if match is None:
            return stored
        key_id, payload = match.groups()
        key = self._current().by_id.get(key_id)
        if key is None:
            raise DataKeyError("a sensitive value was encrypted with data key '%(key_id)s', which the key file "
                               "%(path)s does not hold; restore the key file kept with the database backup",
                               key_id=key_id, path=self.path)
        raw = base64.b64decode(payload)
        try:
            return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None).decode()
        except InvalidTag:
            raise DataKeyError("a sensitive value does not decrypt with data key '%(key_id)s' of %(path)s: the "
                               "file holds a different key under that id, or the stored value was altered",
                               key_id=key_id, path=self.path
                               ) from None


def _version(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def key_file_of(settings: Settings) -> Path:
    """Where the installation's data keys live: RETORNO_DATA_KEY_FILE, or a file in the data directory."""
    return settings.data_key_file or Path(settings.data_dir) / DEFAULT_KEY_FILE_NAME


def keyring_for(settings: Settings) -> DataKeyring:
    """The installation's keyring; the demo's key file in the data directory is created on first use.

    A key file named explicitly (production) must exist: a fresh key there would quietly
    encrypt new text with a key nobody backed up.
    """
    path = key_file_of(settings)
    if settings.data_key_file is None and not path.exists():
        _create(path, _HEADER + _key_line())
    return DataKeyring(path)


def add_data_key(path: Path) -> str:
    """Append a new newest key to the key file (creating it if needed); returns the new key's id."""
    existing = path.read_text() if path.exists() else _HEADER
    if existing and not existing.endswith("\n"):
        existing += "\n"
    taken = set(re.findall(r"^([0-9a-f]{8}) ", existing, flags=re.MULTILINE))
    line = _key_line()
    while line[:8] in taken:
        line = _key_line()
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    _write_private(partial, existing + line)
    os.replace(partial, path)
    return line[:8]


def _key_line() -> str:
    return f"{secrets.token_hex(4)} {base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}\n"


def _create(path: Path, text: str) -> None:
    """Create the key file unless another process just did (both then use the one that won)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_private(partial, text)
    try:
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink()


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (mode 0600 from the start, not chmod-ed afterwards)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
