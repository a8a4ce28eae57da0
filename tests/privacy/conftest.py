"""Fixtures of the privacy tests: a fresh registry, a salt folder of the test's own, and an
event that carries text in every field the core counts as text-bearing.

The PII redactor is reached by name (``redactors=["pii"]``, ``capture="redacted"``) through
the registry that loads the installed entry points, as an application would.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import hilt
from hilt_core import Actor, Content, Event, Metrics, Registry, registry

sys.path.insert(0, str(Path(__file__).parent))
from privacy_support import SECRET


@pytest.fixture(autouse=True)
def salt_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-install salt goes under the test's folder, never the real home."""
    home = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    for var in ("HILT_HASH_SALT", "HILT_REDACTORS", "HILT_CAPTURE", "_HILT_ERASE_TEST_PAUSE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(autouse=True)
def reg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    """A fresh process-wide registry, restored after. Of the installed entry points it
    loads the JSONL backend and the PII redactor only (``HILT_LOAD_PLUGINS``), so that no
    other installed plugin (costs, say) changes what the tests compare."""
    monkeypatch.setenv("HILT_LOAD_PLUGINS", "jsonl,pii")
    saved = registry._default
    fresh = Registry()
    registry.set_default_registry(fresh)
    yield fresh
    hilt.uninstrument()
    registry.set_default_registry(saved)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "hilt.jsonl"


@pytest.fixture
def everywhere() -> Callable[[str], Event]:
    """An event with ``secret`` in every text-bearing field an event can have."""

    def make(secret: str = SECRET) -> Event:
        return Event(
            session_id="conv_0123456789ab",
            actor=Actor(
                type="tool",
                id="search",
                name=f"agent {secret}",
                metadata={"note": secret, "nested": [{"deep": secret}]},
            ),
            action="tool_result",
            content=Content(
                text=f"text {secret}",
                images=[{"type": "image_url", "image_url": {"url": f"https://x/{secret}"}}],
                metadata={"source": secret},
                messages=[
                    {"role": "system", "content": f"sys {secret}"},
                    {"role": "user", "content": [{"type": "text", "text": f"part {secret}"}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": f"result {secret}"},
                ],
                parts=[{"type": "input_text", "text": secret}],
                tool_calls=[
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": f'{{"q": "{secret}"}}'},
                    }
                ],
                refusal=f"refused {secret}",
            ),
            metrics=Metrics(tokens={"prompt": 3, "completion": 4, "total": 7}, latency_ms=12.5),
            provenance={"documents": [{"id": "doc-1", "snippet": secret}], "url": secret},
            extensions={
                "reply_to": "01a0f000-0000-7000-8000-000000000000",
                "model": "gpt-4o-mini",
                "status_code": 200,
                "user_id": "u-42",
                "tags": ["prod"],
                "tool_calls": [{"function": {"arguments": secret}}],
                "tool_arguments": {"q": secret},
                "tool_result": secret,
                "error_message": f"failed for {secret}",
                "request": {"messages": [{"role": "user", "content": secret}], "top_p": 1},
                "metadata": {"ticket": secret, "n": 3},
                "custom_field": f"app {secret}",
                "attempts": 1,
            },
        )

    return make
