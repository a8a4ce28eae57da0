"""Streaming reader of HILT JSONL logs (v1, hilt-python 0.2.8, and the ``columns=`` form).

Each line is decoded by the kernel (:mod:`hilt_core.decode`), which every reader shares.

Lines are read one at a time, so a file of any size is read in constant memory. A line
that is not a valid event (a torn last line after a crash, say) is skipped with a warning
in the ``hilt`` log, or raises with its line number when ``strict=True``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from hilt_core import Event, HILTError
from hilt_core.decode import decode_line

log = logging.getLogger("hilt")


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
                yield decode_line(line)
            except Exception as exc:
                torn = not line.endswith(b"\n")
                what = "torn last line" if torn else "invalid line"
                if strict:
                    raise HILTError(f"{p}:{lineno}: {what}: {exc}") from exc
                log.warning("HILT skipped %s %s:%d (%s)", what, p, lineno, exc)
