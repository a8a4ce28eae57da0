"""Fixtures of the LangChain / LangGraph tests: the real langgraph, langchain-core and
langchain-openai, against the loopback fake OpenAI server of the OpenAI plugin's tests.

``hi`` instruments HILT with the OpenAI provider *and* the LangChain plugin (the OpenAI
SDK is captured: the provider records the model calls); ``lc_only`` with the LangChain
plugin alone (the LangChain layer records them). Graphs are built by ``graphs.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langgraph")
pytest.importorskip("langchain_openai")

import hilt
from hilt_openai.testing import FakeOpenAI


class Harness:
    """Instruments HILT into one JSONL file and reads it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.session: hilt.Session | None = None

    def instrument(self, providers: list[str], **options: Any) -> hilt.Session:
        self.session = hilt.instrument(filepath=str(self.path), providers=providers, **options)
        return self.session

    def events(self) -> list[dict[str, Any]]:
        if self.session is not None and not self.session.closed:
            assert self.session.flush(timeout=10)
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines()]

    def of(self, action: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["action"] == action]

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {e["event_id"]: e for e in self.events()}


@pytest.fixture(autouse=True)
def _uninstrument() -> Iterator[None]:
    yield
    hilt.uninstrument()


@pytest.fixture
def srv() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "hilt.jsonl")


@pytest.fixture
def hi(h: Harness) -> Harness:
    """Instrumented with the OpenAI provider and the LangChain plugin."""
    h.instrument(["openai", "langchain"])
    return h


@pytest.fixture
def lc_only(h: Harness) -> Harness:
    """Instrumented with the LangChain plugin alone: no provider captures the SDK."""
    h.instrument(["langchain"])
    return h


def ext(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The given extension keys of an event (those it has)."""
    found = event.get("extensions") or {}
    return {k: found[k] for k in keys if k in found}
