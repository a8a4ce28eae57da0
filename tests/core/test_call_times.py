"""A call recorded after the fact (a framework callback that fires once the call is over,
as LiteLLM's do) keeps its own times: the prompt is stamped when the call started, the
answer when it ended, and the latency is the time between, not the callback's delay."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hilt_core import Recorder
from hilt_core.provider import Call, Prompt
from hilt_core.session import Session

from .conftest import MemoryBackend


class _Adapter:
    name = "after-the-fact"

    def prompt(self, api: str, body: Mapping[str, Any]) -> Prompt:
        return {"content": {"text": body["text"]}, "opening": (None, body["text"])}


def _record(memory: MemoryBackend, fail: bool) -> tuple[float, float]:
    session = Session(backend="memory")
    recorder = Recorder(session.options)
    started = time.time() - 5.0  # the call started 5 s ago and ended 2 s ago
    ended = started + 3.0
    body = {"model": "m", "text": "hello"}
    call = Call(_Adapter(), "chat", body, session, recorder, ("acme", "h"), started=started)
    call.start()
    if fail:
        call.error(RuntimeError("down"), status=503, ended=ended)
    else:
        call.completion({"content": {"text": "hi"}}, ended=ended)
    session.close()
    return started, ended


def _at(event_time: datetime) -> float:
    return event_time.astimezone(UTC).timestamp()


def test_a_completion_recorded_later_keeps_the_call_s_times(memory: MemoryBackend) -> None:
    started, ended = _record(memory, fail=False)
    prompt, answer = memory.events
    assert abs(_at(prompt.timestamp) - started) < 0.01
    assert abs(_at(answer.timestamp) - ended) < 0.01
    assert answer.metrics is not None
    assert abs(answer.metrics.latency_ms - 3000.0) < 10
    assert answer.extensions is not None
    assert answer.extensions["latency_ms"] in (2999, 3000)


def test_an_error_recorded_later_keeps_the_call_s_times(memory: MemoryBackend) -> None:
    started, ended = _record(memory, fail=True)
    prompt, error = memory.events
    assert error.action == "system"
    assert abs(_at(prompt.timestamp) - started) < 0.01
    assert abs(_at(error.timestamp) - ended) < 0.01
    assert error.metrics is not None
    assert abs(error.metrics.latency_ms - 3000.0) < 10
