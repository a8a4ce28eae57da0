"""What the Sheets backend does at close (issue #14, items 7 and 9): it gets the rows out
when that takes seconds, keeps them on disk while it tries, stops at ``close_timeout``,
and says how many rows it could not send.

The short-program tests run a real program in its own process (``short_program.py``) with
the default settings, and let interpreter exit close the session, as users do."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hilt_core.columns import ALL_COLUMNS

PROGRAM = Path(__file__).with_name("short_program.py")
SLOW = pytest.mark.skipif(
    os.environ.get("HILT_SLOW_TESTS") != "1", reason="waits out a 5 s outage: HILT_SLOW_TESTS=1"
)


def run_program(
    sheet: Any,
    tmp_path: Path,
    events: int = 56,
    extra: Any = None,
    env: dict[str, str] | None = None,
    **options: Any,
) -> tuple[Any, float]:
    """Run the short program; return its result and how long it took (from start to exit)."""
    cfg = {
        **(extra or {}),
        "base_url": sheet.g.base_url,
        "sheet_id": sheet.sid,
        "key": sheet.info,
        "tab": sheet.tab,
        "spill": str(sheet.spill),
        "events": events,
        "options": options,
    }
    path = tmp_path / "program.json"
    path.write_text(json.dumps(cfg), "utf-8")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", **(env or {})}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(PROGRAM), str(path)],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        env=env,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    return done, took


def make_tab(sheet: Any) -> None:
    """The tab exists with its header, as on every run after the first: the program's only
    writes are its rows."""
    ws = sheet.g.client(sheet.info).open_by_key(sheet.sid).add_worksheet(sheet.tab, 10, 20)
    ws.update([list(ALL_COLUMNS)], "A1")


def test_short_program_meeting_a_429_exits_with_its_rows_in_the_sheet(
    sheet: Any, tmp_path: Path
) -> None:
    make_tab(sheet)
    sheet.g.fail_next(429, kind="write", seconds=3)  # the per-minute quota refills in 3 s
    done, took = run_program(sheet, tmp_path)
    ids = sheet.column("event_id")
    assert sorted(ids) == sorted(set(ids)), done.stderr  # once each
    assert len(ids) == 56, done.stderr
    assert sheet.spilled() == []
    assert took < 15  # seconds, not minutes
    assert "HILT is closing while Google Sheet" in done.stderr  # said while it waited


def test_short_program_started_during_an_outage_exits_with_its_rows_in_the_sheet(
    sheet: Any, tmp_path: Path
) -> None:
    sheet.g.outage(True, seconds=1.5)  # Google down before the program starts
    done, took = run_program(sheet, tmp_path)
    ids = sheet.column("event_id")
    assert sorted(ids) == sorted(set(ids)), done.stderr  # once each
    assert len(ids) == 56, done.stderr
    assert sheet.spilled() == []
    assert took < 15


@SLOW
def test_short_program_meeting_a_5_s_outage_exits_with_its_rows_in_the_sheet(
    sheet: Any, tmp_path: Path
) -> None:
    make_tab(sheet)
    sheet.g.outage(True, seconds=5)
    # Interpreter exit waits HILT_EXIT_TIMEOUT (5 s) in all: longer for this program.
    done, took = run_program(sheet, tmp_path, env={"HILT_EXIT_TIMEOUT": "20"})
    ids = sheet.column("event_id")
    assert sorted(ids) == sorted(set(ids)), done.stderr  # once each
    assert len(ids) == 56, done.stderr
    assert sheet.spilled() == []
    assert took < 20


def test_short_program_meeting_a_stopped_server_exits_with_its_rows_in_the_sheet(
    sheet: Any, tmp_path: Path
) -> None:
    make_tab(sheet)
    sheet.g.pause()  # connections refused
    threading.Timer(2.0, sheet.g.resume).start()
    done, took = run_program(sheet, tmp_path)
    ids = sheet.column("event_id")
    assert sorted(ids) == sorted(set(ids)), done.stderr  # once each
    assert len(ids) == 56, done.stderr
    assert sheet.spilled() == []
    assert took < 15


def test_short_program_meeting_a_long_outage_exits_within_the_budget_and_says_what_waits(
    sheet: Any, tmp_path: Path
) -> None:
    # Interpreter exit is bounded by HILT_EXIT_TIMEOUT (5 s) for everything: the Sheets
    # close gets what is left of it, not its close_timeout (30 s), and whatever it could
    # not send waits in the private spill file, counted in a WARNING naming the replay.
    make_tab(sheet)
    sheet.g.outage(True, seconds=60)
    done, took = run_program(sheet, tmp_path)
    assert took < 12  # the 5 s budget and the program's start, not 30 s
    assert sheet.column("event_id") == []
    assert len({r["event_id"] for r in sheet.spilled()}) == 56
    said = [line for line in done.stderr.splitlines() if "hilt sheets replay" in line]
    assert said, done.stderr
    assert "56 rows were not sent" in said[-1]
    assert "HILT_EXIT_TIMEOUT" in said[-1]
    assert os.stat(sheet.spill).st_mode & 0o777 == 0o600


def test_close_sends_from_memory_when_the_disk_is_full(sheet: Any, tmp_path: Path) -> None:
    make_tab(sheet)
    done, _ = run_program(sheet, tmp_path, extra={"file_size_limit": 0})
    assert len(sheet.column("event_id")) == 56, done.stderr
    assert "sending them from memory" in done.stderr


def test_rows_are_on_disk_while_close_retries(sheet: Any, make_prompt: Any) -> None:
    # The caller of close may wait less than the backend tries (the core's exit bound, a
    # close(timeout=...)): the rows must not be in memory only while it retries.
    session = sheet.instrument(retry_base=2, max_backoff=4, close_timeout=6)
    sheet.g.outage(True)
    events = [make_prompt(f"q{i}") for i in range(20)]
    for e in events:
        session.append(e)
    _wait_for(lambda: len(sheet.appends()) == 1)  # tried once; now in a 2-3 s pause
    assert session.close(timeout=0.8) is False  # gave up waiting; the backend goes on
    assert [r["event_id"] for r in sheet.spilled()] == [e.event_id for e in events]
    sheet.g.outage(False)
    _wait_for(lambda: len(sheet.rows()) == 20)  # the close that went on sent them
    _wait_for(lambda: sheet.spilled() == [])
    assert sheet.column("event_id") == [e.event_id for e in events]


def test_close_stops_at_close_timeout_and_counts_the_rows_left(
    sheet: Any, make_prompt: Any, caplog: pytest.LogCaptureFixture
) -> None:
    session = sheet.instrument(close_timeout=2, retry_base=0.2, max_backoff=0.4)
    sheet.g.outage(True)
    events = [make_prompt(f"q{i}") for i in range(7)]
    for e in events:
        session.append(e)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="hilt"):
        assert session.close(timeout=10) is False
    took = time.monotonic() - started
    assert 1.0 < took < 4.0  # it tried until about close_timeout, no longer
    assert len(sheet.spilled()) == 7
    final = [r.message for r in caplog.records if "at close" in r.message]
    assert final, caplog.text
    assert "7 rows were not sent" in final[-1]
    assert f"hilt sheets replay {sheet.spill}" in final[-1]
    tries = [r for r in sheet.g.requests if r.path != "/token" and r.status == 503]
    assert len(tries) >= 3  # retried during the close (id checks included), not one try


def test_close_after_a_permanent_error_does_not_wait(
    sheet: Any, make_prompt: Any, caplog: pytest.LogCaptureFixture
) -> None:
    session = sheet.instrument(close_timeout=5)
    sheet.g.unshare(sheet.sid, sheet.email)  # 403: retrying cannot help
    session.append(make_prompt("q"))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="hilt"):
        assert session.close() is False
    assert time.monotonic() - started < 2.5
    assert "1 rows were not sent" in caplog.text
    assert len(sheet.spilled()) == 1


def test_close_of_a_healthy_sheet_leaves_no_file_and_reads_no_ids(
    sheet: Any, make_prompt: Any
) -> None:
    session = sheet.instrument(flush_interval_sheets=60)  # the rows wait for the close
    events = [make_prompt(f"q{i}") for i in range(5)]
    for e in events:
        session.append(e)
    assert session.close() is True
    assert sheet.column("event_id") == [e.event_id for e in events]
    assert not sheet.spill.exists()
    assert sheet.requests("GET", "!C2:C") == []  # rows never sent need no id check


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
