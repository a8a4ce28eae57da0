"""Reading messages into HILT's prompt and completion content, shared by the providers.

For every provider: :func:`get` reads a field of a dict or of an SDK object, and
:func:`content_of_turn` makes a prompt's ``content`` of its turn's messages described as
HILT's ``{"role", "text", ...}`` entries.

For OpenAI's shapes, which the OpenAI provider reads and so does every framework that
speaks them whatever model it reaches (LiteLLM): chat messages (content parts, tool
calls, tool results, roles) and the Responses API's input items as HILT's message
entries (:func:`describe_message`, :func:`turn_content`); a request's conversation
opening, its new turn and the assistant text it follows up (:func:`chat_prompt`,
:func:`responses_prompt`); a chat completion's choices and a Responses API output
(:func:`chat_choices`, :func:`responses_output`). One reading, so a conversation keeps its
id and its ``reply_to`` links whichever of them recorded a turn.

Pure functions over dicts and objects read by attribute (the SDK's pydantic models): no
SDK is imported. They run on the writer thread (requests) or on the caller's (responses):
the common shapes take the short paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hilt_core.provider.call import Prompt

ATTRIBUTE_TYPES: set[type] = set()  # types known not to be mappings (SDK models...)

_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


def get(obj: Any, key: str, default: Any = None) -> Any:
    """A field of a dict (any mapping) or of an object."""
    kind = type(obj)
    if kind is dict:
        return obj.get(key, default)
    if kind in ATTRIBUTE_TYPES:  # skips the slow ABC isinstance check after the first time
        return getattr(obj, key, default)
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    ATTRIBUTE_TYPES.add(kind)
    return getattr(obj, key, default)


def content_of_turn(described: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A prompt's content of its turn's messages, described as HILT's entries (each with
    a ``role``): ``text``, the last user text (else every text joined), and ``messages``,
    the entries, when there is more than one or one is more than a plain user text."""
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


# -- OpenAI's shapes: requests ----------------------------------------------------------------
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


def tool_call(call: Any) -> dict[str, Any]:
    """A chat tool call, or a Responses API ``function_call`` item, as HILT's
    ``{"id", "name", "arguments"}``."""
    fn = get(call, "function")
    if fn is not None:
        return {"id": get(call, "id"), "name": get(fn, "name"), "arguments": get(fn, "arguments")}
    return {  # a Responses API function_call item
        "id": get(call, "call_id") or get(call, "id"),
        "name": get(call, "name"),
        "arguments": get(call, "arguments"),
    }


def describe_message(msg: Any) -> dict[str, Any]:
    """A chat message or a Responses API input item as HILT's message entry: ``role``
    (the item's ``type`` when it has none), ``text``, ``parts``, ``tool_call_id``,
    ``tool_calls``, ``name``."""
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
        out["tool_calls"] = [tool_call(c) for c in calls]
    name = get(msg, "name")
    if name:
        out["name"] = name
    return out


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
    # Plain messages with a role (what describe_message makes of them, without its walk).
    if all(
        type(m) is dict and len(m) == 2 and type(m.get("content")) is str and m.get("role")
        for m in new
    ):
        return content_of_turn([{"role": m["role"], "text": m["content"]} for m in new])
    return content_of_turn([describe_message(m) for m in new])


def chat_prompt(messages: Sequence[Any], instructions: str | None = None) -> Prompt:
    """A request's messages as the contract's Prompt: the content of the new turn, the
    conversation's opening and ``said``, the text of the assistant message the turn
    follows. ``instructions``: a system text given beside the messages (the Responses
    API's), the first message of the opening."""
    new, last = new_turn(messages)
    if instructions is not None:
        messages = [{"role": "system", "content": instructions}, *messages]
    found: Prompt = {"content": turn_content(new), "opening": opening(messages)}
    if last is not None:  # history sent by hand
        found["said"] = message_text(get(last, "content"))[0]
    return found


def responses_prompt(body: Mapping[str, Any]) -> Prompt:
    """A Responses API request as the contract's Prompt: its ``input`` (a text, or items)
    after its ``instructions``, and ``previous`` (``previous_response_id``)."""
    raw = body.get("input")
    if isinstance(raw, str):
        items: list[Any] = [{"role": "user", "content": raw}]
    else:
        items = list(raw) if isinstance(raw, Sequence) else []
    found = chat_prompt(items, str(body.get("instructions") or ""))
    previous = body.get("previous_response_id")
    if previous:
        found["previous"] = previous
    return found


def inputs_prompt(api: str, raw: Any) -> Prompt:
    """A request whose input is the prompt (embeddings, text completions): a text, or a
    list of texts (the first as ``text``, their number as ``inputs``). Such calls have no
    conversation: each is a thread of its API and first text."""
    text: str | None
    if isinstance(raw, str):
        text = raw
        content: dict[str, Any] = {"text": raw}
    elif isinstance(raw, list) and raw and all(isinstance(x, str) for x in raw):
        text = raw[0]
        content = {"text": raw[0], "inputs": len(raw)} if len(raw) > 1 else {"text": raw[0]}
    else:
        text = None
        content = {"text": None}
    return {"content": content, "thread": (api, text or "")}


# -- OpenAI's shapes: responses ---------------------------------------------------------------
def chat_choices(choices: Sequence[Any]) -> dict[str, Any]:
    """Content and finish reason of a chat completion's choices (every choice when
    n > 1): ``{"content": ..., "finish_reason": ...}``."""
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
        content["tool_calls"] = [tool_call(c) for c in calls]
    if len(choices) > 1:
        content["choices"] = [
            {
                "index": get(c, "index"),
                "text": get(get(c, "message"), "content"),
                "finish_reason": get(c, "finish_reason"),
                **(
                    {"tool_calls": [tool_call(t) for t in get(get(c, "message"), "tool_calls")]}
                    if get(get(c, "message"), "tool_calls")
                    else {}
                ),
            }
            for c in choices
        ]
    out["content"] = content
    out["finish_reason"] = get(first, "finish_reason")
    return out


def responses_output(resp: Any) -> dict[str, Any]:
    """Content and finish reason of a Responses API response (its output text, refusals
    and function calls): ``{"content": ..., "finish_reason": ...}``."""
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
            calls.append(tool_call(item))
    content: dict[str, Any] = {"text": "".join(texts) if texts else None}
    if calls:
        content["tool_calls"] = calls
    status = get(resp, "status")
    incomplete = get(resp, "incomplete_details")
    reason = get(incomplete, "reason") if incomplete is not None else None
    return {"content": content, "finish_reason": reason or status}


def embeddings_read(response: Any) -> dict[str, int]:
    """What a completion says of an embeddings response (in its ``stream`` details): how
    many embeddings, and the dimensions of the first."""
    data = get(response, "data") or ()
    found = {"embeddings": len(data)}
    vector = get(data[0], "embedding") if data else None
    if isinstance(vector, list):
        found["dimensions"] = len(vector)
    return found


__all__ = [
    "ATTRIBUTE_TYPES",
    "chat_choices",
    "chat_prompt",
    "content_of_turn",
    "describe_message",
    "describe_part",
    "embeddings_read",
    "get",
    "inputs_prompt",
    "message_text",
    "new_turn",
    "opening",
    "responses_output",
    "responses_prompt",
    "tool_call",
    "turn_content",
]
