"""LiteLLM's requests and responses as the provider contract's Prompt and Completion.

LiteLLM speaks OpenAI's shapes whatever provider it reaches: chat messages, a
``ModelResponse`` with ``choices`` and ``usage``, an ``EmbeddingResponse``, a Responses
API response. The rules are the OpenAI provider's (plugins/hilt_openai/extract.py), so
that one conversation keeps its id and its ``reply_to`` links whether a turn was
recorded by the OpenAI provider (LiteLLM went through the ``openai`` SDK) or here
(tests/litellm check it across the two).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hilt_core.provider import Completion, Prompt, tokens

_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


def get(obj: Any, key: str, default: Any = None) -> Any:
    """A field of a dict or of an object (LiteLLM's pydantic types)."""
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


# -- requests (described on the writer thread) ---------------------------------------------
def _part(part: Any) -> dict[str, Any]:
    """A non-text part, without its payload (no base64 in logs)."""
    kind = str(get(part, "type") or "unknown")
    out: dict[str, Any] = {"type": kind}
    if kind in ("image_url", "input_image"):
        image = get(part, "image_url")
        url = image if isinstance(image, str) or image is None else get(image, "url")
        if isinstance(url, str):
            out["url"] = url.split(",", 1)[0] if url.startswith("data:") else url
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
            if kind in _TEXT_PARTS or (kind is None and get(part, "text") is not None):
                text = get(part, "text")
                if isinstance(text, str):
                    texts.append(text)
            elif kind == "refusal":
                texts.append(str(get(part, "refusal") or ""))
            else:
                others.append(_part(part))
    return ("\n".join(texts) if texts else None), (others or None)


def tool_call(call: Any) -> dict[str, Any]:
    fn = get(call, "function")
    if fn is not None:
        return {"id": get(call, "id"), "name": get(fn, "name"), "arguments": get(fn, "arguments")}
    return {  # a Responses API function_call item
        "id": get(call, "call_id") or get(call, "id"),
        "name": get(call, "name"),
        "arguments": get(call, "arguments"),
    }


def _describe(msg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"role": get(msg, "role") or get(msg, "type") or "user"}
    text, parts = message_text(get(msg, "content"))
    if get(msg, "type") == "function_call_output":
        text = str(get(msg, "output") or "")
    if text is not None:
        out["text"] = text
    if parts:
        out["parts"] = parts
    call_id = get(msg, "tool_call_id") or get(msg, "call_id")
    if call_id:
        out["tool_call_id"] = call_id
    calls = get(msg, "tool_calls")
    if calls:
        out["tool_calls"] = [tool_call(c) for c in calls]
    name = get(msg, "name")
    if name:
        out["name"] = name
    return out


def opening(messages: Sequence[Any]) -> tuple[str, str]:
    """The text of the first system (or developer) message and of the first user message:
    the conversation id is made of them (hilt_core.provider.conversation)."""
    system = user = ""
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
    """The prompt's content: the text of this turn, and every message of the turn when
    there is more than one or one has more than plain text."""
    described = [_describe(m) for m in new]
    text: str | None = None
    for d in reversed(described):
        if d["role"] == "user" and d.get("text") is not None:
            text = d["text"]
            break
    if text is None:
        text = "\n".join(d["text"] for d in described if d.get("text")) or None
    content: dict[str, Any] = {"text": text}
    if len(described) > 1 or any(
        d["role"] != "user" or set(d) - {"role", "text"} for d in described
    ):
        content["messages"] = described
    return content


def _chat(messages: Sequence[Any]) -> Prompt:
    new, last = new_turn(messages)
    found: Prompt = {"content": turn_content(new), "opening": opening(messages)}
    if last is not None:
        found["said"] = message_text(get(last, "content"))[0]
    return found


def describe_request(api: str, body: Mapping[str, Any]) -> Prompt:
    """The request LiteLLM was given (``body``: ``messages``, or ``input`` with
    ``instructions`` and ``previous_response_id`` for the Responses API) as a Prompt."""
    if api in ("chat.completions", "completions"):
        messages = body.get("messages")
        if isinstance(messages, Sequence) and not isinstance(messages, str):
            return _chat(messages)
        raw = body.get("prompt")
        text = raw if isinstance(raw, str) else None
        return {"content": {"text": text}, "opening": ("", text or "")}
    if api == "responses":
        raw = body.get("input")
        items = [{"role": "user", "content": raw}] if isinstance(raw, str) else list(raw or ())
        instructions = body.get("instructions")
        system = {
            "role": "system",
            "content": instructions if isinstance(instructions, str) else "",
        }
        found = _chat(items)
        found["opening"] = opening([system, *items])
        previous = body.get("previous_response_id")
        if previous:
            found["previous"] = previous
        if "said" in found and found["said"] is None:
            del found["said"]
        return found
    # embeddings: the input is the prompt
    raw = body.get("input")
    content: dict[str, Any]
    if isinstance(raw, str):
        first: str | None = raw
        content = {"text": raw}
    elif isinstance(raw, list) and raw and all(isinstance(x, str) for x in raw):
        first = raw[0]
        content = {"text": raw[0], "inputs": len(raw)} if len(raw) > 1 else {"text": raw[0]}
    else:
        first = None
        content = {"text": None}
    return {"content": content, "thread": (api, first or "")}


# -- responses (read on the callback's thread) ---------------------------------------------
def usage_tokens(usage: Any) -> dict[str, int] | None:
    """``metrics.tokens`` of a LiteLLM usage (chat or Responses API shaped). LiteLLM counts
    like OpenAI: ``prompt_tokens`` includes the cached and cache-written tokens (it adds
    Anthropic's up), which is HILT's meaning too. Older releases (1.74) left Anthropic's
    cache writes out of ``prompt_tokens`` and had no
    ``prompt_tokens_details.cache_write_tokens``, reporting them only as
    ``cache_creation_input_tokens``: they are added back then."""
    if usage is None:
        return None
    prompt = _count(get(usage, "prompt_tokens"))
    if prompt is not None:
        completion = _count(get(usage, "completion_tokens"))
        total = get(usage, "total_tokens")
        p_details = get(usage, "prompt_tokens_details")
        c_details = get(usage, "completion_tokens_details")
    else:
        prompt = _count(get(usage, "input_tokens"))
        completion = _count(get(usage, "output_tokens"))
        total = get(usage, "total_tokens")
        p_details = get(usage, "input_tokens_details")
        c_details = get(usage, "output_tokens_details")
    cached = get(p_details, "cached_tokens") if p_details is not None else None
    if _count(cached) is None:
        cached = get(usage, "cache_read_input_tokens")
    cache_write = get(p_details, "cache_write_tokens") if p_details is not None else None
    if _count(cache_write) is None:
        cache_write = _count(get(usage, "cache_creation_input_tokens"))
        if cache_write and prompt is not None:  # not in prompt_tokens: add them
            prompt += cache_write
            total = None
    reasoning = get(c_details, "reasoning_tokens") if c_details is not None else None
    # Zeros a provider did not report say nothing: leave them out.
    return tokens(
        prompt=prompt,
        completion=completion,
        total=total,
        cached=cached or None,
        cache_write=cache_write or None,
        reasoning=reasoning or None,
    )


def _choices(choices: Sequence[Any]) -> tuple[dict[str, Any], Any]:
    if not choices:
        return {"text": None}, None
    first = choices[0]
    msg = get(first, "message")
    if msg is None:  # a text completion
        return {"text": get(first, "text")}, get(first, "finish_reason")
    content: dict[str, Any] = {"text": get(msg, "content")}
    refusal = get(msg, "refusal")
    if refusal:
        content["refusal"] = refusal
    calls = get(msg, "tool_calls")
    if calls:
        content["tool_calls"] = [tool_call(c) for c in calls]
    if len(choices) > 1:
        content["choices"] = [
            {
                "index": get(c, "index"),
                "text": get(get(c, "message"), "content"),
                "finish_reason": get(c, "finish_reason"),
            }
            for c in choices
        ]
    return content, get(first, "finish_reason")


def _responses_output(response: Any) -> tuple[dict[str, Any], Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in get(response, "output") or ():
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
    incomplete = get(response, "incomplete_details")
    reason = get(incomplete, "reason") if incomplete is not None else None
    return content, reason or get(response, "status")


def read_response(api: str, response: Any) -> Completion:
    """What the completion event says of a response LiteLLM returned."""
    extra: dict[str, Any] | None = None
    finish: Any = None
    content: dict[str, Any] | None
    if api == "embeddings":
        data = get(response, "data") or ()
        content = None
        extra = {"embeddings": len(data)}
        vector = get(data[0], "embedding") if data else None
        if isinstance(vector, list):
            extra["dimensions"] = len(vector)
    elif get(response, "choices") is not None:  # chat (also a Responses call LiteLLM
        content, finish = _choices(get(response, "choices"))  # bridged to chat)
    else:
        content, finish = _responses_output(response)
    found: Completion = {
        "content": content,
        "finish_reason": finish,
        "model": get(response, "model"),
        "response_id": get(response, "id"),
        "tokens": usage_tokens(get(response, "usage")),
        "stream": extra,
    }
    if api == "responses" and found["response_id"]:
        found["link_id"] = found["response_id"]  # a later request's previous_response_id
    return found


__all__ = ["describe_request", "get", "message_text", "read_response", "usage_tokens"]
