"""Helpers shared by the privacy tests (put on ``sys.path`` by this folder's conftest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hilt
from hilt_core import Actor, Content, Event

FIXED_ID = "01a0f000-0000-7000-8000-000000000001"
FIXED_TIME = "2026-01-15T09:30:00+00:00"
SYSTEM = "You are a support agent."


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_one(path: Path, event: Event, **options: Any) -> dict[str, Any]:
    """Write ``event`` through a JSONL session with ``options``; return its line."""
    session = hilt.Session(str(path), **options)
    session.append(event)
    assert session.close()
    (line,) = read_lines(path)
    return line


def prompt_event(text: str = "Email me at jane.doe@example.com") -> Event:
    """A prompt with a fixed id and time, as the OpenAI provider writes one for a system
    and a user message (no metrics: the tokens go on the completion)."""
    return Event(
        event_id=FIXED_ID,
        timestamp=FIXED_TIME,
        session_id="conv_0123456789ab",
        actor=Actor(type="human", id="user"),
        action="prompt",
        content=Content(
            text=text,
            messages=[{"role": "system", "text": SYSTEM}, {"role": "user", "text": text}],
        ),
        extensions={
            "model": "gpt-4o-mini",
            "provider": "openai",
            "endpoint": "api.openai.com",
            "api": "chat.completions",
            "user_id": "u-42",
        },
    )


SECRET = "sk-proj-ZZsecretZZ0123456789abcdefXYZ"
