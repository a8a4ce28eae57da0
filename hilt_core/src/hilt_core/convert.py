"""The JSON encoding of log lines: orjson, with fallbacks so that one odd value never
blocks the batch it is in.

It knows nothing of the event classes: :mod:`hilt_core.model` builds an event's dict and
hands it here (``hilt_core.dumps(event)``), and other line forms (the ``columns=`` rows, a
spill file's records) are written with :func:`dumps_obj` too.
"""

from __future__ import annotations

from typing import Any

import orjson


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


__all__ = ["dumps_obj", "loads"]
