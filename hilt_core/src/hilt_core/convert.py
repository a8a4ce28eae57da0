"""The one cattrs converter of the HILT format, and the JSON encoding of log lines.

Unstructuring is written out by hand for :class:`Event` because it runs for every event
the writer thread stores: it omits ``None`` fields (as 0.2.8 did) and lifts the ``extra``
keys of Content and Metrics to the level where they are written. Structuring accepts
lines of hilt-python 0.2.8 (``cost_usd`` as a string, ``cost_usd_display``, uuid4 ids).

:func:`dumps` never raises: one event that cannot be written as it is (a lone surrogate
in a text, metadata nested thousands deep, an object whose ``__str__`` raises, a NaN
metric) must not stop the batch it is in, nor every batch after it. Such an event is
repaired on a slow path, its line marked with ``extensions.hilt_repaired`` (what was
changed), and a warning is logged; an event that cannot even be repaired is replaced by
a ``system`` line with ``error_code == "hilt_unencodable"`` that keeps its ``event_id``.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, date, datetime
from datetime import time as dt_time
from typing import TYPE_CHECKING, Any

import orjson

from hilt_core import forksafe
from hilt_core.model import HILT_VERSION, Actor, Content, Event, Metrics

if TYPE_CHECKING:
    from cattrs.preconf.orjson import OrjsonConverter


def _actor_dict(a: Actor) -> dict[str, Any]:
    d: dict[str, Any] = {"type": a.type, "id": a.id}
    if a.name is not None:
        d["name"] = a.name
    if a.metadata is not None:
        d["metadata"] = a.metadata
    return d


def _content_dict(c: Content) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if c.text is not None:
        d["text"] = c.text
    if c.images is not None:
        d["images"] = c.images
    if c.metadata is not None:
        d["metadata"] = c.metadata
    if c.extra:
        d.update(c.extra)
    return d


class _NonFinite(Exception):
    """A measure is NaN or infinite (see :func:`event_dict`)."""


def _metrics_dict(m: Metrics, checked: bool = False) -> dict[str, Any]:
    # Each field read once: Metrics' __getattr__ (extras as attributes) makes every
    # attribute lookup on it slower.
    tokens, cost, latency, extra = m.tokens, m.cost_usd, m.latency_ms, m.extra
    d: dict[str, Any] = {}
    if tokens is not None:
        d["tokens"] = tokens
    if cost is not None:
        d["cost_usd"] = cost
    if latency is not None:
        d["latency_ms"] = latency
    if extra:
        d.update(extra)
    if checked:
        # JSON has no NaN or infinity: orjson writes null, which the schema rejects for
        # cost_usd and latency_ms (the measures an application or a plugin may compute;
        # token counts are the provider's integers, ttft_ms a clock difference). x - x is
        # 0.0 for a finite x, NaN (true) otherwise: ~30 ns per event on the writer.
        try:
            if (latency is not None and latency - latency) or (cost is not None and cost - cost):
                raise _NonFinite
        except TypeError:  # a measure that is not a number: written as it is
            pass
    return d


def event_dict(e: Event, *, iso_timestamp: bool = True) -> dict[str, Any]:
    """The dict of one log line; ``iso_timestamp=False`` leaves the datetime for orjson.

    A NaN or infinite measure is left out (an unknown value is absent, never null), and
    ``extensions.hilt_repaired`` says so."""
    d: dict[str, Any] = {
        # A line written now is v1, whatever format the event was read from.
        "hilt_version": HILT_VERSION,
        "event_id": e.event_id,
        "timestamp": e.timestamp.isoformat() if iso_timestamp else e.timestamp,
        "session_id": e.session_id,
        "actor": _actor_dict(e.actor),
        "action": e.action,
    }
    if e.content is not None:
        d["content"] = _content_dict(e.content)
    notes: list[str] | None = None
    if e.metrics is not None:
        try:
            d["metrics"] = _metrics_dict(e.metrics, True)
        except _NonFinite:
            notes = []
            d["metrics"] = _finite_metrics(_metrics_dict(e.metrics), notes)
    if e.provenance:
        d["provenance"] = e.provenance
    if e.extensions:
        d["extensions"] = e.extensions
    if notes:
        d["extensions"] = {**(e.extensions or {}), "hilt_repaired": notes}
        _warn_repaired(notes)
    return d


def _structure_event(data: Any, _cls: Any) -> Event:
    if not isinstance(data, dict):
        raise TypeError(f"an event must be a JSON object, got {type(data).__name__}")
    kwargs: dict[str, Any] = {
        "session_id": data["session_id"],
        "actor": data["actor"],
        "action": data["action"],
    }
    for key in ("event_id", "timestamp", "content", "metrics", "provenance", "extensions"):
        value = data.get(key)
        if value is not None:
            kwargs[key] = value
    if "hilt_version" in data:
        kwargs["hilt_version"] = str(data["hilt_version"])
    else:
        kwargs["hilt_version"] = "0.2"  # lines of hilt-python 0.2.8 carry no version
    return Event(**kwargs)


def _default(obj: Any) -> Any:
    # Application metadata may hold anything; a log line must still be written.
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    return str(obj)


log = logging.getLogger("hilt")


_converter: OrjsonConverter | None = None


def _build_converter() -> OrjsonConverter:
    # Built on first use: writing events never needs it (see event_dict / dumps), and
    # importing cattrs would add to every application's start-up.
    from cattrs.preconf.orjson import make_converter

    conv = make_converter()
    conv.register_unstructure_hook(Event, event_dict)
    conv.register_unstructure_hook(Actor, _actor_dict)
    conv.register_unstructure_hook(Content, _content_dict)
    conv.register_unstructure_hook(Metrics, _metrics_dict)
    conv.register_structure_hook(Event, _structure_event)
    conv.register_structure_hook(Actor, lambda d, _t: Actor(**d))
    conv.register_structure_hook(Content, lambda d, _t: Content(**d))
    conv.register_structure_hook(Metrics, lambda d, _t: Metrics(**d))
    conv.register_structure_hook(datetime, lambda v, _t: datetime.fromisoformat(v))
    return conv


_OPTS = orjson.OPT_APPEND_NEWLINE
# Application metadata may have non-string keys; orjson handles them only with an option
# that slows every line down, so it is used on the rare line that needs it.
_OPTS_ANY_KEYS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def converter() -> OrjsonConverter:
    """The converter every HILT component uses (plugins included)."""
    global _converter
    if _converter is None:
        _converter = _build_converter()
    return _converter


def dumps(event: Event) -> bytes:
    """One log line: the event as UTF-8 JSON, ending with a newline. Never raises (see the
    module's docstring): an event that cannot be written as it is comes out repaired."""
    try:
        return orjson.dumps(event_dict(event, iso_timestamp=False), default=_default, option=_OPTS)
    except Exception:
        return _dumps_slow(event)


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
        line = orjson.dumps(_repair(obj, "", notes, 0), option=_OPTS)
    except Exception as exc:  # a bug in the repair: still one line, never an exception
        _warn_unencodable(exc)
        return orjson.dumps({"hilt_unencodable": type(exc).__name__}, option=_OPTS)
    _warn_repaired(notes)
    return line


# -- the slow path: repair what cannot be written as it is -------------------------------

_MAX_DEPTH = 100  # orjson stops at 255; far deeper than any real event
_MAX_NOTES = 10
_INT_RANGE = (-(1 << 63), (1 << 64) - 1)  # what orjson writes (and reads back exactly)


def _dumps_slow(event: Event) -> bytes:
    notes: list[str] = []
    try:
        d = event_dict(event)
        fixed = _repair(d, "", notes, 0)
        if notes:
            ext = fixed.get("extensions")
            ext = dict(ext) if isinstance(ext, dict) else {}
            ext["hilt_repaired"] = [*ext.get("hilt_repaired", ()), *notes]
            fixed["extensions"] = ext
        line = orjson.dumps(fixed, option=_OPTS)
    except Exception as exc:
        _warn_unencodable(exc)
        return _placeholder(event, exc)
    _warn_repaired(notes)
    return line


def _finite_metrics(metrics: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    # JSON has no NaN or infinity: an unknown measure is left out, as the format says.
    for key, value in list(metrics.items()):
        if isinstance(value, float) and not math.isfinite(value):
            del metrics[key]
            _note(notes, f"metrics.{key}: {value} left out")
    tokens = metrics.get("tokens")
    if isinstance(tokens, dict):
        for key, value in list(tokens.items()):
            if isinstance(value, float) and not math.isfinite(value):
                tokens = {k: v for k, v in tokens.items() if k != key}
                metrics["tokens"] = tokens
                _note(notes, f"metrics.tokens.{key}: {value} left out")
    return metrics


def _note(notes: list[str], text: str) -> None:
    if len(text) > 160:  # the path into something nested thousands deep
        text = f"{text[:70]}...{text[-80:]}"
    if len(notes) < _MAX_NOTES:
        notes.append(text)
    elif len(notes) == _MAX_NOTES:
        notes.append("(more changes not listed)")


def _text(s: str, where: str, notes: list[str]) -> str:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        # A pair of surrogates becomes the character it encodes (an emoji split by a
        # decoder); a lone one (an emoji cut in half by max_tokens) becomes U+FFFD.
        _note(notes, f"{where or 'text'}: lone surrogates replaced by U+FFFD")
        return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return s


def _repair(obj: Any, where: str, notes: list[str], depth: int) -> Any:
    """A copy of ``obj`` made only of what JSON can hold, each change noted."""
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return _text(str.__str__(obj), where, notes)
    if isinstance(obj, int):
        value = int.__index__(obj)
        if _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            return value
        _note(notes, f"{where}: integer beyond 64 bits written as a string")
        return str(value)
    if isinstance(obj, float):
        return float.__float__(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (date, dt_time)):
        return obj.isoformat()
    if depth >= _MAX_DEPTH:
        _note(notes, f"{where}: nested deeper than {_MAX_DEPTH} levels, left out")
        return "[HILT: nested too deep]"
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in list(obj.items()):
            key = _text(k, where, notes) if isinstance(k, str) else _leaf_text(k, where, notes)
            out[key] = _repair(v, f"{where}.{key}" if where else key, notes, depth + 1)
        return out
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_repair(v, f"{where}[{i}]", notes, depth + 1) for i, v in enumerate(obj)]
    # Anything else as orjson writes it (dataclasses, UUIDs, enums, numpy), or its text.
    try:
        plain = orjson.loads(orjson.dumps(obj, default=_default))
    except Exception:
        return _leaf_text(obj, where, notes)
    return _repair(plain, where, notes, depth + 1)


def _leaf_text(obj: Any, where: str, notes: list[str]) -> str:
    try:
        return _text(str(obj), where, notes)
    except Exception as exc:
        name = type(obj).__qualname__
        _note(notes, f"{where}: a {name} that cannot be written ({type(exc).__name__})")
        return f"<unrepresentable {name}>"


def _placeholder(event: Event, exc: BaseException) -> bytes:
    """The line of an event that could not even be repaired: what identifies it, kept."""

    def text(value: Any, default: str) -> str:
        if isinstance(value, str) and value:
            try:
                return _text(str.__str__(value), "", [])
            except Exception:
                pass
        return default

    from hilt_core.ids import new_event_id

    try:
        ts = event.timestamp.astimezone(UTC).isoformat()
    except Exception:
        ts = datetime.now(UTC).isoformat()
    line: dict[str, Any] = {
        "hilt_version": HILT_VERSION,
        "event_id": text(getattr(event, "event_id", None), "") or new_event_id(),
        "timestamp": ts,
        "session_id": text(getattr(event, "session_id", None), "hilt"),
        "actor": {"type": "system", "id": "hilt"},
        "action": "system",
        "content": {"text": "HILT could not write this event; it was replaced by this line"},
        "extensions": {
            "error_code": "hilt_unencodable",
            "error_type": type(exc).__name__,
            "replaced_action": text(getattr(event, "action", None), "unknown"),
        },
    }
    return orjson.dumps(line, option=_OPTS)


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


def _warn_repaired(notes: list[str]) -> None:
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


def _warn_unencodable(exc: BaseException) -> None:
    log.error(
        "HILT could not write an event at all (%s: %s); it was replaced by a line with "
        "extensions.error_code 'hilt_unencodable' that keeps its event_id",
        type(exc).__name__,
        exc,
    )


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


__all__ = ["converter", "dumps", "dumps_obj", "event_dict", "loads"]
