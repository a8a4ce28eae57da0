"""Calls LiteLLM makes without an instrumented SDK under it are recorded by HILT's LiteLLM
logger: OpenAI-compatible servers through LiteLLM's ``openai`` route when only the
LiteLLM integration is active, Anthropic through LiteLLM's own HTTP handler, a local vLLM,
the Responses API, embeddings; sync and async, streamed or not, and errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import hilt  # noqa: E402
from hilt_anthropic.testing import FakeAnthropic  # noqa: E402
from hilt_core.provider import opening_id  # noqa: E402
from hilt_openai.testing import FakeOpenAI  # noqa: E402

from .conftest import Log, Witness  # noqa: E402

SYSTEM = {"role": "system", "content": "be brief"}


def start(log: Log, witness: Witness, *providers: str, **options: Any) -> None:
    log.instrument(*providers, **options)
    litellm.callbacks.append(witness.logger)  # after HILT's: it sees each end after it


def openai_kw(srv: FakeOpenAI, model: str = "openai/gpt-4o") -> dict[str, Any]:
    return {"model": model, "api_base": srv.base_url, "api_key": "test"}


def anthropic_kw(srv: FakeAnthropic) -> dict[str, Any]:
    return {"model": "anthropic/claude-haiku-4-5", "api_base": srv.base_url, "api_key": "test"}


def user(text: str) -> list[dict[str, str]]:
    return [SYSTEM, {"role": "user", "content": text}]


def test_a_completion_is_a_linked_prompt_and_completion(
    oai: FakeOpenAI, log: Log, witness: Witness, word: str
) -> None:
    start(log, witness)
    reply = litellm.completion(messages=user(f"hello {word}"), **openai_kw(oai))
    witness.wait(1)
    prompt, answer = log.one()
    assert prompt["content"]["text"] == f"hello {word}"
    assert prompt["actor"] == {"type": "human", "id": "user"}
    assert answer["actor"] == {"type": "agent", "id": "litellm"}
    assert answer["content"]["text"] == reply.choices[0].message.content
    assert prompt["session_id"] == answer["session_id"] == opening_id("be brief", f"hello {word}")
    ext = answer["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert ext["api"] == prompt["extensions"]["api"] == "chat.completions"
    assert ext["provider"] == "openai-compatible"  # LiteLLM's openai route, not OpenAI's host
    assert ext["endpoint"] == f"127.0.0.1:{oai.port}"
    assert ext["litellm_provider"] == prompt["extensions"]["litellm_provider"] == "openai"
    assert ext["litellm_call_id"] == prompt["extensions"]["litellm_call_id"]
    assert ext["request_model"] == prompt["extensions"]["model"] == "gpt-4o"
    assert ext["model"] == "gpt-4o-2024-08-06"
    assert ext["status_code"] == 200
    assert ext["finish_reason"] == "stop"
    assert ext["response_id"] == reply.id
    assert ext["stream"] is False
    # words, as the fake counts: "be brief hello <word>" and "Echo: hello <word>"
    assert answer["metrics"]["tokens"] == {"prompt": 4, "completion": 3, "total": 7}
    assert answer["metrics"]["latency_ms"] > 0
    assert isinstance(ext["litellm_response_cost"], float)


def test_the_events_carry_the_call_s_own_times(oai: FakeOpenAI, log: Log, witness: Witness) -> None:
    oai.stall_next(0.5)
    start(log, witness)
    litellm.completion(messages=user("slow"), **openai_kw(oai))
    witness.wait(1)
    prompt, answer = log.one()
    assert answer["metrics"]["latency_ms"] >= 500
    assert prompt["timestamp"] < answer["timestamp"]


def test_acompletion_is_recorded(oai: FakeOpenAI, log: Log, witness: Witness) -> None:
    start(log, witness)

    async def main() -> None:
        await litellm.acompletion(messages=user("async hello"), **openai_kw(oai))
        await witness.await_(1)

    asyncio.run(main())
    prompt, answer = log.one()
    assert prompt["content"]["text"] == "async hello"
    assert answer["content"]["text"] == "Echo: async hello"
    assert answer["extensions"]["litellm_provider"] == "openai"


def test_a_sync_stream_is_recorded_when_it_ends(
    oai: FakeOpenAI, log: Log, witness: Witness
) -> None:
    start(log, witness)
    chunks = list(litellm.completion(messages=user("stream me"), stream=True, **openai_kw(oai)))
    assert len(chunks) > 2
    witness.wait(1)
    prompt, answer = log.one()
    assert answer["content"]["text"] == "Echo: stream me"
    assert answer["extensions"]["stream"] is True
    assert answer["extensions"]["reply_to"] == prompt["event_id"]
    assert 0 < answer["metrics"]["ttft_ms"] <= answer["metrics"]["latency_ms"]


def test_an_async_stream_is_recorded_when_it_ends(
    ant: FakeAnthropic, log: Log, witness: Witness
) -> None:
    start(log, witness)

    async def main() -> None:
        stream = await litellm.acompletion(
            messages=user("stream async"), stream=True, **anthropic_kw(ant)
        )
        async for _ in stream:
            pass
        await witness.await_(1)

    asyncio.run(main())
    _prompt, answer = log.one()
    assert answer["content"]["text"] == "Echo: stream async"
    assert answer["extensions"]["stream"] is True
    assert answer["extensions"]["provider"] == "anthropic"
    assert answer["metrics"]["ttft_ms"] > 0


def test_anthropic_through_litellm_s_own_handler_is_priced_by_hilt(
    log: Log, witness: Witness
) -> None:
    with FakeAnthropic(cache_read_tokens=5, cache_creation_tokens=3) as ant:
        start(log, witness)
        litellm.completion(messages=user("hello there"), **anthropic_kw(ant))
        witness.wait(1)
        port = ant.port
    prompt, answer = log.one()
    ext = answer["extensions"]
    assert ext["provider"] == prompt["extensions"]["provider"] == "anthropic"
    assert ext["litellm_provider"] == "anthropic"
    assert ext["endpoint"] == f"127.0.0.1:{port}"
    # HILT's meaning: prompt counts every input token, the cache read and written included
    tokens = answer["metrics"]["tokens"]
    assert tokens == {"prompt": 4 + 5 + 3, "completion": 3, "total": 15, "cached": 5,
                      "cache_write": 3}  # fmt: skip
    # HILT's price tables price it; LiteLLM's own figure is kept beside it
    assert answer["metrics"]["cost_usd"] > 0
    assert answer["metrics"]["cost_source"].endswith("anthropic/claude-haiku-4-5")
    assert isinstance(ext["litellm_response_cost"], float)


def test_a_local_vllm_is_recorded_and_not_priced(
    oai: FakeOpenAI, log: Log, witness: Witness
) -> None:
    start(log, witness)
    litellm.completion(messages=user("local"), **openai_kw(oai, "hosted_vllm/gpt-4o"))
    witness.wait(1)
    _prompt, answer = log.one()
    ext = answer["extensions"]
    assert ext["litellm_provider"] == "hosted_vllm"
    assert ext["provider"] == "openai-compatible"
    # gpt-4o served by a local server is not priced at OpenAI's rate (docs/costs.md)
    assert "cost_usd" not in answer["metrics"]
    assert "is not a provider" in answer["metrics"]["cost_unknown_reason"]


def test_embeddings_are_recorded(oai: FakeOpenAI, log: Log, witness: Witness) -> None:
    start(log, witness)
    litellm.embedding(input=["first text", "second"], **openai_kw(oai, "hosted_vllm/emb"))
    witness.wait(1)
    prompt, answer = log.one()
    assert prompt["extensions"]["api"] == "embeddings"
    assert prompt["content"]["text"] == "first text"
    assert prompt["content"]["inputs"] == 2
    assert answer.get("content") is None  # the vectors are not logged
    assert answer["extensions"]["embeddings"] == 2
    assert answer["extensions"]["dimensions"] == 8
    assert answer["metrics"]["tokens"]["prompt"] == 3


def test_the_responses_api_is_recorded(oai: FakeOpenAI, log: Log, witness: Witness) -> None:
    start(log, witness)
    reply = litellm.responses(input="hello responses", **openai_kw(oai))
    witness.wait(1)
    prompt, answer = log.one()
    assert prompt["extensions"]["api"] == "responses"
    assert prompt["content"]["text"] == "hello responses"
    assert answer["content"]["text"] == "Echo: hello responses"
    assert answer["extensions"]["response_id"] == reply.id
    assert answer["metrics"]["tokens"]["completion"] > 0


@pytest.mark.parametrize("status", [429, 500])
def test_an_error_is_recorded_and_reaches_the_app_unchanged(
    oai: FakeOpenAI, log: Log, witness: Witness, status: int
) -> None:
    raised = litellm.InternalServerError if status == 500 else litellm.RateLimitError
    oai.fail_next(status)
    with pytest.raises(raised) as plain:
        litellm.completion(messages=user("fails"), max_retries=0, **openai_kw(oai))
    start(log, witness)
    oai.fail_next(status)
    with pytest.raises(raised) as info:
        litellm.completion(messages=user("fails"), max_retries=0, **openai_kw(oai))
    assert str(info.value) == str(plain.value)
    witness.wait(1)
    prompt, error = log.one()
    assert error["action"] == "system"
    assert error["actor"] == {"type": "system", "id": "litellm"}
    ext = error["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert ext["error_code"] == "api_error"
    assert ext["error_type"] == type(info.value).__name__
    assert ext["status_code"] == status
    assert ext["litellm_provider"] == "openai"
    assert error["metrics"]["latency_ms"] > 0


def test_an_anthropic_error_is_recorded(ant: FakeAnthropic, log: Log, witness: Witness) -> None:
    start(log, witness)
    ant.fail_next(429)

    async def main() -> None:
        with pytest.raises(litellm.RateLimitError):
            await litellm.acompletion(messages=user("overloaded"), **anthropic_kw(ant))
        await witness.await_(1)

    asyncio.run(main())
    _prompt, error = log.one()
    assert error["extensions"]["status_code"] == 429
    assert error["extensions"]["error_type"] == "RateLimitError"
    assert error["extensions"]["provider"] == "anthropic"


def test_the_app_sees_the_same_result(oai: FakeOpenAI, log: Log, witness: Witness) -> None:
    def view(reply: Any) -> dict[str, Any]:
        data: dict[str, Any] = reply.model_dump()
        for key in ("id", "created"):
            data.pop(key, None)
        return data

    plain = view(litellm.completion(messages=user("same"), **openai_kw(oai)))
    start(log, witness)
    got = view(litellm.completion(messages=user("same"), **openai_kw(oai)))
    assert got == plain


def test_the_prompt_is_the_request_as_sent(oai: FakeOpenAI, log: Log, witness: Witness) -> None:
    # An agent loop appends the answer to its messages list at once; the prompt recorded
    # later (the callback runs after the call) must be the request as it was sent.
    start(log, witness)
    messages = user("first question")
    for c in litellm.completion(messages=messages, stream=True, **openai_kw(oai)):
        del c
    messages.append({"role": "assistant", "content": "Echo: first question"})
    witness.wait(1)
    prompt, _ = log.one()
    assert prompt["content"]["text"] == "first question"
    assert [m["role"] for m in prompt["content"]["messages"]] == ["system", "user"]


def test_litellm_s_session_id_is_the_conversation_and_user_is_the_user(
    oai: FakeOpenAI, ant: FakeAnthropic, log: Log, witness: Witness
) -> None:
    start(log, witness)
    litellm.completion(
        messages=user("a"), litellm_session_id="chat-7", user="alice", **openai_kw(oai)
    )
    litellm.completion(
        messages=user("b"),
        metadata={"session_id": "chat-8", "user_id": "bob"},
        **anthropic_kw(ant),
    )
    with hilt.conversation("ticket-1"), hilt.scope(user_id="carol"):
        litellm.completion(
            messages=user("c"), litellm_session_id="chat-9", user="dave", **openai_kw(oai)
        )
        # LiteLLM reports a sync stream's end on a thread of its pool, outside this context
        stream = litellm.completion(messages=user("d"), stream=True, **anthropic_kw(ant))
        for chunk in stream:
            del chunk
    witness.wait(4)
    pairs = log.calls()
    by_text = {p["content"]["text"]: (p, a) for p, a in pairs}
    for text, conversation, who in (
        ("a", "chat-7", "alice"),
        ("b", "chat-8", "bob"),
        ("c", "ticket-1", "carol"),  # the application's hilt.conversation / hilt.scope win
        ("d", "ticket-1", "carol"),
    ):
        prompt, answer = by_text[text]
        assert prompt["session_id"] == answer["session_id"] == conversation
        assert prompt["extensions"]["user_id"] == answer["extensions"]["user_id"] == who


def test_nothing_is_recorded_after_uninstrument(
    oai: FakeOpenAI, log: Log, witness: Witness
) -> None:
    start(log, witness)
    hilt.uninstrument()
    litellm.callbacks.append(witness.logger)
    litellm.completion(messages=user("after"), **openai_kw(oai))
    witness.wait(1)
    assert log.events() == []
