"""A linking key for tests: decisions files signed as `retorno verify --decisions-out` signs them (`verification.
linkers`), imported with that key as the service's own, so a test of what an import refuses is refused for what it
tests, not for a missing signature."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from retorno.agencies.models import User
from retorno.audit.signing import KeyFile
from retorno.verification import linkers
from retorno.verification.exchange import import_decisions
from retorno.verification.jobs import RunSummary

KEY = KeyFile(Path(tempfile.mkdtemp(prefix="retorno-test-linker-")) / linkers.KEY_FILE_NAME)


def signed(items: Iterable[str | dict[str, Any]], key: KeyFile = KEY) -> list[str]:
    """Lines of a decisions file: each linkage document signed by `key`; anything else (a manual line, a line that is
    not JSON) as it is."""
    lines = []
    for item in items:
        document = item
        if isinstance(item, str):
            try:
                document = json.loads(item)
            except json.JSONDecodeError:
                lines.append(item)
                continue
        if isinstance(document, dict) and document.get("method") == "linkage" and linkers.SIGNATURE not in document:
            lines.append(json.dumps(linkers.sign(document, key)))
        else:
            lines.append(item if isinstance(item, str) else json.dumps(item))
    return lines


def import_file(session: Session, actor: User, items: Iterable[str | dict[str, Any]], **options: Any) -> RunSummary:
    """`exchange.import_decisions` of a file whose linkage lines the test's linker signed, that linker trusted."""
    return import_decisions(session, actor, signed(items), own_linker=KEY.public(), **options)
