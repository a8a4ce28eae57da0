"""Where an event carries text: the one list that capture modes, redactors and the
fail-closed strip all walk, so that none of them can miss a field the others cover.

Text-bearing (transformed by redactors and ``hash``, removed by ``metadata``):

- ``content``: ``text``, ``images``, ``metadata`` and every extra key (``messages``,
  ``parts``, ``tool_calls``, ``refusal``, ...);
- ``actor.name`` and ``actor.metadata``;
- ``provenance``;
- ``extensions``: every key not kept (:data:`hilt_core.vocab.KEPT_EXTENSION_KEYS`: the
  format's identifiers and labels, and the keys plugins declared) whose value holds a
  string: ``metadata`` (what ``hilt.scope(**metadata)`` stamps), ``tool_calls``,
  ``error_message``, ``request``, ... and keys HILT does not know (numbers and booleans
  are kept: ``tool_calls: 2`` is a count). The keys of :data:`TEXT_EXTENSION_KEYS` hold
  LLM message structures, whose roles and ids are kept.

Never text (kept as they are in every mode): ``event_id``, ``timestamp``, ``session_id``,
``action``, ``actor.type`` / ``actor.id``, ``metrics``, and the identifiers and labels of
:data:`KEPT_EXTENSION_KEYS` (``reply_to``, ``model``, ``status_code``, ``user_id``, ``tags``,
...). Dict keys are kept; only values change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from hilt_core.model import Content, Event
from hilt_core.vocab import KEPT_EXTENSION_KEYS, TEXT_EXTENSION_KEYS

# Which extension keys are text and which are kept is defined once, in hilt_core.vocab
# (with the keys plugins declare through HILT_EXTENSION_KEYS).
# Inside LLM message structures these keys hold roles, kinds and ids, not text; their
# values are kept when they look like an identifier (an e-mail there is still text).
STRUCTURAL_KEYS = frozenset({"role", "type", "id", "tool_call_id", "call_id", "status", "index"})
_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:-]{1,64}")

TextFn = Callable[[str], str]
_Setter = Callable[[Any], None]
_DROP = object()


def _has_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(_has_text(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_has_text(v) for v in value)
    return not isinstance(value, (int, float, bool, type(None)))


def _slots(event: Event) -> Iterator[tuple[str, Any, _Setter, bool]]:
    """Yield ``(path, value, set, structured)`` for each text-bearing field present.

    ``set(_DROP)`` removes the field. ``structured`` fields hold LLM message structures,
    where :data:`STRUCTURAL_KEYS` are not text.
    """
    content = event.content
    if content is not None:
        if content.text is not None:
            yield "content.text", content.text, lambda v: setattr(content, "text", v), False
        if content.images is not None:
            yield "content.images", content.images, lambda v: setattr(content, "images", v), True
        if content.metadata is not None:
            yield (
                "content.metadata",
                content.metadata,
                lambda v: setattr(content, "metadata", v),
                False,
            )
        extra = content.extra
        for key in list(extra):
            yield f"content.{key}", extra[key], _dict_setter(extra, key), True
    actor = event.actor
    if actor.name is not None:
        yield "actor.name", actor.name, lambda v: setattr(actor, "name", v), False
    if actor.metadata is not None:
        yield "actor.metadata", actor.metadata, lambda v: setattr(actor, "metadata", v), False
    if event.provenance is not None:
        yield "provenance", event.provenance, lambda v: setattr(event, "provenance", v), False
    ext = event.extensions
    if ext:
        for key in list(ext):
            value = ext[key]
            if key in KEPT_EXTENSION_KEYS:
                continue
            if _has_text(value):  # a count such as tool_calls=2 is not text
                structured = key in TEXT_EXTENSION_KEYS and key != "metadata"
                yield f"extensions.{key}", value, _dict_setter(ext, key), structured


def _dict_setter(holder: dict[str, Any], key: str) -> _Setter:
    def set_(value: Any) -> None:
        if value is _DROP:
            holder.pop(key, None)
        else:
            holder[key] = value

    return set_


def _own(event: Event, content: bool = True) -> None:
    """Give ``event`` its own actor, content and extensions before they are changed: an
    application may share one ``Actor`` or one extensions dict between many events, and
    hashing a shared object would hash it again for the next event."""
    actor = event.actor
    if actor.name is not None or actor.metadata is not None:
        event.actor = attrs.evolve(actor)
    c = event.content
    if content and c is not None:
        event.content = Content(c.text, c.images, c.metadata, **c.extra)
    if event.extensions is not None:
        event.extensions = dict(event.extensions)


def text_fields(event: Event) -> list[str]:
    """The paths of the text-bearing fields ``event`` has (``"content.text"``, ...)."""
    return [path for path, _value, _set, _structured in _slots(event)]


def map_text(event: Event, fn: TextFn) -> None:
    """Replace every string in every text-bearing field of ``event`` by ``fn(string)``.

    Containers are rebuilt, never changed in place: an application's objects (the
    metadata of ``hilt.scope``, shared by every event of the scope; an ``Actor`` reused
    for every event) are left as they were; only ``event`` itself changes. Values
    that are not JSON types are turned into text first, as the JSON encoder would.
    """
    _own(event)
    for _path, value, set_, structured in list(_slots(event)):
        set_(_map(value, fn, structured))


def _map(value: Any, fn: TextFn, structured: bool) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if structured and k in STRUCTURAL_KEYS and _is_identifier(v):
                out[k] = v
            else:
                out[k] = _map(v, fn, structured)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [_map(v, fn, structured) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _map(dump(mode="json"), fn, structured)
    return fn(str(value))


def _is_identifier(value: Any) -> bool:
    if isinstance(value, bool | int | float) or value is None:
        return True
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def drop_text(event: Event) -> list[str]:
    """Remove every text-bearing field of ``event``; return the paths removed.

    ``content`` goes entirely (every part of it is text-bearing).
    """
    _own(event, content=False)  # content goes whole: no need to copy it first
    removed: list[str] = []
    for path, _value, set_, _structured in list(_slots(event)):
        removed.append(path)
        if not path.startswith("content."):
            if path in ("actor.name", "actor.metadata", "provenance"):
                set_(None)
            else:
                set_(_DROP)
    event.content = None
    return removed
