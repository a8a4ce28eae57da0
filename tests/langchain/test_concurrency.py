"""Streaming, async, threads and asyncio tasks: each model call is claimed by its own run
and stamped with its own node and thread_id, whatever runs beside it."""

from __future__ import annotations

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import hilt
from hilt_openai.testing import FakeOpenAI

from .conftest import Harness, ext
from .graphs import EchoChat, ask, chat, thread, weather_graph


def by_thread(h: Harness) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in h.events():
        out.setdefault(e["session_id"], []).append(e)
    return out


def check_one_run(events: list[dict[str, Any]], word: str, api: str) -> None:
    """The events of one thread: one run, three steps, two calls with the right nodes."""
    actions = Counter(e["action"] for e in events)
    assert actions == {
        "prompt": 2,
        "completion": 2,
        "step": 3,
        "tool_call": 1,
        "tool_result": 1,
        "run": 1,
    }
    (run,) = [e for e in events if e["action"] == "run"]
    assert run["content"]["input"] == f"use tool {word}"
    assert {e["extensions"]["run_id"] for e in events} == {run["extensions"]["run_id"]}
    prompts = [e for e in events if e["action"] == "prompt"]
    assert prompts[0]["content"]["text"] == f"use tool {word}"
    assert [ext(p, "node") for p in prompts] == [{"node": "agent"}, {"node": "answer"}]
    calls = [e for e in events if e["action"] == "completion"]
    assert {c["extensions"]["api"] for c in calls} == {api}
    assert calls[1]["content"]["text"] == f"Echo: use tool {word}"


def test_stream_updates_and_messages(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv, streaming=True))
    updates = list(graph.stream(ask("use tool a"), thread("t-a"), stream_mode="updates"))
    assert [next(iter(u)) for u in updates] == ["agent", "tools", "answer"]
    tokens = [
        m.content
        for m, _meta in graph.stream(ask("use tool b"), thread("t-b"), stream_mode="messages")
        if m.type == "AIMessageChunk"
    ]
    assert "".join(tokens).endswith("Echo: use tool b")
    threads = by_thread(hi)
    check_one_run(threads["t-a"], "a", "chat.completions")
    check_one_run(threads["t-b"][-10:], "b", "chat.completions")
    streamed = [e for e in hi.of("completion") if e["extensions"]["stream"]]
    assert len(streamed) == 4
    assert all(e["metrics"]["ttft_ms"] >= 0 for e in streamed)


def test_a_stream_left_early_ends_its_run_as_closed(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv))
    stream = graph.stream(ask("use tool"), thread("t-left"))
    first = next(stream)
    assert "agent" in first
    stream.close()
    (run,) = hi.of("run")
    assert ext(run, "outcome") == {"outcome": "closed"}
    assert "error_type" not in run["extensions"]
    assert [e["extensions"]["node"] for e in hi.of("step")] == ["agent"]


def test_streamed_model_without_a_provider(hi: Harness) -> None:
    graph = weather_graph(EchoChat(tool_first=True))
    chunks = list(graph.stream(ask("weather"), thread("t-echo"), stream_mode="messages"))
    assert chunks
    answer = hi.of("completion")[-1]
    assert answer["content"]["text"] == "Echo: sunny in Oslo"
    assert answer["extensions"]["stream"] is True
    assert answer["metrics"]["ttft_ms"] >= 0
    assert answer["metrics"]["tokens"]["completion"] == 4


def test_async_invoke_and_astream(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv))

    async def main() -> None:
        await graph.ainvoke(ask("use tool a"), thread("t-a"))
        async for _ in graph.astream(ask("use tool b"), thread("t-b")):
            pass

    asyncio.run(main())
    threads = by_thread(hi)
    check_one_run(threads["t-a"], "a", "chat.completions")
    check_one_run(threads["t-b"], "b", "chat.completions")


@pytest.mark.parametrize("providers", [["openai", "langchain"], ["langchain"]])
def test_asyncio_tasks_side_by_side(srv: FakeOpenAI, h: Harness, providers: list[str]) -> None:
    h.instrument(providers)
    graph = weather_graph(chat(srv))
    words = [f"w{i}" for i in range(8)]

    async def main() -> None:
        async def one(word: str) -> None:
            with hilt.scope(user_id=word):
                await graph.ainvoke(ask(f"use tool {word}"), thread(f"t-{word}"))

        await asyncio.gather(*(one(w) for w in words))

    asyncio.run(main())
    api = "chat.completions" if "openai" in providers else "langchain.chat_model"
    threads = by_thread(h)
    assert sorted(threads) == sorted(f"t-{w}" for w in words)
    for word in words:
        check_one_run(threads[f"t-{word}"], word, api)
        assert {e["extensions"]["user_id"] for e in threads[f"t-{word}"]} == {word}


@pytest.mark.parametrize("providers", [["openai", "langchain"], ["langchain"]])
def test_threads_side_by_side(srv: FakeOpenAI, h: Harness, providers: list[str]) -> None:
    h.instrument(providers)
    graph = weather_graph(chat(srv))
    words = [f"w{i}" for i in range(8)]

    def one(word: str) -> None:
        graph.invoke(ask(f"use tool {word}"), thread(f"t-{word}"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, words))
    api = "chat.completions" if "openai" in providers else "langchain.chat_model"
    threads = by_thread(h)
    for word in words:
        check_one_run(threads[f"t-{word}"], word, api)


def test_parallel_nodes_of_one_run(srv: FakeOpenAI, hi: Harness) -> None:
    """Two nodes of one step run at once (LangGraph runs them in threads): each model call
    is claimed by its own node."""
    from langgraph.graph import END, START, StateGraph

    from .graphs import State

    model = chat(srv)

    def node(word: str) -> Any:
        return lambda state: {"messages": [model.invoke(f"say {word}")]}

    g = StateGraph(State)
    for word in ("left", "right", "middle"):
        g.add_node(word, node(word))
        g.add_edge(START, word)
        g.add_edge(word, END)
    g.compile().invoke(ask("go"), thread("t-par"))
    calls = hi.of("completion")
    assert len(calls) == 3
    assert {(c["extensions"]["node"], c["content"]["text"]) for c in calls} == {
        ("left", "Echo: say left"),
        ("right", "Echo: say right"),
        ("middle", "Echo: say middle"),
    }
    assert {c["extensions"]["step"] for c in calls} == {1}


def test_astream_events(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv))

    async def main() -> list[str]:
        kinds = []
        async for event in graph.astream_events(ask("use tool e"), thread("t-e"), version="v2"):
            kinds.append(event["event"])
        return kinds

    kinds = asyncio.run(main())
    assert "on_chat_model_end" in kinds
    check_one_run(by_thread(hi)["t-e"], "e", "chat.completions")
