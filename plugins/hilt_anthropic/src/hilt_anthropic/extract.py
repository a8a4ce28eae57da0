"""Turn Anthropic Messages requests and responses into HILT event fields.

Requests are the body the SDK is about to send (``prepare`` copied it on the app's
thread, without the SDK's ``Omit`` / ``NotGiven`` placeholders); messages and their
content blocks may be dicts or SDK objects (``response.content`` sent back as the
assistant's turn), so they are read with :func:`get`. Responses are the SDK's own
``Message`` (``BetaMessage``, ``ParsedMessage``) or, for a raw response, the body's dict.

Only what the event needs is kept: text as text, other blocks described without their
payload (no base64 image or document data in a log). :func:`get` and the prompt's content
of its described messages are the provider contract's (hilt_core.provider.messages).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hilt_core.provider import Completion, Prompt, tokens
from hilt_core.provider.messages import ATTRIBUTE_TYPES, content_of_turn, get

_SEQUENCES = (list, tuple)  # what a request's lists may be; never a one-shot iterator


def arguments(value: Any) -> str:
    """A tool call's input as JSON text, the same whether it came whole (a dict) or
    streamed (its ``partial_json`` pieces, parsed back when they are whole)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)  # a stream cut mid-way: the pieces as they came
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(value)


# -- requests -------------------------------------------------------------------------------


def system_text(system: Any) -> str | None:
    """The system prompt's text: a string, or the text of its blocks joined by newlines."""
    if system is None or isinstance(system, str):
        return system
    if isinstance(system, _SEQUENCES):
        texts = [str(get(b, "text") or "") for b in system if get(b, "type") == "text"]
        return "\n".join(texts) if texts else None
    return None


def describe_block(block: Any) -> dict[str, Any]:
    """A non-text content block, described without its payload."""
    kind = str(get(block, "type") or "unknown")
    out: dict[str, Any] = {"type": kind}
    if kind in ("image", "document"):
        source = get(block, "source")
        if source is not None:
            how = get(source, "type")
            if how:
                out["source"] = how
            media = get(source, "media_type")
            if media:
                out["media_type"] = media
            url = get(source, "url")
            if isinstance(url, str):
                out["url"] = url
            file_id = get(source, "file_id")
            if file_id:
                out["file"] = file_id
        title = get(block, "title") if kind == "document" else None
        if title:
            out["title"] = title
    elif kind in ("server_tool_use", "mcp_tool_use"):
        out["id"] = get(block, "id")
        out["name"] = get(block, "name")
    elif kind.endswith("_tool_result"):
        ref = get(block, "tool_use_id")
        if ref:
            out["tool_call_id"] = ref
    return out


def _tool_result_text(content: Any) -> tuple[str | None, list[dict[str, Any]] | None]:
    if content is None or isinstance(content, str):
        return content, None
    return block_text(content, "\n")


def block_text(content: Any, sep: str) -> tuple[str | None, list[dict[str, Any]] | None]:
    """The text of a message's content (a string or blocks; text blocks joined by
    ``sep``) and its other blocks described (None when there are none). Tool calls and
    tool results are left to :func:`describe_message`."""
    if content is None or isinstance(content, str):
        return content, None
    texts: list[str] = []
    others: list[dict[str, Any]] = []
    if isinstance(content, _SEQUENCES):
        for block in content:
            if isinstance(block, str):
                texts.append(block)
                continue
            kind = get(block, "type")
            if kind == "text":
                texts.append(str(get(block, "text") or ""))
            elif kind not in ("tool_use", "tool_result"):
                others.append(describe_block(block))
    return (sep.join(texts) if texts else None), (others or None)


def said(message: Any) -> str | None:
    """The text of an assistant message as its completion recorded it (text blocks joined
    without a separator, as the SDK's ``get_final_text()`` does)."""
    return block_text(get(message, "content"), "")[0]


def describe_message(msg: Any) -> list[dict[str, Any]]:
    """One request message as HILT's ``messages`` entries: the message (``role``,
    ``text``, ``parts``, ``tool_calls``), preceded by one ``{"role": "tool"}`` entry per
    tool result it carries, the shape OpenAI's tool messages have."""
    role = str(get(msg, "role") or "user")
    content = get(msg, "content")
    out: list[dict[str, Any]] = []
    entry: dict[str, Any] = {"role": role}
    text, parts = block_text(content, "" if role == "assistant" else "\n")
    if text is not None:
        entry["text"] = text
    if parts:
        entry["parts"] = parts
    if isinstance(content, _SEQUENCES):
        calls = []
        for block in content:
            kind = get(block, "type")
            if kind == "tool_use":
                calls.append(tool_call(block))
            elif kind == "tool_result":
                result: dict[str, Any] = {"role": "tool", "tool_call_id": get(block, "tool_use_id")}
                rtext, rparts = _tool_result_text(get(block, "content"))
                if rtext is not None:
                    result["text"] = rtext
                if rparts:
                    result["parts"] = rparts
                if get(block, "is_error"):
                    result["is_error"] = True
                out.append(result)
        if calls:
            entry["tool_calls"] = calls
    if len(entry) > 1 or not out:
        out.append(entry)
    return out


def tool_call(block: Any) -> dict[str, Any]:
    return {
        "id": get(block, "id"),
        "name": get(block, "name"),
        "arguments": arguments(get(block, "input")),
    }


def opening(system: Any, messages: Sequence[Any]) -> tuple[str, str]:
    """The conversation's opening: the system text and the text of the first user message
    (its blocks described, when it has no text), as the OpenAI provider reads it, so a
    conversation keeps its id across providers (hilt_core.provider.conversation)."""
    user = ""
    for msg in messages:
        if get(msg, "role") == "user":
            text, parts = block_text(get(msg, "content"), "\n")
            user = text if text is not None else repr(parts)
            break
    return system_text(system) or "", user


def new_turn(messages: Sequence[Any]) -> tuple[Sequence[Any], Any | None]:
    """The messages of this turn and the assistant message the turn follows up (None at
    the start of a conversation). A last assistant message is a prefill, part of the
    turn: the turn starts after the assistant message before it."""
    end = len(messages) - 1
    if end >= 0 and get(messages[end], "role") == "assistant":
        end -= 1
    for i in range(end, -1, -1):
        if get(messages[i], "role") == "assistant":
            return messages[i + 1 :], messages[i]
    return messages, None


def turn_content(new: Sequence[Any]) -> dict[str, Any]:
    """Content of a prompt event: the user text of this turn, plus every message of the
    turn (``messages``) when there is more than one or one is more than plain text."""
    if len(new) == 1:
        only = new[0]
        if type(only) is dict and only.get("role") == "user" and len(only) == 2:
            plain = only.get("content")
            if type(plain) is str:
                return {"text": plain}
    return content_of_turn([entry for msg in new for entry in describe_message(msg)])


def describe_request(body: Mapping[str, Any]) -> Prompt:
    """A Messages request as the contract's Prompt (on the writer thread)."""
    raw = body.get("messages")
    messages: Sequence[Any] = raw if isinstance(raw, _SEQUENCES) else ()
    system = body.get("system")
    new, last_assistant = new_turn(messages)
    content = turn_content(new)
    if last_assistant is None:  # the conversation starts: its system prompt is part of it
        text = system_text(system)
        if text:
            content["system"] = text
    found: Prompt = {"content": content, "opening": opening(system, messages)}
    if last_assistant is not None:
        found["said"] = said(last_assistant)
    ext: dict[str, Any] = {}
    thinking = body.get("thinking")
    if thinking is not None:
        kind = get(thinking, "type")
        if isinstance(kind, str):
            ext["thinking_type"] = kind
        budget = get(thinking, "budget_tokens")
        if type(budget) is int:
            ext["thinking_budget"] = budget
    if ext:
        found["extensions"] = ext
    return found


# -- responses ------------------------------------------------------------------------------


def usage_tokens(usage: Any) -> dict[str, int] | None:
    """HILT's token counts of an Anthropic ``Usage`` (object or dict): ``prompt`` is every
    input token, ``input_tokens`` + ``cache_read_input_tokens`` +
    ``cache_creation_input_tokens``; ``cached`` the cache reads, ``cache_write`` the
    cache creation; ``reasoning`` the thinking tokens, when the SDK reports them."""
    if usage is None:
        return None
    return merged_tokens(
        get(usage, "input_tokens"),
        get(usage, "output_tokens"),
        get(usage, "cache_read_input_tokens"),
        get(usage, "cache_creation_input_tokens"),
        thinking_tokens(usage),
    )


def thinking_tokens(usage: Any) -> Any:
    details = get(usage, "output_tokens_details")
    return get(details, "thinking_tokens") if details is not None else None


def merged_tokens(
    input_tokens: Any, output: Any, cache_read: Any, cache_creation: Any, thinking: Any
) -> dict[str, int] | None:
    prompt = None
    if type(input_tokens) is int:
        prompt = input_tokens
        for part in (cache_read, cache_creation):
            if type(part) is int:
                prompt += part
    return tokens(
        prompt=prompt,
        completion=output,
        cached=cache_read if prompt is not None else None,
        cache_write=cache_creation if prompt is not None else None,
        reasoning=thinking,
    )


def usage_extensions(usage: Any) -> dict[str, Any] | None:
    """Labels and counts of a usage: the service tier, server tool requests."""
    if usage is None:
        return None
    out: dict[str, Any] = {}
    tier = get(usage, "service_tier")
    if isinstance(tier, str):
        out["service_tier"] = tier
    server = get(usage, "server_tool_use")
    if server is not None:
        for key in ("web_search_requests", "web_fetch_requests"):
            n = get(server, key)
            if type(n) is int and n:
                out[key] = n
    return out or None


def content_blocks(blocks: Sequence[Any]) -> dict[str, Any]:
    """The completion's content: ``text`` (the text blocks, joined as the SDK's
    ``get_final_text()`` does), ``thinking`` (the thinking blocks' text, never in
    ``text``), ``redacted_thinking`` (how many such blocks), ``tool_calls``,
    ``server_tool_calls`` and ``parts`` (other blocks, described)."""
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    server: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    redacted = 0
    for block in blocks:
        kind = get(block, "type")
        if kind == "text":
            texts.append(get(block, "text") or "")
        elif kind == "thinking":
            thinking.append(get(block, "thinking") or "")
        elif kind == "redacted_thinking":
            redacted += 1
        elif kind == "tool_use":
            calls.append(tool_call(block))
        elif kind in ("server_tool_use", "mcp_tool_use"):
            call = tool_call(block)
            call["type"] = kind
            server.append(call)
        else:
            parts.append(describe_block(block))
    content: dict[str, Any] = {"text": "".join(texts) if texts else None}
    if thinking:
        content["thinking"] = "\n".join(thinking)
    if redacted:
        content["redacted_thinking"] = redacted
    if calls:
        content["tool_calls"] = calls
    if server:
        content["server_tool_calls"] = server
    if parts:
        content["parts"] = parts
    return content


def _one_text(blocks: Any) -> dict[str, Any] | None:
    """The common answer, one text block of the SDK: its content without the walk."""
    if type(blocks) is list and len(blocks) == 1:
        block = blocks[0]
        if type(block) in ATTRIBUTE_TYPES and block.type == "text":
            return {"text": block.text}
    return None


def read_message(message: Any) -> Completion:
    """A response (the SDK's Message or the body's dict) as a completion."""
    if type(message) in ATTRIBUTE_TYPES:  # an SDK object: no get() per field
        blocks = message.content
        usage = message.usage
        found: Completion = {
            "content": _one_text(blocks) or content_blocks(blocks or ()),
            "finish_reason": message.stop_reason,
            "model": message.model,
            "response_id": message.id,
            "tokens": usage_tokens(usage),
        }
        stop = message.stop_sequence
    else:  # the body's dict (a raw response), or an SDK type met for the first time
        usage = get(message, "usage")
        found = {
            "content": content_blocks(get(message, "content") or ()),
            "finish_reason": get(message, "stop_reason"),
            "model": get(message, "model"),
            "response_id": get(message, "id"),
            "tokens": usage_tokens(usage),
        }
        stop = get(message, "stop_sequence")
    ext = usage_extensions(usage)
    if stop is not None:
        ext = {**(ext or {}), "stop_sequence": stop}
    if ext:
        found["extensions"] = ext
    return found


__all__ = [
    "ATTRIBUTE_TYPES",
    "arguments",
    "block_text",
    "content_blocks",
    "describe_block",
    "describe_message",
    "describe_request",
    "get",
    "merged_tokens",
    "new_turn",
    "opening",
    "read_message",
    "said",
    "system_text",
    "thinking_tokens",
    "tool_call",
    "turn_content",
    "usage_extensions",
    "usage_tokens",
]
