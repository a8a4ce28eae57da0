"""A Gemini-compatible HTTP server on 127.0.0.1 for tests and offline demos.

It answers both API flavours the ``google-genai`` SDK speaks, on the paths the SDK builds:

- Developer API: ``/{version}/models/{model}:{method}`` (``version`` is ``v1beta`` or
  ``v1``, whichever the installed SDK asks for; ``tunedModels/...`` too);
- Vertex AI: ``/{version}/projects/{p}/locations/{l}/publishers/google/models/{model}:{method}``
  (and ``/{version}/publishers/google/models/...``, Vertex with an API key);

with ``method`` one of ``generateContent``, ``streamGenerateContent`` (``?alt=sse``),
``batchEmbedContents``, ``embedContent``, ``predict`` (Vertex text-embedding models) and
``countTokens``. Every body is validated against the installed SDK's own types
(``GenerateContentResponse``, ``EmbedContentResponse``, ``ContentEmbedding``) and sent in
their REST form (camelCase), so a field the SDK does not know fails loudly (a 500 the SDK
raises as ``ServerError``). Fields a release does not have yet (``thoughtsTokenCount``,
``usageMetadata`` of embeddings) are left out for it.

Replies are deterministic: ``"Echo: " + <last user text>``; token counts are word counts.
With function declarations in the request and ``use tool`` in the last user text, the
model asks for the first function (arguments filled from its schema); the answer to a
``functionResponse`` is ``"Result: " + <the response as JSON>``. Replies can also be
scripted, in order (:meth:`FakeGemini.script`).

    with FakeGemini() as srv:
        client = srv.client()                   # Developer API
        vertex = srv.client(vertexai=True)      # Vertex AI, offline credentials
        srv.fail_next(429)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from google.genai import types

__all__ = ["FakeGemini", "RecordedRequest", "Reply"]

JSON = dict[str, Any]
# /v1beta/models/gemini-2.5-flash:generateContent, /v1/tunedModels/123:generateContent,
# /v1beta1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent
_PATH = re.compile(
    r"^/(?P<version>v\d+[a-z0-9]*)/"
    r"(?:projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/)?"
    r"(?P<model>(?:publishers/[^/]+/)?(?:models|tunedModels)/[^:/]+):(?P<method>[A-Za-z]+)$"
)
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None
    vertex: bool  # the path was a Vertex AI one
    model: str  # the model segment of the path ("gemini-2.5-flash")


@dataclass
class Reply:
    """A scripted answer to the next generateContent / streamGenerateContent request.

    ``text`` (None: no text part), ``function_calls`` as ``(name, args)``, ``thought`` (a
    thought part before the answer), ``finish_reason``, ``model_version`` (default: the
    model of the path) and ``usage``: ``usageMetadata`` in REST form, replacing the one
    the fake would count.
    """

    text: str | None = None
    function_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    thought: str | None = None
    finish_reason: str = "STOP"
    model_version: str | None = None
    usage: JSON | None = None


@dataclass
class _Fault:
    kind: str  # "fail" | "stall" | "drop"
    status: int = 0
    body: JSON | str | None = None
    seconds: float = 0.0


def _words(text: str) -> int:
    return len(text.split())


def _split(text: str, n: int) -> list[str]:
    """``text`` in ``n`` contiguous non-empty pieces (fewer when it is shorter than ``n``)."""
    n = max(1, n)
    cuts = [len(text) * i // n for i in range(n + 1)]
    return [text[a:b] for a, b in pairwise(cuts) if b > a] or [""]


def _parts_text(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    texts = [p.get("text") for p in content.get("parts") or [] if isinstance(p, dict)]
    return " ".join(t for t in texts if isinstance(t, str))


def _count(contents: list[Any], system: Any) -> int:
    """Prompt tokens: the words of every text part and function response."""
    n = _words(_parts_text(system))
    for content in contents:
        n += _words(_parts_text(content))
        for part in content.get("parts") or [] if isinstance(content, dict) else []:
            if isinstance(part, dict):
                for key in ("functionCall", "functionResponse"):
                    if key in part:
                        n += _words(json.dumps(part[key]))
    return n


def schema_default(schema: Any, depth: int = 0) -> Any:
    """A trivial instance of a Gemini (OpenAPI-style, ``type: OBJECT``) or JSON schema."""
    if not isinstance(schema, dict) or depth > 16:
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key) or [] if str(o.get("type")).lower() != "null"]
        if options:
            return schema_default(options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    kind = str(kind or "").lower()
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: schema_default(v, depth + 1) for k, v in props.items()}
    if kind == "array":
        return []
    defaults = {"string": "x", "integer": 1, "number": 1.0, "boolean": True}
    return defaults.get(kind)


def _functions(body: JSON) -> list[JSON]:
    found: list[JSON] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            found += [f for f in tool.get("functionDeclarations") or [] if isinstance(f, dict)]
    return found


def _wire(model: Any, data: JSON) -> JSON:
    """Validate ``data`` (REST form) with an SDK type; return its REST form."""
    obj = model.model_validate(data)
    out: JSON = obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out


def _known(model: Any, data: JSON) -> JSON:
    """``data`` without the keys the installed SDK's ``model`` does not have (REST names)."""
    fields = {f.alias or name for name, f in model.model_fields.items()} | set(model.model_fields)
    return {k: v for k, v in data.items() if k in fields}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    fake: FakeGemini

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

    do_GET = do_POST

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
        query = dict(parse_qsl(url.query))
        headers = {k.lower(): v for k, v in self.headers.items()}
        match = _PATH.match(url.path)
        model = match.group("model").rsplit("/", 1)[-1] if match else ""
        vertex = bool(match and match.group("model").startswith("publishers/"))
        fake._record(RecordedRequest(self.command, url.path, query, headers, body, vertex, model))
        fault = fake._pop_fault()
        if fault is not None and fault.kind == "stall":
            fake._stopping.wait(fault.seconds)
        elif fault is not None and fault.kind == "drop":
            self._abort()
            return
        elif fault is not None:
            self._error(fault.status, fault.body)
            return
        if match is None or self.command != "POST":
            self._error(404, None)
            return
        if not isinstance(body, dict):
            self._error(400, None)
            return
        try:
            self._route(match.group("method"), query, body, model)
        except OSError:  # the client hung up (timeout, closed stream)
            self.close_connection = True
        except Exception as exc:  # reported to the client as a server error
            message = f"FakeGemini failed: {type(exc).__name__}: {exc}"
            self._error(500, {"error": {"code": 500, "status": "INTERNAL", "message": message}})

    def _route(self, method: str, query: dict[str, str], body: JSON, model: str) -> None:
        fake = self.server.fake
        model = fake.model_map.get(model, model)
        if method == "generateContent":
            self._json(200, self._generate(body, model)[0])
        elif method == "streamGenerateContent":
            self._stream_generate(body, model, sse=query.get("alt") == "sse")
        elif method == "batchEmbedContents":
            texts = [_parts_text(r.get("content")) for r in body.get("requests") or []]
            self._json(200, self._embeddings(texts, "batch"))
        elif method == "embedContent":
            self._json(200, self._embeddings([_parts_text(body.get("content"))], "single"))
        elif method == "predict":
            texts = [str(i.get("content") or "") for i in body.get("instances") or []]
            self._json(200, self._embeddings(texts, "predict"))
        elif method == "countTokens":
            contents = body.get("contents") or []
            self._json(200, {"totalTokens": _count(contents, body.get("systemInstruction"))})
        else:
            self._error(404, None)

    def _head(self, status: int, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("x-fake-gemini", "1")

    def _json(self, status: int, payload: JSON | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._head(status, "application/json; charset=UTF-8")
        data = text.encode()
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, body: JSON | str | None) -> None:
        name = _STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
        message = f"{name} (injected by FakeGemini)."
        payload = body or {"error": {"code": status, "message": message, "status": name}}
        try:
            self._json(status, payload)
        except OSError:
            self.close_connection = True

    def _abort(self) -> None:
        """Close the socket now: no response, or a chunked body without its terminator."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- generateContent -----------------------------------------------------------------

    def _generate(self, body: JSON, model: str, pieces: int = 0) -> tuple[JSON, list[JSON]]:
        """The whole answer, and (for a stream: ``pieces`` > 0 text chunks) its chunks."""
        fake = self.server.fake
        contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
        reply = fake._pop_reply() or self._default_reply(body, contents)
        config = body.get("generationConfig") or {}
        thinking = config.get("thinkingConfig") or {}
        thought = reply.thought
        if thought is None and (fake.thinking or thinking.get("includeThoughts")):
            thought = "Thinking about it."
        prompt = _count(contents, body.get("systemInstruction"))
        calls = [{"name": n, "args": a} for n, a in reply.function_calls]
        answer = reply.text or ""
        candidates = _words(answer) + sum(_words(json.dumps(c)) for c in calls)
        thoughts = fake.thoughts_tokens + (_words(thought) if thought else 0)
        usage = reply.usage or self._usage(prompt, candidates, thoughts)
        base: JSON = {"modelVersion": reply.model_version or model,
                      "responseId": uuid.uuid4().hex[:20]}  # fmt: skip
        vertex_fields = {"createTime": "2026-01-01T00:00:00.000000Z"} if self._vertex() else {}

        def response(parts: list[JSON], finish: str | None, usage: JSON | None) -> JSON:
            candidate: JSON = {"content": {"role": "model", "parts": parts}, "index": 0}
            if finish:
                candidate["finishReason"] = finish
            data: JSON = {"candidates": [candidate], **base, **vertex_fields}
            if usage:
                data["usageMetadata"] = _known(types.GenerateContentResponseUsageMetadata, usage)
            return _wire(types.GenerateContentResponse, data)

        parts: list[JSON] = []
        if thought:
            parts.append({"text": thought, "thought": True})
        if reply.text is not None:
            parts.append({"text": reply.text})
        parts += [{"functionCall": c} for c in calls]
        whole = response(parts, reply.finish_reason, usage)
        chunks: list[JSON] = []
        if pieces:
            # Every chunk carries the usage so far (as Gemini does): the last one is the
            # whole call's, and summing them would overcount.
            head: list[JSON] = [{"text": thought, "thought": True}] if thought else []
            texts = _split(reply.text, pieces) if reply.text else []
            said = 0
            if head:
                chunks.append(response(head, None, self._usage(prompt, 0, thoughts)))
            for i, piece in enumerate(texts):
                said += _words(piece)
                last = i == len(texts) - 1 and not calls
                part_usage = usage if last else self._usage(prompt, said, thoughts)
                chunks.append(response([{"text": piece}], reply.finish_reason if last else None,
                                       part_usage))  # fmt: skip
            if calls or not chunks or chunks[-1]["candidates"][0].get("finishReason") is None:
                tail = [{"functionCall": c} for c in calls]
                chunks.append(response(tail, reply.finish_reason, usage))
        return whole, chunks

    def _vertex(self) -> bool:
        return "/publishers/" in self.path

    def _usage(self, prompt: int, candidates: int, thoughts: int) -> JSON:
        fake = self.server.fake
        usage: JSON = {"promptTokenCount": prompt + fake.cached_tokens}
        if candidates:
            usage["candidatesTokenCount"] = candidates
        if fake.cached_tokens:
            usage["cachedContentTokenCount"] = fake.cached_tokens
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        if fake.tool_use_tokens:
            usage["toolUsePromptTokenCount"] = fake.tool_use_tokens
        usage["totalTokenCount"] = (
            prompt + fake.cached_tokens + candidates + thoughts + fake.tool_use_tokens
        )
        return usage

    def _default_reply(self, body: JSON, contents: list[JSON]) -> Reply:
        last = contents[-1] if contents else {}
        responses = [
            p["functionResponse"]
            for p in last.get("parts") or []
            if isinstance(p, dict) and "functionResponse" in p
        ]
        if responses:
            return Reply(text="Result: " + json.dumps([r.get("response") for r in responses]))
        user = _parts_text(last)
        functions = _functions(body)
        if functions and "use tool" in user.lower():
            fn = functions[0]
            schema = (
                fn.get("parameters")
                or fn.get("parametersJsonSchema")
                or fn.get("parameters_json_schema")  # as some SDK releases send it
                or {}
            )
            args = schema_default(schema) or {}
            return Reply(function_calls=[(str(fn.get("name")), args)])
        return Reply(text="Echo: " + user)

    def _stream_generate(self, body: JSON, model: str, sse: bool) -> None:
        fake = self.server.fake
        _, chunks = self._generate(body, model, fake.stream_chunks)
        events = [f"data: {json.dumps(c)}\r\n\r\n" for c in chunks]
        cut = fake._pop_cut()
        if cut is not None:
            kind, after, status = cut
            events = events[:after]
            if kind == "error":
                name = _STATUS.get(status, "INTERNAL")
                error = {"error": {"code": status, "message": f"{name} mid-stream (FakeGemini).",
                                   "status": name}}  # fmt: skip
                events.append(f"data: {json.dumps(error)}\r\n\r\n")
        if not sse:  # a JSON array, as the REST API sends without alt=sse
            self._json(200, json.dumps(chunks))
            return
        self._head(200, "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in events:
            if fake.chunk_delay:
                fake._stopping.wait(fake.chunk_delay)
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        if cut is not None and cut[0] == "cut":
            self._abort()
            return
        self.wfile.write(b"0\r\n\r\n")

    # -- embeddings ----------------------------------------------------------------------

    def _embeddings(self, texts: list[str], kind: str) -> JSON:
        dim = self.server.fake.embedding_dim
        vectors = []
        for text in texts:
            digest = b""
            while len(digest) < dim:
                digest += hashlib.sha256(text.encode() + len(digest).to_bytes(4, "big")).digest()
            vectors.append([round(b / 127.5 - 1.0, 4) for b in digest[:dim]])
        tokens = sum(_words(t) for t in texts)
        usage = {"promptTokenCount": tokens, "totalTokenCount": tokens}
        if kind == "predict":  # Vertex AI text-embedding models
            predictions = []
            for text, vector in zip(texts, vectors, strict=True):
                stats = {"token_count": _words(text), "truncated": False}
                embedding = _wire(types.ContentEmbedding, {"values": vector})
                predictions.append({"embeddings": {**embedding, "statistics": stats}})
            return {"predictions": predictions, "metadata": {"billableCharacterCount":
                                                             sum(map(len, texts))}}  # fmt: skip
        if kind == "single":  # embedContent: one vector
            out: JSON = {"embedding": _wire(types.ContentEmbedding, {"values": vectors[0]})}
            if "usage_metadata" in types.EmbedContentResponse.model_fields:
                out["usageMetadata"] = usage
            return out
        data: JSON = {"embeddings": [{"values": v} for v in vectors]}
        if "usage_metadata" in types.EmbedContentResponse.model_fields:
            data["usageMetadata"] = usage
        return _wire(types.EmbedContentResponse, data)


class FakeGemini:
    """A Gemini-compatible server on ``127.0.0.1:<free port>``, run in a daemon thread."""

    def __init__(
        self,
        *,
        model_map: dict[str, str] | None = None,
        stream_chunks: int = 4,
        chunk_delay: float = 0.0,
        cached_tokens: int = 0,
        thoughts_tokens: int = 0,
        tool_use_tokens: int = 0,
        thinking: bool = False,
        embedding_dim: int = 8,
    ) -> None:
        self.model_map: dict[str, str] = dict(model_map or {})
        self.stream_chunks = stream_chunks
        self.chunk_delay = chunk_delay
        self.cached_tokens = cached_tokens
        self.thoughts_tokens = thoughts_tokens
        self.tool_use_tokens = tool_use_tokens
        self.thinking = thinking
        self.embedding_dim = embedding_dim
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._faults: deque[_Fault] = deque()
        self._cuts: deque[tuple[str, int, int]] = deque()
        self._replies: deque[Reply] = deque()
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
                                        daemon=True, name=f"FakeGemini:{self.port}")  # fmt: skip
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
            raise RuntimeError("FakeGemini is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """For ``genai.Client(http_options=types.HttpOptions(base_url=...))``."""
        return f"http://127.0.0.1:{self.port}"

    def client(
        self,
        *,
        vertexai: bool = False,
        project: str = "hilt-test",
        location: str = "us-central1",
        retries: int = 0,
        **http: Any,
    ) -> Any:
        """A ``genai.Client`` on this server: the Developer API (an API key), or Vertex AI
        (``vertexai=True``: a project, a location and credentials that need no network).
        ``retries`` > 0 makes the SDK retry 429/5xx that many times, without waiting."""
        from google import genai

        options: JSON = {"base_url": self.base_url, **http}
        if retries:
            options["retry_options"] = types.HttpRetryOptions(
                attempts=retries + 1, initial_delay=0.001, max_delay=0.002, jitter=0.0
            )
        http_options = types.HttpOptions(**options)
        if not vertexai:
            return genai.Client(api_key="fake-key", http_options=http_options)
        from google.oauth2.credentials import Credentials

        return genai.Client(
            vertexai=True,
            project=project,
            location=location,
            credentials=Credentials(token="fake-token"),  # type: ignore[no-untyped-call]
            http_options=http_options,
        )

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            return self.requests[-1]

    def reset(self) -> None:
        """Forget recorded requests, scripted replies and pending faults."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self._cuts.clear()
            self._replies.clear()

    # -- scripting (each queued item is used by one request, in order) -------------------

    def script(self, *replies: Reply) -> None:
        """Answer the next generateContent / streamGenerateContent requests with these."""
        with self._lock:
            self._replies.extend(replies)

    def fail_next(self, status: int = 429, times: int = 1, body: JSON | str | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` and a Google error body
        (``{"error": {"code", "message", "status"}}``; ``body`` replaces it)."""
        with self._lock:
            for _ in range(times):
                self._faults.append(_Fault("fail", status, body))

    def stall_next(self, seconds: float) -> None:
        """Sleep ``seconds`` before answering the next request (then answer normally)."""
        with self._lock:
            self._faults.append(_Fault("stall", seconds=seconds))

    def drop_connection_next(self) -> None:
        """Close the socket of the next request without answering."""
        with self._lock:
            self._faults.append(_Fault("drop"))

    def cut_stream_next(self, after_chunks: int = 1) -> None:
        """Make the next stream send ``after_chunks`` events, then close the connection
        abruptly (no chunked-encoding terminator)."""
        with self._lock:
            self._cuts.append(("cut", after_chunks, 0))

    def error_in_stream_next(self, after_chunks: int = 1, status: int = 500) -> None:
        """Make the next stream send ``after_chunks`` events, then an error event
        (``data: {"error": ...}``), as Gemini reports a failure mid-stream."""
        with self._lock:
            self._cuts.append(("error", after_chunks, status))

    # -- used by the handler --------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _pop_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _pop_cut(self) -> tuple[str, int, int] | None:
        with self._lock:
            return self._cuts.popleft() if self._cuts else None

    def _pop_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._conns.add if alive else self._conns.discard)(conn)
