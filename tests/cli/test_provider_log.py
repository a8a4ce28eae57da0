"""Every command on a log written by the OpenAI provider plugin itself, around real
openai SDK calls made against the embedded fake server (2 answers, 1 HTTP 429)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import hilt


def test_stats(run: Any, provider_log: Path) -> None:
    res = run("stats", provider_log, "--json", "--by", "user")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    total = data["total"]
    assert (total["events"], total["calls"], total["errors"]) == (6, 3, 1)
    assert total["errors_by_status"] == {"429": 1}
    assert total["latency_ms"]["count"] == 3
    assert [g["key"] for g in data["groups"]] == ["carol"]  # hilt.scope(user_id=...)
    by_model = json.loads(run("stats", provider_log, "--json").out)["groups"]
    assert {g["key"]: g["calls"] for g in by_model} == {"gpt-4o-mini": 2, "gpt-4o-2024-08-06": 1}
    text = run("stats", provider_log).out
    assert "3 calls" in text
    assert "errors by status code: 429: 1" in text


def test_tail(run: Any, provider_log: Path) -> None:
    res = run("tail", provider_log, "-n", "2", "--width", "150")
    prompt, error = res.out.splitlines()
    assert "human: user" in prompt
    assert "fail" in prompt
    assert "system: openai" in error
    assert " 429 " in error


def test_validate(run: Any, provider_log: Path) -> None:
    res = run("validate", provider_log)
    assert res.code == 0, res.out


def test_export_and_read(run: Any, provider_log: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run("export", provider_log).out)))
    assert [r["action"] for r in rows] == ["prompt", "completion"] * 2 + ["prompt", "system"]
    assert rows[1]["reply_to"] == rows[0]["event_id"]
    assert rows[-1]["status_code"] == "429"
    assert rows[-1]["error_type"] == "RateLimitError"
    answers = list(hilt.read_events(provider_log, action="completion", model="gpt-4o"))
    assert len(answers) == 1
    assert answers[0].extensions is not None
    assert answers[0].extensions["model"] == "gpt-4o-2024-08-06"
