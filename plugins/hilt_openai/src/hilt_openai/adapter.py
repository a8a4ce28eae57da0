"""The OpenAI SDK's shapes, for the provider contract's Stainless patcher: which requests
are calls (and of which API), who serves a client, how a request reads as a prompt and a
response as a completion, and how a stream is recorded (streams.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult

from hilt_core import Recorder
from hilt_core.provider import Call, Completion, Prompt, messages
from hilt_core.provider.stainless import ClientInfo
from hilt_openai import extract
from hilt_openai.streams import OpenAIStream

ENDPOINTS = {
    "/chat/completions": "chat.completions",
    "/responses": "responses",
    "/embeddings": "embeddings",
    "/completions": "completions",
}
AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")


def _client_info(client: Any, url: SplitResult) -> tuple[str, str]:
    """(provider, endpoint) of a client: "openai", "azure" or "openai-compatible"."""
    netloc, host = url.netloc, (url.hostname or "")
    if (
        "Azure" in type(client).__name__
        or hasattr(client, "_azure_deployment")
        or host.endswith(AZURE_HOSTS)  # Azure's v1 API, reached with the plain OpenAI client
    ):
        return ("azure", netloc)
    if netloc == "api.openai.com":
        return ("openai", netloc)
    return ("openai-compatible", netloc)


client_info = ClientInfo(_client_info)


def read_response(api: str, response: Any, extra: dict[str, Any] | None = None) -> Completion:
    """A response (an SDK object or a dict) as a completion: content, finish reason,
    tokens, model and id; ``extra`` adds to its stream details."""
    stream: dict[str, Any] | None = None
    if type(response) in messages.ATTRIBUTE_TYPES:  # an SDK object: no get() per field
        model = getattr(response, "model", None)
        response_id = getattr(response, "id", None)
        usage = getattr(response, "usage", None)
    else:
        model = messages.get(response, "model")
        response_id = messages.get(response, "id")
        usage = messages.get(response, "usage")
    content: dict[str, Any] | None
    if api == "chat.completions":
        parts = messages.chat_choices(messages.get(response, "choices") or ())
        content, finish_reason = parts["content"], parts["finish_reason"]
    elif api == "responses":
        parts = messages.responses_output(response)
        content, finish_reason = parts["content"], parts["finish_reason"]
    elif api == "completions":
        choices = messages.get(response, "choices") or ()
        first = choices[0] if choices else None
        content = {"text": messages.get(first, "text") if first is not None else None}
        finish_reason = messages.get(first, "finish_reason") if first is not None else None
    else:  # embeddings
        content = None
        finish_reason = None
        stream = messages.embeddings_read(response)
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
        return messages.chat_prompt(body.get("messages") or ())
    if api == "responses":
        found = messages.responses_prompt(body)
        conversation = body.get("conversation")
        if conversation:
            found["thread"] = (str(messages.get(conversation, "id") or conversation),)
        return found
    # embeddings, completions: the input is the prompt
    return messages.inputs_prompt(api, body.get("input", body.get("prompt")))


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
