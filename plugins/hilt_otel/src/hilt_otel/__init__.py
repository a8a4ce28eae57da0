"""HILT's OpenTelemetry backend: every LLM call as a GenAI span, sent over OTLP/HTTP.

Registered in the entry-point group ``hilt`` as ``otel``::

    hilt.instrument(backend=["jsonl", "otel"], otel_endpoint="http://collector:4318/v1/traces")

Each model call (a prompt and its completion or error) becomes one CLIENT span with the
GenAI semantic conventions' attributes; the messages are exported only when asked for
(``otel_capture_content=True`` or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``),
and then as the session's capture mode kept them. Spans are made and sent by a thread of
this backend, through a tracer provider of its own (never the global one). The
OpenTelemetry SDK is imported only when a session opens (``pip install "hilt[otel]"``).
Guide: docs/otel.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hilt_core import Event, hookimpl
from hilt_otel.settings import HILT_OPTIONS

if TYPE_CHECKING:
    from hilt_otel.backend import OtelBackend

HILT_ALIASES = ("otlp",)


@hookimpl
def backend_open(name: str, options: Mapping[str, Any]) -> OtelBackend:
    # Imported here: every installed plugin is imported when HILT starts, and only a
    # session that exports needs the OpenTelemetry SDK.
    from hilt_otel.backend import open_backend

    return open_backend(options)


@hookimpl
def backend_write(handle: OtelBackend, events: Sequence[Event]) -> None:
    handle.write(events)


@hookimpl
def backend_close(handle: OtelBackend, flush_only: bool) -> None:
    if flush_only:
        handle.flush()
    else:
        handle.close()


__all__ = ["HILT_OPTIONS"]
