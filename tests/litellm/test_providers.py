"""LiteLLM's provider names become HILT's ``extensions.provider``, so that HILT's cost
tables price a call as the provider that served it, and never price a self-hosted
server at a cloud's rate (docs/costs.md). No litellm needed: these run everywhere."""

from __future__ import annotations

import pytest

import hilt_costs
from hilt_litellm import providers

OPENAI_BASE = "https://api.openai.com/v1"


@pytest.mark.parametrize(
    ("name", "api_base", "expected"),
    [
        ("openai", OPENAI_BASE, "openai"),
        ("openai", None, "openai"),
        ("openai", "http://127.0.0.1:8000/v1", "openai-compatible"),
        ("text-completion-openai", OPENAI_BASE, "openai"),
        ("azure", "https://acme.openai.azure.com", "azure"),
        ("anthropic", "https://api.anthropic.com/v1/messages", "anthropic"),
        ("bedrock", None, "aws.bedrock"),
        ("vertex_ai", None, "gcp.vertex_ai"),
        ("gemini", None, "gcp.gen_ai"),
        ("together_ai", None, "together"),
        ("xai", None, "x-ai"),
        ("groq", None, "groq"),
        ("hosted_vllm", "http://127.0.0.1:8000/v1", "openai-compatible"),
        ("ollama", "http://localhost:11434", "openai-compatible"),
        ("custom_openai", "https://llm.corp", "openai-compatible"),
        ("openai_like", "https://llm.corp", "openai-compatible"),
        ("some_new_provider", None, "some_new_provider"),
        (None, None, "openai-compatible"),
    ],
)
def test_litellm_s_names_as_hilt_records_them(
    name: str | None, api_base: str | None, expected: str
) -> None:
    assert providers.provider(name, api_base) == expected


def test_endpoints_are_host_and_port() -> None:
    assert providers.endpoint("http://127.0.0.1:8000/v1/") == "127.0.0.1:8000"
    assert providers.endpoint("https://api.anthropic.com/v1/messages") == "api.anthropic.com"
    assert providers.endpoint("llm.corp:4000") == "llm.corp:4000"
    assert providers.endpoint(None) == ""


TOKENS = {"prompt": 1000, "completion": 100}


@pytest.mark.parametrize(
    ("name", "api_base", "model", "priced_as"),
    [
        ("openai", OPENAI_BASE, "gpt-4o", "openai/gpt-4o"),
        ("anthropic", "http://127.0.0.1:9/v1/messages", "claude-haiku-4-5", "anthropic/"),
        ("bedrock", None, "anthropic.claude-3-5-sonnet-20240620-v1:0", "aws/"),
        ("vertex_ai", None, "gemini-2.0-flash", "google/gemini-2.0-flash"),
        ("gemini", "https://gemini-proxy.corp", "gemini-2.0-flash", "google/gemini-2.0-flash"),
        ("groq", None, "llama-3.3-70b-versatile", "groq/"),
        ("deepseek", None, "deepseek-chat", "deepseek/"),
        ("xai", None, "grok-3", "x-ai/"),
    ],
)
def test_a_call_is_priced_as_the_provider_that_served_it(
    name: str, api_base: str | None, model: str, priced_as: str
) -> None:
    found = hilt_costs.estimate(
        model,
        TOKENS,
        provider=providers.provider(name, api_base),
        endpoint=providers.endpoint(api_base) or None,
    )
    assert found.cost_usd is not None, found.reason
    assert found.cost_usd > 0
    assert found.source is not None
    assert priced_as in found.source


@pytest.mark.parametrize(
    ("name", "api_base"),
    [
        ("hosted_vllm", "http://127.0.0.1:8000/v1"),
        ("ollama", "http://localhost:11434"),
        ("custom_openai", "https://llm.corp"),
        ("openai_like", "https://llm.corp"),
        ("openai", "http://127.0.0.1:8000/v1"),
    ],
)
def test_a_self_hosted_gpt_4o_is_not_priced(name: str, api_base: str) -> None:
    found = hilt_costs.estimate(
        "gpt-4o",
        TOKENS,
        provider=providers.provider(name, api_base),
        endpoint=providers.endpoint(api_base),
    )
    assert found.cost_usd is None
    assert found.reason is not None
    assert "is not a provider" in found.reason
