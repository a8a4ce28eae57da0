"""Streaming reader of HILT JSONL logs (v1, hilt-python 0.2.8, and the ``columns=`` form).

Lines are read one at a time, so a file of any size is read in constant memory. A line
that is not a valid event (a torn last line after a crash, say) is skipped with a warning
in the ``hilt`` log, or raises with its line number when ``strict=True``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from hilt_core import Event, HILTError
from hilt_core.columns import KNOWN_COLUMNS, from_row

log = logging.getLogger("hilt")


def is_row(data: dict[str, Any]) -> bool:
    """True for a line of the ``columns=`` form (flat columns, no ``actor``)."""
    return "actor" not in data and bool(data) and all(k in KNOWN_COLUMNS for k in data)


def event_from_data(data: Any) -> Event:
    """The event of one decoded line: v1, hilt-python 0.2.8, or the ``columns=`` form."""
    if not isinstance(data, dict):
        raise HILTError("not a JSON object")
    if is_row(data):
        return from_row(data)
    return Event.from_dict(data)


def parse_line(line: bytes) -> Event:
    return event_from_data(orjson.loads(line))


def iter_events(path: str | Path, *, strict: bool = False) -> Iterator[Event]:
    """Yield the events of one JSONL file, lazily."""
    p = Path(path)
    if p.is_dir():
        raise HILTError(f"{p} is a directory, not a HILT log file")
    if not p.exists():
        raise HILTError(f"File not found: {p}")
    with p.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield parse_line(line)
            except Exception as exc:
                torn = not line.endswith(b"\n")
                what = "torn last line" if torn else "invalid line"
                if strict:
                    raise HILTError(f"{p}:{lineno}: {what}: {exc}") from exc
                log.warning("HILT skipped %s %s:%d (%s)", what, p, lineno, exc)
