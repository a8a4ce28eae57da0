"""Anthropic streams on the provider contract's StreamRecord.

A Messages stream is ``message_start`` (id, model, input and cache counts), then per
content block ``content_block_start``, its deltas and ``content_block_stop``, then
``message_delta`` (stop reason, usage) and ``message_stop``. Blocks come one after the
other, so what a delta belongs to is the last block started: the record keeps each block's
start and, after it, its deltas' strings (text, thinking, tool input JSON). Usage:
``message_start``'s, each ``message_delta``'s counts replacing (never added to) what came
before, as the SDK's own ``accumulate_event`` does.

The record keeps plain values, never the SDK's event objects, until the writer builds the
event: a block's start as a tuple of the few fields the event reads of it, the message's
model and id, each usage's counts in one flat tuple, the stop reason and sequence. An
event is a tree of pydantic models (a model, its field set, nested models), and holding
a stream's events across calls made the application's garbage collector run every few
streamed calls (docs/performance.md, "Objects in flight").

The same events come from ``messages.create(stream=True)``, the ``messages.stream()``
helper (whose ``MessageStream`` reads the SDK ``Stream`` HILT wraps), the beta surface and
Bedrock (AWS event-stream frames, decoded into the same events by the SDK).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from hilt_anthropic import extract
from hilt_anthropic.extract import get
from hilt_core.internal import internal_error
from hilt_core.provider import Call, Completion, StreamRecord


class AnthropicStream(StreamRecord):
    __slots__ = (
        "detail",
        "items",
        "model",
        "response_id",
        "stop_reason",
        "stop_sequence",
        "usages",
    )

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.items: list[Any] = []  # a tuple per block start (see _block), its deltas' strings
        self.model: Any = None  # message_start's message: model and id
        self.response_id: Any = None
        # message_start's usage, then each message_delta's: one flat tuple (see _usage)
        self.usages: tuple[Any, ...] = _NO_USAGE
        self.stop_reason: Any = None  # the last message_delta's
        self.stop_sequence: Any = None
        self.detail: str | None = None  # the provider's error type, when the stream failed

    def take(self, event: Any) -> bool:
        """Keep what the event needs of ``event``. Never raises: an event HILT cannot read
        is passed on untouched."""
        try:
            kind = event.type
            if kind == "content_block_delta":
                delta = event.delta
                dtype = delta.type
                if dtype == "text_delta":
                    piece = delta.text
                elif dtype == "thinking_delta":
                    piece = delta.thinking
                elif dtype == "input_json_delta":
                    piece = delta.partial_json
                else:  # signature, citations: nothing the event shows
                    return True
                if not self.t_first:
                    self.first_token()
                self.items.append(piece)
            elif kind == "content_block_start":
                if not self.t_first:
                    self.first_token()
                block = event.content_block
                try:
                    if getattr(block, "type", None) == "text" and getattr(block, "text", 0) == "":
                        kept: Any = _TEXT  # almost every text block starts so
                    else:
                        kept = _block(block)
                except Exception:
                    kept = block  # read (or reported) on the writer thread
                self.items.append(kept)
            elif kind == "message_start":
                message = event.message
                try:  # the SDK's Message
                    model, rid, usage = message.model, message.id, message.usage
                except AttributeError:
                    field = _reader(message)
                    model, rid, usage = field("model"), field("id"), field("usage")
                self.model, self.response_id = model, rid
                self.usages = _usage(usage) + self.usages[_STRIDE:]
            elif kind == "message_delta":
                delta = event.delta
                try:  # the SDK's Delta
                    self.stop_reason, self.stop_sequence = delta.stop_reason, delta.stop_sequence
                except AttributeError:
                    field = _reader(delta)
                    self.stop_reason = field("stop_reason")
                    self.stop_sequence = field("stop_sequence")
                self.usages += _usage(event.usage)
        except Exception:
            internal_error("read a stream event")
        return True

    def finish(self, how: str, exc: BaseException | None = None) -> None:
        if exc is not None and not self.done:
            try:
                self.detail = error_type(exc)
            except Exception:
                internal_error("read a stream error")
        super().finish(how, exc)

    def parts(self, how: str, info: dict[str, Any]) -> Completion:  # on the writer thread
        blocks: list[list[Any]] = []  # per block: its start, then its pieces
        current: list[Any] | None = None
        for item in self.items:
            if type(item) is str:
                if current is not None:
                    current.append(item)
                continue
            current = [item if type(item) is tuple else _block(item)]
            blocks.append(current)
        content = extract.content_blocks([_whole(b[0], "".join(b[1:])) for b in blocks])
        if self.stop_reason is None:
            info["partial"] = True
        found: Completion = {
            "content": content,
            "finish_reason": self.stop_reason,
            "tokens": self._tokens(),
            "model": self.model,
            "response_id": self.response_id,
            "stream": info,
        }
        ext: dict[str, Any] = {}  # each usage's labels replacing the last's
        flat = self.usages
        for at in range(0, len(flat), _STRIDE):
            tier, server = flat[at + 5 : at + _STRIDE]
            if server is not None:
                searches, fetches = server
                server = {"web_search_requests": searches, "web_fetch_requests": fetches}
            usage = {"service_tier": tier, "server_tool_use": server}
            ext.update(extract.usage_extensions(usage) or {})
        if self.stop_sequence is not None:
            ext["stop_sequence"] = self.stop_sequence
        if self.detail:
            ext["error_detail"] = self.detail
        if ext:
            found["extensions"] = ext
        return found

    def _tokens(self) -> dict[str, int] | None:
        # input, output, cache read, cache creation, thinking: each usage's replacing the
        # last's (cumulative counts: never added)
        counts: list[Any] = [None] * 5
        flat = self.usages
        for at in range(0, len(flat), _STRIDE):
            for i in range(5):
                value = flat[at + i]
                if value is not None:
                    counts[i] = value
        if counts[:4] == [None] * 4:
            return None
        return extract.merged_tokens(*counts)


# A usage as the values the event reads of it (extract.usage_tokens, usage_extensions), in
# one flat tuple: input, output, cache read and cache creation tokens, thinking tokens,
# service tier, and the server tool requests (web search, web fetch) as a pair or None.
# No usage reads as all None.
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens_details",
    "service_tier",
    "server_tool_use",
)
_STRIDE = len(_USAGE_FIELDS)
_NO_USAGE: tuple[Any, ...] = (None,) * _STRIDE


def _usage(usage: Any) -> tuple[Any, ...]:
    if usage is None:
        return _NO_USAGE
    values = tuple(map(_reader(usage), _USAGE_FIELDS))
    details, server = values[4], values[6]
    if details is None and server is None:
        return values
    if details is not None:
        details = _reader(details)("thinking_tokens")
    if server is not None:
        on_server = _reader(server)
        server = (on_server("web_search_requests"), on_server("web_fetch_requests"))
    return (*values[:4], details, values[5], server)


def _reader(obj: Any) -> Callable[[str], Any]:
    """A reader of ``obj``'s fields, None for a missing one, as :func:`extract.get` reads
    them, but fast on the application's thread: a pydantic model keeps its fields in its
    ``__dict__`` (and those the SDK does not declare in ``__pydantic_extra__``), and
    reading one the model lacks through ``getattr`` costs ~2 µs (pydantic raises an
    AttributeError: ``service_tier`` of a ``MessageDeltaUsage``)."""
    if type(obj) is dict:
        return obj.get
    extra: Any = getattr(obj, "__pydantic_extra__", _NOT_PYDANTIC)
    if extra is _NOT_PYDANTIC:  # a mapping, another object: extract.get reads it
        return partial(get, obj)
    fields: dict[str, Any] = obj.__dict__
    return {**extra, **fields}.get if extra else fields.get


_NOT_PYDANTIC = object()


_TOOL_KINDS = ("tool_use", "server_tool_use", "mcp_tool_use")
_TEXT = ("text", "")  # the start of almost every text block, kept without a new tuple
_THINKING = ("thinking", "")


def _block(block: Any) -> tuple[Any, ...]:
    """A content block's start as the values the event reads of it: its type and the
    text it starts with (text, thinking); a tool call's id, name and input; for the other
    blocks, which arrive whole, what :func:`extract.describe_block` reads (the source of
    an image or a document, the call a tool result answers)."""
    field = _reader(block)
    kind = field("type")
    if kind == "text":
        text = field("text")
        return _TEXT if text == "" else (kind, text)
    if kind == "thinking":
        text = field("thinking")
        return _THINKING if text == "" else (kind, text)
    if kind in _TOOL_KINDS:
        given = field("input")
        if type(given) is dict and not given:  # the usual start: {} (read back as {})
            given = None
        return (kind, field("id"), field("name"), given)
    if kind in ("image", "document"):
        source = field("source")
        if source is None:
            return (kind, None, None, None, None, field("title"))
        of_source = _reader(source)
        return (
            kind,
            of_source("type"),
            of_source("media_type"),
            of_source("url"),
            of_source("file_id"),
            field("title"),
        )
    if isinstance(kind, str) and kind.endswith("_tool_result"):
        return (kind, field("tool_use_id"))
    return (kind,)


def _whole(start: tuple[Any, ...], text: str) -> dict[str, Any]:
    """A block as its deltas made it (what the SDK's accumulated message would hold), in
    the fields :func:`extract.content_blocks` reads."""
    kind = start[0]
    if kind == "text":
        return {"type": "text", "text": (start[1] or "") + text}
    if kind == "thinking":
        return {"type": "thinking", "thinking": (start[1] or "") + text}
    if kind in _TOOL_KINDS:
        given = start[3]
        return {
            "type": kind,
            "id": start[1],
            "name": start[2],
            "input": text if text else (given if given is not None else {}),
        }
    # other blocks arrive whole in their start
    if kind in ("image", "document"):
        source = dict(zip(("type", "media_type", "url", "file_id"), start[1:5], strict=True))
        return {"type": kind, "source": source, "title": start[5]}
    if len(start) == 2:
        return {"type": kind, "tool_use_id": start[1]}
    return {"type": kind}


def error_type(exc: BaseException) -> str | None:
    """Anthropic's error type (``overloaded_error``, ``rate_limit_error``, ...) from an
    SDK error's body, as the API sends it: ``{"type": "error", "error": {"type": ...}}``."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            kind = inner.get("type")
            if isinstance(kind, str):
                return kind
        kind = body.get("type")
        if isinstance(kind, str) and kind != "error":
            return kind
    return None
