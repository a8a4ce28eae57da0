"""Options are checked: a keyword no plugin of the session takes is a ConfigError that
names the closest valid option; a plugin that declares nothing keeps the old behaviour
(every extra keyword reaches it)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

import hilt
from hilt_core import ConfigError, Event, Registry, hookimpl
from hilt_core.session import Session

from .conftest import MemoryBackend


def test_misspelt_options_are_an_error_naming_the_closest_ones(
    reg: Registry, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as err:
        hilt.instrument(filepath=tmp_path / "a.jsonl", fsnyc=True, include_usgae=False)
    msg = str(err.value)
    assert "'fsnyc' (did you mean 'fsync'?)" in msg
    assert "'include_usgae' (did you mean 'include_usage'?)" in msg
    assert not hilt.is_instrumented()
    assert not (tmp_path / "a.jsonl").exists()


def test_every_option_a_builtin_plugin_declares_is_accepted(reg: Registry, tmp_path: Path) -> None:
    session = hilt.instrument(
        filepath=tmp_path / "a.jsonl",
        fsync=True,
        rotate="size",
        max_bytes="1MB",
        include_usage=False,
        capture_request=True,
        capture="full",
        flush_interval=0.1,
    )
    assert session.options["fsync"] is True
    hilt.uninstrument()


def test_a_misspelt_option_of_session_is_an_error_too(reg: Registry, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'max_queue'"):
        Session(tmp_path / "a.jsonl", max_queu=10)


class Undeclared(MemoryBackend):
    """A backend written before HILT_OPTIONS existed: it reads its own options."""

    @hookimpl
    def backend_open(self, name: str, options: Mapping[str, Any]) -> object:
        self.opened.append(dict(options))
        return self


def test_a_plugin_that_declares_nothing_still_receives_every_keyword(reg: Registry) -> None:
    backend = Undeclared()
    hilt.register_plugin(backend, name="old-backend")
    session = Session(backend="old-backend", table_name="events", anything=1)
    assert backend.opened[-1]["table_name"] == "events"
    session.close()


class DeclaringEnricher:
    HILT_OPTIONS: ClassVar[dict[str, str]] = {"team": "The team to stamp on every event."}

    @hookimpl
    def event_enrich(self, event: Event, options: Mapping[str, Any]) -> None:
        event.extensions = {**(event.extensions or {}), "team": options.get("team")}


def test_a_third_party_option_is_accepted_once_its_plugin_declares_it(
    reg: Registry, tmp_path: Path
) -> None:
    hilt.register_plugin(DeclaringEnricher(), name="team-tagger")
    session = hilt.instrument(filepath=tmp_path / "a.jsonl", team="blue", providers=[])
    session.append({"session_id": "c", "actor": {"type": "human", "id": "u"}, "action": "prompt"})
    hilt.uninstrument()
    (event,) = Session(tmp_path / "a.jsonl", mode="r").read()
    assert event.extensions is not None
    assert event.extensions["team"] == "blue"
    with pytest.raises(ConfigError, match="did you mean 'team'"):
        hilt.instrument(filepath=tmp_path / "a.jsonl", teem="blue", providers=[])


def test_an_option_of_a_disabled_plugin_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HILT_DISABLE_PLUGINS", "costs")
    reg = Registry()
    with pytest.raises(ConfigError, match="installed but not loaded: costs"):
        Session(tmp_path / "a.jsonl", prices_file="prices.json", registry=reg)
