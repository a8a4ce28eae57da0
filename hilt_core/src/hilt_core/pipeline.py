"""The session pipeline: a bounded queue on the caller's side, a writer thread on the other.

The caller's thread only appends to a deque (no lock hand-off per event, no I/O). The
writer wakes every ``flush_interval`` seconds, or early when the queue holds
``wake_at`` events, runs ``event_enrich`` and ``redact`` on each event and hands the batch
to the chosen backend's ``backend_write``. A failing backend keeps its batch and is
retried with exponential backoff; while it fails the queue fills, and once it is full new
events are counted as dropped, logged, and reported in the log itself by a ``system``
event when writing resumes. Nothing is dropped silently. The caller never waits on I/O; it
waits only for a healthy writer that has fallen behind: at twice ``wake_at`` queued items
while the writer makes progress (see ``_catch_up``), and when a burst fills the queue, at
most ``queue_block_timeout`` seconds.

Every wait on the writer is bounded: ``close()`` by its timeout (a failing backend is
retried with the backoff until shortly before it), interpreter exit by one budget for all
sessions together (``HILT_EXIT_TIMEOUT``), ``flush()`` without a timeout by a
``backend_write`` that has not returned for ``STALL_SECONDS``. Whatever is not written when a wait
ends is counted in an ERROR of the ``hilt`` logger.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from hilt_core import forksafe
from hilt_core import redactors as _redactors
from hilt_core.capture import Capture, strip_content
from hilt_core.errors import HILTError
from hilt_core.internal import background_thread
from hilt_core.model import Actor, Content, Event
from hilt_core.registry import Registry, bind_impl

log = logging.getLogger("hilt")
trace_log = logging.getLogger("hilt.trace")

# close() and uninstrument(), per session (longer for a backend that declares a longer
# close: see declared_close_timeout).
CLOSE_TIMEOUT = 5.0
# Interpreter exit (and SIGTERM, multiprocessing children): every open session is closed
# at once, within this many seconds in all.
EXIT_TIMEOUT = 5.0
# flush() without a timeout gives up when one backend call has not returned for this long.
STALL_SECONDS = 10.0


def declared_close_timeout(handle: object) -> float:
    """The seconds a backend says its close may take (a ``close_timeout`` attribute of
    its handle: the Sheets backend's retries), or 0."""
    try:
        value = getattr(handle, "close_timeout", 0.0)
    except Exception:
        return 0.0
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return 0.0


def exit_timeout() -> float:
    raw = os.environ.get("HILT_EXIT_TIMEOUT", "").strip()
    try:
        value = float(raw) if raw else EXIT_TIMEOUT
    except ValueError:
        log.warning("HILT_EXIT_TIMEOUT=%r is not a number of seconds; using %s", raw, EXIT_TIMEOUT)
        return EXIT_TIMEOUT
    return max(value, 0.0)


# A queued callable that makes its event on the writer thread (or None for no event).
Deferred = Callable[[], Event | None]

MAX_QUEUE_BYTES = 64 << 20
_BIG = 1024  # events with less text than this count by number only


def _text_size(event: Event) -> int:
    """The bytes an event's text takes, roughly: its text and its content's other string
    fields (an estimate, for the queue's byte bound)."""
    content = event.content
    if content is None:
        return 0
    n = len(content.text) if isinstance(content.text, str) else 0
    for value in content.extra.values():
        if isinstance(value, str):
            n += len(value)
    return n


class _Sized:
    """A queued event (or deferred event) with its estimated size in bytes: the queue is
    bounded by ``max_queue_bytes`` as well as by count. Only big events are wrapped (see
    ``Session.append``), so the others cost nothing more."""

    __slots__ = ("item", "size")

    def __init__(self, item: Event | Deferred, size: int) -> None:
        self.item = item
        self.size = size


class _Marker:
    """A flush (or close) request travelling through the queue behind earlier events."""

    __slots__ = ("abandoned", "close", "deadline", "done", "ok", "started")

    def __init__(self, close: bool, deadline: float | None) -> None:
        self.started = time.monotonic()
        self.close = close
        self.done = _Done()
        self.ok = False
        self.abandoned = False  # the caller stopped waiting and reported what was left
        self.deadline = writer_deadline(deadline)


def writer_deadline(deadline: float | None) -> float:
    # A close keeps retrying a failing backend until shortly before its caller gives up,
    # so that the writer, not the caller, says what could not be written.
    if deadline is None:
        return time.monotonic() + CLOSE_TIMEOUT
    return deadline - min(1.0, max(deadline - time.monotonic(), 0.0) * 0.2)


class _Done:
    """Set once the writer has served a marker: a ``threading.Event`` whose ``wait()`` a
    signal handler may call in the middle of another ``wait()`` on it.

    HILT's SIGTERM handler waits for a close already under way (``close_all``). It may
    have interrupted the main thread inside ``wait()`` on that very marker, and
    ``Event.wait()`` holds the Event's internal lock (not reentrant) around its own wait:
    the handler's ``Event.wait()`` then waited forever for a lock its own thread held, and
    the writer, in ``Event.set()``, with it. Here no lock is held across a wait: the flag
    is read first, and the lock (held while not set) is only taken to wait, with the
    caller's timeout, and given back at once."""

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._set = False
        self._lock = threading.Lock()
        self._lock.acquire()  # held: not set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        self._lock.release()

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        if self._set:
            return True
        if timeout is None:
            got = self._lock.acquire()
        else:
            got = self._lock.acquire(timeout=min(max(timeout, 0.0), threading.TIMEOUT_MAX))
        if got:  # set: give it back for the other waiters (a nested wait reads the flag)
            try:  # noqa: SIM105
                self._lock.release()
            except RuntimeError:
                pass
        return self._set


class _Wake:
    """The writer's wake-up call, like a ``threading.Event`` whose ``wait()`` also clears
    it. ``set()`` never blocks: it only releases a lock, and a signal handler (HILT's
    SIGTERM flush) may call it while the thread it interrupted is inside ``set()``,
    where ``Event.set()`` would wait forever for the lock that thread holds."""

    __slots__ = ("_lock", "is_clear")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()  # held: not set
        # put() asks on every call past wake_at: the lock's own method, no Python frame.
        self.is_clear = self._lock.locked

    def set(self) -> None:
        try:  # noqa: SIM105 (cheaper than contextlib.suppress: put() may call it)
            self._lock.release()
        except RuntimeError:  # already set (released)
            pass

    def is_set(self) -> bool:
        return not self._lock.locked()

    def wait(self, timeout: float) -> None:
        """Wait until set, or ``timeout`` seconds; either way it is clear again."""
        self._lock.acquire(timeout=timeout)


class Pipeline:
    def __init__(
        self,
        *,
        registry: Registry,
        plugin: object,
        handle: object,
        backend_name: str,
        capture: Capture | str = "full",
        max_queue: int = 10_000,
        max_queue_bytes: int = MAX_QUEUE_BYTES,
        flush_interval: float = 0.2,
        batch_size: int = 256,
        queue_block_timeout: float = 0.5,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self._registry = registry
        self._plugin = plugin
        self.options: Mapping[str, Any] = options if options is not None else {}
        # The backend's hooks, resolved once for the life of the session.
        self._write_hook = registry.bound(plugin, "backend_write")
        self._close_hook = registry.bound(plugin, "backend_close")
        self.handle = handle
        self.backend_name = backend_name
        self.policy = capture if isinstance(capture, Capture) else Capture(mode=capture)
        self.capture = self.policy.mode
        self._finish = self.policy.finisher()
        # close() without a timeout waits this long: CLOSE_TIMEOUT, or the backend's own
        # bound when it declares a longer one (the caller then sees its outcome).
        self.close_timeout = max(CLOSE_TIMEOUT, declared_close_timeout(handle) + 1.0)
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self._queued_bytes = 0  # of the _Sized items in the queue, under _drop_lock
        self._bytes_full = False  # a reservation failed: drop until the writer makes room
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.queue_block_timeout = queue_block_timeout
        self._failing = False
        self._writing_since = 0.0  # while a backend_write runs
        self._closing_since = 0.0  # while a backend_close runs
        # Small batches keep the writer's transient memory low (a 256-event batch and its
        # JSON are well under a megabyte) at no cost in throughput.
        self._wake_at = min(128, max(1, max_queue // 4))
        self._catch_up_at = min(self._wake_at * 2, max_queue)
        self._writes = 0  # backend writes finished, successful or not
        self._stalled_at = -1  # _writes when a catch-up saw no progress
        self._queue: deque[Event | Deferred | _Marker | _Sized] = deque()
        self._wake = _Wake()
        self._start_lock = forksafe.Lock()
        self._thread: threading.Thread | None = None
        self._pending: list[Event] = []
        self._retry_at = 0.0
        self._backoff = 0.0
        self._failing_since = 0.0
        self._closed = False
        self._closing: _Marker | None = None  # the close under way
        self.dropped = 0
        self._drop_lock = forksafe.Lock()
        self._dropped_reported = 0
        self._last_warning = float("-inf")  # the first drop always warns
        self.stats: dict[str, int] = {
            "written": 0,
            "write_errors": 0,
            "enrich_errors": 0,
            "build_errors": 0,
            "redaction_failures": 0,
            "dropped_by_redactor": 0,
            "unwritable": 0,
            "lost": 0,
        }
        _live.add(self)

    # -- caller side ---------------------------------------------------------------------
    def put(self, event: Event | Deferred | _Sized) -> bool:
        """Queue ``event``; False when it was dropped (and counted)."""
        q = self._queue
        n = len(q)
        if n >= self._wake_at or self._closed:
            writer = self._thread
            on_writer = writer is not None and writer.ident == threading.get_ident()
            if n >= self.max_queue or self._closed:
                if on_writer or not self._wait_for_space(self.max_queue):
                    self._drop()
                    return False
            elif n >= self._catch_up_at and self._writes != self._stalled_at and not on_writer:
                self._catch_up()
            if n >= self._catch_up_at:
                # The writer is behind (failing, hanging, or outrun by a burst): from
                # here on the queue's bytes are bounded too. Below this length (a healthy
                # writer keeps the queue shorter) nothing is added to the application's
                # call; past it, one event in 16 is measured and stands for the others.
                if self._bytes_full and not self._make_room():
                    self._drop("its queue holds max_queue_bytes of events")
                    return False
                if not n & 15 and event.__class__ is Event:
                    size = _text_size(event) << 4
                    if size >= _BIG:
                        if not self._reserve(size):
                            return False
                        event = _Sized(event, size)
        q.append(event)
        if self._thread is None:
            self._start()
        if len(q) >= self._wake_at and self._wake.is_clear():
            # Once: a lock the application's thread releases on every call is one the
            # writer keeps colliding with.
            self._wake.set()
        return True

    def put_sized(self, event: Event | Deferred, size: int) -> None:
        """``put`` for an event whose size the caller knows (``Session.defer(size=)``):
        counted against ``max_queue_bytes`` however short the queue."""
        if self._reserve(size) and not self.put(_Sized(event, size)):
            self._unqueued(size)

    def _reserve(self, size: int) -> bool:
        """Count ``size`` bytes in the queue, waiting (bounded) for a healthy writer to
        make room; False, counted as dropped, when there is none (and every event is
        dropped until the writer makes room: see ``put``)."""
        while True:
            with self._drop_lock:
                queued = self._queued_bytes
                if queued == 0 or queued + size <= self.max_queue_bytes:
                    self._queued_bytes = queued + size
                    return True
            if not self._wait_for_bytes(size):
                self._bytes_full = True
                self._drop("its queue holds max_queue_bytes of events")
                return False

    def _make_room(self) -> bool:
        """The queue's bytes were full: True once the writer has taken enough out."""
        if self._queued_bytes < self.max_queue_bytes or self._wait_for_bytes(0):
            self._bytes_full = False
            return True
        return False

    def _unqueued(self, size: int) -> None:
        with self._drop_lock:
            self._queued_bytes -= size

    def _wait_for_bytes(self, size: int) -> bool:
        """Like ``_wait_for_space``, for the bytes of the queue."""
        if self._closed or self._failing or self._thread is None:
            return False
        started = self._writing_since
        if started and time.monotonic() - started > self.queue_block_timeout:
            return False
        self._wake.set()
        deadline = time.monotonic() + self.queue_block_timeout
        while self._queued_bytes and self._queued_bytes + size >= self.max_queue_bytes:
            if self._failing or time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def _catch_up(self) -> None:
        """The writer is behind while the application keeps the GIL: let it run.

        An application thread that never waits on I/O and releases the GIL only for an
        instant (the SDK's os.urandom per call) keeps winning it back, and the writer,
        which needs the GIL again after each of its system calls, falls behind without
        bound. Sleeping here in 1 ms steps hands it the GIL. The caller waits only while
        the writer makes progress: a backend that takes over 50 ms in one write is slow,
        not starved, and is left alone until that write ends.
        """
        if self._failing or self._thread is None:
            return
        q = self._queue
        self._wake.set()
        last = len(q)
        patience = time.monotonic() + 0.05
        while len(q) >= self._wake_at:
            time.sleep(0.001)
            n = len(q)
            if n < last:
                last = n
                patience = time.monotonic() + 0.05
            elif time.monotonic() > patience or self._failing:
                self._stalled_at = self._writes
                return

    def _wait_for_space(self, below: int) -> bool:
        """A burst outran a healthy writer: wait a bounded time for the queue to fall
        below ``below``.

        A writer whose backend is failing gets no wait (the caller must not be slowed by an
        outage); a closed session neither.
        """
        if self._closed or self._failing or self._thread is None:
            return False
        started = self._writing_since
        if started and time.monotonic() - started > self.queue_block_timeout:
            return False  # a backend_write is hanging: as good as failing
        self._wake.set()
        deadline = time.monotonic() + self.queue_block_timeout
        while len(self._queue) >= below:
            if self._failing or time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def _drop(self, why: str = "") -> None:
        with self._drop_lock:  # only taken on this slow path
            self.dropped += 1
            n = self.dropped
        now = time.monotonic()
        if now - self._last_warning > 10.0:
            self._last_warning = now
            why = "the session is closed" if self._closed else why or "its queue is full"
            log.warning(
                "HILT dropped an event for backend %r because %s (%d dropped so far); "
                "the backend is too slow or failing",
                self.backend_name,
                why,
                n,
            )

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                t = threading.Thread(target=self._run, name="hilt-writer", daemon=True)
                t.start()
                self._thread = t

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every event queued before this call is written (True), or the
        backend failed or ``timeout`` passed (False). Without a timeout, give up (False)
        when one ``backend_write`` has not returned for ``STALL_SECONDS``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        marker = self._send(_Marker(False, deadline))
        if marker is None:
            return self._drain_inline(False, deadline)
        return self._await(marker, deadline, closing=False)

    def close(self, timeout: float | None = None) -> bool:
        """Write what is queued and release the backend, within ``timeout`` seconds
        (default ``close_timeout``): a failing backend is retried with the backoff until
        shortly before, then what could not be written is counted in an ERROR. Events
        appended afterwards are dropped."""
        if self._closed:
            return True
        if timeout is None:
            timeout = self.close_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._finish_close(self._begin_close(deadline), deadline)

    def _send(self, marker: _Marker) -> _Marker | None:
        if self._thread is None or not self._thread.is_alive():
            # Nothing started, or the writer died with the interpreter: work inline.
            self._thread = None
            return None
        self._queue.append(marker)
        self._wake.set()
        return marker

    def _begin_close(self, deadline: float | None) -> _Marker | None:
        marker = self._send(_Marker(True, deadline))
        self._closing = marker
        self._closed = True  # from here on, put() drops and counts
        return marker

    def _finish_close(self, marker: _Marker | None, deadline: float | None) -> bool:
        if marker is None:
            ok = self._drain_inline(True, deadline)
        else:
            ok = self._await(marker, deadline, closing=True)
        _live.discard(self)
        late = [e for e in self._queue if not isinstance(e, _Marker)]
        if late and marker is not None and marker.done.is_set():
            # Appended while the close marker was on its way: behind it, never written.
            self._queue.clear()
            # With a timeout: this may run in a signal handler that interrupted the
            # thread holding the lock.
            if self._drop_lock.acquire(timeout=1.0):
                self.dropped += len(late)
                self._drop_lock.release()
        if self.dropped:
            log.warning(
                "HILT dropped %d events in all for backend %r (its queue was full, or they "
                "came after close)",
                self.dropped,
                self.backend_name,
            )
        return ok

    def _await(self, marker: _Marker, deadline: float | None, *, closing: bool) -> bool:
        """Wait for ``marker``; on giving up, say how many events are not written."""
        while True:
            now = time.monotonic()
            wait = 0.25 if deadline is None else min(0.25, deadline - now)
            if wait > 0 and marker.done.wait(wait):
                return marker.ok
            if marker.done.is_set():
                return marker.ok
            # Only a backend_write counts as stalled: a backend's own flush may take long
            # on purpose (Sheets paces its requests) and bounds itself.
            writing = self._writing_since
            stalled = deadline is None and writing and now - writing > STALL_SECONDS
            if (deadline is not None and now >= deadline) or stalled:
                break
        marker.abandoned = True
        waiting = self._unwritten()
        busy = self._writing_since or self._closing_since
        in_call = f"{time.monotonic() - busy:.1f}s in one call" if busy else "not in a call"
        if closing and not waiting:
            log.warning(
                "HILT backend %r did not finish closing within its timeout (it has been %s)",
                self.backend_name,
                in_call,
            )
        elif closing:
            self.stats["lost"] += waiting
            log.error(
                "HILT gave up on %d events for backend %r when its close timed out (the "
                "backend has been %s); unless that call returns, they are lost",
                waiting,
                self.backend_name,
                in_call,
            )
        else:
            log.warning(
                "HILT flush() gave up waiting for backend %r (%s); %d events wait, kept",
                self.backend_name,
                in_call,
                waiting,
            )
        return False

    def _unwritten(self) -> int:
        """Events not written yet: the batch in the writer's hands and the queue."""
        return len(self._pending) + sum(1 for e in list(self._queue) if not isinstance(e, _Marker))

    # -- writer side ---------------------------------------------------------------------
    def _run(self) -> None:
        background_thread()
        while True:
            self._wake.wait(self.flush_interval)
            try:
                if self._drain():
                    return
            except Exception:  # the writer must survive anything a plugin does
                log.exception("HILT writer error (events are kept and retried)")

    def _drain_inline(self, close: bool, deadline: float | None) -> bool:
        # In the caller's thread; the lock is taken with a timeout, as this may run in a
        # signal handler that interrupted the thread holding it.
        if not self._start_lock.acquire(
            timeout=5.0 if deadline is None else max(deadline - time.monotonic(), 0.01)
        ):
            return False
        try:
            self._drain(everything=True)
            if close and self._pending:
                self._retry_until(writer_deadline(deadline))
            ok = self._write_pending(force=True)
            ok = self._backend_close(flush_only=not close) and ok
            if close:
                left = self._unwritten()
                if left:
                    self._report_lost(left)
            return ok
        finally:
            self._start_lock.release()

    def _drain(self, everything: bool = False) -> bool:
        """Process what was queued when the writer woke (or, with ``everything``, until the
        queue is empty); return True when a close marker was handled.

        Events that arrive while a batch is processed wait for the next wake-up (the queue
        reaching ``wake_at``, a flush, or ``flush_interval``) instead of being chased in
        small batches: each batch costs system calls, and each system call hands the GIL
        back and forth with the application's threads.
        """
        q = self._queue
        budget = len(q)
        while True:
            if self._pending and not self._write_pending():
                return self._serve_markers_failed()
            batch: list[Event] = []
            marker: _Marker | None = None
            while q and len(batch) < self.batch_size and (budget > 0 or everything):
                budget -= 1
                item = q.popleft()
                if isinstance(item, Event):
                    batch.append(item)
                elif isinstance(item, _Marker):
                    marker = item
                    break
                else:
                    event = self._unwrap(item)
                    if event is not None:
                        batch.append(event)
            if batch:
                self._pending.extend(self._process(batch))
                if not self._write_pending():
                    if marker is not None:
                        q.appendleft(marker)
                    return self._serve_markers_failed()
            if marker is not None:
                ok = self._backend_close(flush_only=not marker.close)
                marker.ok = ok
                marker.done.set()
                if marker.close:
                    return True
            if not q or (budget <= 0 and not everything):
                return False

    def _unwrap(self, item: Deferred | _Sized) -> Event | None:
        if isinstance(item, _Sized):
            self._unqueued(item.size)
            inner = item.item
            return inner if isinstance(inner, Event) else self._build(inner)
        return self._build(item)

    def _build(self, item: Deferred) -> Event | None:
        """Make the event of a deferred item (see ``Session.defer``) on the writer thread."""
        try:
            return item()
        except Exception:
            self.stats["build_errors"] += 1
            log.exception("HILT could not build an event; the application is unaffected")
            return None

    def _retry_until(self, deadline: float) -> None:
        """Closing with a failing backend: keep retrying (with the backoff) until the
        deadline, taking the rest of the queue along, a batch at a time, once writes go
        through again."""
        while True:
            if self._write_pending(force=True):
                batch = self._take_events()
                if not batch:
                    return
                self._pending.extend(self._process(batch))
                continue
            wait = min(self._backoff, deadline - time.monotonic())
            if wait <= 0:
                return
            time.sleep(wait)

    def _take_events(self) -> list[Event]:
        """Up to ``batch_size`` events from the queue, past any marker (closing)."""
        q = self._queue
        markers: list[_Marker] = []
        batch: list[Event] = []
        while q and len(batch) < self.batch_size:
            item = q.popleft()
            if isinstance(item, Event):
                batch.append(item)
            elif isinstance(item, _Marker):
                markers.append(item)
            else:
                event = self._unwrap(item)
                if event is not None:
                    batch.append(event)
        q.extendleft(reversed(markers))
        return batch

    def _serve_markers_failed(self) -> bool:
        # The backend is failing: answer waiting flushes now (False) rather than making
        # them wait out the backoff. A close keeps retrying until its deadline, then says
        # how many events it could not write.
        closing: _Marker | None = None
        for item in [m for m in self._queue if isinstance(m, _Marker)]:
            self._queue.remove(item)
            if item.close and closing is None:
                closing = item
                continue
            item.ok = False
            item.done.set()
        if closing is None:
            return False
        since = self._failing_since
        if since and closing.started - since > closing.deadline - closing.started:
            # Down for longer than this close could wait: it will not come back in the
            # seconds left. One more try (below), then say what is lost.
            self._write_pending(force=True)
        else:
            self._retry_until(closing.deadline)
        closed_ok = self._backend_close(flush_only=False)
        left = self._unwritten()
        if left and not closing.abandoned:
            self._report_lost(left)
        closing.ok = closed_ok and not left
        closing.done.set()
        return True

    def _report_lost(self, n: int) -> None:
        self.stats["lost"] += n
        log.error(
            "HILT could not write %d events to backend %r before closing; they are lost "
            "(see the errors above for why)",
            n,
            self.backend_name,
        )

    def _process(self, batch: list[Event]) -> list[Event]:
        hook = self._registry.pm.hook
        # Looked up per batch: an enricher or redactor registered after the session opened
        # takes part from its next batch on.
        enrichers = [
            bind_impl(i, "event_enrich") for i in reversed(hook.event_enrich.get_hookimpls())
        ]
        redactors = _redactors.ordered(self._registry, self.policy.redactors)
        finish = self._finish
        if not enrichers and not redactors and finish is None:
            return batch
        if self._registry.tracing:
            # These hooks are called one by one (to isolate each plugin's failures), so
            # pluggy's monitoring does not see them: say what runs, once per batch.
            trace_log.info(
                "hook event_enrich -> %s, redact -> %s, on %d events",
                [getattr(f, "__module__", f) for f in enrichers],
                [name for name, _ in redactors],
                len(batch),
            )
        mode = self.capture
        options = self.options
        out: list[Event] = []
        for event in batch:
            for enrich in enrichers:
                try:
                    enrich(event=event, options=options)
                except Exception:
                    self.stats["enrich_errors"] += 1
                    log.exception("HILT event_enrich hook %r raised; event kept", enrich)
            keep = True
            for name, redact in redactors:
                try:
                    if redact(event=event, mode=mode, options=options) is False:
                        keep = False
                        break
                except Exception as exc:
                    self.stats["redaction_failures"] += 1
                    strip_content(event, f"redactor_failed:{name}")
                    log.error(
                        "HILT redactor %r raised %s; the event's content was dropped "
                        "(redaction fails closed)",
                        name,
                        type(exc).__name__,
                    )
                    break
            if not keep:
                self.stats["dropped_by_redactor"] += 1
                continue
            if finish is not None:
                try:
                    finish(event)
                except Exception as exc:
                    self.stats["redaction_failures"] += 1
                    strip_content(event, f"capture_failed:{mode}")
                    log.error(
                        "HILT capture mode %r failed on an event (%s); its content was dropped",
                        mode,
                        type(exc).__name__,
                    )
            out.append(event)
        return out

    def _report_drops(self) -> None:
        dropped = self.dropped
        if dropped > self._dropped_reported:
            n = dropped - self._dropped_reported
            self._dropped_reported = dropped
            self._pending.append(
                Event(
                    session_id="hilt",
                    actor=Actor(type="system", id="hilt"),
                    action="system",
                    content=Content(text=f"HILT dropped {n} events: the queue was full"),
                    extensions={"error_code": "hilt_dropped", "dropped": n},
                )
            )

    def _write_pending(self, force: bool = False) -> bool:
        if self.dropped > self._dropped_reported:
            self._report_drops()
        if not self._pending:
            return True
        now = time.monotonic()
        if not force and now < self._retry_at:
            return False
        self._writing_since = now
        try:
            try:
                self._write_hook(handle=self.handle, events=self._pending)
            except _UNFIXABLE as exc:
                if not unfixable(exc):
                    raise
                self._isolate(exc)
        except Exception as exc:
            self._writes += 1
            self._writing_since = 0.0
            self.stats["write_errors"] += 1
            if not self._failing:
                self._failing_since = now
            self._failing = True
            self._backoff = min(max(self._backoff * 2, 0.1), 30.0)
            self._retry_at = now + self._backoff
            log.error(
                "HILT backend %r failed to write %d events (%s: %s); kept, retrying in %.1fs",
                self.backend_name,
                len(self._pending),
                type(exc).__name__,
                exc,
                self._backoff,
            )
            return False
        self._writes += 1
        self._writing_since = 0.0
        self.stats["written"] += len(self._pending)
        self._pending = []
        self._backoff = 0.0
        self._failing = False
        self._failing_since = 0.0
        return True

    def _isolate(self, first: Exception) -> None:
        """The batch failed with an error that retrying cannot fix: see :func:`isolate`.
        What is not written when the backend fails on the way stays in ``_pending``."""
        written, replaced, left, error = isolate(
            lambda events: self._write_hook(handle=self.handle, events=events),
            self._pending,
            first,
            self.backend_name,
        )
        self.stats["written"] += written
        self.stats["unwritable"] += replaced
        self._pending = left
        if error is not None:
            raise error

    def _backend_close(self, flush_only: bool) -> bool:
        self._closing_since = time.monotonic()
        try:
            self._close_hook(handle=self.handle, flush_only=flush_only)
        except HILTError as exc:
            # A backend reporting a known state (rows spilled during an outage, say): its
            # message says it all, a traceback per flush would only be noise.
            log.warning("HILT backend %r: %s", self.backend_name, exc)
            return False
        except Exception:
            log.exception("HILT backend %r failed to flush/close", self.backend_name)
            return False
        finally:
            self._closing_since = 0.0
        return not self._pending

    def _after_fork_in_child(self) -> None:
        # Events queued before the fork belong to the parent, which writes them.
        self._queue = deque()
        self._pending = []
        self._wake = _Wake()
        # A close the parent had under way is the parent's: no writer here serves it.
        self._closing = None
        self._thread = None  # its locks are forksafe ones: free in the child
        self._writing_since = 0.0
        self._closing_since = 0.0
        self._failing = False
        self._failing_since = 0.0
        self._retry_at = 0.0
        self._backoff = 0.0
        self._queued_bytes = 0
        self._bytes_full = False


# Errors that a retry cannot fix: the backend could not encode an event's data. (An
# OSError is never one of them: a disk or a network may come back.)
_UNFIXABLE = (TypeError, ValueError, RecursionError, OverflowError)


def unfixable(exc: BaseException) -> bool:
    """True for a ``backend_write`` error that retrying the same batch cannot fix."""
    return isinstance(exc, _UNFIXABLE) and not isinstance(exc, OSError)


def isolate(
    write: Callable[[list[Event]], None],
    events: list[Event],
    first: Exception,
    backend_name: str,
) -> tuple[int, int, list[Event], Exception | None]:
    """``events`` failed to write with ``first``, an error retrying cannot fix (the data
    of some event: a backend that could not encode it). Write them in halves to find the
    events at fault, and replace each by a ``system`` event that keeps its id, so that one
    bad event costs that event, not its batch or every batch after it.

    Returns (events written, events replaced, events left, error): on an error of another
    kind on the way (the backend failing), what is not written yet is left, in order, and
    the error returned, to be retried as usual. ``backend_write`` being all-or-nothing
    (raise: nothing written), nothing is written twice."""
    log.warning(
        "HILT backend %r could not write a batch of %d events (%s: %s); looking for the "
        "event(s) at fault",
        backend_name,
        len(events),
        type(first).__name__,
        first,
    )
    written = replaced = 0
    stack = [events[len(events) // 2 :], events[: len(events) // 2]]
    while stack:
        part = stack.pop()
        if not part:
            continue
        try:
            write(part)
        except Exception as exc:
            if not unfixable(exc):
                return written, replaced, [e for p in [part, *reversed(stack)] for e in p], exc
            if len(part) > 1:
                stack += [part[len(part) // 2 :], part[: len(part) // 2]]
            else:
                replaced += 1
                written += _replace_unwritable(write, part[0], exc, backend_name)
            continue
        written += len(part)
    return written, replaced, [], None


def _replace_unwritable(
    write: Callable[[list[Event]], None], event: Event, exc: Exception, backend_name: str
) -> int:
    """Write a ``hilt_unwritable`` stand-in for ``event``; 1 if it was written."""
    session_id = event.session_id if isinstance(event.session_id, str) else "hilt"
    stand_in = Event.trusted(
        session_id=session_id or "hilt",
        actor=Actor(type="system", id="hilt"),
        action="system",
        content=Content.trusted("HILT could not write this event; this one stands in"),
        extensions={
            "error_code": "hilt_unwritable",
            "error_type": type(exc).__name__,
            "replaced_action": str(event.action),
        },
        event_id=event.event_id if isinstance(event.event_id, str) else None,
        timestamp=event.timestamp,
    )
    try:
        write([stand_in])
        done = 1
        written = "a system event with error_code 'hilt_unwritable' stands in for it"
    except Exception:
        done = 0
        written = "nothing stands in for it"
    log.error(
        "HILT backend %r cannot write event %s (%s: %s); %s",
        backend_name,
        stand_in.event_id,
        type(exc).__name__,
        exc,
        written,
    )
    return done


_live: weakref.WeakSet[Pipeline] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for p in list(_live):
        p._after_fork_in_child()


def open_pipelines() -> int:
    """How many pipelines are open (not closed yet) in this process."""
    return sum(1 for p in list(_live) if not p._closed)


def close_all(timeout: float) -> None:
    """Close every open session at once, within ``timeout`` seconds in all (interpreter
    exit, SIGTERM, the end of a multiprocessing child). Each session's writer works in
    parallel; whatever is not written by then is counted in an ERROR."""
    deadline = time.monotonic() + timeout
    closing: list[tuple[Pipeline, _Marker | None]] = []
    under_way: list[_Marker] = []
    for p in list(_live):
        if p._closed:
            # A close this call interrupted (SIGTERM while the exit, a multiprocessing
            # child's end or the application closes): its writer goes on; wait for it.
            if p._closing is not None and not p._closing.done.is_set():
                under_way.append(p._closing)
            continue
        try:
            closing.append((p, p._begin_close(deadline)))
        except Exception:
            log.exception("HILT could not close a session")
    for p, marker in closing:
        try:
            p._finish_close(marker, deadline)
        except Exception:
            log.exception("HILT could not close a session")
    for marker in under_way:
        marker.done.wait(max(deadline - time.monotonic(), 0.0))


os.register_at_fork(after_in_child=_reset_after_fork)
