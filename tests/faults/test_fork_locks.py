"""Item 4: a fork that lands while a plugin holds a lock on the writer thread leaves the
child a writer that works (pre-fork servers fork at any moment)."""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import assert_valid_log, run, texts


def test_a_child_forked_while_the_pricer_holds_its_lock_still_writes(tmp_path: Path) -> None:
    # The pricer reads HILT_PRICES_FILE under its lock, on the writer thread; a prices
    # file on a slow disk is a FIFO here, and the fork lands while the read waits.
    fifo = tmp_path / "prices.json"
    os.mkfifo(fifo)
    path = tmp_path / "fork.jsonl"
    result = run(
        f"""
        import os, sys, threading, time
        import hilt
        from hilt_core.testing import make_event
        from hilt_costs.pricer import PRICER

        session = hilt.Session({str(path)!r}, flush_interval=0.01)
        session.append(make_event(0))  # the writer prices it: reads the prices file
        deadline = time.monotonic() + 30
        while PRICER._lock.acquire(blocking=False):  # until the writer holds the lock
            PRICER._lock.release()
            assert time.monotonic() < deadline, "the writer never took the pricer's lock"
            time.sleep(0.005)
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                # A worker with a thread of its own, as most servers' workers have (its
                # writer then cannot reuse the dead writer's thread id).
                threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
                session.append(make_event(1))
                code = 0 if session.flush(timeout=5) else 2
            finally:
                os._exit(code)
        with open({str(fifo)!r}, "w") as f:  # the slow disk answers
            f.write("{{}}")
        _, status = os.waitpid(pid, 0)
        assert session.close(timeout=10)
        sys.exit(os.waitstatus_to_exitcode(status))
        """,
        tmp_path,
        env={"HILT_PRICES_FILE": str(fifo)},
        timeout=60,
    )
    assert result.returncode == 0, f"the child's writer hung ({result.returncode}): {result.stderr}"
    assert_valid_log(path)
    assert sorted(texts(path)) == ["answer 0", "answer 1"]
