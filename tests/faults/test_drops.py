"""Item 6: drops are always reported (in the log file when writing resumes, even at close,
and their total in the hilt logger), and the queue is bounded by bytes as well as count."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

import hilt
from hilt_core import Registry

from .conftest import Backend, event, run


def test_drops_are_reported_when_the_backend_comes_back_only_at_close(
    reg: Registry, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    backend.fail = True
    session = hilt.Session(backend="faulty", max_queue=5)
    for i in range(20):
        session.append(event(f"e{i}"))
    assert not session.flush(timeout=5)
    assert session.stats["dropped"] > 0
    dropped = session.stats["dropped"]
    backend.fail = False  # back, just as the application closes
    assert session.close(timeout=5)
    reports = [
        e for e in backend.events if (e.extensions or {}).get("error_code") == "hilt_dropped"
    ]
    assert sum(e.extensions["dropped"] for e in reports if e.extensions) == dropped
    assert len(backend.events) == 20 - dropped + len(reports)
    totals = [r.getMessage() for r in caplog.records if "in all" in r.getMessage()]
    assert totals == [f"HILT dropped {dropped} events in all for backend 'faulty' (its queue "
                      "was full, or they came after close)"]  # fmt: skip


def test_events_appended_after_close_are_counted_in_the_final_total(
    reg: Registry, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    session = hilt.Session(backend="faulty")
    session.append(event("kept"))
    pipeline = session._pipeline
    assert pipeline.close(timeout=5)  # what interpreter exit does to an open session
    session.append(event("late"))  # an atexit handler or a daemon thread, afterwards
    assert session.stats["dropped"] == 1
    assert backend.texts() == ["kept"]
    assert any("dropped an event" in r.getMessage() for r in caplog.records)


def test_the_queue_is_bounded_by_bytes(reg: Registry, backend: Backend) -> None:
    backend.gate.clear()  # the backend hangs: nothing leaves the queue
    session = hilt.Session(backend="faulty", max_queue_bytes=5_000_000)
    session.append(event("first"))
    assert backend.entered.wait(10)
    big = "x" * 100_000
    for i in range(400):
        session.append(event(f"{i} {big}"))
    # The first 256 queued count by number only (a healthy writer keeps the queue
    # shorter, and the application's call pays nothing below that). Past them one event
    # in 16 is measured for the 16: three such samples (4.8 MB) fit in 5 MB, the fourth
    # does not, and from then on every event is dropped.
    assert session._pipeline._queued_bytes <= 5_000_000
    assert 400 - 256 - 4 * 16 <= session.stats["dropped"] <= 400 - 256 - 3 * 16
    backend.gate.set()
    assert session.flush(timeout=10)
    assert session._pipeline._queued_bytes == 0
    assert len(backend.events) == 1 + 400 - session.stats["dropped"] + 1  # + the report
    session.append(event("room again"))  # the writer made room: events are queued again
    assert session.close(timeout=5)
    assert backend.texts()[-1] == "room again"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/self/status")
def test_big_events_behind_a_hanging_backend_do_not_take_the_memory(tmp_path: Path) -> None:
    # 5,000 events of 100 KB each (the application lets each go after append): 500 MB if
    # the queue kept them all, as it did when it was bounded by count only.
    result = run(
        """
        import threading
        import hilt
        from hilt_core import hookimpl

        class Hanging:
            @hookimpl
            def backend_open(self, name, options):
                return self
            @hookimpl
            def backend_write(self, handle, events):
                threading.Event().wait()

        hilt.register_plugin(Hanging(), name="hanging")
        session = hilt.Session(backend="hanging")
        for i in range(5_000):
            text = str(i) + "x" * 100_000
            session.append(hilt.Event(session_id="c", actor={"type": "human", "id": "u"},
                                      action="prompt", content={"text": text}))
        # The peak of this program's own memory (ru_maxrss would count the test runner's
        # memory too: Linux keeps it across the fork and exec that started us).
        status = open("/proc/self/status").read()
        rss = int(status.split("VmHWM:")[1].split()[0]) // 1024
        print(rss, session.stats["dropped"])
        import os
        os._exit(0)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rss_mb, dropped = (int(x) for x in result.stdout.split())
    assert rss_mb < 250, f"{rss_mb} MB resident"
    assert dropped > 3_500  # kept: 256 before the byte bound applies, 64 MiB, one batch
    assert re.search(r"dropped an event .* max_queue_bytes", result.stderr), result.stderr
    logging.getLogger("hilt").debug("peak %d MB", rss_mb)
