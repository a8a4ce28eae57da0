"""The JSON encoding of log lines: orjson, with a slow path so that one odd value never
blocks the batch it is in, nor any batch after it.

It knows nothing of the event classes: :mod:`hilt_core.model` builds an event's dict and
hands it here (``hilt_core.dumps(event)``), and other line forms (the ``columns=`` rows, a
spill file's records) are written with :func:`dumps_obj` too.

Neither raises. What orjson cannot write as it is (a lone surrogate in a text, metadata
nested thousands deep, an object whose ``__str__`` raises, an integer beyond 64 bits) is
repaired by :func:`repair`, each change noted (an event's line lists them in
``extensions.hilt_repaired``), and a warning is logged at most once every 10 s per kind.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as dt_time
from typing import Any

import orjson

from hilt_core import forksafe

log = logging.getLogger("hilt")


def _default(obj: Any) -> Any:
    # Application metadata may hold anything; a log line must still be written.
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return str(obj)


_OPTS = orjson.OPT_APPEND_NEWLINE
# Application metadata may have non-string keys; orjson handles them only with an option
# that slows every line down, so it is used on the rare line that needs it.
_OPTS_ANY_KEYS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


# ``obj`` as one line on orjson's fast path; raises what orjson raises (the caller falls
# back on :func:`repair`). A partial of the C function: no Python frame per event.
dumps_fast: Callable[[Any], bytes] = functools.partial(orjson.dumps, default=_default, option=_OPTS)


def dumps_obj(obj: Any) -> bytes:
    """Any JSON-ready object as one newline-terminated line (filtered column rows...).
    Never raises: what cannot be written as it is is repaired, and a warning logged."""
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS)
    except Exception:
        pass
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS_ANY_KEYS)
    except Exception:
        pass
    notes: list[str] = []
    try:
        line = orjson.dumps(repair(obj, notes), option=_OPTS)
    except Exception as exc:  # a bug in the repair: still one line, never an exception
        warn_unencodable(exc)
        return orjson.dumps({"hilt_unencodable": type(exc).__name__}, option=_OPTS)
    warn_repaired(notes)
    return line


# -- the slow path: repair what cannot be written as it is -------------------------------

_MAX_DEPTH = 100  # orjson stops at 255; far deeper than any real event
_MAX_NOTES = 10
_INT_RANGE = (-(1 << 63), (1 << 64) - 1)  # what orjson writes (and reads back exactly)


def note(notes: list[str], text: str) -> None:
    """Add one change to ``notes`` (at most ten are listed, each at most 160 characters)."""
    if len(text) > 160:  # the path into something nested thousands deep
        text = f"{text[:70]}...{text[-80:]}"
    if len(notes) < _MAX_NOTES:
        notes.append(text)
    elif len(notes) == _MAX_NOTES:
        notes.append("(more changes not listed)")


def clean_text(s: str, where: str, notes: list[str]) -> str:
    """``s`` as text UTF-8 can hold: lone surrogates replaced by U+FFFD (and noted)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        # A pair of surrogates becomes the character it encodes (an emoji split by a
        # decoder); a lone one (an emoji cut in half by max_tokens) becomes U+FFFD.
        note(notes, f"{where or 'text'}: lone surrogates replaced by U+FFFD")
        return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return s


def repair(obj: Any, notes: list[str], where: str = "", depth: int = 0) -> Any:
    """A copy of ``obj`` made only of what JSON can hold, each change noted."""
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return clean_text(str.__str__(obj), where, notes)
    if isinstance(obj, int):
        value = int.__index__(obj)
        if _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            return value
        note(notes, f"{where}: integer beyond 64 bits written as a string")
        return str(value)
    if isinstance(obj, float):
        return float.__float__(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (date, dt_time)):
        return obj.isoformat()
    if depth >= _MAX_DEPTH:
        note(notes, f"{where}: nested deeper than {_MAX_DEPTH} levels, left out")
        return "[HILT: nested too deep]"
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in list(obj.items()):
            key = clean_text(k, where, notes) if isinstance(k, str) else _leaf_text(k, where, notes)
            out[key] = repair(v, notes, f"{where}.{key}" if where else key, depth + 1)
        return out
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [repair(v, notes, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
    # Anything else as orjson writes it (dataclasses, UUIDs, enums, numpy), or its text.
    try:
        plain = orjson.loads(orjson.dumps(obj, default=_default))
    except Exception:
        return _leaf_text(obj, where, notes)
    return repair(plain, notes, where, depth + 1)


def _leaf_text(obj: Any, where: str, notes: list[str]) -> str:
    try:
        return clean_text(str(obj), where, notes)
    except Exception as exc:
        name = type(obj).__qualname__
        note(notes, f"{where}: a {name} that cannot be written ({type(exc).__name__})")
        return f"<unrepresentable {name}>"


class _Warnings:
    """Each kind of repair is logged at once, then at most once every 10 s with the count
    since (hostile input must not turn the log into one warning per event)."""

    def __init__(self) -> None:
        self.lock = forksafe.Lock()
        self.last: dict[str, float] = {}
        self.since: dict[str, int] = {}

    def due(self, kind: str) -> int:
        with self.lock:
            n = self.since.get(kind, 0) + 1
            now = time.monotonic()
            if now - self.last.get(kind, float("-inf")) < 10.0:
                self.since[kind] = n
                return 0
            if len(self.last) > 100:  # kinds are few; a flood of odd ones is not kept
                self.last.clear()
                self.since.clear()
            self.last[kind] = now
            self.since[kind] = 0
            return n


_repaired = _Warnings()


def warn_repaired(notes: list[str]) -> None:
    """Log that lines were repaired (``notes``: the changes), rate-limited per kind."""
    if not notes:
        return
    kind = notes[0].rpartition(": ")[2]
    n = _repaired.due(kind)
    if n:
        log.warning(
            "HILT could not write %d event(s) as they were and repaired them (%s); each "
            "line says what changed in extensions.hilt_repaired",
            n,
            "; ".join(notes[:3]),
        )


def warn_unencodable(exc: BaseException) -> None:
    """Log that a line could not be written even repaired (it was replaced)."""
    log.error(
        "HILT could not write an event at all (%s: %s); it was replaced by a line with "
        "extensions.error_code 'hilt_unencodable' that keeps its event_id",
        type(exc).__name__,
        exc,
    )


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


__all__ = ["dumps_obj", "loads"]
