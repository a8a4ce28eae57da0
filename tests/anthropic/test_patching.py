"""Patching: on by default when the SDK is installed, idempotent and reversible, beside the
OpenAI provider; a clear ConfigError when the SDK is missing or too old; the plugin's own
extension keys are labels, kept in every capture mode."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic import _base_client as base

import hilt
from hilt_core import ConfigError

from .conftest import MODEL, Harness


def originals() -> dict[str, Any]:
    return {
        "sync": base.SyncAPIClient.__dict__["request"],
        "async": base.AsyncAPIClient.__dict__["request"],
        "build": base.BaseClient.__dict__["_build_request"],
    }


def ask(client: Any, text: str, **kwargs: Any) -> Any:
    return client.messages.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": text}], **kwargs
    )


def test_on_by_default_when_the_sdk_is_installed(client: Any, h: Harness, word: str) -> None:
    h.session = hilt.instrument(filepath=str(h.path))  # providers left out
    assert originals()["sync"].__hilt__  # type: ignore[attr-defined]
    ask(client, word)
    assert len(h.calls()) == 1


def test_uninstrument_restores_the_exact_objects(client: Any, h: Harness, word: str) -> None:
    before = originals()
    h.instrument(providers=["openai", "anthropic"])
    patched = originals()
    for key, original in before.items():
        assert patched[key] is not original
        assert patched[key].__wrapped__ is original
    hilt.uninstrument()
    assert originals() == before
    ask(client, word)
    assert h.lines() == []


def test_instrument_twice_never_double_logs(
    client: Any, h: Harness, tmp_path: Path, word: str
) -> None:
    before = originals()
    h.instrument()
    h.path = tmp_path / "second.jsonl"
    h.instrument()
    ask(client, word)
    assert len(h.calls()) == 1
    assert originals()["sync"].__wrapped__ is before["sync"]  # one layer, not two
    hilt.uninstrument()
    assert originals() == before


def test_a_too_old_sdk_is_a_config_error(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    before = originals()
    monkeypatch.setattr(anthropic, "__version__", "0.50.0")
    with pytest.raises(ConfigError, match=r"anthropic >=0\.51,<3; anthropic 0\.50\.0"):
        h.instrument()
    assert originals() == before
    assert not hilt.is_instrumented()


def test_a_missing_sdk_is_a_config_error_when_named(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["anthropic"] = None  # as if it were not installed
        import hilt
        from hilt_core import ConfigError
        session = hilt.instrument(filepath={str(tmp_path / "a.jsonl")!r})  # default: skipped
        assert hilt.is_instrumented()
        hilt.uninstrument()
        try:
            hilt.instrument(filepath={str(tmp_path / "b.jsonl")!r}, providers=["anthropic"])
        except ConfigError as exc:
            print(exc)
        else:
            raise SystemExit("no ConfigError")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=60
    )
    assert "pip install 'hilt-anthropic[anthropic]'" in out.stdout


def test_labels_are_kept_when_text_is_hashed(client: Any, h: Harness, word: str) -> None:
    h.instrument(capture="hash")
    client.beta.messages.create(
        model=MODEL,
        max_tokens=50,
        messages=[{"role": "user", "content": f"think {word}"}],
        thinking={"type": "enabled", "budget_tokens": 1024},
        betas=["interleaved-thinking-2025-05-14"],
    )
    prompt, done = h.one()
    ext = prompt["extensions"]
    assert ext["thinking_type"] == "enabled"
    assert ext["thinking_budget"] == 1024
    assert ext["betas"] == ["interleaved-thinking-2025-05-14"]
    assert prompt["content"]["text"].startswith("sha256:")
    assert done["content"]["thinking"].startswith("sha256:")
    assert word not in h.path.read_text()
