"""HILT's own bugs: logged in production, raised under a test suite.

A provider's recording code runs inside the application's LLM call; an exception there
must never reach the application ("your code still runs, with less telemetry"). But a test
suite that only logs HILT's bugs never sees them. ``HILT_STRICT=1`` (HILT's own test
suite sets it) makes :func:`internal_error` re-raise instead.

Not for a plugin's failures that the core isolates on purpose (a raising enricher,
redactor or backend): those are reported by the pipeline, in every mode.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal

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


# The signals a process gets from outside (a terminal, a supervisor, a timer), not the
# ones its own code raises (SIGSEGV, SIGFPE, SIGPIPE).
_ASYNC_SIGNALS = {
    getattr(signal, name)
    for name in (
        "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
        "SIGCHLD", "SIGWINCH",
    )
    if hasattr(signal, name)
}  # fmt: skip


def background_thread() -> None:
    """Call first in each of HILT's background threads (and a plugin's): block the
    signals that come from outside, so that the kernel delivers them to one of the
    application's threads, as it would without HILT.

    Python runs a signal handler only in the main thread, at its next bytecode. A signal
    the kernel hands to a background thread while the main thread is blocked in C (a
    ``multiprocessing`` worker waiting for its next task, a ``sem_wait``, a ``read``)
    does not interrupt that call, so the handler never runs: a ``Pool`` worker ended by
    ``terminate()``'s SIGTERM then waited forever, and a Ctrl-C could wait for the next
    I/O. A thread created here inherits the mask."""
    if hasattr(signal, "pthread_sigmask"):
        with contextlib.suppress(OSError, ValueError):  # not on this platform
            signal.pthread_sigmask(signal.SIG_BLOCK, _ASYNC_SIGNALS)
