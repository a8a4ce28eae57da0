"""``backend=[...]`` (hilt_core/fanout.py) follows the rules of a single backend: one event
a backend cannot write costs that event only (items 1, 15), drops are counted to the end
(item 6), and at interpreter exit its retries fit in the one exit budget, with what is
not written counted (items 5, 9)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from textwrap import dedent

import pytest

import hilt
from hilt_core import Registry

from .conftest import Backend, event, lines, run, texts

STAND_IN = "HILT could not write this event; this one stands in"


def test_a_backend_of_the_list_that_cannot_encode_one_event_loses_only_that_one(
    reg: Registry, backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend.refuse = "poison"
    path = tmp_path / "all.jsonl"
    session = hilt.Session(backend=["faulty", "jsonl"], filepath=str(path), flush_interval=60)
    for i in range(100):
        session.append(event("poison" if i == 37 else f"e{i}"))
    assert session.flush(timeout=10)
    session.append(event("next batch"))
    assert session.flush(timeout=10)
    want = [f"e{i}" for i in range(100)]
    assert backend.texts() == [*want[:37], STAND_IN, *want[38:], "next batch"]
    stand_in = backend.events[37].extensions or {}
    assert stand_in["error_code"] == "hilt_unwritable"
    assert stand_in["replaced_action"] == "prompt"
    # The healthy backend of the list wrote everything, once.
    assert texts(path) == [*want[:37], "poison", *want[38:], "next batch"]
    stats = session.handle.stats["faulty"]
    assert stats["unwritable"] == 1
    assert stats["pending"] == 0
    assert any("cannot write event" in r.getMessage() for r in caplog.records)
    assert session.close(timeout=5)


def test_drops_of_a_failing_backend_of_the_list_are_counted_in_all_at_close(
    reg: Registry, backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend.fail = True
    path = tmp_path / "all.jsonl"
    session = hilt.Session(backend=["faulty", "jsonl"], filepath=str(path), max_queue=5)
    for i in range(20):
        session.append(event(f"e{i}"))
        session.flush(timeout=5)  # False while "faulty" fails: its backlog is kept
    assert texts(path) == [f"e{i}" for i in range(20)]
    dropped = session.handle.stats["faulty"]["dropped"]
    assert dropped == 15  # it keeps max_queue (5)
    with caplog.at_level(logging.WARNING, logger="hilt"):
        assert not session.close(timeout=5)
    said = [r.getMessage() for r in caplog.records]
    assert any("could not write 5 events to backend 'faulty'" in m for m in said), said
    assert any(f"dropped {dropped} events in all for backend 'faulty'" in m for m in said), said


# A backend defined in the script: every write fails, as a collector that is down does.
DOWN = """
import atexit, sys, time
T = [0.0]  # registered before HILT's exit handler, so it runs after it (LIFO)
atexit.register(lambda: sys.stderr.write(f"EXIT TOOK {time.monotonic() - T[0]:.2f}\\n"))
import hilt
from hilt_core import hookimpl

class Down:
    @hookimpl
    def backend_open(self, name, options):
        return self
    @hookimpl
    def backend_write(self, handle, events):
        raise OSError("the collector is down (injected)")
    @hookimpl
    def backend_close(self, handle, flush_only):
        pass

hilt.register_plugin(Down(), name="down")
"""


def test_at_exit_a_list_with_a_backend_down_fits_in_the_budget_and_counts_the_loss(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kept.jsonl"
    result = run(
        DOWN
        + dedent(f"""
        session = hilt.instrument(backend=["jsonl", "down"], filepath={str(path)!r},
                                  providers=[])
        for i in range(30):
            session.append(hilt.Event(session_id="c", actor={{"type": "human", "id": "u"}},
                                      action="prompt", content={{"text": f"e{{i}}"}}))
        T[0] = time.monotonic()
        """),
        tmp_path,
        env={"HILT_EXIT_TIMEOUT": "1"},
    )
    assert result.returncode == 0, result.stderr
    took = re.search(r"EXIT TOOK ([0-9.]+)", result.stderr)
    assert took, result.stderr
    assert float(took.group(1)) < 1.8  # the exit's 1 s, not the list's own 2 s of retries
    assert len(lines(path)) == 30
    assert "could not write 30 events to backend 'down' before closing" in result.stderr
