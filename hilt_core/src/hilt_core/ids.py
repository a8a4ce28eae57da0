"""Event ids that sort by creation time: UUID version 7 (RFC 9562).

48 bits of Unix milliseconds, then a 12-bit counter that keeps ids made within the same
millisecond in order (method 1 of RFC 9562, section 6.2), then 62 random bits. Python
3.11 has no ``uuid.uuid7``; this is also faster than building ``uuid.UUID`` objects.

An id is made in two steps, so that a hot path can take the cheap half and leave the
other to a background thread: :func:`new_event_key` fixes the id (its time, counter and
random bits) as a 128-bit integer, and :func:`format_event_id` writes it as the usual
``8-4-4-4-12`` string, which costs as much again. ``new_event_id()`` does both.
"""

from __future__ import annotations

import random
import time

from hilt_core import forksafe

_lock = forksafe.Lock()
_last_ms = 0
_counter = 0
_time_ns = time.time_ns
_getrandbits = random.getrandbits  # reseeded in a forked child by the random module
_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)


def new_event_key() -> int:
    """Return a new UUIDv7 as an integer, greater than every key made before it in this
    process. ``format_event_id(key)`` is its id."""
    global _last_ms, _counter
    ms = _time_ns() // 1_000_000
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
    return (ms << 80) | (counter << 64) | _getrandbits(62) | _VERSION_AND_VARIANT


def format_event_id(key: int) -> str:
    """The ``8-4-4-4-12`` string of a key from :func:`new_event_key`."""
    h = f"{key:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_event_id() -> str:
    """Return a new UUIDv7 string, greater than every id made before it in this process."""
    return format_event_id(new_event_key())
