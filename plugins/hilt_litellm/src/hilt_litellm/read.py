"""LiteLLM's requests and responses as the provider contract's Prompt and Completion.

LiteLLM speaks OpenAI's shapes whatever provider it reaches: chat messages, a
``ModelResponse`` with ``choices`` and ``usage``, an ``EmbeddingResponse``, a Responses
API response. They are read as the OpenAI provider reads them, by the provider
contract's :mod:`hilt_core.provider.messages`, so that one conversation keeps its id and
its ``reply_to`` links whether a turn was recorded by the OpenAI provider (LiteLLM went
through the ``openai`` SDK) or here (tests/litellm check it across the two). Usage is
LiteLLM's own (:func:`usage_tokens`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hilt_core.provider import Completion, Prompt, tokens
from hilt_core.provider.messages import (
    chat_choices,
    chat_prompt,
    embeddings_read,
    get,
    inputs_prompt,
    responses_output,
    responses_prompt,
)


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


# -- requests (described on the writer thread) ---------------------------------------------
def describe_request(api: str, body: Mapping[str, Any]) -> Prompt:
    """The request LiteLLM was given (``body``: ``messages``, or ``input`` with
    ``instructions`` and ``previous_response_id`` for the Responses API) as a Prompt."""
    if api in ("chat.completions", "completions"):
        messages = body.get("messages")
        if isinstance(messages, Sequence) and not isinstance(messages, str):
            return chat_prompt(messages)
        raw = body.get("prompt")
        text = raw if isinstance(raw, str) else None
        return {"content": {"text": text}, "opening": ("", text or "")}
    if api == "responses":
        found = responses_prompt(body)
        if "said" in found and found["said"] is None:
            del found["said"]
        return found
    return inputs_prompt(api, body.get("input"))  # embeddings: the input is the prompt


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


def read_response(api: str, response: Any) -> Completion:
    """What the completion event says of a response LiteLLM returned."""
    extra: dict[str, Any] | None = None
    finish: Any = None
    content: dict[str, Any] | None
    if api == "embeddings":
        content = None
        extra = embeddings_read(response)
    elif get(response, "choices") is not None:  # chat (also a Responses call LiteLLM
        choices = get(response, "choices")  # bridged to chat)
        first = choices[0] if choices else None
        if first is not None and get(first, "message") is None:  # a text completion
            content, finish = {"text": get(first, "text")}, get(first, "finish_reason")
        else:
            parts = chat_choices(choices)
            content, finish = parts["content"], parts["finish_reason"]
    else:
        parts = responses_output(response)
        content, finish = parts["content"], parts["finish_reason"]
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


__all__ = ["describe_request", "get", "read_response", "usage_tokens"]
