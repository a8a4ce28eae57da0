"""A process forked while HILT's writer thread prices events can still price its own.

The pricer takes a lock on the writer thread when it meets a model it has not priced yet.
``os.fork()`` copies that lock as it is; if the parent's writer held it at that moment,
the child's writer would wait for it forever (the thread holding it does not exist in the
child), and the child's events would never be written.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import hilt
from hilt import Event

FORKS = 12
CHILD_SECONDS = 20.0  # a child that hangs is killed after this


def _completion(model: str) -> Event:
    return Event(
        session_id="conv_0123456789ab",
        actor={"type": "agent", "id": "gateway"},
        action="completion",
        content={"text": model},
        metrics={"tokens": {"prompt": 10, "completion": 2, "total": 12}},
        extensions={"model": model, "provider": "openai"},
    )


def _child(session: hilt.Session, n: int) -> None:
    """In the forked child: write one event that needs a new price lookup, then exit."""
    code = 1
    try:
        session.append(_completion(f"child-model-{n}"))
        code = 0 if session.flush(timeout=CHILD_SECONDS / 2) else 2
    finally:
        os._exit(code)


def _wait(pid: int) -> int | None:
    """The child's exit code, or None if it did not finish in time (it is killed)."""
    deadline = time.monotonic() + CHILD_SECONDS
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_while_the_writer_prices_writes_its_own_events(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="hilt")  # no warning per unknown model
    log = tmp_path / "x.jsonl"
    session = hilt.instrument(filepath=log, providers=[], flush_interval=0.005)
    session.append(_completion("gpt-4o-mini"))  # the first call: the writer runs
    assert session.flush(timeout=60)

    # The writer prices events in a loop, each of a model not seen before: each takes the
    # pricer's slow path, under its lock.
    stop = threading.Event()

    def feed() -> None:
        i = 0
        while not stop.is_set():
            session.append(_completion(f"parent-model-{i}"))
            i += 1
            if i % 64 == 0:
                time.sleep(0.001)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    results: dict[int, int | None] = {}
    try:
        for n in range(FORKS):
            time.sleep(0.01 + 0.003 * n)
            pid = os.fork()
            if pid == 0:
                _child(session, n)
            results[n] = _wait(pid)
            if results[n] != 0:
                break  # one hung child proves it; the others would take as long
    finally:
        stop.set()
        feeder.join(timeout=10)
    assert session.flush(timeout=60)

    assert results == dict.fromkeys(range(FORKS), 0), (
        "children that hung (None) or could not write (2): "
        f"{ {n: rc for n, rc in results.items() if rc != 0} }"
    )
    written = {
        json.loads(line)["content"]["text"]: json.loads(line)["metrics"]
        for line in log.read_text().splitlines()
    }
    for n in range(FORKS):
        metrics = written[f"child-model-{n}"]
        assert "child-model" in metrics["cost_unknown_reason"]  # the child priced it
