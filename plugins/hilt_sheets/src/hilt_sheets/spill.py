"""The spill file: rows the sheet could not take yet, kept on disk until it can.

One JSON object per line, in the order the rows were made: first a header line naming the
sheet and tab the rows were meant for (``{"hilt_spill": 1, "sheet_id": ..., "worksheet":
...}``, read by ``hilt sheets status`` / ``replay``), then the rows (column name -> cell
value, with their ``event_id``). Only the configured columns are stored, so ``columns=``
keeps content off the disk here too. Several sessions and processes may share one file
(the default path is per sheet and tab): appends and rewrites take a short exclusive lock
on ``<file>.lock``, and a replay holds ``<file>.replay.lock`` so that one replayer at a
time uploads the rows (the others add their new rows behind them).

The rows hold message text, so the files are created ``0600`` (whatever the umask) in a
directory created ``0700``, a wider file is narrowed to ``0600``, and no path is followed
through a symbolic link or opened if it is not a regular file owned by this user: a link
planted at the path (to leak the rows, or to make HILT write elsewhere) is refused.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from hilt_core import locking
from hilt_core.convert import dumps_obj, loads
from hilt_sheets.cells import Row, mend
from hilt_sheets.settings import ID_COLUMN

log = logging.getLogger("hilt")

HEADER_KEY = "hilt_spill"
FILE_MODE = 0o600
DIR_MODE = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FLAGS = _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


class UnsafeSpillPath(OSError):
    """The spill path is a symbolic link, not a regular file, or not this user's."""


def check_path(path: Path) -> None:
    """Raise :class:`UnsafeSpillPath` if ``path`` exists and HILT must not write to it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    _check(path, st)


def _check(path: Path, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeSpillPath(
            errno.ELOOP,
            "is a symbolic link; HILT does not follow links for files that hold message "
            "text (point spill_path at the real location)",
            str(path),
        )
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeSpillPath(errno.EINVAL, "is not a regular file", str(path))
    uid = getattr(os, "geteuid", None)
    if uid is not None and st.st_uid != uid():
        raise UnsafeSpillPath(
            errno.EPERM,
            f"belongs to another user (uid {st.st_uid}); HILT only writes message text to "
            "files of its own user",
            str(path),
        )


def open_private(path: Path, flags: int, *, create: bool = True, narrow: bool = True) -> int:
    """``os.open`` for a file that holds message text: created 0600, never through a
    symbolic link, only a regular file of this user (narrowed to 0600 if wider, unless
    ``narrow`` is False: a look that changes nothing)."""
    if not _NOFOLLOW:  # no O_NOFOLLOW (Windows): check first, best effort
        check_path(path)
    try:
        fd = os.open(path, flags | _FLAGS | (os.O_CREAT if create else 0), FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            check_path(path)  # raises the clear message for a link
        raise
    try:
        st = os.fstat(fd)
        _check(path, st)
        if narrow and st.st_mode & 0o077 and hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)  # made by an older version, or under another umask
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_dir(path: Path) -> None:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def encode(row: Mapping[str, Any]) -> bytes:
    """One row as a line; text that cannot be encoded is mended first (U+FFFD)."""
    try:
        return dumps_obj(row)
    except Exception:
        fixed = {k: mend(v)[0] if isinstance(v, str) else v for k, v in row.items()}
        return dumps_obj(fixed)


class Spill:
    def __init__(self, path: Path, origin: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.origin = dict(origin or {})
        self._lock_path = path.with_name(path.name + ".lock")
        self._replay_lock_path = path.with_name(path.name + ".replay.lock")
        self._thread_lock = threading.Lock()

    def after_fork(self) -> None:
        self._thread_lock = threading.Lock()  # a parent thread may have held it at fork

    def check(self) -> None:
        """Raise :class:`UnsafeSpillPath` now if any of the files must not be written."""
        for path in (self.path, self._lock_path, self._replay_lock_path):
            check_path(path)

    @contextlib.contextmanager
    def _flock(self, path: Path, *, wait: bool = True) -> Iterator[bool]:
        make_dir(path.parent)
        fd = open_private(path, os.O_RDWR)
        try:
            yield locking.lock(fd, wait=wait)
        finally:
            os.close(fd)  # releases the lock

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, self._flock(self._lock_path):
            yield

    @contextlib.contextmanager
    def replaying(self) -> Iterator[bool]:
        """Try to become the one replayer of this file; yields False if another is."""
        with self._flock(self._replay_lock_path, wait=False) as mine:
            yield mine

    def pending(self) -> bool:
        try:
            st = os.lstat(self.path)
        except OSError:
            return False
        return stat.S_ISREG(st.st_mode) and st.st_size > 0

    def _header(self) -> bytes:
        return dumps_obj({HEADER_KEY: 1, **self.origin}) if self.origin else b""

    def append(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        data = b"".join(encode(r) for r in rows)
        with self._locked():
            fd = open_private(self.path, os.O_RDWR | os.O_APPEND)
            with os.fdopen(fd, "r+b") as f:
                end = f.seek(0, os.SEEK_END)
                if not end:
                    data = self._header() + data
                else:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        data = b"\n" + data  # a torn last line (crash mid-write): start clean
                f.write(data)  # append mode: always at the end
                f.flush()
                os.fsync(f.fileno())

    def _read(self, narrow: bool = True) -> tuple[dict[str, Any], list[Row]]:
        try:
            fd = open_private(self.path, os.O_RDONLY, create=False, narrow=narrow)
        except FileNotFoundError:
            return {}, []
        with os.fdopen(fd, "rb") as f:
            raw = f.read()
        header: dict[str, Any] = {}
        rows: list[Row] = []
        seen: set[str] = set()
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
            if HEADER_KEY in data:
                header = header or data
                continue
            key = str(data.get(ID_COLUMN))
            if key in seen:
                continue  # kept twice (a retry spilled it again): it is sent once
            seen.add(key)
            rows.append(data)
        return header, rows

    def load(self) -> list[Row]:
        """Every row waiting in the file, oldest first, once each."""
        with self._locked():
            return self._read()[1]

    def peek(self) -> tuple[dict[str, Any], list[Row]]:
        """The header (where the rows were meant to go; {} in files of older versions) and
        the rows, read without a lock and without changing anything (``hilt sheets
        status``)."""
        return self._read(narrow=False)

    def remove(self, ids: Collection[str]) -> None:
        """Drop the rows with these ids (uploaded); rows other writers added stay."""
        if not ids:
            return
        with self._locked():
            header, rows = self._read()
            keep = [r for r in rows if str(r.get(ID_COLUMN)) not in ids]
            if not keep:
                self.path.unlink(missing_ok=True)
                return
            head = dumps_obj(header) if header else self._header()
            # mkstemp: a new 0600 file (O_EXCL), so nothing planted at a fixed name is used.
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(head + b"".join(encode(r) for r in keep))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
