"""Several backends at once (``backend=["jsonl", "otel"]``): every backend gets every
event once, in order; a failing one keeps its own events and retries them without
holding up or duplicating into the healthy ones; per-backend options; the session's
attributes and reading follow the first backend. In-code test backends only."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

import hilt
from hilt_core import ConfigError, Event, Registry, hookimpl
from hilt_core.session import Session

from .conftest import MemoryBackend


def _texts(events: list[Event]) -> list[str | None]:
    return [e.content.text if e.content else None for e in events]


def _flushed(session: Session, within: float = 15.0) -> bool:
    """Flush until it succeeds: a recovered backend is retried once its backoff is over
    (at most a few seconds here)."""
    deadline = time.monotonic() + within
    while not session.flush():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def two(reg: Registry) -> tuple[MemoryBackend, MemoryBackend]:
    """Two in-code backends, "healthy" and "flaky" (each its own plugin)."""
    healthy, flaky = MemoryBackend(), MemoryBackend()
    hilt.register_plugin(healthy, name="healthy")
    hilt.register_plugin(flaky, name="flaky")
    return healthy, flaky


def test_every_backend_gets_every_event_once_in_order(
    two: tuple[MemoryBackend, MemoryBackend], make_event: Any
) -> None:
    healthy, flaky = two
    session = hilt.Session(backend=["healthy", "flaky"])
    for i in range(300):
        session.append(make_event(f"e{i}"))
    assert session.flush()
    want = [f"e{i}" for i in range(300)]
    assert healthy.texts() == want
    assert flaky.texts() == want
    assert session.backend == "healthy"
    assert session.backends == ["healthy", "flaky"]
    assert session.close()
    assert healthy.closes[-1] is False
    assert flaky.closes[-1] is False


def test_a_failing_backend_neither_blocks_nor_duplicates_into_the_healthy_one(
    two: tuple[MemoryBackend, MemoryBackend], make_event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    healthy, flaky = two
    session = hilt.Session(backend=["flaky", "healthy"], flush_interval=0.05)
    flaky.fail_writes = 1_000_000  # down until the test says otherwise
    with caplog.at_level(logging.ERROR, logger="hilt"):
        for i in range(100):
            session.append(make_event(f"e{i}"))
        assert session.flush() is False  # the flaky backend is behind: flush says so
        for i in range(100, 200):
            session.append(make_event(f"e{i}"))
        session.flush()
    want = [f"e{i}" for i in range(200)]
    assert healthy.texts() == want  # written at once, each event exactly once
    assert flaky.texts() == []
    assert any("'flaky' failed to write" in r.getMessage() for r in caplog.records)
    assert session.handle.stats["flaky"]["pending"] == 200
    flaky.fail_writes = 0
    for i in range(200, 210):
        session.append(make_event(f"e{i}"))
    assert _flushed(session)
    want = [f"e{i}" for i in range(210)]
    assert flaky.texts() == want  # the kept events, in order, then the new ones
    assert healthy.texts() == want  # nothing written twice
    assert session.stats["write_errors"] == 0  # the pipeline never saw a failure
    assert session.close()


def test_a_backend_down_for_good_has_a_bounded_backlog_and_reports_what_it_lost(
    two: tuple[MemoryBackend, MemoryBackend], make_event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    healthy, flaky = two
    session = hilt.Session(backend=["healthy", "flaky"], max_queue=50, flush_interval=0.05)
    flaky.fail_writes = 1_000_000
    with caplog.at_level(logging.WARNING, logger="hilt"):
        for i in range(120):
            session.append(make_event(f"e{i}"))
            if i % 20 == 19:
                session.flush()
        session.flush()
        stats = session.handle.stats["flaky"]
        assert stats["pending"] == 50  # the newest 50; the oldest were dropped, counted
        assert stats["dropped"] == 70
        assert session.close(timeout=10) is False
    assert len(healthy.events) == 120
    msgs = [r.getMessage() for r in caplog.records]
    assert any("dropped" in m and "'flaky'" in m for m in msgs)
    assert any("could not write 50 events to backend 'flaky'" in m for m in msgs)


def test_a_recovered_backend_is_told_how_many_events_it_missed(
    two: tuple[MemoryBackend, MemoryBackend], make_event: Any
) -> None:
    _healthy, flaky = two
    session = hilt.Session(backend=["healthy", "flaky"], max_queue=20, flush_interval=0.05)
    flaky.fail_writes = 1_000_000
    for i in range(30):
        session.append(make_event(f"e{i}"))
        session.flush()
    flaky.fail_writes = 0
    session.append(make_event("after"))
    assert _flushed(session)
    report = [e for e in flaky.events if e.extensions and e.extensions.get("dropped")]
    assert len(report) == 1
    # 31 events for a backlog of 20: the 11 oldest were dropped, the newest 20 kept.
    assert report[0].extensions == {"error_code": "hilt_dropped", "dropped": 11}
    assert report[0].action == "system"
    assert flaky.events[0] is report[0]
    assert _texts(flaky.events[1:]) == [f"e{i}" for i in range(11, 30)] + ["after"]
    session.close()


def test_one_backend_failing_to_close_leaves_the_others_closed(
    two: tuple[MemoryBackend, MemoryBackend], make_event: Any, caplog: pytest.LogCaptureFixture
) -> None:
    healthy, flaky = two
    flaky.fail_close = True
    session = hilt.Session(backend=["flaky", "healthy"])
    session.append(make_event("x"))
    with caplog.at_level(logging.WARNING, logger="hilt"):
        assert session.close() is False
    assert healthy.closes == [False]
    assert flaky.closes == [False]
    assert healthy.texts() == ["x"]
    assert flaky.texts() == ["x"]
    assert any("'flaky'" in r.getMessage() for r in caplog.records)


class OwnOptions(MemoryBackend):
    HILT_OPTIONS: ClassVar[dict[str, str]] = {"own_knob": "An option of this backend only."}


def test_each_backend_gets_its_own_options(reg: Registry, tmp_path: Path, make_event: Any) -> None:
    mem = OwnOptions()
    hilt.register_plugin(mem, name="mem")
    path = tmp_path / "log.jsonl"
    session = hilt.instrument(
        backend=["jsonl", "mem"],
        filepath=path,
        own_knob=1,  # a keyword only "mem" declares is accepted with a list
        backend_options={"mem": {"columns": ["message"], "own_knob": 2}},
        providers=[],
    )
    assert session.filepath == path  # the first backend's file
    assert mem.opened[0]["columns"] == ["message"]
    assert mem.opened[0]["own_knob"] == 2
    assert session.options["columns"] is None  # the JSONL file writes whole events
    session.append(make_event("hello"))
    hilt.uninstrument()
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["content"]["text"] == "hello"
    assert mem.texts() == ["hello"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": []}, "names no backend"),
        ({"backend": ["healthy", "healthy"]}, "more than once"),
        ({"backend": ["jsonl", "local"]}, "more than once"),
        ({"backend": ["healthy", "nope"]}, "Unknown HILT backend 'nope'"),
        ({"backend": ["healthy", "flaky"], "mode": "r"}, "one backend"),
        ({"backend": "healthy", "backend_options": {"healthy": {}}}, "list of backends"),
        ({"backend": ["healthy"], "backend_options": {"other": {}}}, "'other' is not"),
        ({"backend": ["healthy"], "backend_options": {"healthy": {"capture": "hash"}}}, "whole"),
        ({"backend": ["jsonl"], "backend_options": {"jsonl": {"nope": 1}}}, "'nope'"),
        ({"backend": ["healthy"], "backend_options": {"healthy": 3}}, "a dict"),
        ({"backend": ["jsonl"], "no_such_option": 1}, "'no_such_option'"),
    ],
)
def test_bad_lists_and_backend_options_are_config_errors(
    two: tuple[MemoryBackend, MemoryBackend], kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        Session(**kwargs)


class RefusingOpen(MemoryBackend):
    @hookimpl
    def backend_open(self, name: str, options: Mapping[str, Any]) -> object:
        raise ConfigError("no way (injected)")


def test_a_backend_that_cannot_open_fails_the_session_and_closes_the_others(
    two: tuple[MemoryBackend, MemoryBackend],
) -> None:
    healthy, _ = two
    hilt.register_plugin(RefusingOpen(), name="refusing")
    with pytest.raises(ConfigError, match="no way"):
        hilt.instrument(backend=["healthy", "refusing"], providers=[])
    assert not hilt.is_instrumented()
    assert healthy.closes == [False]  # the one already open was released


def test_reading_and_reopening_follow_the_list(
    reg: Registry, tmp_path: Path, two: tuple[MemoryBackend, MemoryBackend], make_event: Any
) -> None:
    healthy, _ = two
    path = tmp_path / "log.jsonl"
    session = Session(backend=["jsonl", "healthy"], filepath=path)
    session.append(make_event("one"))
    assert _texts(list(session.read())) == ["one"]  # read from the first backend
    assert session.close()
    session.open()
    assert session.backends == ["jsonl", "healthy"]
    session.append(make_event("two"))
    assert session.close()
    assert healthy.texts() == ["one", "two"]
    assert [json.loads(x)["content"]["text"] for x in path.read_text().splitlines()] == [
        "one",
        "two",
    ]
    assert "jsonl" in repr(session)


FORK = """
import os, sys
import hilt
from hilt_core import Actor, Content, Event, hookimpl

class Flaky:
    down = True

    @hookimpl
    def backend_open(self, name, options):
        return self

    @hookimpl
    def backend_write(self, handle, events):
        if self.down:
            raise OSError("down (injected)")
        with open(sys.argv[1], "a") as f:
            for e in events:
                f.write(f"{os.getpid()} {e.content.text}\\n")

    @hookimpl
    def backend_close(self, handle, flush_only):
        pass

flaky = Flaky()
hilt.register_plugin(flaky, name="flaky")
session = hilt.Session(backend=["jsonl", "flaky"], filepath=sys.argv[2])
def event(text):
    return Event(session_id="c", actor=Actor(type="human", id="u"), action="prompt",
                 content=Content(text=text))
session.append(event("before"))
session.flush()  # jsonl has it; flaky keeps it in its backlog
flaky.down = False
pid = os.fork()
if pid == 0:
    session.append(event("child"))
    session.close()
    os._exit(0)
os.waitpid(pid, 0)
session.append(event("parent"))
session.close()
print(os.getpid())
"""


def test_a_backlog_kept_before_a_fork_is_written_by_the_parent_only(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FORK), str(tmp_path / "f"), str(tmp_path / "j")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    parent = out.stdout.strip()
    lines = (tmp_path / "f").read_text().splitlines()
    written = sorted(
        ("parent" if pid == parent else "child", text)
        for pid, text in (line.split() for line in lines)
    )
    assert written == [("child", "child"), ("parent", "before"), ("parent", "parent")]
