"""Counted once. LiteLLM sends OpenAI-compatible calls through the ``openai`` SDK: with
HILT's OpenAI provider active, that provider records them (exactly one prompt and one
answer) and carries LiteLLM's context; HILT's LiteLLM logger writes nothing for them. A
call whose end LiteLLM reports twice is written once, and a direct ``openai`` call made
after a LiteLLM call in the same context is never taken for LiteLLM's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import openai  # noqa: E402

import hilt  # noqa: E402
from hilt_anthropic.testing import FakeAnthropic  # noqa: E402
from hilt_openai.testing import FakeOpenAI  # noqa: E402

from .conftest import Log, Witness, drop_callback  # noqa: E402
from .test_calls import anthropic_kw, openai_kw, start, user  # noqa: E402

BOTH = ("openai", "litellm")


def _is_openai_s(pair: tuple[dict[str, Any], dict[str, Any]]) -> bool:
    return pair[1]["actor"]["id"] == "openai"


def test_a_completion_through_the_openai_sdk_is_written_once(
    oai: FakeOpenAI, log: Log, witness: Witness
) -> None:
    start(log, witness, *BOTH)
    litellm.completion(
        messages=user("once"), user="alice", litellm_session_id="s-1", **openai_kw(oai)
    )
    witness.wait(1)
    prompt, answer = log.one()
    assert answer["actor"]["id"] == "openai"  # the OpenAI provider recorded it
    assert prompt["session_id"] == answer["session_id"] == "s-1"
    for event in (prompt, answer):
        ext = event["extensions"]
        assert ext["litellm_provider"] == "openai"
        assert ext["user_id"] == "alice"
        assert ext["litellm_call_id"] == witness.seen[0][1]
    assert answer["extensions"]["attempts"] == 1


def test_async_streams_embeddings_and_errors_are_written_once(
    oai: FakeOpenAI, log: Log, witness: Witness
) -> None:
    start(log, witness, *BOTH)

    async def main() -> None:
        await litellm.acompletion(messages=user("async once"), **openai_kw(oai))
        stream = await litellm.acompletion(
            messages=user("async stream once"), stream=True, **openai_kw(oai)
        )
        async for _ in stream:
            pass
        # LiteLLM prepares these two on an executor thread and sends them from this task
        await litellm.aembedding(input="embed once", **openai_kw(oai, "openai/emb"))
        await litellm.atext_completion(prompt="text once", **openai_kw(oai, "openai/instruct"))
        oai.fail_next(400)
        with pytest.raises(litellm.BadRequestError):
            await litellm.acompletion(messages=user("fail once"), **openai_kw(oai))
        await witness.await_(5)

    asyncio.run(main())
    for c in litellm.completion(messages=user("sync stream once"), stream=True, **openai_kw(oai)):
        del c
    witness.wait(6)
    pairs = log.calls()
    assert len(pairs) == 6
    assert all(_is_openai_s(p) for p in pairs)
    assert [p["extensions"]["litellm_provider"] for p, _ in pairs] == [
        "openai",
        "openai",
        "openai",
        "text-completion-openai",
        "openai",
        "openai",
    ]
    texts = [p["content"]["text"] for p, _ in pairs]
    assert texts == [
        "async once",
        "async stream once",
        "embed once",
        "text once",
        "fail once",
        "sync stream once",
    ]
    assert [a["action"] for _, a in pairs] == ["completion"] * 4 + ["system", "completion"]


def test_a_router_fallback_after_a_429_records_both_attempts_once(
    log: Log, witness: Witness
) -> None:
    with FakeOpenAI() as main_srv, FakeOpenAI() as backup_srv:
        router = litellm.Router(
            model_list=[
                {"model_name": "main", "litellm_params": openai_kw(main_srv)},
                {"model_name": "backup", "litellm_params": openai_kw(backup_srv, "openai/mini")},
            ],
            fallbacks=[{"main": ["backup"]}],
            num_retries=0,
        )
        for i, providers in enumerate((BOTH, ("litellm",))):
            start(log, witness, *providers)
            main_srv.fail_next(429)
            reply = router.completion(model="main", messages=user(f"route {providers[0]}"))
            assert reply.model == "mini"
            witness.wait(2 * (i + 1))
            *_, (p1, error), (p2, answer) = log.calls()
            who = "openai" if providers == BOTH else "litellm"
            assert error["action"] == "system"
            assert error["extensions"]["status_code"] == 429
            assert error["extensions"]["endpoint"] == f"127.0.0.1:{main_srv.port}"
            assert p1["extensions"]["litellm_model_group"] == "main"
            assert answer["action"] == "completion"
            assert answer["extensions"]["endpoint"] == f"127.0.0.1:{backup_srv.port}"
            assert p2["extensions"]["litellm_model_group"] == "backup"
            assert error["actor"]["id"] == answer["actor"]["id"] == who
            hilt.uninstrument()
            drop_callback(witness.logger)  # added again after HILT's next logger


def test_an_async_router_fallback_is_recorded(log: Log, witness: Witness) -> None:
    with FakeOpenAI() as main_srv, FakeAnthropic() as backup_srv:
        router = litellm.Router(
            model_list=[
                {"model_name": "main", "litellm_params": openai_kw(main_srv)},
                {"model_name": "backup", "litellm_params": anthropic_kw(backup_srv)},
            ],
            fallbacks=[{"main": ["backup"]}],
            num_retries=0,
        )
        start(log, witness, *BOTH)
        main_srv.fail_next(429)

        async def main() -> None:
            await router.acompletion(model="main", messages=user("fall back"))
            await witness.await_(2)

        asyncio.run(main())
    (_, error), (_, answer) = log.calls()
    assert error["actor"]["id"] == "openai"  # through the openai SDK: its provider's
    assert error["extensions"]["status_code"] == 429
    assert answer["actor"]["id"] == "litellm"  # LiteLLM's own Anthropic handler: ours
    assert answer["extensions"]["provider"] == "anthropic"
    assert answer["content"]["text"] == "Echo: fall back"


def test_a_stream_whose_end_is_reported_twice_is_written_once(
    ant: FakeAnthropic, log: Log, witness: Witness
) -> None:
    # LiteLLM has reported the end of one streamed call to both the sync and the async
    # success callbacks (litellm#14340; 1.110 reports it once). Its own Logging object
    # reports it again here, to the async callbacks, after the sync ones had it.
    start(log, witness)
    stream = litellm.completion(messages=user("twice"), stream=True, **anthropic_kw(ant))
    chunks = list(stream)
    witness.wait(1)
    complete = litellm.stream_chunk_builder(chunks, messages=user("twice"))
    asyncio.run(stream.logging_obj.async_success_handler(complete, None, None))
    (_, first), (_, second) = witness.wait(2)
    assert first == second  # the same call, reported twice
    _prompt, answer = log.one()  # written once
    assert answer["content"]["text"] == "Echo: twice"


@pytest.mark.parametrize("route", ["anthropic", "hosted_vllm"])
def test_a_direct_openai_call_after_a_litellm_call_is_not_litellm_s(
    oai: FakeOpenAI, ant: FakeAnthropic, log: Log, witness: Witness, route: str
) -> None:
    # LiteLLM's own HTTP handler served the call: no provider claimed it. Its end is
    # reported later, on another thread; the app's next openai call, in the same context,
    # must neither be stamped as LiteLLM's nor keep LiteLLM's call from being recorded.
    kw = anthropic_kw(ant) if route == "anthropic" else openai_kw(oai, "hosted_vllm/llama")
    start(log, witness, *BOTH)
    client = openai.OpenAI(base_url=oai.base_url, api_key="test", max_retries=0)

    async def main() -> None:
        await litellm.acompletion(messages=user("through litellm"), **kw)
        await asyncio.to_thread(lambda: None)  # the app goes on before LiteLLM's callback
        client.chat.completions.create(model="gpt-4o", messages=user("direct"))
        await witness.await_(2)

    litellm.completion(messages=user("through litellm"), **kw)
    client.chat.completions.create(model="gpt-4o", messages=user("direct"))
    witness.wait(1)
    asyncio.run(main())
    client.close()
    pairs = log.calls()
    assert len(pairs) == 4
    for prompt, answer in pairs:
        direct = prompt["content"]["text"] == "direct"
        assert ("litellm_call_id" in prompt["extensions"]) is not direct
        assert ("litellm_call_id" in answer["extensions"]) is not direct
        if direct:
            assert answer["actor"]["id"] == "openai"


def test_one_conversation_across_routes_keeps_its_id_and_links(
    oai: FakeOpenAI, ant: FakeAnthropic, log: Log, witness: Witness, word: str
) -> None:
    # Turn 1 goes through the openai SDK (the OpenAI provider records it), turn 2 to
    # Anthropic through LiteLLM's handler (recorded here): one conversation, linked.
    start(log, witness, *BOTH)
    messages = user(f"first {word}")
    first = litellm.completion(messages=messages, **openai_kw(oai))
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "second"},
    ]
    litellm.completion(messages=messages, **anthropic_kw(ant))
    witness.wait(2)
    (p1, a1), (p2, a2) = log.calls()
    assert a1["actor"]["id"] == "openai"
    assert a2["actor"]["id"] == "litellm"
    assert p1["session_id"] == a1["session_id"] == p2["session_id"] == a2["session_id"]
    assert p2["content"]["text"] == "second"
    assert p2["extensions"]["reply_to"] == a1["event_id"]
