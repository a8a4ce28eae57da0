"""``hilt tail``: readable lines cut to the width, the last N of a big file, and ``-f``
following a growing file through rotation and truncation."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from hilt import _tail


def test_last_lines_readable(run: Any, library_log: Path) -> None:
    res = run("tail", library_log, "-n", "5", "--width", "120")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert len(lines) == 5
    assert all(len(line) <= 120 for line in lines)
    err_429, prompt, err_0 = lines[0], lines[3], lines[4]
    assert err_429.startswith("03-31 00:02:00")
    assert "Conv.bbbbbbbb" in err_429
    assert "system: openai" in err_429
    assert " 429 " in err_429
    assert "RateLimitError" in err_429
    assert "human: user" in prompt
    assert "prompt" in prompt
    assert "What is the capital of France?" in prompt
    assert " 0 APIConnectionError" in err_0


def test_completion_line_has_tokens_cost_status(run: Any, library_log: Path) -> None:
    res = run("tail", library_log, "-n", "12", "--width", "200")
    first_answer = res.out.splitlines()[1]
    assert first_answer.startswith("03-30 23:59:00 Conv.aaaaaaaa")
    for part in ("agent: openai", "completion", "100>20", "$0.000450", "200", "Paris."):
        assert part in first_answer


def test_long_text_cut(run: Any, library_log: Path) -> None:
    res = run("tail", library_log, "-n", "1", "--width", "90")
    line = res.out.rstrip("\n")
    assert len(line) == 90
    assert line.endswith("...")


def test_default_width_is_the_terminal(
    run: Any, library_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    res = run("tail", library_log)
    lines = res.out.splitlines()
    assert len(lines) == 10
    assert max(len(line) for line in lines) <= 100


def test_hilt_028_log(run: Any, legacy_log: Path) -> None:
    res = run("tail", legacy_log, "-n", "2", "--width", "160")
    prompt, answer = res.out.splitlines()[-2:]
    assert "Say hello in French" in prompt
    assert "8>3" in answer
    assert "$0.000050" in answer


def test_last_lines_of_a_big_file_are_read_from_the_end(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as fh:
        for i in range(50_000):
            fh.write(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * 40))
        fh.write(b'{"n": "torn')
    lines, end = _tail.last_lines(path, 3)
    assert lines == [b'{"n": %d, "pad": "%s"}' % (i, b"x" * 40) for i in (49_997, 49_998, 49_999)]
    assert end == path.stat().st_size - len(b'{"n": "torn')
    assert _tail.last_lines(path, 0) == ([], end)


def test_torn_last_line_is_not_shown(run: Any, library_log: Path) -> None:
    with library_log.open("ab") as fh:
        fh.write(b'{"hilt_version":"1.0","event_id":"x","time')
    res = run("tail", library_log, "-n", "2", "--width", "200")
    assert res.code == 0
    assert len(res.out.splitlines()) == 2
    assert "APIConnectionError" in res.out.splitlines()[-1]


class Follower:
    """``hilt tail -f`` in a child process, its lines collected by a thread."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hilt",
                "tail",
                "-f",
                str(path),
                "-n",
                "1",
                "--interval",
                "0.05",
                "--width",
                "200",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        for stream, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, q), daemon=True).start()

    @staticmethod
    def _pump(stream: IO[str], q: queue.Queue[str]) -> None:
        for line in stream:
            q.put(line.rstrip("\n"))

    def lines(self, n: int, q: queue.Queue[str] | None = None) -> list[str]:
        q = q if q is not None else self.out
        got: list[str] = []
        deadline = time.monotonic() + 20
        while len(got) < n:
            try:
                got.append(q.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"waited for {n} lines, got {got}") from None
        return got

    def nothing_more(self, wait: float = 0.3) -> None:
        time.sleep(wait)
        assert self.out.empty(), self.out.get()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=20)


def test_follow_growth_rotation_truncation(tmp_path: Path, log_writer: Any, calls: Any) -> None:
    path = tmp_path / "app.jsonl"
    log_writer(path, calls[:1])
    f = Follower(path)
    try:
        assert "Paris." in f.lines(1)[0]  # -n 1: the last line already there

        log_writer(path, calls[1:2])  # the file grows
        grown = f.lines(2)
        assert "prompt" in grown[0]
        assert "200>40" in grown[1]

        with path.open("ab") as fh:  # half a line: nothing until its newline comes
            fh.write(
                b'{"hilt_version":"1.0","event_id":"e1","timestamp":"2025-03-31T01:00:00+00:00",'
            )
            fh.flush()
            f.nothing_more()
            fh.write(
                b'"session_id":"conv_dddddddddddd","actor":{"type":"human","id":"user"},'
                b'"action":"feedback","content":{"text":"thumbs up"}}\n'
            )
        assert "thumbs up" in f.lines(1)[0]

        os.rename(path, tmp_path / "app.1.jsonl")  # rotation: a new file takes the name
        log_writer(path, calls[2:3])
        rotated = f.lines(2)
        assert "Conv.bbbbbbbb" in rotated[0]
        assert "50>10" in rotated[1]
        assert "was rotated" in f.lines(1, f.err)[0]

        with path.open("wb"):  # truncation
            pass
        assert "was truncated" in f.lines(1, f.err)[0]
        log_writer(path, calls[4:5])
        again = f.lines(2)
        assert "Conv.cccccccc" in again[1]
        assert "10>5" in again[1]
    finally:
        code = f.stop()
    assert code == 0
