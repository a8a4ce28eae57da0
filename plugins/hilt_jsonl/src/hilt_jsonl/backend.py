"""The JSONL writer: batches appended with ``O_APPEND`` under an exclusive ``flock``.

One ``write()`` call per batch, under a lock on the file, so threads and processes
appending to the same file never interleave or tear lines. After a fork the child opens
its own descriptor (a shared open file description would share the lock too).

The log file itself is never opened through a symbolic link (``O_NOFOLLOW``): in a
folder others can write to, a link planted at the log's path would make HILT append
message text to any file the application can write. A link made on purpose is refused
too, with a message that names its target (give that path instead); folders on the
path may be links. New files are created readable by their owner only (0600): they hold
message text.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hilt_core import ConfigError, Event, dumps, locking
from hilt_core.columns import check_columns, select
from hilt_core.convert import dumps_obj
from hilt_core.paths import user_path
from hilt_jsonl.reader import iter_events

log = logging.getLogger("hilt")

DEFAULT_PATH = "logs/hilt.jsonl"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
FILE_MODE = 0o600  # new log files: their owner only (the umask may take more away)
LOCK_TIMEOUT = 2.0  # seconds a write waits for another process's lock on the file
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)


def _parse_size(value: Any) -> int:
    if isinstance(value, int) and value > 0:
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ConfigError(f"max_bytes must be a size such as 10_000_000 or '100MB', not {value!r}")
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2).lower()]


class JsonlBackend:
    """One log file (or a family of rotated files)."""

    def __init__(
        self,
        path: Path,
        *,
        columns: list[str] | None = None,
        rotate: str | None = None,
        max_bytes: int = 0,
        fsync: bool = False,
    ) -> None:
        self.path = path
        self.columns = columns
        self.rotate = rotate
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._fd: int | None = None
        self._fd_path: Path | None = None
        self._pid = os.getpid()

    # -- paths ---------------------------------------------------------------------------
    def current_path(self) -> Path:
        if self.rotate == "day":
            day = datetime.now(UTC).strftime("%Y-%m-%d")
            return self.path.with_name(f"{self.path.stem}-{day}{self.path.suffix}")
        return self.path

    def files(self) -> list[Path]:
        """Every file of this log, oldest first."""
        if self.rotate == "day":
            found = sorted(self.path.parent.glob(f"{self.path.stem}-*{self.path.suffix}"))
            return found
        if self.rotate == "size":
            olds = sorted(self.path.parent.glob(f"{self.path.stem}.*{self.path.suffix}"))
            return olds + ([self.path] if self.path.exists() else [])
        return [self.path]

    # -- writing -------------------------------------------------------------------------
    def _open(self, path: Path) -> int:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | _NOFOLLOW
        fd = os.open(path, flags, FILE_MODE)
        self._fd, self._fd_path, self._pid = fd, path, os.getpid()
        return fd

    def _descriptor(self) -> int:
        path = self.current_path()
        if self._fd is not None and (self._pid != os.getpid() or self._fd_path != path):
            if self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
        if self._fd is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            return self._open(path)
        return self._fd

    def encode(self, events: Sequence[Event]) -> bytes:
        if self.columns is None:
            return b"".join([dumps(e) for e in events])
        cols = self.columns
        return b"".join([dumps_obj(select(e, cols)) for e in events])

    def write(self, events: Sequence[Event]) -> None:
        if not events:
            return
        data = self.encode(events)
        fd = self._descriptor()
        if locking.AVAILABLE:
            fd = self._lock(fd)
        try:
            size = os.fstat(fd).st_size
            if size and not self._ends_with_newline(fd, size):
                # A torn last line (a crash mid-write): end it so ours start clean.
                data = b"\n" + data
            try:
                self._write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
            except BaseException:
                # A full disk or a file-size limit stops a write part-way: take the part
                # back, so that the retried batch is in the file once, with no torn line.
                self._roll_back(fd, size)
                raise
            if self.rotate == "size" and size + len(data) >= self.max_bytes:
                self._roll_over()
        finally:
            locking.unlock(fd)

    def _lock(self, fd: int) -> int:
        # After taking the lock, make sure the path still names our file: another process
        # may have rolled it over (size rotation) while we waited.
        while True:
            self._flock(fd)
            path = self._fd_path
            if path is not None and locking.still_names(path, fd):
                return fd
            locking.unlock(fd)
            os.close(fd)
            self._fd = None
            fd = self._descriptor()

    def _flock(self, fd: int) -> None:
        # Another HILT writer holds the lock for one write(); something that holds it
        # longer (a stuck process, a backup tool) must not hang the writer, and with it
        # flush() and the exit: give up after LOCK_TIMEOUT, and the batch is retried.
        try:
            locking.lock(fd, timeout=LOCK_TIMEOUT)
        except TimeoutError:
            raise TimeoutError(
                f"the log file {self._fd_path} stayed locked by another process "
                f"for {LOCK_TIMEOUT:g}s"
            ) from None

    @staticmethod
    def _ends_with_newline(fd: int, size: int) -> bool:
        return os.pread(fd, 1, size - 1) == b"\n"

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def _roll_back(self, fd: int, size: int) -> None:
        try:
            if os.fstat(fd).st_size > size:
                os.ftruncate(fd, size)  # we hold the lock: nobody appended after us
        except OSError as exc:
            log.error(
                "HILT could not take back a partial write to %s (%s); the file may hold "
                "a torn line, which the next write ends",
                self._fd_path,
                exc,
            )

    def _roll_over(self) -> None:
        # The batch is written: a failure to rename must not make it be written again.
        try:
            self._roll()
        except OSError as exc:
            log.warning("HILT could not roll over %s (%s); it tries again", self.path, exc)

    def _roll(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = self.path.with_name(f"{self.path.stem}.{stamp}{self.path.suffix}")
        os.rename(self.path, target)  # under the lock: writers waiting re-check the inode

    def flush(self) -> None:
        # os.write() already handed the bytes to the kernel; fsync only when asked.
        if self.fsync and self._fd is not None and self._pid == os.getpid():
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    # -- reading -------------------------------------------------------------------------
    def read(self) -> Iterator[Event]:
        for path in self.files():
            if path.exists():
                yield from iter_events(path)


def open_backend(options: Mapping[str, Any]) -> JsonlBackend:
    raw = options.get("filepath") or os.environ.get("HILT_FILEPATH") or DEFAULT_PATH
    path = user_path(raw)
    encoding = str(options.get("encoding") or "utf-8").lower().replace("_", "-")
    if encoding not in ("utf-8", "utf8"):
        raise ConfigError(
            f"HILT JSONL logs are always UTF-8; encoding={encoding!r} is not supported"
        )
    columns = check_columns(options.get("columns"))
    rotate = options.get("rotate")
    if rotate not in (None, "day", "size"):
        raise ConfigError(f"rotate must be 'day', 'size' or None, not {rotate!r}")
    if rotate == "size" and not options.get("max_bytes"):
        raise ConfigError("rotate='size' needs max_bytes=, e.g. max_bytes='100MB'")
    max_bytes = _parse_size(options["max_bytes"]) if rotate == "size" else 0
    mode = options.get("mode", "a")
    backend = JsonlBackend(
        path, columns=columns, rotate=rotate, max_bytes=max_bytes, fsync=bool(options.get("fsync"))
    )
    if mode == "r":
        return backend
    target = backend.current_path()
    if not target.parent.exists():
        if not options.get("create_dirs", True):
            raise ConfigError(f"The folder {target.parent} does not exist (create_dirs=False)")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"HILT cannot create the log folder {target.parent}: {exc}") from exc
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | (os.O_TRUNC if mode == "w" else 0)
    try:
        fd = os.open(target, flags, FILE_MODE)
        os.close(fd)
    except OSError as exc:
        if target.is_symlink():
            raise ConfigError(
                f"HILT does not write through the symbolic link {target} (it points to "
                f"{os.readlink(target)}): give the path of the file itself"
            ) from exc
        raise ConfigError(f"HILT cannot write the log file {target}: {exc}") from exc
    return backend
