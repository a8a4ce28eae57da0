"""The handle the core holds for ``backend="otel"``: a private tracer provider, the span
assembler and the export thread of one session."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from hilt_core import ConfigError, Event, HILTError, shutdown
from hilt_otel.export import INBOX_MIN, ExportLoop
from hilt_otel.settings import Settings, read_settings
from hilt_otel.spans import Assembler
from hilt_otel.transport import Sender

log = logging.getLogger("hilt")
debug_log = logging.getLogger("hilt.otel")

# The SDK's exporter logs each failed attempt on these loggers. On HILT's export threads
# those records are moved to the `hilt.otel` logger at DEBUG: HILT says what happened in
# its own words on the `hilt` logger (once per outage, and the total at close), and an
# application without logging set up gets no lines on stderr from a collector that is
# down. Records of the application's own exporters, on its own threads, are untouched.
SDK_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.common.http",
)
_threads: set[tuple[int, int]] = set()  # (process id, thread id) of the export threads
_filter_lock = threading.Lock()
_filter_installed = False


class _OnHiltThreads(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if (record.process, record.thread) in _threads:
            debug_log.debug("%s: %s", record.name, record.getMessage())
            return False
        return True


def _install_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if _filter_installed:
            return
        for name in SDK_LOGGERS:
            logging.getLogger(name).addFilter(_OnHiltThreads())
        _filter_installed = True


def _provider(settings: Settings) -> Any:
    """A tracer provider of HILT's own: never the global one (set_tracer_provider is
    never called, so the application's tracing and the SDKs that trace themselves when
    a global provider exists are left as they are). Every span is sampled: HILT records
    every call."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name is not None:
        attributes["service.name"] = settings.service_name
    return TracerProvider(
        sampler=ALWAYS_ON, resource=Resource.create(attributes), shutdown_on_exit=False
    )


class OtelBackend:
    """One session's export to one OTLP endpoint."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._start()

    def _start(self) -> None:
        from hilt_core.versions import version_of
        from hilt_otel.spans import collecting_processor

        s = self.settings
        self.provider = _provider(s)
        tracer = self.provider.get_tracer("hilt", version_of("hilt-otel"))
        self.assembler = Assembler(
            tracer, content=s.content, capture=s.capture, max_open=s.max_queue
        )
        self.sender = Sender(s)
        self.loop = ExportLoop(s, self.assembler, self.sender)
        self.provider.add_span_processor(collecting_processor(self.loop.take))
        _install_filter()
        self._pid = os.getpid()
        if self.loop.ident is not None:
            _threads.add((self._pid, self.loop.ident))
        self._closed = False

    def _forked(self) -> None:
        """In a child process after ``fork()``: the parent's thread, connections and
        queued spans stay the parent's; the child starts an export of its own, on its
        first use (not inside the fork: the SDK takes locks a fork may have left held)."""
        if self._pid != os.getpid():
            self._start()

    @property
    def endpoint(self) -> str:
        return self.sender.endpoint

    @property
    def close_timeout(self) -> float:
        """How long a close may take (``close()`` and ``uninstrument()`` wait for it)."""
        return self.settings.close_timeout

    @property
    def stats(self) -> dict[str, Any]:
        """spans_sent, export_requests, export_failures, spans_dropped, events_dropped,
        spans_rejected, events_failed, waiting, failing, last_error."""
        return self.loop.describe()

    def write(self, events: Sequence[Event]) -> None:
        self._forked()
        self.loop.put(list(events))

    def flush(self) -> None:
        self._forked()
        s = self.settings
        done = self.loop.flush(s.flush_timeout)
        if done or not (self.loop.failing or s.flush_timeout > 0):
            return
        waiting = self.loop.waiting()
        if self.loop.failing:
            raise HILTError(
                f"{waiting} spans are waiting for the collector at {self.endpoint} "
                f"({self.loop.last_error}); they are kept (at most otel_max_queue="
                f"{s.max_queue}) and retried"
            )
        raise HILTError(
            f"{waiting} spans were not at the collector at {self.endpoint} within "
            f"otel_flush_timeout={s.flush_timeout:g} s; they are still being sent"
        )

    def close(self) -> None:
        if self._closed:
            return
        self._forked()
        self._closed = True
        s = self.settings
        # At interpreter exit, what is left of HILT_EXIT_TIMEOUT (shared by every session).
        left = self.loop.close(shutdown.close_time_left(s.close_timeout))
        if self.loop.ident is not None:
            _threads.discard((self._pid, self.loop.ident))
        try:
            self.provider.shutdown()
        except Exception:
            debug_log.debug("the tracer provider failed to shut down", exc_info=True)
        stats = self.loop.stats
        what = _unsent(
            self.endpoint,
            s,
            dropped=stats["spans_dropped"],
            rejected=stats["spans_rejected"],
            left=left,
            events_dropped=stats["events_dropped"],
            events_failed=stats["events_failed"],
        )
        if what is None:
            return
        if self.loop.last_error:
            what += f". Last error: {self.loop.last_error}"
        raise HILTError(what)


def _unsent(
    endpoint: str,
    s: Settings,
    *,
    dropped: int,
    rejected: int,
    left: int,
    events_dropped: int,
    events_failed: int,
) -> str | None:
    """The one message that says what this session could not send, or None."""
    parts = []
    if dropped:
        parts.append(
            f"{dropped} dropped while it could not keep up or was unreachable "
            f"(otel_max_queue={s.max_queue})"
        )
    if rejected:
        parts.append(f"{rejected} refused by it")
    if left:
        parts.append(f"{left} still unsent at close (otel_close_timeout={s.close_timeout:g} s)")
    lines = []
    if parts:
        total = dropped + rejected + left
        lines.append(f"{total} spans could not be sent to {endpoint}: " + ", ".join(parts))
    if events_dropped:
        lines.append(
            f"{events_dropped} events were dropped before they became spans (more than "
            f"{max(2 * s.max_queue, INBOX_MIN)} waited while an export hung)"
        )
    if events_failed:
        lines.append(f"{events_failed} events could not be made into spans (see the errors above)")
    return "; ".join(lines) if lines else None


def open_backend(options: Mapping[str, Any]) -> OtelBackend:
    if options.get("mode") == "r":
        raise ConfigError(
            "backend='otel' sends spans and cannot read them back: read the JSONL file "
            "kept beside it (backend=['jsonl', 'otel'])"
        )
    return OtelBackend(read_settings(options))
