"""The upload thread: the one owner of the gspread client (a ``requests.Session`` is not
thread-safe), turning buffered rows into paced ``values.append`` requests.

Rows flow buffer -> sheet, one append per batch, at most ``writes_per_minute`` writes.
Failures are retried with jittered exponential backoff (429, 5xx, dropped connections);
when retrying cannot help now (a long outage, a revoked share, too many retries, or a
flush deadline) the rows go to the spill file and the thread probes the sheet with
growing pauses. Order is kept by one rule: while the spill file holds rows, it is
replayed before any buffered row is sent, and buffered rows are spilled behind it.

Closing: the rows still in memory are written to the spill file first (so an exit that
cannot wait loses nothing), then the file is uploaded, retrying with the backoff until
the close deadline, the last try just before it. The replay lock is held from that write
until the thread ends, so no other process can have sent those rows meanwhile and they
need no ``event_id`` check.

Duplicates: a request whose answer was lost, or that Google answered 5xx, may have been
applied. Before sending such a batch again, and before every replay of rows this thread
did not just write, it reads the sheet's ``event_id`` column and skips rows already there.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from hilt_core.internal import background_thread
from hilt_sheets.cells import Row, row_bytes
from hilt_sheets.failures import classify, describe, status_of
from hilt_sheets.settings import ID_COLUMN, Settings
from hilt_sheets.spill import Spill
from hilt_sheets.target import Target

log = logging.getLogger("hilt")

T = TypeVar("T")
_NEVER = math.inf


class _Ticket:
    """A flush request: done once every row accepted before it is uploaded or spilled."""

    __slots__ = ("deadline", "done", "lost", "ok", "upto")

    def __init__(self, upto: int, deadline: float, lost: int) -> None:
        self.upto = upto
        self.deadline = deadline
        self.lost = lost  # rows lost before the flush: more since makes it fail
        self.done = threading.Event()
        self.ok = False


class Uploader:
    def __init__(
        self,
        settings: Settings,
        *,
        target: Target | None,
        connect: Callable[[], Target],
        spill: Spill,
        account: str,
        last_error: str = "",
    ) -> None:
        self.settings = settings
        self.spill = spill
        self.account = account
        self._target = target
        self._connect = connect
        self._reset_state()
        self.stats: dict[str, Any] = {
            "uploaded": 0,
            "appends": 0,
            "retries": 0,
            "spilled": 0,
            "replayed": 0,
            "skipped_duplicates": 0,
            "failures": 0,
            "repaired": 0,
            "lost": 0,
            "last_error": last_error,
        }
        if target is None:  # the sheet was unreachable at open: start by probing it
            self._down = True
            self._probe_at = time.monotonic()
        self._start()

    def _reset_state(self) -> None:
        self._cond = threading.Condition()
        self._buffer: deque[Row] = deque()
        self._oldest_at = 0.0
        self._accepted = 0
        self._settled = 0
        self._inflight: list[Row] = []
        self._tickets: list[_Ticket] = []
        self._jobs: deque[tuple[Callable[[], Any], Future[Any]]] = deque()
        self._stopping = False
        self._close_deadline = _NEVER
        self._last_try = _NEVER  # while closing: no request starts after this
        self._close_began = False
        self._close_warned = False
        self._close_hold = contextlib.ExitStack()  # the replay lock, held while closing
        self._holding = False
        self._fresh: set[str] = set()  # ids written to the file under the held lock
        self._again = False
        self._unjournaled = False
        self._abandoned = False
        self._down = False
        self._probe_at = 0.0
        self._probe_delay = self.settings.retry_base
        self._next_write_at = 0.0
        self._last_row: int | None = None
        self._spill_seen = self.spill.pending()
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hilt-sheets", daemon=True)
        self._thread.start()

    # -- called from other threads ---------------------------------------------------------
    def put(self, rows: list[Row]) -> None:
        if not rows:
            return
        if self._pid != os.getpid():
            self._after_fork()
        with self._cond:
            if self._stopping:
                # Closed: nobody will upload these; keep them for the next session.
                if self._spill_rows(rows):
                    log.warning(
                        "HILT got %d rows for Google Sheet %r after its session closed; they "
                        "wait in %s for the next session or `hilt sheets replay`",
                        len(rows),
                        self.settings.sheet_id,
                        self.spill.path,
                    )
                return
            if not self._buffer:
                self._oldest_at = time.monotonic()
            self._buffer.extend(rows)
            self._accepted += len(rows)
            if len(self._buffer) >= self.settings.max_batch_rows:
                self._cond.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until the rows accepted so far are in the sheet (True), or spilled or lost
        (False)."""
        margin = min(1.0, timeout * 0.2)  # spill in time for the caller to see the result
        with self._cond:
            if not self._alive():
                return not self._buffer and not self.spill.pending()
            lost = self.stats["lost"]
            ticket = _Ticket(self._accepted, time.monotonic() + timeout - margin, lost)
            self._tickets.append(ticket)
            self._cond.notify_all()
        ticket.done.wait(timeout)
        return ticket.done.is_set() and ticket.ok

    def close(self, timeout: float) -> bool:
        """Write what waits in memory to the spill file, upload the file (retrying until
        the deadline), stop the thread; False if rows are left in the file, or lost."""
        margin = min(1.0, timeout * 0.2)  # answer in time for the caller
        with self._cond:
            lost = self.stats["lost"]
            now = time.monotonic()
            self._stopping = True
            self._close_deadline = now + timeout - margin
            # Room for the last request to be answered before the deadline.
            self._last_try = self._close_deadline - min(1.0, timeout * 0.1)
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            if thread is not None and thread.is_alive():
                self._abandoned = True  # stuck in a request: it makes no other
            # Rows a stuck (or dead) thread still holds: kept, and a replay skips any that
            # land after all.
            self._spill_rows(self._inflight + list(self._buffer))
            self._inflight = []
            self._buffer.clear()
            return not self.spill.pending() and self.stats["lost"] == lost

    def waiting(self) -> int:
        """Rows in the spill file (of every session that shares it) and in memory."""
        with self._cond:
            held = len(self._buffer) + len(self._inflight)
        try:
            return held + len(self.spill.load())
        except OSError:
            return held

    def count(self, name: str, n: int) -> None:
        with self._cond:
            self.stats[name] += n

    def call(self, fn: Callable[[], T], timeout: float) -> T:
        """Run ``fn`` (a read) on the upload thread, which owns the client."""
        future: Future[T] = Future()
        with self._cond:
            queued = self._alive()
            if queued:
                self._jobs.append((fn, future))
                self._cond.notify_all()
        if not queued:  # the thread is gone (closed session): nobody else uses the client
            return fn()
        return future.result(timeout)

    def snapshot(self) -> dict[str, Any]:
        with self._cond:
            return {
                **self.stats,
                "buffered": len(self._buffer) + len(self._inflight),
                "down": self._down,
                "spill_pending": self.spill.pending(),
            }

    @property
    def target(self) -> Target | None:
        return self._target

    def _gone(self) -> bool:
        return self._abandoned  # close() gave up on this thread while it was in a request

    def _alive(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive() and not self._abandoned and not self._stopping

    def _after_fork(self) -> None:
        # The parent's buffer and thread stay with the parent; so do its connections.
        self.spill.after_fork()
        self._reset_state()
        if self._target is not None:
            self._target.drop_connections()
        self._start()

    # -- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        background_thread()
        try:
            self._loop()
        finally:
            self._holding = False
            self._close_hold.close()  # the replay lock, if closing took it

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._abandoned and not self._due():
                    self._cond.wait(self._idle_wait())
                if self._abandoned:
                    return
                stopping = self._stopping
                tickets = list(self._tickets)
            self._run_jobs()
            self._again = False
            try:
                self._pass(urgent=bool(tickets) or stopping)
            except Exception as exc:  # a bug here must not lose rows or kill the thread
                log.exception("HILT Sheets upload error; rows are kept in %s", self.spill.path)
                try:
                    self._fail(exc)
                except Exception:
                    log.exception("HILT Sheets could not keep its rows")
            with self._cond:
                if self._gone():
                    return
                # Every row is in the sheet, none was lost since the flush was asked.
                ok = not self.spill.pending()
                for ticket in tickets:
                    if self._settled >= ticket.upto:
                        ticket.ok = ok and self.stats["lost"] == ticket.lost
                        ticket.done.set()
                        self._tickets.remove(ticket)
                if stopping and not self._buffer and not self._again:
                    self._fail_jobs()
                    return

    def _due(self) -> bool:
        if self._jobs or self._tickets or self._stopping:
            return True
        now = time.monotonic()
        n = len(self._buffer)
        if n >= self.settings.max_batch_rows:
            return True
        if n and now >= self._oldest_at + self.settings.flush_interval:
            return True
        if self._down:
            return now >= self._probe_at and self._spill_seen
        return self._spill_seen

    def _idle_wait(self) -> float:
        now = time.monotonic()
        wait = 1.0
        if self._buffer:
            wait = min(wait, self._oldest_at + self.settings.flush_interval - now)
        if self._down and self._spill_seen:  # else there is nothing to probe with
            wait = min(wait, self._probe_at - now)
        return max(wait, 0.005)

    def _run_jobs(self) -> None:
        while True:
            with self._cond:
                if not self._jobs:
                    return
                fn, future = self._jobs.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)

    def _fail_jobs(self) -> None:
        while self._jobs:
            _, future = self._jobs.popleft()
            if future.set_running_or_notify_cancel():
                future.set_exception(RuntimeError("the HILT Sheets session is closed"))

    def _pass(self, urgent: bool) -> None:
        """Upload what is waiting: the spill file first, then the buffer."""
        with self._cond:
            idle = not self._buffer
        if idle and not self.spill.pending():
            return  # nothing waits: no request (a close while down stays quiet)
        if self._stopping and not self._begin_close():
            return  # another process is replaying the file: it takes our rows along
        if self._down and not urgent and time.monotonic() < self._probe_at:
            self._spill_all()  # during an outage rows wait on disk, not in memory
            return
        target = self._target
        if target is None:
            if not self._retrying(self._reconnect, write=False):
                return
            target = self._target
            assert target is not None
        elif target.header_age() >= self.settings.header_ttl and not self._retrying(
            lambda _: self._check_header(target), write=False
        ):
            return
        self._spill_seen = self.spill.pending()
        if self._spill_seen and not self._replay(target):
            return
        with self._cond:
            upto = self._accepted  # rows arriving meanwhile wait for the next pass
        # Once closing, rows leave from the spill file (written first), unless it failed.
        while self._settled < upto and (not self._stopping or self._unjournaled):
            with self._cond:
                batch = self._take_batch()
                self._inflight = batch
            if not batch:
                break
            if not self._retrying(self._sender(target, batch), write=True):
                return
            with self._cond:
                self._inflight = []
                self._settled += len(batch)
        self._recovered()

    def _begin_close(self) -> bool:
        """Closing: take the replay lock for the rest of the thread's life and write what
        waits in memory to the spill file; False if another process holds the lock."""
        if not self._close_began:
            self._close_began = True
            try:
                self._holding = self._close_hold.enter_context(self.spill.replaying())
            except OSError:
                log.exception("HILT cannot lock spill file %s", self.spill.path)
                self._holding = False
            with self._cond:
                self._journal()
            if self._down:
                self._closing_trouble(str(self.stats["last_error"]))
        if not self._holding:
            self._spill_all()
        return self._holding

    def _journal(self) -> None:
        """The rows in memory to the spill file, before a close sends them. If the file
        cannot take them (a full disk), they are sent from memory as before."""
        rows = list(self._buffer)
        if not rows:
            return
        try:
            self.spill.append(rows)
        except Exception as exc:
            self._unjournaled = True
            log.warning(
                "HILT could not keep %d rows in %s while closing (%s: %s); sending them "
                "from memory",
                len(rows),
                self.spill.path,
                type(exc).__name__,
                exc,
            )
            return
        self._buffer.clear()
        self._settled = self._accepted
        self._spill_seen = True
        if self._holding:
            self._fresh.update(str(r.get(ID_COLUMN)) for r in rows)

    def _closing_trouble(self, why: str) -> None:
        """Say once, as soon as a close has to wait, how many rows wait and where: an exit
        that cannot wait that long still leaves this line (and the rows on disk)."""
        if self._close_warned:
            return
        self._close_warned = True
        waiting = len(self._buffer) + len(self._inflight)
        with contextlib.suppress(OSError):
            waiting += len(self.spill.load())
        log.warning(
            "HILT is closing while Google Sheet %r does not take rows (%s): %d rows wait in "
            "%s, and stay there if the program ends first; retrying for up to %.0f s",
            self.settings.sheet_id,
            why.rstrip(".") or "unreachable",
            waiting,
            self.spill.path,
            max(self._close_deadline - time.monotonic(), 0.0),
        )

    def _reconnect(self, _ambiguous: bool) -> None:
        self._target = self._connect()

    def _check_header(self, target: Target) -> None:
        # Someone may have moved, added or deleted columns: rows go by name, so re-read.
        if target.sync_header():
            self._next_write_at = time.monotonic() + self.settings.write_spacing

    def _take_batch(self) -> list[Row]:
        batch: list[Row] = []
        size = 0
        while self._buffer and len(batch) < self.settings.max_batch_rows:
            cost = row_bytes(self._buffer[0])
            if batch and size + cost > self.settings.max_batch_bytes:
                break
            batch.append(self._buffer.popleft())
            size += cost
        if self._buffer:
            self._oldest_at = time.monotonic()
        return batch

    def _sender(
        self, target: Target, rows: list[Row], spilled: set[str] | None = None
    ) -> Callable[[bool], object]:
        def send(ambiguous: bool) -> object:
            if ambiguous and spilled is not None:
                self._fresh.difference_update(spilled)  # may be in the sheet now
            return self._send(target, rows, ambiguous)

        return send

    @staticmethod
    def _id_reader(target: Target, first_row: int, into: set[str]) -> Callable[[bool], object]:
        return lambda _: into.update(target.ids(first_row))

    def _send(self, target: Target, rows: list[Row], ambiguous: bool) -> list[Row]:
        """Append ``rows`` (minus those a lost answer may already have put in the sheet)."""
        if ambiguous:
            present = target.ids(self._last_row or 2)
            kept = [r for r in rows if str(r.get(ID_COLUMN)) not in present]
            self.stats["skipped_duplicates"] += len(rows) - len(kept)
            rows = kept
        if rows:
            self._next_write_at = time.monotonic() + self.settings.write_spacing
            last = target.append(rows)
            if last is not None:
                self._last_row = last
            self.stats["appends"] += 1
            self.stats["uploaded"] += len(rows)
        return rows

    def _replay(self, target: Target) -> bool:
        """Upload the spill file's rows, oldest first, skipping those already in the sheet."""
        while True:
            held = contextlib.nullcontext(True) if self._holding else self.spill.replaying()
            with held as mine:
                if mine:
                    return self._replay_held(target)
            # Another session is replaying this file (its rows and ours). A flush waits for
            # it, up to its deadline; otherwise our rows queue behind its rows.
            with self._cond:
                waited_for = bool(self._tickets)
            if not (waited_for and self._wait_until(time.monotonic() + 0.05)):
                self._spill_all()
                self._go_down(self.settings.flush_interval)
                return False

    def _replay_held(self, target: Target) -> bool:
        """The replay proper, with the replay lock held."""
        first_row = 2  # the whole column: a lost answer may have landed anywhere
        while True:
            rows = self.spill.load()
            if not rows:
                self._spill_seen = False
                return True
            present: set[str] = set()
            # Rows this thread wrote under the lock it still holds were never sent:
            # only the others need the (whole-column) check.
            if any(str(r.get(ID_COLUMN)) not in self._fresh for r in rows):
                reader = self._id_reader(target, first_row, present)
                if not self._retrying(reader, write=False):
                    return False
                # Rows other sessions add meanwhile: only what landed since needs checking.
                first_row = self._last_row or 2
            done = {str(r.get(ID_COLUMN)) for r in rows if str(r.get(ID_COLUMN)) in present}
            self.stats["skipped_duplicates"] += len(done)
            self.spill.remove(done)
            todo = [r for r in rows if str(r.get(ID_COLUMN)) not in present]
            while todo:
                chunk = self._chunk(todo)
                todo = todo[len(chunk) :]
                ids = {str(r.get(ID_COLUMN)) for r in chunk}
                if not self._retrying(self._sender(target, chunk, ids), write=True):
                    return False
                self.spill.remove(ids)
                self._fresh.difference_update(ids)
                self.stats["replayed"] += len(chunk)
            log.info("HILT replayed rows kept in %s into the sheet", self.spill.path)

    def _chunk(self, rows: list[Row]) -> list[Row]:
        size = 0
        for i, row in enumerate(rows[: self.settings.max_batch_rows]):
            size += row_bytes(row)
            if i and size > self.settings.max_batch_bytes:
                return rows[:i]
        return rows[: self.settings.max_batch_rows]

    # -- failure handling ------------------------------------------------------------------
    def _retrying(self, action: Callable[[bool], object], *, write: bool) -> bool:
        """Run ``action(ambiguous)`` until it succeeds (True). On a permanent failure, too
        many retries or a deadline, spill what is waiting and return False. While closing,
        retries go on until the last try the close deadline leaves room for."""
        attempt = 0
        ambiguous = False
        while True:
            if write and not self._wait_until(self._next_write_at):
                self._stop_waiting()
                return False
            started = time.monotonic()
            try:
                action(ambiguous)
                return True
            except Exception as exc:
                kind = classify(exc)
                ambiguous = ambiguous or kind == "ambiguous"
                delay = self._backoff(attempt)
                if self._stopping:
                    if kind == "permanent" or started >= self._last_try:
                        self._fail(exc)
                        return False
                    self._closing_trouble(
                        describe(
                            exc, self.settings.sheet_id, self.settings.worksheet_name, self.account
                        )
                    )
                    delay = min(delay, max(self._last_try - time.monotonic(), 0.0))
                    if self._inflight:
                        # Rows must not wait in memory during a pause while closing: an exit
                        # that cannot wait would lose them. The next pass replays them.
                        self._hand_over_to_close()
                        return False
                # While down, one request is the probe; the pause between probes grows.
                elif kind == "permanent" or attempt >= (
                    0 if self._down else self.settings.max_retries
                ):
                    self._fail(exc)
                    return False
                attempt += 1
                self.stats["retries"] += 1
                log.debug("HILT Sheets request failed (%r); retry in %.2fs", exc, delay)
                if not self._wait_until(time.monotonic() + delay):
                    if self._closing_now():
                        self._hand_over_to_close()
                    else:
                        self._fail(exc, probe_in=delay)
                    return False

    def _backoff(self, attempt: int) -> float:
        # Google's advice: min(2^n + random up to 1 s, max); the jitter spreads retries of
        # many processes that failed together.
        s = self.settings
        base = min(s.retry_base * 2.0**attempt, s.max_backoff)
        return base + random.uniform(0, min(1.0, s.retry_base))

    def _closing_now(self) -> bool:
        """A close began while this pass was under way: it must write the rows to disk
        before anything waits (see :meth:`_begin_close`)."""
        return self._stopping and not self._close_began and not self._abandoned

    def _hand_over_to_close(self) -> None:
        # The batch on the wire may have landed: to the file, checked at replay. Rows still
        # in the buffer are left to the close, which writes them as never sent.
        with self._cond:
            rows = self._inflight
            self._inflight = []
            self._settled += len(rows)
            self._spill_rows(rows)
        self._again = True

    def _stop_waiting(self) -> None:
        if self._closing_now():
            self._hand_over_to_close()
        else:
            self._spill_all()

    def _wait_until(self, when: float) -> bool:
        """Sleep until ``when`` (serving reads meanwhile); False if a flush or close
        deadline comes first, a close begins, the buffer overflows, or the session was
        abandoned."""
        while True:
            with self._cond:
                now = time.monotonic()
                if self._abandoned or len(self._buffer) > self.settings.max_buffer_rows:
                    return False
                if self._closing_now() and (self._inflight or self._buffer):
                    return False  # rows in memory: the close writes them to disk first
                if self._stopping:
                    when = min(when, self._last_try)  # a close cuts long pauses short
                if now >= when:
                    return True
                if self._deadline() < when:
                    return False
                if not self._jobs:
                    self._cond.wait(min(when - now, 0.25))
            self._run_jobs()

    def _deadline(self) -> float:
        deadline = self._close_deadline if self._stopping else _NEVER
        for ticket in self._tickets:
            deadline = min(deadline, ticket.deadline)
        return deadline

    def _fail(self, exc: BaseException, probe_in: float | None = None) -> None:
        message = describe(exc, self.settings.sheet_id, self.settings.worksheet_name, self.account)
        kind = classify(exc)
        if kind == "permanent":
            self._target = None  # reconnect on the next probe: the tab may be gone, ...
        self.stats["failures"] += 1
        first = not self._down
        self.stats["last_error"] = message
        self._spill_all()
        self._go_down(probe_in)
        level = logging.ERROR if kind == "permanent" or status_of(exc) == 403 else logging.WARNING
        if first:
            try:
                waiting = len(self.spill.load())
            except OSError:
                waiting = 0
            log.log(
                level,
                "HILT could not write to Google Sheet %r: %s. %d rows are kept in %s and "
                "replayed, in order, when the sheet is reachable again.",
                self.settings.sheet_id,
                message.rstrip("."),
                waiting,
                self.spill.path,
            )
        else:
            log.debug("HILT Sheets still unreachable: %s", message)

    def _go_down(self, probe_in: float | None = None) -> None:
        s = self.settings
        with self._cond:
            if probe_in is None:
                probe_in = self._probe_delay + random.uniform(0, min(1.0, s.retry_base))
                self._probe_delay = min(self._probe_delay * 2, s.max_backoff)
            self._down = True
            self._probe_at = time.monotonic() + probe_in
            self._spill_seen = self._spill_seen or self.spill.pending()

    def _recovered(self) -> None:
        with self._cond:
            if self._down:
                log.info("HILT is writing to Google Sheet %r again", self.settings.sheet_id)
            self._down = False
            self._probe_delay = self.settings.retry_base

    def _spill_all(self) -> None:
        with self._cond:
            rows = self._inflight + list(self._buffer)
            self._fresh.difference_update(str(r.get(ID_COLUMN)) for r in self._inflight)
            self._inflight = []
            self._buffer.clear()
            self._spill_rows(rows)
            self._settled = self._accepted

    def _spill_rows(self, rows: list[Row]) -> bool:
        # Under the condition's lock: a close() that gives up on a stuck thread must find
        # every row either in memory or on disk, never in between.
        if not rows:
            return True
        try:
            self.spill.append(rows)
        except Exception as exc:  # a full disk, a refused symbolic link, ...
            self.stats["lost"] += len(rows)
            log.error(
                "HILT lost %d rows for Google Sheet %r: they could not be sent and could not "
                "be kept in %s (%s: %s)",
                len(rows),
                self.settings.sheet_id,
                self.spill.path,
                type(exc).__name__,
                exc,
                exc_info=not isinstance(exc, OSError),
            )
            return False
        self.stats["spilled"] += len(rows)
        self._spill_seen = True
        return True
