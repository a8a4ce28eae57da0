"""Threads and processes appending to one JSONL file never lose, interleave or tear a line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import hilt

PROCESSES = 4
THREADS = 8
PER_THREAD = 300
BIG = 10_000  # every tenth event is larger than PIPE_BUF (4096): no atomicity for free

WORKER = """
import sys, threading, time
from pathlib import Path
import hilt

path, go, proc = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
THREADS, PER_THREAD, BIG = {threads}, {per_thread}, {big}
shared = hilt.Session(path, batch_size=7, flush_interval=0.001)
own = {{t: hilt.Session(path, batch_size=5, flush_interval=0.001) for t in range(1, THREADS, 2)}}

def work(t):
    session = shared if t % 2 == 0 else own[t]
    for i in range(PER_THREAD):
        text = f"p{{proc}}-t{{t}}-{{i}}"
        if i % 10 == 0:
            text += " " + "é" * BIG
        session.append(hilt.Event(session_id=f"conv_{{proc}}", actor={{"type": "human", "id": "u"}},
                                  action="prompt", content={{"text": text}}))

while not go.exists():
    time.sleep(0.005)
threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
for th in threads:
    th.start()
for th in threads:
    th.join()
ok = all(s.close() for s in [shared, *own.values()])
sys.exit(0 if ok else 3)
"""


def _expected(procs: range, threads: range, per: int) -> Counter[str]:
    return Counter(f"p{p}-t{t}-{i}" for p in procs for t in threads for i in range(per))


def _texts(path: Path) -> Counter[str]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    found: Counter[str] = Counter()
    for line in raw.split(b"\n")[:-1]:
        text = json.loads(line)["content"]["text"]  # every line parses whole
        key, _, pad = text.partition(" ")
        assert pad in ("", "é" * BIG), f"torn or mixed line for {key}"
        found[key] += 1
    return found


def test_four_processes_of_eight_threads_append_to_one_file(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "shared.jsonl"
    go = tmp_path / "go"
    script = textwrap.dedent(WORKER.format(threads=THREADS, per_thread=PER_THREAD, big=BIG))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(go), str(p)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for p in range(PROCESSES)
    ]
    time.sleep(0.3)  # let every process reach the start line (correctness does not depend on it)
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        assert out == b""
    found = _texts(path)
    expected = _expected(range(PROCESSES), range(THREADS), PER_THREAD)
    assert found == expected  # every event, exactly once
    assert sum(found.values()) == PROCESSES * THREADS * PER_THREAD


def test_eight_threads_sharing_one_session(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    session = hilt.Session(path, batch_size=3, flush_interval=0.001)
    barrier = threading.Barrier(THREADS)

    def work(t: int) -> None:
        barrier.wait(10)
        for i in range(PER_THREAD):
            session.append(
                hilt.Event(
                    session_id="c",
                    actor={"type": "human", "id": "u"},
                    action="prompt",
                    content={"text": f"p0-t{t}-{i}"},
                )
            )

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert session.close()
    assert _texts(path) == _expected(range(1), range(THREADS), PER_THREAD)
