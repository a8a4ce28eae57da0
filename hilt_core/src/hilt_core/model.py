"""The HILT event model (format v1): small attrs classes, converted by one cattrs converter.

The field names and places are those of hilt-python 0.2.8, so its users' code keeps
working: ``Event(session_id=..., actor=Actor(type="human", id="u1"), action="prompt",
content=Content(text="hi"))``, dicts accepted for ``actor`` / ``content`` / ``metrics``,
``to_dict()`` / ``to_json()`` / ``from_dict()`` / ``from_json()``.

The dict of a log line is built here too (:func:`event_dict`, :func:`dumps`), with the
one cattrs converter of the format (:func:`converter`); :mod:`hilt_core.convert` turns
dicts into JSON and knows nothing of these classes.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from hilt_core.convert import (
    clean_text,
    dumps_fast,
    dumps_obj,
    loads,
    note,
    repair,
    warn_repaired,
    warn_unencodable,
)
from hilt_core.errors import ValidationError
from hilt_core.ids import new_event_id
from hilt_core.values import as_utc, parse_cost, parse_timestamp

if TYPE_CHECKING:
    from cattrs.preconf.orjson import OrjsonConverter

HILT_VERSION = "1.1"  # 1.1 added the actions run and step; 1.0 lines read the same

ACTIONS = frozenset(
    {
        "prompt",
        "completion",
        "completion_chunk",
        "retrieval",
        "tool_call",
        "tool_result",
        "system",
        "feedback",
        # Since 1.1: a framework's run (a LangGraph graph, a chain) and one step of it.
        "run",
        "step",
    }
)
ACTOR_TYPES = frozenset({"human", "agent", "tool", "system"})


def _check_actor_type(_inst: Any, _attr: Any, value: str) -> None:
    if value not in ACTOR_TYPES:
        raise ValidationError(f"Invalid actor type {value!r}. Allowed types: {sorted(ACTOR_TYPES)}")


def _check_action(_inst: Any, _attr: Any, value: str) -> None:
    if value not in ACTIONS:
        raise ValidationError(f"Invalid action {value!r}. Allowed actions: {sorted(ACTIONS)}")


@attrs.define(slots=True)
class Actor:
    """Who speaks: ``type`` is one of human, agent, tool, system; ``id`` names it."""

    type: str = attrs.field(validator=_check_actor_type)
    id: str
    name: str | None = None
    metadata: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _actor_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return converter().structure(data, cls)


class _Extra:
    """What Content and Metrics share: keys beyond their fields are kept in ``extra`` and
    read like attributes, as pydantic's extra="allow" did in 0.2.8, whose spelling of
    ``to_dict()`` was ``model_dump()``."""

    __slots__ = ()  # the attrs subclasses stay slotted: no __dict__
    extra: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not fields.
        try:
            return self.extra[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def model_dump(self, exclude_none: bool = True) -> dict[str, Any]:
        """0.2.8 (pydantic) spelling of :meth:`to_dict`."""
        return self.to_dict()


@attrs.define(slots=True, init=False)
class Content(_Extra):
    """What was said. ``text`` is the main text; other keys (``parts``, ``tool_calls``,
    ``hash``, ...) are kept in ``extra`` and written beside it, as 0.2.8 allowed."""

    text: str | None = None
    images: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    def __init__(
        self,
        text: str | None = None,
        images: list[Any] | None = None,
        metadata: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self.__attrs_init__(text, images, metadata, extra)

    @classmethod
    def trusted(cls, text: str | None, extra: dict[str, Any] | None = None) -> Content:
        """``Content(text, **extra)`` for provider plugins on the hot path: ``extra`` (keys
        other than ``text``, ``images``, ``metadata``) is taken as is, not copied."""
        self = _new(cls)
        _set_c_text(self, text)
        _set_c_images(self, None)
        _set_c_metadata(self, None)
        _set_c_extra(self, extra if extra is not None else {})
        return self

    def to_dict(self) -> dict[str, Any]:
        return _content_dict(self)


@attrs.define(slots=True, init=False)
class Metrics(_Extra):
    """Measured numbers: ``tokens`` (prompt, completion, total, cached, reasoning),
    ``cost_usd`` (a number, or absent when unknown), ``latency_ms``; other keys in
    ``extra`` (``ttft_ms``, ``cost_source``, ...)."""

    tokens: dict[str, int] | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    def __init__(
        self,
        tokens: dict[str, int] | None = None,
        cost_usd: float | str | None = None,
        latency_ms: float | None = None,
        **extra: Any,
    ) -> None:
        self.__attrs_init__(tokens, parse_cost(cost_usd), latency_ms, extra)

    @classmethod
    def trusted(
        cls, tokens: dict[str, int] | None, latency_ms: float | None, extra: dict[str, Any]
    ) -> Metrics:
        """``Metrics(tokens=..., latency_ms=..., **extra)`` with no cost, for provider
        plugins on the hot path (``extra`` is taken as is, not copied)."""
        self = _new(cls)
        _set_m_tokens(self, tokens)
        _set_m_cost(self, None)
        _set_m_latency(self, latency_ms)
        _set_m_extra(self, extra)
        return self

    def to_dict(self) -> dict[str, Any]:
        return _metrics_dict(self)


def _as_actor(value: Actor | dict[str, Any]) -> Actor:
    if isinstance(value, Actor):
        return value
    if isinstance(value, dict):
        return Actor(
            type=value["type"],
            id=value["id"],
            name=value.get("name"),
            metadata=value.get("metadata"),
        )
    raise ValidationError("actor must be an Actor or a mapping")


def _as_content(value: Content | dict[str, Any] | None) -> Content | None:
    if value is None or isinstance(value, Content):
        return value
    if isinstance(value, dict):
        return Content(**value)
    raise ValidationError("content must be Content, a mapping, or None")


def _as_metrics(value: Metrics | dict[str, Any] | None) -> Metrics | None:
    if value is None or isinstance(value, Metrics):
        return value
    if isinstance(value, dict):
        return Metrics(**value)
    raise ValidationError("metrics must be Metrics, a mapping, or None")


def _as_timestamp(value: datetime | str) -> datetime:
    # Lines are always written in UTC (see hilt_core.values).
    if isinstance(value, str):
        return parse_timestamp(value)
    if isinstance(value, datetime):
        return as_utc(value)
    raise ValidationError("timestamp must be a datetime or an ISO 8601 string")


def utcnow() -> datetime:
    return datetime.now(UTC)


@attrs.define(slots=True, kw_only=True)
class Event:
    """One line of a HILT log: a prompt, a completion, an error, a tool call, feedback...

    ``session_id`` is the conversation id. ``extensions`` holds ``reply_to`` (the
    event_id this one answers), ``model``, ``status_code`` and other provider fields.
    """

    event_id: str = attrs.field(factory=new_event_id)
    timestamp: datetime = attrs.field(factory=utcnow, converter=_as_timestamp)
    session_id: str
    actor: Actor = attrs.field(converter=_as_actor)
    action: str = attrs.field(validator=_check_action)
    content: Content | None = attrs.field(default=None, converter=_as_content)
    metrics: Metrics | None = attrs.field(default=None, converter=_as_metrics)
    provenance: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None
    hilt_version: str = HILT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The event as the JSON-ready dict written on a log line."""
        return event_dict(self)

    def to_json(self) -> str:
        return dumps(self)[:-1].decode("utf-8")

    @classmethod
    def trusted(
        cls,
        session_id: str,
        actor: Actor,
        action: str,
        content: Content | None = None,
        metrics: Metrics | None = None,
        extensions: dict[str, Any] | None = None,
        timestamp: datetime | None = None,
        event_id: str | None = None,
    ) -> Event:
        """Build an event from values already of the right types (an ``Actor``, a
        ``Content``, an action from ``ACTIONS``, a UTC ``datetime``), skipping the
        converters and validators of ``Event(...)``. For provider plugins on the
        application's hot path; everyone else should call ``Event(...)``."""
        self = _new(cls)
        # The slots' own setters: no converters, no validators, no attrs __setattr__.
        _set_event_id(self, event_id if event_id is not None else new_event_id())
        _set_timestamp(self, timestamp if timestamp is not None else datetime.now(UTC))
        _set_session_id(self, session_id)
        _set_actor(self, actor)
        _set_action(self, action)
        _set_content(self, content)
        _set_metrics(self, metrics)
        _set_provenance(self, None)
        _set_extensions(self, extensions)
        _set_hilt_version(self, HILT_VERSION)
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Read a v1 line, or a line written by hilt-python 0.2.8."""
        return converter().structure(data, cls)

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        return cls.from_dict(loads(text))


_new = object.__new__
(
    _set_event_id,
    _set_timestamp,
    _set_session_id,
    _set_actor,
    _set_action,
    _set_content,
    _set_metrics,
    _set_provenance,
    _set_extensions,
    _set_hilt_version,
) = (getattr(Event, a.name).__set__ for a in attrs.fields(Event))
_set_c_text, _set_c_images, _set_c_metadata, _set_c_extra = (
    getattr(Content, a.name).__set__ for a in attrs.fields(Content)
)
_set_m_tokens, _set_m_cost, _set_m_latency, _set_m_extra = (
    getattr(Metrics, a.name).__set__ for a in attrs.fields(Metrics)
)


# -- the dict of a log line ---------------------------------------------------------------
# Written out by hand because it runs for every event the writer thread stores: it omits
# ``None`` fields (as 0.2.8 did) and lifts the ``extra`` keys of Content and Metrics to
# the level where they are written.
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
        warn_repaired(notes)
    return d


def dumps(event: Event) -> bytes:
    """One log line: the event as UTF-8 JSON, ending with a newline.

    Never raises: one event that cannot be written as it is (a lone surrogate in a text,
    metadata nested thousands deep, an object whose ``__str__`` raises, a NaN metric) must
    not stop the batch it is in, nor every batch after it. Such an event is repaired on a
    slow path, its line marked with ``extensions.hilt_repaired`` (what was changed), and a
    warning is logged; an event that cannot even be repaired is replaced by a ``system``
    line with ``error_code == "hilt_unencodable"`` that keeps its ``event_id``."""
    try:
        return dumps_fast(event_dict(event, iso_timestamp=False))
    except Exception:
        return _dumps_slow(event)


def _dumps_slow(event: Event) -> bytes:
    notes: list[str] = []
    try:
        d = event_dict(event)
        fixed = repair(d, notes)
        if notes:
            ext = fixed.get("extensions")
            ext = dict(ext) if isinstance(ext, dict) else {}
            ext["hilt_repaired"] = [*ext.get("hilt_repaired", ()), *notes]
            fixed["extensions"] = ext
        line = dumps_fast(fixed)
    except Exception as exc:
        warn_unencodable(exc)
        return _placeholder(event, exc)
    warn_repaired(notes)
    return line


def _finite_metrics(metrics: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    # JSON has no NaN or infinity: an unknown measure is left out, as the format says.
    for key, value in list(metrics.items()):
        if isinstance(value, float) and not math.isfinite(value):
            del metrics[key]
            note(notes, f"metrics.{key}: {value} left out")
    tokens = metrics.get("tokens")
    if isinstance(tokens, dict):
        for key, value in list(tokens.items()):
            if isinstance(value, float) and not math.isfinite(value):
                tokens = {k: v for k, v in tokens.items() if k != key}
                metrics["tokens"] = tokens
                note(notes, f"metrics.tokens.{key}: {value} left out")
    return metrics


def _placeholder(event: Event, exc: BaseException) -> bytes:
    """The line of an event that could not even be repaired: what identifies it, kept."""

    def text(value: Any, default: str) -> str:
        if isinstance(value, str) and value:
            try:
                return clean_text(str.__str__(value), "", [])
            except Exception:
                pass
        return default

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
    return dumps_obj(line)


# -- reading a line back ------------------------------------------------------------------
_converter: OrjsonConverter | None = None


def _build_converter() -> OrjsonConverter:
    # Built on first use: writing events never needs it (see event_dict / dumps), and
    # importing cattrs would add to every application's start-up.
    from cattrs.gen import make_dict_structure_fn
    from cattrs.preconf.orjson import make_converter

    # prefer_attrib_converters: the classes' own converters read ``actor``, ``content``,
    # ``metrics`` (0.2.8's string costs) and ``timestamp``, as Event(...) does. Plain
    # errors (a KeyError for a missing field), not cattrs' exception groups.
    conv = make_converter(prefer_attrib_converters=True, detailed_validation=False)
    conv.register_unstructure_hook(Event, event_dict)
    conv.register_unstructure_hook(Actor, _actor_dict)
    conv.register_unstructure_hook(Content, _content_dict)
    conv.register_unstructure_hook(Metrics, _metrics_dict)
    # Content and Metrics keep unknown keys (``extra``), which a generated hook would drop.
    conv.register_structure_hook(Content, lambda d, _t: Content(**d))
    conv.register_structure_hook(Metrics, lambda d, _t: Metrics(**d))
    conv.register_structure_hook(datetime, lambda v, _t: parse_timestamp(v))
    # Application metadata is JSON already: taken as it is, not copied key by key.
    conv.register_structure_hook(dict[str, Any] | None, lambda v, _t: v)
    generated = make_dict_structure_fn(Event, conv)

    def structure_event(data: Any, cls: Any) -> Event:
        if not isinstance(data, dict):
            raise TypeError(f"an event must be a JSON object, got {type(data).__name__}")
        if None in data.values():  # an unknown value left as null: as if left out
            data = {k: v for k, v in data.items() if v is not None}
        event = generated(data, cls)
        if "hilt_version" not in data:
            event.hilt_version = "0.2"  # lines of hilt-python 0.2.8 carry no version
        return event

    conv.register_structure_hook(Event, structure_event)
    return conv


def converter() -> OrjsonConverter:
    """The one cattrs converter of the HILT format, for every HILT component (plugins
    included)."""
    global _converter
    if _converter is None:
        _converter = _build_converter()
    return _converter


__all__ = [
    "ACTIONS",
    "ACTOR_TYPES",
    "HILT_VERSION",
    "Actor",
    "Content",
    "Event",
    "Metrics",
    "converter",
    "dumps",
    "event_dict",
]
