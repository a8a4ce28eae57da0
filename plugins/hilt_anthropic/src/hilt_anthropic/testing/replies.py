"""What FakeAnthropic answers: a Messages reply planned from the request (or scripted by the
test), written out as a ``Message`` body or as the stream events of the Messages API.

Every body and event is validated by the installed ``anthropic`` package's own types and
dumped from them, so a field the installed SDK requires and the fake forgot fails loudly.
Usage carries only the fields the installed SDK declares (``output_tokens_details`` appears
only when ``Usage`` has it); the fields of a scripted ``usage`` replace the computed ones
and are sent even when the SDK does not declare them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from anthropic import BaseModel
from anthropic.types import (
    Message,
    MessageDeltaUsage,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    Usage,
)

from hilt_core.testing.loopback import split, words

JSON = dict[str, Any]
Event = tuple[str, JSON]  # (SSE event name, data)

_EVENT_CLASSES: dict[str, type[BaseModel]] = {
    "message_start": RawMessageStartEvent,
    "content_block_start": RawContentBlockStartEvent,
    "content_block_delta": RawContentBlockDeltaEvent,
    "content_block_stop": RawContentBlockStopEvent,
    "message_delta": RawMessageDeltaEvent,
    "message_stop": RawMessageStopEvent,
}


def wire(model: type[BaseModel], data: JSON) -> JSON:
    """Validate ``data`` with an SDK type and return the wire form of the fields we set."""
    obj = model.model_validate(data)
    return obj.model_dump(mode="json", exclude_unset=True, by_alias=True)


def declared(model: type[BaseModel], data: JSON) -> JSON:
    """The entries of ``data`` that ``model`` declares as fields."""
    return {k: v for k, v in data.items() if k in model.model_fields}


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def signature(thinking: str) -> str:
    """A stand-in for the opaque signature the API puts on a thinking block."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest() * 2).decode()


# -- reading the request -----------------------------------------------------------------------


def _texts(content: Any) -> Iterator[str]:
    """The text of a message's content: a string, or the text found in its blocks."""
    if isinstance(content, str):
        yield content
        return
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("text", "thinking") and isinstance(block.get(kind), str):
            yield block[kind]
        elif kind == "tool_result":
            yield from _texts(block.get("content"))
        elif kind == "tool_use":
            yield json.dumps(block.get("input") or {})


def last_user_text(body: JSON) -> str:
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return " ".join(_texts(msg.get("content")))
    return ""


def input_tokens(body: JSON) -> int:
    """Word count of the system prompt and every message (the fake's notion of a token)."""
    parts = list(_texts(body.get("system")))
    for msg in body.get("messages") or []:
        if isinstance(msg, dict):
            parts.extend(_texts(msg.get("content")))
    return sum(map(words, parts))


def schema_default(schema: Any, depth: int = 0) -> Any:
    """A trivial instance of a tool's ``input_schema``: each property its type's default."""
    if not isinstance(schema, dict) or depth > 16:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key) or [] if o.get("type") != "null"]
        if options:
            return schema_default(options[0], depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: schema_default(v, depth + 1) for k, v in props.items()}
    defaults = {"string": "x", "integer": 1, "number": 1.0, "boolean": True, "array": []}
    return defaults.get(kind) if isinstance(kind, str) else None


# -- the reply -----------------------------------------------------------------------------------


@dataclass
class Reply:
    """One Messages reply before it is written out."""

    model: str
    content: list[JSON]
    stop_reason: str | None
    stop_sequence: str | None
    usage: JSON
    id: str = field(default_factory=lambda: new_id("msg_"))


@dataclass(frozen=True)
class Script:
    """A reply a test queued with :meth:`FakeAnthropic.reply_next`."""

    content: tuple[JSON | str, ...] = ()
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: JSON | None = None
    model: str | None = None


def complete_block(block: JSON | str) -> JSON:
    """A scripted block with the fields a test may leave out filled in."""
    if isinstance(block, str):
        return {"type": "text", "text": block}
    block = dict(block)
    kind = block.get("type")
    if kind == "tool_use":
        block.setdefault("id", new_id("toolu_"))
        block.setdefault("input", {})
    elif kind == "thinking":
        block.setdefault("signature", signature(str(block.get("thinking", ""))))
    return block


def _auto_content(body: JSON) -> tuple[list[JSON], str, str | None]:
    """(content, stop_reason, stop_sequence) for an unscripted request."""
    user = last_user_text(body)
    text = "Echo: " + user
    content: list[JSON] = []
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        thought = "Thinking about: " + user
        content.append({"type": "thinking", "thinking": thought, "signature": signature(thought)})

    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
    raw_choice = body.get("tool_choice")
    choice: JSON = raw_choice if isinstance(raw_choice, dict) else {}
    forced = choice.get("type") in ("any", "tool")
    if tools and choice.get("type") != "none" and (forced or "use tool" in user.lower()):
        if choice.get("type") == "tool":
            tools = [t for t in tools if t.get("name") == choice.get("name")] or tools
        tool = tools[0]
        call = {"type": "tool_use", "id": new_id("toolu_"), "name": str(tool.get("name")),
                "input": schema_default(tool["input_schema"]) or {}}  # fmt: skip
        if not forced:  # the model says something first unless the tool is forced
            content.append({"type": "text", "text": text})
        return [*content, call], "tool_use", None

    for stop in body.get("stop_sequences") or []:
        if isinstance(stop, str) and stop and stop in text:
            text = text[: text.index(stop)]
            return [*content, {"type": "text", "text": text}], "stop_sequence", stop
    limit = body.get("max_tokens")
    if isinstance(limit, int) and words(text) > limit:
        text = " ".join(text.split()[:limit])
        return [*content, {"type": "text", "text": text}], "max_tokens", None
    return [*content, {"type": "text", "text": text}], "end_turn", None


def output_counts(content: list[JSON]) -> tuple[int, int]:
    """(output tokens, of which thinking) of a reply's content, in words."""
    total = thinking = 0
    for block in content:
        kind = block.get("type")
        if kind == "thinking":
            n = words(str(block.get("thinking", "")))
            thinking += n
        elif kind == "redacted_thinking":
            n = 1
            thinking += n
        elif kind == "text":
            n = words(str(block.get("text", "")))
        else:
            n = words(json.dumps(block.get("input", {})))
        total += n
    return total, thinking


def plan(
    body: JSON, model: str, script: Script | None, cache_creation: int, cache_read: int
) -> Reply:
    """The reply to a Messages request: scripted when ``script`` is given, else computed."""
    content, stop_reason, stop_sequence = _auto_content(body)
    if script is not None and script.content:
        content = [complete_block(b) for b in script.content]
        has_tool = any(b.get("type") == "tool_use" for b in content)
        stop_reason, stop_sequence = ("tool_use" if has_tool else "end_turn"), None
    if script is not None:
        stop_reason = script.stop_reason or stop_reason
        stop_sequence = script.stop_sequence or stop_sequence
        model = script.model or model
    output, thinking = output_counts(content)
    usage: JSON = {
        "input_tokens": input_tokens(body),
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": cache_creation,
                           "ephemeral_1h_input_tokens": 0},
        "output_tokens": output,
        "service_tier": "standard",
    }  # fmt: skip
    if thinking:
        usage["output_tokens_details"] = {"thinking_tokens": thinking}
    usage = declared(Usage, usage)
    if script is not None and script.usage:
        usage.update(script.usage)
    return Reply(model, content, stop_reason, stop_sequence, usage)


# -- writing it out ----------------------------------------------------------------------------


def message_body(reply: Reply) -> JSON:
    return wire(Message, _message(reply, reply.content, reply.stop_reason, reply.stop_sequence,
                                  reply.usage))  # fmt: skip


def _message(
    reply: Reply, content: list[JSON], stop_reason: str | None, stop: str | None, usage: JSON
) -> JSON:
    return {"id": reply.id, "type": "message", "role": "assistant", "model": reply.model,
            "content": content, "stop_reason": stop_reason, "stop_sequence": stop,
            "usage": usage}  # fmt: skip


def _block_events(index: int, block: JSON, chunks: int) -> list[Event]:
    """content_block_start, its deltas, content_block_stop."""
    kind = block.get("type")
    start, deltas = block, []
    if kind == "text":
        start = {**block, "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split(block["text"], chunks)]
    elif kind == "thinking":
        start = {**block, "thinking": "", "signature": ""}
        pieces = split(str(block.get("thinking", "")), chunks)
        deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "tool_use":
        start = {**block, "input": {}}
        arguments = json.dumps(block.get("input", {}))
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in split(arguments, chunks)]
    # other blocks (redacted_thinking, server tool results, ...) arrive whole in their start
    return [
        ("content_block_start", {"type": "content_block_start", "index": index,
                                 "content_block": start}),
        *[("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
          for d in deltas],
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]  # fmt: skip


def stream_events(reply: Reply, chunks: int, message_deltas: int = 1) -> list[Event]:
    """The events of a streamed reply, each validated by its SDK type.

    ``message_start`` carries the input and cache counts and one output token;
    ``message_delta`` usage is cumulative: with ``message_deltas`` > 1 the earlier ones
    carry a growing part of ``output_tokens`` and no stop reason, the last one the totals.
    """
    usage = reply.usage
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens_details"}
    start_usage["output_tokens"] = min(1, int(usage.get("output_tokens", 0)))
    events: list[Event] = [
        ("message_start", {"type": "message_start",
                           "message": _message(reply, [], None, None, start_usage)}),
    ]  # fmt: skip
    for index, block in enumerate(reply.content):
        events.extend(_block_events(index, block, chunks))
    total = int(usage.get("output_tokens", 0))
    # MessageDeltaUsage's fields, plus what a test scripted beyond the SDK's Usage
    end_usage = {k: v for k, v in usage.items()
                 if k in MessageDeltaUsage.model_fields or k not in Usage.model_fields}  # fmt: skip
    n = max(1, message_deltas)
    for i in range(1, n + 1):
        last = i == n
        delta = {"stop_reason": reply.stop_reason if last else None,
                 "stop_sequence": reply.stop_sequence if last else None}  # fmt: skip
        part = end_usage if last else {"output_tokens": total * i // n}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": part}))
    events.append(("message_stop", {"type": "message_stop"}))
    return [(name, wire(_EVENT_CLASSES[name], data)) for name, data in events]
