"""The Anthropic SDK's shapes, for the provider contract's Stainless patcher: which requests
are inference calls, who serves a client, how a request reads as a prompt and a response
as a completion, and how a stream is recorded (streams.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult

from hilt_anthropic import extract
from hilt_anthropic.streams import AnthropicStream, error_type
from hilt_core import Recorder
from hilt_core.provider import Call, Completion, Prompt
from hilt_core.provider.stainless import ClientInfo

# The Messages endpoint as every client asks for it, before Bedrock and Vertex rewrite the
# URL (``?beta=true``: the beta surface up to anthropic 2.2). count_tokens and batches
# have paths of their own: not inference calls, never recorded.
MESSAGES_URLS = frozenset({"/v1/messages", "/v1/messages?beta=true"})
API = "messages"
FIRST_PARTY_HOSTS = frozenset({"api.anthropic.com"})

# Client classes (of the SDK's own modules) by the provider that serves them, whatever
# their URL. Names, not imports: a class a release does not have is simply not met.
CLIENT_PROVIDERS = (
    ("Bedrock", "aws.bedrock"),  # AnthropicBedrock, AnthropicBedrockMantle and async
    ("Vertex", "gcp.vertex_ai"),  # AnthropicVertex
    ("Foundry", "azure"),  # AnthropicFoundry: Microsoft Foundry
    ("AnthropicAWS", "anthropic"),  # Anthropic's own API through AWS's gateway
    ("GoogleCloud", "anthropic"),  # Anthropic's own API through Google's gateway
)


def provider_of(client: Any, host: str) -> str:
    for cls in type(client).__mro__:
        if not cls.__module__.startswith("anthropic."):
            continue
        for part, provider in CLIENT_PROVIDERS:
            if part in cls.__name__:
                return provider
        if cls.__name__ in ("Anthropic", "AsyncAnthropic"):
            break
    if host in FIRST_PARTY_HOSTS:
        return "anthropic"
    # A cloud's own host reached with the plain client (or a client class a later SDK
    # renamed): named by the host.
    if host.startswith("bedrock") and host.endswith(".amazonaws.com"):
        return "aws.bedrock"
    if host.endswith("aiplatform.googleapis.com"):
        return "gcp.vertex_ai"
    return "anthropic-compatible"


def _client_info(client: Any, url: SplitResult) -> tuple[str, str]:
    """(provider, endpoint) of a client: ``aws.bedrock``, ``gcp.vertex_ai``, ``azure`` by
    client class; else by host: ``anthropic`` for api.anthropic.com, the cloud's name for a
    Bedrock or Vertex AI host, ``anthropic-compatible`` for any other."""
    return (provider_of(client, url.hostname or ""), url.netloc)


client_info = ClientInfo(_client_info)


def sentinels() -> tuple[type, ...]:
    """The SDK's placeholder types for an argument not given (``NotGiven``, ``Omit``)."""
    from anthropic import _types

    return tuple(t for t in (getattr(_types, "NotGiven", None), getattr(_types, "Omit", None)) if t)


def betas_of(headers: Any) -> list[str] | None:
    """The betas a request asked for (``anthropic-beta`` header, comma-separated)."""
    if not isinstance(headers, dict):
        return None
    value = headers.get("anthropic-beta")
    if not isinstance(value, str) or not value:
        return None
    return [b.strip() for b in value.split(",") if b.strip()]


class AnthropicAdapter:
    """The contract's StainlessAdapter for the ``anthropic`` SDK."""

    name = "anthropic"
    sdk = "anthropic"

    def __init__(self, recorder: Recorder) -> None:
        self.skip = frozenset(sentinels())

    def api_of(self, options: Any) -> str | None:
        return API if options.url in MESSAGES_URLS and options.method == "post" else None

    def client_info(self, client: Any) -> tuple[str, str]:
        return client_info(client)

    def prepare(self, call: Call, options: Any, body: dict[str, Any], raw: bool) -> Any:
        """Keep a copy of the request for the prompt: the body without the SDK's
        placeholders, its message list copied (the app may append to the list it passed
        once the call returns: the prompt must show the request as sent), and the betas
        of the ``anthropic-beta`` header as ``betas``, the SDK's argument for them."""
        skip = self.skip
        kept = {k: v for k, v in body.items() if type(v) not in skip}
        messages = kept.get("messages")
        if type(messages) is list:
            kept["messages"] = messages.copy()
        betas = betas_of(options.headers)
        if betas:
            kept["betas"] = betas
        call.body = kept
        return None

    def read(self, api: str, response: Any) -> Completion:
        return extract.read_message(response)

    def prompt(self, api: str, body: Mapping[str, Any]) -> Prompt:
        found = extract.describe_request(body)
        betas = body.get("betas")
        if betas:
            found["extensions"] = {**found.get("extensions", {}), "betas": betas}
        return found

    def stream(self, call: Call, prepared: Any) -> AnthropicStream:
        return AnthropicStream(call)

    def error_detail(self, exc: BaseException) -> str | None:
        return error_type(exc)
