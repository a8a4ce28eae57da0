"""Logs that fight back: what a prompt, a model name or a broken writer puts in a log must
never take over the operator's terminal, and no line, however wrong, may end a command
with a traceback. Every command (and the reading API) reads the same hostile lines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt import Actor, Content, Event, Metrics

# What must not reach a terminal: C0 controls but the newline ending each line, DEL, C1
# controls (0x9b is a one-byte CSI on many terminals), and the bidi controls that make
# text read other than it is.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m\u202etxt.exe"


def _hostile_event_log(path: Path) -> Path:
    """A log HILT itself wrote, where the text and the names carry terminal escapes."""
    with hilt.Session(path) as session:
        prompt = Event(
            session_id="conv_\x1b[8mhidden",
            actor=Actor(type="human", id="user\x1b[5m"),
            action="prompt",
            content=Content(text=f"hello {ESCAPES}"),
            extensions={"user_id": "eve\nline two\x1b[1m"},
        )
        session.append(prompt)
        session.append(
            Event(
                session_id="conv_\x1b[8mhidden",
                actor=Actor(type="agent", id="openai"),
                action="completion",
                content=Content(text=f"answer {ESCAPES}"),
                metrics=Metrics(tokens={"prompt": 3, "completion": 4}, latency_ms=10.0),
                extensions={
                    "model": "evil\nmodel\x1b[31m",
                    "provider": "\x1b[2Jopenai",
                    "user_id": "eve\nline two\x1b[1m",
                    "status_code": 200,
                    "reply_to": prompt.event_id,
                },
            )
        )
        session.append(
            Event(
                session_id="conv_\x1b[8mhidden",
                actor=Actor(type="system", id="openai"),
                action="system",
                content=Content(text="RateLimitError"),
                extensions={"model": "evil\nmodel\x1b[31m", "status_code": "42\x1b[9"},
            )
        )
    return path


def _assert_safe(text: str) -> None:
    found = _UNSAFE.findall(text)
    assert not found, f"control characters reach the terminal: {found!r} in {text!r}"


# -- terminal escapes ------------------------------------------------------------------------
def test_tail_shows_escapes_as_text(run: Any, tmp_path: Path) -> None:
    log = _hostile_event_log(tmp_path / "app.jsonl")
    res = run("tail", log, "--width", "400")
    assert res.code == 0, res.err
    _assert_safe(res.out)
    _assert_safe(res.err)
    lines = res.out.splitlines()
    assert len(lines) == 3  # one line per event: no newline got through
    assert "\\x1b]0;pwned\\x07" in lines[0]  # shown, readable, inert


@pytest.mark.parametrize("by", ["model", "conversation", "user", "provider", "day"])
def test_stats_table_shows_escapes_as_text(run: Any, tmp_path: Path, by: str) -> None:
    log = _hostile_event_log(tmp_path / "app.jsonl")
    res = run("stats", log, "--by", by)
    assert res.code == 0, res.err
    _assert_safe(res.out)
    _assert_safe(res.err)
    groups = json.loads(run("stats", log, "--by", by, "--json").out)["groups"]
    table = res.out.split("\n\n")[1].splitlines()
    assert len(table) == len(groups) + 3, res.out  # titles, the groups, the rule, the total
    assert len({len(line) for line in table}) == 1, res.out  # no name breaks the columns


def test_stats_json_keeps_the_names_exactly(run: Any, tmp_path: Path) -> None:
    log = _hostile_event_log(tmp_path / "app.jsonl")
    res = run("stats", log, "--json")
    assert res.code == 0, res.err
    _assert_safe(res.out)  # JSON escapes them
    data = json.loads(res.out)
    assert data["groups"][0]["key"] == "evil\nmodel\x1b[31m"


def test_warnings_and_errors_show_escapes_as_text(run: Any, tmp_path: Path) -> None:
    log = _hostile_event_log(tmp_path / "app.jsonl")
    with log.open("ab") as fh:  # an invalid event, named by its id in the warning
        fh.write(b'{"event_id":"\\u001b[2Jx","session_id":"c","actor":"bob","action":"prompt"}\n')
    for command in (["tail"], ["export"], ["validate"]):
        res = run(command[0], log, *command[1:])
        assert res.code in (0, 1), res.err
        _assert_safe(res.err)
        if command[0] != "export":
            _assert_safe(res.out)
