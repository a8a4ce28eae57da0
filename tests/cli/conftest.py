"""Logs for the CLI and reading tests, written by the library itself.

``library_log`` is written through ``hilt.Session`` (the pipeline and the JSONL backend
plugin) with events of the shape the OpenAI provider writes and known numbers, so the
tests can check exact sums. ``provider_log`` is written by the real OpenAI provider
plugin, instrumenting the real openai SDK against the embedded fake server.
``legacy_log`` is a log written by hilt-python 0.2.8 itself (data/make_hilt_028.py).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import hilt
import hilt_jsonl
from hilt import Actor, Content, Event, Metrics
from hilt.cli import main
from hilt_core import Registry

DATA = Path(__file__).parent / "data"
T0 = datetime(2025, 3, 30, 23, 59, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Call:
    conversation: str
    model: str
    user: str
    minutes: float  # after T0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    latency: float = 100.0
    status: int = 200
    question: str = "What is the capital of France?"
    answer: str = "Paris."


# 6 calls: 2 models, 3 conversations, 2 users, 2 days, 2 errors (429 and no response).
CALLS = [
    Call("conv_aaaaaaaaaaaa", "gpt-4o-2024-08-06", "alice", 0, 100, 20, 0.00045, 100.0),
    Call("conv_aaaaaaaaaaaa", "gpt-4o-2024-08-06", "alice", 0.5, 200, 40, 0.0009, 200.0),
    Call("conv_bbbbbbbbbbbb", "gpt-4o-mini-2024-07-18", "bob", 2, 50, 10, 0.0000135, 300.0),
    Call("conv_bbbbbbbbbbbb", "gpt-4o-mini-2024-07-18", "bob", 3, latency=50.0, status=429),
    Call("conv_cccccccccccc", "gpt-4o-2024-08-06", "bob", 4, 10, 5, None, 400.0),
    Call("conv_cccccccccccc", "gpt-4o-2024-08-06", "alice", 5, latency=500.0, status=0),
]


def call_events(call: Call) -> list[Event]:
    """The prompt and the answer (or error) events the OpenAI provider writes for a call."""
    asked = call.model.rsplit("-", 3)[0] if call.model[-1].isdigit() else call.model
    ts = T0 + timedelta(minutes=call.minutes)
    prompt = Event(
        timestamp=ts,
        session_id=call.conversation,
        actor=Actor(type="human", id="user"),
        action="prompt",
        content=Content(text=call.question, messages=[{"role": "user", "content": call.question}]),
        extensions={"model": asked, "user_id": call.user},
    )
    ext: dict[str, Any] = {
        "reply_to": prompt.event_id,
        "model": call.model,
        "request_model": asked,
        "provider": "openai",
        "endpoint": "api.openai.com",
        "api": "chat.completions",
        "status_code": call.status,
        "attempts": 1,
        "user_id": call.user,
    }
    answered_at = ts + timedelta(milliseconds=call.latency)
    if call.status != 200:
        error = "RateLimitError" if call.status == 429 else "APIConnectionError"
        answer = Event(
            timestamp=answered_at,
            session_id=call.conversation,
            actor=Actor(type="system", id="openai"),
            action="system",
            content=Content(text=f"{error}: the request failed"),
            metrics=Metrics(latency_ms=call.latency),
            extensions={**ext, "error_code": "api_error", "error_type": error},
        )
    else:
        tokens = {
            "prompt": call.prompt_tokens,
            "completion": call.completion_tokens,
            "total": call.prompt_tokens + call.completion_tokens,
            "cached": 0,
            "reasoning": 0,
        }
        answer = Event(
            timestamp=answered_at,
            session_id=call.conversation,
            actor=Actor(type="agent", id="openai"),
            action="completion",
            content=Content(text=call.answer),
            metrics=Metrics(tokens=tokens, cost_usd=call.cost, latency_ms=call.latency),
            extensions={
                **ext,
                "finish_reason": "stop",
                "response_id": "chatcmpl-1",
                "stream": False,
            },
        )
    return [prompt, answer]


def jsonl_only() -> Registry:
    """A registry with the JSONL backend plugin alone: no cost plugin fills in costs, so
    the sums the tests expect do not depend on what else is installed."""
    reg = Registry(entry_points=False)
    reg.register(hilt_jsonl, name="jsonl")
    return reg


def write_log(path: Path, calls: list[Call] = CALLS, **session_options: Any) -> Path:
    """Write ``calls`` with hilt.Session, as an application (or the provider) would."""
    with hilt.Session(path, registry=jsonl_only(), **session_options) as session:
        for call in calls:
            for event in call_events(call):
                session.append(event)
    return path


@pytest.fixture(scope="session")
def log_writer() -> Any:
    """``write_log(path, calls=CALLS, **session_options)`` for tests that need more logs."""
    return write_log


@pytest.fixture(scope="session")
def calls() -> list[Call]:
    """The calls of ``library_log``, to write parts of it."""
    return list(CALLS)


@pytest.fixture
def library_log(tmp_path: Path) -> Path:
    return write_log(tmp_path / "logs" / "app.jsonl")


@pytest.fixture(scope="session")
def legacy_source() -> Path:
    """The hilt-python 0.2.8 log in tests/cli/data (copy it before changing it)."""
    return DATA / "hilt-0.2.8.jsonl"


@pytest.fixture
def legacy_log(tmp_path: Path) -> Path:
    target = tmp_path / "old" / "hilt-0.2.8.jsonl"
    target.parent.mkdir()
    shutil.copy(DATA / "hilt-0.2.8.jsonl", target)
    return target


@pytest.fixture
def provider_log(tmp_path: Path) -> Path:
    """A log written by the OpenAI provider plugin around real SDK calls (3 calls, 1 error)."""
    openai = pytest.importorskip("openai")
    testing = pytest.importorskip("hilt_openai.testing")
    path = tmp_path / "provider" / "calls.jsonl"
    with testing.FakeOpenAI(model_map={"gpt-4o": "gpt-4o-2024-08-06"}) as server:
        session = hilt.instrument(backend="local", filepath=path, providers=["openai"])
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        with hilt.scope(user_id="carol"):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hello there"}]
            )
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "and again"}]
            )
            server.fail_next(status=429)
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "fail"}]
                )
        session.flush()
        hilt.uninstrument()
        client.close()
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``hilt ARGS...`` in this process; returns its exit code, stdout and stderr."""

    def _run(*args: str | Path) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run
