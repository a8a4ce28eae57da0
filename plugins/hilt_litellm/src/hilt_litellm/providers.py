"""LiteLLM's provider names (``custom_llm_provider``) as HILT records them.

``extensions.provider`` uses the names HILT's own provider plugins write (``openai``,
``azure``, ``openai-compatible``, ``anthropic``, ``aws.bedrock``, ``gcp.vertex_ai``,
``gcp.gen_ai``) and, for the other clouds, the provider ids of the cost tables
(genai-prices), so that a call is priced as the provider that served it. LiteLLM's own
name is kept beside it, in ``extensions.litellm_provider``.

A server with no fixed host (a local vLLM or Ollama, a custom OpenAI-compatible endpoint)
is ``openai-compatible``: it is priced only if its endpoint is a provider the cost tables
know, never at some cloud's rate because the model name looks familiar (docs/costs.md).
"""

from __future__ import annotations

from urllib.parse import urlsplit

OPENAI_HOST = "api.openai.com"
COMPATIBLE = "openai-compatible"

# LiteLLM's name -> extensions.provider. A name not listed is written as LiteLLM gives it.
NAMES: dict[str, str] = {
    "azure": "azure",
    "azure_text": "azure",
    "anthropic": "anthropic",
    "anthropic_text": "anthropic",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gen_ai",
    "cohere_chat": "cohere",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "xai": "x-ai",
    "moonshot": "moonshotai",
    "github_copilot": "github-copilot",
}

# Served wherever api_base points: no provider of their own.
SELF_HOSTED = frozenset(
    {
        "custom_openai",
        "openai_like",
        "hosted_vllm",
        "vllm",
        "ollama",
        "ollama_chat",
        "lm_studio",
        "llamafile",
        "litellm_proxy",
        "xinference",
        "oobabooga",
        "triton",
    }
)

# LiteLLM's OpenAI routes: OpenAI itself only on its own host.
OPENAI = frozenset({"openai", "text-completion-openai"})


def endpoint(api_base: object) -> str:
    """``host[:port]`` of a base URL, as HILT records endpoints ("" when unknown)."""
    if not isinstance(api_base, str) or not api_base:
        return ""
    text = api_base if "://" in api_base else f"https://{api_base}"
    try:
        return urlsplit(text).netloc
    except ValueError:
        return ""


def provider(litellm_provider: object, api_base: object) -> str:
    """``extensions.provider`` of a call LiteLLM made through ``litellm_provider`` to
    ``api_base``."""
    name = litellm_provider if isinstance(litellm_provider, str) else ""
    if name in OPENAI:
        host = endpoint(api_base)
        return "openai" if host in ("", OPENAI_HOST) else COMPATIBLE
    if name in SELF_HOSTED or not name:
        return COMPATIBLE
    return NAMES.get(name, name)


__all__ = ["COMPATIBLE", "NAMES", "SELF_HOSTED", "endpoint", "provider"]
