"""The spill file: rows the sheet could not take yet, kept on disk until it can.

One JSON object per line (a row: column name -> cell value, with its ``event_id``), in the
order the rows were made. Only the configured columns are stored, so ``columns=`` keeps
content off the disk here too. Several sessions and processes may share one file (the
default path is per sheet and tab): appends and rewrites take a short exclusive lock on
``<file>.lock``, and a replay holds ``<file>.replay.lock`` so that one replayer at a time
uploads the rows (the others add their new rows behind them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from hilt_core import locking
from hilt_core.convert import dumps_obj, loads
from hilt_sheets.cells import Row
from hilt_sheets.settings import ID_COLUMN

log = logging.getLogger("hilt")


class Spill:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._replay_lock_path = path.with_name(path.name + ".replay.lock")
        self._thread_lock = threading.Lock()

    def after_fork(self) -> None:
        self._thread_lock = threading.Lock()  # a parent thread may have held it at fork

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, locking.lock_file(self._lock_path):
            yield

    @contextlib.contextmanager
    def replaying(self) -> Iterator[bool]:
        """Try to become the one replayer of this file; yields False if another is."""
        with locking.lock_file(self._replay_lock_path, wait=False) as mine:
            yield mine

    def pending(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def append(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        data = b"".join(dumps_obj(r) for r in rows)
        with self._locked(), open(self.path, "a+b") as f:
            if f.seek(0, os.SEEK_END):
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    data = b"\n" + data  # a torn last line (crash mid-write): start clean
            f.write(data)  # append mode: always at the end
            f.flush()
            os.fsync(f.fileno())

    def _read(self) -> list[Row]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        rows: list[Row] = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data: Any = loads(line)
            except ValueError:
                data = None
            if not isinstance(data, dict):
                log.warning("HILT skipped unreadable line %d of spill file %s", number, self.path)
                continue
            rows.append(data)
        return rows

    def load(self) -> list[Row]:
        """Every row waiting in the file, oldest first."""
        with self._locked():
            return self._read()

    def remove(self, ids: Collection[str]) -> None:
        """Drop the rows with these ids (uploaded); rows other writers added stay."""
        if not ids:
            return
        with self._locked():
            keep = [r for r in self._read() if str(r.get(ID_COLUMN)) not in ids]
            if not keep:
                self.path.unlink(missing_ok=True)
                return
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "wb") as f:
                f.write(b"".join(dumps_obj(r) for r in keep))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
