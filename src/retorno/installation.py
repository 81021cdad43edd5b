"""How an installation opens its database: the engine every entry point uses, and one transaction on it.

On that engine sensitive text is encrypted with the installation's data keys (`datakeys`), every
commit that writes audit records signs a checkpoint with its audit key (`audit.checkpoints`), and
every commit re-checks the manifests it touched (`travel.invariants`). The web app, the command
line, the demo and the benchmarks all open their databases here, so none of them can forget one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from retorno.audit.checkpoints import sign_audit_commits
from retorno.audit.signing import KeyFile, signing_key
from retorno.config import Settings
from retorno.datakeys import DataKeyring, keyring_for
from retorno.db import make_engine, make_sessionmaker, transaction, use_data_keys
from retorno.flights.outputs import use_carrier_list_days
from retorno.flights.service import use_lock_hours
from retorno.travel.invariants import guard_manifests

# The modules that add a higher domain's reaction to a lower domain's change (a document withdrawn keeps its person
# counted, a verification of a minor holds them, an operator disabled declines its offers: `REACTIONS` lists): loaded
# with the engine every entry point opens, so that no door (a command line command importing only what it calls, red
# team round 46a) runs a change without them.
REACTING = ("retorno.audit.refusals", "retorno.flights.service", "retorno.verification.service",
            "retorno.reintegration.service", "retorno.travel.duplicates", "retorno.travel.service")
for _module in REACTING:
    import_module(_module)


def installation_engine(url: str, *, data_keys: DataKeyring, audit_signer: KeyFile, passengers_per_escort: int,
                        lock_hours: int = Settings.lock_hours_before_departure,
                        carrier_list_days: int = Settings.carrier_list_days_after_arrival) -> Engine:
    """An engine on `url` with the installation's data keys, audit signing, manifest guard, lock time (the
    hours before departure from which a manifest is locked, for every step that would take someone off one) and
    the days after a flight's arrival its carrier still reads its passenger list."""
    engine = make_engine(url)
    use_data_keys(engine, data_keys)
    sign_audit_commits(engine, audit_signer)
    guard_manifests(engine, passengers_per_escort)
    use_lock_hours(engine, lock_hours)
    use_carrier_list_days(engine, carrier_list_days)
    return engine


@contextmanager
def unit_of_work(config: Settings) -> Iterator[Session]:
    """One command, one transaction on the installation's database: committed when the command succeeds."""
    engine = installation_engine(config.database_url, data_keys=keyring_for(config),
                                 audit_signer=signing_key(config), passengers_per_escort=config.passengers_per_escort,
                                 lock_hours=config.lock_hours_before_departure,
                                 carrier_list_days=config.carrier_list_days_after_arrival)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()
