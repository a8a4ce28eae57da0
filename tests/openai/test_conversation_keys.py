"""Conversation ids derived from text are keyed by the install's salt in every capture mode
but "full": in "hash" and "metadata" the log keeps no text, and an unkeyed digest of the
system prompt and first message would let anyone test a guess against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hilt_core.provider import opening_id

from .conftest import Harness

SYSTEM = "You are a clinic's assistant"
FIRST = "I think I am pregnant"


def ask(client: Any) -> None:
    client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": FIRST}],
    )


@pytest.mark.parametrize("mode", ["hash", "metadata"])
def test_without_text_the_conversation_id_cannot_be_guessed(
    h: Harness, client: Any, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    h.instrument(capture=mode, hash_salt="the-install-salt")
    ask(client)
    prompt, completion = h.one()
    guess = opening_id(SYSTEM, FIRST)
    assert prompt["session_id"] != guess
    assert prompt["session_id"] == opening_id(SYSTEM, FIRST, b"the-install-salt")
    assert completion["session_id"] == prompt["session_id"]
    assert FIRST not in h.path.read_text(encoding="utf-8")


def test_in_full_mode_the_id_is_the_documented_digest(h: Harness, client: Any) -> None:
    h.instrument()
    ask(client)
    prompt, _ = h.one()
    assert prompt["session_id"] == opening_id(SYSTEM, FIRST)


def test_a_conversation_keeps_its_keyed_id_across_turns(
    h: Harness, client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    h.instrument(capture="hash")  # the per-install salt
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": FIRST},
    ]
    r = client.chat.completions.create(model="m", messages=messages)
    messages += [{"role": "assistant", "content": r.choices[0].message.content}]
    messages += [{"role": "user", "content": "what now?"}]
    client.chat.completions.create(model="m", messages=messages)
    (p1, c1), (p2, _) = h.calls()
    assert p1["session_id"] == p2["session_id"] != opening_id(SYSTEM, FIRST)
    assert p2["extensions"]["reply_to"] == c1["event_id"]
