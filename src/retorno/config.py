"""Settings of one Retorno installation, read once by the entry point and passed down."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _default_data_dir() -> Path:
    return Path(os.environ.get("RETORNO_DATA_DIR", Path.cwd() / "var"))


@dataclass(frozen=True)
class Settings:
    """Everything an installation can configure; nothing here is read at import time."""

    database_url: str = ""
    data_dir: Path = field(default_factory=_default_data_dir)
    secret_key: str = ""
    # Escort ratio of SPEC.md section 4.5: one escort for every N passengers.
    passengers_per_escort: int = 10
    # The manifest locks this many hours before departure (SPEC.md section 6).
    lock_hours_before_departure: int = 24
    # A flight departs (and boards) from this many hours before its scheduled departure until this many
    # after; outside that window only a supervisor with a written reason (SPEC.md section 4.9).
    departure_early_hours: int = 6
    departure_late_hours: int = 48
    # The carrier reads a flown flight's passenger list (API, CSV, PAXLST, PDF, pages) until this many days after
    # it landed (its scheduled arrival if no landing was recorded); after that only the flight's counts (SPEC.md
    # section 4.6, data minimisation: the carrier's need ends with the flight). 0: not after it landed.
    carrier_list_days_after_arrival: int = 7
    # A login session ends after this long without a request (idle) and this long after login (absolute).
    session_idle_seconds: int = 30 * 60
    session_max_age_seconds: int = 8 * 3600
    # An API bearer token works this many days after it was made (RETORNO_TOKEN_DAYS); whoever asks for one may ask
    # for fewer, never more. A token of a system stops working then, and a new one is asked for with the password.
    token_days: int = 90
    # Login throttling: after this many failures, each further one doubles the wait (1 s, 2 s, 4 s...)
    # up to the cap; never a lock-out (README "Sessions and login throttling").
    login_free_failures: int = 3
    login_delay_cap_seconds: int = 300
    # Largest request body: a multipart upload (spreadsheets) and anything else (JSON, forms).
    max_upload_bytes: int = 20 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    # Largest size an uploaded XLSX (a ZIP archive) may unpack to, its parts measured as they are unpacked:
    # a small archive can unpack to gigabytes. A 100,000-row case list unpacks to about 94 MiB.
    max_unpacked_bytes: int = 400 * 1024 * 1024
    # Files not written (checked only, or refused) tell the officials of one agency, together, of at most this many
    # rows a day alike to a record another country's agency holds (README "The safeguards are guarantees": each such
    # warning tells whether that country holds the person typed). RETORNO_ALIKE_ELSEWHERE_ROWS_A_DAY.
    alike_elsewhere_rows_a_day: int = 100
    # Requests one `retorno serve` worker runs at once (its threads; anyio's default is 40): the rest wait their turn
    # in the worker's queue, not for the interpreter or the audit trail's head among dozens of others.
    # RETORNO_WORKER_THREADS.
    worker_threads: int = 40
    # Behind TLS (any real installation) cookies must only travel over https; off by default
    # so that the demo works on http://127.0.0.1.
    secure_cookies: bool = False
    verification_upper_threshold: float = 0.997
    verification_lower_threshold: float = 0.05
    # A match whose name is not exactly the registry's (given names and surnames as it holds them, in
    # order) and which no cédula anchors is verified only at this probability or more; below, an officer
    # reviews it (verification.anchors.needs_a_person_for_the_name). RETORNO_VERIFICATION_INEXACT_NAME.
    verification_inexact_name_threshold: float = 0.999
    # Share of verification requests expected to be nationals: the prior of the match probability.
    verification_national_share: float = 0.9
    # The Ed25519 key that signs audit checkpoints, kept outside the database (README "Audit trail
    # keys"); unset: `audit_signing_key` in the data directory, created on first use.
    audit_key_file: Path | None = None
    # The AES keys of sensitive text at rest (retorno.datakeys); None: `data_keys` in the data directory.
    data_key_file: Path | None = None

    @classmethod
    def from_env(cls, *, resolve: bool = True, **overrides: object) -> Settings:
        """Build settings from RETORNO_* environment variables, then apply `overrides`.

        `resolve=False` leaves the defaults that need the data directory (database URL,
        secret key) unset instead of creating it, for commands that use neither.
        """
        data_dir = Path(os.environ.get("RETORNO_DATA_DIR", Path.cwd() / "var"))
        values: dict[str, object] = {
            "data_dir": data_dir,
            "database_url": os.environ.get("RETORNO_DATABASE_URL", ""),
            "secret_key": os.environ.get("RETORNO_SECRET_KEY", ""),
        }
        if os.environ.get("RETORNO_DATA_KEY_FILE"):
            values["data_key_file"] = Path(os.environ["RETORNO_DATA_KEY_FILE"])
        if "RETORNO_PASSENGERS_PER_ESCORT" in os.environ:
            values["passengers_per_escort"] = int(os.environ["RETORNO_PASSENGERS_PER_ESCORT"])
        if "RETORNO_LOCK_HOURS" in os.environ:
            values["lock_hours_before_departure"] = int(os.environ["RETORNO_LOCK_HOURS"])
        if "RETORNO_SECURE_COOKIES" in os.environ:
            values["secure_cookies"] = os.environ["RETORNO_SECURE_COOKIES"].strip().lower() in ("1", "true", "yes")
        for name in _INTEGER_SETTINGS:
            variable = "RETORNO_" + name.upper()
            if variable in os.environ:
                values[name] = int(os.environ[variable])
        if "RETORNO_VERIFICATION_UPPER" in os.environ:
            values["verification_upper_threshold"] = float(os.environ["RETORNO_VERIFICATION_UPPER"])
        if "RETORNO_VERIFICATION_LOWER" in os.environ:
            values["verification_lower_threshold"] = float(os.environ["RETORNO_VERIFICATION_LOWER"])
        if "RETORNO_VERIFICATION_INEXACT_NAME" in os.environ:
            values["verification_inexact_name_threshold"] = float(os.environ["RETORNO_VERIFICATION_INEXACT_NAME"])
        if "RETORNO_VERIFICATION_NATIONAL_SHARE" in os.environ:
            values["verification_national_share"] = float(os.environ["RETORNO_VERIFICATION_NATIONAL_SHARE"])
        if os.environ.get("RETORNO_AUDIT_KEY_FILE"):
            values["audit_key_file"] = Path(os.environ["RETORNO_AUDIT_KEY_FILE"])
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        return settings.resolved() if resolve else settings

    def resolved(self) -> Settings:
        """Fill in the defaults that depend on the data directory."""
        url = self.database_url or f"sqlite:///{Path(self.data_dir) / 'retorno.sqlite3'}"
        key = self.secret_key or _stored_secret(Path(self.data_dir))
        return Settings(**{**self.__dict__, "database_url": url, "secret_key": key})


# Settings read from RETORNO_<NAME> as they are named here (RETORNO_SESSION_IDLE_SECONDS...).
_INTEGER_SETTINGS = ("session_idle_seconds", "session_max_age_seconds", "login_free_failures",
                     "login_delay_cap_seconds", "max_upload_bytes", "max_body_bytes", "max_unpacked_bytes",
                     "departure_early_hours", "departure_late_hours", "carrier_list_days_after_arrival",
                     "token_days", "alike_elsewhere_rows_a_day", "worker_threads")


def _stored_secret(data_dir: Path) -> str:
    """Keep one random signing key per data directory so sessions survive restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
