"""HILT's JSONL backend: append-only files, one event per line, that never leave the machine.

Registered in the entry-point group ``hilt`` as ``jsonl``; ``backend="local"`` is an
alias (the name hilt-python 0.2.8 used).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from hilt_core import Event, hookimpl
from hilt_jsonl.backend import JsonlBackend, open_backend
from hilt_jsonl.reader import iter_events

HILT_ALIASES = ("local",)
HILT_OPTIONS = {
    "rotate": "'day' (a file per UTC day) or 'size' (with max_bytes).",
    "max_bytes": "rotate='size': the size that starts a new file (int, or '100MB').",
    "fsync": "Make every batch and flush() durable on disk (default False).",
}


@hookimpl
def backend_open(name: str, options: Mapping[str, Any]) -> JsonlBackend:
    return open_backend(options)


@hookimpl
def backend_write(handle: JsonlBackend, events: Sequence[Event]) -> None:
    handle.write(events)


@hookimpl
def backend_close(handle: JsonlBackend, flush_only: bool) -> None:
    if flush_only:
        handle.flush()
    else:
        handle.close()


@hookimpl
def backend_read(handle: JsonlBackend) -> Iterator[Event]:
    return handle.read()


__all__ = ["JsonlBackend", "iter_events"]
