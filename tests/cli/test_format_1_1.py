"""Format 1.1 added the actions ``run`` and ``step`` (a framework's run and its steps).
1.0 and 1.1 lines mix in one log; readers, ``hilt validate`` and ``hilt stats`` take both,
and run / step events are never counted as model calls, whatever they carry."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core.model import HILT_VERSION


def run_and_step(conversation: str) -> list[dict[str, Any]]:
    """A run and one of its steps, as hilt-langchain writes them (a step that failed)."""
    ctx = {"run_id": "r-1", "graph": "LangGraph", "node": "tools", "step": 2}
    return [
        {
            "hilt_version": "1.1",
            "event_id": "s-1",
            "timestamp": "2025-03-31T00:10:00+00:00",
            "session_id": conversation,
            "actor": {"type": "agent", "id": "tools"},
            "action": "step",
            "content": {"text": "boom"},
            "metrics": {"latency_ms": 12.5},
            "extensions": {**ctx, "outcome": "error", "error_type": "ValueError"},
        },
        {
            "hilt_version": "1.1",
            "event_id": "r-1e",
            "timestamp": "2025-03-31T00:10:01+00:00",
            "session_id": conversation,
            "actor": {"type": "agent", "id": "LangGraph"},
            "action": "run",
            "content": {"input": "hi"},
            # Never written by HILT (runs carry no tokens or cost), and still not counted.
            "metrics": {"latency_ms": 20.0, "tokens": {"prompt": 5}, "cost_usd": 1.0},
            "extensions": {"run_id": "r-1", "graph": "LangGraph", "outcome": "error"},
        },
    ]


@pytest.fixture
def mixed_log(library_log: Path) -> Path:
    """The library's 12 lines written as 1.0 lines, then a run and a step (1.1)."""
    lines = [
        line.replace(f'"hilt_version":"{HILT_VERSION}"', '"hilt_version":"1.0"')
        for line in library_log.read_text().splitlines()
    ]
    assert all('"hilt_version":"1.0"' in line for line in lines)
    lines += [json.dumps(e) for e in run_and_step("conv_aaaaaaaaaaaa")]
    library_log.write_text("\n".join(lines) + "\n")
    return library_log


def test_this_version_is_1_1() -> None:
    assert HILT_VERSION == "1.1"
    assert {"run", "step"} <= hilt.ACTIONS


def test_1_0_and_1_1_lines_read_back(mixed_log: Path) -> None:
    events = list(hilt.Session(mixed_log, mode="r").read())
    assert len(events) == 14
    assert [e.hilt_version for e in events] == ["1.0"] * 12 + ["1.1"] * 2
    assert [e.action for e in events[-2:]] == ["step", "run"]


def test_validate_accepts_both(run: Any, mixed_log: Path) -> None:
    pytest.importorskip("jsonschema")
    res = run("validate", mixed_log)
    assert res.code == 0, res.out
    assert "14 lines, all valid" in res.out


def test_stats_never_counts_runs_or_steps(run: Any, mixed_log: Path, library_log: Path) -> None:
    res = run("stats", mixed_log, "--json", "--by", "conversation")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    total = data["total"]
    assert total["events"] == 14
    assert total["calls"] == 6  # the 6 calls of the library log, no more
    assert total["errors"] == 2
    assert total["tokens"]["prompt"] == 360
    assert total["cost_usd"] == pytest.approx(0.0013635)
    (conv_a,) = [g for g in data["groups"] if g["key"] == "conv_aaaaaaaaaaaa"]
    assert conv_a["events"] == 6
    assert conv_a["calls"] == 2


def test_an_action_from_a_later_version_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "later.jsonl"
    later = {**run_and_step("c")[1], "hilt_version": "1.9", "action": "handoff"}
    path.write_text("\n".join(json.dumps(e) for e in [*run_and_step("c"), later]) + "\n")
    with caplog.at_level(logging.WARNING, logger="hilt"):
        events = list(hilt.Session(path, mode="r").read())
    assert [e.action for e in events] == ["step", "run"]
    assert "handoff" in caplog.text
