"""Fixtures of the kernel tests: a fresh registry per test and in-code test plugins.

Test plugins are registered by name in a registry of their own, as an application would
with ``hilt.register_plugin``; no test depends on which plugins happen to be installed,
except that the JSONL backend (a dependency of ``hilt``) answers to "jsonl" / "local".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core import Actor, Content, Event, Registry, hookimpl

DATA = Path(__file__).parent / "data"


class MemoryBackend:
    """A backend plugin keeping events in a list.

    ``gate`` (set by default) lets a test hold the writer inside ``backend_write``;
    ``entered`` is set once a write has started; ``fail_writes`` makes the next N writes
    raise; ``fail_close`` makes ``backend_close`` raise.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.batches: list[int] = []
        self.opened: list[dict[str, Any]] = []
        self.closes: list[bool] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_writes = 0
        self.fail_close = False
        self.write_attempts = 0

    @hookimpl
    def backend_open(self, name: str, options: Mapping[str, Any]) -> object:
        self.opened.append(dict(options))
        return self

    @hookimpl
    def backend_write(self, handle: Any, events: Sequence[Event]) -> None:
        assert handle is self
        self.write_attempts += 1
        self.entered.set()
        assert self.gate.wait(20), "test gate never opened"
        if self.fail_writes:
            self.fail_writes -= 1
            raise OSError("the disk is on fire (injected)")
        self.batches.append(len(events))
        self.events.extend(events)

    @hookimpl
    def backend_close(self, handle: Any, flush_only: bool) -> None:
        self.closes.append(flush_only)
        if self.fail_close:
            raise OSError("cannot close (injected)")

    @hookimpl
    def backend_read(self, handle: Any) -> Iterator[Event]:
        return iter(list(self.events))

    def texts(self) -> list[str | None]:
        return [e.content.text if e.content else None for e in self.events]


@pytest.fixture
def memory(reg: Registry) -> MemoryBackend:
    """A MemoryBackend registered in code under the name "memory"."""
    backend = MemoryBackend()
    hilt.register_plugin(backend, name="memory")
    return backend


@pytest.fixture
def make_event() -> Callable[..., Event]:
    def make(text: str = "hello", action: str = "prompt", **kw: Any) -> Event:
        actor = kw.pop("actor", Actor(type="human", id="user"))
        return Event(
            session_id=kw.pop("session_id", "conv_000000000000"),
            actor=actor,
            action=action,
            content=Content(text=text),
            **kw,
        )

    return make


@pytest.fixture
def memory_cls() -> type[MemoryBackend]:
    """The MemoryBackend class, for tests that need more than one."""
    return MemoryBackend
