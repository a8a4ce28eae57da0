"""The OTLP/HTTP exporter, built from the settings, and what its last export told us.

The SDK's ``OTLPSpanExporter`` answers only SUCCESS or FAILURE. To decide between
keeping a batch for later (the collector is down, overloaded, slow) and giving it up (the
collector refuses it: a bad token, a malformed request), the exporter is handed a
``requests.Session`` that records each response's status (the ``session=`` argument is
the SDK's public way to bring one's own), and the body of a success, where OTLP's
``partial_success`` says how many spans the collector rejected.
"""

from __future__ import annotations

import contextlib
import enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter

    from hilt_otel.settings import Settings


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"  # the collector could not take it now: keep it and retry
    REJECTED = "rejected"  # the collector will never take it: give it up, counted


# Statuses OTLP/HTTP says to retry (the SDK's own list, plus 408 and 500, which a proxy in
# front of a collector answers when it restarts).
_RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})


def _recording_session() -> requests.Session:
    import requests

    class RecordingSession(requests.Session):
        """A requests session remembering the outcome of its last request."""

        status: int | None = None
        error: str | None = None
        rejected_spans = 0
        rejected_message = ""

        def request(
            self, method: str, url: str | bytes, *args: Any, **kwargs: Any
        ) -> requests.Response:
            try:
                response = super().request(method, url, *args, **kwargs)
            except Exception as exc:
                self.status = None
                self.error = f"{type(exc).__name__}: {exc}"
                raise
            self.status = response.status_code
            if response.status_code >= 400:
                body = (response.text or "").strip().replace("\n", " ")
                self.error = f"HTTP {response.status_code} {response.reason or ''}".strip() + (
                    f": {body[:200]}" if body else ""
                )
            else:
                self.error = None
                self._partial(response)
            return response

        def _partial(self, response: requests.Response) -> None:
            content = response.content
            if not content:
                return
            try:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceResponse,
                )

                parsed = ExportTraceServiceResponse.FromString(content)
            except Exception:  # a JSON body, or not OTLP: nothing to learn from it
                return
            if parsed.HasField("partial_success"):
                self.rejected_spans += parsed.partial_success.rejected_spans
                if parsed.partial_success.error_message:
                    self.rejected_message = parsed.partial_success.error_message

    return RecordingSession()


class Sender:
    """Sends one batch of spans and says what became of it."""

    def __init__(self, settings: Settings) -> None:
        self.endpoint = settings.endpoint
        self._session: Any = None
        if settings.exporter is not None:
            self.exporter: SpanExporter = settings.exporter
            self.endpoint = f"the exporter {type(settings.exporter).__name__}"
            return
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        self._session = _recording_session()
        self.exporter = OTLPSpanExporter(
            endpoint=settings.endpoint,
            headers=settings.headers or None,
            timeout=settings.timeout,
            compression={
                "gzip": Compression.Gzip,
                "deflate": Compression.Deflate,
                "none": Compression.NoCompression,
            }[settings.compression],
            session=self._session,
        )

    def send(self, spans: list[ReadableSpan]) -> tuple[Outcome, int, str]:
        """``(outcome, spans the collector rejected out of a sent batch, error)``."""
        from opentelemetry.sdk.trace.export import SpanExportResult

        s = self._session
        if s is not None:
            s.status, s.error, s.rejected_spans, s.rejected_message = None, None, 0, ""
        try:
            result = self.exporter.export(spans)
        except Exception as exc:
            return Outcome.RETRY, 0, f"{type(exc).__name__}: {exc}"
        if result is SpanExportResult.SUCCESS:
            if s is not None and s.rejected_spans:
                why = s.rejected_message or "no reason given"
                return Outcome.SENT, min(s.rejected_spans, len(spans)), f"partial success: {why}"
            return Outcome.SENT, 0, ""
        if s is None:
            return Outcome.RETRY, 0, "the exporter reported a failure"
        if s.status is None and s.error is None:
            # Nothing went out: the exporter refused the batch itself (too large, not
            # encodable), which no retry changes.
            return Outcome.REJECTED, 0, "the exporter refused the batch (see its log)"
        if s.status is not None and s.status not in _RETRYABLE and s.status >= 400:
            return Outcome.REJECTED, 0, s.error or f"HTTP {s.status}"
        return Outcome.RETRY, 0, s.error or f"HTTP {s.status}"

    def shutdown(self) -> None:
        # An exporter failing to shut down has nothing left to lose.
        with contextlib.suppress(Exception):
            self.exporter.shutdown()
