"""A test kit for plugin authors: fixtures and a contract every backend should pass.

It is a pytest plugin (entry point ``pytest11: hilt``), so with hilt-core installed the
fixtures are available in any test suite::

    from hilt_core.testing import BackendContract

    class TestMyBackend(BackendContract):
        backend_name = "mybackend"

        def backend_options(self, tmp_path):
            return {"filepath": tmp_path / "events.db"}

Each test reaches the backend by name through the registry, the way a user does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hilt_core.context import GLOBAL
from hilt_core.instrument import uninstrument
from hilt_core.model import Actor, Content, Event, Metrics
from hilt_core.registry import Registry, default_registry
from hilt_core.session import Session


def make_event(i: int = 0, **overrides: Any) -> Event:
    """A typical completion event, numbered ``i`` in its text."""
    fields: dict[str, Any] = {
        "session_id": "conv_0123456789ab",
        "actor": Actor(type="agent", id="openai"),
        "action": "completion",
        "content": Content(text=f"answer {i}"),
        "metrics": Metrics(tokens={"prompt": 10, "completion": 5, "total": 15}, latency_ms=12.5),
        "extensions": {"reply_to": f"prompt-{i}", "model": "gpt-4o-mini", "status_code": 200},
    }
    fields.update(overrides)
    return Event(**fields)


@pytest.fixture
def hilt_registry() -> Registry:
    """A fresh registry that has loaded the installed entry points."""
    reg = Registry()
    reg.load()
    return reg


@pytest.fixture
def hilt_clean() -> Iterator[None]:
    """Uninstrument after the test, whatever it did."""
    yield
    uninstrument()
    GLOBAL.session = None


class BackendContract:
    """Subclass as ``TestSomething(BackendContract)`` and set ``backend_name``."""

    backend_name: str = ""

    def backend_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"filepath": tmp_path / "events.jsonl"}

    def open(self, tmp_path: Path, **extra: Any) -> Session:
        return Session(backend=self.backend_name, **self.backend_options(tmp_path), **extra)

    def test_backend_is_reached_by_name(self) -> None:
        name, plugin = default_registry().resolve(self.backend_name, "backend")
        assert plugin is not None
        assert name

    def test_round_trip_keeps_every_event_in_order(self, tmp_path: Path) -> None:
        session = self.open(tmp_path)
        written = [make_event(i) for i in range(50)]
        for event in written:
            session.append(event)
        assert session.flush(timeout=30)
        session.close()
        reader = Session(backend=self.backend_name, mode="r", **self.backend_options(tmp_path))
        back = list(reader.read())
        assert [e.event_id for e in back] == [e.event_id for e in written]
        assert [e.content.text for e in back if e.content] == [f"answer {i}" for i in range(50)]

    def test_close_is_idempotent_and_flushes(self, tmp_path: Path) -> None:
        session = self.open(tmp_path)
        session.append(make_event(1))
        assert session.close()
        assert session.close()
        reader = Session(backend=self.backend_name, mode="r", **self.backend_options(tmp_path))
        assert len(list(reader.read())) == 1
