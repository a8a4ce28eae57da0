"""The fake Anthropic server, driven by the real anthropic SDK, uninstrumented.

Runs on every SDK release hilt-anthropic supports (see plugins/hilt_anthropic/NOTES-sdk.md);
where releases differ (error classes, beta paths, usage fields) the test says which.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import time
from collections.abc import Iterable
from typing import Any

import anthropic
import pytest
from anthropic.types import Usage

from hilt_anthropic.testing import FakeAnthropic

from .conftest import STREAM_ERRORS

MODEL = "claude-haiku-4-5"
SNAPSHOT = "claude-haiku-4-5-20251001"
USER = [{"role": "user", "content": "hello there world"}]
ECHO = "Echo: hello there world"
WEATHER = {
    "name": "get_weather",
    "description": "Weather of a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    },
}
THINKING = {"type": "enabled", "budget_tokens": 1024}
HAS_THINKING_DETAILS = "output_tokens_details" in Usage.model_fields  # 0.105 on
SDK = tuple(int(part) for part in anthropic.__version__.split(".")[:2])


def create(client: anthropic.Anthropic, **kwargs: Any) -> Any:
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("max_tokens", 100)
    kwargs.setdefault("messages", USER)
    return client.messages.create(**kwargs)


def sse(events: Iterable[Any]) -> list[str]:
    return [e.type for e in events]


# -- server basics ----------------------------------------------------------------------------


def test_binds_loopback_and_records_requests(
    srv: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    assert srv.base_url.startswith("http://127.0.0.1:")
    create(client, metadata={"user_id": "u1"}, system="be brief")
    (req,) = srv.requests
    assert (req.method, req.path, req.query) == ("POST", "/v1/messages", {})
    # the key goes in x-api-key up to 1.x, as a bearer token from 2.0 on
    auth = req.headers.get("x-api-key") or req.headers["authorization"].removeprefix("Bearer ")
    assert auth == "test"
    assert req.headers["anthropic-version"] in ("2023-06-01", "2026-10-21")
    assert req.body == {"model": MODEL, "max_tokens": 100, "messages": USER,
                        "metadata": {"user_id": "u1"}, "system": "be brief"}  # fmt: skip
    assert srv.last_request is req
    srv.reset()
    assert srv.requests == []


def test_stop_releases_port() -> None:
    server = FakeAnthropic().start()
    port = server.port
    server.stop()
    with socket.socket() as s, pytest.raises(OSError):
        s.connect(("127.0.0.1", port))
    client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="t", max_retries=0)
    with pytest.raises(anthropic.APIConnectionError):
        create(client)


def test_unknown_path_is_404(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.batches.list()
    assert info.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


def test_missing_messages_is_400(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="messages: Field required"):
        client.post("/v1/messages", body={"model": MODEL}, cast_to=object)


# -- messages.create ---------------------------------------------------------------------------


def test_create(client: anthropic.Anthropic) -> None:
    message = create(client, system=[{"type": "text", "text": "be brief"}])
    assert isinstance(message, anthropic.types.Message)
    assert message.id.startswith("msg_")
    assert message.model == SNAPSHOT
    assert (message.role, message.type) == ("assistant", "message")
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == ECHO
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (5, 4)  # words: system 2 + user 3
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)
    if HAS_THINKING_DETAILS:
        assert usage.output_tokens_details is None  # no thinking, no breakdown


def test_cache_tokens(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.cache_creation_tokens, srv.cache_read_tokens = 7, 11
    usage = create(client).usage
    assert (usage.input_tokens, usage.cache_creation_input_tokens) == (3, 7)
    assert usage.cache_read_input_tokens == 11


def test_history_and_list_content(client: anthropic.Anthropic) -> None:
    messages = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": [{"type": "text", "text": "second"},
                                     {"type": "text", "text": "one"}]},
    ]  # fmt: skip
    message = create(client, messages=messages)
    assert message.content[0].text == "Echo: second one"
    assert message.usage.input_tokens == 6


def test_stop_sequence_and_max_tokens(client: anthropic.Anthropic) -> None:
    message = create(client, stop_sequences=["there"])
    assert message.content[0].text == "Echo: hello "
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "there")
    message = create(client, max_tokens=2)
    assert message.content[0].text == "Echo: hello"
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 2


def test_scripted_replies_in_order(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.reply_next("one", times=2)
    srv.reply_next(
        "partial", stop_reason="refusal", model="other-model", usage={"output_tokens": 99}
    )
    srv.reply_next(stop_reason="pause_turn")  # computed content, scripted stop reason
    got = [create(client) for _ in range(5)]
    assert [m.content[0].text for m in got] == ["one", "one", "partial", ECHO, ECHO]
    assert [m.stop_reason for m in got] == [
        "end_turn", "end_turn", "refusal", "pause_turn", "end_turn"
    ]  # fmt: skip
    assert got[2].model == "other-model"
    assert got[2].usage.output_tokens == 99
    assert got[2].usage.input_tokens == 3  # the rest of usage is still computed


def test_script_survives_faults(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.reply_next("scripted")
    srv.fail_next(529)
    message = create(client)  # the retry gets the scripted reply
    assert message.content[0].text == "scripted"
    assert len(srv.requests) == 2


# -- tools ---------------------------------------------------------------------------------------


def test_tool_use(client: anthropic.Anthropic) -> None:
    message = create(client, messages=[{"role": "user", "content": "please use tool"}],
                     tools=[WEATHER])  # fmt: skip
    assert [b.type for b in message.content] == ["text", "tool_use"]
    call = message.content[1]
    assert call.id.startswith("toolu_")
    assert (call.name, call.input) == ("get_weather", {"city": "x", "days": 1})
    assert message.stop_reason == "tool_use"
    forced = create(client, tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather"})
    assert [b.type for b in forced.content] == ["tool_use"]
    assert create(client, tools=[WEATHER]).content[0].text == ECHO  # not asked: no tool


def test_tool_result_round_trip(client: anthropic.Anthropic) -> None:
    first = create(client, tools=[WEATHER], tool_choice={"type": "any"})
    call = first.content[0]
    messages = [
        *USER,
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                      "content": "sunny and warm"}]},
    ]  # fmt: skip
    second = create(client, messages=messages, tools=[WEATHER])
    assert second.content[0].text == "Echo: sunny and warm"
    assert second.stop_reason == "end_turn"


def test_stream_tool_use(client: anthropic.Anthropic) -> None:
    stream = create(client, tools=[WEATHER], tool_choice={"type": "any"}, stream=True)
    events = list(stream)
    deltas = [e.delta.partial_json for e in events if e.type == "content_block_delta"]
    assert json.loads("".join(deltas)) == {"city": "x", "days": 1}
    start = events[1]
    assert start.type == "content_block_start"
    assert start.content_block.type == "tool_use"
    assert start.content_block.input == {}
    with client.messages.stream(model=MODEL, max_tokens=100, messages=USER, tools=[WEATHER],
                                tool_choice={"type": "any"}) as helper:  # fmt: skip
        final = helper.get_final_message()
    assert final.content[0].input == {"city": "x", "days": 1}
    assert final.stop_reason == "tool_use"


# -- thinking ------------------------------------------------------------------------------------


def test_thinking(client: anthropic.Anthropic) -> None:
    message = create(client, max_tokens=2048, thinking=THINKING)
    assert [b.type for b in message.content] == ["thinking", "text"]
    thought = message.content[0]
    assert thought.thinking == "Thinking about: hello there world"
    assert len(thought.signature) > 40
    assert message.usage.output_tokens == 5 + 4
    if HAS_THINKING_DETAILS:
        assert message.usage.output_tokens_details is not None
        assert message.usage.output_tokens_details.thinking_tokens == 5


def test_redacted_thinking_scripted(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    blocks = ({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
              {"type": "thinking", "thinking": "hmm"}, "answer")  # fmt: skip
    srv.reply_next(*blocks, times=2)
    message = create(client, thinking=THINKING, max_tokens=2048)
    assert [b.type for b in message.content] == ["redacted_thinking", "thinking", "text"]
    assert message.content[0].data == "EmwKAhgBEgy3va3pzix"
    assert message.content[1].signature  # filled in
    with client.messages.stream(model=MODEL, max_tokens=2048, messages=USER,
                                thinking=THINKING) as stream:  # fmt: skip
        events = list(stream)
        final = stream.get_final_message()
    # the helper's ParsedTextBlock adds parsed_output on some releases
    streamed = [b.model_dump(exclude={"parsed_output"}) for b in final.content]
    assert streamed == [b.model_dump() for b in message.content]
    kinds = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert kinds == ["thinking_delta"] * 3 + ["signature_delta"] + ["text_delta"] * 3


def test_stream_thinking(client: anthropic.Anthropic) -> None:
    events = list(create(client, thinking=THINKING, max_tokens=2048, stream=True))
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    thinking = "".join(d.thinking for d in deltas if d.type == "thinking_delta")
    assert thinking == "Thinking about: hello there world"
    (sig,) = [d.signature for d in deltas if d.type == "signature_delta"]
    assert sig
    (end,) = [e for e in events if e.type == "message_delta"]
    if HAS_THINKING_DETAILS:
        assert end.usage.output_tokens_details is not None
        assert end.usage.output_tokens_details.thinking_tokens == 5


# -- streams -------------------------------------------------------------------------------------

TEXT_STREAM = [
    "message_start",
    "content_block_start",
    *["content_block_delta"] * 3,
    "content_block_stop",
    "message_delta",
    "message_stop",
]


def test_stream_events(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.cache_read_tokens = 2
    stream = create(client, stream=True)
    assert isinstance(stream, anthropic.Stream)
    events = list(stream)
    assert sse(events) == TEXT_STREAM  # the ping after message_start is skipped by the SDK
    start = events[0].message
    assert (start.id[:4], start.model, start.content, start.stop_reason) == (
        "msg_", SNAPSHOT, [], None
    )  # fmt: skip
    assert (start.usage.input_tokens, start.usage.output_tokens) == (3, 1)
    assert start.usage.cache_read_input_tokens == 2
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == ECHO
    end = events[-2]
    assert end.delta.stop_reason == "end_turn"
    assert end.usage.output_tokens == 4


def test_ping_on_the_wire(client: anthropic.Anthropic) -> None:
    with client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=10, messages=USER, stream=True
    ) as response:
        names = [line[7:] for line in response.iter_lines() if line.startswith("event: ")]
    assert names[:2] == ["message_start", "ping"]
    assert response.headers["content-type"].startswith("text/event-stream")


def test_message_delta_usage_is_cumulative(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.message_deltas = 3
    srv.reply_next("one two three four five six")
    events = list(create(client, stream=True))
    deltas = [e for e in events if e.type == "message_delta"]
    assert [d.usage.output_tokens for d in deltas] == [2, 4, 6]
    assert [d.delta.stop_reason for d in deltas] == [None, None, "end_turn"]
    srv.reply_next("one two three four five six")
    with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens == 6  # the SDK replaces, never adds


def test_stream_helper(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["Echo: h", "ello the", "re world"]  # 3 pieces, cut anywhere
    assert final.content[0].text == ECHO
    assert final.usage.output_tokens == 4
    assert final.stop_reason == "end_turn"


def test_async(aclient: anthropic.AsyncAnthropic) -> None:
    async def run(c: anthropic.AsyncAnthropic) -> tuple[str, str, str, str]:
        message = await c.messages.create(model=MODEL, max_tokens=100, messages=USER)
        stream = await c.messages.create(model=MODEL, max_tokens=100, messages=USER, stream=True)
        assert isinstance(stream, anthropic.AsyncStream)
        deltas = [e.delta.text async for e in stream if e.type == "content_block_delta"]
        async with c.messages.stream(model=MODEL, max_tokens=100, messages=USER) as s:
            helper = "".join([t async for t in s.text_stream])
            final = await s.get_final_message()
        return message.content[0].text, "".join(deltas), helper, final.content[0].text

    async def main() -> tuple[str, str, str, str]:
        async with aclient:
            return await run(aclient)

    assert asyncio.run(main()) == (ECHO,) * 4


# -- raw and streaming responses, beta, tokens, models -------------------------------------------


def test_with_raw_response(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=10, messages=USER)
    assert raw.headers["request-id"].startswith("req_")
    assert raw.parse().content[0].text == ECHO
    # "true" on 0.x, "raw" from 1.0 on ("stream" for with_streaming_response on both)
    assert srv.last_request.headers["x-stainless-raw-response"] in ("true", "raw")
    raw_stream = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=10, messages=USER, stream=True
    )
    assert sse(raw_stream.parse()) == TEXT_STREAM


def test_with_streaming_response(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    with client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=10, messages=USER
    ) as response:
        assert response.status_code == 200
        message = response.parse()
    assert message.content[0].text == ECHO
    assert srv.last_request.headers["x-stainless-raw-response"] == "stream"


def test_beta_messages(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    message = client.beta.messages.create(
        model=MODEL, max_tokens=10, messages=USER, betas=["context-1m-2025-08-07"]
    )
    assert message.content[0].text == ECHO
    req = srv.last_request
    assert req.path == "/v1/messages"
    assert req.query in ({}, {"beta": "true"})  # older SDKs add ?beta=true
    assert req.headers["anthropic-beta"] == "context-1m-2025-08-07"
    with client.beta.messages.stream(model=MODEL, max_tokens=10, messages=USER) as stream:
        assert "".join(stream.text_stream) == ECHO
        assert stream.get_final_message().usage.output_tokens == 4


def test_count_tokens_and_models(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    count = client.messages.count_tokens(model=MODEL, messages=USER, system="be brief")
    assert count.input_tokens == 5
    assert srv.last_request.path == "/v1/messages/count_tokens"
    models = client.models.list()
    assert [m.id for m in models.data] == srv.models
    assert client.models.retrieve("claude-x").id == "claude-x"
    assert srv.last_request.path == "/v1/models/claude-x"


# -- errors --------------------------------------------------------------------------------------


def test_429(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.fail_next(429)
    with pytest.raises(anthropic.RateLimitError) as info:
        create(client.with_options(max_retries=0))
    err = info.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "1"
    assert err.response.headers["request-id"].startswith("req_")
    assert err.body["type"] == "error"  # type: ignore[index]
    assert err.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert create(client).content  # consumed: the next call succeeds


def test_529_overloaded(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.fail_next(529)
    with pytest.raises(anthropic.APIStatusError) as info:
        create(client.with_options(max_retries=0))
    # OverloadedError is a sibling of InternalServerError up to 1.x, a subclass from 2.x on
    assert type(info.value).__name__ == "OverloadedError"
    assert info.value.status_code == 529
    assert "Overloaded" in info.value.message


def test_500_and_400(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.fail_next(500)
    with pytest.raises(anthropic.InternalServerError) as server_error:
        create(client.with_options(max_retries=0))
    assert server_error.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    body = {"type": "error", "error": {"type": "invalid_request_error",
                                       "message": "max_tokens: too big"}}  # fmt: skip
    srv.fail_next(400, body=body, headers={"x-extra": "1"})
    with pytest.raises(anthropic.BadRequestError) as bad:
        create(client)
    assert "max_tokens: too big" in bad.value.message
    assert bad.value.response.headers["x-extra"] == "1"
    assert len(srv.requests) == 2  # a 400 is not retried


def test_retry_hits_the_server_twice(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.fail_next(429)
    started = time.monotonic()
    assert create(client).content[0].text == ECHO  # max_retries=1
    assert time.monotonic() - started < 1.0  # retry-after-ms: 1 is honoured
    first, second = srv.requests
    assert first.body == second.body
    assert second.headers["x-stainless-retry-count"] == "1"
    srv.fail_next(529, times=2)
    with pytest.raises(anthropic.APIStatusError):
        create(client)
    assert len(srv.requests) == 4


def test_stall_times_out(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.stall_next(2.0)
    started = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        create(client.with_options(timeout=0.2, max_retries=0))
    assert time.monotonic() - started < 1.5
    assert create(client.with_options(timeout=5)).content  # one-shot


def test_drop_connection(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.drop_connection_next()
    with pytest.raises(anthropic.APIConnectionError) as info:
        create(client.with_options(max_retries=0))
    assert not isinstance(info.value, anthropic.APITimeoutError)


def test_cut_stream(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.cut_stream_next(after_events=3)
    got: list[Any] = []
    stream = create(client, stream=True)
    with pytest.raises(STREAM_ERRORS):
        got.extend(stream)
    assert sse(got) == TEXT_STREAM[:3]
    srv.cut_stream_next(after_events=2)
    assert create(client).content  # a cut applies to the next *streamed* reply only
    with (
        pytest.raises(STREAM_ERRORS),
        client.messages.stream(model=MODEL, max_tokens=10, messages=USER) as helper,
    ):
        helper.get_final_message()
    assert sse(create(client, stream=True)) == TEXT_STREAM  # one-shot


def test_error_event_mid_stream(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.error_stream_next(after_events=2)
    got: list[Any] = []
    with pytest.raises(anthropic.APIStatusError) as info:
        got.extend(create(client, stream=True))
    assert sse(got) == TEXT_STREAM[:2]
    assert "overloaded_error" in str(info.value.body)


def test_hang_mid_stream_times_out(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.hang_stream_next(after_events=2, seconds=3.0)
    got: list[Any] = []
    started = time.monotonic()
    with pytest.raises((anthropic.APITimeoutError, *STREAM_ERRORS)):
        got.extend(create(client.with_options(timeout=0.3), stream=True))
    assert time.monotonic() - started < 2.5
    assert sse(got) == TEXT_STREAM[:2]


def test_async_faults(srv: FakeAnthropic, aclient: anthropic.AsyncAnthropic) -> None:
    async def run() -> None:
        async with aclient:
            c = aclient.with_options(max_retries=0)
            srv.fail_next(529)
            with pytest.raises(anthropic.APIStatusError):
                await c.messages.create(model=MODEL, max_tokens=10, messages=USER)
            srv.cut_stream_next(after_events=1)
            stream = await c.messages.create(model=MODEL, max_tokens=10, messages=USER, stream=True)
            with pytest.raises(STREAM_ERRORS):
                _ = [e async for e in stream]

    asyncio.run(run())


def test_chunk_delay(srv: FakeAnthropic, client: anthropic.Anthropic) -> None:
    srv.chunk_delay = 0.05
    started = time.monotonic()
    assert sse(create(client, stream=True)) == TEXT_STREAM
    assert time.monotonic() - started >= 0.4  # 9 frames with the ping


# -- Vertex AI and Bedrock -----------------------------------------------------------------------


def test_vertex(srv: FakeAnthropic) -> None:
    vertex = anthropic.AnthropicVertex(region="us-east5", project_id="proj", access_token="tok",
                                       base_url=srv.vertex_base_url, max_retries=0)  # fmt: skip
    message = vertex.messages.create(model="claude-haiku-4-5@20251001", max_tokens=10,
                                     messages=USER)  # fmt: skip
    assert message.content[0].text == ECHO
    assert message.model == "claude-haiku-4-5@20251001"
    req = srv.last_request
    assert req.path == ("/v1/projects/proj/locations/us-east5/publishers/anthropic/models/"
                        "claude-haiku-4-5@20251001:rawPredict")  # fmt: skip
    assert req.headers["authorization"] == "Bearer tok"
    assert "model" not in req.body
    assert req.body["anthropic_version"] in ("vertex-2023-10-16", "2026-10-21")
    with vertex.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=USER) as s:
        assert "".join(s.text_stream) == ECHO
    assert srv.last_request.path.endswith("/models/claude-haiku-4-5:streamRawPredict")
    count = vertex.messages.count_tokens(model="claude-haiku-4-5", messages=USER)
    assert count.input_tokens == 3
    assert srv.last_request.path.endswith("/models/count-tokens:rawPredict")


def test_async_vertex(srv: FakeAnthropic) -> None:
    async def run() -> str:
        async with anthropic.AsyncAnthropicVertex(
            region="europe-west1", project_id="p", access_token="t", base_url=srv.vertex_base_url
        ) as vertex:
            stream = await vertex.messages.create(
                model="claude-haiku-4-5", max_tokens=10, messages=USER, stream=True
            )
            return "".join([e.delta.text async for e in stream if e.type == "content_block_delta"])

    assert asyncio.run(run()) == ECHO


def _bedrock(srv: FakeAnthropic) -> anthropic.AnthropicBedrock:
    if "api_key" not in inspect.signature(anthropic.AnthropicBedrock).parameters:
        pytest.skip("this SDK's Bedrock client signs with boto3 (SigV4): no Bedrock API key")
    return anthropic.AnthropicBedrock(aws_region="us-east-1", api_key="brk",
                                      base_url=srv.base_url, max_retries=0)  # fmt: skip


def test_bedrock_invoke(srv: FakeAnthropic) -> None:
    bedrock = _bedrock(srv)
    model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    message = bedrock.messages.create(model=model, max_tokens=10, messages=USER)
    assert message.content[0].text == ECHO
    assert message.model == model
    req = srv.last_request
    assert req.path == f"/model/{model}/invoke"
    assert req.headers["authorization"] == "Bearer brk"
    assert req.body["anthropic_version"] in ("bedrock-2023-05-31", "2026-10-21")


def test_bedrock_stream(srv: FakeAnthropic) -> None:
    pytest.importorskip("botocore", reason="the SDK reads Bedrock event streams with botocore")
    bedrock = _bedrock(srv)
    model = "anthropic.claude-haiku-4-5-20251001-v1:0"
    events = list(bedrock.messages.create(model=model, max_tokens=10, messages=USER, stream=True))
    assert srv.last_request.path == f"/model/{model}/invoke-with-response-stream"
    assert sse(events) == TEXT_STREAM
    metrics = events[-1].model_dump()["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == 4
    with bedrock.messages.stream(model=model, max_tokens=10, messages=USER) as stream:
        assert stream.get_final_message().content[0].text == ECHO
    srv.cut_stream_next(after_events=2)
    got: list[Any] = []
    with pytest.raises(STREAM_ERRORS):
        got.extend(bedrock.messages.create(model=model, max_tokens=10, messages=USER, stream=True))
    assert sse(got) == TEXT_STREAM[:2]


def test_vertex_529(srv: FakeAnthropic) -> None:
    vertex = anthropic.AnthropicVertex(region="us-east5", project_id="proj", access_token="tok",
                                       base_url=srv.vertex_base_url, max_retries=0)  # fmt: skip
    srv.fail_next(529)
    with pytest.raises(anthropic.APIStatusError) as info:
        vertex.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    assert info.value.status_code == 529
    # Vertex and Bedrock had their own status table without 529 before 2.6: a plain 5xx
    expected = "OverloadedError" if SDK >= (2, 6) else "InternalServerError"
    assert type(info.value).__name__ == expected


def test_foundry_gateway_prefix(srv: FakeAnthropic) -> None:
    if not hasattr(anthropic, "AnthropicFoundry"):
        pytest.skip("AnthropicFoundry arrived in anthropic 0.74")
    foundry = anthropic.AnthropicFoundry(api_key="fk", base_url=f"{srv.base_url}/anthropic/",
                                         max_retries=0)  # fmt: skip
    message = foundry.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    assert message.content[0].text == ECHO
    assert srv.last_request.path == "/anthropic/v1/messages"
    with foundry.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=USER) as s:
        assert "".join(s.text_stream) == ECHO
