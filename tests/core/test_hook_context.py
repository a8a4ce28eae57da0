"""Hooks get their context: ``event_enrich`` and ``redact`` receive the options of the
session each event belongs to, and plugins written before that argument existed (taking
fewer arguments, as pluggy allows) keep working. The backend's hooks are bound once per
session: a backend plugin registered later never receives another plugin's handle."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core import ConfigError, Event, Registry, hookimpl
from hilt_core.session import Session

from .conftest import MemoryBackend


class SeesOptions:
    """A new-style plugin: reads the session's options on the writer thread."""

    def __init__(self) -> None:
        self.enriched: list[Any] = []
        self.redacted: list[Any] = []

    @hookimpl
    def event_enrich(self, event: Event, options: Mapping[str, Any]) -> None:
        self.enriched.append(options.get("team"))
        event.extensions = {**(event.extensions or {}), "team": options.get("team")}

    @hookimpl
    def redact(self, event: Event, mode: str, options: Mapping[str, Any]) -> None:
        self.redacted.append((mode, options.get("team")))


class OldStyle:
    """A plugin written against the earlier hook signatures."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def event_enrich(self, event: Event) -> None:
        self.calls.append("enrich")

    @hookimpl
    def redact(self, event: Event, mode: str) -> None:
        self.calls.append(f"redact:{mode}")


def test_each_session_hands_its_own_options_to_the_hooks(
    memory: MemoryBackend, make_event: Callable[..., Event]
) -> None:
    seer = SeesOptions()
    hilt.register_plugin(seer, name="seer")
    a = Session(backend="memory", team="red")
    b = Session(backend="memory", team="blue")
    a.append(make_event("to red"))
    b.append(make_event("to blue"))
    assert a.flush(5)
    assert b.flush(5)
    teams = {e.content.text: e.extensions["team"] for e in memory.events if e.content}
    assert teams == {"to red": "red", "to blue": "blue"}
    assert sorted(seer.redacted) == [("full", "blue"), ("full", "red")]
    a.close()
    b.close()


def test_plugins_written_for_the_older_signatures_still_run(
    memory: MemoryBackend, make_event: Callable[..., Event]
) -> None:
    old = OldStyle()
    hilt.register_plugin(old, name="old-style")
    session = Session(backend="memory")
    session.append(make_event())
    assert session.close()
    assert old.calls == ["enrich", "redact:full"]
    assert len(memory.events) == 1


def test_a_backend_registered_after_a_session_opened_never_gets_its_batches(
    reg: Registry, memory: MemoryBackend, make_event: Callable[..., Event]
) -> None:
    session = Session(backend="memory")
    session.append(make_event("first"))
    assert session.flush(5)
    late = MemoryBackend()
    hilt.register_plugin(late, name="late-backend")
    session.append(make_event("second"))
    assert session.close()
    assert memory.texts() == ["first", "second"]
    assert late.events == []
    assert late.closes == []


class Refuses:
    @hookimpl
    def session_open(self, options: Mapping[str, Any]) -> None:
        if options.get("team") == "nobody":
            raise ConfigError("team='nobody' is not a team: pass team='red' or 'blue'")


class Crashes:
    @hookimpl
    def session_open(self, options: Mapping[str, Any]) -> None:
        raise KeyError("oops")


def test_session_open_lets_a_plugin_refuse_its_option_at_instrument_time(
    reg: Registry, tmp_path: Path
) -> None:
    hilt.register_plugin(Refuses(), name="refuses")
    with pytest.raises(ConfigError, match="not a team"):
        hilt.instrument(filepath=tmp_path / "a.jsonl", team="nobody", providers=[])
    assert not hilt.is_instrumented()
    with Session(tmp_path / "a.jsonl", team="red") as session:
        assert session.options["team"] == "red"
    # a reader opens whatever the options
    list(Session(tmp_path / "a.jsonl", mode="r", team="nobody").read())


def test_a_crashing_session_open_is_a_config_error_naming_the_plugin(
    reg: Registry, tmp_path: Path
) -> None:
    hilt.register_plugin(Crashes(), name="crashes")
    with pytest.raises(ConfigError, match="'crashes' failed to check"):
        Session(tmp_path / "a.jsonl")
