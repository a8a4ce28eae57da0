"""An Anthropic-compatible HTTP server on 127.0.0.1 for tests and offline demos.

It answers the Messages API the way the installed ``anthropic`` SDK expects (bodies and
stream events are built from its own types, see :mod:`.replies`), on the paths of the
first-party API, Vertex AI and Bedrock:

- ``POST /v1/messages`` (also ``?beta=true``), streamed (SSE) or not;
- ``POST /v1/messages/count_tokens``, ``GET /v1/models``, ``GET /v1/models/{id}``;
- the same under any prefix, as the Foundry (``/anthropic/v1/messages``), AWS and Google
  Cloud gateway clients send them;
- Vertex: ``POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict``
  and ``:streamRawPredict`` (same JSON and SSE), ``.../models/count-tokens:rawPredict``;
- Bedrock: ``POST /model/{m}/invoke`` (JSON) and ``/model/{m}/invoke-with-response-stream``
  (AWS event-stream frames; the SDK needs botocore to read them).

Replies are deterministic: ``"Echo: " + <last user text>``; a token is a word. A request
with ``thinking`` enabled gets a thinking block first; one with ``tools`` whose tool choice
is ``any`` / ``tool``, or whose last user text says "use tool", gets a ``tool_use`` block
filled from the tool's input schema. ``stop_sequences`` and ``max_tokens`` cut the text
(stop reason ``stop_sequence`` / ``max_tokens``). A test may script the next replies
(:meth:`FakeAnthropic.reply_next`), inject faults, and read every request received.

    with FakeAnthropic() as srv:
        client = anthropic.Anthropic(base_url=srv.base_url, api_key="test")
        srv.reply_next({"type": "tool_use", "name": "f", "input": {"a": 1}})
        srv.fail_next(529)
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from anthropic.types import MessageTokensCount

from . import eventstream
from .replies import (
    JSON,
    Event,
    Reply,
    Script,
    input_tokens,
    message_body,
    new_id,
    plan,
    stream_events,
    wire,
)

__all__ = ["FakeAnthropic", "RecordedRequest"]

_VERTEX = re.compile(
    r"^(?:/v1)?/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)"
    r"/publishers/anthropic/models/(?P<model>[^/:]+):(?P<method>rawPredict|streamRawPredict)$"
)
_BEDROCK = re.compile(r"^/model/(?P<model>[^/]+)/(?P<method>invoke|invoke-with-response-stream)$")
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request (injected by FakeAnthropic)."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Rate limited (injected by FakeAnthropic)."),
    500: ("api_error", "Internal server error (injected by FakeAnthropic)."),
    529: ("overloaded_error", "Overloaded"),
}
_PING = ("ping", {"type": "ping"})


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None


@dataclass
class _Fault:
    kind: str  # "fail" | "stall" | "drop"
    status: int = 0
    body: JSON | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class _StreamFault:
    kind: str  # "cut" | "error" | "hang"
    after: int
    error_type: str = "overloaded_error"
    seconds: float = 0.0


def error_body(status: int, message: str | None = None, kind: str | None = None) -> JSON:
    """Anthropic's error JSON: ``{"type": "error", "error": {"type", "message"}, ...}``."""
    default_kind, default_message = _ERRORS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", "Error")
    )
    return {"type": "error",
            "error": {"type": kind or default_kind, "message": message or default_message},
            "request_id": new_id("req_")}  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog (5) resets connections when dozens of clients connect
    # at once; a real API endpoint accepts them.
    request_queue_size = 256
    fake: FakeAnthropic

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up (timeouts, cut streams) are expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, False)
        super().finish()

    def do_POST(self) -> None:
        self._dispatch()

    do_GET = do_DELETE = do_POST

    # -- plumbing -------------------------------------------------------------------------

    def _dispatch(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake._record(RecordedRequest(self.command, url.path, query, headers, body))
        fault = fake._pop_fault()
        if fault is not None and fault.kind == "stall":
            fake._stopping.wait(fault.seconds)
        elif fault is not None and fault.kind == "drop":
            self._abort()
            return
        elif fault is not None:
            self._error(fault.status, fault.body, fault.headers)
            return
        try:
            self._route(unquote(url.path), body)
        except OSError:  # the client hung up (timeout, closed stream)
            self.close_connection = True
        except Exception as exc:  # reported to the client, never retried
            message = f"FakeAnthropic failed: {type(exc).__name__}: {exc}"
            self._error(500, error_body(500, message), {"x-should-retry": "false"})

    def _route(self, path: str, body: Any) -> None:
        post = self.command == "POST"
        _, models, model = path.partition("/v1/models")
        if models and self.command == "GET" and model in ("", "/"):
            self._json(200, self._models())
            return
        if models and self.command == "GET" and model.count("/") == 1:
            self._json(200, self._model_info(model[1:]))
            return
        if not post:
            self._error(404, None)
            return
        if not isinstance(body, dict):
            self._error(400, error_body(400, "Request body must be a JSON object."))
            return
        # Foundry, AWS and Google Cloud gateways put the first-party paths under a prefix
        if path.endswith("/v1/messages/count_tokens"):
            self._count_tokens(body)
        elif path.endswith("/v1/messages"):
            self._messages(body, str(body.get("model") or ""), bool(body.get("stream")))
        elif match := _VERTEX.match(path):
            if match["model"] == "count-tokens":
                self._count_tokens(body)
            else:
                self._messages(body, match["model"], match["method"] == "streamRawPredict")
        elif match := _BEDROCK.match(path):
            streamed = match["method"] == "invoke-with-response-stream"
            self._messages(body, match["model"], streamed, bedrock=True)
        else:
            self._error(404, None)

    def _head(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("request-id", new_id("req_"))
        for name, value in headers.items():
            self.send_header(name, value)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        kind = "text/plain" if isinstance(payload, str) else "application/json"
        self._head(status, kind, headers or {})
        data = text.encode()
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, status: int, body: JSON | str | None, headers: dict[str, str] | None = None
    ) -> None:
        payload = body or error_body(status)
        # The SDK ignores "retry-after: 0" (it backs off 0.5 s+); "retry-after-ms" wins.
        retryable = status in (408, 409, 429) or status >= 500
        extra = {"retry-after": "1", "retry-after-ms": "1"} if retryable else {}
        try:
            self._json(status, payload, {**extra, **(headers or {})})
        except OSError:
            self.close_connection = True

    def _abort(self) -> None:
        """Close the socket now: no response, or a chunked body without its terminator."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _stream(self, frames: Iterable[bytes], content_type: str, cut: bool) -> None:
        """Send ``frames`` as a chunked body; ``cut`` closes the socket after the last one."""
        fake = self.server.fake
        self._head(200, content_type, {"cache-control": "no-cache"})
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for data in frames:
            if fake.chunk_delay:
                fake._stopping.wait(fake.chunk_delay)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        if cut:
            self._abort()
            return
        self.wfile.write(b"0\r\n\r\n")

    # -- endpoints ------------------------------------------------------------------------

    def _messages(self, body: JSON, model: str, streamed: bool, bedrock: bool = False) -> None:
        fake = self.server.fake
        if not isinstance(body.get("messages"), list):
            self._error(400, error_body(400, "messages: Field required"))
            return
        script = fake._pop_script()
        reply = plan(body, fake.model_map.get(model, model), script,
                     fake.cache_creation_tokens, fake.cache_read_tokens)  # fmt: skip
        if not streamed:
            self._json(200, message_body(reply))
            return
        self._send_events(reply, bedrock)

    def _send_events(self, reply: Reply, bedrock: bool) -> None:
        fake = self.server.fake
        events = stream_events(reply, fake.stream_chunks, fake.message_deltas)
        if bedrock:  # Bedrock's message_stop carries invocation metrics
            name, stop = events[-1]
            metrics = {"inputTokenCount": reply.usage.get("input_tokens", 0),
                       "outputTokenCount": reply.usage.get("output_tokens", 0),
                       "invocationLatency": 1, "firstByteLatency": 1}  # fmt: skip
            events[-1] = (name, {**stop, "amazon-bedrock-invocationMetrics": metrics})
        fault = fake._pop_stream_fault()
        frames: list[Event | float] = list(events)
        if fault is not None:
            frames = frames[: fault.after]
            if fault.kind == "error":
                status = 529 if fault.error_type == "overloaded_error" else 500
                error = error_body(status, kind=fault.error_type)
                del error["request_id"]
                frames.append(("error", error))
            elif fault.kind == "hang":
                frames.append(fault.seconds)
        if not bedrock and fake.ping and frames and frames[0] == events[0]:
            frames.insert(1, _PING)  # the API pings after message_start; the SDK skips it
        cut = fault is not None and fault.kind != "error"
        if bedrock:
            payloads = (e if isinstance(e, float) else eventstream.chunk(e[1]) for e in frames)
            self._stream(self._pace(payloads), eventstream.CONTENT_TYPE, cut)
            return
        sse = (
            e if isinstance(e, float) else f"event: {e[0]}\ndata: {json.dumps(e[1])}\n\n".encode()
            for e in frames
        )
        self._stream(self._pace(sse), "text/event-stream; charset=utf-8", cut)

    def _pace(self, frames: Iterable[bytes | float]) -> Iterable[bytes]:
        """The frames, sleeping where a float stands (a stream that hangs mid-way)."""
        for item in frames:
            if isinstance(item, float):
                self.server.fake._stopping.wait(item)
            else:
                yield item

    def _count_tokens(self, body: JSON) -> None:
        self._json(200, wire(MessageTokensCount, {"input_tokens": input_tokens(body)}))

    def _model_info(self, model: str) -> JSON:
        info = {"type": "model", "id": model, "display_name": model,
                "created_at": "2025-01-01T00:00:00Z", "lifecycle": "active"}  # fmt: skip
        try:
            from anthropic.types import ModelInfo
        except ImportError:  # an SDK without the models API
            return info
        return wire(ModelInfo, {k: v for k, v in info.items() if k in ModelInfo.model_fields})

    def _models(self) -> JSON:
        data = [self._model_info(m) for m in self.server.fake.models]
        return {"data": data, "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}  # fmt: skip


class FakeAnthropic:
    """An Anthropic-compatible server on ``127.0.0.1:<free port>``, run in a daemon thread.

    Settings (attributes, changeable while it runs): ``model_map`` (requested model ->
    model in the reply), ``stream_chunks`` (deltas per text / thinking / tool input),
    ``chunk_delay`` (seconds before each streamed frame), ``cache_creation_tokens`` /
    ``cache_read_tokens`` (put in every usage), ``message_deltas`` (how many cumulative
    ``message_delta`` events a stream sends), ``ping`` (a ``ping`` event after
    ``message_start``), ``models`` (what ``/v1/models`` lists).
    """

    def __init__(
        self,
        *,
        model_map: dict[str, str] | None = None,
        stream_chunks: int = 3,
        chunk_delay: float = 0.0,
        cache_creation_tokens: int = 0,
        cache_read_tokens: int = 0,
        message_deltas: int = 1,
        ping: bool = True,
        models: Iterable[str] = ("claude-opus-4-5-20251101", "claude-haiku-4-5-20251001"),
    ) -> None:
        self.model_map: dict[str, str] = dict(model_map or {})
        self.stream_chunks = stream_chunks
        self.chunk_delay = chunk_delay
        self.cache_creation_tokens = cache_creation_tokens
        self.cache_read_tokens = cache_read_tokens
        self.message_deltas = message_deltas
        self.ping = ping
        self.models = list(models)
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._faults: deque[_Fault] = deque()
        self._stream_faults: deque[_StreamFault] = deque()
        self._scripts: deque[Script] = deque()
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"FakeAnthropic:{self.port}")  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # wake handler threads parked on keep-alive connections
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeAnthropic is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """For ``Anthropic(base_url=...)`` and ``AnthropicBedrock(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def vertex_base_url(self) -> str:
        """For ``AnthropicVertex(base_url=...)`` (Vertex's URLs start with ``/v1``)."""
        return f"{self.base_url}/v1"

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            return self.requests[-1]

    def reset(self) -> None:
        """Forget recorded requests, scripted replies and pending faults (keep settings)."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self._stream_faults.clear()
            self._scripts.clear()

    # -- scripted replies (consumed in order by Messages requests that are answered) -------

    def reply_next(
        self,
        *content: JSON | str,
        stop_reason: str | None = None,
        stop_sequence: str | None = None,
        usage: JSON | None = None,
        model: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` Messages requests with these content blocks.

        A str is a text block; a dict is a block as the API sends it, with ``id`` /
        ``input`` of a ``tool_use`` and ``signature`` of a ``thinking`` filled in when left
        out. No content keeps the computed reply (so only ``stop_reason`` / ``usage`` /
        ``model`` change). ``stop_reason`` defaults to ``tool_use`` when a ``tool_use`` block
        is scripted, else ``end_turn``. ``usage`` fields replace the computed ones. A
        request answered by a fault does not consume a scripted reply.
        """
        script = Script(tuple(content), stop_reason, stop_sequence, usage, model)
        with self._lock:
            self._scripts.extend([script] * times)

    # -- fault injection (each queued fault is consumed by one request, in order) ---------

    def fail_next(
        self,
        status: int = 429,
        times: int = 1,
        body: JSON | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and Anthropic's error JSON.

        429 and 5xx carry ``retry-after: 1`` and ``retry-after-ms: 1`` (the SDK waits 1 ms)
        unless ``headers`` overrides them; ``body`` replaces the JSON error (a str is sent
        as text/plain).
        """
        with self._lock:
            for _ in range(times):
                self._faults.append(_Fault("fail", status, body, dict(headers or {})))

    def stall_next(self, seconds: float) -> None:
        """Sleep ``seconds`` before answering the next request (then answer normally)."""
        with self._lock:
            self._faults.append(_Fault("stall", seconds=seconds))

    def drop_connection_next(self) -> None:
        """Close the socket of the next request without answering."""
        with self._lock:
            self._faults.append(_Fault("drop"))

    def cut_stream_next(self, after_events: int = 1) -> None:
        """Make the next *streamed* reply send ``after_events`` events (``ping`` not
        counted), then close the connection (no ``message_stop``, no chunked terminator)."""
        with self._lock:
            self._stream_faults.append(_StreamFault("cut", after_events))

    def error_stream_next(
        self, after_events: int = 1, error_type: str = "overloaded_error"
    ) -> None:
        """Make the next *streamed* reply send ``after_events`` events, then an ``error``
        event (``{"type": "error", "error": {"type": error_type, ...}}``) and close."""
        with self._lock:
            self._stream_faults.append(_StreamFault("error", after_events, error_type))

    def hang_stream_next(self, after_events: int, seconds: float) -> None:
        """Make the next *streamed* reply send ``after_events`` events, wait ``seconds``
        (the client's read timeout fires), then close the connection."""
        with self._lock:
            self._stream_faults.append(_StreamFault("hang", after_events, seconds=seconds))

    # -- used by the handler --------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _pop_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _pop_stream_fault(self) -> _StreamFault | None:
        with self._lock:
            return self._stream_faults.popleft() if self._stream_faults else None

    def _pop_script(self) -> Script | None:
        with self._lock:
            return self._scripts.popleft() if self._scripts else None

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._conns.add if alive else self._conns.discard)(conn)
