"""Turn OpenAI request bodies and response objects into HILT event fields.

Request bodies are the dicts the SDK is about to send (``NotGiven``/``Omit`` are already
gone); messages may still be SDK model objects, so fields are read with :func:`get`.
Responses are the SDK's own pydantic objects, read by attribute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


ATTRIBUTE_TYPES: set[type] = set()  # types known not to be mappings (SDK models...)


def get(obj: Any, key: str, default: Any = None) -> Any:
    kind = type(obj)
    if kind is dict:
        return obj.get(key, default)
    if kind in ATTRIBUTE_TYPES:  # skips the slow ABC isinstance check after the first time
        return getattr(obj, key, default)
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    ATTRIBUTE_TYPES.add(kind)
    return getattr(obj, key, default)


def describe_part(part: Any) -> dict[str, Any]:
    """A non-text message part, described without its payload (no base64 in logs)."""
    kind = str(get(part, "type") or "unknown")
    out: dict[str, Any] = {"type": kind}
    if kind in ("image_url", "input_image"):
        image = get(part, "image_url")
        url = get(image, "url") if image is not None and not isinstance(image, str) else image
        if isinstance(url, str):
            out["url"] = url if not url.startswith("data:") else url.split(",", 1)[0]
    elif kind in ("file", "input_file"):
        f = get(part, "file") or part
        name = get(f, "filename") or get(f, "file_id")
        if name:
            out["file"] = name
    return out


def message_text(content: Any) -> tuple[str | None, list[dict[str, Any]] | None]:
    """The text of a message's content and its non-text parts (None when all text)."""
    if content is None or isinstance(content, str):
        return content, None
    texts: list[str] = []
    others: list[dict[str, Any]] = []
    if isinstance(content, Sequence):
        for part in content:
            if isinstance(part, str):
                texts.append(part)
                continue
            kind = get(part, "type")
            if kind in _TEXT_PART_TYPES or (kind is None and get(part, "text") is not None):
                text = get(part, "text")
                if isinstance(text, str):
                    texts.append(text)
            elif kind == "refusal":
                texts.append(str(get(part, "refusal") or ""))
            else:
                others.append(describe_part(part))
    return ("\n".join(texts) if texts else None), (others or None)


def describe_message(msg: Any) -> dict[str, Any]:
    role = get(msg, "role") or get(msg, "type") or "user"
    out: dict[str, Any] = {"role": role}
    text, parts = message_text(get(msg, "content"))
    if text is not None:
        out["text"] = text
    if parts:
        out["parts"] = parts
    tool_call_id = get(msg, "tool_call_id") or get(msg, "call_id")
    if tool_call_id:
        out["tool_call_id"] = tool_call_id
    if get(msg, "type") == "function_call_output":
        out["text"] = str(get(msg, "output") or "")
    calls = get(msg, "tool_calls")
    if calls:
        out["tool_calls"] = [tool_call_dict(c) for c in calls]
    name = get(msg, "name")
    if name:
        out["name"] = name
    return out


def tool_call_dict(call: Any) -> dict[str, Any]:
    fn = get(call, "function")
    if fn is not None:
        return {
            "id": get(call, "id"),
            "name": get(fn, "name"),
            "arguments": get(fn, "arguments"),
        }
    return {  # Responses API function_call items
        "id": get(call, "call_id") or get(call, "id"),
        "name": get(call, "name"),
        "arguments": get(call, "arguments"),
    }


def opening(messages: Sequence[Any]) -> tuple[str, str]:
    """The conversation's opening: the text of the first system (or developer) message
    and of the first user message (its parts described, when it has no text). The
    contract makes the conversation id of it (hilt_core.provider.conversation)."""
    system = ""
    user = ""
    for msg in messages:
        role = get(msg, "role")
        if not system and role in ("system", "developer"):
            system = message_text(get(msg, "content"))[0] or ""
        elif not user and role == "user":
            text, parts = message_text(get(msg, "content"))
            user = text if text is not None else repr(parts)
        if user and system:
            break
    return system, user


def _from_model(item: Any) -> bool:
    """An assistant message, or a Responses API output item replayed as input (a function
    or tool call, reasoning): what the model said, not new input."""
    if get(item, "role") == "assistant":
        return True
    kind = get(item, "type")
    return isinstance(kind, str) and (kind.endswith("_call") or kind == "reasoning")


def new_turn(messages: Sequence[Any]) -> tuple[Sequence[Any], Any | None]:
    """The messages after the last assistant message, and that assistant message."""
    for i in range(len(messages) - 1, -1, -1):
        if _from_model(messages[i]):
            return messages[i + 1 :], messages[i]
    return messages, None


def turn_content(new: Sequence[Any]) -> dict[str, Any]:
    """Content of a prompt event: the text of this turn, plus every message of the turn
    when there is more than one or when one has non-text parts."""
    if len(new) == 1:
        only = new[0]
        # The common turn, one plain user message as a dict: skip describing it.
        if (
            type(only) is dict
            and only.get("role") == "user"
            and type(only.get("content")) is str
            and len(only) == 2
        ):
            return {"text": only["content"]}
    if all(type(m) is dict and len(m) == 2 and type(m.get("content")) is str for m in new):
        described = [{"role": m.get("role", "user"), "text": m["content"]} for m in new]
    else:
        described = [describe_message(m) for m in new]
    text: str | None = None
    for d in reversed(described):
        if d["role"] == "user" and d.get("text") is not None:
            text = d["text"]
            break
    if text is None:
        text = "\n".join(d["text"] for d in described if d.get("text")) or None
    content: dict[str, Any] = {"text": text}
    # One plain user message says it all in ``text``; anything else (a tool result, a
    # developer message, parts, a name) keeps its role and details in ``messages``.
    if len(described) > 1 or any(
        d["role"] != "user" or set(d) - {"role", "text"} for d in described
    ):
        content["messages"] = described
    return content


_USAGE_KEYS = (
    ("prompt_tokens", "prompt"),
    ("completion_tokens", "completion"),
    ("total_tokens", "total"),
)
_RESPONSES_USAGE_KEYS = (("input_tokens", "prompt"), ("output_tokens", "completion"))


def chat_usage(usage: Any) -> dict[str, int] | None:
    """Token counts of a chat, responses or embeddings usage (object or dict)."""
    if usage is None:
        return None
    kind = type(usage)
    if kind is not dict and (kind in ATTRIBUTE_TYPES or not isinstance(usage, Mapping)):
        # The SDK's CompletionUsage: read by attribute, without get() per field.
        prompt = getattr(usage, "prompt_tokens", None)
        if type(prompt) is int:
            tokens: dict[str, int] = {"prompt": prompt}
            value = getattr(usage, "completion_tokens", None)
            if type(value) is int:
                tokens["completion"] = value
            value = getattr(usage, "total_tokens", None)
            tokens["total"] = value if type(value) is int else prompt + tokens.get("completion", 0)
            details = getattr(usage, "prompt_tokens_details", None)
            if details is not None:
                value = get(details, "cached_tokens")
                if type(value) is int:
                    tokens["cached"] = value
            details = getattr(usage, "completion_tokens_details", None)
            if details is not None:
                value = get(details, "reasoning_tokens")
                if type(value) is int:
                    tokens["reasoning"] = value
            return tokens
    chat = get(usage, "prompt_tokens") is not None
    tokens = {}
    for key, name in _USAGE_KEYS if chat else _RESPONSES_USAGE_KEYS + _USAGE_KEYS[2:]:
        value = get(usage, key)
        if type(value) is int:
            tokens[name] = value
    details = get(usage, "prompt_tokens_details" if chat else "input_tokens_details")
    if details is not None:
        cached = get(details, "cached_tokens")
        if type(cached) is int:
            tokens["cached"] = cached
    details = get(usage, "completion_tokens_details" if chat else "output_tokens_details")
    if details is not None:
        reasoning = get(details, "reasoning_tokens")
        if type(reasoning) is int:
            tokens["reasoning"] = reasoning
    if "total" not in tokens and "prompt" in tokens:
        tokens["total"] = tokens["prompt"] + tokens.get("completion", 0)
    return tokens


def chat_choices(choices: Sequence[Any]) -> dict[str, Any]:
    """Content and extensions of a chat completion's choices (every choice when n > 1)."""
    out: dict[str, Any] = {}
    if not choices:
        return {"content": {"text": None}, "finish_reason": None}
    first = choices[0]
    kind = type(first)
    if kind is not dict and (kind in ATTRIBUTE_TYPES or not isinstance(first, Mapping)):
        # The SDK's Choice and ChatCompletionMessage: read by attribute.
        msg = getattr(first, "message", None)
        text = getattr(msg, "content", None)
        refusal = getattr(msg, "refusal", None)
        calls = getattr(msg, "tool_calls", None)
        if msg is not None and type(msg) not in ATTRIBUTE_TYPES and isinstance(msg, Mapping):
            text, refusal, calls = get(msg, "content"), get(msg, "refusal"), get(msg, "tool_calls")
    else:
        msg = get(first, "message")
        text = get(msg, "content")
        refusal = get(msg, "refusal")
        calls = get(msg, "tool_calls")
    content: dict[str, Any] = {"text": text}
    if refusal:
        content["refusal"] = refusal
    if calls:
        content["tool_calls"] = [tool_call_dict(c) for c in calls]
    if len(choices) > 1:
        content["choices"] = [
            {
                "index": get(c, "index"),
                "text": get(get(c, "message"), "content"),
                "finish_reason": get(c, "finish_reason"),
                **(
                    {
                        "tool_calls": [
                            tool_call_dict(t) for t in get(get(c, "message"), "tool_calls")
                        ]
                    }
                    if get(get(c, "message"), "tool_calls")
                    else {}
                ),
            }
            for c in choices
        ]
    out["content"] = content
    out["finish_reason"] = get(first, "finish_reason")
    return out


def responses_input(body: Mapping[str, Any]) -> tuple[list[Any], str]:
    """The new input items of a Responses API call, and the instructions text."""
    raw = body.get("input")
    instructions = body.get("instructions") or ""
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}], str(instructions)
    items = list(raw) if isinstance(raw, Sequence) else []
    return items, str(instructions)


def responses_output(resp: Any) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in get(resp, "output") or ():
        kind = get(item, "type")
        if kind == "message":
            for part in get(item, "content") or ():
                if get(part, "type") == "output_text":
                    texts.append(str(get(part, "text") or ""))
                elif get(part, "type") == "refusal":
                    texts.append(str(get(part, "refusal") or ""))
        elif kind == "function_call":
            calls.append(tool_call_dict(item))
    content: dict[str, Any] = {"text": "".join(texts) if texts else None}
    if calls:
        content["tool_calls"] = calls
    status = get(resp, "status")
    incomplete = get(resp, "incomplete_details")
    reason = get(incomplete, "reason") if incomplete is not None else None
    return {"content": content, "finish_reason": reason or status}
