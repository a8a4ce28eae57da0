"""One definition of each format rule, and every reader agrees with it.

Timestamps and costs (``hilt_core.values``), ``columns=`` (``hilt_core.columns``), the log
files a list of paths names (``hilt_core.paths``) and the writers' lock
(``hilt_core.locking``) are defined once; these tests hold the readers that used to carry
their own copy (the event model, the ``columns=`` form, ``hilt.reading``, the CLI) to the
same answers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt import reading
from hilt_core import ConfigError, Event, HILTError, Metrics, locking
from hilt_core.columns import check_columns, from_row
from hilt_core.paths import log_files, user_path
from hilt_core.values import number_or_none, parse_cost, parse_timestamp, timestamp_or_none

T = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TIMESTAMPS = {
    "2026-01-01T12:00:00+00:00": T,  # v1
    "2026-01-01T12:00:00Z": T,
    "2026-01-01T14:00:00+02:00": T,  # another zone: read in UTC
    "2026-01-01 12:00:00": T,  # hilt-python 0.2.8's columns form: no offset means UTC
    "2026-01-01T12:00:00.250000Z": T + timedelta(milliseconds=250),
}


@pytest.mark.parametrize(("text", "expected"), TIMESTAMPS.items())
def test_every_reader_reads_a_timestamp_the_same_way(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected
    assert parse_timestamp(text).utcoffset() == timedelta(0)
    line: dict[str, Any] = {
        "session_id": "c",
        "actor": {"type": "human", "id": "u"},
        "action": "prompt",
    }
    assert Event.from_dict({**line, "timestamp": text}).timestamp == expected
    assert Event(**line, timestamp=text).timestamp == expected
    assert from_row({"timestamp": text, "action": "prompt"}).timestamp == expected
    assert reading.timestamp_of({"timestamp": text}) == expected
    assert reading.parse_time(text) == expected


def test_what_is_not_a_timestamp() -> None:
    for value in ("yesterday", "", None, 1767268800, "2026-13-01"):
        assert timestamp_or_none(value) is None
    with pytest.raises(ValueError):
        parse_timestamp("2026-13-01")
    with pytest.raises(HILTError, match="Not a time"):
        reading.parse_time("yesterday")
    aware = datetime(2026, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert Event(session_id="c", actor={"type": "human", "id": "u"}, action="prompt",
                 timestamp=aware).timestamp == T  # fmt: skip


COSTS: dict[Any, float | None] = {
    0.000005: 0.000005,
    "0.000005": 0.000005,  # hilt-python 0.2.8 wrote a string
    " 0,5 ": 0.5,  # ... sometimes with a decimal comma
    3: 3.0,
    "": None,
    None: None,
}


@pytest.mark.parametrize(("value", "expected"), COSTS.items())
def test_every_reader_reads_a_cost_the_same_way(value: Any, expected: float | None) -> None:
    assert parse_cost(value) == expected
    assert number_or_none(value) == expected
    assert Metrics(cost_usd=value).cost_usd == expected
    flat = reading.flat_row({"action": "completion", "metrics": {"cost_usd": value}})
    assert flat["cost_usd"] == ("" if expected is None else expected)


def test_what_is_not_a_cost() -> None:
    odd: list[Any] = ["free", True, [1]]
    for value in odd:
        with pytest.raises(ValueError):
            parse_cost(value)
        assert number_or_none(value) is None
    with pytest.raises(ValueError):
        Metrics(cost_usd="free")


def _reading_rows(columns: Any) -> list[dict[str, Any]]:
    return list(reading.rows(str(Path(__file__).parent / "data" / "hilt-0.2.8.jsonl"),
                             columns=columns))  # fmt: skip


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["modle"], r"Unknown columns: \['modle'\] \(did you mean 'model'\?\)"),
        ("model", r"columns must be a list of names, e\.g\. \['model'\]"),
        ([], r"columns=\[\] names no column"),
    ],
)
def test_columns_are_checked_by_one_rule_everywhere(
    columns: Any, message: str, tmp_path: Path
) -> None:
    checks: list[Callable[[], Any]] = [
        lambda: check_columns(columns),
        lambda: hilt.Session(str(tmp_path / "a.jsonl"), columns=columns),
        lambda: _reading_rows(columns),
        lambda: reading.dataframe(str(tmp_path / "a.jsonl"), columns=columns),
    ]
    for check in checks:
        with pytest.raises(ConfigError, match=message):
            check()


def test_readers_find_log_files_by_one_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("b.jsonl", "a.jsonl", ".hidden.jsonl", "notes.txt"):
        (logs / name).write_text("")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert reading.files is log_files
    assert log_files("~/logs") == [logs / "a.jsonl", logs / "b.jsonl"]
    assert log_files(str(logs / "*.jsonl"), logs / "a.jsonl") == [
        logs / "a.jsonl",
        logs / "b.jsonl",
    ]
    assert user_path("~/x.jsonl") == tmp_path / "x.jsonl"
    for bad, message in (
        (logs / "nope.jsonl", "File not found"),
        (str(logs / "nothing-*.jsonl"), "No file matches"),
        (tmp_path, "is a directory with no"),
    ):
        with pytest.raises(HILTError, match=message):
            log_files(bad)


def _hold_lock(path: str, held: Any, release: Any) -> None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    locking.lock(fd)
    held.set()
    release.wait(30)
    os.close(fd)


@pytest.mark.skipif(not locking.AVAILABLE, reason="no flock on this platform")
def test_the_lock_excludes_another_process(tmp_path: Path) -> None:
    lock_path = tmp_path / "spill.jsonl.lock"
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_lock, args=(str(lock_path), held, release))
    other.start()
    try:
        assert held.wait(30)
        fd = os.open(lock_path, os.O_RDONLY)
        try:
            assert locking.lock(fd, wait=False) is False
            assert locking.lock(fd, shared=True, wait=False) is False
        finally:
            os.close(fd)
    finally:
        release.set()
        other.join(30)
    fd = os.open(lock_path, os.O_RDONLY)
    try:
        assert locking.lock(fd, wait=False) is True
        locking.unlock(fd)
    finally:
        os.close(fd)


def test_still_names_sees_a_file_rolled_over(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    log.write_text("")
    fd = os.open(log, os.O_RDONLY)
    try:
        assert locking.still_names(log, fd)
        log.rename(tmp_path / "hilt.1.jsonl")
        assert not locking.still_names(log, fd)
        log.write_text("")
        assert not locking.still_names(log, fd)
    finally:
        os.close(fd)
