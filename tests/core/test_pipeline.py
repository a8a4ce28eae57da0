"""The pipeline: the caller never waits on I/O, flush() waits for everything queued,
uninstrument()/exit flush, the bounded queue's policy, fork, and a silent stdout."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core import Event, Registry


def _event(text: str) -> Event:
    return Event(
        session_id="c", actor={"type": "human", "id": "u"}, action="prompt", content={"text": text}
    )


def _run(
    script: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_append_never_waits_for_the_backend(reg: Registry, memory: Any) -> None:
    memory.gate.clear()  # the backend hangs in its first write
    session = hilt.Session(backend="memory")
    session.append(_event("first"))
    assert memory.entered.wait(10)
    done = threading.Event()

    def app() -> None:
        for i in range(500):
            session.append(_event(f"e{i}"))
        done.set()

    threading.Thread(target=app, daemon=True).start()
    assert done.wait(10), "append() blocked on a hung backend"
    assert len(memory.events) == 0
    memory.gate.set()
    assert session.flush()
    assert memory.texts() == ["first"] + [f"e{i}" for i in range(500)]


def test_writes_are_batched(reg: Registry, memory: Any) -> None:
    memory.gate.clear()
    session = hilt.Session(backend="memory", batch_size=100)
    session.append(_event("first"))
    assert memory.entered.wait(10)
    for i in range(1000):
        session.append(_event(f"e{i}"))
    memory.gate.set()
    assert session.flush()
    assert len(memory.events) == 1001
    assert max(memory.batches) <= 100
    assert len(memory.batches) <= 12  # 1 + 1000/100 (+ a partial), not one per event


def test_flush_waits_for_everything_appended_before_it(reg: Registry, memory: Any) -> None:
    session = hilt.Session(backend="memory", flush_interval=5.0)
    for round_ in range(20):
        for i in range(50):
            session.append(_event(f"{round_}-{i}"))
        assert session.flush()
        assert len(memory.events) == 50 * (round_ + 1)
    assert memory.closes.count(True) == 20  # backend_close(flush_only=True) per flush


def test_flush_from_many_threads(reg: Registry, memory: Any) -> None:
    session = hilt.Session(backend="memory")
    errors: list[str] = []

    def worker(n: int) -> None:
        for i in range(200):
            session.append(_event(f"{n}-{i}"))
            if i % 50 == 49 and not session.flush():
                errors.append(f"flush failed in {n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert session.flush()
    assert errors == []
    assert sorted(memory.texts()) == sorted(f"{n}-{i}" for n in range(8) for i in range(200))


def test_uninstrument_flushes_and_closes(reg: Registry, memory: Any) -> None:
    session = hilt.instrument(backend="memory", providers=[], flush_interval=60)
    for i in range(2000):
        session.append(_event(f"e{i}"))
    hilt.uninstrument()
    assert len(memory.events) == 2000
    assert memory.closes[-1] is False
    assert not hilt.is_instrumented()


def test_session_context_manager_and_reopen(reg: Registry, memory: Any) -> None:
    with hilt.Session(backend="memory") as session:
        session.append(_event("a"))
    assert session.closed
    with pytest.raises(hilt.SessionError):
        session.append(_event("b"))
    session.open()
    session.append(_event("c"))
    assert session.close()
    assert memory.texts() == ["a", "c"]


def test_full_queue_drops_counts_warns_and_reports_in_the_log(
    reg: Registry, memory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    memory.gate.clear()
    session = hilt.Session(backend="memory", max_queue=5)
    session.append(_event("first"))
    assert memory.entered.wait(10)  # the writer holds "first" inside the hung backend
    for i in range(20):
        session.append(_event(f"e{i}"))
    assert session.stats["dropped"] == 15
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("dropped an event" in w and "queue is full" in w for w in warnings)
    memory.gate.set()
    assert session.flush()
    assert memory.texts()[:6] == ["first", "e0", "e1", "e2", "e3", "e4"]
    (report,) = [
        e for e in memory.events if (e.extensions or {}).get("error_code") == "hilt_dropped"
    ]
    assert report.action == "system"
    assert report.actor.type == "system"
    assert report.extensions is not None
    assert report.extensions["dropped"] == 15
    assert len(memory.events) == 7
    session.append(_event("later"))  # writing resumed: no new report
    assert session.flush()
    assert memory.texts()[-1] == "later"
    assert session.stats["dropped"] == 15
    assert session.close()  # not left to interpreter exit, which would report the drops


def test_a_reopened_session_keeps_its_queue_settings(reg: Registry, memory: Any) -> None:
    session = hilt.Session(backend="memory", max_queue=2)
    assert session.close()
    session.open()
    memory.gate.clear()
    session.append(_event("first"))
    assert memory.entered.wait(10)
    for i in range(5):
        session.append(_event(f"e{i}"))
    assert session.stats["dropped"] == 3
    memory.gate.set()
    assert session.close()


def test_a_forked_child_gets_a_working_writer(reg: Registry, tmp_path: Path) -> None:
    path = tmp_path / "fork.jsonl"
    session = hilt.instrument(filepath=path, providers=[], flush_interval=60)
    session.append(_event("parent-before"))
    assert session.flush()  # the parent's writer thread is running
    for i in range(100):
        session.append(_event(f"parent-queued-{i}"))  # still queued at fork time
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            for i in range(100):
                session.append(_event(f"child-{i}"))
            code = 0 if session.flush(timeout=30) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    session.append(_event("parent-after"))
    assert session.flush()
    texts = [json.loads(line)["content"]["text"] for line in path.read_bytes().splitlines()]
    expected = (
        ["parent-before", "parent-after"]
        + [f"parent-queued-{i}" for i in range(100)]
        + [f"child-{i}" for i in range(100)]
    )
    assert sorted(texts) == sorted(expected)  # each exactly once: no duplicates from the child


def test_interpreter_exit_without_uninstrument_writes_everything(tmp_path: Path) -> None:
    path = tmp_path / "exit.jsonl"
    result = _run(
        f"""
        import hilt
        session = hilt.instrument(filepath={str(path)!r}, providers=[], flush_interval=60)
        for i in range(20_000):
            session.append(hilt.Event(session_id="c", actor={{"type": "human", "id": "u"}},
                                      action="prompt", content={{"text": f"e{{i}}"}}))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = path.read_bytes().splitlines()
    assert len(lines) == 20_000
    assert {json.loads(line)["content"]["text"] for line in lines} == {
        f"e{i}" for i in range(20_000)
    }
    assert result.stdout == ""


def test_nothing_on_stdout_in_process(
    reg: Registry, memory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    memory.fail_writes = 1
    session = hilt.instrument(filepath=tmp_path / "a.jsonl", providers=[])
    session.append(_event("x"))
    session.flush()
    with pytest.raises(hilt.ConfigError):
        hilt.instrument(backend="nope", providers=[])
    failing = hilt.Session(backend="memory", max_queue=1)
    for i in range(5):
        failing.append(_event(f"{i}"))
    failing.close(timeout=5)
    hilt.uninstrument()
    assert capsys.readouterr().out == ""


def test_nothing_on_stdout_in_a_fresh_process(tmp_path: Path) -> None:
    result = _run(
        """
        import logging, hilt
        logging.basicConfig(level=logging.DEBUG)  # logs go to stderr, never stdout
        session = hilt.instrument(filepath="logs/app.jsonl", providers=[])
        session.append(hilt.Event(session_id="c", actor={"type": "human", "id": "u"},
                                  action="prompt", content={"text": "hi"}))
        session.flush()
        try:
            hilt.instrument(backend="nope")
        except hilt.ConfigError:
            pass
        hilt.uninstrument()
        """,
        tmp_path,
        env={"HILT_TRACE_PLUGINS": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "hook backend_write" in result.stderr
    assert (tmp_path / "logs" / "app.jsonl").exists()


def test_a_burst_that_outruns_a_healthy_writer_waits_instead_of_dropping(tmp_path: Path) -> None:
    session = hilt.Session(tmp_path / "burst.jsonl", max_queue=100, flush_interval=60)
    for i in range(5_000):
        session.append(_event(f"b{i}"))
    assert session.flush()
    assert session.stats["dropped"] == 0
    lines = (tmp_path / "burst.jsonl").read_bytes().splitlines()
    assert len(lines) == 5_000


def test_a_busy_application_thread_cannot_starve_the_writer(tmp_path: Path) -> None:
    # Like an app calling the OpenAI SDK in a loop with no network wait: CPU work, and the
    # GIL released only for an instant per call (os.urandom). Without the caller's
    # catch-up the writer got the GIL back so rarely that the queue held thousands of
    # events (and the SDK objects they refer to).
    session = hilt.Session(tmp_path / "busy.jsonl")
    queue = session._pipeline._queue
    peak = 0
    for i in range(3_000):
        session.append(_event(f"b{i}"))
        os.urandom(16)
        sum(range(3_000))
        peak = max(peak, len(queue))
    assert session.flush()
    assert peak <= 1_000, peak
    assert len((tmp_path / "busy.jsonl").read_bytes().splitlines()) == 3_000


def test_an_event_after_the_exit_flush_is_counted_as_dropped(tmp_path: Path) -> None:
    session = hilt.Session(tmp_path / "late.jsonl")
    session.append(_event("a"))
    session._pipeline.close()  # what the interpreter-exit flush does
    session.append(_event("late"))  # an atexit handler or a daemon thread, afterwards
    assert session.stats["dropped"] == 1


def test_close_keeps_retrying_a_backend_that_recovers_before_the_deadline(
    reg: Registry, memory: Any
) -> None:
    memory.fail_writes = 3  # fails three times, then recovers
    session = hilt.Session(backend="memory", flush_interval=60)
    for i in range(10):
        session.append(_event(f"c{i}"))
    assert session.close(timeout=10)
    assert [e.content.text for e in memory.events if e.content] == [f"c{i}" for i in range(10)]
