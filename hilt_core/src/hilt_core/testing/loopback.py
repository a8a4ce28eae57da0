"""A loopback HTTP server to build an SDK's fake on: the plumbing every fake of an LLM API
needs, with none of an SDK's shapes (the kernel imports no SDK).

:class:`LoopbackServer` runs a threaded HTTP/1.1 server on ``127.0.0.1:<free port>`` in a
daemon thread, records every request (:class:`RecordedRequest`), injects faults (an HTTP
error, a stall, a dropped connection, a stream cut, ended by an error event or left hanging)
and stops cleanly, waking the handler threads parked on keep-alive connections. A fake
subclasses it and :class:`LoopbackHandler`, and says only what is its SDK's: the routes and
the bodies (built from the SDK's own types, so the wire format is right), the stream
framing, the error body and the headers its SDK reads::

    class _Handler(LoopbackHandler):
        fake: FakeAcme

        def error_body(self, status, message=None):
            return {"error": {"code": status, "message": message or "injected"}}

        def route(self, path, query, body):
            if path != "/v1/complete" or self.command != "POST":
                self.reply_error(404, None)
            elif body.get("stream"):
                fault = self.fake.take_stream_fault()
                frames = [f"data: {json.dumps(c)}\\n\\n" for c in chunks(body)]
                frames = frames[: fault.after] if fault else frames
                self.reply_chunked(frames, "text/event-stream", cut=fault is not None)
            else:
                self.reply_json(200, acme.types.Completion.model_validate(...).model_dump())


    class FakeAcme(LoopbackServer):
        handler = _Handler

docs/plugins.md ("A loopback fake of your SDK") has a whole example.
``hilt_openai.testing.FakeOpenAI``, ``hilt_anthropic.testing.FakeAnthropic`` and
``hilt_gemini.testing.FakeGemini`` are built this way.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["LoopbackHandler", "LoopbackServer", "RecordedRequest", "StreamFault", "split", "words"]

JSON = dict[str, Any]
_T = TypeVar("_T")


def words(text: str) -> int:
    """The tokens of ``text`` as the fakes count them: its words."""
    return len(text.split())


def split(text: str, n: int) -> list[str]:
    """``text`` in ``n`` contiguous non-empty pieces (fewer when it is shorter than ``n``):
    the deltas of a streamed reply."""
    n = max(1, n)
    cuts = [len(text) * i // n for i in range(n + 1)]
    return [text[a:b] for a, b in pairwise(cuts) if b > a] or [""]


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None


@dataclass(frozen=True)
class StreamFault:
    """What the next streamed reply does wrong: it sends ``after`` frames, then ``"cut"``
    closes the connection (no terminator), ``"error"`` sends the SDK's error event
    (``detail`` says which) and ends, ``"hang"`` waits ``seconds`` and closes."""

    kind: str  # "cut" | "error" | "hang"
    after: int
    detail: Any = None
    seconds: float = 0.0


@dataclass(frozen=True)
class _Fault:
    kind: str  # "fail" | "stall" | "drop"
    status: int = 0
    body: JSON | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog (5) resets connections when dozens of clients connect
    # at once (50 asyncio tasks); a real API endpoint accepts them.
    request_queue_size = 256
    fake: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up (timeouts, cut streams) are expected here


class LoopbackHandler(BaseHTTPRequestHandler):
    """One request to a :class:`LoopbackServer`. A fake defines :meth:`route` and
    :meth:`error_body`, and may set :attr:`retry_headers`, the content types and
    :meth:`response_headers`; ``self.fake`` is the server object (its settings)."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    fake: LoopbackServer

    #: Sent with an error whose status a client retries (408, 409, 429, 5xx), unless the
    #: fault's own headers say otherwise: a short wait keeps the tests of retries fast.
    retry_headers: ClassVar[dict[str, str]] = {}
    #: The content type of a JSON body, and of a body given as a str.
    json_type: ClassVar[str] = "application/json"
    text_type: ClassVar[str] = "text/plain"

    # -- what a fake defines ---------------------------------------------------------------

    def route(self, path: str, query: dict[str, str], body: Any) -> None:
        """Answer the request (``self.command`` is its method; ``path`` is unquoted, ``body``
        the parsed JSON or None). An exception here is answered with a 500 that says so."""
        raise NotImplementedError

    def error_body(self, status: int, message: str | None = None) -> JSON | str:
        """The SDK's error body for ``status`` (``message``: what to say instead of the
        usual text for that status)."""
        raise NotImplementedError

    def response_headers(self) -> dict[str, str]:
        """Headers of every response (request ids and the like), after the content type."""
        return {}

    def recorded(
        self, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> RecordedRequest:
        """What :attr:`LoopbackServer.requests` keeps of this request."""
        return RecordedRequest(self.command, path, query, headers, body)

    # -- helpers for route() ---------------------------------------------------------------

    def reply_head(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        """The status line and headers, without ``end_headers()``."""
        self.send_response(status)
        self.send_header("content-type", content_type)
        for name, value in {**self.response_headers(), **headers}.items():
            self.send_header(name, value)

    def reply_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        """``payload`` as JSON (a str is sent as it is, as :attr:`text_type`)."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        kind = self.text_type if isinstance(payload, str) else self.json_type
        self.reply_head(status, kind, headers or {})
        data = text.encode()
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def reply_error(
        self, status: int, body: JSON | str | None, headers: dict[str, str] | None = None
    ) -> None:
        """An HTTP error: ``body``, or :meth:`error_body` when it is None."""
        payload = body or self.error_body(status)
        retryable = status in (408, 409, 429) or status >= 500
        extra = self.retry_headers if retryable else {}
        try:
            self.reply_json(status, payload, {**extra, **(headers or {})})
        except OSError:
            self.close_connection = True

    def reply_chunked(
        self,
        frames: Iterable[bytes | str | float],
        content_type: str,
        *,
        cut: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        """A chunked body, a frame a chunk, each after the server's ``chunk_delay``; a
        float stands for a pause of that many seconds. ``cut`` closes the connection after
        the last frame, without the chunked terminator."""
        self.reply_head(200, content_type, headers or {})
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for frame in frames:
            if isinstance(frame, float):
                self.pause(frame)
                continue
            if self.fake.chunk_delay:
                self.pause(self.fake.chunk_delay)
            data = frame.encode() if isinstance(frame, str) else frame
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        if cut:
            self.abort()
            return
        self.wfile.write(b"0\r\n\r\n")

    def abort(self) -> None:
        """Close the socket now: no response, or a chunked body without its terminator."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server stops meanwhile."""
        self.fake._stopping.wait(seconds)

    # -- plumbing --------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.fake = self.server.fake
        self.fake._track(self.connection, True)

    def finish(self) -> None:
        self.fake._track(self.connection, False)
        super().finish()

    def do_POST(self) -> None:
        self._dispatch()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def _dispatch(self) -> None:
        fake = self.fake
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake._record(self.recorded(url.path, query, headers, body))
        fault = fake._take(fake._faults)
        if fault is not None and fault.kind == "stall":
            self.pause(fault.seconds)
        elif fault is not None and fault.kind == "drop":
            self.abort()
            return
        elif fault is not None:
            self.reply_error(fault.status, fault.body, fault.headers)
            return
        try:
            self.route(unquote(url.path), query, body)
        except OSError:  # the client hung up (timeout, closed stream)
            self.close_connection = True
        except Exception as exc:  # reported to the client, never retried
            message = f"{type(fake).__name__} failed: {type(exc).__name__}: {exc}"
            self.reply_error(500, self.error_body(500, message), {"x-should-retry": "false"})


class LoopbackServer:
    """A fake API on ``127.0.0.1:<free port>``, run in a daemon thread; a context manager.

    Settings (attributes, changeable while it runs): ``model_map`` (requested model ->
    model in the reply), ``stream_chunks`` (pieces a streamed text is sent in),
    ``chunk_delay`` (seconds before each streamed frame). Every request is kept in
    :attr:`requests`; each queued fault is used by one request, in order.
    """

    #: The handler class of the fake: a :class:`LoopbackHandler` that says what is the SDK's.
    handler: ClassVar[type[LoopbackHandler]] = LoopbackHandler

    def __init__(
        self,
        *,
        model_map: dict[str, str] | None = None,
        stream_chunks: int = 4,
        chunk_delay: float = 0.0,
    ) -> None:
        self.model_map: dict[str, str] = dict(model_map or {})
        self.stream_chunks = stream_chunks
        self.chunk_delay = chunk_delay
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._faults: deque[_Fault] = deque()
        self._stream_faults: deque[StreamFault] = deque()
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on, while it runs."""
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer(("127.0.0.1", 0), self.handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{type(self).__name__}:{self.port}",
        )
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

    def model(self, requested: str) -> str:
        """The model a reply names for the ``requested`` one (:attr:`model_map`)."""
        return self.model_map.get(requested, requested)

    # -- what it received ------------------------------------------------------------------

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            return self.requests[-1]

    def reset(self) -> None:
        """Forget recorded requests and everything queued (settings are kept)."""
        with self._lock:
            self.requests.clear()
            for queue in self._queues():
                queue.clear()

    # -- fault injection (each queued fault is used by one request, in order) --------------

    def fail_next(
        self,
        status: int = 429,
        times: int = 1,
        body: JSON | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and the SDK's error body.

        ``body`` replaces that body (a str is sent as text); ``headers`` are added to (or
        replace) the retry headers a retryable status gets.
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

    def fault_stream_next(self, fault: StreamFault) -> None:
        """Make the next *streamed* reply go wrong as ``fault`` says (the fake's own
        methods, such as ``cut_stream_next``, name the ways its SDK's streams fail)."""
        with self._lock:
            self._stream_faults.append(fault)

    # -- for the handler and the fake ------------------------------------------------------

    def take_stream_fault(self) -> StreamFault | None:
        """The next queued :class:`StreamFault`, or None: a streamed reply takes it."""
        return self._take(self._stream_faults)

    def _queues(self) -> list[deque[Any]]:
        """Every queue :meth:`reset` empties; a fake with queues of its own adds them."""
        return [self._faults, self._stream_faults]

    def _take(self, queue: deque[_T]) -> _T | None:
        with self._lock:
            return queue.popleft() if queue else None

    def _put(self, queue: deque[_T], *items: _T) -> None:
        with self._lock:
            queue.extend(items)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._conns.add if alive else self._conns.discard)(conn)
