"""A pause before a request commits, for the crash tests (tests/test_crashes.py) alone; inert unless asked.

With RETORNO_TEST_PAUSE_BEFORE_COMMIT naming a route as "METHOD /path/{template}" (for instance
"POST /api/v1/flights/{reference}/manifest/lock"), a request to that route flushes everything it wrote
into its still open transaction, logs "paused before commit" and sleeps RETORNO_TEST_PAUSE_SECONDS
(default 120) before committing: the test kills the server (SIGKILL) in that sleep, so the kill lands
inside the transaction with every row of the action written and none committed. Without the variable
a request costs one lookup of it. Never set it on a real installation: it holds the request's locks.
"""

from __future__ import annotations

import logging
import os
import time

from fastapi import Request
from sqlalchemy.orm import Session

PAUSE_ROUTE = "RETORNO_TEST_PAUSE_BEFORE_COMMIT"
PAUSE_SECONDS = "RETORNO_TEST_PAUSE_SECONDS"
PAUSED = "paused before commit"
logger = logging.getLogger(__name__)


def pause_before_commit(request: Request, session: Session) -> None:
    """Hold the request's transaction open, its writes flushed, if the environment names its route."""
    wanted = os.environ.get(PAUSE_ROUTE)
    if not wanted:
        return
    route = request.scope.get("route")
    if f"{request.method} {getattr(route, 'path', '')}" != wanted:
        return
    session.flush()
    logger.warning(PAUSED, extra={"route": wanted, "pid": os.getpid()})
    time.sleep(float(os.environ.get(PAUSE_SECONDS, "120")))
