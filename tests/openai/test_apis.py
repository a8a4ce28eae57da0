"""The other APIs (Responses, embeddings, legacy completions) and the other endpoints (Azure
OpenAI, any OpenAI-compatible ``base_url``)."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
from pydantic import BaseModel

from hilt_openai.testing import FakeOpenAI

TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


class Address(BaseModel):
    city: str
    zip_code: int


# -- Responses API ----------------------------------------------------------------------------


def test_responses_create(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    srv.cached_tokens, srv.reasoning_tokens = 1, 2

    def run() -> Any:
        return client.responses.create(model="gpt-4o", input=f"hi {word}", instructions="be nice")

    plain = run()
    h.instrument()
    got = run()
    h.same(plain, got)
    prompt, done = h.one()
    assert prompt["content"]["text"] == f"hi {word}"
    assert prompt["extensions"]["api"] == "responses"
    assert done["session_id"] == prompt["session_id"]
    ext = done["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert (ext["model"], ext["request_model"]) == ("gpt-4o-2024-08-06", "gpt-4o")
    assert ext["api"] == "responses"
    assert ext["response_id"] == got.id
    assert ext["finish_reason"] == "completed"
    assert ext["status_code"] == 200
    assert ext["stream"] is False
    assert done["content"]["text"] == f"Echo: hi {word}" == got.output_text
    assert done["metrics"]["tokens"] == {
        "prompt": 4,
        "completion": 5,
        "total": 9,
        "cached": 1,
        "reasoning": 2,
    }


def test_responses_stream(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> tuple[Any, list[Any]]:
        stream = client.responses.create(model="gpt-4o", input=f"hi {word}", stream=True)
        return stream, list(stream)

    _, plain = run()
    h.instrument(include_usage=True)
    stream, events = run()
    assert type(stream) is openai.Stream
    h.same(plain, events)
    assert "stream_options" not in srv.last_request.body  # responses streams carry usage
    _, done = h.one()
    ext = done["extensions"]
    assert ext["stream"] is True
    assert (ext["model"], ext["request_model"]) == ("gpt-4o-2024-08-06", "gpt-4o")
    assert ext["finish_reason"] == "completed"
    assert "partial" not in ext
    assert done["content"]["text"] == f"Echo: hi {word}"
    assert done["metrics"]["tokens"]["total"] > 0
    assert 0 < done["metrics"]["ttft_ms"] <= done["metrics"]["latency_ms"]


def test_responses_stream_helper(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> tuple[list[Any], Any]:
        with client.responses.stream(model="m", input=f"hi {word}") as stream:
            return list(stream), stream.get_final_response()

    plain_events, plain_final = run()
    h.instrument()
    events, final = run()
    h.same(plain_events, events)
    h.same(plain_final, final)
    _, done = h.one()
    assert done["content"]["text"] == f"Echo: hi {word}"
    assert done["extensions"]["stream"] is True
    assert "partial" not in done["extensions"]


def test_responses_stream_helper_left_early(client: Any, hi: Any, word: str) -> None:
    with client.responses.stream(model="m", input=f"hi {word}") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                break
    _, done = hi.one()
    assert done["extensions"]["stream_end"] == "closed"
    assert done["extensions"]["partial"] is True
    assert f"Echo: hi {word}".startswith(done["content"]["text"])


def test_responses_parse(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> Any:
        return client.responses.parse(model="m", input=f"hi {word}", text_format=Address)

    plain = run()
    h.instrument()
    got = run()
    h.same(plain, got)
    assert got.output_parsed == Address(city="x", zip_code=1)
    _, done = h.one()
    assert done["content"]["text"] == '{"city": "x", "zip_code": 1}'


def test_responses_tool_call(srv: FakeOpenAI, client: Any, hi: Any, word: str) -> None:
    got = client.responses.create(model="m", input=f"use tool {word}", tools=[TOOL])
    _, done = hi.one()
    (item,) = got.output
    assert done["content"]["tool_calls"] == [
        {"id": item.call_id, "name": "get_weather", "arguments": '{"city": "x"}'}
    ]
    assert done["extensions"]["tool_calls"] == 1


def test_responses_threads_by_previous_response_id(client: Any, hi: Any, word: str) -> None:
    first = client.responses.create(model="m", input=f"hi {word}", instructions="be nice")
    client.responses.create(model="m", input="and again", previous_response_id=first.id)
    (p1, c1), (p2, c2) = hi.calls()
    assert p2["session_id"] == c2["session_id"] == p1["session_id"] == c1["session_id"]
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert p2["content"]["text"] == "and again"


def test_responses_threads_by_history_sent_by_hand(client: Any, hi: Any, word: str) -> None:
    first = client.responses.create(model="m", input=f"hi {word}")
    history: list[Any] = [{"role": "user", "content": f"hi {word}"}, *first.output]
    client.responses.create(model="m", input=[*history, {"role": "user", "content": "more"}])
    (p1, c1), (p2, _) = hi.calls()
    assert p2["session_id"] == p1["session_id"]
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert p2["content"] == {"text": "more"}


def test_responses_input_items_record_the_new_turn(client: Any, hi: Any, word: str) -> None:
    client.responses.create(
        model="m",
        input=[
            {"role": "user", "content": f"first {word}"},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": [{"type": "input_text", "text": "second"}]},
        ],
    )
    prompt, _ = hi.one()
    assert prompt["content"]["text"] == "second"
    assert "first" not in str(prompt["content"])


def test_async_responses(srv: FakeOpenAI, hi: Any, word: str) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            r = await c.responses.create(model="m", input=f"hi {word}")
            stream = await c.responses.create(model="m", input=f"hi {word}", stream=True)
            async for _ in stream:
                pass
            return r.output_text

    assert asyncio.run(run()) == f"Echo: hi {word}"
    (_, one), (_, two) = hi.calls()
    assert one["content"]["text"] == two["content"]["text"] == f"Echo: hi {word}"
    assert two["extensions"]["stream"] is True


# -- embeddings and legacy completions ---------------------------------------------------------


def test_embeddings(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> Any:
        return client.embeddings.create(model="text-embedding-3-small", input=f"embed {word}")

    plain = run()
    h.instrument()
    got = run()
    h.same(plain, got)
    assert got.data[0].embedding == plain.data[0].embedding
    prompt, done = h.one()
    assert prompt["content"]["text"] == f"embed {word}"
    ext = done["extensions"]
    assert ext["api"] == "embeddings"
    assert ext["reply_to"] == prompt["event_id"]
    assert (ext["embeddings"], ext["dimensions"]) == (1, 8)
    assert done["metrics"]["tokens"] == {"prompt": 2, "total": 2}
    assert word not in str(done.get("content"))  # no vectors, no input echoed


def test_embeddings_many_inputs(client: Any, hi: Any, word: str) -> None:
    client.embeddings.create(model="e", input=[f"a {word}", "b", "c"], encoding_format="float")
    prompt, done = hi.one()
    assert prompt["content"] == {"text": f"a {word}", "inputs": 3}
    assert done["extensions"]["embeddings"] == 3


def test_legacy_completions(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> Any:
        return client.completions.create(model="gpt-3.5-turbo-instruct", prompt=f"say {word}")

    plain = run()
    h.instrument()
    got = run()
    h.same(plain, got)
    prompt, done = h.one()
    assert prompt["content"]["text"] == f"say {word}"
    assert done["content"]["text"] == f"Echo: say {word}"
    ext = done["extensions"]
    assert (ext["api"], ext["finish_reason"], ext["status_code"]) == ("completions", "stop", 200)
    assert done["metrics"]["tokens"] == {"prompt": 2, "completion": 3, "total": 5, "reasoning": 0}


# -- endpoints -----------------------------------------------------------------------------------


def azure(srv: FakeOpenAI) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=srv.azure_endpoint, api_version="2024-10-21", api_key="k", max_retries=0
    )


def test_azure(srv: FakeOpenAI, h: Any, word: str) -> None:
    srv.model_map["my-deployment"] = "gpt-4o-2024-08-06"
    messages: Any = [{"role": "user", "content": f"hi {word}"}]
    plain = azure(srv).chat.completions.create(model="my-deployment", messages=messages)
    h.instrument()
    client = azure(srv)
    got = client.chat.completions.create(model="my-deployment", messages=messages)
    h.same(plain, got)
    assert srv.last_request.path == "/openai/deployments/my-deployment/chat/completions"
    chunks = list(
        client.chat.completions.create(model="my-deployment", messages=messages, stream=True)
    )
    assert "stream_options" not in srv.last_request.body  # Azure: no injection by default
    client.embeddings.create(model="emb", input=word)
    (p1, c1), (_, c2), (_, c3) = h.calls()
    for event in (p1, c1, c2, c3):
        assert event["extensions"]["provider"] == "azure"
        assert event["extensions"]["endpoint"] == f"127.0.0.1:{srv.port}"
    assert (c1["extensions"]["model"], c1["extensions"]["request_model"]) == (
        "gpt-4o-2024-08-06",
        "my-deployment",
    )
    assert c1["content"]["text"] == f"Echo: hi {word}"
    # Azure's first chunk has no choices, model or id (the prompt's filter results)
    assert chunks[0].choices == []
    assert chunks[0].id == ""
    assert c2["content"]["text"] == "".join(c.choices[0].delta.content or "" for c in chunks[1:])
    assert c2["extensions"]["response_id"] == chunks[1].id != ""
    assert c2["extensions"]["model"] == "gpt-4o-2024-08-06"
    assert c2["extensions"]["finish_reason"] == "stop"
    assert c3["extensions"]["api"] == "embeddings"


def test_azure_async_with_usage_injection(srv: FakeOpenAI, h: Any, word: str) -> None:
    h.instrument(include_usage=True)

    async def run() -> list[Any]:
        async with openai.AsyncAzureOpenAI(
            azure_endpoint=srv.azure_endpoint, api_version="2024-10-21", api_key="k", max_retries=0
        ) as client:
            stream = await client.chat.completions.create(
                model="dep", messages=[{"role": "user", "content": f"hi {word}"}], stream=True
            )
            return [chunk async for chunk in stream]

    chunks = asyncio.run(run())
    assert srv.last_request.body["stream_options"] == {"include_usage": True}
    assert all(chunk.usage is None for chunk in chunks)  # the injected usage chunk is hidden
    assert chunks[0].choices == []  # Azure's content-filter chunk reaches the app
    _, done = h.one()
    assert done["extensions"]["provider"] == "azure"
    assert done["metrics"]["tokens"]["total"] > 0


def test_azure_v1_api_through_the_openai_client(srv: FakeOpenAI, hi: Any, word: str) -> None:
    # https://<resource>.openai.azure.com/openai/v1/, reached through a plain-HTTP proxy
    http = openai.DefaultHttpxClient(proxy=srv.azure_endpoint)
    base = "http://my-resource.openai.azure.com/openai/v1/"
    with openai.OpenAI(base_url=base, api_key="k", http_client=http, max_retries=0) as client:
        client.chat.completions.create(model="dep", messages=[{"role": "user", "content": word}])
    assert srv.last_request.headers["host"] == "my-resource.openai.azure.com"
    prompt, done = hi.one()
    for event in (prompt, done):
        assert event["extensions"]["provider"] == "azure"
        assert event["extensions"]["endpoint"] == "my-resource.openai.azure.com"


def test_any_compatible_base_url(srv: FakeOpenAI, hi: Any, word: str) -> None:
    base = f"http://localhost:{srv.port}/openai/v1"
    with openai.OpenAI(base_url=base, api_key="k", max_retries=0) as client:
        client.chat.completions.create(model="llama", messages=[{"role": "user", "content": word}])
    prompt, done = hi.one()
    for event in (prompt, done):
        assert event["extensions"]["provider"] == "openai-compatible"
        assert event["extensions"]["endpoint"] == f"localhost:{srv.port}"
    assert done["extensions"]["model"] == "llama"
