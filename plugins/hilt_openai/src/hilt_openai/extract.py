"""OpenAI's token counts, and the readers of its shapes the provider uses.

The reading of OpenAI's messages, choices and Responses API output is the provider
contract's (:mod:`hilt_core.provider.messages`), shared with LiteLLM, which speaks the
same shapes; what is the OpenAI SDK's own, its usage objects, is read here. Responses are
the SDK's own pydantic objects, read by attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hilt_core.provider.messages import ATTRIBUTE_TYPES, get, responses_output

_USAGE_KEYS = (
    ("prompt_tokens", "prompt"),
    ("completion_tokens", "completion"),
    ("total_tokens", "total"),
)
_RESPONSES_USAGE_KEYS = (("input_tokens", "prompt"), ("output_tokens", "completion"))


def chat_usage(usage: Any) -> dict[str, int] | None:
    """Token counts of a chat, responses or embeddings usage (object or dict)."""
    if usage is None:
        return None
    kind = type(usage)
    if kind is not dict and (kind in ATTRIBUTE_TYPES or not isinstance(usage, Mapping)):
        # The SDK's CompletionUsage: read by attribute, without get() per field.
        prompt = getattr(usage, "prompt_tokens", None)
        if type(prompt) is int:
            tokens: dict[str, int] = {"prompt": prompt}
            value = getattr(usage, "completion_tokens", None)
            if type(value) is int:
                tokens["completion"] = value
            value = getattr(usage, "total_tokens", None)
            tokens["total"] = value if type(value) is int else prompt + tokens.get("completion", 0)
            details = getattr(usage, "prompt_tokens_details", None)
            if details is not None:
                value = get(details, "cached_tokens")
                if type(value) is int:
                    tokens["cached"] = value
            details = getattr(usage, "completion_tokens_details", None)
            if details is not None:
                value = get(details, "reasoning_tokens")
                if type(value) is int:
                    tokens["reasoning"] = value
            return tokens
    chat = get(usage, "prompt_tokens") is not None
    tokens = {}
    for key, name in _USAGE_KEYS if chat else _RESPONSES_USAGE_KEYS + _USAGE_KEYS[2:]:
        value = get(usage, key)
        if type(value) is int:
            tokens[name] = value
    details = get(usage, "prompt_tokens_details" if chat else "input_tokens_details")
    if details is not None:
        cached = get(details, "cached_tokens")
        if type(cached) is int:
            tokens["cached"] = cached
    details = get(usage, "completion_tokens_details" if chat else "output_tokens_details")
    if details is not None:
        reasoning = get(details, "reasoning_tokens")
        if type(reasoning) is int:
            tokens["reasoning"] = reasoning
    if "total" not in tokens and "prompt" in tokens:
        tokens["total"] = tokens["prompt"] + tokens.get("completion", 0)
    return tokens


__all__ = ["ATTRIBUTE_TYPES", "chat_usage", "get", "responses_output"]
