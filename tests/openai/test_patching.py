"""Patching is idempotent and reversible: instrument() twice never double-logs,
uninstrument() puts back the very objects it replaced, providers=[] touches nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openai import _base_client as base

import hilt
from hilt_core import Recorder, Registry


def originals() -> dict[str, Any]:
    return {
        "sync": base.SyncAPIClient.__dict__["request"],
        "async": base.AsyncAPIClient.__dict__["request"],
        "build": base.BaseClient.__dict__["_build_request"],
    }


def ask(client: Any, word: str) -> None:
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": word}])


def test_uninstrument_restores_the_exact_objects(client: Any, h: Any, word: str) -> None:
    before = originals()
    h.instrument()
    patched = originals()
    for key, original in before.items():
        assert patched[key] is not original
        assert patched[key].__wrapped__ is original
    hilt.uninstrument()
    after = originals()
    for key, original in before.items():
        assert after[key] is original
    ask(client, word)
    assert h.lines() == []  # nothing patched, nothing logged


def test_instrument_twice_never_double_logs(client: Any, h: Any, tmp_path: Path, word: str) -> None:
    before = originals()
    h.instrument()
    first = h.path
    h.path = tmp_path / "second.jsonl"
    h.instrument()
    h.instrument()
    ask(client, word)
    assert len(h.calls()) == 1
    assert first.read_text() == ""
    assert originals()["sync"].__wrapped__ is before["sync"]  # one layer, not three
    hilt.uninstrument()
    assert originals() == before


def test_providers_empty_patches_nothing(client: Any, h: Any, word: str) -> None:
    before = originals()
    h.instrument(providers=[])
    assert originals() == before
    ask(client, word)
    assert h.lines() == []


def test_default_providers_include_openai(client: Any, h: Any, word: str) -> None:
    session = hilt.instrument(filepath=str(h.path))  # providers left out
    h.session = session
    ask(client, word)
    assert len(h.calls()) == 1


def test_a_second_patch_is_refused(
    client: Any, hi: Any, word: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry()
    registry.load()
    _, plugin = registry.resolve("openai", "provider")
    undo = registry.caller(plugin, "provider_patch")(
        name="openai", recorder=Recorder({}), options={}
    )
    assert any("already instrumented" in r.getMessage() for r in caplog.records)
    ask(client, word)
    assert len(hi.calls()) == 1
    before = originals()
    undo()  # undoes nothing: the first patch stays
    assert originals() == before


def test_patched_but_no_session_records_nothing(client: Any, word: str) -> None:
    before = originals()
    registry = Registry()
    registry.load()
    _, plugin = registry.resolve("openai", "provider")
    undo = registry.caller(plugin, "provider_patch")(
        name="openai", recorder=Recorder({}), options={}
    )
    try:
        assert originals()["sync"].__wrapped__ is before["sync"]
        assert not hilt.is_instrumented()
        got = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": word}]
        )
        assert got.choices[0].message.content == f"Echo: {word}"
    finally:
        undo()
    assert originals() == before
