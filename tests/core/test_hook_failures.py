"""A plugin that raises in any hook never breaks the application, and is logged.

Policy (docs/architecture.md): provider_patch raising is logged and that provider is
skipped (a deliberate ConfigError from it is a config error when the app named it);
event_enrich raising keeps the event; redact raising drops the event's content (fails
closed); backend_open raising is a ConfigError at instrument() / Session() time, which
leaves the previous instrumentation in place; backend_write raising keeps the batch and
retries it; backend_close raising makes flush()/close() return False.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core import ConfigError, Event, Recorder, Registry, hookimpl, registry


class Boom(RuntimeError):
    pass


class RaisingProvider:
    @hookimpl
    def provider_patch(
        self, name: str, recorder: Recorder, options: Mapping[str, Any]
    ) -> Callable[[], None]:
        raise Boom("provider_patch exploded")


class RefusingProvider:
    @hookimpl
    def provider_patch(
        self, name: str, recorder: Recorder, options: Mapping[str, Any]
    ) -> Callable[[], None]:
        raise ConfigError("the refusing SDK is not installed: pip install refusing")


class GoodProvider:
    def __init__(self) -> None:
        self.patched = 0
        self.undone = 0

    @hookimpl
    def provider_patch(
        self, name: str, recorder: Recorder, options: Mapping[str, Any]
    ) -> Callable[[], None]:
        self.patched += 1

        def undo() -> None:
            self.undone += 1

        return undo


class RaisingEnricher:
    @hookimpl
    def event_enrich(self, event: Event) -> None:
        raise Boom("event_enrich exploded")


class Enricher:
    @hookimpl
    def event_enrich(self, event: Event) -> None:
        event.extensions = {**(event.extensions or {}), "enriched": True}


class RaisingRedactor:
    @hookimpl
    def redact(self, event: Event, mode: str) -> bool | None:
        raise Boom("redact exploded")


class DroppingRedactor:
    @hookimpl
    def redact(self, event: Event, mode: str) -> bool | None:
        return not (event.content is not None and event.content.text == "drop me")


class RaisingOpen:
    @hookimpl
    def backend_open(self, name: str, options: Mapping[str, Any]) -> object:
        raise Boom("backend_open exploded")

    @hookimpl
    def backend_write(self, handle: Any, events: Any) -> None:
        raise AssertionError("never opened")


def _event(text: str = "secret text") -> Event:
    return Event(
        session_id="c",
        actor={"type": "agent", "id": "a"},
        action="completion",
        content={"text": text},
        extensions={"tool_calls": [{"name": "f", "arguments": text}]},
    )


def _messages(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= level)


def test_provider_patch_raising_is_logged_and_skipped(
    reg: Registry, memory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    good = GoodProvider()
    hilt.register_plugin(RaisingProvider(), name="raising")
    hilt.register_plugin(good, name="good")
    session = hilt.instrument(backend="memory", providers=["raising", "good"])
    assert hilt.is_instrumented()
    assert good.patched == 1
    assert "could not patch provider 'raising'" in _messages(caplog, logging.ERROR)
    assert any(r.exc_info and r.exc_info[0] is Boom for r in caplog.records)
    session.append(_event())
    assert session.flush()
    hilt.uninstrument()
    assert good.undone == 1


def test_provider_patch_config_error_is_raised_when_named(reg: Registry, memory: Any) -> None:
    good = GoodProvider()
    hilt.register_plugin(good, name="good")
    hilt.register_plugin(RefusingProvider(), name="refusing")
    with pytest.raises(ConfigError, match="pip install refusing"):
        hilt.instrument(backend="memory", providers=["good", "refusing"])
    assert not hilt.is_instrumented()
    assert good.undone == good.patched == 1  # nothing left patched


def test_provider_config_error_for_the_implicit_default_is_a_warning(
    memory_cls: Any, caplog: pytest.LogCaptureFixture
) -> None:
    saved = registry._default
    bare = Registry(entry_points=False)
    registry.set_default_registry(bare)
    try:
        hilt.register_plugin(memory_cls(), name="memory")
        refusing = RefusingProvider()
        refusing.HILT_DEFAULT = True  # type: ignore[attr-defined]  # on by default
        hilt.register_plugin(refusing, name="openai")
        session = hilt.instrument(backend="memory")  # providers: those on by default
        assert hilt.is_instrumented()
        assert isinstance(session, hilt.Session)
        assert "provider 'openai' is not instrumented" in _messages(caplog)
        hilt.uninstrument()
    finally:
        registry.set_default_registry(saved)


def test_enrich_raising_keeps_the_event(
    reg: Registry, memory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    hilt.register_plugin(RaisingEnricher(), name="raising-enricher")
    hilt.register_plugin(Enricher(), name="enricher")
    session = hilt.Session(backend="memory")
    session.append(_event("kept"))
    assert session.flush()
    assert memory.texts() == ["kept"]
    assert memory.events[0].extensions["enriched"] is True
    assert session.stats["enrich_errors"] == 1
    assert "event_enrich" in _messages(caplog, logging.ERROR)


def test_redact_raising_drops_content_fail_closed(
    reg: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hilt.register_plugin(RaisingRedactor(), name="raising-redactor")
    path = tmp_path / "r.jsonl"
    session = hilt.instrument(filepath=path, providers=[])
    session.append(_event("my password is hunter2"))
    assert session.flush()
    raw = path.read_bytes()
    assert b"hunter2" not in raw
    (event,) = session.read()
    assert event.content is None
    assert event.extensions == {"hilt_redaction": "redactor_failed:raising-redactor"}
    assert session.stats["redaction_failures"] == 1
    assert "redactor 'raising-redactor' raised Boom" in _messages(caplog, logging.ERROR)


def test_redact_returning_false_drops_and_counts(reg: Registry, memory: Any) -> None:
    hilt.register_plugin(DroppingRedactor(), name="dropper")
    session = hilt.Session(backend="memory")
    session.append(_event("drop me"))
    session.append(_event("keep me"))
    assert session.flush()
    assert memory.texts() == ["keep me"]
    assert session.stats["dropped_by_redactor"] == 1


def test_backend_open_raising_is_a_config_error_that_keeps_the_previous_session(
    reg: Registry, memory: Any
) -> None:
    hilt.register_plugin(RaisingOpen(), name="bad-open")
    good = GoodProvider()
    hilt.register_plugin(good, name="good")
    before = hilt.instrument(backend="memory", providers=["good"])
    with pytest.raises(ConfigError, match=r"backend 'bad-open' could not open: Boom"):
        hilt.instrument(backend="bad-open", providers=["good"])
    assert hilt.is_instrumented()
    assert (good.patched, good.undone) == (1, 0)
    before.append(_event())
    assert before.flush()
    assert len(memory.events) == 1


def test_backend_write_raising_is_retried_and_nothing_is_lost(
    reg: Registry, memory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    memory.fail_writes = 3
    session = hilt.Session(backend="memory", flush_interval=0.01)
    for i in range(50):
        session.append(_event(f"e{i}"))  # never raises while the backend fails
    deadline = time.monotonic() + 30
    while not session.flush() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert memory.texts() == [f"e{i}" for i in range(50)]
    assert session.stats["write_errors"] == 3
    assert session.stats["written"] == 50
    assert session.stats["dropped"] == 0
    assert "failed to write" in _messages(caplog, logging.ERROR)


def test_flush_returns_false_while_the_backend_fails(reg: Registry, memory: Any) -> None:
    memory.fail_writes = 1_000_000
    session = hilt.Session(backend="memory")
    session.append(_event())
    assert session.flush(timeout=20) is False
    memory.fail_writes = 0
    deadline = time.monotonic() + 30
    while not session.flush() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(memory.events) == 1


def test_backend_close_raising_makes_flush_and_close_return_false(
    reg: Registry, memory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    memory.fail_close = True
    session = hilt.instrument(backend="memory", providers=[])
    session.append(_event())
    assert session.flush() is False
    assert len(memory.events) == 1  # written; only making it durable failed
    hilt.uninstrument()  # does not raise
    assert memory.closes[-1] is False
    assert "failed to flush/close" in _messages(caplog, logging.ERROR)


def test_every_hook_raising_at_once_never_reaches_the_application(
    reg: Registry, memory: Any, memory_cls: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An application call through a patched SDK while every other hook raises."""
    recorded: list[Recorder] = []

    class Provider:
        @hookimpl
        def provider_patch(
            self, name: str, recorder: Recorder, options: Mapping[str, Any]
        ) -> Callable[[], None]:
            recorded.append(recorder)
            return lambda: None

    hilt.register_plugin(Provider(), name="p")
    hilt.register_plugin(RaisingProvider(), name="raising")
    hilt.register_plugin(RaisingEnricher(), name="e")
    hilt.register_plugin(RaisingRedactor(), name="r")
    memory.fail_close = True
    session = hilt.instrument(backend="memory", providers=["p", "raising"])
    (recorder,) = recorded
    for i in range(10):
        recorder.emit(_event(f"call {i}"))  # what a provider does inside the app's call
    assert session.close(timeout=20) is False
    recorder.emit(_event("after close"))  # a patch that outlived its session: no raise
    hilt.uninstrument()
    recorder.emit(_event("after uninstrument"))
    assert len(memory.events) == 10
    assert all(e.content is None for e in memory.events)  # the redactor failed: closed
    assert session.stats["enrich_errors"] == session.stats["redaction_failures"] == 10
