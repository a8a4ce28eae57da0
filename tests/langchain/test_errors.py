"""Failures inside a graph: recorded once, where they happened (the tool, the node, the
model call), with the node's name; re-raised to the application unchanged; the steps and
the run they pass through end with outcome "error" and no second copy."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

from hilt_openai.testing import FakeOpenAI

from .conftest import Harness, ext
from .graphs import EchoChat, ask, broken, chat, thread, weather_graph


def with_error(h: Harness) -> list[dict[str, Any]]:
    return [e for e in h.events() if "error_type" in e["extensions"]]


def test_a_failing_tool(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv), tools=[broken], handle_tool_errors=False)
    with pytest.raises(ValueError, match="no weather station in x") as raised:
        graph.invoke(ask("use tool"), thread("t-err"))
    assert type(raised.value) is ValueError
    (failure,) = with_error(hi)
    assert failure["action"] == "tool_result"
    assert failure["actor"] == {"type": "tool", "id": "broken"}
    assert failure["content"] == {"text": "no weather station in x"}
    assert ext(failure, "error_type", "outcome", "node", "step", "tool_name") == {
        "error_type": "ValueError",
        "outcome": "error",
        "node": "tools",
        "step": 2,
        "tool_name": "broken",
    }
    (step,) = [s for s in hi.of("step") if s["extensions"]["node"] == "tools"]
    (run,) = hi.of("run")
    for ended in (step, run):
        assert ended["extensions"]["outcome"] == "error"
        assert (
            "content" not in ended or "text" not in ended["content"] or not ended["content"]["text"]
        )
    assert run["session_id"] == failure["session_id"] == "t-err"
    assert len(hi.of("system")) == 0


def test_a_tool_error_handled_by_the_tool_node(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv), tools=[broken], handle_tool_errors=True)
    result = graph.invoke(ask("use tool"), thread("t-handled"))
    assert "no weather station" in result["messages"][2].content
    (failure,) = with_error(hi)
    assert failure["action"] == "tool_result"
    assert [s["extensions"]["outcome"] for s in hi.of("step")] == ["ok", "ok", "ok"]
    assert hi.of("run")[0]["extensions"]["outcome"] == "ok"


def test_a_node_that_raises(srv: FakeOpenAI, hi: Harness) -> None:
    from langgraph.graph import END, START, StateGraph

    from .graphs import State

    model = chat(srv)

    def ask_model(state: Any) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    def check(state: Any) -> dict[str, Any]:
        raise KeyError("order 7 is not in the database")

    g = StateGraph(State)
    g.add_node("ask", ask_model)
    g.add_node("check", check)
    g.add_edge(START, "ask")
    g.add_edge("ask", "check")
    g.add_edge("check", END)
    with pytest.raises(KeyError) as raised:
        g.compile().invoke(ask("where is my order"), thread("t-node"))
    assert raised.value.args == ("order 7 is not in the database",)
    (failure,) = with_error(hi)
    assert failure["action"] == "step"
    assert ext(failure, "node", "step", "error_type", "outcome") == {
        "node": "check",
        "step": 2,
        "error_type": "KeyError",
        "outcome": "error",
    }
    assert failure["content"] == {"text": "'order 7 is not in the database'"}
    (run,) = hi.of("run")
    assert ext(run, "outcome", "error_type") == {"outcome": "error"}
    assert run["content"] == {"input": "where is my order"}


def test_a_model_call_that_fails_is_the_provider_s_error(srv: FakeOpenAI, hi: Harness) -> None:
    srv.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        weather_graph(chat(srv)).invoke(ask("use tool"), thread("t-429"))
    (failure,) = with_error(hi)
    assert failure["action"] == "system"
    assert failure["actor"] == {"type": "system", "id": "openai"}
    assert ext(failure, "status_code", "node", "step", "api") == {
        "status_code": 429,
        "node": "agent",
        "step": 1,
        "api": "chat.completions",
    }
    assert [s["extensions"]["outcome"] for s in hi.of("step")] == ["error"]
    assert hi.of("run")[0]["extensions"]["outcome"] == "error"


def test_a_model_call_that_fails_without_a_provider(h: Harness) -> None:
    h.instrument(["langchain"])
    with pytest.raises(ConnectionError, match="the echo server is down"):
        weather_graph(EchoChat(fail=True)).invoke(ask("weather"), thread("t-down"))
    (failure,) = with_error(h)
    assert failure["action"] == "system"
    assert failure["actor"] == {"type": "system", "id": "echo"}
    assert failure["content"] == {"text": "the echo server is down"}
    assert ext(failure, "error_type", "status_code", "node", "api") == {
        "error_type": "ConnectionError",
        "status_code": 0,
        "node": "agent",
        "api": "langchain.chat_model",
    }
    (prompt,) = h.of("prompt")
    assert failure["extensions"]["reply_to"] == prompt["event_id"]
    assert h.of("step")[0]["extensions"]["outcome"] == "error"


def test_an_async_failing_tool(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv), tools=[broken], handle_tool_errors=False)
    with pytest.raises(ValueError, match="no weather station"):
        asyncio.run(graph.ainvoke(ask("use tool"), thread("t-async-err")))
    (failure,) = with_error(hi)
    assert failure["action"] == "tool_result"
    assert failure["extensions"]["node"] == "tools"


def test_an_interrupt_is_not_an_error(srv: FakeOpenAI, hi: Harness) -> None:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt

    from .graphs import State

    def approve(state: Any) -> dict[str, Any]:
        answer = interrupt("approve the refund?")
        return {"messages": [("user", f"approved: {answer}")]}

    g = StateGraph(State)
    g.add_node("approve", approve)
    g.add_edge(START, "approve")
    g.add_edge("approve", END)
    from langgraph.checkpoint.memory import InMemorySaver

    graph = g.compile(checkpointer=InMemorySaver())
    graph.invoke(ask("refund please"), thread("t-int"))
    graph.invoke(Command(resume="yes"), thread("t-int"))
    assert not with_error(hi)
    first, second = hi.of("run")
    assert first["extensions"]["outcome"] == "interrupted"
    assert first["content"]["text"] == "approve the refund?"
    assert second["extensions"]["outcome"] == "ok"
    assert second["content"]["text"] == "approved: yes"
    assert [s["extensions"]["outcome"] for s in hi.of("step")] == ["interrupted", "ok"]
