"""Streams: messages.create(stream=True) and the messages.stream() helper. The app keeps the
SDK's own objects and sees the same events; the call is recorded however the stream ends,
with its partial text, time to first token and usage (message_start's, replaced by each
message_delta's, never added)."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import Usage

from hilt_anthropic.testing import FakeAnthropic
from hilt_core import testing

from .conftest import MODEL, SNAPSHOT, STREAM_ERRORS, Harness

HAS_THINKING_DETAILS = "output_tokens_details" in Usage.model_fields


def user(word: str) -> Any:
    return [{"role": "user", "content": f"stream {word} please"}]


def reply(word: str) -> str:
    return f"Echo: stream {word} please"


def create(client: Any, word: str, **kwargs: Any) -> Any:
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("max_tokens", 100)
    kwargs.setdefault("messages", user(word))
    return client.messages.create(stream=True, **kwargs)


def text_of(events: list[Any]) -> str:
    return "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )


def check_stream_event(done: dict[str, Any]) -> None:
    ext = done["extensions"]
    assert ext["stream"] is True
    assert ext["status_code"] == 200
    metrics = done["metrics"]
    assert 0 < metrics["ttft_ms"] <= metrics["latency_ms"]


def test_sync_stream_same_object_and_events(client: Any, h: Harness, word: str) -> None:
    plain = list(create(client, word))
    h.instrument()
    stream = create(client, word)
    assert type(stream) is anthropic.Stream
    assert stream.response.status_code == 200
    with stream as entered:
        assert entered is stream
        events = list(stream)
    h.same(plain, events)
    prompt, done = h.one()
    check_stream_event(done)
    assert done["content"] == {"text": reply(word)}
    ext = done["extensions"]
    assert ext["reply_to"] == prompt["event_id"]
    assert (ext["model"], ext["request_model"]) == (SNAPSHOT, MODEL)
    assert ext["finish_reason"] == "end_turn"
    assert ext["response_id"] == events[0].message.id
    assert "partial" not in ext
    assert "stream_end" not in ext
    final_usage = events[-2].usage
    start_usage = events[0].message.usage
    assert done["metrics"]["tokens"] == {
        "prompt": start_usage.input_tokens,
        "completion": final_usage.output_tokens,
        "total": start_usage.input_tokens + final_usage.output_tokens,
        "cached": 0,
        "cache_write": 0,
    }


def test_async_stream_same_object_and_events(srv: FakeAnthropic, h: Harness, word: str) -> None:
    async def run() -> tuple[Any, list[Any]]:
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k") as c:
            stream = await create(c, word)
            async with stream:
                return stream, [event async for event in stream]

    _, plain = asyncio.run(run())
    h.instrument()
    stream, events = asyncio.run(run())
    assert type(stream) is anthropic.AsyncStream
    h.same(plain, events)
    _, done = h.one()
    check_stream_event(done)
    assert done["content"]["text"] == reply(word)
    assert done["metrics"]["tokens"]["total"] > 0


def test_usage_deltas_replace_never_add(srv: FakeAnthropic, client: Any, hi: Harness) -> None:
    # Three cumulative message_delta events: a plugin that adds them counts 2x too many.
    srv.message_deltas = 3
    srv.cache_creation_tokens, srv.cache_read_tokens = 5, 11
    events = list(create(client, "count my words please"))
    deltas = [e.usage.output_tokens for e in events if e.type == "message_delta"]
    assert len(deltas) == 3
    assert deltas[-1] > deltas[0]
    _, done = hi.one()
    start = events[0].message.usage
    prompt = start.input_tokens + 5 + 11
    assert done["metrics"]["tokens"] == {
        "prompt": prompt,
        "completion": deltas[-1],
        "total": prompt + deltas[-1],
        "cached": 11,
        "cache_write": 5,
    }


def test_stream_thinking_and_tool_use(client: Any, hi: Harness, word: str) -> None:
    tool = {
        "name": "lookup",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
    events = list(
        create(
            client,
            word,
            messages=[{"role": "user", "content": f"use tool {word}"}],
            tools=[tool],
            thinking={"type": "enabled", "budget_tokens": 2048},
        )
    )
    started = [e.content_block for e in events if e.type == "content_block_start"]
    assert [b.type for b in started] == ["thinking", "text", "tool_use"]
    _, done = hi.one()
    assert done["content"]["text"] == f"Echo: use tool {word}"
    assert done["content"]["thinking"] == f"Thinking about: use tool {word}"
    assert done["content"]["tool_calls"] == [
        {"id": started[2].id, "name": "lookup", "arguments": '{"q":"x"}'}
    ]
    assert done["extensions"]["finish_reason"] == "tool_use"
    if HAS_THINKING_DETAILS:
        assert done["metrics"]["tokens"]["reasoning"] == 5


def plain(value: Any) -> bool:
    """A str, int, float, None, or a tuple or list of such: no SDK object inside."""
    if value is None or type(value) in (str, int, float):
        return True
    return type(value) in (tuple, list) and all(plain(v) for v in value)


@pytest.mark.parametrize("answer", ["text", "thinking_and_tool", "other_blocks"])
def test_a_finished_stream_holds_no_event_object(
    srv: FakeAnthropic, client: Any, hi: Harness, word: str, answer: str
) -> None:
    # Until the writer builds its event, a stream's record keeps plain values (the strings
    # of the deltas, a tuple per block start and for the usages), never the SDK's event
    # models: trees of tracked objects, held across calls, that made the application's
    # garbage collector run every few streamed calls (docs/performance.md, "Objects in
    # flight").
    kwargs: dict[str, Any] = {}
    if answer == "thinking_and_tool":
        tool = {"name": "lookup", "input_schema": {"type": "object", "properties": {}}}
        kwargs = {
            "messages": [{"role": "user", "content": f"use tool {word}"}],
            "tools": [tool],
            "thinking": {"type": "enabled", "budget_tokens": 2048},
        }
    elif answer == "other_blocks":
        srv.reply_next({"type": "redacted_thinking", "data": "ENCRYPTED"}, f"said {word}")
    stream = create(client, word, **kwargs)
    events = list(stream)
    assert len(events) > 5
    rec = stream._hilt_record
    kept = {name: getattr(rec, name) for name in type(rec).__slots__}
    assert rec.items
    assert all(plain(value) for value in kept.values()), kept
    assert rec.gen is None  # nor a weak reference to the finished generator
    _, done = hi.one()
    content = done["content"]
    if answer == "thinking_and_tool":
        assert content["thinking"] == f"Thinking about: use tool {word}"
        assert content["tool_calls"][0]["name"] == "lookup"
    elif answer == "other_blocks":
        assert content == {"text": f"said {word}", "redacted_thinking": 1}
    else:
        assert content == {"text": reply(word)}
    assert done["metrics"]["tokens"]["total"] > 0
    if "service_tier" in Usage.model_fields:
        assert done["extensions"]["service_tier"] == "standard"


def test_the_same_tool_call_streamed_or_not(client: Any, hi: Harness) -> None:
    tool = {
        "name": "f",
        "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}},
    }
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "go"}],
        "tools": [tool],
        "tool_choice": {"type": "any"},
    }
    client.messages.create(**kwargs)
    list(client.messages.create(stream=True, **kwargs))
    (_, whole), (_, streamed) = hi.calls()
    calls = [{k: v for k, v in c.items() if k != "id"} for c in whole["content"]["tool_calls"]]
    assert calls == [{"name": "f", "arguments": '{"a":1}'}]
    assert [
        {k: v for k, v in c.items() if k != "id"} for c in streamed["content"]["tool_calls"]
    ] == calls


# -- the messages.stream() helper -------------------------------------------------------------


def helper(client: Any, word: str) -> Any:
    return client.messages.stream(model=MODEL, max_tokens=100, messages=user(word))


def test_helper_text_stream_and_final_message(client: Any, h: Harness, word: str) -> None:
    with helper(client, word) as plain_stream:
        plain_text = list(plain_stream.text_stream)
        plain_final = plain_stream.get_final_message()
    h.instrument()
    with helper(client, word) as stream:
        assert type(stream).__name__ == "MessageStream"
        text = list(stream.text_stream)
        final = stream.get_final_message()
    assert text == plain_text
    h.same(plain_final, final)
    assert stream.response.is_closed
    _, done = h.one()
    check_stream_event(done)
    assert done["content"]["text"] == "".join(text) == reply(word)
    assert done["extensions"]["response_id"] == final.id
    assert done["metrics"]["tokens"]["completion"] == final.usage.output_tokens
    assert "partial" not in done["extensions"]


def test_helper_events_and_get_final_text(client: Any, h: Harness, word: str) -> None:
    with helper(client, word) as plain_stream:
        plain = list(plain_stream)
    h.instrument()
    with helper(client, word) as stream:
        events = list(stream)
        assert stream.get_final_text() == reply(word)
    h.same(plain, events)
    _, done = h.one()
    assert done["content"]["text"] == reply(word)


def test_helper_left_early(client: Any, hi: Harness, word: str) -> None:
    with helper(client, word) as stream:
        first = next(iter(stream.text_stream))
    _, done = hi.one()
    assert done["extensions"]["stream_end"] == "closed"
    assert done["extensions"]["partial"] is True
    assert done["content"]["text"] == first


def test_async_helper(srv: FakeAnthropic, h: Harness, word: str) -> None:
    async def run() -> tuple[list[str], Any]:
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k") as c:
            manager = c.messages.stream(model=MODEL, max_tokens=100, messages=user(word))
            async with manager as s:
                text = [t async for t in s.text_stream]
                return text, await s.get_final_message()

    plain_text, plain_final = asyncio.run(run())
    h.instrument()
    text, final = asyncio.run(run())
    assert text == plain_text
    h.same(plain_final, final)
    _, done = h.one()
    check_stream_event(done)
    assert done["content"]["text"] == reply(word)


def test_beta_stream_helper(client: Any, hi: Harness, word: str) -> None:
    with client.beta.messages.stream(
        model=MODEL, max_tokens=100, messages=user(word), betas=["interleaved-thinking-2025-05-14"]
    ) as stream:
        final = stream.get_final_message()
    prompt, done = hi.one()
    assert prompt["extensions"]["betas"] == ["interleaved-thinking-2025-05-14"]
    assert done["content"]["text"] == reply(word)
    assert done["extensions"]["response_id"] == final.id


# -- however the stream ends ------------------------------------------------------------------


def first_text(stream: Iterator[Any], count: int) -> str:
    text = ""
    for _, event in zip(range(count), stream, strict=False):
        if event.type == "content_block_delta":
            text += event.delta.text
    return text


def check_partial(done: dict[str, Any], end: str, seen: str, word: str) -> None:
    testing.check_partial(done, end=end, seen=seen, reply=reply(word))
    assert "finish_reason" not in done["extensions"]


def test_closed_after_some_events(client: Any, hi: Harness, word: str) -> None:
    stream = create(client, word)
    seen = first_text(stream, 4)  # message_start, block start, two deltas
    stream.close()
    assert stream.response.is_closed
    _, done = hi.one()
    check_partial(done, "closed", seen, word)
    assert done["metrics"]["ttft_ms"] > 0
    # the input was counted at message_start
    assert done["metrics"]["tokens"]["prompt"] > 0


def test_left_through_break_inside_with(client: Any, hi: Harness, word: str) -> None:
    seen = ""
    with create(client, word) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                seen += event.delta.text
                break
    _, done = hi.one()
    check_partial(done, "closed", seen, word)


def test_break_then_garbage_collected(client: Any, hi: Harness, word: str) -> None:
    stream = create(client, word)
    seen = first_text(stream, 3)
    assert hi.events()[-1]["action"] == "prompt"  # still open: nothing recorded yet
    del stream
    gc.collect()
    _, done = hi.one()
    check_partial(done, "gc", seen, word)


def test_never_iterated_then_garbage_collected(client: Any, hi: Harness, word: str) -> None:
    stream = create(client, word)
    del stream
    gc.collect()
    _, done = hi.one()
    check_partial(done, "gc", "", word)
    assert "ttft_ms" not in done["metrics"]


def test_cut_by_the_server(srv: FakeAnthropic, client: Any, hi: Harness, word: str) -> None:
    srv.cut_stream_next(after_events=4)
    stream = create(client, word)
    got: list[Any] = []
    with pytest.raises(STREAM_ERRORS) as info:
        got.extend(stream)
    seen = text_of(got)
    assert seen
    _, done = hi.one()
    check_partial(done, "error", seen, word)
    assert done["extensions"]["error_type"] == type(info.value).__name__


def test_error_event_mid_stream(srv: FakeAnthropic, client: Any, hi: Harness, word: str) -> None:
    srv.error_stream_next(after_events=3, error_type="overloaded_error")
    got: list[Any] = []
    with pytest.raises(anthropic.APIStatusError) as info:
        got.extend(create(client, word))
    _, done = hi.one()
    check_partial(done, "error", text_of(got), word)
    assert done["extensions"]["error_type"] == type(info.value).__name__
    assert done["extensions"]["error_detail"] == "overloaded_error"


def test_hang_mid_stream_times_out(srv: FakeAnthropic, client: Any, hi: Harness, word: str) -> None:
    srv.hang_stream_next(after_events=3, seconds=3.0)
    timeouts: tuple[type[BaseException], ...] = (anthropic.APITimeoutError, *STREAM_ERRORS)
    got: list[Any] = []
    with pytest.raises(timeouts):
        got.extend(create(client.with_options(timeout=0.5), word))
    _, done = hi.one()
    check_partial(done, "error", text_of(got), word)
    assert "Timeout" in done["extensions"]["error_type"]


def test_async_stream_endings(srv: FakeAnthropic, hi: Harness, word: str) -> None:
    async def run() -> list[str]:
        seen = []
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k") as c:
            # left through break inside ``async with``
            stream = await create(c, word)
            async with stream:
                text = ""
                async for event in stream:
                    if event.type == "content_block_delta":
                        text += event.delta.text
                        break
            seen.append(text)
            # closed by hand after four events
            stream = await create(c, word)
            text = ""
            for _ in range(4):
                event = await stream.__anext__()
                if event.type == "content_block_delta":
                    text += event.delta.text
            await stream.close()
            seen.append(text)
            # exhausted
            stream = await create(c, word)
            seen.append(text_of([e async for e in stream]))
            # garbage-collected, never iterated
            stream = await create(c, word)
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


def test_open_at_uninstrument_is_written_as_partial(client: Any, h: Harness, word: str) -> None:
    session = h.instrument()
    stream = create(client, word)
    seen = first_text(stream, 3)
    import hilt

    hilt.uninstrument()
    assert session.closed
    _, done = h.one()
    check_partial(done, "uninstrumented", seen, word)
    rest = list(stream)  # the app's stream still works, untouched
    assert text_of(rest)
    stream.close()


def test_open_at_interpreter_exit_is_written_as_partial(srv: FakeAnthropic, tmp_path: Path) -> None:
    log = tmp_path / "exit.jsonl"
    script = textwrap.dedent(
        f"""
        import anthropic, hilt
        hilt.instrument(filepath={str(log)!r}, providers=["anthropic"])
        client = anthropic.Anthropic(base_url={srv.base_url!r}, api_key="k")
        stream = client.messages.create(model="m", max_tokens=50, stream=True,
            messages=[{{"role": "user", "content": "left open at exit"}}])
        next(iter(stream)); next(iter(stream)); next(iter(stream))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    h = Harness(log)
    _, done = h.one()
    assert done["extensions"]["stream_end"] == "exit"
    assert done["extensions"]["partial"] is True
    text = done["content"]["text"]
    assert text.startswith("Echo")
    assert text != "Echo: left open at exit"
