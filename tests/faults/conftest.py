"""The fault-injection suite: every fault is injected for real (RLIMIT_FSIZE, SIGTERM,
SIGKILL-free forks, multiprocessing children, a backend that hangs, a file lock held by
another process) and every test checks what a user would: the log file, its validity
against the schema, and what the ``hilt`` logger said.

Tests marked ``slow`` run only with ``HILT_SLOW_TESTS=1`` (CI runs them in a step of
their own); the others run with every ``pytest``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import hilt
import hilt_core.schema
from hilt_core import Event, Registry, hookimpl

SLOW = os.environ.get("HILT_SLOW_TESTS", "").strip() not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a long fault test, run with HILT_SLOW_TESTS=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SLOW:
        return
    skip = pytest.mark.skip(reason="a slow fault test: set HILT_SLOW_TESTS=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def event(text: str, **kw: Any) -> Event:
    return Event(
        session_id="conv_fault", actor={"type": "human", "id": "u"}, action="prompt",
        content={"text": text}, **kw,
    )  # fmt: skip


def lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSONL log, decoded (a line that is not JSON fails the test)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def texts(path: Path) -> list[str]:
    return [d.get("content", {}).get("text", "") for d in lines(path)]


_validator = jsonschema.Draft202012Validator(hilt_core.schema.load())


def assert_valid_log(path: Path) -> list[dict[str, Any]]:
    """Each line is JSON and valid against the schema, and no event_id appears twice."""
    raw = path.read_bytes().splitlines()
    out = []
    for n, line in enumerate(raw, 1):
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise AssertionError(f"{path}:{n} is not JSON ({exc}): {line[:120]!r}") from None
        errors = [e.message for e in _validator.iter_errors(data)]
        assert not errors, f"{path}:{n} is not a valid HILT line: {errors[:3]}"
        out.append(data)
    ids = [d["event_id"] for d in out]
    assert len(ids) == len(set(ids)), f"{path}: {len(ids) - len(set(ids))} duplicate events"
    return out


def run(
    script: str,
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    args: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter (logging to stderr at WARNING)."""
    prologue = (
        "import logging, sys\nlogging.basicConfig(level=logging.WARNING, stream=sys.stderr)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


class Backend:
    """A backend plugin for the faults a real one shows: ``gate`` (set by default) holds
    the writer inside ``backend_write`` (a hang), ``fail`` makes every write raise
    ``OSError`` while set, ``refuse`` is a text whose event the backend cannot encode
    (it raises ``UnicodeEncodeError``, as ``str.encode`` does)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail = False
        self.refuse: str | None = None
        self.attempts = 0

    @hookimpl
    def backend_open(self, name: str, options: Mapping[str, Any]) -> object:
        return self

    @hookimpl
    def backend_write(self, handle: Any, events: Sequence[Event]) -> None:
        self.attempts += 1
        self.entered.set()
        self.gate.wait()
        if self.fail:
            raise OSError("the backend is down (injected)")
        for e in events:
            if self.refuse is not None and e.content is not None and e.content.text == self.refuse:
                "\ud83d".encode()  # raises UnicodeEncodeError, as a backend's encoder would
        self.events.extend(events)

    @hookimpl
    def backend_close(self, handle: Any, flush_only: bool) -> None:
        return None

    def texts(self) -> list[str | None]:
        return [e.content.text if e.content else None for e in self.events]


@pytest.fixture
def backend(reg: Registry) -> Iterator[Backend]:
    """A :class:`Backend` registered under the name "faulty"."""
    b = Backend()
    hilt.register_plugin(b, name="faulty")
    yield b
    b.fail = False
    b.gate.set()


@pytest.fixture(autouse=True)
def _fresh_warning_limits() -> None:
    """HILT logs each kind of repair at most once every 10 s: a test that looks for the
    warning must not depend on what an earlier test repaired."""
    import hilt_core.convert

    hilt_core.convert._repaired = hilt_core.convert._Warnings()
