"""What hilt-langchain costs a LangGraph application's thread, per graph invocation.

    python benchmarks/bench_langchain.py            # 7 rounds of 1,000 invocations each

Two graphs, no network: three nodes that add a message each (4 events per invocation: 3
steps and the run), and one node calling a chat model no provider captures, whose call
the LangChain layer records (4 events: prompt, completion, step, run). Each round runs
the graph without any handler, with a LangChain callback handler that does nothing
(registered the way HILT registers its own: what LangChain's callbacks cost by
themselves), and instrumented. The figure is the CPU time of the application's thread
(``time.thread_time``), median of the rounds: the writer thread's work is not in it, and
neither is the noise of a shared machine's other processes. The figures go in
docs/langchain.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tracers import context as lc_context
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

import hilt


class State(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]


class Echo(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "echo"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        usage = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
        answer = AIMessage("Echo", usage_metadata=usage)  # type: ignore[arg-type]
        return ChatResult(generations=[ChatGeneration(message=answer)])


def three_nodes() -> Any:
    g = StateGraph(State)
    for name in ("a", "b", "c"):
        g.add_node(name, lambda s, name=name: {"messages": [AIMessage(name)]})
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    return g.compile()


def one_model_call() -> Any:
    model = Echo()
    g = StateGraph(State)
    g.add_node("m", lambda s: {"messages": [model.invoke(s["messages"])]})
    g.add_edge(START, "m")
    g.add_edge("m", END)
    return g.compile()


class Nothing(BaseCallbackHandler):
    run_inline = True


def per_invoke(graph: Any, n: int) -> float:
    thread = {"configurable": {"thread_id": "bench"}}
    for _ in range(50):
        graph.invoke({"messages": [("user", "hi")]}, thread)
    t0 = time.thread_time()
    for _ in range(n):
        graph.invoke({"messages": [("user", "hi")]}, thread)
    return (time.thread_time() - t0) / n * 1e6


def measure(make: Callable[[], Any], rounds: int, n: int, folder: Path) -> dict[str, float]:
    graph = make()
    found: dict[str, list[float]] = {"plain": [], "no-op handler": [], "hilt": []}
    for i in range(rounds):
        found["plain"].append(per_invoke(graph, n))
        nothing = Nothing()
        var: ContextVar[Any] = ContextVar("bench_nothing", default=nothing)
        lc_context.register_configure_hook(var, inheritable=True)
        found["no-op handler"].append(per_invoke(graph, n))
        lc_context._configure_hooks.pop()
        session = hilt.instrument(filepath=folder / f"{i}.jsonl", providers=["langchain"])
        found["hilt"].append(per_invoke(graph, n))
        session.flush()
        hilt.uninstrument()
    return {k: statistics.median(v) for k, v in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--invocations", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in (("3 nodes", three_nodes), ("1 node, 1 model call", one_model_call)):
            r = measure(make, args.rounds, args.invocations, Path(tmp))
            added = r["hilt"] - r["no-op handler"]
            print(
                f"{name}: {r['plain']:.0f} µs plain, {r['no-op handler']:.0f} with a no-op "
                f"handler, {r['hilt']:.0f} with HILT: +{added:.0f} µs per invocation, "
                f"{added / 4:.0f} µs per event (application thread's CPU)"
            )


if __name__ == "__main__":
    main()
