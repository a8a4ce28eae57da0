"""Event ids that sort by creation time: UUID version 7 (RFC 9562).

48 bits of Unix milliseconds, then a 12-bit counter that keeps ids made within the same
millisecond in order (method 1 of RFC 9562, section 6.2), then 62 random bits. Python
3.11 has no ``uuid.uuid7``; this is also faster than building ``uuid.UUID`` objects.
"""

from __future__ import annotations

import os
import random
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_event_id() -> str:
    """Return a new UUIDv7 string, greater than every id made before it in this process."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last_ms:
            # Same millisecond (or the clock stepped back): keep order with the counter.
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = 0
        _last_ms = ms
        counter = _counter
    rand = random.getrandbits(62)  # reseeded in a forked child by the random module
    return _FORMAT % (
        ms >> 16,
        ms & 0xFFFF,
        0x7000 | counter,
        0x8000 | (rand >> 48),
        rand & 0xFFFF_FFFF_FFFF,
    )


_FORMAT = "%08x-%04x-%04x-%04x-%012x"


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)
