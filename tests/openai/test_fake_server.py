"""The fake OpenAI server, driven by the real openai SDK (works on openai 1.66 and 3.x)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from hilt_openai.testing import FakeOpenAI

from .conftest import STREAM_ERRORS

USER = [{"role": "user", "content": "hello there world"}]


def chat_helpers(client: openai.OpenAI) -> Any:
    """``chat.completions`` on openai >= 1.92, ``beta.chat.completions`` before."""
    if hasattr(client.chat.completions, "parse"):
        return client.chat.completions
    return client.beta.chat.completions


class Address(BaseModel):
    city: str
    zip_code: int


class Person(BaseModel):
    name: str
    age: int
    score: float
    active: bool
    tags: list[str]
    address: Address
    nickname: str | None


class GetWeather(BaseModel):
    city: str
    days: int


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


# -- server basics ----------------------------------------------------------------------------


def test_binds_loopback_and_records_requests(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    assert srv.base_url.startswith("http://127.0.0.1:")
    assert srv.base_url.endswith("/v1")
    client.chat.completions.create(model="gpt-4o-mini", messages=USER, temperature=0.5)
    (req,) = srv.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.headers["authorization"] == "Bearer test"
    assert req.body["temperature"] == 0.5
    assert req.body["messages"] == USER
    assert srv.last_request is req
    srv.reset()
    assert srv.requests == []


def test_stop_releases_port() -> None:
    server = FakeOpenAI().start()
    port = server.port
    server.stop()
    with pytest.raises(openai.APIConnectionError):
        openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="t", max_retries=0
        ).files.list()


def test_unknown_path_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.models.list()


# -- chat completions -------------------------------------------------------------------------


def test_chat_create(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.cached_tokens, srv.reasoning_tokens = 2, 7
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=USER)
    assert raw.headers["x-request-id"].startswith("req_")
    completion = raw.parse()
    assert completion.model == "gpt-4o-2024-08-06"
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Echo: hello there world"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 11, 14)
    assert usage.prompt_tokens_details
    assert usage.prompt_tokens_details.cached_tokens == 2
    assert usage.completion_tokens_details
    assert usage.completion_tokens_details.reasoning_tokens == 7


def test_chat_list_content_and_n(client: openai.OpenAI) -> None:
    content = [{"type": "text", "text": "part one"}, {"type": "text", "text": "part two"}]
    completion = client.chat.completions.create(
        model="m",
        n=3,
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": content},
        ],
    )
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert {c.message.content for c in completion.choices} == {"Echo: part one part two"}
    assert completion.model == "m"
    assert completion.usage
    assert completion.usage.prompt_tokens == 6


def test_chat_tool_call(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "please use tool now"}]
    completion = client.chat.completions.create(
        model="m",
        messages=messages,
        tools=[WEATHER_TOOL],
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_weather"
    assert call.function.arguments == '{"city": "x", "days": 1}'
    plain = client.chat.completions.create(model="m", messages=USER, tools=[WEATHER_TOOL])
    assert plain.choices[0].message.tool_calls is None


def test_chat_stream_without_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=USER, stream=True))
    assert len(chunks) == 1 + 5 + 1  # role, 5 content pieces, finish
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Echo: hello there world"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)
    assert {c.model for c in chunks} == {"gpt-4o-2024-08-06"}


def test_chat_stream_with_usage(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.stream_chunks = 3
    stream = client.chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert len(chunks) == 1 + 3 + 1 + 1
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4
    assert all(c.usage is None for c in chunks[:-1])


def test_chat_stream_n_and_tool_deltas(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "use tool"}],
        tools=[WEATHER_TOOL],
        n=2,
        stream=True,
    )
    args: dict[int, str] = {0: "", 1: ""}
    finishes = {}
    for chunk in stream:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                if call.id:
                    assert call.function
                    assert call.function.name == "get_weather"
                args[choice.index] += (call.function and call.function.arguments) or ""
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert args == {0: '{"city": "x", "days": 1}', 1: '{"city": "x", "days": 1}'}
    assert finishes == {0: "tool_calls", 1: "tool_calls"}


def test_chat_stream_helper(client: openai.OpenAI) -> None:
    with chat_helpers(client).stream(model="m", messages=USER) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == "Echo: hello there world"
    assert final.choices[0].message.content == "Echo: hello there world"


def test_chat_parse(client: openai.OpenAI) -> None:
    completion = chat_helpers(client).parse(model="m", messages=USER, response_format=Person)
    person = completion.choices[0].message.parsed
    assert person == Person(
        name="x",
        age=1,
        score=1.0,
        active=True,
        tags=[],
        address=Address(city="x", zip_code=1),
        nickname="x",
    )


def test_chat_parse_tool(client: openai.OpenAI) -> None:
    completion = chat_helpers(client).parse(
        model="m",
        messages=[{"role": "user", "content": "use tool"}],
        tools=[openai.pydantic_function_tool(GetWeather)],
    )
    (call,) = completion.choices[0].message.tool_calls
    assert call.function.parsed_arguments == GetWeather(city="x", days=1)


def test_json_object_format(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="m", messages=USER, response_format={"type": "json_object"}
    )
    assert completion.choices[0].message.content == '{"echo": "Echo: hello there world"}'


def test_async_chat_and_stream(srv: FakeOpenAI) -> None:
    async def run() -> tuple[str | None, str]:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="t", max_retries=0) as c:
            completion = await c.chat.completions.create(model="m", messages=USER)
            stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
            text = "".join([ch.choices[0].delta.content or "" async for ch in stream])
            return completion.choices[0].message.content, text

    assert asyncio.run(run()) == ("Echo: hello there world", "Echo: hello there world")


# -- responses ------------------------------------------------------------------------------


def test_responses_create(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.cached_tokens, srv.reasoning_tokens = 1, 4
    response = client.responses.create(model="gpt-4o", input="hi you", instructions="be nice")
    assert response.model == "gpt-4o-2024-08-06"
    assert response.status == "completed"
    assert response.output_text == "Echo: hi you"
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (4, 7, 11)
    assert usage.output_tokens_details.reasoning_tokens == 4
    details = usage.model_dump()["input_tokens_details"]  # a plain extra on openai < 1.67
    assert details["cached_tokens"] == 1


def test_responses_input_items(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="m",
        input=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": [{"type": "input_text", "text": "second one"}]},
        ],
    )
    assert response.output_text == "Echo: second one"


def test_responses_tool_call(client: openai.OpenAI) -> None:
    tool = {"type": "function", **WEATHER_TOOL["function"], "strict": True}
    response = client.responses.create(model="m", input="use tool", tools=[tool])
    (item,) = response.output
    assert item.type == "function_call"
    assert item.name == "get_weather"
    assert item.arguments == '{"city": "x", "days": 1}'


EVENT_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * 5,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def test_responses_stream(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="m", input="hi you", stream=True))
    assert [e.type for e in events] == EVENT_SEQUENCE
    assert (
        "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Echo: hi you"
    )
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.usage
    assert completed.response.usage.output_tokens == 3
    assert events[0].response.status == "in_progress"
    raw = [e.model_dump() for e in events]
    assert [r.get("sequence_number") for r in raw] == list(range(len(events)))


def test_responses_stream_tool_call(client: openai.OpenAI) -> None:
    tool = {"type": "function", **WEATHER_TOOL["function"], "strict": True}
    events = list(client.responses.create(model="m", input="use tool", tools=[tool], stream=True))
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert "".join(deltas) == '{"city": "x", "days": 1}'
    assert events[-1].type == "response.completed"


def test_responses_stream_helper(client: openai.OpenAI) -> None:
    with client.responses.stream(model="m", input="hi you") as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert types == EVENT_SEQUENCE
    assert final.output_text == "Echo: hi you"


def test_responses_parse(client: openai.OpenAI) -> None:
    response = client.responses.parse(model="m", input="hi", text_format=Address)
    assert response.output_parsed == Address(city="x", zip_code=1)


def test_responses_parse_records_schema(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    client.responses.parse(model="m", input="hi", text_format=Address)
    assert srv.last_request.body["text"]["format"]["type"] == "json_schema"


# -- embeddings and legacy completions ---------------------------------------------------------


def test_embeddings(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    assert srv.last_request.body["encoding_format"] == "base64"  # the SDK's default
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in result.data)
    assert result.usage.prompt_tokens == 3
    as_floats = client.embeddings.create(
        model="text-embedding-3-small", input="a b", encoding_format="float", dimensions=4
    )
    assert as_floats.data[0].embedding == pytest.approx(result.data[0].embedding[:4], abs=1e-6)
    assert all(-1.0 <= x <= 1.0 for x in as_floats.data[0].embedding)


def test_legacy_completions(client: openai.OpenAI) -> None:
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi")
    assert completion.choices[0].text == "Echo: say hi"
    assert completion.usage
    assert completion.usage.completion_tokens == 3
    stream = client.completions.create(
        model="m", prompt="say hi", stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Echo: say hi"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None


# -- azure ---------------------------------------------------------------------------------------


def test_azure(srv: FakeOpenAI) -> None:
    azure = openai.AzureOpenAI(
        azure_endpoint=srv.azure_endpoint, api_version="2024-10-21", api_key="k", max_retries=0
    )
    completion = azure.chat.completions.create(model="my-deployment", messages=USER)
    assert completion.model == "my-deployment"
    assert completion.choices[0].message.content == "Echo: hello there world"
    req = srv.last_request
    assert req.path == "/openai/deployments/my-deployment/chat/completions"
    assert req.query == {"api-version": "2024-10-21"}
    assert req.headers["api-key"] == "k"
    stream = azure.chat.completions.create(model="my-deployment", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    embedding = azure.embeddings.create(model="emb-deployment", input="x")
    assert embedding.model == "emb-deployment"
    assert len(embedding.data[0].embedding) == 8


# -- faults ------------------------------------------------------------------------------------


def test_429_without_retries(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.fail_next(429)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="m", messages=USER)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "0"
    assert info.value.response.headers["x-request-id"].startswith("req_")
    assert info.value.code == "rate_limit_exceeded"
    # consumed: the next call succeeds
    assert client.chat.completions.create(model="m", messages=USER).choices


def test_429_retried_quickly(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.fail_next(429, times=2)
    started = time.monotonic()
    completion = client.with_options(max_retries=2).chat.completions.create(
        model="m", messages=USER
    )
    assert completion.choices[0].message.content == "Echo: hello there world"
    assert len(srv.requests) == 3
    assert time.monotonic() - started < 1.0


def test_429_exhausts_retries(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.fail_next(429, times=3)
    with pytest.raises(openai.RateLimitError):
        client.with_options(max_retries=2).chat.completions.create(model="m", messages=USER)
    assert len(srv.requests) == 3


def test_500_and_custom_body(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.fail_next(500)
    with pytest.raises(openai.InternalServerError) as info:
        client.responses.create(model="m", input="x")
    assert info.value.status_code == 500
    srv.fail_next(400, body={"error": {"message": "bad thing", "type": "invalid_request_error",
                                       "code": "bad"}}, headers={"x-extra": "1"})  # fmt: skip
    with pytest.raises(openai.BadRequestError) as bad:
        client.embeddings.create(model="m", input="x")
    assert bad.value.code == "bad"
    assert "bad thing" in bad.value.message
    assert bad.value.response.headers["x-extra"] == "1"


def test_stall_times_out(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.stall_next(2.0)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(model="m", messages=USER)
    assert time.monotonic() - started < 1.5
    # stall is one-shot
    assert client.with_options(timeout=2).chat.completions.create(model="m", messages=USER)


def drain(stream: Iterable[Any], into: list[Any]) -> None:
    into.extend(stream)


def test_cut_stream(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.cut_stream_next(after_chunks=2)
    got: list[Any] = []
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(STREAM_ERRORS):
        drain(stream, got)
    assert len(got) == 2
    # one-shot: the next stream is whole
    chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_cut_responses_stream(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.cut_stream_next(after_chunks=4)
    got: list[Any] = []
    stream = client.responses.create(model="m", input="x", stream=True)
    with pytest.raises(STREAM_ERRORS):
        drain(stream, got)
    assert [e.type for e in got] == EVENT_SEQUENCE[:4]


def test_cut_stream_skips_non_streaming(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.cut_stream_next(after_chunks=1)
    assert client.chat.completions.create(model="m", messages=USER).choices
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(STREAM_ERRORS):
        list(stream)


def test_drop_connection(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.drop_connection_next()
    with pytest.raises(openai.APIConnectionError) as info:
        client.chat.completions.create(model="m", messages=USER)
    assert not isinstance(info.value, openai.APITimeoutError)
    assert len(srv.requests) == 1
    assert client.chat.completions.create(model="m", messages=USER).choices


def test_async_faults(srv: FakeOpenAI) -> None:
    async def run() -> None:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="t", max_retries=0) as c:
            srv.fail_next(503)
            with pytest.raises(openai.InternalServerError):
                await c.chat.completions.create(model="m", messages=USER)
            srv.drop_connection_next()
            with pytest.raises(openai.APIConnectionError):
                await c.chat.completions.create(model="m", messages=USER)

    asyncio.run(run())


def test_chunk_delay(srv: FakeOpenAI, client: openai.OpenAI) -> None:
    srv.chunk_delay = 0.05
    started = time.monotonic()
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    first = next(iter(stream))
    first_at = time.monotonic() - started
    rest = list(stream)
    assert first.choices[0].delta.role == "assistant"
    assert len(rest) == 6
    assert time.monotonic() - started >= 0.3 > first_at
