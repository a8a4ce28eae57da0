"""Items 5 and 9: every way out is bounded (close by its timeout, interpreter exit by one
budget for all sessions together), and every event not written is counted in an ERROR;
one close policy for every backend."""

from __future__ import annotations

import fcntl
import logging
import re
import threading
import time
from pathlib import Path
from textwrap import dedent

import pytest

import hilt
from hilt_core import Registry

from .conftest import Backend, event, lines, run, texts

# A backend plugin defined in the script itself: its writes never return (a network
# call without a timeout), as a third-party backend's can.
HANGING = """
import atexit, sys, threading, time
import hilt
from hilt_core import hookimpl

class Hanging:
    @hookimpl
    def backend_open(self, name, options):
        return self
    @hookimpl
    def backend_write(self, handle, events):
        threading.Event().wait()
    @hookimpl
    def backend_close(self, handle, flush_only):
        pass

hilt.register_plugin(Hanging(), name="hanging")
"""

# Registered first, so it runs last (atexit is LIFO): the time HILT's exit took.
TIMER = """
import atexit, sys, time
T = [0.0]
atexit.register(lambda: sys.stderr.write(f"EXIT TOOK {time.monotonic() - T[0]:.2f}\\n"))
"""


def _exit_seconds(stderr: str) -> float:
    found = re.search(r"EXIT TOOK ([0-9.]+)", stderr)
    assert found, stderr
    return float(found.group(1))


def test_hanging_backends_at_exit_cost_one_budget_in_all_and_are_counted(tmp_path: Path) -> None:
    result = run(
        TIMER
        + HANGING
        + dedent("""
        sessions = [hilt.Session(backend="hanging") for _ in range(3)]
        for s in sessions:
            for i in range(100):
                s.append(hilt.Event(session_id="c", actor={"type": "human", "id": "u"},
                                    action="prompt", content={"text": f"e{i}"}))
        time.sleep(0.5)  # each writer is inside its hanging write
        T[0] = time.monotonic()
        """),
        tmp_path,
        env={"HILT_EXIT_TIMEOUT": "3"},
    )
    assert result.returncode == 0, result.stderr
    # One budget for the three sessions (3 s), not one each (9 s; 30 s before).
    assert _exit_seconds(result.stderr) < 6
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:hilt")]
    assert len(errors) == 3, result.stderr
    assert all("gave up on 100 events for backend 'hanging'" in e for e in errors)


@pytest.mark.slow
def test_a_file_lock_held_at_exit_is_bounded_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "locked.jsonl"
    result = run(
        TIMER
        + dedent(f"""
        import fcntl, subprocess
        path = {str(path)!r}
        holder = subprocess.Popen(
            [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
             "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)", path],
            stdout=subprocess.PIPE)
        atexit.register(holder.kill)  # runs after HILT's exit flush
        holder.stdout.readline()
        import hilt
        sessions = [hilt.Session(path) for _ in range(3)]
        for s in sessions:
            for i in range(200):
                s.append(hilt.Event(session_id="c", actor={{"type": "human", "id": "u"}},
                                    action="prompt", content={{"text": f"e{{i}}"}}))
        T[0] = time.monotonic()
        """),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert _exit_seconds(result.stderr) < 8  # 30 s before, with no message
    lost = re.findall(r"could not write (\d+) events to backend 'jsonl'", result.stderr)
    assert [int(n) for n in lost] == [200, 200, 200], result.stderr
    assert "locked by another process" in result.stderr


def test_flush_without_a_timeout_returns_while_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "held.jsonl"
    session = hilt.Session(path)
    session.append(event("first"))
    assert session.flush()
    answers: list[bool] = []
    with path.open("a") as other:  # another open file description: another flock owner
        fcntl.flock(other, fcntl.LOCK_EX)
        session.append(event("second"))
        # No timeout given: flush() must not wait as long as the lock is held.
        flushing = threading.Thread(target=lambda: answers.append(session.flush()))
        flushing.start()
        flushing.join(15)
    flushing.join(30)
    assert answers == [False], "flush() waited for the lock to be released"
    assert session.flush()  # the lock is free: the kept event is written
    assert texts(path) == ["first", "second"]


@pytest.mark.slow
def test_flush_without_a_timeout_gives_up_on_a_backend_that_hangs(
    reg: Registry, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    from hilt_core.pipeline import STALL_SECONDS

    backend.gate.clear()  # every write hangs until the test lets it go
    session = hilt.Session(backend="faulty")
    session.append(event("stuck"))
    started = time.monotonic()
    assert not session.flush()
    assert STALL_SECONDS <= time.monotonic() - started < STALL_SECONDS + 5
    assert any("flush() gave up" in r.getMessage() for r in caplog.records)
    backend.gate.set()
    assert session.flush(timeout=10)
    assert backend.texts() == ["stuck"]


def test_uninstrument_on_a_failing_backend_is_bounded_and_counts_what_is_lost(
    reg: Registry, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    backend.fail = True
    session = hilt.instrument(backend="faulty", providers=[])
    for i in range(50):
        session.append(event(f"e{i}"))
    assert not session.flush(timeout=5)  # failing: answered at once, events kept
    started = time.monotonic()
    hilt.uninstrument()
    assert time.monotonic() - started < 5.5  # the close timeout, documented (8 s before)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("could not write 50 events to backend 'faulty' before closing" in e for e in errors)
    assert session.stats["lost"] == 50


def test_close_gets_the_events_out_when_the_backend_comes_back_in_time(
    reg: Registry, backend: Backend
) -> None:
    backend.fail = True
    session = hilt.Session(backend="faulty")
    for i in range(50):
        session.append(event(f"e{i}"))
    assert not session.flush(timeout=5)

    def recover() -> None:
        time.sleep(1.0)
        backend.fail = False

    threading.Thread(target=recover).start()
    assert session.close(timeout=5)
    assert backend.texts() == [f"e{i}" for i in range(50)]


@pytest.mark.slow
def test_close_does_not_wait_for_a_backend_that_has_been_down_for_long(
    reg: Registry, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    backend.fail = True
    session = hilt.Session(backend="faulty")
    session.append(event("e"))
    assert not session.flush(timeout=5)
    time.sleep(3.0)  # down for 3 s already, longer than the close below could wait
    started = time.monotonic()
    assert not session.close(timeout=2)
    assert time.monotonic() - started < 1.0  # one more try, then the report
    assert any("could not write 1 events" in r.getMessage() for r in caplog.records)


def test_a_stream_open_at_exit_is_written_inside_the_budget_whatever_was_imported_first(
    tmp_path: Path,
) -> None:
    # A stream still open at exit is written as a partial answer, before the last flush.
    # The order of atexit handlers must not decide it: here the provider contract's
    # module is imported before any session opens (a plugin imported by the app first).
    from hilt_anthropic.testing import FakeAnthropic

    path = tmp_path / "exit.jsonl"
    with FakeAnthropic() as srv:
        result = run(
            TIMER
            + dedent(f"""
            import hilt_core.provider
            import anthropic, hilt
            hilt.instrument(filepath={str(path)!r}, providers=["anthropic"])
            client = anthropic.Anthropic(base_url={srv.base_url!r}, api_key="k")
            stream = client.messages.create(model="m", max_tokens=50, stream=True,
                messages=[{{"role": "user", "content": "left open at exit"}}])
            next(iter(stream)); next(iter(stream))
            T[0] = time.monotonic()
            """),
            tmp_path,
            env={"HILT_EXIT_TIMEOUT": "2"},
        )
    assert result.returncode == 0, result.stderr
    assert _exit_seconds(result.stderr) < 3
    logged = lines(path)
    assert [d["action"] for d in logged] == ["prompt", "completion"], result.stderr
    assert logged[1]["extensions"]["stream_end"] == "exit"
    assert logged[1]["extensions"]["partial"] is True
    assert "dropped" not in result.stderr
