"""Chat completions: the app sees exactly what it saw uninstrumented, and each call is one
linked prompt / completion pair with models, tokens, latency, status and finish reason."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from hilt_openai.testing import FakeOpenAI

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


class Address(BaseModel):
    city: str
    zip_code: int


def helpers(client: Any) -> Any:
    """``chat.completions`` has ``parse`` / ``stream`` since openai 1.92; ``beta`` before."""
    if hasattr(client.chat.completions, "parse"):
        return client.chat.completions
    return client.beta.chat.completions


def ask(word: str) -> Any:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"hi {word}"}]


def check_pair(prompt: dict[str, Any], done: dict[str, Any], srv: FakeOpenAI) -> None:
    """The fields every chat call records, prompt and completion alike."""
    host = f"127.0.0.1:{srv.port}"
    assert prompt["actor"] == {"type": "human", "id": "user"}
    assert prompt["action"] == "prompt"
    assert done["actor"] == {"type": "agent", "id": "openai"}
    assert done["action"] == "completion"
    assert done["session_id"] == prompt["session_id"]
    assert prompt["session_id"].startswith("conv_")
    assert len(prompt["session_id"]) == 17
    for event in (prompt, done):
        ext = event["extensions"]
        assert (ext["provider"], ext["endpoint"], ext["api"]) == (
            "openai-compatible",
            host,
            "chat.completions",
        )
    ext = done["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert ext["status_code"] == 200
    assert isinstance(done["metrics"]["latency_ms"], float)
    assert 0 < done["metrics"]["latency_ms"] < 30_000


def test_create_before_instrument_same_result_and_pair(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    srv.cached_tokens, srv.reasoning_tokens = 2, 3
    plain = client.chat.completions.create(model="gpt-4o", messages=ask(word))
    h.instrument()
    got = client.chat.completions.create(model="gpt-4o", messages=ask(word))
    h.same(plain, got)
    prompt, done = h.one()
    check_pair(prompt, done, srv)
    assert prompt["content"]["text"] == f"hi {word}"
    assert prompt["extensions"]["model"] == "gpt-4o"
    assert done["content"]["text"] == f"Echo: hi {word}"
    ext = done["extensions"]
    assert ext["model"] == "gpt-4o-2024-08-06"  # the model that answered
    assert ext["request_model"] == "gpt-4o"  # the model asked for
    assert ext["response_id"] == got.id
    assert ext["finish_reason"] == "stop"
    assert ext["stream"] is False
    assert ext["attempts"] == 1
    assert done["metrics"]["tokens"] == {
        "prompt": 4,
        "completion": 6,
        "total": 10,
        "cached": 2,
        "reasoning": 3,
    }
    assert "ttft_ms" not in done["metrics"]


def test_client_made_after_instrument(srv: FakeOpenAI, hi: Any, word: str) -> None:
    with openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as client:
        got = client.chat.completions.create(model="m", messages=ask(word))
    assert got.choices[0].message.content == f"Echo: hi {word}"
    prompt, done = hi.one()
    check_pair(prompt, done, srv)
    assert done["extensions"]["model"] == done["extensions"]["request_model"] == "m"


def test_async_create_same_result_and_pair(srv: FakeOpenAI, h: Any, word: str) -> None:
    async def run() -> Any:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            return await c.chat.completions.create(model="gpt-4o", messages=ask(word))

    plain = asyncio.run(run())
    h.instrument()
    got = asyncio.run(run())
    h.same(plain, got)
    prompt, done = h.one()
    check_pair(prompt, done, srv)
    assert done["content"]["text"] == f"Echo: hi {word}"
    assert done["extensions"]["model"] == "gpt-4o-2024-08-06"


def test_async_client_made_before_instrument(srv: FakeOpenAI, h: Any, word: str) -> None:
    async def run() -> None:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            await c.chat.completions.create(model="m", messages=ask(word))
            h.instrument()
            await c.chat.completions.create(model="m", messages=ask(word))

    asyncio.run(run())
    prompt, done = h.one()
    check_pair(prompt, done, srv)


def test_every_choice_when_n_above_one(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    plain = client.chat.completions.create(model="m", messages=ask(word), n=3)
    h.instrument()
    got = client.chat.completions.create(model="m", messages=ask(word), n=3)
    h.same(plain, got)
    _, done = h.one()
    assert done["content"]["text"] == f"Echo: hi {word}"
    assert done["content"]["choices"] == [
        {"index": i, "text": f"Echo: hi {word}", "finish_reason": "stop"} for i in range(3)
    ]


def test_tool_calls_inside_the_completion(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    messages = [{"role": "user", "content": f"use tool {word}"}]
    plain = client.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])
    h.instrument()
    got = client.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])
    h.same(plain, got)
    _, done = h.one()
    (call,) = got.choices[0].message.tool_calls or []
    assert done["content"].get("text") is None
    assert done["content"]["tool_calls"] == [
        {"id": call.id, "name": "get_weather", "arguments": '{"city": "x", "days": 1}'}
    ]
    assert done["extensions"]["tool_calls"] == 1
    assert done["extensions"]["finish_reason"] == "tool_calls"


def test_parse_helper(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> Any:
        return helpers(client).parse(model="gpt-4o", messages=ask(word), response_format=Address)

    plain = run()
    h.instrument()
    got = run()
    h.same(plain, got)
    assert type(got.choices[0].message.parsed) is Address
    prompt, done = h.one()
    check_pair(prompt, done, srv)
    assert done["content"]["text"] == '{"city": "x", "zip_code": 1}'
    assert done["extensions"]["model"] == "gpt-4o-2024-08-06"


def test_stream_helper(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> tuple[list[Any], Any]:
        with helpers(client).stream(model="gpt-4o", messages=ask(word)) as stream:
            events = list(stream)
            return events, stream.get_final_completion()

    plain_events, plain_final = run()
    h.instrument()
    events, final = run()
    h.same(plain_events, events)
    h.same(plain_final, final)
    prompt, done = h.one()
    check_pair(prompt, done, srv)
    assert done["content"]["text"] == f"Echo: hi {word}"
    assert done["extensions"]["stream"] is True
    assert done["extensions"]["finish_reason"] == "stop"
    assert "partial" not in done["extensions"]


def test_stream_helper_left_early(srv: FakeOpenAI, client: Any, hi: Any, word: str) -> None:
    with helpers(client).stream(model="m", messages=ask(word)) as stream:
        for event in stream:
            if event.type == "content.delta" and event.delta:
                break
    _, done = hi.one()  # recorded when the helper closed, not at garbage collection
    assert done["extensions"]["partial"] is True
    assert done["extensions"]["stream_end"] == "closed"
    assert done["content"]["text"]
    assert f"Echo: hi {word}".startswith(done["content"]["text"])


def test_async_stream_helper(srv: FakeOpenAI, h: Any, word: str) -> None:
    async def run(leave_early: bool) -> tuple[list[Any], Any]:
        c = openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
        async with c, helpers(c).stream(model="m", messages=ask(word)) as stream:
            events = []
            async for event in stream:
                events.append(event)
                if leave_early and event.type == "content.delta" and event.delta:
                    return events, None
            return events, await stream.get_final_completion()

    plain_events, plain_final = asyncio.run(run(False))
    h.instrument()
    events, final = asyncio.run(run(False))
    h.same(plain_events, events)
    h.same(plain_final, final)
    asyncio.run(run(True))
    (_, whole), (_, early) = h.calls()
    assert whole["content"]["text"] == f"Echo: hi {word}"
    assert "partial" not in whole["extensions"]
    assert early["extensions"]["stream_end"] == "closed"
    assert early["extensions"]["partial"] is True


def test_with_raw_response(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> tuple[Any, Any]:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ask(word))
        return raw, raw.parse()

    plain_raw, plain = run()
    h.instrument()
    raw, got = run()
    assert type(raw) is type(plain_raw)
    assert raw.status_code == 200
    assert raw.headers["x-request-id"].startswith("req_")
    h.same(plain, got)
    assert raw.parse() is got  # the SDK's cached object, parsed once
    prompt, done = h.one()
    check_pair(prompt, done, srv)
    assert done["content"]["text"] == f"Echo: hi {word}"


def test_with_raw_response_stream(srv: FakeOpenAI, client: Any, hi: Any, word: str) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="m", messages=ask(word), stream=True
    )
    stream = raw.parse()
    assert isinstance(stream, openai.Stream)
    text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == f"Echo: hi {word}"
    assert "stream_options" not in srv.last_request.body
    _, done = hi.one()
    assert done["content"]["text"] == text
    assert done["extensions"]["stream"] is True


def test_with_streaming_response_parse(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> tuple[type, Any]:
        create = client.chat.completions.with_streaming_response.create
        with create(model="gpt-4o", messages=ask(word)) as response:
            return type(response), response.parse()

    plain_type, plain = run()
    h.instrument()
    got_type, got = run()
    assert got_type is plain_type
    h.same(plain, got)
    prompt, done = h.one()
    check_pair(prompt, done, srv)
    assert done["content"]["text"] == f"Echo: hi {word}"


def test_with_streaming_response_read_without_parse(
    srv: FakeOpenAI, client: Any, hi: Any, word: str
) -> None:
    create = client.chat.completions.with_streaming_response.create
    with create(model="m", messages=ask(word)) as response:
        body = response.json()
    assert body["choices"][0]["message"]["content"] == f"Echo: hi {word}"
    prompt, done = hi.one()  # recorded at close, from the body the app read
    check_pair(prompt, done, srv)
    assert done["content"]["text"] == f"Echo: hi {word}"
    assert done["metrics"]["tokens"]["total"] > 0


def test_with_streaming_response_closed_unread(
    srv: FakeOpenAI, client: Any, hi: Any, word: str
) -> None:
    create = client.chat.completions.with_streaming_response.create
    with create(model="m", messages=ask(word), stream=True) as response:
        lines = list(response.iter_lines())
    assert any("Echo" in line for line in lines)
    prompt, done = hi.one()  # the call is closed in the log even though nothing was parsed
    check_pair(prompt, done, srv)
    assert done["extensions"]["unparsed"] is True
    assert done["extensions"]["partial"] is True
    assert done["extensions"]["stream"] is True


def test_with_streaming_response_stream(srv: FakeOpenAI, client: Any, hi: Any, word: str) -> None:
    create = client.chat.completions.with_streaming_response.create
    with create(model="m", messages=ask(word), stream=True) as response:
        text = "".join(c.choices[0].delta.content or "" for c in response.parse())
    assert text == f"Echo: hi {word}"
    _, done = hi.one()
    assert done["content"]["text"] == text
    assert done["extensions"]["stream"] is True


def test_async_raw_and_streaming_response(srv: FakeOpenAI, hi: Any, word: str) -> None:
    async def run() -> tuple[str | None, str | None]:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            raw = await c.chat.completions.with_raw_response.create(model="m", messages=ask(word))
            one = raw.parse().choices[0].message.content
            create = c.chat.completions.with_streaming_response.create
            async with create(model="m", messages=ask(word + "b")) as response:
                two = (await response.parse()).choices[0].message.content
            return one, two

    assert asyncio.run(run()) == (f"Echo: hi {word}", f"Echo: hi {word}b")
    texts = [done["content"]["text"] for _, done in hi.calls()]
    assert texts == [f"Echo: hi {word}", f"Echo: hi {word}b"]


def sentinels() -> list[Any]:
    found: list[Any] = [openai.NOT_GIVEN]
    if hasattr(openai, "omit"):  # openai >= 1.99
        found.append(openai.omit)
    return found


@pytest.mark.parametrize("sentinel", sentinels(), ids=lambda s: type(s).__name__)
def test_sentinels_never_reach_the_log(
    srv: FakeOpenAI, client: Any, h: Any, word: str, sentinel: Any
) -> None:
    h.instrument(capture_request=True)
    client.chat.completions.create(
        model="m",
        messages=ask(word),
        temperature=sentinel,
        max_tokens=sentinel,
        tools=sentinel,
        stream_options=sentinel,
        response_format=sentinel,
    )
    client.chat.completions.create(model="m", messages=ask(word), stream=sentinel)
    list(client.chat.completions.create(model="m", messages=ask(word), stream=True, n=sentinel))
    client.responses.create(model="m", input=word, instructions=sentinel, tools=sentinel)
    client.embeddings.create(model="e", input=word, dimensions=sentinel)
    client.completions.create(model="c", prompt=word, max_tokens=sentinel)
    text = "\n".join(h.lines())
    assert len(h.calls()) == 6
    for name in ("NOT_GIVEN", "NotGiven", "Omit", "omit"):
        assert name not in text
    assert '"request"' in text
