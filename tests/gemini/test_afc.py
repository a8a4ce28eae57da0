"""Automatic function calling and chats: one generate_content call that makes several
model round trips writes each of them (a completion per HTTP call, each with its own
usage), linked so the turn reads as one exchange; the totals add up to what the server
billed. Chats link each turn to the answer it follows; their history is unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

from google import genai
from google.genai import types

from hilt_gemini.testing import FakeGemini, Reply

from .conftest import MODEL, Harness, same


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


# Real types, not the strings `from __future__ import annotations` leaves: google-genai
# before 2.x cannot call a function whose annotations are strings.
get_weather.__annotations__ = {"city": str, "return": str}


def _usage(prompt: int, candidates: int, thoughts: int = 0) -> dict[str, int]:
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": candidates}
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    usage["totalTokenCount"] = prompt + candidates + thoughts
    return usage


def _script_three_round_trips(srv: FakeGemini) -> list[dict[str, int]]:
    usages = [_usage(10, 5, 3), _usage(30, 6, 4), _usage(50, 9)]
    srv.script(
        Reply(function_calls=[("get_weather", {"city": "Paris"})], usage=usages[0]),
        Reply(function_calls=[("get_weather", {"city": "Rome"})], usage=usages[1]),
        Reply(text="Paris and Rome are sunny.", usage=usages[2]),
    )
    return usages


def _check_exchange(h: Harness, usages: list[dict[str, int]], srv: FakeGemini) -> None:
    pairs = h.calls()
    assert len(pairs) == len(usages) == len(srv.requests)
    (p1, c1), (p2, c2), (p3, c3) = pairs
    # One exchange: one conversation, each round trip's prompt answers the last answer.
    assert len({e["session_id"] for pair in pairs for e in pair}) == 1
    assert p1["content"]["text"] == "What is the weather in Paris and Rome?"
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert p3["extensions"]["reply_to"] == c2["event_id"]
    assert c1["content"]["tool_calls"][0]["name"] == "get_weather"
    assert p2["content"]["messages"] == [
        {"role": "tool", "name": "get_weather", "text": '{"result": "sunny in Paris"}'}
    ]
    assert c3["content"]["text"] == "Paris and Rome are sunny."
    # Each round trip has its own usage; the sums are what Google bills.
    tokens = [c["metrics"]["tokens"] for _, c in pairs]
    assert [t["total"] for t in tokens] == [u["totalTokenCount"] for u in usages]
    assert sum(t["prompt"] for t in tokens) == sum(u["promptTokenCount"] for u in usages)
    assert sum(t["completion"] for t in tokens) == sum(
        u["candidatesTokenCount"] + u.get("thoughtsTokenCount", 0) for u in usages
    )
    assert sum(t.get("reasoning", 0) for t in tokens) == 7


def test_each_round_trip_is_recorded_and_linked(
    hi: Harness, any_client: genai.Client, srv: FakeGemini
) -> None:
    usages = _script_three_round_trips(srv)
    config = types.GenerateContentConfig(tools=[get_weather])
    r = any_client.models.generate_content(
        model=MODEL, contents="What is the weather in Paris and Rome?", config=config
    )
    assert r.text == "Paris and Rome are sunny."
    _check_exchange(hi, usages, srv)


def test_the_app_sees_the_same_afc_result(
    h: Harness, client: genai.Client, srv: FakeGemini
) -> None:
    config = types.GenerateContentConfig(tools=[get_weather])
    _script_three_round_trips(srv)
    plain = client.models.generate_content(model=MODEL, contents="weather?", config=config)
    h.instrument()
    _script_three_round_trips(srv)
    got = client.models.generate_content(model=MODEL, contents="weather?", config=config)
    same(plain, got)
    assert len(got.automatic_function_calling_history or []) == 5


def test_afc_in_a_stream(hi: Harness, client: genai.Client, srv: FakeGemini) -> None:
    usages = _script_three_round_trips(srv)
    config = types.GenerateContentConfig(tools=[get_weather])
    chunks = list(
        client.models.generate_content_stream(
            model=MODEL, contents="What is the weather in Paris and Rome?", config=config
        )
    )
    assert "".join(c.text or "" for c in chunks) == "Paris and Rome are sunny."
    _check_exchange(hi, usages, srv)


def test_async_afc(hi: Harness, vertex: genai.Client, srv: FakeGemini) -> None:
    usages = _script_three_round_trips(srv)
    config = types.GenerateContentConfig(tools=[get_weather])

    async def ask() -> Any:
        return await vertex.aio.models.generate_content(
            model=MODEL, contents="What is the weather in Paris and Rome?", config=config
        )

    assert asyncio.run(ask()).text == "Paris and Rome are sunny."
    _check_exchange(hi, usages, srv)


def test_chat_turns_are_linked_and_history_unchanged(
    h: Harness, any_client: genai.Client, word: str
) -> None:
    def talk() -> Any:
        chat = any_client.chats.create(
            model=MODEL, config=types.GenerateContentConfig(system_instruction="be kind")
        )
        chat.send_message(f"hello {word}")
        chat.send_message("and again")
        return chat.get_history()

    plain = talk()
    h.instrument()
    got = talk()
    same(plain, got)
    (p1, c1), (p2, c2) = h.calls()
    assert p1["content"]["messages"][0] == {"role": "system", "text": "be kind"}
    assert p2["content"] == {"text": "and again"}  # the system instruction opened only
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert p1["session_id"] == p2["session_id"] == c2["session_id"]


def test_async_chat(hi: Harness, client: genai.Client, word: str) -> None:
    async def talk() -> None:
        chat = client.aio.chats.create(model=MODEL)
        await chat.send_message(f"hi {word}")
        async for _ in await chat.send_message_stream("more"):
            pass

    asyncio.run(talk())
    (_, c1), (p2, c2) = hi.calls()
    assert p2["extensions"]["reply_to"] == c1["event_id"]
    assert c2["extensions"]["stream"] is True
