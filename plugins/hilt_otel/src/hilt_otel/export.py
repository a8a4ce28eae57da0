"""The export thread of one ``otel`` backend: events in, spans out, off HILT's writer.

HILT's writer thread only appends the events of a batch to an inbox and returns. This
thread ("hilt-otel-export") turns them into spans and sends them in batches, so neither
the span building nor a slow, failing or absent collector ever holds up the writer (and
through it the session's other backends) or the application.

During an outage the spans are **kept and retried**, in order, with a backoff of 1 s
doubling to 30 s between attempts (each attempt is one ``export()``, in which the SDK's
exporter itself retries a refused connection or a 429/502/503/504 until ``otel_timeout``).
Memory is bounded: at most ``otel_max_queue`` spans are kept, and events wait in the
inbox only while this thread is inside an export (at most twice ``otel_max_queue``, and
at least 10,000); past that the **oldest are dropped**, counted. What the collector
refuses for good (a 4xx other than 408/429: a bad token, a malformed request) is given
up at once, counted. Nothing is spilled to disk: keep a JSONL backend beside this one
(``backend=["jsonl", "otel"]``) for a local copy of every event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from hilt_core.internal import background_thread
from hilt_otel.transport import Outcome

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from hilt_core import Event
    from hilt_otel.settings import Settings
    from hilt_otel.spans import Assembler
    from hilt_otel.transport import Sender

log = logging.getLogger("hilt")

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
INBOX_MIN = 10_000
# An outage or a run of drops is logged once, then at most once a minute.
WARN_EVERY = 60.0


class ExportLoop:
    def __init__(self, settings: Settings, assembler: Assembler, sender: Sender) -> None:
        self.settings = settings
        self.assembler = assembler
        self.sender = sender
        self._cond = threading.Condition(threading.Lock())
        self._inbox: deque[Event] = deque()
        self._stopping = False
        self._flush_asked = False
        self._deadline = 0.0
        self._abandoned = False
        # Touched by this thread only (read as plain ints by others):
        self._spans: deque[ReadableSpan] = deque()
        self.inflight = 0
        self.failing = False
        self.last_error = ""
        self._backoff = 0.0
        self._retry_at = 0.0
        self._last_export = time.monotonic()
        self._last_outage_warning = float("-inf")
        self._last_drop_warning = float("-inf")
        self._finished = False
        self.stats: dict[str, int] = {
            "spans_sent": 0,
            "export_requests": 0,
            "export_failures": 0,
            "spans_dropped": 0,  # past otel_max_queue while the collector lagged
            "events_dropped": 0,  # the inbox was full (spans could not be made fast enough)
            "spans_rejected": 0,  # refused by the collector for good
            "events_failed": 0,  # events no span could be made of (a bug: logged)
        }
        self._idle = threading.Condition(threading.Lock())
        # Events wait here only while this thread is inside an export (a call is two events,
        # and HILT's writer hands them over a batch at a time).
        self.inbox_limit = max(2 * settings.max_queue, INBOX_MIN)
        self._thread = threading.Thread(target=self._run, name="hilt-otel-export", daemon=True)
        self._thread.start()

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    # -- HILT's writer thread --------------------------------------------------------------
    def put(self, events: list[Event] | tuple[Event, ...]) -> None:
        limit = self.inbox_limit
        with self._cond:
            self._inbox.extend(events)
            over = len(self._inbox) - limit
            if over > 0:
                for _ in range(over):
                    self._inbox.popleft()
                self.stats["events_dropped"] += over
            self._cond.notify()
        if over > 0:
            self._warn_drop(f"{over} events dropped before they became spans")

    def waiting(self) -> int:
        """Spans not sent yet, and events not yet made into spans."""
        return len(self._spans) + self.inflight + len(self._inbox)

    def flush(self, timeout: float) -> bool:
        """Ask for an export of everything made so far; wait up to ``timeout`` seconds for
        it. True when nothing is left to send."""
        with self._cond:
            self._flush_asked = True
            self._cond.notify()
        if timeout > 0:
            end = time.monotonic() + timeout
            with self._idle:
                while self.waiting() and not self.failing:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self._idle.wait(min(left, 0.05))
        return not self.waiting()

    def close(self, timeout: float) -> int:
        """Send what is left for up to ``timeout`` seconds, then stop. Returns how many
        spans (or events not yet spans) were left unsent."""
        with self._cond:
            self._stopping = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify()
        self._thread.join(timeout + 0.5)
        left = 0
        if self._thread.is_alive():
            # Still inside an export (a collector that does not answer): give it up. The
            # exporter's shutdown below ends its retries; the thread ends with it.
            self._abandoned = True
            left = self.waiting()
            if not self._finished:
                left += self.assembler.open_prompts
        else:
            left = len(self._spans) + len(self._inbox)
        self.sender.shutdown()
        return left

    # -- this thread ---------------------------------------------------------------------
    def _run(self) -> None:
        background_thread()
        try:
            while not self._abandoned:
                with self._cond:
                    self._cond.wait_for(self._woken, timeout=self._wait())
                    events = list(self._inbox)
                    self._inbox.clear()
                    stopping = self._stopping
                    flush = self._flush_asked
                    self._flush_asked = False
                for event in events:
                    try:
                        self.assembler.add(event)
                    except Exception:
                        # One event HILT cannot turn into a span costs that event only.
                        self.stats["events_failed"] += 1
                        log.exception(
                            "HILT backend 'otel' could not make a span of event %s; the "
                            "other events are exported",
                            getattr(event, "event_id", "?"),
                        )
                if stopping and not self._finished:
                    self.assembler.finish()
                    self._finished = True
                self._trim()
                self._export(everything=stopping or flush, stopping=stopping)
                self._notify_idle()
                if stopping and (not self._spans or time.monotonic() >= self._deadline):
                    return
        except Exception:
            log.exception("HILT's OpenTelemetry export thread failed; spans are no longer sent")

    def _woken(self) -> bool:
        return bool(self._inbox) or self._stopping or self._flush_asked

    def _wait(self) -> float:
        now = time.monotonic()
        if self.failing:
            return max(0.01, self._retry_at - now)
        if self._spans:
            return max(0.01, self._last_export + self.settings.schedule_delay - now)
        return self.settings.schedule_delay

    def take(self, span: ReadableSpan) -> None:
        """The span processor's sink: a span the assembler just ended."""
        self._spans.append(span)

    def _trim(self) -> None:
        over = len(self._spans) - self.settings.max_queue
        if over > 0:
            for _ in range(over):
                self._spans.popleft()
            self.stats["spans_dropped"] += over
            self._warn_drop(f"{over} spans dropped")

    def _export(self, *, everything: bool, stopping: bool) -> None:
        size = self.settings.batch_size
        while self._spans and not self._abandoned:
            now = time.monotonic()
            if now < self._retry_at:
                if not stopping or self._retry_at >= self._deadline:
                    return
                time.sleep(self._retry_at - now)
            full = len(self._spans) >= size
            due = now - self._last_export >= self.settings.schedule_delay
            if not (full or due or everything):
                return
            batch = [self._spans.popleft() for _ in range(min(size, len(self._spans)))]
            self.inflight = len(batch)
            outcome, rejected, error = self.sender.send(batch)
            self.inflight = 0
            self.stats["export_requests"] += 1
            self._last_export = time.monotonic()
            if outcome is Outcome.SENT:
                self.stats["spans_sent"] += len(batch) - rejected
                if rejected:
                    self.stats["spans_rejected"] += rejected
                    self.last_error = error
                self._recovered()
            elif outcome is Outcome.REJECTED:
                self.stats["spans_rejected"] += len(batch)
                self.stats["export_failures"] += 1
                self.last_error = error
                log.error(
                    "HILT backend 'otel': the collector at %s refused %d spans (%s); they "
                    "are given up (a retry would be refused too)",
                    self.sender.endpoint,
                    len(batch),
                    error,
                )
            else:
                self.stats["export_failures"] += 1
                self.last_error = error
                self._spans.extendleft(reversed(batch))
                self._trim()
                self._failed()
                if stopping and self._retry_at >= self._deadline:
                    return

    def _failed(self) -> None:
        self._backoff = min(max(self._backoff * 2, FIRST_BACKOFF), MAX_BACKOFF)
        self._retry_at = time.monotonic() + self._backoff
        now = time.monotonic()
        if not self.failing or now - self._last_outage_warning > WARN_EVERY:
            self._last_outage_warning = now
            log.warning(
                "HILT backend 'otel': the collector at %s cannot take spans now (%s); %d "
                "spans are kept (at most otel_max_queue=%d) and retried, in %.0f s at first",
                self.sender.endpoint,
                self.last_error,
                len(self._spans),
                self.settings.max_queue,
                self._backoff,
            )
        self.failing = True

    def _recovered(self) -> None:
        if self.failing:
            log.info(
                "HILT backend 'otel': the collector at %s takes spans again", self.sender.endpoint
            )
        self.failing = False
        self._backoff = 0.0
        self._retry_at = 0.0

    def _warn_drop(self, what: str) -> None:
        now = time.monotonic()
        if now - self._last_drop_warning > WARN_EVERY:
            self._last_drop_warning = now
            log.warning(
                "HILT backend 'otel': %s: more than otel_max_queue=%d are waiting for the "
                "collector at %s (%s). The total is reported when the session closes",
                what,
                self.settings.max_queue,
                self.sender.endpoint,
                self.last_error or "it is too slow",
            )

    def _notify_idle(self) -> None:
        with self._idle:
            self._idle.notify_all()

    def describe(self) -> dict[str, Any]:
        return {
            **self.stats,
            "waiting": self.waiting(),
            "failing": self.failing,
            "last_error": self.last_error,
        }
