"""``hilt stats``: exact sums on a log the library wrote, every grouping, filters, JSON,
the hilt-python 0.2.8 log, parallel reading, and progress only when asked for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hilt import _stats


def groups(out: str) -> dict[str, dict[str, Any]]:
    data = json.loads(out)
    return {str(g["key"]): g for g in data["groups"]}


def test_totals_and_model_groups(run: Any, library_log: Path) -> None:
    res = run("stats", library_log, "--json")
    assert res.code == 0, res.err
    data = json.loads(res.out)
    total = data["total"]
    assert total["events"] == 12
    assert total["calls"] == 6
    assert total["errors"] == 2
    assert total["errors_by_status"] == {"0": 1, "429": 1}
    assert total["tokens"] == {
        "prompt": 360,
        "completion": 75,
        "total": 435,
        "cached": 0,
        "reasoning": 0,
    }
    assert total["cost_usd"] == pytest.approx(0.0013635)
    assert total["unpriced_calls"] == 1
    assert total["conversations"] == 3
    assert total["latency_ms"]["count"] == 6
    assert total["latency_ms"]["p50"] == 250.0  # of 50, 100, 200, 300, 400, 500
    assert total["latency_ms"]["p95"] == 475.0
    assert total["latency_ms"]["p99"] == 495.0

    by_model = groups(res.out)
    big = by_model["gpt-4o-2024-08-06"]
    assert (big["calls"], big["errors"], big["errors_by_status"]) == (4, 1, {"0": 1})
    assert big["tokens"]["prompt"] == 310
    assert big["cost_usd"] == pytest.approx(0.00135)
    assert (big["latency_ms"]["p50"], big["latency_ms"]["p95"]) == (300.0, 485.0)
    mini = by_model["gpt-4o-mini-2024-07-18"]
    assert (mini["calls"], mini["errors_by_status"]) == (2, {"429": 1})
    assert json.loads(res.out)["groups"][0]["key"] == "gpt-4o-2024-08-06"


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("day", {"2025-03-30": 2, "2025-03-31": 4}),
        (
            "conversation",
            {"conv_aaaaaaaaaaaa": 2, "conv_bbbbbbbbbbbb": 2, "conv_cccccccccccc": 2},
        ),
        ("user", {"alice": 3, "bob": 3}),
        ("provider", {"openai": 6}),
        ("none", {}),
    ],
)
def test_groupings(run: Any, library_log: Path, by: str, expected: dict[str, int]) -> None:
    res = run("stats", library_log, "--by", by, "--json")
    assert res.code == 0, res.err
    found = {k: g["calls"] for k, g in groups(res.out).items()}
    if by == "none":
        assert set(found) == {"None"}
        assert json.loads(res.out)["total"]["calls"] == 6
    else:
        assert found == expected
    if by == "day":  # days in order
        assert [g["key"] for g in json.loads(res.out)["groups"]] == sorted(expected)


@pytest.mark.parametrize(
    ("flags", "calls", "errors"),
    [
        (["--model", "gpt-4o"], 4, 1),  # the model asked for
        (["--model", "gpt-4o-mini-2024-07-18"], 2, 1),  # the model that answered
        (["--since", "2025-03-31"], 4, 2),
        (["--until", "2025-03-31"], 2, 0),
        (["--since", "2025-03-31T00:02", "--until", "2025-03-31T00:04"], 2, 1),
        (["--conversation", "conv_bbbbbbbbbbbb"], 2, 1),
        (["--conversation", "conv_bbbbbbbbbbbb", "--conversation", "conv_aaaaaaaaaaaa"], 4, 1),
        (["--user", "alice"], 3, 1),
        (["--action", "completion"], 4, 0),
        (["--since", "24h"], 0, 0),  # the log is from March 2025, long before "now"
    ],
)
def test_filters(run: Any, library_log: Path, flags: list[str], calls: int, errors: int) -> None:
    res = run("stats", library_log, "--json", *flags)
    assert res.code == 0, res.err
    total = json.loads(res.out)["total"]
    assert (total["calls"], total["errors"]) == (calls, errors)


def test_text_table(run: Any, library_log: Path) -> None:
    res = run("stats", library_log)
    assert res.code == 0
    lines = res.out.splitlines()
    assert lines[0].startswith("12 events, 6 calls, 3 conversations in 1 file")
    header = lines[2].split()
    assert header[:3] == ["model", "calls", "errors"]
    assert "p95" in res.out
    row = next(ln for ln in lines if ln.startswith("gpt-4o-2024-08-06"))
    assert row.split()[1] == "4"
    assert "errors by status code: 0: 1, 429: 1" in res.out
    assert "* 1 calls carry no cost" in res.out
    assert res.err == ""  # no progress bar when stderr is not a terminal


def test_limit_and_many_files(run: Any, library_log: Path, legacy_log: Path) -> None:
    res = run("stats", library_log, legacy_log, "--by", "conversation", "--limit", "1")
    assert res.code == 0
    assert "in 2 files" in res.out
    assert "... and 3 more (--limit 0 shows all)" in res.out
    glob = run("stats", str(library_log.parent / "*.jsonl"), "--json")
    assert json.loads(glob.out)["total"]["calls"] == 6


def test_hilt_028_log(run: Any, legacy_log: Path) -> None:
    """The log hilt-python 0.2.8 wrote: string costs, latency in extensions."""
    res = run("stats", legacy_log, "--json")
    assert res.code == 0, res.err
    total = json.loads(res.out)["total"]
    assert (total["events"], total["calls"], total["errors"]) == (8, 4, 1)
    assert total["errors_by_status"] == {"429": 1}
    assert total["tokens"]["prompt"] == 45
    assert total["tokens"]["completion"] == 19
    assert total["cost_usd"] == pytest.approx(0.000065)
    assert total["latency_ms"]["count"] == 4
    assert groups(res.out)["gpt-4o-mini"]["calls"] == 2


def test_columns_form_log(run: Any, tmp_path: Path, log_writer: Any) -> None:
    """A log written with columns=[...] (flat rows) is counted too."""
    cols = [
        "timestamp",
        "conversation_id",
        "action",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "latency_ms",
        "model",
        "status_code",
    ]
    path = log_writer(tmp_path / "rows.jsonl", columns=cols)
    res = run("stats", path, "--json")
    assert res.code == 0, res.err
    total = json.loads(res.out)["total"]
    assert (total["calls"], total["errors"], total["tokens"]["prompt"]) == (6, 2, 360)
    assert total["cost_usd"] == pytest.approx(0.0013635)


def test_parallel_reading_gives_the_same_numbers(tmp_path: Path, library_log: Path) -> None:
    """Byte ranges split lines anywhere: every line must be counted exactly once."""
    big = tmp_path / "big.jsonl"
    big.write_bytes(library_log.read_bytes() * 20)
    for by in ("model", "day", "conversation"):
        one = _stats.compute([big], by=by, workers=1).as_dict()
        for chunk in (97, 1000, 4096):
            two = _stats.compute([big], by=by, workers=2, chunk_bytes=chunk).as_dict()
            assert two == one
    assert one["total"]["calls"] == 120


def test_progress_on_stderr_only_when_wanted(
    run: Any, library_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HILT_PROGRESS", "1")  # as if stderr were a terminal
    res = run("stats", library_log)
    assert "hilt stats [" in res.err
    assert "100%" in res.err
    assert "hilt stats [" not in res.out
    quiet = run("stats", library_log, "--no-progress")
    assert quiet.err == ""
