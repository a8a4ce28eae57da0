"""HILT's own bugs: logged in production, raised under a test suite.

A provider's recording code runs inside the application's LLM call; an exception there
must never reach the application ("your code still runs, with less telemetry"). But a test
suite that only logs HILT's bugs never sees them. ``HILT_STRICT=1`` (HILT's own test
suite sets it) makes :func:`internal_error` re-raise instead.

Not for a plugin's failures that the core isolates on purpose (a raising enricher,
redactor or backend): those are reported by the pipeline, in every mode.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("hilt")

STRICT_ENV = "HILT_STRICT"


def strict() -> bool:
    """True when HILT's internal errors are raised (``HILT_STRICT=1``)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


def internal_error(what: str) -> None:
    """Report the exception being handled: HILT could not ``what`` (e.g. "record a
    call"). Call it only inside an ``except`` block. Logs the traceback on the ``hilt``
    logger and returns; under ``HILT_STRICT=1`` re-raises the exception."""
    if strict():
        raise  # noqa: PLE0704 - called from an except block, by contract
    log.exception("HILT could not %s; the application is unaffected", what)


__all__ = ["STRICT_ENV", "internal_error", "strict"]
