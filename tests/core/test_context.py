"""Per-request / per-worker / per-tenant overrides: contextvars, threads, asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt.instrumentation import get_context
from hilt_core import Event, Recorder, Registry, current_session, hookimpl
from hilt_core.context import current_conversation


class CapturingProvider:
    """Hands the test the Recorder a provider plugin gets, to emit as a patched SDK would."""

    def __init__(self) -> None:
        self.recorder: Recorder | None = None

    @hookimpl
    def provider_patch(
        self, name: str, recorder: Recorder, options: Mapping[str, Any]
    ) -> Callable[[], None]:
        self.recorder = recorder
        return lambda: None


@pytest.fixture
def recorder(reg: Registry, memory: Any) -> Recorder:
    provider = CapturingProvider()
    hilt.register_plugin(provider, name="capture")
    hilt.instrument(backend="memory", providers=["capture"])
    assert provider.recorder is not None
    return provider.recorder


def _call(recorder: Recorder, text: str) -> None:
    """What a provider does inside an application's LLM call."""
    recorder.emit(
        Event(
            session_id=recorder.conversation_id() or "conv_derived",
            actor={"type": "human", "id": "u"},
            action="prompt",
            content={"text": text},
        )
    )


def _by_text(session: hilt.Session) -> dict[str, Event]:
    assert session.flush()
    return {e.content.text: e for e in session.read() if e.content and e.content.text}


def test_scope_stamps_metadata_and_conversation(recorder: Recorder, memory: Any) -> None:
    with hilt.scope(user_id="u1", tenant_id="t1", tags=["a"], conversation_id="conv_x", plan="pro"):
        with hilt.scope(user_id="u2", tags=["b", "a"], region="eu"):
            _call(recorder, "inner")
        _call(recorder, "outer")
    _call(recorder, "none")
    got = _by_text(_global())
    assert got["inner"].extensions == {
        "user_id": "u2",
        "tenant_id": "t1",
        "tags": ["a", "b"],
        "metadata": {"plan": "pro", "region": "eu"},
    }
    assert got["inner"].session_id == "conv_x"
    assert got["outer"].extensions == {
        "user_id": "u1",
        "tenant_id": "t1",
        "tags": ["a"],
        "metadata": {"plan": "pro"},
    }
    assert got["none"].extensions is None
    assert got["none"].session_id == "conv_derived"


def _global() -> hilt.Session:
    session = current_session()
    assert session is not None
    return session


def test_the_events_own_extensions_win_over_the_scope(recorder: Recorder) -> None:
    with hilt.scope(user_id="from-scope"):
        recorder.emit(
            Event(
                session_id="c",
                actor={"type": "human", "id": "u"},
                action="prompt",
                content={"text": "x"},
                extensions={"user_id": "from-event"},
            )
        )
    assert _by_text(_global())["x"].extensions == {"user_id": "from-event"}


def test_use_session_routes_events_and_restores(recorder: Recorder, tmp_path: Path) -> None:
    tenant = hilt.Session(tmp_path / "tenant.jsonl")
    with hilt.use_session(tenant) as s:
        assert s is tenant
        assert current_session() is tenant
        _call(recorder, "to tenant")
    assert current_session() is _global() is not tenant
    _call(recorder, "to global")
    assert set(_by_text(tenant)) == {"to tenant"}
    assert set(_by_text(_global())) == {"to global"}
    tenant.close()


def test_028_get_context_use_session(recorder: Recorder, tmp_path: Path) -> None:
    tenant = hilt.Session(tmp_path / "tenant.jsonl")
    ctx = get_context()
    assert ctx.is_instrumented
    with ctx.use_session(tenant):
        assert ctx.session is tenant
        _call(recorder, "to tenant")
    assert ctx.session is _global()
    assert set(_by_text(tenant)) == {"to tenant"}
    tenant.close()


def test_threads_do_not_inherit_without_carry(recorder: Recorder, tmp_path: Path) -> None:
    tenant = hilt.Session(tmp_path / "tenant.jsonl")
    with hilt.use_session(tenant), hilt.scope(user_id="u1", conversation_id="conv_req"):
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: _call(recorder, f"plain-{i}"), range(8)))
            carried = [pool.submit(hilt.carry(_call), recorder, f"carried-{i}") for i in range(8)]
            for f in carried:
                f.result()
        thread = threading.Thread(target=_call, args=(recorder, "thread"))
        thread.start()
        thread.join()
    tenant_events = _by_text(tenant)
    global_events = _by_text(_global())
    assert set(tenant_events) == {f"carried-{i}" for i in range(8)}
    for event in tenant_events.values():
        assert event.session_id == "conv_req"
        assert event.extensions == {"user_id": "u1"}
    assert set(global_events) == {f"plain-{i}" for i in range(8)} | {"thread"}
    for event in global_events.values():
        assert event.session_id == "conv_derived"
        assert event.extensions is None
    tenant.close()


def test_carry_runs_each_call_in_its_own_copy(recorder: Recorder) -> None:
    seen: list[str | None] = []

    def work(i: int) -> None:
        with hilt.conversation(f"conv_{i}"):
            pass
        seen.append(current_conversation())  # a worker's own change does not stick

    with hilt.conversation("conv_parent"):
        task = hilt.carry(work)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(task, range(4)))
    assert seen == ["conv_parent"] * 4
    assert current_conversation() is None


def test_concurrent_requests_in_threads_keep_their_own_scope(recorder: Recorder) -> None:
    barrier = threading.Barrier(8)

    def request(n: int) -> None:
        with hilt.scope(user_id=f"user-{n}", conversation_id=f"conv_{n}"):
            barrier.wait(10)  # all eight scopes are open at once
            for i in range(20):
                _call(recorder, f"{n}-{i}")

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = _by_text(_global())
    assert len(got) == 160
    for text, event in got.items():
        n = text.split("-")[0]
        assert event.session_id == f"conv_{n}"
        assert event.extensions == {"user_id": f"user-{n}"}


def test_asyncio_tasks_inherit_and_do_not_leak(recorder: Recorder, tmp_path: Path) -> None:
    tenants = {n: hilt.Session(tmp_path / f"t{n}.jsonl") for n in range(3)}

    async def request(n: int) -> None:
        with hilt.use_session(tenants[n]), hilt.scope(tenant_id=f"t{n}"):
            await asyncio.sleep(0)
            await asyncio.gather(*(child(n, i) for i in range(3)))  # tasks inherit
            _call(recorder, f"req-{n}")

    async def child(n: int, i: int) -> None:
        await asyncio.sleep(0.001 * (3 - i))
        _call(recorder, f"child-{n}-{i}")
        with hilt.scope(user_id="leaky"):  # must not reach the parent or siblings
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(request(n) for n in range(3)))
        _call(recorder, "outside")

    asyncio.run(main())
    for n, tenant in tenants.items():
        got = _by_text(tenant)
        assert set(got) == {f"req-{n}"} | {f"child-{n}-{i}" for i in range(3)}
        assert all(e.extensions == {"tenant_id": f"t{n}"} for e in got.values())
        tenant.close()
    assert set(_by_text(_global())) == {"outside"}


def test_without_any_session_a_provider_does_nothing(reg: Registry, memory: Any) -> None:
    provider = CapturingProvider()
    hilt.register_plugin(provider, name="capture")
    hilt.instrument(backend="memory", providers=["capture"])
    recorder = provider.recorder
    assert recorder is not None
    hilt.uninstrument()
    assert recorder.session() is None
    _call(recorder, "ignored")
    assert memory.events == []
