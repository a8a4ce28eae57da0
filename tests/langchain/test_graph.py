"""A LangGraph graph with a tool and a checkpointer, invoked twice on one thread_id: what
the log says, with the OpenAI SDK captured by its provider and without, and the graph's
result unchanged."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from langchain_core.tools import BaseTool

import hilt
from hilt_openai.testing import FakeOpenAI

from .conftest import Harness, ext
from .graphs import EchoChat, ask, chat, thread, weather_graph

# later langchain-core 1.x hand the tool call's id to on_tool_start (1.0.0 does not)
TOOL_START_HAS_CALL_ID = "tool_call_id=tool_call_id" in inspect.getsource(BaseTool.run)


def contents(result: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """What a graph answered, without the ids that differ between runs."""
    return [
        (m.type, m.content, [(c["name"], c["args"]) for c in getattr(m, "tool_calls", [])])
        for m in result["messages"]
    ]


def run_twice(srv: FakeOpenAI) -> list[dict[str, Any]]:
    graph = weather_graph(chat(srv))
    first = graph.invoke(ask("use tool for the weather"), thread("thread-42"))
    second = graph.invoke(ask("thanks"), thread("thread-42"))
    return [first, second]


def test_the_graph_answers_exactly_as_without_hilt(srv: FakeOpenAI, h: Harness) -> None:
    plain = run_twice(srv)
    h.instrument(["openai", "langchain"])
    recorded = run_twice(srv)
    assert [contents(r) for r in recorded] == [contents(r) for r in plain]


def test_a_run_reads_as_a_conversation(srv: FakeOpenAI, hi: Harness) -> None:
    run_twice(srv)
    events = hi.events()
    assert {e["session_id"] for e in events} == {"thread-42"}
    first = next(e for e in events if e["action"] in ("run",))["extensions"]["run_id"]
    one = [e for e in events if e["extensions"].get("run_id") == first]
    assert [(e["action"], e["actor"]["id"], ext(e, "node", "step")) for e in one] == [
        ("prompt", "user", {"node": "agent", "step": 1}),
        ("completion", "openai", {"node": "agent", "step": 1}),
        ("step", "agent", {"node": "agent", "step": 1}),
        ("tool_call", "tools", {"node": "tools", "step": 2}),
        ("tool_result", "lookup", {"node": "tools", "step": 2}),
        ("step", "tools", {"node": "tools", "step": 2}),
        ("prompt", "user", {"node": "answer", "step": 3}),
        ("completion", "openai", {"node": "answer", "step": 3}),
        ("step", "answer", {"node": "answer", "step": 3}),
        ("run", "LangGraph", {}),
    ]
    assert all(e["extensions"]["graph"] == "LangGraph" for e in one)
    run = one[-1]
    assert run["content"] == {
        "text": "Echo: use tool for the weather",
        "input": "use tool for the weather",
    }
    assert ext(run, "outcome", "steps") == {"outcome": "ok", "steps": 3}
    assert run["metrics"]["latency_ms"] > 0
    assert "tokens" not in run["metrics"]
    assert "cost_usd" not in run["metrics"]
    call, result = one[3], one[4]
    assert call["content"] == {"text": '{"city":"x"}'}
    asked = one[1]["content"]["tool_calls"][0]["id"]
    assert ext(result, "tool_name", "tool_call_id") == {
        "tool_name": "lookup",
        "tool_call_id": asked,
    }
    if TOOL_START_HAS_CALL_ID:
        assert ext(call, "tool_name", "tool_call_id") == ext(result, "tool_name", "tool_call_id")
    else:  # older langchain-core says which call it was only at the tool's end
        assert ext(call, "tool_name", "tool_call_id") == {"tool_name": "lookup"}
    assert result["content"] == {"text": "sunny in x"}
    assert ext(result, "reply_to", "outcome") == {"reply_to": call["event_id"], "outcome": "ok"}
    assert one[5]["content"] == {"text": "sunny in x"}
    assert one[2]["content"] == {"text": 'lookup({"city": "x"})'}


def test_model_calls_are_the_provider_s_and_counted_once(srv: FakeOpenAI, hi: Harness) -> None:
    run_twice(srv)
    completions = hi.of("completion")
    assert len(completions) == len(srv.requests) == 4
    assert {e["extensions"]["api"] for e in completions} == {"chat.completions"}
    assert all(e["metrics"]["tokens"]["total"] > 0 for e in completions)
    # the second invocation: a new run on the same thread, its steps counted on
    runs = hi.of("run")
    assert len(runs) == 2
    assert runs[0]["extensions"]["run_id"] != runs[1]["extensions"]["run_id"]
    second = [
        e for e in hi.events() if e["extensions"].get("run_id") == runs[1]["extensions"]["run_id"]
    ]
    prompt = next(e for e in second if e["action"] == "prompt")
    assert prompt["content"]["text"] == "thanks"
    assert prompt["extensions"]["reply_to"] == completions[1]["event_id"]  # follows turn one


def test_without_the_provider_the_langchain_layer_records_the_calls(
    srv: FakeOpenAI, lc_only: Harness
) -> None:
    run_twice(srv)
    completions = lc_only.of("completion")
    assert len(completions) == len(srv.requests) == 4
    assert {e["extensions"]["api"] for e in completions} == {"langchain.chat_model"}
    first = completions[0]
    assert first["actor"] == {"type": "agent", "id": "openai"}
    assert first["content"]["tool_calls"][0]["name"] == "lookup"
    assert first["metrics"]["tokens"] == {
        "prompt": 5,
        "completion": 3,
        "total": 8,
        "cached": 0,
        "reasoning": 0,
    }
    assert ext(first, "model", "request_model", "provider", "endpoint", "node", "step") == {
        "model": "gpt-4o",
        "request_model": "gpt-4o",
        "provider": "openai",
        "endpoint": f"127.0.0.1:{srv.port}",
        "node": "agent",
        "step": 1,
    }
    prompts = lc_only.of("prompt")
    assert [p["content"].get("text") for p in prompts] == [
        "use tool for the weather",
        "sunny in x",
        "thanks",
        None,
    ]
    assert all(p["session_id"] == "thread-42" for p in prompts)
    assert prompts[2]["extensions"]["reply_to"] == completions[1]["event_id"]


def test_a_model_no_provider_covers(hi: Harness) -> None:
    graph = weather_graph(EchoChat(tool_first=True))
    graph.invoke(ask("weather please"), thread("t-echo"))
    completions = hi.of("completion")
    assert [c["content"].get("text") for c in completions] == [None, "Echo: sunny in Oslo"]
    assert completions[0]["content"]["tool_calls"][0]["arguments"] == '{"city": "Oslo"}'
    assert [ext(c, "provider", "model", "api", "node") for c in completions] == [
        {"provider": "echo", "model": "echo-1", "api": "langchain.chat_model", "node": "agent"},
        {"provider": "echo", "model": "echo-1", "api": "langchain.chat_model", "node": "answer"},
    ]
    assert "endpoint" not in completions[0]["extensions"]
    assert completions[1]["metrics"]["tokens"] == {"prompt": 5, "completion": 4, "total": 9}
    assert [e["content"]["text"] for e in hi.of("tool_result")] == ["sunny in Oslo"]


def test_the_application_s_conversation_id_wins(srv: FakeOpenAI, hi: Harness) -> None:
    with hilt.conversation("ticket-7"):
        weather_graph(chat(srv)).invoke(ask("use tool"), thread("thread-42"))
    assert {e["session_id"] for e in hi.events()} == {"ticket-7"}


def test_session_or_conversation_id_in_metadata(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv), checkpointer=False)
    graph.invoke(ask("use tool"), {"metadata": {"session_id": "s-1"}})
    graph.invoke(ask("use tool"), {"metadata": {"conversation_id": "c-1"}})
    assert [e["session_id"] for e in hi.of("run")] == ["s-1", "c-1"]
    assert {e["session_id"] for e in hi.events()} == {"s-1", "c-1"}


def test_without_any_id_a_run_is_one_conversation_named_by_its_opening(
    srv: FakeOpenAI, hi: Harness
) -> None:
    graph = weather_graph(chat(srv), checkpointer=False)
    graph.invoke(ask("use tool in Rome"))
    graph.invoke(ask("use tool in Rome"))
    graph.invoke(ask("use tool in Oslo"))
    runs = hi.of("run")
    ids = [r["session_id"] for r in runs]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith("conv_")
    assert len(ids[0]) == 17
    for run in runs:
        mine = [
            e for e in hi.events() if e["extensions"].get("run_id") == run["extensions"]["run_id"]
        ]
        assert len(mine) == 10
        assert {e["session_id"] for e in mine} == {run["session_id"]}


def test_a_graph_s_own_name_and_a_subgraph_s_steps(srv: FakeOpenAI, hi: Harness) -> None:
    from langgraph.graph import END, START, StateGraph

    from .graphs import State

    inner = weather_graph(chat(srv), checkpointer=False, name="weather")
    outer = StateGraph(State)
    outer.add_node("research", inner)
    outer.add_edge(START, "research")
    outer.add_edge("research", END)
    outer.compile(name="assistant").invoke(ask("use tool"), thread("t-sub"))
    runs = hi.of("run")
    assert len(runs) == 1  # the subgraph is part of the run, not a run of its own
    assert runs[0]["actor"]["id"] == "assistant"
    run_id = runs[0]["extensions"]["run_id"]
    assert all(e["extensions"]["run_id"] == run_id for e in hi.events())
    assert all(e["extensions"]["graph"] == "assistant" for e in hi.events())
    steps = [(ext(e, "node", "step", "node_path")) for e in hi.of("step")]
    assert steps == [
        {"node": "agent", "step": 1, "node_path": "research/agent"},
        {"node": "tools", "step": 2, "node_path": "research/tools"},
        {"node": "answer", "step": 3, "node_path": "research/answer"},
        {"node": "research", "step": 1},
    ]
    assert ext(hi.of("completion")[0], "node", "node_path") == {
        "node": "agent",
        "node_path": "research/agent",
    }
    assert runs[0]["extensions"]["steps"] == 4


@pytest.mark.parametrize("mode", ["hash", "metadata"])
def test_capture_modes_keep_the_run_s_context(srv: FakeOpenAI, h: Harness, mode: str) -> None:
    h.instrument(["openai", "langchain"], capture=mode, hash_salt="s")
    weather_graph(chat(srv)).invoke(ask("use tool"), thread("t-private"))
    for e in h.events():
        assert {"run_id", "graph"} <= set(e["extensions"])
        if e["action"] != "run":
            assert {"node", "step"} <= set(e["extensions"])
        assert "outcome" in e["extensions"] or e["action"] in ("prompt", "completion", "tool_call")
        if mode == "metadata":
            assert "content" not in e
        else:
            assert all(
                v.startswith("sha256:") for v in e.get("content", {}).values() if isinstance(v, str)
            )
    assert h.of("tool_result")[0]["extensions"]["tool_name"] == "lookup"


def test_an_sdk_called_by_a_tool_carries_the_node(srv: FakeOpenAI, hi: Harness) -> None:
    """A tool (or a node) that calls the OpenAI SDK itself: the provider's events carry the
    run's context and conversation, and nothing claims them (no model run is open)."""
    import openai
    from langchain_core.tools import tool

    client = openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0)

    @tool
    def summarize(city: str) -> str:
        """Summarize the weather with a model."""
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"weather {city}"}]
        )
        return reply.choices[0].message.content or ""

    weather_graph(chat(srv), tools=[summarize]).invoke(ask("use tool"), thread("t-inner"))
    inner = [e for e in hi.of("completion") if e["extensions"]["model"] == "gpt-4o-mini"]
    assert len(inner) == 1
    assert inner[0]["session_id"] == "t-inner"
    assert ext(inner[0], "node", "step", "graph") == {
        "node": "tools",
        "step": 2,
        "graph": "LangGraph",
    }
    assert len(hi.of("completion")) == len(srv.requests) == 3
    client.close()


def test_a_node_that_adds_nothing_has_no_content(srv: FakeOpenAI, hi: Harness) -> None:
    run_twice(srv)  # the second time, the agent asks for no tool: the tool node adds nothing
    quiet = [s for s in hi.of("step") if s["extensions"]["node"] == "tools"][1]
    assert "content" not in quiet
    assert quiet["extensions"]["outcome"] == "ok"
