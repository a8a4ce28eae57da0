"""``columns=[...]``: only those keys reach the disk; unknown names fail at instrument()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hilt
from hilt_core import Event
from hilt_core.columns import ALL_COLUMNS, KNOWN_COLUMNS

SECRET = "my card is 4111 1111 1111 1111"


def _events() -> list[Event]:
    prompt = Event(
        session_id="conv_0123456789ab",
        actor={"type": "human", "id": "user"},
        action="prompt",
        content={"text": SECRET, "messages": [{"role": "user", "content": SECRET}]},
    )
    answer = Event(
        session_id="conv_0123456789ab",
        actor={"type": "agent", "id": "openai"},
        action="completion",
        content={"text": "Noted:\n  " + SECRET + " " + "x" * 600},
        metrics={
            "tokens": {"prompt": 12, "completion": 30, "total": 42, "cached": 2},
            "cost_usd": 0.00042,
            "latency_ms": 812.5,
        },
        extensions={
            "reply_to": prompt.event_id,
            "model": "gpt-4o-2024-08-06",
            "status_code": 200,
            "provider": "openai",
            "finish_reason": "stop",
            "tool_calls": [{"name": "f", "arguments": SECRET}],
        },
    )
    return [prompt, answer]


def test_without_message_no_content_reaches_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "private.jsonl"
    columns = [
        "timestamp",
        "conversation_id",
        "event_id",
        "reply_to",
        "speaker",
        "action",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "latency_ms",
        "model",
    ]
    session = hilt.instrument(backend="local", filepath=path, columns=columns, providers=[])
    for event in _events():
        session.append(event)
    assert session.flush()
    raw = path.read_bytes()
    assert b"4111" not in raw
    assert b"card" not in raw
    prompt, answer = (json.loads(line) for line in raw.splitlines())
    assert list(prompt) == columns
    assert list(answer) == columns
    assert answer["tokens_in"] == 12
    assert answer["cost_usd"] == 0.00042
    assert answer["latency_ms"] == 812.5
    assert answer["model"] == "gpt-4o-2024-08-06"
    assert answer["reply_to"] == prompt["event_id"]
    assert answer["speaker"] == "agent: openai"
    assert prompt["tokens_in"] == ""
    assert prompt["reply_to"] == ""
    assert answer["timestamp"].endswith("+00:00")
    back = list(session.read())  # the filtered form reads back as events
    assert back[1].extensions is not None
    assert back[1].extensions["reply_to"] == back[0].event_id
    assert back[1].content is None


def test_message_column_is_one_line_cut_to_500(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    session = hilt.Session(path, columns=["message", "action"])
    for event in _events():
        session.append(event)
    assert session.close()
    prompt, answer = (json.loads(line) for line in path.read_bytes().splitlines())
    assert prompt == {"message": SECRET, "action": "prompt"}
    assert "\n" not in answer["message"]
    assert answer["message"].startswith("Noted: my card")
    assert len(answer["message"]) == 500
    assert answer["message"].endswith("...")


def test_every_known_column(tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    session = hilt.Session(path, columns=list(KNOWN_COLUMNS))
    with hilt.scope(user_id="u1", tenant_id="t1"):
        for event in _events():
            session.append(event)
    assert session.close()
    answer = json.loads(path.read_bytes().splitlines()[1])
    assert list(answer) == list(KNOWN_COLUMNS)
    assert answer["session"] == "Conv.01234567"
    assert (answer["user_id"], answer["tenant_id"], answer["provider"]) == ("u1", "t1", "openai")
    assert (answer["cached_tokens"], answer["total_tokens"]) == (2, 42)
    assert answer["finish_reason"] == "stop"
    assert answer["status_code"] == 200
    assert set(ALL_COLUMNS) <= set(KNOWN_COLUMNS)


@pytest.mark.parametrize(
    "columns", [["timestamp", "bogus"], "message", []], ids=["unknown", "string", "empty"]
)
def test_bad_columns_fail_at_instrument_time(tmp_path: Path, columns: object) -> None:
    with pytest.raises(hilt.ConfigError) as info:
        hilt.instrument(filepath=tmp_path / "x.jsonl", columns=columns, providers=[])  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)  # what 0.2.8 raised
    if columns == ["timestamp", "bogus"]:
        assert "['bogus']" in str(info.value)
        assert "Available columns" in str(info.value)
    assert not hilt.is_instrumented()
    assert not (tmp_path / "x.jsonl").exists()
