"""messages.create: the app sees exactly what it saw uninstrumented, and each call is one
prompt event (the new input of the turn) and one completion event linked by reply_to, with
the model asked and the model that answered, the stop reason, tool calls, thinking apart
from the answer, and tokens in HILT's meaning."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import pytest
from anthropic.types import Usage

from hilt_anthropic.testing import FakeAnthropic

from .conftest import MODEL, SNAPSHOT, Harness

HAS_THINKING_DETAILS = "output_tokens_details" in Usage.model_fields  # anthropic 0.105 on
WEATHER = {
    "name": "get_weather",
    "description": "Weather of a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    },
}


def ask(client: Any, text: str, **kwargs: Any) -> Any:
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("max_tokens", 100)
    kwargs.setdefault("messages", [{"role": "user", "content": text}])
    return client.messages.create(**kwargs)


def test_sync_create_same_result_and_linked_events(client: Any, h: Harness, word: str) -> None:
    plain = ask(client, f"hello {word}", system="be brief")
    h.instrument()
    got = ask(client, f"hello {word}", system="be brief")
    h.same(plain, got)
    assert type(got) is anthropic.types.Message
    prompt, done = h.one()
    assert prompt["actor"] == {"type": "human", "id": "user"}
    # the conversation starts: its system prompt is part of the prompt
    assert prompt["content"] == {"text": f"hello {word}", "system": "be brief"}
    assert prompt["extensions"]["api"] == "messages"
    assert prompt["extensions"]["model"] == MODEL
    assert done["actor"] == {"type": "agent", "id": "anthropic"}
    assert done["content"] == {"text": f"Echo: hello {word}"}
    ext = done["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert (ext["model"], ext["request_model"]) == (SNAPSHOT, MODEL)
    assert ext["finish_reason"] == "end_turn"
    assert ext["response_id"] == got.id
    assert ext["status_code"] == 200
    assert ext["attempts"] == 1
    assert ext["stream"] is False
    if "service_tier" in Usage.model_fields:  # anthropic 0.60 on
        assert ext["service_tier"] == "standard"
    assert done["session_id"] == prompt["session_id"]
    assert done["metrics"]["tokens"] == {
        "prompt": got.usage.input_tokens,
        "completion": got.usage.output_tokens,
        "total": got.usage.input_tokens + got.usage.output_tokens,
        "cached": 0,
        "cache_write": 0,
    }


def test_async_create(srv: FakeAnthropic, h: Harness, word: str) -> None:
    async def run() -> Any:
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k") as c:
            return await asyncio.gather(*(ask(c, f"async {word} {i}") for i in range(3)))

    plain = asyncio.run(run())
    h.instrument()
    got = asyncio.run(run())
    h.same(plain, got)
    pairs = h.calls()
    assert sorted(p["content"]["text"] for p, _ in pairs) == [f"async {word} {i}" for i in range(3)]
    for prompt, done in pairs:
        assert done["content"]["text"] == "Echo: " + prompt["content"]["text"]


def test_clients_made_before_and_after_instrument(srv: FakeAnthropic, h: Harness) -> None:
    before = anthropic.Anthropic(base_url=srv.base_url, api_key="k")
    h.instrument()
    after = anthropic.Anthropic(base_url=srv.base_url, api_key="k")
    ask(before, "made before")
    ask(after, "made after")
    texts = [p["content"]["text"] for p, _ in h.calls()]
    assert texts == ["made before", "made after"]


def test_no_session_no_events_and_the_call_untouched(client: Any, h: Harness) -> None:
    h.instrument(providers=[])
    ask(client, "not recorded")
    assert h.events() == []


def test_cache_tokens_count_in_the_prompt(srv: FakeAnthropic, client: Any, hi: Harness) -> None:
    srv.cache_creation_tokens, srv.cache_read_tokens = 7, 40
    got = ask(client, "cached context")
    _, done = hi.one()
    usage = got.usage
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (7, 40)
    prompt = usage.input_tokens + 7 + 40  # input_tokens excludes the cached tokens
    assert done["metrics"]["tokens"] == {
        "prompt": prompt,
        "completion": usage.output_tokens,
        "total": prompt + usage.output_tokens,
        "cached": 40,
        "cache_write": 7,
    }


def test_thinking_is_kept_apart_from_the_answer(client: Any, hi: Harness, word: str) -> None:
    got = ask(client, f"think {word}", thinking={"type": "enabled", "budget_tokens": 1024})
    assert [b.type for b in got.content] == ["thinking", "text"]
    prompt, done = hi.one()
    assert prompt["extensions"]["thinking_type"] == "enabled"
    assert prompt["extensions"]["thinking_budget"] == 1024
    assert done["content"]["text"] == f"Echo: think {word}"
    assert done["content"]["thinking"] == f"Thinking about: think {word}"
    tokens = done["metrics"]["tokens"]
    if HAS_THINKING_DETAILS:
        assert tokens["reasoning"] == got.usage.output_tokens_details.thinking_tokens == 4
    else:
        assert "reasoning" not in tokens
    assert tokens["completion"] == got.usage.output_tokens


def test_redacted_thinking_is_counted_not_copied(
    srv: FakeAnthropic, client: Any, hi: Harness
) -> None:
    srv.reply_next({"type": "redacted_thinking", "data": "ENCRYPTED-BLOB"}, "the answer")
    ask(client, "hidden thoughts")
    _, done = hi.one()
    assert done["content"] == {"text": "the answer", "redacted_thinking": 1}
    assert "ENCRYPTED-BLOB" not in json.dumps(done)


def test_tool_calls(client: Any, hi: Harness, word: str) -> None:
    got = ask(client, f"use tool {word}", tools=[WEATHER])
    tool = got.content[1]
    assert tool.type == "tool_use"
    _, done = hi.one()
    assert done["content"]["text"] == f"Echo: use tool {word}"
    assert done["content"]["tool_calls"] == [
        {"id": tool.id, "name": "get_weather", "arguments": '{"city":"x","days":1}'}
    ]
    assert done["extensions"]["tool_calls"] == 1
    assert done["extensions"]["finish_reason"] == "tool_use"


def test_stop_sequence(client: Any, hi: Harness) -> None:
    ask(client, "one two STOP three", stop_sequences=["STOP"])
    _, done = hi.one()
    assert done["extensions"]["finish_reason"] == "stop_sequence"
    assert done["extensions"]["stop_sequence"] == "STOP"


def test_a_tool_round_trip_is_one_conversation(client: Any, hi: Harness, word: str) -> None:
    history: list[Any] = [{"role": "user", "content": f"use tool {word}"}]
    first = ask(client, "", messages=history, tools=[WEATHER], system="weather bot")
    tool = first.content[1]
    history += [
        {"role": "assistant", "content": first.content},  # the SDK's blocks, sent back
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": tool.id, "content": "sunny, 21 C"},
                {"type": "text", "text": "and tomorrow?"},
            ],
        },
    ]
    ask(client, "", messages=history, tools=[WEATHER], system="weather bot")
    (p1, d1), (p2, d2) = hi.calls()
    assert p1["session_id"] == d1["session_id"] == p2["session_id"] == d2["session_id"]
    assert p2["extensions"]["reply_to"] == d1["event_id"]
    assert "system" not in p2["content"]  # said once, when the conversation started
    assert p2["content"] == {
        "text": "and tomorrow?",
        "messages": [
            {"role": "tool", "tool_call_id": tool.id, "text": "sunny, 21 C"},
            {"role": "user", "text": "and tomorrow?"},
        ],
    }


def test_content_blocks_are_described_not_copied(client: Any, hi: Harness) -> None:
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5"
        "ErkJggg=="
    )
    pdf = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK"
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {
            "type": "document",
            "title": "Contract",
            "source": {"type": "base64", "media_type": "application/pdf", "data": pdf},
        },
        {"type": "text", "text": "What are these?"},
    ]
    ask(client, "", messages=[{"role": "user", "content": content}])
    prompt, _ = hi.one()
    assert png not in json.dumps(prompt)
    assert pdf not in json.dumps(prompt)
    assert prompt["content"] == {
        "text": "What are these?",
        "messages": [
            {
                "role": "user",
                "text": "What are these?",
                "parts": [
                    {"type": "image", "source": "base64", "media_type": "image/png"},
                    {"type": "image", "source": "url", "url": "https://example.com/cat.jpg"},
                    {
                        "type": "document",
                        "source": "base64",
                        "media_type": "application/pdf",
                        "title": "Contract",
                    },
                ],
            }
        ],
    }


def test_a_prefill_belongs_to_the_turn(client: Any, hi: Harness, word: str) -> None:
    messages = [
        {"role": "user", "content": f"Name a colour {word}"},
        {"role": "assistant", "content": "The colour is"},
    ]
    ask(client, "", messages=messages)
    prompt, _ = hi.one()
    assert prompt["content"] == {
        "text": f"Name a colour {word}",
        "messages": [
            {"role": "user", "text": f"Name a colour {word}"},
            {"role": "assistant", "text": "The colour is"},
        ],
    }
    assert "reply_to" not in prompt["extensions"]


def test_the_prompt_is_the_request_as_sent(client: Any, hi: Harness, word: str) -> None:
    # The app appends to the list it passed as soon as the call returns; the writer thread
    # builds the prompt later and must not see the appended turn.
    history: list[Any] = [{"role": "user", "content": f"first {word}"}]
    for _ in range(20):
        got = ask(client, "", messages=history)
        history += [
            {"role": "assistant", "content": got.content[0].text},
            {"role": "user", "content": f"next {word}"},
        ]
    texts = [p["content"]["text"] for p, _ in hi.calls()]
    assert texts == [f"first {word}"] + [f"next {word}"] * 19


def test_capture_request_holds_no_sdk_placeholder(client: Any, h: Harness, word: str) -> None:
    h.instrument(capture_request=True)
    ask(client, f"all of it {word}", system="sys", metadata={"user_id": "u-1"})
    prompt, _ = h.one()
    request = prompt["content"]["request"]
    assert request["messages"] == [{"role": "user", "content": f"all of it {word}"}]
    assert request["system"] == "sys"
    assert request["metadata"] == {"user_id": "u-1"}
    assert (request["model"], request["max_tokens"]) == (MODEL, 100)
    assert set(request) <= {"model", "max_tokens", "messages", "system", "metadata", "stream"}
    log = h.path.read_text()
    assert "Omit" not in log
    assert "NotGiven" not in log


def test_capture_modes_reach_the_thinking_text(client: Any, h: Harness, word: str) -> None:
    h.instrument(capture="metadata")
    ask(client, f"think {word}", thinking={"type": "enabled", "budget_tokens": 1024})
    prompt, done = h.one()
    assert word not in h.path.read_text()
    assert "thinking" not in (done.get("content") or {})
    assert done["extensions"]["finish_reason"] == "end_turn"
    assert prompt["extensions"]["thinking_type"] == "enabled"  # a label, kept


def test_beta_messages(srv: FakeAnthropic, client: Any, h: Harness, word: str) -> None:
    def run() -> Any:
        return client.beta.messages.create(
            model=MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": f"beta {word}"}],
            betas=["context-management-2025-06-27"],
        )

    plain = run()
    h.instrument()
    got = run()
    h.same(plain, got)
    prompt, done = h.one()
    assert prompt["extensions"]["betas"] == ["context-management-2025-06-27"]
    assert done["content"]["text"] == f"Echo: beta {word}"
    assert done["extensions"]["api"] == "messages"
    assert done["metrics"]["tokens"]["total"] > 0


def test_parse_structured_output(srv: FakeAnthropic, client: Any, h: Harness) -> None:
    if not hasattr(client.messages, "parse"):
        pytest.skip("messages.parse() arrived in a later anthropic")
    from pydantic import BaseModel

    class City(BaseModel):
        city: str

    def run() -> Any:
        srv.reply_next('{"city": "Paris"}')
        return client.messages.parse(
            model=MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": "capital of France?"}],
            output_format=City,
        )

    plain = run()
    h.instrument()
    got = run()
    assert got.parsed_output == plain.parsed_output == City(city="Paris")
    h.same(plain, got)
    _, done = h.one()
    assert done["content"]["text"] == '{"city": "Paris"}'


def test_calls_that_are_not_inference_write_nothing(
    srv: FakeAnthropic, client: Any, hi: Harness
) -> None:
    messages = [{"role": "user", "content": "count me"}]
    client.messages.count_tokens(model=MODEL, messages=messages)
    client.beta.messages.count_tokens(model=MODEL, messages=messages)
    list(client.models.list())
    client.models.retrieve(SNAPSHOT)
    # batches and files: the fake has no such endpoints; the SDK raises, HILT writes nothing
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_01")
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.create(
            requests=[
                {
                    "custom_id": "a",
                    "params": {"model": MODEL, "max_tokens": 10, "messages": messages},
                }
            ]
        )
    sent = 6
    if hasattr(client.beta, "files"):
        with pytest.raises(anthropic.NotFoundError):
            client.beta.files.list()
        sent += 1
    assert len(srv.requests) == sent
    assert hi.events() == []
