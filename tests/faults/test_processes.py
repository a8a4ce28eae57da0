"""Items 3 and 8: the events of multiprocessing children (which leave through os._exit)
and of a process ended by SIGTERM are written before the process goes; SIGTERM's
default action (death by SIGTERM, same status) and the application's own handler are
kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .conftest import assert_valid_log, run, texts

CHILDREN = """
import json, multiprocessing as mp, sys
import hilt
from hilt_core import context

PATH = sys.argv[2]

def work(name):
    session = context.GLOBAL.session  # inherited through fork, or opened here
    if session is None:
        session = hilt.instrument(filepath=PATH, providers=[], flush_interval=60)
    session.append(hilt.Event(session_id="c", actor={"type": "human", "id": "u"},
                              action="prompt", content={"text": name}))
    return name

if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    hilt.instrument(filepath=PATH, providers=[], flush_interval=60)
    procs = [mp.Process(target=work, args=(f"process-{i}",)) for i in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    with mp.Pool(2) as pool:  # leaving the with block terminates the workers (SIGTERM)
        pool.map(work, [f"pool-{i}" for i in range(30)])
    with mp.Pool(2) as pool:
        pool.map(work, [f"closed-pool-{i}" for i in range(10)])
        pool.close()  # the workers end by returning: os._exit after the finalizers
        pool.join()
    print(json.dumps([p.exitcode for p in procs]))
"""


def _children(method: str, tmp_path: Path) -> None:
    path = tmp_path / f"{method}.jsonl"
    script = tmp_path / "children.py"  # spawn and forkserver import the main module
    script.write_text(CHILDREN)
    result = subprocess.run(
        [sys.executable, str(script), method, str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [0] * 6
    assert_valid_log(path)
    expected = (
        [f"process-{i}" for i in range(6)]
        + [f"pool-{i}" for i in range(30)]
        + [f"closed-pool-{i}" for i in range(10)]
    )
    assert sorted(texts(path)) == sorted(expected)


def test_multiprocessing_children_keep_their_events_fork(tmp_path: Path) -> None:
    _children("fork", tmp_path)


def test_multiprocessing_children_keep_their_events_forkserver(tmp_path: Path) -> None:
    _children("forkserver", tmp_path)


@pytest.mark.slow
def test_multiprocessing_children_keep_their_events_spawn(tmp_path: Path) -> None:
    _children("spawn", tmp_path)


# -- SIGTERM -----------------------------------------------------------------------------
def _started(
    script: str, tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``script``; it prints "ready" once it has appended its events."""
    prologue = "import logging, sys\nlogging.basicConfig(level=logging.WARNING)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", prologue + textwrap.dedent(script)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")
    return proc


APPENDS = """
import time
import hilt
session = hilt.instrument(filepath={path!r}, providers=[], flush_interval=60)
for i in range(200):
    session.append(hilt.Event(session_id="c", actor={{"type": "human", "id": "u"}},
                              action="prompt", content={{"text": f"e{{i}}"}}))
"""


def test_sigterm_writes_what_is_queued_then_dies_by_sigterm(tmp_path: Path) -> None:
    path = tmp_path / "term.jsonl"
    proc = _started(
        APPENDS.format(path=str(path)) + "print('ready', flush=True)\ntime.sleep(60)\n", tmp_path
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == -signal.SIGTERM  # as without HILT: killed by the signal
    assert_valid_log(path)
    assert texts(path) == [f"e{i}" for i in range(200)]


def test_sigterm_status_is_the_same_with_and_without_hilt(tmp_path: Path) -> None:
    plain = _started("import time\nprint('ready', flush=True)\ntime.sleep(60)\n", tmp_path)
    plain.send_signal(signal.SIGTERM)
    with_hilt = _started(
        APPENDS.format(path=str(tmp_path / "s.jsonl"))
        + "print('ready', flush=True)\ntime.sleep(60)\n",
        tmp_path,
    )
    with_hilt.send_signal(signal.SIGTERM)
    assert with_hilt.wait(30) == plain.wait(30) == -signal.SIGTERM


def test_the_applications_own_sigterm_handler_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    own_handler = textwrap.dedent(
        """
        import signal, sys
        def graceful(signum, frame):
            print("app handler", flush=True)
            sys.exit(3)  # atexit runs: HILT flushes there
        signal.signal(signal.SIGTERM, graceful)
        """
    )
    then = "assert signal.getsignal(signal.SIGTERM) is graceful\nprint('ready', flush=True)\n"
    proc = _started(
        own_handler + APPENDS.format(path=str(path)) + then + "time.sleep(60)\n", tmp_path
    )
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 3
    assert proc.stdout is not None
    assert proc.stdout.read().strip() == "app handler"
    assert len(texts(path)) == 200


def test_an_ignored_sigterm_stays_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ign.jsonl"
    script = (
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        + APPENDS.format(path=str(path))
        + "print('ready', flush=True)\ntime.sleep(0.5)\n"
    )
    proc = _started(script, tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0  # it ignored the signal, and exited normally
    assert len(texts(path)) == 200


def test_where_hilt_installs_its_sigterm_handler(tmp_path: Path) -> None:
    result = run(
        """
        import signal, threading
        import hilt
        from hilt_core import shutdown
        ours = shutdown._on_sigterm

        # Not from another thread (signal.signal() would raise there).
        opened = []
        t = threading.Thread(target=lambda: opened.append(hilt.Session("from-thread.jsonl")))
        t.start(); t.join()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        # On the main thread, while a session is open; the default is back when none is.
        hilt.instrument(filepath="a.jsonl", providers=[])
        assert signal.getsignal(signal.SIGTERM) is ours
        hilt.uninstrument()
        assert signal.getsignal(signal.SIGTERM) is ours  # the thread's session is open
        opened[0].close()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        print("ok")
        """,
        tmp_path,
    )
    assert result.stdout.strip() == "ok", result.stderr
    off = run(
        """
        import signal, hilt
        hilt.instrument(filepath="b.jsonl", providers=[])
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        print("ok")
        """,
        tmp_path,
        env={"HILT_HANDLE_SIGTERM": "0"},
    )
    assert off.stdout.strip() == "ok", off.stderr


def test_sigterm_during_the_exit_flush_lets_it_finish(tmp_path: Path) -> None:
    # A multiprocessing pool ends its workers this way: a worker's own exit has begun (its
    # finalizers write the events) when terminate() sends SIGTERM.
    path = tmp_path / "late.jsonl"
    script = f"""
        import os, signal, threading, time
        import hilt
        from hilt_core import hookimpl
        from hilt_jsonl.backend import open_backend

        class Slow:  # a JSONL file on a slow disk: each write takes a second
            @hookimpl
            def backend_open(self, name, options):
                return open_backend(options)
            @hookimpl
            def backend_write(self, handle, events):
                time.sleep(1.0)
                handle.write(events)

        hilt.register_plugin(Slow(), name="slow")
        session = hilt.Session(backend="slow", filepath={str(path)!r}, flush_interval=60)
        for i in range(200):
            session.append(hilt.Event(session_id="c", actor={{"type": "human", "id": "u"}},
                                      action="prompt", content={{"text": f"e{{i}}"}}))
        # The script ends: the exit flush starts, and SIGTERM comes while it writes.
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
        print("ready", flush=True)
        """
    proc = _started(script, tmp_path)
    assert proc.wait(30) == -signal.SIGTERM
    assert_valid_log(path)
    assert len(texts(path)) == 200


SIGTERM_AT_STEP = """
    import atexit, os, signal, sys
    import hilt
    from hilt_core import pipeline

    STEP = int(sys.argv[1])
    session = hilt.Session(filepath=sys.argv[2], flush_interval=60)
    for i in range(20):
        session.append(hilt.Event(session_id="c", actor={"type": "human", "id": "u"},
                                  action="prompt", content={"text": f"e{i}"}))
    seen = 0

    def at_step(frame, event, arg):
        # Counts the calls and returns of the main thread from the moment the exit flush
        # starts waiting for its close marker; sends SIGTERM at the STEP-th.
        global seen
        if not seen and not (event == "call" and frame.f_code is pipeline.Pipeline._await.__code__):
            return
        seen += 1
        if seen == STEP:
            sys.setprofile(None)
            os.kill(os.getpid(), signal.SIGTERM)

    atexit.register(sys.setprofile, at_step)  # atexit runs it before HILT's exit flush
"""


def test_sigterm_at_every_step_of_the_exit_flushs_wait(tmp_path: Path) -> None:
    # A pool's terminate() sends SIGTERM to a worker whose own exit flush is waiting for
    # its writer (see test_sigterm_during_the_exit_flush_lets_it_finish). The handler then
    # waits for that same close. When SIGTERM came while the main thread held the internal
    # lock of threading.Event.wait() on the marker, the handler waited for that lock
    # forever: the process hung (the fork test above, about one run in a hundred under
    # load). Here SIGTERM comes at each step of that wait in turn (its first steps are the
    # same on every run); every run must die by SIGTERM with its events written.
    script = tmp_path / "step.py"
    script.write_text(textwrap.dedent(SIGTERM_AT_STEP))
    hung = []
    for first in range(1, 25, 4):  # four at a time
        batch = {
            step: subprocess.Popen(
                [sys.executable, str(script), str(step), str(tmp_path / f"s{step}.jsonl")],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for step in range(first, first + 4)
        }
        deadline = time.monotonic() + 20  # a run takes well under a second
        for step, proc in batch.items():
            try:
                status = proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                hung.append(step)
                continue
            assert status == -signal.SIGTERM, (step, proc.communicate()[1])
            proc.communicate()
            path = tmp_path / f"s{step}.jsonl"
            assert_valid_log(path)
            assert texts(path) == [f"e{i}" for i in range(20)], step
    assert not hung, f"SIGTERM at these steps of the exit flush's wait hung the process: {hung}"


SIGNALS_OF_THREADS = """
import json, signal, sys, threading
import hilt

session = hilt.instrument(filepath=sys.argv[1], providers=[], flush_interval=60)
session.append(hilt.Event(session_id="s", actor={"type": "human", "id": "u"},
                          action="prompt", content={"text": "starts the writer"}))
writer = next(t for t in threading.enumerate() if t.name == "hilt-writer")

def blocked(tid):
    with open(f"/proc/self/task/{tid}/status") as status:
        mask = next(int(line.split()[1], 16) for line in status if line.startswith("SigBlk:"))
    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    return sorted(int(s) for s in wanted if mask >> (s - 1) & 1)

print(json.dumps([blocked(writer.native_id), blocked(threading.main_thread().native_id)]))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_signals_from_outside_go_to_the_applications_threads_not_hilts(tmp_path: Path) -> None:
    # Python runs a handler only in the main thread, at its next bytecode: a SIGTERM that
    # the kernel gave HILT's writer while the main thread was blocked in C (a Pool worker
    # waiting on its task queue's lock) never ran HILT's handler, and Pool.terminate()
    # waited for that worker forever (seen about once in 300 runs of the script above).
    # HILT's threads block those signals, so the kernel picks an application thread.
    script = tmp_path / "signals.py"
    script.write_text(SIGNALS_OF_THREADS)
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "log.jsonl")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    writer, main = json.loads(result.stdout)
    assert writer == sorted(int(s) for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM))
    assert main == []  # the application's own threads: untouched


BLOCKED_MAIN = """
import signal, sys, threading, time
import hilt

session = hilt.instrument(filepath=sys.argv[1], providers=[], flush_interval=60)
session.append(hilt.Event(session_id="s", actor={"type": "human", "id": "u"},
                          action="prompt", content={"text": "kept"}))
held = threading.Lock()
held.acquire()  # never released: the main thread blocks on it below, in C

def deliver():
    time.sleep(0.5)
    # SIGTERM taken by this thread (an application's, not HILT's): Python's C-level
    # handler runs here, and the main thread, blocked in acquire(), is not interrupted.
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
    time.sleep(60)

threading.Thread(target=deliver, daemon=True).start()
print("blocking", flush=True)
held.acquire()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_ends_a_process_whose_main_thread_is_blocked_in_c(tmp_path: Path) -> None:
    # Python runs HILT's SIGTERM handler only at the main thread's next bytecode. Without
    # HILT the kernel would end this process at once; with a handler that never runs it
    # waited forever (a Pool worker blocked on its task queue's lock, terminate() waiting
    # for it: about 1 run in 50-300 of the pool script under load). HILT's watchdog sees
    # the signal through the wakeup fd and interrupts the main thread's blocking call.
    script = tmp_path / "blocked.py"
    script.write_text(BLOCKED_MAIN)
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(log)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "blocking\n"
        returncode = proc.wait(timeout=30)
    finally:
        proc.kill()
    assert returncode == -signal.SIGTERM  # died by SIGTERM, as without HILT
    assert texts(log) == ["kept"]
