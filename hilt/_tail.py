"""``hilt tail``: the last events of a log as readable lines, and ``-f`` to follow it.

Following survives rotation (the path renamed away and a new file created: HILT's
``rotate="size"``, logrotate) by watching the inode, and truncation by watching the
size; a line is shown once its newline is written, never half.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import orjson

from hilt._terminal import printable
from hilt.reading import check_log, flat_row, is_event

log = logging.getLogger("hilt")

_BLOCK = 1 << 16


def last_lines(path: Path, n: int) -> tuple[list[bytes], int]:
    """The last ``n`` complete lines of ``path`` (read from the end, so the size of the
    file does not matter) and the offset where the complete lines end. A torn last line
    (no newline yet) is not returned; following starts at it."""
    with path.open("rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        data = b""
        pos = end
        while pos > 0 and data.count(b"\n") <= n:
            step = min(_BLOCK, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
    cut = data.rfind(b"\n") + 1  # complete lines end here (0: none)
    complete_end = end - (len(data) - cut)
    lines = data[:cut].split(b"\n")[:-1] if cut else []
    if pos > 0:
        lines = lines[1:]  # the first one may be cut by the block boundary
    return [ln for ln in lines if ln.strip()][-n:] if n else [], complete_end


def _tokens(r: dict[str, Any]) -> str:
    t_in, t_out = r["tokens_in"], r["tokens_out"]
    if t_in == "" and t_out == "":
        return ""
    return f"{t_in if t_in != '' else '?'}>{t_out if t_out != '' else '?'}"


def _cost(value: Any) -> str:
    if value == "" or value is None:
        return ""
    return f"${value:.6f}" if isinstance(value, (int, float)) else f"${value}"


def format_line(data: dict[str, Any], width: int) -> str:
    """One event as a line of at most ``width`` characters: time (UTC, as written),
    conversation, speaker, action, tokens in>out, cost, status, text."""
    r = flat_row(data, message_limit=None)
    # What the log holds is shown, never run: escapes become text (hilt._terminal).
    ts = printable(str(r["timestamp"])[5:19].replace("T", " "))  # MM-DD HH:MM:SS
    session, speaker = printable(str(r["session"])), printable(str(r["speaker"]))
    action, status = printable(str(r["action"])), printable(str(r["status_code"]))
    tokens, cost = printable(_tokens(r)), printable(_cost(r["cost_usd"]))
    head = f"{ts:<14} {session:<13} {speaker:<14} {action:<10} {tokens:>9} {cost:>10} {status:>3}"
    room = width - len(head) - 1
    text = printable(r["message"])
    if room < 4:
        return head[:width]
    if len(text) > room:
        text = text[: room - 3] + "..."
    return f"{head} {text}".rstrip()


def render(line: bytes, width: int) -> str | None:
    try:
        data = orjson.loads(line)
        if not is_event(data):
            raise ValueError(f"{line[:60].decode('utf-8', 'replace')!r}...")
        return format_line(data, width)
    except Exception as exc:
        log.warning("HILT tail skipped a line that is not a HILT event (%s)", exc)
        return None


def follow(
    path: Path,
    offset: int,
    emit: Callable[[bytes], None],
    *,
    interval: float = 0.5,
    notice: Callable[[str], None] | None = None,
    running: Callable[[], bool] = lambda: True,
) -> None:
    """Call ``emit`` with each complete line written to ``path`` after ``offset``, until
    ``running()`` is false (or KeyboardInterrupt). Reopens the path when it names a new
    file (rotation), starts over when the file shrinks (truncation)."""
    say = notice or (lambda _msg: None)
    fh = path.open("rb")
    try:
        fh.seek(offset)
        inode = os.fstat(fh.fileno()).st_ino
        pending = b""
        while running():
            chunk = fh.read(_BLOCK)
            if chunk:
                pending += chunk
                if b"\n" in pending:
                    *complete, pending = pending.split(b"\n")
                    for line in complete:
                        if line.strip():
                            emit(line)
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:  # renamed away, the new file not created yet
                time.sleep(interval)
                continue
            if st.st_ino != inode:
                # The old file is read to its end; what was left unfinished there stays so.
                fh.close()
                fh = path.open("rb")
                inode = os.fstat(fh.fileno()).st_ino
                pending = b""
                say(f"{path} was rotated; following the new file")
                continue
            if st.st_size < fh.tell():
                fh.seek(0)
                pending = b""
                say(f"{path} was truncated; following from its start")
                continue
            time.sleep(interval)
    finally:
        fh.close()


def tail(
    path: Path,
    n: int,
    out: TextIO,
    width: int,
    *,
    follow_file: bool = False,
    interval: float = 0.5,
    notice: Callable[[str], None] | None = None,
) -> None:
    check_log(path)
    lines, end = last_lines(path, n)
    for line in lines:
        text = render(line, width)
        if text is not None:
            out.write(text + "\n")
    out.flush()
    if not follow_file:
        return

    def emit(line: bytes) -> None:
        text = render(line, width)
        if text is not None:
            out.write(text + "\n")
            out.flush()

    follow(path, end, emit, interval=interval, notice=notice)
