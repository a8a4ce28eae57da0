"""The one cattrs converter of the HILT format, and the JSON encoding of log lines.

Unstructuring is written out by hand for :class:`Event` because it runs for every event
the writer thread stores: it omits ``None`` fields (as 0.2.8 did) and lifts the ``extra``
keys of Content and Metrics to the level where they are written. Structuring accepts
lines of hilt-python 0.2.8 (``cost_usd`` as a string, ``cost_usd_display``, uuid4 ids).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

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


def _metrics_dict(m: Metrics) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if m.tokens is not None:
        d["tokens"] = m.tokens
    if m.cost_usd is not None:
        d["cost_usd"] = m.cost_usd
    if m.latency_ms is not None:
        d["latency_ms"] = m.latency_ms
    if m.extra:
        d.update(m.extra)
    return d


def event_dict(e: Event, *, iso_timestamp: bool = True) -> dict[str, Any]:
    """The dict of one log line; ``iso_timestamp=False`` leaves the datetime for orjson."""
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
    if e.metrics is not None:
        d["metrics"] = _metrics_dict(e.metrics)
    if e.provenance:
        d["provenance"] = e.provenance
    if e.extensions:
        d["extensions"] = e.extensions
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
    """One log line: the event as UTF-8 JSON, ending with a newline."""
    return dumps_obj(event_dict(event, iso_timestamp=False))


def dumps_obj(obj: Any) -> bytes:
    """Any JSON-ready object as one newline-terminated line (filtered column rows...)."""
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS)
    except TypeError:
        pass
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS_ANY_KEYS)
    except TypeError:
        pass
    # Keys orjson cannot write at all (tuples...), integers beyond 64 bits: one odd line
    # must never block the batch it is in. The standard library writes anything as text.
    import json

    return json.dumps(_text_keys(obj), default=_default, ensure_ascii=False).encode() + b"\n"


def _text_keys(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k if isinstance(k, str) else str(k): _text_keys(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_text_keys(v) for v in obj]
    return obj


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


__all__ = ["converter", "dumps", "dumps_obj", "event_dict", "loads"]
