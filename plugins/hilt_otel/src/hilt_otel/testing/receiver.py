"""An OTLP/HTTP traces receiver on 127.0.0.1, for tests and benchmarks.

It decodes what an exporter posts to ``/v1/traces`` with ``opentelemetry-proto`` (the
protobuf body, gzip- or deflate-compressed or not) into plain dicts, and can misbehave
on purpose: answer errors, answer slowly, reject part of a batch, stop and come back on
the same port.

    with OTLPReceiver() as rx:
        hilt.instrument(backend=["jsonl", "otel"], otel_endpoint=rx.endpoint)
        ...
        spans = rx.wait_for(2)
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["OTLPReceiver", "ReceivedSpan"]


@dataclass
class ReceivedSpan:
    """One span as the receiver decoded it (ids in lower-case hex)."""

    name: str
    kind: str  # "CLIENT", "INTERNAL", ...
    trace_id: str
    span_id: str
    parent_span_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status: str  # "UNSET", "OK", "ERROR"
    status_message: str
    links: list[tuple[str, str]]  # (trace_id, span_id)
    resource: dict[str, Any]
    scope: str
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, kind)


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


def decode(body: bytes, encoding: str = "") -> list[ReceivedSpan]:
    """The spans of one OTLP/HTTP protobuf request body."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    encoding = encoding.strip().lower()
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "deflate":
        body = zlib.decompress(body)
    request = ExportTraceServiceRequest.FromString(body)
    out = []
    for rs in request.resource_spans:
        resource = _attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    ReceivedSpan(
                        name=s.name,
                        kind=Span.SpanKind.Name(s.kind).removeprefix("SPAN_KIND_"),
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attributes=_attrs(s.attributes),
                        status=Status.StatusCode.Name(s.status.code).removeprefix("STATUS_CODE_"),
                        status_message=s.status.message,
                        links=[(link.trace_id.hex(), link.span_id.hex()) for link in s.links],
                        resource=resource,
                        scope=ss.scope.name,
                        events=[(e.name, _attrs(e.attributes)) for e in s.events],
                    )
                )
    return out


class OTLPReceiver:
    """A loopback OTLP/HTTP receiver. ``endpoint`` is its traces URL."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._arrived = threading.Condition(self._lock)
        self.spans: list[ReceivedSpan] = []
        self.requests: list[dict[str, str]] = []  # the headers of each request, lower-cased
        self._faults: list[int] = []
        self.delay = 0.0  # seconds before answering each request (a slow collector)
        self.reject_next_spans = 0  # partial success: this many spans of the next batch
        self.on_request: Callable[[], None] | None = None
        self._stopped = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        receiver = self
        self._stopped = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._conns.add(self.connection)

            def finish(self) -> None:
                with contextlib.suppress(OSError):
                    super().finish()
                with receiver._lock:
                    receiver._conns.discard(self.connection)

            def do_POST(self) -> None:
                try:
                    receiver._handle(self)
                except OSError:  # the receiver stopped, or the client gave up waiting
                    self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a connection cut by stop() is the point, not an error

        server = Server(("127.0.0.1", self._port), Handler)
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, name="otlp-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused) until :meth:`start` again, on the
        same port. Requests held by ``delay`` are cut."""
        self._stopped.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:  # kept-alive connections would go on being served
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1/traces"

    # -- faults --------------------------------------------------------------------------
    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` (their spans are not kept)."""
        with self._lock:
            self._faults.extend([status] * times)

    # -- reading ---------------------------------------------------------------------------
    def wait_for(self, n: int, timeout: float = 15.0) -> list[ReceivedSpan]:
        """Wait until ``n`` spans arrived (AssertionError after ``timeout`` seconds)."""
        end = time.monotonic() + timeout
        with self._arrived:
            while len(self.spans) < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self.spans)} spans arrived at {self.endpoint}, not {n}"
                    )
                self._arrived.wait(left)
            return list(self.spans)

    def clear(self) -> None:
        with self._lock:
            self.spans.clear()
            self.requests.clear()

    # -- serving ---------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length)
        headers = {k.lower(): v for k, v in h.headers.items()}
        if self.on_request is not None:
            self.on_request()
        if self.delay:
            self._stopped.wait(self.delay)
        with self._lock:
            self.requests.append(headers)
            status = self._faults.pop(0) if self._faults else 200
            reject, self.reject_next_spans = self.reject_next_spans, 0
        if status != 200:
            payload = b'{"error": "injected by OTLPReceiver"}'
            h.send_response(status)
            h.send_header("content-type", "application/json")
            if status in (429, 503):
                h.send_header("retry-after", "0")
            h.send_header("content-length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        try:
            spans = decode(body, headers.get("content-encoding", ""))
        except Exception as exc:
            payload = f"cannot decode: {exc}".encode()
            h.send_response(400)
            h.send_header("content-length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTracePartialSuccess,
            ExportTraceServiceResponse,
        )

        response = ExportTraceServiceResponse()
        if reject:
            reject = min(reject, len(spans))
            spans = spans[reject:]
            response.partial_success.CopyFrom(
                ExportTracePartialSuccess(
                    rejected_spans=reject, error_message="rejected by OTLPReceiver"
                )
            )
        with self._arrived:
            self.spans.extend(spans)
            self._arrived.notify_all()
        payload = response.SerializeToString()
        h.send_response(200)
        h.send_header("content-type", "application/x-protobuf")
        h.send_header("content-length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)
