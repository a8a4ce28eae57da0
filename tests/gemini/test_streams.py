"""Streams, sync and async, on both API flavours: the app gets the SDK's chunks unchanged;
the completion keeps the LAST non-empty usageMetadata (never the sum of the chunks) and
is written however the stream ends."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

import hilt
from hilt_core.provider import open_streams
from hilt_gemini import patch
from hilt_gemini.streams import GeminiStream
from hilt_gemini.testing import FakeGemini, Reply

from .conftest import MODEL, REMOTE_PROTOCOL_ERROR, STREAM_ERROR_EVENTS, Harness, same

needs_error_events = pytest.mark.skipif(
    not STREAM_ERROR_EVENTS, reason="this google-genai passes error events on as chunks"
)


def test_chunks_are_unchanged_and_usage_is_the_last(
    h: Harness, any_client: genai.Client, srv: FakeGemini
) -> None:
    plain = list(any_client.models.generate_content_stream(model=MODEL, contents="a b c d"))
    h.instrument()
    got = list(any_client.models.generate_content_stream(model=MODEL, contents="a b c d"))
    same(plain, got)
    prompt, done = h.one()
    ext = done["extensions"]
    assert ext["stream"] is True
    assert ext["reply_to"] == prompt["event_id"]
    assert "stream_end" not in ext
    assert "partial" not in ext
    assert ext["finish_reason"] == "STOP"
    assert ext["model"] == "gemini-2.5-flash-001"
    assert done["content"] == {"text": "Echo: a b c d"}
    last = got[-1].usage_metadata
    assert last is not None
    # Each chunk carries the counts so far: the last one is the call's.
    assert done["metrics"]["tokens"] == {
        "prompt": last.prompt_token_count,
        "completion": last.candidates_token_count,
        "total": last.total_token_count,
    }
    assert done["metrics"]["ttft_ms"] >= 0
    assert done["metrics"]["ttft_ms"] <= done["metrics"]["latency_ms"]


def test_thoughts_and_function_calls_in_a_stream(
    hi: Harness, client: genai.Client, srv: FakeGemini
) -> None:
    srv.script(Reply(text="the answer", thought="pondering", function_calls=[("f", {"a": 1})]))
    list(client.models.generate_content_stream(model=MODEL, contents="q"))
    _, done = hi.one()
    assert done["content"]["text"] == "the answer"
    assert done["content"]["reasoning"] == "pondering"
    assert done["content"]["tool_calls"] == [{"id": None, "name": "f", "arguments": '{"a": 1}'}]
    assert done["metrics"]["tokens"]["reasoning"] == 1


def test_a_stream_record_holds_nothing_made_for_its_call_but_text(
    hi: Harness, client: genai.Client, srv: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Until the writer builds its event, a stream's record keeps the chunks' JSON text,
    # never the SDK's response objects, and nothing else made for its call (a bound
    # method is one more object): what it holds counts towards the application's next
    # garbage collection (docs/performance.md, "Objects in flight").
    made: list[Any] = []

    class Seen(patch.GeminiStream):
        __slots__ = ()

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(patch, "GeminiStream", Seen)
    srv.script(Reply(text="the answer", thought="pondering", function_calls=[("f", {"a": 1})]))
    for contents in ("q", "one two three four"):
        assert list(client.models.generate_content_stream(model=MODEL, contents=contents))
    first, second = made
    for rec in made:
        assert rec.bodies
        assert {type(b) for b in rec.bodies} == {str}
    for name in GeminiStream.__slots__:
        if name != "bodies":  # shared by every call, or a plain value
            value = getattr(first, name)
            assert value is getattr(second, name) or type(value) in (str, int, float), name
    (_, one), (_, two) = hi.calls()
    assert one["content"]["tool_calls"][0]["name"] == "f"
    assert two["content"]["text"] == "Echo: one two three four"


def test_a_stream_left_early_is_partial_and_closed(hi: Harness, client: genai.Client) -> None:
    for chunk in client.models.generate_content_stream(model=MODEL, contents="one two three"):
        assert chunk.text
        break
    gc.collect()
    _, done = hi.one()
    assert done["extensions"]["stream_end"] == "closed"
    assert done["extensions"]["partial"] is True
    assert done["content"]["text"]
    assert open_streams() == 0


def test_a_cut_stream_is_partial_with_the_transport_error(
    hi: Harness, client: genai.Client, srv: FakeGemini
) -> None:
    srv.cut_stream_next(after_chunks=2)
    got: list[Any] = []
    with pytest.raises(REMOTE_PROTOCOL_ERROR):
        got.extend(client.models.generate_content_stream(model=MODEL, contents="cut me here"))
    assert len(got) == 2
    _, done = hi.one()
    ext = done["extensions"]
    assert ext["stream_end"] == "error"
    assert ext["partial"] is True
    assert ext["error_type"] == "RemoteProtocolError"
    assert done["content"]["text"] == "".join(c.text for c in got)
    assert done["metrics"]["tokens"]["completion"] == got[-1].usage_metadata.candidates_token_count


@needs_error_events
def test_an_error_event_mid_stream(hi: Harness, client: genai.Client, srv: FakeGemini) -> None:
    srv.error_in_stream_next(after_chunks=1, status=503)
    with pytest.raises(errors.ServerError):
        list(client.models.generate_content_stream(model=MODEL, contents="fail later"))
    _, done = hi.one()
    assert done["action"] == "completion"
    assert done["extensions"]["stream_end"] == "error"
    assert done["extensions"]["error_type"] == "ServerError"


@pytest.mark.parametrize("how", ["http", "event"])
def test_a_stream_that_fails_before_its_first_chunk_is_an_error(
    hi: Harness, any_client: genai.Client, srv: FakeGemini, how: str
) -> None:
    if how == "http":
        srv.fail_next(429)
    else:
        if not STREAM_ERROR_EVENTS:
            pytest.skip("this google-genai passes error events on as chunks")
        srv.error_in_stream_next(after_chunks=0, status=500)
    with pytest.raises(errors.APIError) as caught:
        list(any_client.models.generate_content_stream(model=MODEL, contents="fails"))
    prompt, failed = hi.one()
    assert failed["action"] == "system"
    ext = failed["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert ext["status_code"] == caught.value.code
    assert ext["error_type"] == type(caught.value).__name__
    assert ext["error_code"] == "api_error"


def test_a_stream_open_at_uninstrument_is_written(h: Harness, client: genai.Client) -> None:
    h.instrument()
    stream = client.models.generate_content_stream(model=MODEL, contents="left open")
    next(stream)
    hilt.uninstrument()
    _, done = h.one()
    assert done["extensions"]["stream_end"] == "uninstrumented"
    assert done["extensions"]["partial"] is True
    stream.close()


def test_async_streams(h: Harness, srv: FakeGemini, any_client: genai.Client) -> None:
    vertexai = bool(any_client.vertexai)

    async def run(stop_after: int | None = None) -> list[Any]:
        out = []
        client = srv.client(vertexai=vertexai)  # one per event loop (google-genai < 2.2x)
        stream = await client.aio.models.generate_content_stream(
            model=MODEL, contents="async stream words"
        )
        async for chunk in stream:
            out.append(chunk)
            if stop_after is not None and len(out) >= stop_after:
                await stream.aclose()
                break
        return out

    plain = asyncio.run(run())
    h.instrument()
    got = asyncio.run(run())
    same(plain, got)
    asyncio.run(run(stop_after=1))
    (_, done), (_, left) = h.calls()
    assert done["content"]["text"] == "Echo: async stream words"
    assert "stream_end" not in done["extensions"]
    assert done["metrics"]["tokens"]["total"] == got[-1].usage_metadata.total_token_count
    assert left["extensions"]["stream_end"] == "closed"
    assert left["extensions"]["partial"] is True


def test_async_stream_error_before_the_first_chunk(
    hi: Harness, vertex: genai.Client, srv: FakeGemini
) -> None:
    srv.fail_next(429)

    async def run() -> None:
        async for _ in await vertex.aio.models.generate_content_stream(model=MODEL, contents="x"):
            pass

    with pytest.raises(errors.ClientError):
        asyncio.run(run())
    _, failed = hi.one()
    assert failed["action"] == "system"
    assert failed["extensions"]["status_code"] == 429
    assert failed["extensions"]["error_detail"] == "RESOURCE_EXHAUSTED"


def test_chat_stream(hi: Harness, client: genai.Client, word: str) -> None:
    chat = client.chats.create(model=MODEL)
    text = "".join(c.text or "" for c in chat.send_message_stream(f"first {word}"))
    assert text == f"Echo: first {word}"
    list(chat.send_message_stream("second"))
    (p1, c1), (p2, c2) = hi.calls()
    assert p2["content"] == {"text": "second"}
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert p2["session_id"] == p1["session_id"] == c2["session_id"]


def test_stream_with_config(hi: Harness, client: genai.Client) -> None:
    config = types.GenerateContentConfig(system_instruction="short", max_output_tokens=5)
    list(client.models.generate_content_stream(model=MODEL, contents="cfg", config=config))
    prompt, _ = hi.one()
    assert prompt["content"]["messages"][0] == {"role": "system", "text": "short"}
