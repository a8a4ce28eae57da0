"""Slow, rate-limited, failing and unreachable Sheets: the caller never waits, and no row is
lost or silently duplicated. The fake's latency / quota / outage / lost-answer knobs drive
each case; the rows are checked in the fake's grid."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

import hilt


def test_llm_call_stays_fast_while_sheets_is_slow(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    sheet.g.latency = 2.0  # every API answer takes two seconds
    events = [make_prompt(f"q{i}") for i in range(200)]
    started = time.perf_counter()
    for e in events:
        session.append(e)
    caller_time = time.perf_counter() - started
    assert caller_time < 1.0  # coarse: 200 appends on the caller's path
    assert session.flush() is True
    assert sheet.column("event_id") == [e.event_id for e in events]
    assert len(sheet.appends()) <= 2


def test_heavy_traffic_is_batched_under_the_write_quota(sheet: Any, make_prompt: Any) -> None:
    assert sheet.g.write_quota_per_minute == 60  # Google's per-user limit
    session = sheet.instrument(writes_per_minute=120)  # one write every 0.5 s at most
    started = time.monotonic()
    events = []
    for burst in range(15):
        for i in range(200):
            events.append(make_prompt(f"b{burst}-{i}"))
            session.append(events[-1])
        time.sleep(0.1)
    assert session.flush() is True
    elapsed = time.monotonic() - started
    assert sheet.column("event_id") == [e.event_id for e in events]
    writes = [r for r in sheet.g.requests if r.method != "GET" and r.path != "/token"]
    assert [r.status for r in writes if r.status == 429] == []
    appends = len(sheet.appends())
    assert appends <= elapsed / 0.5 + 2  # paced: one write per 0.5 s at most
    assert appends < 15  # 3000 rows in a handful of appends
    defaults = hilt.instrument(backend="sheets", **sheet.options(writes_per_minute=None))
    assert defaults.handle.settings.write_spacing == 2.0  # 30 writes a minute by default


def test_429_and_5xx_are_retried_with_backoff(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    sheet.g.fail_next(429, times=2, kind="write")
    sheet.g.fail_next(503, times=1, kind="write")
    sheet.g.fail_next(500, times=1, kind="write")
    events = [make_prompt(f"q{i}") for i in range(5)]
    for e in events:
        session.append(e)
    assert session.flush() is True
    assert [r.status for r in sheet.appends()] == [429, 429, 503, 500, 200]
    assert sheet.column("event_id") == [e.event_id for e in events]
    assert session.handle.stats["retries"] == 4
    assert session.handle.stats["spilled"] == 0


def test_quota_exhausted_for_long_spills_then_replays(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(max_retries=2)
    sheet.g.write_quota_per_minute = 0  # every write answered 429 RESOURCE_EXHAUSTED
    events = [make_prompt(f"q{i}") for i in range(3)]
    for e in events:
        session.append(e)
    assert session.flush() is False
    assert [r.status for r in sheet.appends()] == [429, 429, 429]  # first try + 2 retries
    assert len(sheet.spilled()) == 3
    sheet.g.write_quota_per_minute = 60  # the minute is over
    assert session.flush() is True
    assert sheet.column("event_id") == [e.event_id for e in events]


def test_lost_answer_is_not_duplicated(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    sheet.g.lose_next_response(kind="write")  # the append lands, its answer never comes
    events = [make_prompt(f"q{i}") for i in range(4)]
    for e in events:
        session.append(e)
    assert session.flush() is True
    assert sheet.column("event_id") == [e.event_id for e in events]  # once each
    assert sheet.g.append_count == 1
    id_reads = sheet.requests("GET", "!C2:C")  # event_id is column C
    assert len(id_reads) == 1
    assert session.handle.stats["skipped_duplicates"] == 4


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_for_an_applied_append_is_not_duplicated(
    sheet: Any, make_prompt: Any, status: int
) -> None:
    session = sheet.instrument()
    sheet.g.fail_next(status, kind="write", applied=True)  # in the sheet, answered 5xx
    events = [make_prompt(f"q{i}") for i in range(56)]
    for e in events:
        session.append(e)
    assert session.flush() is True
    assert sheet.column("event_id") == [e.event_id for e in events]  # once each
    assert session.handle.stats["skipped_duplicates"] == 56
    assert len(sheet.requests("GET", "!C2:C")) == 1  # looked before sending again


def test_429_is_retried_without_an_id_check(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    sheet.g.fail_next(429, kind="write")  # refused: nothing was written
    events = [make_prompt(f"q{i}") for i in range(3)]
    for e in events:
        session.append(e)
    assert session.flush() is True
    assert sheet.column("event_id") == [e.event_id for e in events]
    assert sheet.requests("GET", "!C2:C") == []


def test_no_row_lost_across_an_outage_and_a_restart(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    before = [make_prompt(f"before {i}") for i in range(3)]
    for e in before:
        session.append(e)
    assert session.flush()

    sheet.g.outage(True)
    during = [make_prompt(f"during {i}") for i in range(30)]
    for e in during:
        session.append(e)
    assert session.flush() is False  # kept on disk, not in the sheet
    assert session.close() is False
    assert [r["event_id"] for r in sheet.spilled()] == [e.event_id for e in during]
    assert sheet.column("event_id") == [e.event_id for e in before]

    sheet.g.outage(False)
    restarted = sheet.instrument()  # a new process would do the same: the spill is replayed
    after = make_prompt("after")
    restarted.append(after)
    assert restarted.flush() is True
    expected = [e.event_id for e in [*before, *during, after]]
    assert sheet.column("event_id") == expected  # all present, once, in order
    assert not sheet.spill.exists()
    assert restarted.handle.stats["replayed"] == 30


def test_lost_answer_then_restart_is_not_duplicated(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(max_retries=0)  # give up at once: the rows go to the spill
    sheet.g.lose_next_response(kind="write")
    events = [make_prompt(f"q{i}") for i in range(5)]
    for e in events:
        session.append(e)
    assert session.flush() is False
    assert len(sheet.spilled()) == 5  # they may or may not have landed: kept to be sure
    assert sheet.g.append_count == 1  # they did land
    sheet.g.outage(True)
    session.close()  # still down: the next process finds them in the spill

    sheet.g.outage(False)
    restarted = sheet.instrument()
    assert restarted.flush() is True
    assert sheet.column("event_id") == [e.event_id for e in events]
    assert restarted.handle.stats["skipped_duplicates"] == 5
    assert sheet.spilled() == []


def test_revoked_share_spills_then_replays_when_shared_again(
    sheet: Any, make_prompt: Any, caplog: pytest.LogCaptureFixture
) -> None:
    session = sheet.instrument()
    first = [make_prompt(f"first {i}") for i in range(3)]
    for e in first:
        session.append(e)
    assert session.flush()

    sheet.g.unshare(sheet.sid, sheet.email)
    blocked = [make_prompt(f"blocked {i}") for i in range(4)]
    with caplog.at_level(logging.ERROR, logger="hilt"):
        for e in blocked:
            session.append(e)
        assert session.flush() is False
    assert f"Share the sheet with {sheet.email}" in caplog.text
    assert [r["event_id"] for r in sheet.spilled()] == [e.event_id for e in blocked]
    assert session.handle.stats["down"] is True
    assert sheet.email in session.handle.stats["last_error"]

    sheet.g.share(sheet.sid, sheet.email)
    last = make_prompt("after re-share")
    session.append(last)
    assert session.flush() is True
    assert sheet.column("event_id") == [e.event_id for e in [*first, *blocked, last]]
    assert sheet.spilled() == []


def test_rows_spill_while_down_and_come_back_without_a_flush(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(max_retries=1)
    sheet.g.outage(True, drop=True)  # connections closed unanswered
    events = [make_prompt(f"q{i}") for i in range(6)]
    for e in events:
        session.append(e)
    _wait_for(lambda: len(sheet.spilled()) == 6)
    sheet.g.outage(False)
    _wait_for(lambda: len(sheet.rows()) == 6)  # the thread probes again by itself
    assert sheet.column("event_id") == [e.event_id for e in events]
    assert session.flush() is True


def test_unreachable_at_start_starts_degraded(sheet: Any, make_prompt: Any) -> None:
    sheet.g.outage(True)
    session = sheet.instrument()  # no error: the app starts, rows wait on disk
    e = make_prompt("early")
    session.append(e)
    assert session.flush() is False
    assert [r["event_id"] for r in sheet.spilled()] == [e.event_id]
    sheet.g.outage(False)
    assert session.flush() is True
    assert sheet.column("event_id") == [e.event_id]


def test_close_does_not_wait_for_a_hung_request(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(close_timeout=0.3)
    sheet.g.latency = 3.0
    events = [make_prompt(f"q{i}") for i in range(3)]
    for e in events:
        session.append(e)
    time.sleep(0.2)  # the append is on the wire
    started = time.monotonic()
    session.close()
    assert time.monotonic() - started < 2.0  # not the 3 s the request takes
    assert [r["event_id"] for r in sheet.spilled()] == [e.event_id for e in events]

    _wait_for(lambda: sheet.g.append_count == 1)  # the hung request lands after all
    sheet.g.latency = 0
    restarted = sheet.instrument()
    assert restarted.flush() is True
    assert sheet.column("event_id") == [e.event_id for e in events]  # not twice


def test_spill_keeps_only_the_configured_columns(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(columns=["timestamp", "action"])
    sheet.g.outage(True)
    session.append(make_prompt("private words"))
    assert session.flush() is False
    (row,) = sheet.spilled()
    assert set(row) == {"timestamp", "action", "event_id"}


def test_two_sessions_share_a_spill_without_duplicates(sheet: Any, make_prompt: Any) -> None:
    opts = sheet.options()
    opts.pop("providers")
    sheet.g.outage(True)
    a = hilt.Session(backend="sheets", **opts)
    b = hilt.Session(backend="sheets", **opts)
    rows_a = [make_prompt(f"a{i}") for i in range(5)]
    rows_b = [make_prompt(f"b{i}") for i in range(5)]
    for x, y in zip(rows_a, rows_b, strict=True):
        a.append(x)
        b.append(y)
    a.flush()
    b.flush()
    sheet.g.outage(False)
    threads = [threading.Thread(target=s.flush) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _wait_for(lambda: len(sheet.rows()) == 10)
    a.close()
    b.close()
    ids = sheet.column("event_id")
    assert sorted(ids) == sorted(e.event_id for e in rows_a + rows_b)
    assert [i for i in ids if i in {e.event_id for e in rows_a}] == [e.event_id for e in rows_a]


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
