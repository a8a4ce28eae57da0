"""A framework above the SDK (LangGraph, LiteLLM) adds an ambient source: the provider's
events carry the framework's context and conversation id, the framework learns that the
call was recorded (so it writes no second completion), and hilt.conversation() still
wins."""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import pytest

import hilt
from hilt_core.provider import Ambient, Call, add_source

from .conftest import Harness

RUN: ContextVar[dict[str, Any] | None] = ContextVar("test_framework_run", default=None)


@pytest.fixture
def framework() -> Iterator[list[Call]]:
    claimed: list[Call] = []

    def source() -> Ambient | None:
        run = RUN.get()
        if run is None:
            return None
        return {
            "extensions": {"node": run["node"]},
            "conversation": run["thread"],
            "claim": claimed.append,
        }

    remove = add_source(source)
    yield claimed
    remove()


def ask(client: Any, text: str) -> None:
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])


def test_the_framework_context_is_stamped_and_the_call_claimed(
    hi: Harness, client: Any, framework: list[Call]
) -> None:
    token = RUN.set({"node": "agent", "thread": "thread-42"})
    try:
        ask(client, "inside the graph")
    finally:
        RUN.reset(token)
    ask(client, "outside")
    (p1, c1), (p2, _) = hi.calls()
    assert p1["session_id"] == c1["session_id"] == "thread-42"
    assert p1["extensions"]["node"] == c1["extensions"]["node"] == "agent"
    assert "node" not in p2["extensions"]
    assert p2["session_id"] != "thread-42"
    assert [c.api for c in framework] == ["chat.completions"]


def test_the_application_s_conversation_id_still_wins(
    hi: Harness, client: Any, framework: list[Call]
) -> None:
    token = RUN.set({"node": "agent", "thread": "thread-42"})
    try:
        with hilt.conversation("ticket-7"):
            ask(client, "inside")
    finally:
        RUN.reset(token)
    ((prompt, _),) = hi.calls()
    assert prompt["session_id"] == "ticket-7"
    assert prompt["extensions"]["node"] == "agent"


def test_a_source_given_the_call_tells_its_own_call_by_its_request(
    hi: Harness, client: Any
) -> None:
    # A framework that prepared the request elsewhere (another thread) knows it by what
    # it asks, not by the calling context.
    claimed: list[Call] = []

    def source(call: Call) -> Ambient | None:
        if call.body.get("messages", [{}])[-1].get("content") != "mine":
            return None
        return {"extensions": {"node": "prepared"}, "claim": claimed.append}

    remove = add_source(source, call=True)
    try:
        ask(client, "mine")
        ask(client, "not mine")
    finally:
        remove()
    ask(client, "mine")  # removed: no longer consulted
    (p1, c1), (p2, c2), (p3, _) = hi.calls()
    assert p1["extensions"]["node"] == c1["extensions"]["node"] == "prepared"
    assert "node" not in p2["extensions"]
    assert "node" not in c2["extensions"]
    assert "node" not in p3["extensions"]
    assert [c.body["messages"][-1]["content"] for c in claimed] == ["mine"]
