"""Anthropic streams on the provider contract's StreamRecord.

A Messages stream is ``message_start`` (id, model, input and cache counts), then per
content block ``content_block_start``, its deltas and ``content_block_stop``, then
``message_delta`` (stop reason, usage) and ``message_stop``. Blocks come one after the
other, so what a delta belongs to is the last block started: the record keeps each block's
start event and, after it, its deltas' strings (text, thinking, tool input JSON), not the
event objects. Usage: ``message_start``'s, each ``message_delta``'s counts replacing
(never added to) what came before, as the SDK's own ``accumulate_event`` does.

The same events come from ``messages.create(stream=True)``, the ``messages.stream()``
helper (whose ``MessageStream`` reads the SDK ``Stream`` HILT wraps), the beta surface and
Bedrock (AWS event-stream frames, decoded into the same events by the SDK).
"""

from __future__ import annotations

from typing import Any

from hilt_anthropic import extract
from hilt_core.internal import internal_error
from hilt_core.provider import Call, Completion, StreamRecord

_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


class AnthropicStream(StreamRecord):
    __slots__ = ("detail", "items", "message", "stop", "usages")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.items: list[Any] = []  # block start events, and the strings of their deltas
        self.message: Any = None  # message_start's message (id, model, usage)
        self.usages: list[Any] = []  # each message_delta's usage, in order
        self.stop: Any = None  # the last message_delta's delta (stop reason, sequence)
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
                self.items.append(event.content_block)
            elif kind == "message_start":
                self.message = event.message
            elif kind == "message_delta":
                self.stop = event.delta
                self.usages.append(event.usage)
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
        blocks: list[Any] = []
        current: dict[str, Any] | None = None
        for item in self.items:
            if type(item) is str:
                if current is not None:
                    current["pieces"].append(item)
                continue
            kind = extract.get(item, "type")
            current = {"type": kind, "block": item, "pieces": []}
            blocks.append(current)
        content = extract.content_blocks([_whole(b) for b in blocks])
        message = self.message
        stop_reason = extract.get(self.stop, "stop_reason") if self.stop is not None else None
        if stop_reason is None:
            info["partial"] = True
        found: Completion = {
            "content": content,
            "finish_reason": stop_reason,
            "tokens": self._tokens(),
            "model": extract.get(message, "model") if message is not None else None,
            "response_id": extract.get(message, "id") if message is not None else None,
            "stream": info,
        }
        start_usage = extract.get(message, "usage") if message is not None else None
        ext = extract.usage_extensions(start_usage) or {}
        for usage in self.usages:
            ext.update(extract.usage_extensions(usage) or {})
        stop = extract.get(self.stop, "stop_sequence") if self.stop is not None else None
        if stop is not None:
            ext["stop_sequence"] = stop
        if self.detail:
            ext["error_detail"] = self.detail
        if ext:
            found["extensions"] = ext
        return found

    def _tokens(self) -> dict[str, int] | None:
        start = extract.get(self.message, "usage") if self.message is not None else None
        counts: dict[str, Any] = {}
        thinking = None
        for usage in (start, *self.usages):
            if usage is None:
                continue
            for name in _USAGE_FIELDS:
                value = extract.get(usage, name)
                if value is not None:
                    counts[name] = value  # cumulative: replaces, never adds
            value = extract.thinking_tokens(usage)
            if value is not None:
                thinking = value
        if not counts:
            return None
        return extract.merged_tokens(
            counts.get("input_tokens"),
            counts.get("output_tokens"),
            counts.get("cache_read_input_tokens"),
            counts.get("cache_creation_input_tokens"),
            thinking,
        )


def _whole(block: dict[str, Any]) -> Any:
    """A block as its deltas made it (what the SDK's accumulated message would hold)."""
    kind = block["type"]
    start = block["block"]
    text = "".join(block["pieces"])
    if kind == "text":
        return {"type": "text", "text": (extract.get(start, "text") or "") + text}
    if kind == "thinking":
        return {"type": "thinking", "thinking": (extract.get(start, "thinking") or "") + text}
    if kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        given = extract.get(start, "input")
        return {
            "type": kind,
            "id": extract.get(start, "id"),
            "name": extract.get(start, "name"),
            "input": text if text else (given if given is not None else {}),
        }
    return start  # other blocks arrive whole in their start event


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
