"""How a process ends, and HILT's last flush on each way out.

- Interpreter exit: an ``atexit`` hook closes every open session (``pipeline.close_all``).
- ``multiprocessing`` children leave through ``os._exit`` (fork and forkserver) after the
  target returns, so ``atexit`` never runs there; multiprocessing's own finalizers do
  (``util._exit_function``, before ``os._exit``). A ``multiprocessing.util.Finalize`` is
  registered in every child that has a session, whatever the start method.
- SIGTERM: its default action ends the process at once and everything queued is lost.
  When SIGTERM still has that default (the application set no handler of its own),
  HILT installs a handler on the main thread that closes every session within the exit
  budget, puts the default back and sends SIGTERM again: the process then dies by
  SIGTERM, with the status it would have had without HILT. An application's own handler
  is never replaced, nor ``SIG_IGN``; a handler is never installed from another thread;
  ``HILT_HANDLE_SIGTERM=0`` turns it off. While no session is open the default is put
  back, so a process with HILT closed behaves on SIGTERM as one without it.
- ``os._exit`` elsewhere, SIGKILL and a crash run nothing: what was not written yet (at
  most ``flush_interval``, 0.2 s, of events, when the backend keeps up) is lost.

Each way out is one bounded step, ``HILT_EXIT_TIMEOUT`` seconds (5) in all: first the
callbacks registered with :func:`before_exit` (a provider writes the streams still open
as partial answers), then every session closes at once (``pipeline.close_all``) with
what is left of the budget. A backend whose close may take longer than that (the Sheets
backend retries for ``close_timeout``) asks :func:`close_time_left` how long it has, and
keeps what it cannot send where the next run finds it, saying how much.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from hilt_core import pipeline
from hilt_core.internal import background_thread, internal_error

_OFF = frozenset({"0", "false", "no", "off"})


# -- the exit budget ---------------------------------------------------------------------
_before: list[Callable[[], None]] = []
_backend_deadline: float | None = None  # while the sessions close on the way out


def before_exit(callback: Callable[[], None]) -> None:
    """Run ``callback`` on the way out, before the sessions close, inside the exit budget:
    what it appends is written by the last flush. It must be quick and must not wait on
    I/O (it is not interrupted). Run at interpreter exit and at the end of a
    multiprocessing child, not by the SIGTERM handler: that one may have interrupted the
    main thread anywhere, holding any lock the callback would need."""
    if callback not in _before:  # == : a bound method is a new object each time
        _before.append(callback)


def remove_before_exit(callback: Callable[[], None]) -> None:
    """Undo :func:`before_exit`."""
    _before[:] = [cb for cb in _before if cb != callback]


def exiting() -> bool:
    """True while the process is on its way out (interpreter exit, SIGTERM, the end of a
    multiprocessing child) and its sessions close."""
    return _backend_deadline is not None


def close_time_left(timeout: float) -> float:
    """Seconds a ``backend_close`` may take now: ``timeout`` (the backend's own bound),
    or less on the way out, where every session's close shares one budget
    (``HILT_EXIT_TIMEOUT``): then what is left of it, less a margin for the core to
    report the outcome."""
    deadline = _backend_deadline
    if deadline is None:
        return timeout
    return max(0.0, min(timeout, deadline - time.monotonic()))


def close_everything(budget: float, *, signal_handler: bool = False) -> None:
    """The last flush of every way out, within ``budget`` seconds in all (the
    :func:`before_exit` callbacks first, unless called from a signal handler)."""
    global _backend_deadline
    started = time.monotonic()
    deadline = started + budget
    _backend_deadline = pipeline.writer_deadline(deadline)
    try:
        try:
            for callback in [] if signal_handler else list(_before):
                try:
                    callback()
                except Exception:
                    internal_error("finish what was open at exit")
        finally:  # HILT_STRICT=1 raises HILT's own errors: the sessions still close
            pipeline.close_all(max(deadline - time.monotonic(), 0.0))
    finally:
        _backend_deadline = None


# -- interpreter exit --------------------------------------------------------------------
def _at_exit() -> None:
    close_everything(pipeline.exit_timeout())


atexit.register(_at_exit)


# -- multiprocessing children ------------------------------------------------------------
class _Token:
    """What multiprocessing's after-fork registry holds on to (it keeps weak refs)."""


_token = _Token()
_registered_pid = 0
_finalizer: Any = None


def _in_child_finally(_token: object = None) -> None:
    """Register the close of every session with multiprocessing's exit finalizers."""
    global _finalizer
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return
    if _finalizer is not None and _finalizer.still_active():
        return
    # The lowest priority: after the application's own finalizers, which may log.
    _finalizer = util.Finalize(None, _at_exit, exitpriority=-(10**6))


def hook_multiprocessing() -> None:
    """Make sure a multiprocessing child closes its sessions before ``os._exit``.

    A child clears the finalizers it inherited and then runs the after-fork callbacks
    (``multiprocessing.process.BaseProcess._after_fork``): the callback registered here
    adds the finalizer there, in the child, for sessions opened before its target ran
    (inherited through fork, or opened while ``__main__`` was imported again)."""
    global _registered_pid
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return  # multiprocessing cannot start a child it has not imported
    pid = os.getpid()
    if _registered_pid != pid:
        _registered_pid = pid
        util.register_after_fork(_token, _in_child_finally)
    process = sys.modules.get("multiprocessing.process")
    if process is not None and process.parent_process() is not None:
        _in_child_finally()  # already running the target: add it now


# -- SIGTERM -----------------------------------------------------------------------------
_installed = False


def hook_sigterm() -> None:
    """Install the SIGTERM handler if SIGTERM has its default action (see above)."""
    global _installed
    if _installed or sys.platform == "win32":
        return
    if threading.current_thread() is not threading.main_thread():
        return  # signal.signal() works only there; a later session may install it
    if os.environ.get("HILT_HANDLE_SIGTERM", "").strip().lower() in _OFF:
        return
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # the application's own handler, SIG_IGN, or one set outside Python
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return
    _installed = True
    _watch()


def unhook_sigterm() -> None:
    """No session is open: give SIGTERM its default back, if the handler is still ours."""
    global _installed
    if not _installed or threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):
        return
    _installed = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _installed, _started
    _started = True  # first: the watchdog stops poking the main thread
    # A second SIGTERM while the sessions close ends the process at once, as by default.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _installed = False
    with contextlib.suppress(BaseException):  # nothing may stop the process from ending
        close_everything(pipeline.exit_timeout(), signal_handler=True)
    os.kill(os.getpid(), signal.SIGTERM)
    # SIGTERM is blocked in this thread: it ends the process once another thread (or
    # this one, unblocking it) takes it. Do not go back to the application meanwhile.
    for _ in range(50):
        time.sleep(0.1)
    os._exit(128 + signal.SIGTERM)


def hook_process() -> None:
    """Called when a session opens: arm every last flush this process can have."""
    hook_multiprocessing()
    hook_sigterm()


# -- the SIGTERM watchdog ----------------------------------------------------------------
# Python runs _on_sigterm in the main thread, at its next bytecode. A main thread blocked in
# C when SIGTERM came never gets there: the signal was taken by another thread, or came in
# the instant between Python's check for signals and the blocking call (a Pool worker
# waiting on its task queue's lock, which terminate()'s parent holds). The process that
# would have died by SIGTERM then waits forever. Python's C-level handler also writes the
# signal's number to the wakeup fd: a HILT thread reading it sends SIGTERM to the main
# thread itself, which interrupts the blocking call, until _on_sigterm has started.
_started = False
_wakeup: tuple[int, int] | None = None  # (read, write) ends of this process's pipe


def _watch() -> None:
    """Arm the watchdog (main thread), unless the application uses the wakeup fd."""
    global _wakeup
    if _wakeup is not None:
        return
    r, w = os.pipe()
    try:
        os.set_blocking(w, False)
        previous = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except (ValueError, OSError):
        os.close(r)
        os.close(w)
        return
    if previous != -1:  # the application's (asyncio's, say): keep it, no watchdog
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(previous)
        os.close(r)
        os.close(w)
        return
    _wakeup = (r, w)
    threading.Thread(target=_watchdog, args=(r,), name="HILT SIGTERM watchdog", daemon=True).start()


def _watchdog(r: int) -> None:
    background_thread()  # the pokes must go to the main thread, not here
    main = threading.main_thread().ident
    while True:
        try:
            got = os.read(r, 64)
        except OSError:
            return
        if not got:
            return
        if signal.SIGTERM not in got:
            continue
        for _ in range(40):  # 10 s, then leave it to the application
            time.sleep(0.25)
            if _started or not _installed or main is None:
                break
            with contextlib.suppress(OSError, ValueError):
                signal.pthread_kill(main, signal.SIGTERM)


def _after_fork_in_child() -> None:
    global _wakeup, _started
    _started = False
    if _wakeup is not None:
        # The parent's pipe: the child's signals must not wake the parent's watchdog.
        r, w = _wakeup
        _wakeup = None
        with contextlib.suppress(ValueError, OSError):
            current = signal.set_wakeup_fd(-1)
            if current != w:  # the application's own since: keep it
                signal.set_wakeup_fd(current)
        for fd in (r, w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if _installed:
            _watch()
    hook_multiprocessing()


os.register_at_fork(after_in_child=_after_fork_in_child)
