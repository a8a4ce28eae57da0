"""Registration and its undo: on by default, no ``callbacks=`` needed, the undo removes
exactly what it added, runs still open when the session closes are written as
unfinished, and a bug in HILT never reaches the application."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableLambda
from langchain_core.tracers import context as lc_context

import hilt
from hilt_core.provider import ambient
from hilt_core.registry import default_registry
from hilt_openai.testing import FakeOpenAI

from .conftest import Harness
from .graphs import ask, chat, thread, weather_graph


def test_on_by_default_when_langchain_core_is_installed(srv: FakeOpenAI, h: Harness) -> None:
    reg = default_registry()
    reg.load()
    assert "langchain" in [name for name, _ in reg.default_providers()]
    h.session = hilt.instrument(filepath=str(h.path))  # no providers=: the defaults
    weather_graph(chat(srv)).invoke(ask("use tool"), thread("t-default"))
    assert len(h.of("run")) == 1
    assert {e["extensions"]["api"] for e in h.of("completion")} == {"chat.completions"}


def test_the_undo_removes_exactly_what_it_added(srv: FakeOpenAI, h: Harness) -> None:
    hooks_before = list(lc_context._configure_hooks)
    sources_before = list(ambient.SOURCES)
    h.instrument(["openai", "langchain"])
    assert len(lc_context._configure_hooks) == len(hooks_before) + 1
    assert len(ambient.SOURCES) == len(sources_before) + 1
    h.instrument(["openai", "langchain"])  # again: replaces, never adds a second
    assert len(lc_context._configure_hooks) == len(hooks_before) + 1
    assert len(ambient.SOURCES) == len(sources_before) + 1
    # someone else's hook, registered meanwhile, is theirs to keep
    from contextvars import ContextVar

    theirs: ContextVar[Any] = ContextVar("theirs", default=None)
    lc_context.register_configure_hook(theirs, inheritable=True)
    try:
        hilt.uninstrument()
        assert [e[0] for e in lc_context._configure_hooks] == [
            *(e[0] for e in hooks_before),
            theirs,
        ]
        assert sources_before == ambient.SOURCES
    finally:
        lc_context._configure_hooks.remove(
            next(e for e in lc_context._configure_hooks if e[0] is theirs)
        )
    assert lc_context._configure_hooks == hooks_before


def test_nothing_is_recorded_once_uninstrumented(srv: FakeOpenAI, hi: Harness) -> None:
    graph = weather_graph(chat(srv))
    graph.invoke(ask("use tool"), thread("t-1"))
    hilt.uninstrument()
    lines = hi.path.read_text().splitlines()
    graph.invoke(ask("use tool"), thread("t-2"))
    assert hi.path.read_text().splitlines() == lines


def test_the_application_s_own_callbacks_still_run(srv: FakeOpenAI, hi: Harness) -> None:
    seen: list[str] = []

    class Mine(BaseCallbackHandler):
        def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
            seen.append(kwargs.get("name") or "")

    weather_graph(chat(srv)).invoke(ask("use tool"), {**thread("t-cb"), "callbacks": [Mine()]})
    assert seen[0] == "LangGraph"
    assert len(hi.of("run")) == 1
    assert len(hi.of("step")) == 3


def test_a_run_open_when_the_session_closes_is_written_unfinished(
    srv: FakeOpenAI, hi: Harness
) -> None:
    graph = weather_graph(chat(srv))
    stream = graph.stream(ask("use tool"), thread("t-open"))
    assert "agent" in next(stream)
    hilt.uninstrument()
    events = hi.events()
    assert [(e["action"], e["extensions"].get("outcome")) for e in events[-2:]] == [
        ("step", "ok"),
        ("run", "unfinished"),
    ]
    rest = list(stream)  # the application carries on, unaffected
    assert [next(iter(u)) for u in rest] == ["tools", "answer"]
    assert hi.events() == events


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for this object")

    __repr__ = __str__


def test_a_bug_in_hilt_never_reaches_the_application(
    hi: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    weird = Unprintable()
    chain = RunnableLambda(lambda x: x) | RunnableLambda(lambda x: weird)
    with pytest.raises(RuntimeError, match="no text"):  # HILT_STRICT: HILT's bugs raise
        chain.invoke("hello")
    monkeypatch.setenv("HILT_STRICT", "0")
    hi.instrument(["openai", "langchain"])  # the handler reads the mode when made
    with caplog.at_level(logging.ERROR, logger="hilt"):
        assert chain.invoke("hello") is weird
    assert "HILT could not record a LangChain run" in caplog.text


def test_nothing_on_stdout(
    srv: FakeOpenAI, hi: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    weather_graph(chat(srv)).invoke(ask("use tool"), thread("t-quiet"))
    assert hi.of("run")
    assert capsys.readouterr().out == ""


def test_without_langchain_core_the_error_says_what_to_install(tmp_path: Any) -> None:
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['langchain_core'] = None\n"
        "import hilt\n"
        "try:\n"
        f"    hilt.instrument(filepath={str(tmp_path / 'x.jsonl')!r}, providers=['langchain'])\n"
        "except hilt.ConfigError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "pip install 'hilt-langchain[langchain]'" in out.stdout


class Boom(Exception):
    pass


def test_a_finished_run_leaves_nothing_behind(hi: Harness) -> None:
    import gc
    import weakref

    from langgraph.graph import END, START, StateGraph

    from hilt_langchain.handler import _MODEL

    from .graphs import EchoChat, State

    given = [getattr(s, "__wrapped__", s) for s in ambient.SOURCES]
    (source,) = [s for s in given if getattr(s, "__self__", None) is not None]
    handler = source.__self__  # type: ignore[attr-defined]
    model = EchoChat()

    def ask_then_fail(state: Any) -> dict[str, Any]:
        model.invoke(state["messages"])
        raise Boom("after the model")

    g = StateGraph(State)
    g.add_node("n", ask_then_fail)
    g.add_edge(START, "n")
    g.add_edge("n", END)
    seen: list[weakref.ref[BaseException]] = []
    try:
        g.compile().invoke({"messages": [("user", "hi")]}, thread("t-gone"))
    except Boom as exc:
        seen.append(weakref.ref(exc))
    model.invoke("called here, in this context")
    gc.collect()
    assert handler.runs == {}
    assert _MODEL.get() is None  # the model run it started is not held by this context
    assert seen[0]() is None  # HILT keeps no failure once its run is over
    assert [e["extensions"].get("error_type") for e in hi.of("step")] == ["Boom"]


LAZY = """
import importlib, json, sys
import hilt
session = hilt.instrument(filepath=sys.argv[1], providers=["langchain"])
assert "langchain_core" not in sys.modules, "instrument() imported langchain-core"
if sys.argv[2] == "undo":
    hilt.uninstrument()
    session = hilt.instrument(filepath=sys.argv[1], providers=[])
else:
    importlib.import_module(sys.argv[2])  # what the application imports first
from langchain_core.language_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate
chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | FakeListChatModel(responses=["a"])
chain.invoke({"q": "hello"})
from langchain_core.tracers import context
print(json.dumps({"hooks": len(context._configure_hooks),
                  "watchers": sum("AfterImport" in type(f).__name__ for f in sys.meta_path)}))
hilt.uninstrument()
"""


@pytest.mark.parametrize(
    "first",
    [
        "langchain_core.runnables",  # it imports the callback manager, which (1.0) the hooks
        "langchain_core.callbacks.manager",
        "langgraph.graph",
        "langchain_openai",
        "undo",  # uninstrumented before LangChain loads: nothing registered, nothing written
    ],
)
def test_instrument_imports_no_langchain_until_the_application_does(
    tmp_path: Any, first: str
) -> None:
    import json
    import subprocess
    import sys

    log = tmp_path / "lazy.jsonl"
    out = subprocess.run(
        [sys.executable, "-c", LAZY, str(log), first], capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout)
    assert found["watchers"] == 0
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    if first != "undo":
        assert [e["action"] for e in events] == ["prompt", "completion", "run"]
        assert found["hooks"] == 2  # LangChain's run collector, and HILT's
    else:
        assert events == []
        assert found["hooks"] == 1
