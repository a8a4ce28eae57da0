"""Model calls the LangChain layer records itself: those of a chat model (or LLM) whose SDK
no HILT provider plugin captured (a fake or custom model, an SDK HILT does not cover).

They go through the provider contract's :class:`~hilt_core.provider.Call`, like a
provider's: the same prompt / completion / error events, conversation ids, links and
costs. The request is described from the messages LangChain handed the model; the answer
and its tokens from the run's ``LLMResult`` (``usage_metadata``, LangChain's standard
counts: input tokens include cached ones, output tokens include reasoning, as in HILT).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from hilt_core.provider import Completion, Prompt, tokens
from hilt_langchain.readable import content_text, describe, opening, role_of, tool_calls_of

API_CHAT = "langchain.chat_model"
API_LLM = "langchain.llm"


class LangChainAdapter:
    """Describes a request from the messages LangChain handed the model. ``name`` is the
    provider LangChain names (``ls_provider``: ``openai``, ``anthropic``, or a custom
    model's class name), the actor id of the answers."""

    def __init__(self, name: str) -> None:
        self.name = name

    def prompt(self, api: str, body: Mapping[str, Any]) -> Prompt:
        turn: list[dict[str, Any]] = body.get("turn") or []
        found: Prompt = {"opening": body.get("opening") or (None, None)}
        text = None
        for d in reversed(turn):
            if d["role"] == "user" and d.get("text") is not None:
                text = d["text"]
                break
        if text is None:  # a turn of tool results: their texts
            text = "\n".join(d["text"] for d in turn if d.get("text")) or None
        content: dict[str, Any] = {"text": text}
        if len(turn) > 1 or any(d["role"] != "user" or set(d) - {"role", "text"} for d in turn):
            content["messages"] = turn
        found["content"] = content
        if "said" in body:
            found["said"] = body["said"]
        return found


_ADAPTERS: dict[str, LangChainAdapter] = {}


def adapter_for(provider: str) -> LangChainAdapter:
    found = _ADAPTERS.get(provider)
    if found is None:
        found = _ADAPTERS[provider] = LangChainAdapter(provider)
    return found


def request_body(model: str | None, messages: Sequence[BaseMessage] | None) -> dict[str, Any]:
    """What the adapter reads (on the writer thread), made of plain values here."""
    body: dict[str, Any] = {"model": model}
    if not messages:
        return body
    last_ai = None
    for i in range(len(messages) - 1, -1, -1):
        if role_of(messages[i]) == "assistant":
            last_ai = i
            break
    turn = messages[last_ai + 1 :] if last_ai is not None else messages
    body["turn"] = [describe(m) for m in turn]
    body["opening"] = opening(messages)
    if last_ai is not None:
        body["said"] = content_text(messages[last_ai].content)
    return body


def _count(details: Any, key: str) -> Any:
    return details.get(key) if isinstance(details, Mapping) else None


def usage_tokens(usage: Any) -> dict[str, int] | None:
    """``metrics.tokens`` from LangChain's ``usage_metadata``."""
    if not isinstance(usage, Mapping):
        return None
    return tokens(
        prompt=usage.get("input_tokens"),
        completion=usage.get("output_tokens"),
        total=usage.get("total_tokens"),
        cached=_count(usage.get("input_token_details"), "cache_read"),
        cache_write=_count(usage.get("input_token_details"), "cache_creation"),
        reasoning=_count(usage.get("output_token_details"), "reasoning"),
    )


def _llm_output_tokens(result: LLMResult) -> dict[str, int] | None:
    # Text-completion LLMs report usage in llm_output (OpenAI's "token_usage").
    usage = (result.llm_output or {}).get("token_usage")
    if not isinstance(usage, Mapping):
        return None
    return tokens(
        prompt=usage.get("prompt_tokens"),
        completion=usage.get("completion_tokens"),
        total=usage.get("total_tokens"),
    )


def read_result(result: LLMResult) -> Completion:
    """The completion of a model run (its first generation; the answer, tool calls,
    finish reason, model, response id and tokens)."""
    found: Completion = {}
    generations = result.generations[0] if result.generations else []
    if not generations:
        found["content"] = {"text": None}
        return found
    gen = generations[0]
    info = gen.generation_info or {}
    if isinstance(gen, ChatGeneration):
        message = gen.message
        meta = message.response_metadata or {}
        # LangChain writes "" for an answer without text (a tool call): HILT leaves it out.
        content: dict[str, Any] = {"text": content_text(message.content) or None}
        calls = tool_calls_of(message)
        if calls:
            content["tool_calls"] = calls
        found["content"] = content
        found["tokens"] = usage_tokens(getattr(message, "usage_metadata", None))
        reason = meta.get("finish_reason") or meta.get("stop_reason") or info.get("finish_reason")
        model = meta.get("model_name") or meta.get("model")
        response_id = meta.get("id")
    else:
        found["content"] = {"text": gen.text}
        found["tokens"] = _llm_output_tokens(result)
        reason = info.get("finish_reason")
        model = (result.llm_output or {}).get("model_name")
        response_id = None
    if reason is not None:
        found["finish_reason"] = str(reason)
    if isinstance(model, str) and model:
        found["model"] = model
    if isinstance(response_id, str) and response_id:
        found["response_id"] = response_id
    return found
