"""Locks that a forked child finds free.

``os.fork()`` copies a process with one thread: a lock that another thread (HILT's writer,
say) held at that moment stays held in the child, by a thread that does not exist there,
and the child's first ``with lock:`` waits forever. Pre-fork servers (gunicorn, uWSGI,
``multiprocessing`` with the fork method) fork at any moment, so every lock taken on the
writer thread must be made here::

    from hilt_core import forksafe

    self._lock = forksafe.Lock()     # or forksafe.RLock()

They are the ``threading`` locks themselves (nothing is added to acquiring or releasing
one); in a forked child every one of them is re-made unlocked before the child runs on,
as the ``logging`` module does with its own locks. The data a lock protected may have
been half-changed at the fork: keep what it guards valid at every step (build a new
value, then swap it in), or re-make that state in an ``os.register_at_fork`` hook.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

_locks: weakref.WeakSet[Any] = weakref.WeakSet()


def Lock() -> threading.Lock:
    """A ``threading.Lock`` that a forked child finds unlocked."""
    lock = threading.Lock()
    _locks.add(lock)
    return lock


def RLock() -> threading.RLock:
    """A ``threading.RLock`` that a forked child finds unlocked and unowned."""
    lock = threading.RLock()
    _locks.add(lock)
    return lock


def _reinit_after_fork() -> None:
    for lock in list(_locks):
        lock._at_fork_reinit()  # what threading and logging do with their own locks


os.register_at_fork(after_in_child=_reinit_after_fork)

__all__ = ["Lock", "RLock"]
