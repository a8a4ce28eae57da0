"""The OpenAI SDK's shapes, for the provider contract's Stainless patcher: which requests
are calls (and of which API), who serves a client, how a request reads as a prompt and a
response as a completion, and how a stream is recorded (streams.py)."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from hilt_core import Recorder
from hilt_core.provider import Call, Completion, Prompt
from hilt_openai import extract
from hilt_openai.streams import OpenAIStream

ENDPOINTS = {
    "/chat/completions": "chat.completions",
    "/responses": "responses",
    "/embeddings": "embeddings",
    "/completions": "completions",
}
AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
_clients: weakref.WeakKeyDictionary[Any, tuple[Any, tuple[str, str]]] = weakref.WeakKeyDictionary()


def client_info(client: Any) -> tuple[str, str]:
    """(provider, endpoint) of a client: "openai", "azure" or "openai-compatible"."""
    base = client._base_url
    try:
        cached = _clients.get(client)
    except TypeError:
        cached = None
    if cached is not None and cached[0] is base:
        return cached[1]
    parts = urlsplit(str(base))
    netloc, host = parts.netloc, (parts.hostname or "")
    if (
        "Azure" in type(client).__name__
        or hasattr(client, "_azure_deployment")
        or host.endswith(AZURE_HOSTS)  # Azure's v1 API, reached with the plain OpenAI client
    ):
        info = ("azure", netloc)
    elif netloc == "api.openai.com":
        info = ("openai", netloc)
    else:
        info = ("openai-compatible", netloc)
    with contextlib.suppress(TypeError):  # a client class that cannot be weakly referenced
        _clients[client] = (base, info)
    return info


def read_response(api: str, response: Any, extra: dict[str, Any] | None = None) -> Completion:
    """A response (an SDK object or a dict) as a completion: content, finish reason,
    tokens, model and id; ``extra`` adds to its stream details."""
    stream: dict[str, Any] | None = None
    if type(response) in extract.ATTRIBUTE_TYPES:  # an SDK object: no get() per field
        model = getattr(response, "model", None)
        response_id = getattr(response, "id", None)
        usage = getattr(response, "usage", None)
    else:
        model = extract.get(response, "model")
        response_id = extract.get(response, "id")
        usage = extract.get(response, "usage")
    content: dict[str, Any] | None
    if api == "chat.completions":
        parts = extract.chat_choices(extract.get(response, "choices") or ())
        content, finish_reason = parts["content"], parts["finish_reason"]
    elif api == "responses":
        parts = extract.responses_output(response)
        content, finish_reason = parts["content"], parts["finish_reason"]
    elif api == "completions":
        choices = extract.get(response, "choices") or ()
        first = choices[0] if choices else None
        content = {"text": extract.get(first, "text") if first is not None else None}
        finish_reason = extract.get(first, "finish_reason") if first is not None else None
    else:  # embeddings
        data = extract.get(response, "data") or ()
        content = None
        finish_reason = None
        vec = extract.get(data[0], "embedding") if data else None
        stream = {"embeddings": len(data)}
        if isinstance(vec, list):
            stream["dimensions"] = len(vec)
    if extra:
        stream = {**stream, **extra} if stream else extra
    found: Completion = {
        "content": content,
        "finish_reason": finish_reason,
        "tokens": extract.chat_usage(usage),
        "model": model,
        "response_id": response_id,
        "stream": stream,
    }
    if api == "responses" and response_id:
        found["link_id"] = response_id  # a later request's previous_response_id
    return found


def describe_request(api: str, body: Mapping[str, Any]) -> Prompt:
    """A request as the contract's Prompt (on the writer thread)."""
    if api == "chat.completions":
        messages = body.get("messages") or ()
        new, last_assistant = extract.new_turn(messages)
        chat: Prompt = {"content": extract.turn_content(new), "opening": extract.opening(messages)}
        if last_assistant is not None:
            chat["said"] = extract.message_text(extract.get(last_assistant, "content"))[0]
        return chat
    if api == "responses":
        items, instructions = extract.responses_input(body)
        found: Prompt = {
            "opening": extract.opening([{"role": "system", "content": instructions}, *items])
        }
        conversation = body.get("conversation")
        if conversation:
            found["thread"] = (str(extract.get(conversation, "id") or conversation),)
        prev = body.get("previous_response_id")
        if prev:
            found["previous"] = prev
        new, last_said = extract.new_turn(items)
        found["content"] = extract.turn_content(new)
        if last_said is not None:  # history sent by hand
            found["said"] = extract.message_text(extract.get(last_said, "content"))[0]
        return found
    # embeddings, completions: the input is the prompt
    raw = body.get("input", body.get("prompt"))
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


def _inject_usage(options: Any, body: dict[str, Any], provider: str, setting: Any) -> bool:
    """Ask for the usage chunk of a chat stream the app did not ask it for.

    Default: only on api.openai.com (some compatible servers and old Azure API versions
    reject ``stream_options``); ``include_usage=True`` forces it, ``False`` turns it off.
    """
    if setting is False or (setting is None and provider != "openai"):
        return False
    so = body.get("stream_options")
    if isinstance(so, dict) and so.get("include_usage") is not None:
        return False
    options.json_data = {**body, "stream_options": {**(so or {}), "include_usage": True}}
    return True


class OpenAIAdapter:
    """The contract's StainlessAdapter for the ``openai`` SDK."""

    name = "openai"
    sdk = "openai"

    def __init__(self, recorder: Recorder) -> None:
        self.include_usage = recorder.options.get("include_usage")

    def api_of(self, options: Any) -> str | None:
        return ENDPOINTS.get(options.url)

    def client_info(self, client: Any) -> tuple[str, str]:
        return client_info(client)

    def prepare(self, call: Call, options: Any, body: dict[str, Any], raw: bool) -> bool:
        """Ask for usage in a chat stream; True when HILT asked (the usage chunk is then
        hidden from the app)."""
        chat = call.api in ("chat.completions", "completions")
        if chat and not raw and body.get("stream") is True:
            return _inject_usage(options, body, call.client_info[0], self.include_usage)
        return False

    def read(self, api: str, response: Any) -> Completion:
        return read_response(api, response)

    def prompt(self, api: str, body: Mapping[str, Any]) -> Prompt:
        return describe_request(api, body)

    def stream(self, call: Call, prepared: Any) -> OpenAIStream:
        return OpenAIStream(call, bool(prepared))
