"""Streams: the app keeps the SDK's own Stream object and sees the same chunks; the call is
recorded however the stream ends, with its partial text, time to first token and usage."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from hilt_core import testing
from hilt_openai.testing import FakeOpenAI

from .conftest import STREAM_ERRORS


def user(word: str) -> Any:
    return [{"role": "user", "content": f"stream {word} please"}]


def reply(word: str) -> str:
    return f"Echo: stream {word} please"


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks)


def check_stream_event(done: dict[str, Any]) -> None:
    ext = done["extensions"]
    assert ext["stream"] is True
    assert ext["status_code"] == 200
    metrics = done["metrics"]
    assert 0 < metrics["ttft_ms"] <= metrics["latency_ms"]


def test_sync_stream_same_object_and_chunks(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    plain = list(client.chat.completions.create(model="gpt-4o", messages=user(word), stream=True))
    h.instrument()
    stream = client.chat.completions.create(model="gpt-4o", messages=user(word), stream=True)
    assert type(stream) is openai.Stream
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"].startswith("text/event-stream")
    with stream as entered:
        assert entered is stream
        chunks = list(stream)
    h.same(plain, chunks)
    assert "stream_options" not in srv.last_request.body  # compatible endpoint: no injection
    prompt, done = h.one()
    check_stream_event(done)
    assert done["content"]["text"] == reply(word) == text_of(chunks)
    ext = done["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert (ext["model"], ext["request_model"]) == ("gpt-4o-2024-08-06", "gpt-4o")
    assert ext["finish_reason"] == "stop"
    assert ext["response_id"] == chunks[0].id
    assert "partial" not in ext
    assert "stream_end" not in ext
    assert "tokens" not in done["metrics"]  # no usage asked for, none injected


def test_async_stream_same_object_and_chunks(srv: FakeOpenAI, h: Any, word: str) -> None:
    async def run() -> tuple[Any, list[Any]]:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            stream = await c.chat.completions.create(
                model="gpt-4o", messages=user(word), stream=True
            )
            async with stream:
                return stream, [chunk async for chunk in stream]

    _, plain = asyncio.run(run())
    h.instrument(include_usage=True)
    stream, chunks = asyncio.run(run())
    assert type(stream) is openai.AsyncStream
    assert stream.response.status_code == 200
    h.same(plain, chunks)
    assert srv.last_request.body["stream_options"] == {"include_usage": True}
    _, done = h.one()
    check_stream_event(done)
    assert done["content"]["text"] == reply(word)
    assert done["metrics"]["tokens"]["total"] > 0


# -- usage of streams ---------------------------------------------------------------------


def test_injected_usage_is_recorded_and_hidden_from_the_app(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    srv.cached_tokens, srv.reasoning_tokens = 1, 2
    plain = list(client.chat.completions.create(model="m", messages=user(word), stream=True))
    h.instrument(include_usage=True)
    chunks = []
    for chunk in client.chat.completions.create(model="m", messages=user(word), stream=True):
        chunk.choices[0]  # what apps do: the usage-only chunk would raise IndexError here
        chunks.append(chunk)
    assert srv.last_request.body["stream_options"] == {"include_usage": True}
    h.same(plain, chunks)
    assert all(c.usage is None and "usage" not in c.model_fields_set for c in chunks)
    _, done = h.one()
    assert done["metrics"]["tokens"] == {
        "prompt": 3,
        "completion": 6,
        "total": 9,
        "cached": 1,
        "reasoning": 2,
    }


def test_include_usage_false_turns_injection_off(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    h.instrument(include_usage=False)
    list(client.chat.completions.create(model="m", messages=user(word), stream=True))
    assert "stream_options" not in srv.last_request.body
    _, done = h.one()
    assert "tokens" not in done["metrics"]


def test_default_injects_only_for_api_openai_com(srv: FakeOpenAI, hi: Any, word: str) -> None:
    # api.openai.com reached through a plain-HTTP proxy: the fake on 127.0.0.1
    http = openai.DefaultHttpxClient(proxy=srv.azure_endpoint)
    with openai.OpenAI(
        api_key="k", base_url="http://api.openai.com/v1", http_client=http, max_retries=0
    ) as official:
        chunks = list(official.chat.completions.create(model="m", messages=user(word), stream=True))
    assert srv.last_request.headers["host"] == "api.openai.com"
    assert srv.last_request.body["stream_options"] == {"include_usage": True}
    assert all(c.choices for c in chunks)
    with openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as compatible:
        list(compatible.chat.completions.create(model="m", messages=user(word), stream=True))
    assert "stream_options" not in srv.last_request.body
    (_, first), (_, second) = hi.calls()
    assert (first["extensions"]["provider"], first["extensions"]["endpoint"]) == (
        "openai",
        "api.openai.com",
    )
    assert first["metrics"]["tokens"]["total"] > 0
    assert second["extensions"]["provider"] == "openai-compatible"
    assert "tokens" not in second["metrics"]


def test_usage_the_app_asked_for_reaches_it(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    def run() -> list[Any]:
        return list(
            client.chat.completions.create(
                model="m",
                messages=user(word),
                stream=True,
                stream_options={"include_usage": True},
            )
        )

    plain = run()
    h.instrument(include_usage=True)
    chunks = run()
    h.same(plain, chunks)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    _, done = h.one()
    assert done["metrics"]["tokens"]["total"] == chunks[-1].usage.total_tokens


def test_legacy_completions_stream_with_injection(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    plain = list(client.completions.create(model="c", prompt=f"say {word}", stream=True))
    h.instrument(include_usage=True)
    chunks = list(client.completions.create(model="c", prompt=f"say {word}", stream=True))
    assert srv.last_request.body["stream_options"] == {"include_usage": True}
    h.same(plain, chunks)
    _, done = h.one()
    check_stream_event(done)
    assert done["extensions"]["api"] == "completions"
    assert done["content"]["text"] == f"Echo: say {word}"
    assert done["extensions"]["finish_reason"] == "stop"
    assert done["metrics"]["tokens"]["completion"] == 3


# -- however the stream ends ----------------------------------------------------------------


def first_pieces(stream: Iterator[Any], count: int) -> str:
    text = ""
    for _, chunk in zip(range(count), stream, strict=False):
        text += chunk.choices[0].delta.content or ""
    return text


def check_partial(done: dict[str, Any], end: str, seen: str, word: str) -> None:
    testing.check_partial(done, end=end, seen=seen, reply=reply(word))


def test_closed_after_some_chunks(client: Any, hi: Any, word: str) -> None:
    stream = client.chat.completions.create(model="m", messages=user(word), stream=True)
    seen = first_pieces(stream, 3)
    stream.close()
    assert stream.response.is_closed
    _, done = hi.one()
    check_partial(done, "closed", seen, word)
    assert "finish_reason" not in done["extensions"]
    assert done["metrics"]["ttft_ms"] > 0


def test_left_through_break_inside_with(client: Any, hi: Any, word: str) -> None:
    seen = ""
    with client.chat.completions.create(model="m", messages=user(word), stream=True) as stream:
        for chunk in stream:
            seen += chunk.choices[0].delta.content or ""
            if seen:
                break
    _, done = hi.one()
    check_partial(done, "closed", seen, word)


def test_break_then_garbage_collected(client: Any, hi: Any, word: str) -> None:
    stream = client.chat.completions.create(model="m", messages=user(word), stream=True)
    seen = first_pieces(stream, 2)
    assert hi.events()[-1]["action"] == "prompt"  # still open: nothing recorded yet
    del stream
    gc.collect()
    _, done = hi.one()
    check_partial(done, "gc", seen, word)


def test_never_iterated_then_garbage_collected(client: Any, hi: Any, word: str) -> None:
    stream = client.chat.completions.create(model="m", messages=user(word), stream=True)
    del stream
    gc.collect()
    _, done = hi.one()
    check_partial(done, "gc", "", word)
    assert "ttft_ms" not in done["metrics"]


def test_cut_by_the_server(srv: FakeOpenAI, client: Any, hi: Any, word: str) -> None:
    srv.cut_stream_next(after_chunks=3)
    stream = client.chat.completions.create(model="m", messages=user(word), stream=True)
    got: list[Any] = []
    with pytest.raises(STREAM_ERRORS) as info:
        got.extend(stream)
    seen = text_of(got)
    _, done = hi.one()
    check_partial(done, "error", seen, word)
    assert done["extensions"]["error_type"] == type(info.value).__name__


def test_async_stream_endings(srv: FakeOpenAI, hi: Any, word: str) -> None:
    async def run() -> list[str]:
        seen = []
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            # left through break inside ``async with``
            stream = await c.chat.completions.create(model="m", messages=user(word), stream=True)
            async with stream:
                text = ""
                async for chunk in stream:
                    text += chunk.choices[0].delta.content or ""
                    if text:
                        break
            seen.append(text)
            # closed by hand after two chunks
            stream = await c.chat.completions.create(model="m", messages=user(word), stream=True)
            text = ""
            for _ in range(2):
                text += (await stream.__anext__()).choices[0].delta.content or ""
            await stream.close()
            seen.append(text)
            # exhausted
            stream = await c.chat.completions.create(model="m", messages=user(word), stream=True)
            seen.append("".join([ch.choices[0].delta.content or "" async for ch in stream]))
            # garbage-collected, never iterated
            stream = await c.chat.completions.create(model="m", messages=user(word), stream=True)
            del stream
            gc.collect()
        return seen

    seen = asyncio.run(run())
    (_, broke), (_, closed), (_, whole), (_, collected) = hi.calls()
    check_partial(broke, "closed", seen[0], word)
    check_partial(closed, "closed", seen[1], word)
    assert whole["content"]["text"] == seen[2] == reply(word)
    assert "partial" not in whole["extensions"]
    check_partial(collected, "gc", "", word)


def test_stream_n_and_tool_calls(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    tool = {
        "type": "function",
        "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
    }

    def run() -> list[Any]:
        return list(
            client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": f"use tool {word}"}],
                tools=[tool],
                n=2,
                stream=True,
            )
        )

    plain = run()
    h.instrument(include_usage=True)
    chunks = run()
    h.same(plain, chunks)
    _, done = h.one()
    call_id = chunks[0].choices[0].delta.tool_calls[0].id
    calls = [{"id": call_id, "name": "lookup", "arguments": "{}"}]
    assert done["content"]["tool_calls"] == calls
    assert done["extensions"]["tool_calls"] == 1
    assert done["extensions"]["finish_reason"] == "tool_calls"
    assert [c["index"] for c in done["content"]["choices"]] == [0, 1]
    assert all(c["finish_reason"] == "tool_calls" for c in done["content"]["choices"])
    assert all(len(c["tool_calls"]) == 1 for c in done["content"]["choices"])


def test_stream_n_text_keeps_each_choices_text(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    # Text chunks of choice 0 are kept as their text only; choice 1's chunks whole.
    def run() -> list[Any]:
        return list(
            client.chat.completions.create(model="m", messages=user(word), n=2, stream=True)
        )

    plain = run()
    h.instrument()
    chunks = run()
    h.same(plain, chunks)
    _, done = h.one()
    assert done["content"]["text"] == reply(word)
    assert [(c["index"], c["text"], c["finish_reason"]) for c in done["content"]["choices"]] == [
        (0, reply(word), "stop"),
        (1, reply(word), "stop"),
    ]
    assert done["extensions"]["response_id"] == chunks[0].id


def test_a_refusal_is_recorded_streamed_or_not(client: Any, hi: Any, word: str) -> None:
    said = f"Echo: refuse {word}"
    messages: Any = [{"role": "user", "content": f"refuse {word}"}]
    whole = client.chat.completions.create(model="m", messages=messages)
    assert (whole.choices[0].message.content, whole.choices[0].message.refusal) == (None, said)
    chunks = list(client.chat.completions.create(model="m", messages=messages, stream=True))
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks) == said
    (_, done), (_, streamed) = hi.calls()
    for event in (done, streamed):
        assert event["content"]["refusal"] == said
        assert event["content"].get("text") is None
        assert event["extensions"]["finish_reason"] == "stop"


@pytest.mark.parametrize("tools", [False, True])
def test_a_finished_stream_holds_no_chunk_object(
    client: Any, h: Any, word: str, tools: bool
) -> None:
    # Until the writer builds its event, a stream's record keeps plain values (the text of
    # text chunks, a flat tuple for the others), never the SDK's chunk models: a tree of
    # tracked objects per chunk, held across calls, that made the application's garbage
    # collector run every few streamed calls (docs/performance.md, "Objects in flight").
    h.instrument(include_usage=True)
    extra: dict[str, Any] = {}
    if tools:
        fn = {"name": "lookup", "parameters": {"type": "object", "properties": {}}}
        extra = {"tools": [{"type": "function", "function": fn}], "n": 2}
    content = f"use tool {word}" if tools else f"stream {word} please"
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": content}], stream=True, **extra
    )
    chunks = list(stream)
    assert len(chunks) > 3
    kept = stream._hilt_record.chunks
    assert kept
    assert {type(k) for k in kept} <= {str, tuple}
    _, done = h.one()
    assert done["extensions"]["finish_reason"] == ("tool_calls" if tools else "stop")
    assert done["metrics"]["tokens"]["total"] > 0
