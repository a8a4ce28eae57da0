"""The advisory lock HILT's writers take on a file: ``flock``, where the platform has it.

The JSONL writer locks a log around each batch; ``hilt erase`` takes the same lock while
it rewrites a log; the Sheets spill locks a ``<file>.lock`` beside its file. All of them
lock the same way, here, so that they exclude each other. Where there is no ``flock``
(Windows) every function succeeds without locking: a JSONL batch is still one ``write()``,
and one process should use a spill file at a time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

AVAILABLE = fcntl is not None


def lock(fd: int, *, shared: bool = False, wait: bool = True, timeout: float | None = None) -> bool:
    """Lock the file open as ``fd`` (exclusively, or ``shared``). With ``wait=False``,
    return False at once if another holds it (or the lock cannot be taken). With a
    ``timeout`` (seconds), wait at most that long and raise ``TimeoutError`` after: a
    writer must not hang on a file another process keeps locked (a stuck process, a
    backup tool), nor hang flush() and the exit with it."""
    if not AVAILABLE:
        return True
    op = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    if timeout is not None and wait:
        deadline = time.monotonic() + timeout
        pause = 0.001
        while not lock(fd, shared=shared, wait=False):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the file stayed locked by another process for {timeout:g}s")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        return True
    if not wait:
        op |= fcntl.LOCK_NB
    try:
        fcntl.flock(fd, op)
    except OSError:
        if wait:
            raise
        return False
    return True


def unlock(fd: int) -> None:
    """Release the lock on ``fd`` (closing the file releases it too)."""
    if AVAILABLE:
        fcntl.flock(fd, fcntl.LOCK_UN)


def still_names(path: Path, fd: int) -> bool:
    """True if ``path`` still names the file open as ``fd``: it was not rolled over,
    replaced or removed while we waited for its lock."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(fd))
    except FileNotFoundError:
        return False


__all__ = ["AVAILABLE", "lock", "still_names", "unlock"]
