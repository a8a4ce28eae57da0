"""Progress of long commands, on stderr, only when stderr is a terminal.

Piped or redirected, nothing is written. ``HILT_PROGRESS=1`` forces the bar on (tests),
``HILT_PROGRESS=0`` turns it off.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

_EVERY = 0.1  # seconds between redraws


def wanted(stream: TextIO) -> bool:
    forced = os.environ.get("HILT_PROGRESS", "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """A one-line bar over a known number of bytes: call it with the bytes done so far."""

    def __init__(
        self,
        total: int,
        label: str,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = max(total, 1)
        self.label = label
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self._last = 0.0
        self._start = time.monotonic()
        self._drawn = 0

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < _EVERY and done < self.total:
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        bar = "#" * int(frac * 24)
        text = (
            f"\r{self.label} [{bar:<24}] {frac * 100:3.0f}%  "
            f"{done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB  {now - self._start:,.1f} s"
        )
        self._drawn = len(text)
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        """Erase the bar, so the command's own output starts on a clean line."""
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
