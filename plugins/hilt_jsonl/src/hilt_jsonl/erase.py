"""Erasure: remove (or export) every event of a conversation or a user from JSONL logs.

A log is rewritten atomically: the lines that stay are written to a temporary file in the
same folder, which is fsynced and then renamed over the log (``os.replace``), and the
folder is fsynced. A crash at any moment leaves either the old log or the new one, whole;
a temporary file left behind by a crash is removed by the next erasure of that log.

While a log is rewritten its writers' lock (``flock``, the one the JSONL backend takes for
each batch) is held, so no line can be appended in between. A writer that was waiting for
the lock finds the path now names another file, reopens it and appends there: nothing
written during an erasure is lost.

The old file is then scrubbed: a process that still holds it open (an idle writer
between two batches, a reader) would otherwise read the erased lines through its
descriptor until it closes it. It is truncated to nothing (the blocks are freed, not
overwritten) or, when other hard links name it, given the new content. Writers lose
nothing: each checks under the lock that the path still names its file, and reopens it.

A symbolic link is followed: the file it names is rewritten and the link stays. A file
named stands for its whole log: the files HILT's rotation made from it
(``app.<time>.jsonl`` by size, ``app-<date>.jsonl`` by day) and logrotate's numbered
copies (``app.jsonl.1``). Compressed files cannot be searched: they are reported, never
silently passed over.

Lines that are kept are copied byte for byte. Matching: ``session_id`` (or the
``conversation_id`` column) equal to ``conversation_id``, or ``extensions.user_id`` (or the
``user_id`` column) equal to ``user_id``. A line that is not JSON (torn by a crash) but
holds one of the ids as a JSON string is a fragment of a matching event: it is removed
too (not exported: it is not an event) and counted as a fragment.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import attrs
import orjson

from hilt_core import HILTError, locking
from hilt_core.paths import user_path

log = logging.getLogger("hilt")

# Test hook: seconds to sleep once half of a rewrite is written (crash tests kill it then).
PAUSE_ENV = "_HILT_ERASE_TEST_PAUSE"
_TMP_MARK = ".hilt-erase-"


@attrs.define
class FileErasure:
    """What happened to one log file (``path`` as named; ``target``, the file a symbolic
    link names, when it is one)."""

    path: Path
    target: Path | None = None
    events: int = 0
    matched: int = 0
    removed: int = 0
    exported: int = 0
    fragments: int = 0  # lines that are not JSON but name an id (torn by a crash)
    rewritten: bool = False
    bytes_before: int = 0
    bytes_after: int = 0
    stale_temps_removed: int = 0
    scrubbed: bool = False  # the old file, still open elsewhere, was emptied


@attrs.define
class Skipped:
    """A file of the logs that could not be searched, and why."""

    path: Path
    reason: str


@attrs.define
class ErasureReport:
    """The outcome of :func:`erase`; ``str(report)`` is a summary for people."""

    conversation_ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    remove: bool
    dry_run: bool
    export_to: Path | None
    files: list[FileErasure] = attrs.field(factory=list)
    export_skipped: int = 0  # matching events already in the export file
    skipped: list[Skipped] = attrs.field(factory=list)  # files that could not be searched

    @property
    def files_scanned(self) -> int:
        return len(self.files)

    @property
    def files_rewritten(self) -> int:
        return sum(f.rewritten for f in self.files)

    @property
    def events_matched(self) -> int:
        return sum(f.matched for f in self.files)

    @property
    def events_removed(self) -> int:
        return sum(f.removed for f in self.files)

    @property
    def events_exported(self) -> int:
        return sum(f.exported for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_ids": list(self.conversation_ids),
            "user_ids": list(self.user_ids),
            "remove": self.remove,
            "dry_run": self.dry_run,
            "export_to": str(self.export_to) if self.export_to else None,
            "files_scanned": self.files_scanned,
            "files_rewritten": self.files_rewritten,
            "events_matched": self.events_matched,
            "events_removed": self.events_removed,
            "events_exported": self.events_exported,
            "export_skipped": self.export_skipped,
            "files": [
                {
                    **attrs.asdict(f, recurse=False),
                    "path": str(f.path),
                    "target": str(f.target) if f.target else None,
                }
                for f in self.files
            ],
            "files_skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
        }

    def __str__(self) -> str:
        who = [f"conversation {c}" for c in self.conversation_ids]
        who += [f"user {u}" for u in self.user_ids]
        head = "HILT erase" + (" (dry run)" if self.dry_run else "") + f" of {', '.join(who)}: "
        touched = sum(1 for f in self.files if f.matched)
        n = self.events_matched
        if self.dry_run:
            verb = "would remove" if self.remove else "would export"
            parts = [f"{verb} {_events(n)} found in {touched} of {self.files_scanned} files"]
        elif self.remove:
            parts = [
                f"removed {_events(self.events_removed)} from {self.files_rewritten} of "
                f"{self.files_scanned} files"
            ]
        else:
            parts = [f"found {_events(n)} in {touched} of {self.files_scanned} files"]
        if self.export_to is not None and not self.dry_run:
            parts.append(f"exported {_events(self.events_exported)} to {self.export_to}")
            if self.export_skipped:
                parts.append(f"{self.export_skipped} already there")
        if self.dry_run:
            parts.append("nothing was changed")
        if self.skipped:
            n = len(self.skipped)
            parts.append(f"{n} file{'s' * (n != 1)} NOT searched (below)")
        lines = [head + "; ".join(parts)]
        for f in self.files:
            if not f.matched:
                what = "no matching events"
            elif self.dry_run or not self.remove:
                what = f"{f.matched} of {f.events} events match"
            else:
                what = f"{f.removed} of {f.events} events removed, file rewritten"
            if f.fragments:
                what += f" (with {f.fragments} unreadable fragments naming it)"
            name = f"{f.path} (-> {f.target})" if f.target else str(f.path)
            lines.append(f"  {name}: {what}")
        for skip in self.skipped:
            lines.append(f"  {skip.path}: NOT searched: {skip.reason}")
        return "\n".join(lines)


def _events(n: int) -> str:
    return f"{n} event" + ("" if n == 1 else "s")


def _ids(value: str | Iterable[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    out = (value,) if isinstance(value, str) else tuple(value)
    if any(not isinstance(v, str) or not v for v in out):
        raise HILTError(f"{what} must be a non-empty string (or a list of them)")
    return out


def expand(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named by ``paths``: files (with the files of their rotated log, see
    :func:`rotated`), folders (their ``*.jsonl`` files, and theirs) and glob patterns
    (the files they match, as they are). A name that does not exist stands for the files
    rotated from it, when there are some."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    out: dict[Path, None] = {}
    for item in items:
        text = os.fspath(item)
        found: list[Path]
        if glob.has_magic(text):
            found = [Path(p) for p in sorted(glob.glob(os.path.expanduser(text), recursive=True))]
        else:
            p = user_path(text)
            if p.is_dir():
                found = []
                for log_file in sorted(p.glob("*.jsonl")):
                    found += [log_file, *rotated(log_file)]
            else:
                # Rotated files lie beside the file itself, wherever a link points.
                real = os.path.realpath(p)
                found = ([p] if p.exists() else []) + rotated(p)
                found += rotated(Path(real)) if real != os.path.abspath(p) else []
                if not found:
                    raise HILTError(f"No such log file: {p}")
        for f in found:
            if f.is_file() and _TMP_MARK not in f.name:
                out[f] = None
    return list(out)


def rotated(path: Path) -> list[Path]:
    """The files rotated from the log ``path``, oldest first: HILT's rotation by size
    (``app.20260101T120000123456.jsonl``) and by day (``app-2026-01-01.jsonl``), and
    logrotate's numbered copies (``app.jsonl.1``, ``app.jsonl.2.gz``)."""
    stem, suffix, name = re.escape(path.stem), re.escape(path.suffix), re.escape(path.name)
    patterns = [
        rf"{stem}\.\d{{8}}T\d{{12}}{suffix}",
        rf"{stem}-\d{{4}}-\d{{2}}-\d{{2}}{suffix}",
        rf"{name}\.\d+(\.(gz|bz2|xz|zst|lz4|z|Z))?",
    ]
    match = re.compile("|".join(f"(?:{p})" for p in patterns)).fullmatch
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    found = [path.parent / n for n in names if match(n)]

    def age(p: Path) -> tuple[int, str]:
        # logrotate's .1 is the newest copy: higher numbers first, then names
        number = re.match(rf"{name}\.(\d+)", p.name)
        return (-int(number.group(1)), "") if number else (0, p.name)

    return sorted(found, key=age)


_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\x04\x22\x4d\x18": "lz4",
}


def _unsearchable(path: Path) -> str | None:
    """Why ``path`` cannot be searched line by line, or None."""
    with path.open("rb") as fh:
        head = fh.read(6)
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            return f"{kind}-compressed: decompress it, erase again, and compress it back"
    return None


def erase(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    conversation_id: str | Iterable[str] | None = None,
    user_id: str | Iterable[str] | None = None,
    export_to: str | os.PathLike[str] | None = None,
    remove: bool = True,
    dry_run: bool = False,
) -> ErasureReport:
    """Remove every event of ``conversation_id`` and/or ``user_id`` from the JSONL logs at
    ``paths`` (files, folders, globs), rewriting each affected file atomically.

    ``export_to``: also append those events to this JSONL file (made durable before any
    log is rewritten; events already in it are not repeated, so a rerun after a crash
    does not duplicate them). ``remove=False`` exports without removing. ``dry_run=True``
    changes nothing and reports what would be done.
    """
    conv = _ids(conversation_id, "conversation_id")
    users = _ids(user_id, "user_id")
    if not conv and not users:
        raise HILTError("Say what to erase: conversation_id=... and/or user_id=...")
    if not remove and export_to is None:
        raise HILTError("remove=False only makes sense with export_to=...")
    export = user_path(export_to) if export_to is not None else None
    files = expand(paths)
    if export is not None:
        files = [f for f in files if not _same_file(f, export)]
    if not files:
        raise HILTError(f"No log files found in {paths!r}")
    report = ErasureReport(conv, users, remove, dry_run, export)
    # Each file once, by what it really is: a link and its target are one log.
    targets: dict[Path, Path] = {}
    for f in files:
        real = Path(os.path.realpath(f))
        why = _unsearchable(real)
        if why is not None:
            report.skipped.append(Skipped(f, why))
        else:
            targets.setdefault(real, f)
    matcher = _Matcher(conv, users)
    sink = _ExportSink(export) if export is not None and not dry_run else None
    try:
        for real, named in targets.items():
            done = _erase_file(real, matcher, sink, remove, dry_run)
            linked = os.path.abspath(named) != str(real)
            done.path, done.target = named, (real if linked else None)
            report.files.append(done)
    finally:
        if sink is not None:
            report.export_skipped = sink.skipped
            sink.close()
    # Counts only: the ids may themselves be personal data.
    log.info(
        "HILT erase: %d events matched in %d files, %d removed, %d exported%s",
        report.events_matched,
        report.files_scanned,
        report.events_removed,
        report.events_exported,
        " (dry run)" if dry_run else "",
    )
    for skip in report.skipped:
        log.warning("HILT erase could not search %s: %s", skip.path, skip.reason)
    return report


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class _Matcher:
    def __init__(self, conv: tuple[str, ...], users: tuple[str, ...]) -> None:
        self.conv = frozenset(conv)
        self.users = frozenset(users)
        # A line that holds none of the ids (as orjson or as json with ASCII escapes
        # would write them) cannot match: most lines skip the JSON parse.
        needles: set[bytes] = set()
        for v in conv + users:
            needles.add(orjson.dumps(v))
            needles.add(json.dumps(v).encode("ascii"))
        self.needles = tuple(needles)

    def __call__(self, line: bytes) -> bool | None:
        """True / False, or None for a line that names an id but is not a JSON object."""
        if not any(n in line for n in self.needles):
            return False
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        sid = data.get("session_id", data.get("conversation_id"))
        if isinstance(sid, str) and sid in self.conv:
            return True
        if self.users:
            ext = data.get("extensions")
            uid = ext.get("user_id") if isinstance(ext, dict) else None
            if uid is None:
                uid = data.get("user_id")
            if isinstance(uid, str) and uid in self.users:
                return True
        return False


class _ExportSink:
    """The export file: appended to, fsynced before any log loses the lines it got."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped = 0
        self.seen: set[bytes] = set()
        if path.exists():
            with path.open("rb") as fh:
                for line in fh:
                    self.seen.add(_identity(line))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created readable by its owner only: it holds exactly the data being erased.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.fh: IO[bytes] = os.fdopen(fd, "ab")
        self.dirty = False

    def add(self, line: bytes) -> bool:
        key = _identity(line)
        if key in self.seen:
            self.skipped += 1
            return False
        self.seen.add(key)
        self.fh.write(line if line.endswith(b"\n") else line + b"\n")
        self.dirty = True
        return True

    def sync(self) -> None:
        if self.dirty:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.dirty = False

    def close(self) -> None:
        self.sync()
        self.fh.close()


def _identity(line: bytes) -> bytes:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line.rstrip(b"\r\n")
    event_id = data.get("event_id") if isinstance(data, dict) else None
    if isinstance(event_id, str):
        return b"id:" + event_id.encode("utf-8")
    return line.rstrip(b"\r\n")


def _open_locked(path: Path, exclusive: bool) -> IO[bytes]:
    """Open ``path`` and take the JSONL writers' lock on the file it names now. To
    rewrite, it is opened for writing too when allowed, to scrub it after (see
    :func:`_scrub`)."""
    while True:
        fh: IO[bytes]
        try:
            fh = path.open("r+b" if exclusive else "rb")
        except PermissionError:
            if not exclusive:
                raise
            fh = path.open("rb")
        if locking.AVAILABLE:
            locking.lock(fh.fileno(), shared=not exclusive)
            if not locking.still_names(path, fh.fileno()):
                # Rolled over or replaced while we waited: lock what the path names now.
                fh.close()
                if not path.exists():
                    raise HILTError(f"{path} disappeared during the erasure")
                continue
        return fh


def _erase_file(
    path: Path, match: _Matcher, sink: _ExportSink | None, remove: bool, dry_run: bool
) -> FileErasure:
    result = FileErasure(path=path)
    rewrite = remove and not dry_run
    fh = _open_locked(path, exclusive=rewrite)
    try:
        result.bytes_before = result.bytes_after = os.fstat(fh.fileno()).st_size
        if rewrite:
            result.stale_temps_removed = _remove_stale_temps(path)
        matched_lines: list[int] = []
        n_lines = 0
        for i, line in enumerate(fh):
            n_lines += 1
            if not line.strip():
                continue
            result.events += 1
            verdict = match(line)
            if verdict is None:
                # A torn line of this conversation or user: not JSON, so not exported,
                # but erased with the rest.
                result.fragments += 1
                result.matched += 1
                matched_lines.append(i)
            elif verdict:
                result.matched += 1
                matched_lines.append(i)
                if sink is not None and sink.add(line):
                    result.exported += 1
        if sink is not None:
            sink.sync()  # the export is durable before the log loses anything
        if rewrite and matched_lines:
            fh.seek(0)
            drop = set(matched_lines)
            result.bytes_after = _rewrite(path, fh, drop, n_lines - len(drop))
            result.removed = len(matched_lines)
            result.rewritten = True
            result.scrubbed = _scrub(fh, path, result.bytes_after)
    finally:
        fh.close()  # releases the lock, after the rename
    return result


def _scrub(fh: IO[bytes], path: Path, size: int) -> bool:
    """Empty the old file, now unnamed (or named by other hard links only), which ``fh``
    holds open and locked: whoever else still has it open must not read the erased lines
    there. Writers waiting for the lock find that the path names another file and
    reopen it, so none appends here. Other hard links get the new content instead."""
    if not fh.writable():
        log.warning(
            "HILT erase could not empty the old copy of %s (no write permission): a process "
            "that holds it open can read the erased lines until it closes it",
            path,
        )
        return False
    fd = fh.fileno()
    if os.fstat(fd).st_nlink == 0:
        os.ftruncate(fd, 0)
    else:
        with path.open("rb") as new:
            at = 0
            while chunk := new.read(1 << 20):
                while chunk:
                    n = os.pwrite(fd, chunk, at)
                    at += n
                    chunk = chunk[n:]
        os.ftruncate(fd, size)
    os.fsync(fd)
    return True


def _remove_stale_temps(path: Path) -> int:
    # We hold the log's lock and only a lock holder writes these: any found are from a
    # rewrite that crashed.
    n = 0
    for stale in path.parent.glob(f".{glob.escape(path.name)}{_TMP_MARK}*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            n += 1
            log.warning("HILT erase removed %s, left by an interrupted erasure", stale)
    return n


def _rewrite(path: Path, fh: IO[bytes], drop: set[int], keep: int) -> int:
    """Write the lines of ``fh`` not in ``drop`` (``keep`` of them) over ``path``."""
    st = os.fstat(fh.fileno())
    tmp = path.with_name(f".{path.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    pause = float(os.environ.get(PAUSE_ENV) or 0)
    try:
        with os.fdopen(fd, "wb") as out:
            if hasattr(os, "fchown"):  # POSIX: the new file gets the old one's owner and mode
                with contextlib.suppress(OSError):
                    os.fchmod(out.fileno(), st.st_mode & 0o7777)
                    os.fchown(out.fileno(), st.st_uid, st.st_gid)
            kept = 0
            for i, line in enumerate(fh):
                if i in drop:
                    continue
                out.write(line)
                kept += 1
                if pause and kept == keep // 2:
                    out.flush()
                    time.sleep(pause)
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return size


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":
        return
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
