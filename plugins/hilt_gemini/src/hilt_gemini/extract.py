"""Gemini's REST shapes (camelCase, as they go over the wire) read as HILT event fields.

Requests are the dicts the SDK is about to send (``contents``, ``systemInstruction``,
``tools``...); responses are the bodies the server sent, decoded on the writer thread.
Nothing here touches the SDK's objects, so it reads every release's wire alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hilt_core.provider import Completion, Prompt, tokens

JSON = dict[str, Any]


def _dict(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _either(data: JSON, camel: str, snake: str) -> Any:
    value = data.get(camel)
    return data.get(snake) if value is None else value


# -- parts -------------------------------------------------------------------------------


def describe_part(part: JSON) -> JSON:
    """A non-text part, described without its payload (no base64 in logs)."""
    # The SDK sends some nested keys in snake_case ({"inlineData": {"mime_type": ...}}).
    blob = _dict(part.get("inlineData", part.get("inline_data")))
    if blob:
        data = blob.get("data")
        out: JSON = {"type": "inline_data", "mime_type": _either(blob, "mimeType", "mime_type")}
        if isinstance(data, str):
            out["bytes"] = len(data) * 3 // 4 - data[-2:].count("=")
        return out
    ref = _dict(part.get("fileData", part.get("file_data")))
    if ref:
        return {
            "type": "file_data",
            "mime_type": _either(ref, "mimeType", "mime_type"),
            "uri": _either(ref, "fileUri", "file_uri"),
        }
    if "executableCode" in part:
        code = _dict(part["executableCode"])
        return {"type": "executable_code", "language": code.get("language"),
                "code": code.get("code")}  # fmt: skip
    if "codeExecutionResult" in part:
        res = _dict(part["codeExecutionResult"])
        return {"type": "code_execution_result", "outcome": res.get("outcome"),
                "output": res.get("output")}  # fmt: skip
    kinds = [k for k in part if k not in ("thought", "thoughtSignature", "videoMetadata")]
    return {"type": kinds[0] if kinds else "unknown"}


def function_call(call: Any) -> JSON:
    """A ``functionCall`` as HILT's tool call: ``{"id", "name", "arguments"}`` (JSON text)."""
    call = _dict(call)
    args = call.get("args")
    return {
        "id": call.get("id"),
        "name": call.get("name"),
        "arguments": json.dumps(args, ensure_ascii=False) if args is not None else None,
    }


def split_parts(parts: Sequence[Any]) -> tuple[list[str], list[str], list[JSON], list[JSON]]:
    """``(texts, thoughts, tool_calls, other parts described)`` of a content's parts."""
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[JSON] = []
    others: list[JSON] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        text = part.get("text")
        if isinstance(text, str):
            (thoughts if part.get("thought") else texts).append(text)
        elif "functionCall" in part:
            calls.append(function_call(part["functionCall"]))
        elif "functionResponse" not in part and not part.get("thought"):
            others.append(describe_part(part))
    return texts, thoughts, calls, others


def content_text(content: Any, sep: str = "\n") -> str | None:
    """The text of a content's parts (thoughts left out), or None when it has none."""
    texts = [
        p["text"]
        for p in _list(_dict(content).get("parts"))
        if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
    ]
    return sep.join(texts) if texts else None


# -- requests ----------------------------------------------------------------------------


def describe_content(content: JSON) -> list[JSON]:
    """One content as HILT messages: its text and parts, and one ``tool`` message per
    function response (as a tool result reads in the OpenAI plugin's events)."""
    role = content.get("role") or "user"
    parts = _list(content.get("parts"))
    texts, thoughts, calls, others = split_parts(parts)
    out: list[JSON] = []
    msg: JSON = {"role": role}
    if texts:
        msg["text"] = "\n".join(texts)
    if others:
        msg["parts"] = others
    if calls:
        msg["tool_calls"] = calls
    if thoughts:
        msg["reasoning"] = "".join(thoughts)
    if len(msg) > 1 or not parts:
        out.append(msg)
    for part in parts:
        if isinstance(part, dict) and "functionResponse" in part:
            res = _dict(part["functionResponse"])
            tool: JSON = {"role": "tool", "name": res.get("name")}
            if res.get("id"):
                tool["tool_call_id"] = res["id"]
            tool["text"] = json.dumps(res.get("response"), ensure_ascii=False)
            out.append(tool)
    return out


def _plain_text(content: JSON) -> str | None:
    """The text of a user content made of text parts only (the common turn)."""
    if content.get("role", "user") != "user":
        return None
    parts = content.get("parts")
    if type(parts) is not list or not parts:
        return None
    texts = []
    for part in parts:
        if type(part) is not dict or len(part) != 1 or type(part.get("text")) is not str:
            return None
        texts.append(part["text"])
    return "\n".join(texts)


def describe_generate(body: Mapping[str, Any]) -> Prompt:
    """A generateContent request as the contract's Prompt: the new input of this turn
    (what follows the model's last message), the system instruction when the
    conversation starts, its opening, and the model's last text (``said``)."""
    contents = [c for c in _list(body.get("contents")) if isinstance(c, dict)]
    system = content_text(body.get("systemInstruction"))
    last_model = None
    for i in range(len(contents) - 1, -1, -1):
        if contents[i].get("role") == "model":
            last_model = i
            break
    new = contents if last_model is None else contents[last_model + 1 :]
    first_user = ""
    for c in contents:
        if c.get("role", "user") == "user":
            first_user = content_text(c) or ""
            break
    found: Prompt = {"opening": (system or "", first_user)}
    if last_model is not None:
        # A streamed answer is in the history as one model content per chunk (chats, the
        # AFC loop): the run of model contents is the one answer.
        start = last_model
        while start > 0 and contents[start - 1].get("role") == "model":
            start -= 1
        said = [content_text(c, "") for c in contents[start : last_model + 1]]
        found["said"] = "".join(t for t in said if t) if any(said) else None
    starts = last_model is None and system is not None
    if len(new) == 1 and not starts:
        plain = _plain_text(new[0])
        if plain is not None:
            found["content"] = {"text": plain}
            return found
    messages: list[JSON] = [{"role": "system", "text": system}] if starts else []
    for c in new:
        messages += describe_content(c)
    text = None
    for m in reversed(messages):
        if m["role"] == "user" and m.get("text") is not None:
            text = m["text"]
            break
    if text is None:
        text = "\n".join(m["text"] for m in messages if m.get("text") and m["role"] != "system")
    found["content"] = {"text": text or None, "messages": messages}
    return found


def embed_inputs(body: Mapping[str, Any]) -> list[str]:
    """The texts of an embeddings request (batchEmbedContents, embedContent, predict)."""
    requests = body.get("requests")
    if isinstance(requests, list):
        return [content_text(_dict(r).get("content")) or "" for r in requests]
    instances = body.get("instances")
    if isinstance(instances, list):
        return [str(_dict(i).get("content") or "") for i in instances]
    contents = body.get("content", body.get("contents"))
    if isinstance(contents, list):
        return [content_text(c) or "" for c in contents]
    return [content_text(contents) or ""]


def describe_embed(body: Mapping[str, Any]) -> Prompt:
    inputs = embed_inputs(body)
    first = inputs[0] if inputs else None
    content: JSON = {"text": first or None}
    if len(inputs) > 1:
        content["inputs"] = len(inputs)
    return {"content": content, "thread": ("embed_content", first or "")}


# -- responses ---------------------------------------------------------------------------


def usage_tokens(usage: Any) -> dict[str, int] | None:
    """``usageMetadata`` in HILT's meaning: ``prompt`` = prompt (cached included) +
    tool-use prompt tokens; ``completion`` = candidates + thoughts; ``reasoning`` =
    thoughts; ``cached`` = cached content. ``total`` = prompt + completion, which is
    Gemini's ``totalTokenCount``."""
    if not isinstance(usage, dict) or not usage:
        return None
    prompt = _int(usage.get("promptTokenCount"))
    tool_use = _int(usage.get("toolUsePromptTokenCount"))
    candidates = _int(usage.get("candidatesTokenCount"))
    thoughts = _int(usage.get("thoughtsTokenCount"))
    if tool_use is not None:
        prompt = (prompt or 0) + tool_use
    completion = None
    if candidates is not None or thoughts is not None:
        completion = (candidates or 0) + (thoughts or 0)
    return tokens(
        prompt=prompt,
        completion=completion,
        cached=usage.get("cachedContentTokenCount"),
        reasoning=thoughts,
    )


def answer(
    texts: list[str], thoughts: list[str], calls: list[JSON], others: list[JSON]
) -> dict[str, Any]:
    """The completion's content from a candidate's parts."""
    content: JSON = {"text": "".join(texts) if texts else None}
    if calls:
        content["tool_calls"] = calls
    if thoughts:
        content["reasoning"] = "".join(thoughts)
    if others:
        content["parts"] = others
    return content


def read_generate(data: Any, extra: JSON | None = None) -> Completion:
    """A generateContent response body (decoded) as a completion."""
    data = _dict(data)
    candidates = [c for c in _list(data.get("candidates")) if isinstance(c, dict)]
    first = candidates[0] if candidates else {}
    parts = _list(_dict(first.get("content")).get("parts"))
    content = answer(*split_parts(parts))
    finish = first.get("finishReason")
    if not candidates:
        blocked = _dict(data.get("promptFeedback")).get("blockReason")
        if blocked:
            finish = blocked
    if len(candidates) > 1:
        content["choices"] = [
            {
                "index": c.get("index", i),
                "text": content_text(c.get("content"), ""),
                "finish_reason": c.get("finishReason"),
            }
            for i, c in enumerate(candidates)
        ]
    found: Completion = {
        "content": content,
        "finish_reason": finish,
        "tokens": usage_tokens(data.get("usageMetadata")),
        "model": data.get("modelVersion"),
        "response_id": data.get("responseId"),
    }
    if extra:
        found["stream"] = extra
    return found


def read_embed(data: Any) -> Completion:
    """An embeddings response body (any of the three endpoints) as a completion."""
    data = _dict(data)
    vectors: list[Any] = []
    counted: int | None = None
    if "predictions" in data:  # Vertex AI text-embedding models
        for p in _list(data.get("predictions")):
            emb = _dict(_dict(p).get("embeddings"))
            vectors.append(emb.get("values"))
            n = _dict(emb.get("statistics")).get("token_count")  # a float on the wire
            if isinstance(n, int | float) and n >= 0:
                counted = (counted or 0) + int(n)
    elif "embedding" in data:
        vectors.append(_dict(data["embedding"]).get("values"))
    else:
        vectors = [_dict(e).get("values") for e in _list(data.get("embeddings"))]
    usage = usage_tokens(data.get("usageMetadata"))
    if usage is None and counted is not None:
        usage = tokens(prompt=counted)
    info: JSON = {"embeddings": len(vectors)}
    if vectors and isinstance(vectors[0], list):
        info["dimensions"] = len(vectors[0])
    return {"content": None, "tokens": usage, "stream": info}


__all__ = [
    "content_text",
    "describe_embed",
    "describe_generate",
    "describe_part",
    "read_embed",
    "read_generate",
    "usage_tokens",
]
