"""with_raw_response and with_streaming_response: the app gets the SDK's own response
objects and parses them as it likes; HILT records the call all the same (from anthropic 1.0
a raw response is an APIResponse whose body the SDK has read: it is recorded at once,
whether or not the app ever calls parse())."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic

from hilt_anthropic.testing import FakeAnthropic

from .conftest import MODEL, SNAPSHOT, Harness


def kwargs(word: str, **more: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": f"raw {word}"}],
        **more,
    }


def test_with_raw_response_same_objects(client: Any, h: Harness, word: str) -> None:
    plain = client.messages.with_raw_response.create(**kwargs(word))
    h.instrument()
    raw = client.messages.with_raw_response.create(**kwargs(word))
    assert type(raw) is type(plain)
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/json"
    h.same(plain.parse(), raw.parse())
    assert raw.parse() is raw.parse()  # the SDK's cache, as without HILT
    prompt, done = h.one()
    assert done["extensions"]["reply_to"] == prompt["event_id"]
    assert done["content"]["text"] == f"Echo: raw {word}"
    assert done["extensions"]["model"] == SNAPSHOT
    assert done["extensions"]["response_id"] == raw.parse().id
    assert done["metrics"]["tokens"]["total"] > 0


def test_with_raw_response_never_parsed_is_recorded(client: Any, hi: Harness, word: str) -> None:
    raw = client.messages.with_raw_response.create(**kwargs(word))
    assert raw.http_response.json()["content"][0]["text"] == f"Echo: raw {word}"
    _, done = hi.one()
    assert done["content"]["text"] == f"Echo: raw {word}"
    assert done["extensions"]["finish_reason"] == "end_turn"
    assert "unparsed" not in done["extensions"]


def test_async_with_raw_response(srv: FakeAnthropic, hi: Harness, word: str) -> None:
    async def run() -> Any:
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k") as c:
            raw = await c.messages.with_raw_response.create(**kwargs(word))
            parsed = raw.parse()
            return await parsed if asyncio.iscoroutine(parsed) else parsed

    message = asyncio.run(run())
    _, done = hi.one()
    assert done["content"]["text"] == message.content[0].text == f"Echo: raw {word}"


def test_with_raw_response_stream(client: Any, h: Harness, word: str) -> None:
    plain = list(client.messages.with_raw_response.create(**kwargs(word, stream=True)).parse())
    h.instrument()
    raw = client.messages.with_raw_response.create(**kwargs(word, stream=True))
    events = list(raw.parse())
    h.same(plain, events)
    _, done = h.one()
    assert done["extensions"]["stream"] is True
    assert done["content"]["text"] == f"Echo: raw {word}"
    assert "partial" not in done["extensions"]


def test_with_streaming_response_parsed(client: Any, h: Harness, word: str) -> None:
    with client.messages.with_streaming_response.create(**kwargs(word)) as response:
        plain = response.parse()
    h.instrument()
    with client.messages.with_streaming_response.create(**kwargs(word)) as response:
        assert response.status_code == 200
        got = response.parse()
    h.same(plain, got)
    _, done = h.one()
    assert done["content"]["text"] == f"Echo: raw {word}"
    assert done["extensions"]["response_id"] == got.id


def test_with_streaming_response_read_by_hand(client: Any, hi: Harness, word: str) -> None:
    with client.messages.with_streaming_response.create(**kwargs(word)) as response:
        body = response.json()
    assert body["content"][0]["text"] == f"Echo: raw {word}"
    _, done = hi.one()
    assert done["content"]["text"] == f"Echo: raw {word}"


def test_with_streaming_response_closed_unread(client: Any, hi: Harness, word: str) -> None:
    with client.messages.with_streaming_response.create(**kwargs(word)) as response:
        assert response.status_code == 200
    _, done = hi.one()
    assert done["extensions"]["unparsed"] is True
    assert done["extensions"]["partial"] is True


def test_with_streaming_response_stream(client: Any, h: Harness, word: str) -> None:
    with client.messages.with_streaming_response.create(**kwargs(word, stream=True)) as response:
        plain = list(response.parse())
    h.instrument()
    with client.messages.with_streaming_response.create(**kwargs(word, stream=True)) as response:
        events = list(response.parse())
    h.same(plain, events)
    _, done = h.one()
    assert done["extensions"]["stream"] is True
    assert done["content"]["text"] == f"Echo: raw {word}"
    assert "partial" not in done["extensions"]


def test_async_with_streaming_response(srv: FakeAnthropic, hi: Harness, word: str) -> None:
    async def run() -> str:
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k") as c:
            create = c.messages.with_streaming_response.create
            async with create(**kwargs(word, stream=True)) as response:
                stream = await response.parse()
                return "".join(
                    [e.delta.text async for e in stream if e.type == "content_block_delta"]
                )

    assert asyncio.run(run()) == f"Echo: raw {word}"
    _, done = hi.one()
    assert done["content"]["text"] == f"Echo: raw {word}"
    assert done["extensions"]["stream"] is True
