"""The ``google-genai`` SDK's shapes for the provider contract: which requests are calls
(and of which API), who serves a client, how a request reads as a prompt and a response
body as a completion."""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from hilt_core import Recorder
from hilt_core.provider import Completion, Prompt
from hilt_gemini import extract

GENERATE = "generate_content"
EMBED = "embed_content"
# The REST method at the end of a path ("models/gemini-2.5-flash:generateContent").
METHODS = {
    "generateContent": GENERATE,
    "streamGenerateContent": GENERATE,
    "batchEmbedContents": EMBED,
    "embedContent": EMBED,
    "predict": EMBED,  # Vertex AI text-embedding models (Imagen's predict is left out)
}
DEVELOPER_API = "gcp.gen_ai"
VERTEX_AI = "gcp.vertex_ai"

_clients: weakref.WeakKeyDictionary[Any, tuple[Any, tuple[str, str]]] = weakref.WeakKeyDictionary()


def model_of(resource: str) -> str:
    """The model a path names: ``gemini-2.5-flash`` for ``models/gemini-2.5-flash``,
    ``publishers/google/models/...`` and ``projects/p/locations/l/publishers/...``;
    other resources (``tunedModels/123``, an endpoint) as they are."""
    _, sep, name = resource.rpartition("models/")
    if sep and (not _ or _.endswith("/")):
        return name
    return resource


def api_of(path: str, body: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(api, model asked for)`` of a request, or None for one that is no LLM call."""
    resource, sep, method = path.partition(":")
    if not sep:
        return None
    method = method.split("?", 1)[0]
    api = METHODS.get(method)
    if api is None:
        return None
    if method == "predict":
        instances = body.get("instances")
        first = instances[0] if isinstance(instances, list) and instances else None
        if not isinstance(first, dict) or "content" not in first:
            return None  # Imagen and other predict models
    return api, model_of(resource)


def _base_url(client: Any, http_options: Any) -> Any:
    if http_options:
        found = (
            http_options.get("base_url")
            if isinstance(http_options, dict)
            else getattr(http_options, "base_url", None)
        )
        if found:
            return found
    options = getattr(client, "_http_options", None)
    return getattr(options, "base_url", None)


def client_info(client: Any, http_options: Any = None) -> tuple[str, str]:
    """``(provider, endpoint)``: ``gcp.vertex_ai`` or ``gcp.gen_ai`` (the names of
    OpenTelemetry's GenAI conventions), and the host (and port) of the base URL."""
    base = _base_url(client, http_options)
    key = (base, bool(getattr(client, "vertexai", False)))
    try:
        cached = _clients.get(client)
    except TypeError:
        cached = None
    if cached is not None and cached[0] == key:
        return cached[1]
    netloc = urlsplit(str(base or "")).netloc
    info = (VERTEX_AI if key[1] else DEVELOPER_API, netloc)
    with contextlib.suppress(TypeError):
        _clients[client] = (key, info)
    return info


class GeminiAdapter:
    """The contract's Adapter for ``google-genai``."""

    name = "gemini"

    def __init__(self, recorder: Recorder) -> None:
        self.options = recorder.options

    @staticmethod
    def api_of(path: str, body: Mapping[str, Any]) -> tuple[str, str] | None:
        return api_of(path, body)

    @staticmethod
    def client_info(client: Any, http_options: Any = None) -> tuple[str, str]:
        return client_info(client, http_options)

    def prompt(self, api: str, body: Mapping[str, Any]) -> Prompt:
        if api == GENERATE:
            return extract.describe_generate(body)
        return extract.describe_embed(body)

    @staticmethod
    def read(api: str, body: Any) -> Completion:
        """A response body (the JSON text the server sent) as a completion; on the
        writer thread."""
        data = json.loads(body) if isinstance(body, str | bytes) and body else body
        if api == GENERATE:
            return extract.read_generate(data)
        return extract.read_embed(data)
