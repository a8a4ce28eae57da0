"""LangChain values as a log reader sees them: messages as ``{"role", "text"}``, a run's
input as the new turn's text, a node's state update as its last message, anything else
as compact JSON.

Called on the application's thread when a run, step or tool ends, so that the events
hold plain values (never the application's objects, which it may change later).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import BaseMessage, convert_to_messages

TEXT_LIMIT = 4_000
"""Values that are not messages (a state's other keys, a chain's dict output) are written
as JSON cut to this many characters, ending with an ellipsis."""

_ROLES = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "function",
    "remove": "remove",
}


def role_of(message: BaseMessage) -> str:
    kind = str(getattr(message, "type", "")).lower()
    if kind in {"chat", "chatmessagechunk"}:
        return str(getattr(message, "role", "") or "chat")
    for prefix, role in _ROLES.items():
        if kind.startswith(prefix):
            return role
    return kind or "user"


def content_text(content: Any) -> str | None:
    """The text of a message content: a string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type", "text") == "text":
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts) if parts else None
    return None


def _arguments(args: Any) -> str:
    if isinstance(args, str):
        return args
    return json.dumps(args, ensure_ascii=False, default=str)


def tool_calls_of(message: BaseMessage) -> list[dict[str, Any]]:
    """An AI message's tool calls as HILT writes them: ``{"id", "name", "arguments"}``."""
    calls = getattr(message, "tool_calls", None) or []
    out = []
    for call in calls:
        if isinstance(call, Mapping):
            out.append(
                {
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "arguments": _arguments(call.get("args", {})),
                }
            )
    return out


def describe(message: BaseMessage) -> dict[str, Any]:
    """One message as ``{"role", "text"}`` (plus ``tool_calls``, ``tool_call_id``,
    ``name`` when it has them)."""
    out: dict[str, Any] = {"role": role_of(message), "text": content_text(message.content)}
    calls = tool_calls_of(message)
    if calls:
        out["tool_calls"] = calls
    call_id = getattr(message, "tool_call_id", None)
    if isinstance(call_id, str):
        out["tool_call_id"] = call_id
    name = getattr(message, "name", None)
    if isinstance(name, str) and name:
        out["name"] = name
    return out


def messages_in(value: Any) -> list[BaseMessage] | None:
    """The messages a value holds: a state's ``messages``, a list of messages (or of
    what LangChain reads as messages: tuples, dicts, strings), one message."""
    if isinstance(value, BaseMessage):
        return [value]
    if isinstance(value, Mapping):
        value = value.get("messages")
        if value is None:
            return None
        if isinstance(value, BaseMessage):
            return [value]
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or not value:
        return None
    if all(isinstance(m, BaseMessage) for m in value):
        return list(value)
    try:
        return list(convert_to_messages(value))
    except Exception:
        return None


def new_turn(messages: Sequence[BaseMessage]) -> Sequence[BaseMessage]:
    """The messages after the last assistant message."""
    for i in range(len(messages) - 1, -1, -1):
        if role_of(messages[i]) == "assistant":
            return messages[i + 1 :]
    return messages


def opening(messages: Sequence[BaseMessage]) -> tuple[str | None, str | None]:
    """(first system text, first user text): what the conversation-id rule digests."""
    system = user = None
    for m in messages:
        role = role_of(m)
        if role == "system" and system is None:
            system = content_text(m.content)
        elif role == "user":
            user = content_text(m.content)
            break
    return system, user


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseMessage):
        return describe(obj)
    if isinstance(obj, Document):
        return document(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            pass
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def as_json(value: Any) -> str:
    """Compact JSON of any value, cut to :data:`TEXT_LIMIT` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=_default, separators=(",", ":"))
    except (TypeError, ValueError):
        text = str(value)
    if len(text) > TEXT_LIMIT:
        text = text[: TEXT_LIMIT - 1] + "…"
    return text


def text_of(value: Any) -> str | None:
    """The readable text of a value: a string as it is, a message's text, the last
    message of a state update (an assistant's tool calls when it said nothing), else
    compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and value.get("messages") == [] and len(value) == 1:
        return None  # a node that added no message
    messages = messages_in(value)
    if messages:
        last = messages[-1]
        text = content_text(last.content)
        if text:
            return text
        calls = tool_calls_of(last)
        if calls:
            return "; ".join(f"{c['name']}({c['arguments']})" for c in calls)
        return text
    if isinstance(value, Mapping) and len(value) == 1:
        # A chain's {"answer": "..."} or a node's {"summary": "..."}: the value says it.
        (only,) = value.values()
        if isinstance(only, str):
            return only
    return as_json(value)


def input_text(value: Any, messages: Sequence[BaseMessage] | None = None) -> str | None:
    """A run's input: the text of the new turn (the last user message after the last
    assistant message), else the readable text of the value. ``messages``: those of
    ``value``, when the caller has them already."""
    if messages is None:
        messages = messages_in(value)
    if messages:
        turn = new_turn(messages)
        for m in reversed(turn):
            if role_of(m) == "user":
                return content_text(m.content)
        return text_of(value)
    return text_of(value)


def document(doc: Document) -> dict[str, Any]:
    out: dict[str, Any] = {"text": doc.page_content}
    doc_id = getattr(doc, "id", None)
    if doc_id:
        out["id"] = str(doc_id)
    if doc.metadata:
        meta = _plain(doc.metadata)
        if meta is not None:
            out["metadata"] = meta
    return out


def _plain(value: Any) -> Any:
    """``value`` as plain JSON types, or None when its JSON is over :data:`TEXT_LIMIT`."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None
    return json.loads(text) if len(text) <= TEXT_LIMIT else None
