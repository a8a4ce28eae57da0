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

import hashlib
import json
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from google.genai import types

from hilt_core.testing import loopback
from hilt_core.testing.loopback import LoopbackHandler, LoopbackServer, StreamFault, split, words

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
class RecordedRequest(loopback.RecordedRequest):
    """One HTTP request as the server received it (header names lower-cased)."""

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


def _parts_text(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    texts = [p.get("text") for p in content.get("parts") or [] if isinstance(p, dict)]
    return " ".join(t for t in texts if isinstance(t, str))


def _count(contents: list[Any], system: Any) -> int:
    """Prompt tokens: the words of every text part and function response."""
    n = words(_parts_text(system))
    for content in contents:
        n += words(_parts_text(content))
        for part in content.get("parts") or [] if isinstance(content, dict) else []:
            if isinstance(part, dict):
                for key in ("functionCall", "functionResponse"):
                    if key in part:
                        n += words(json.dumps(part[key]))
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


class _Handler(LoopbackHandler):
    fake: FakeGemini
    json_type: ClassVar[str] = "application/json; charset=UTF-8"
    text_type: ClassVar[str] = json_type  # a stream without alt=sse is a JSON array, as text

    def response_headers(self) -> dict[str, str]:
        return {"x-fake-gemini": "1"}

    def error_body(self, status: int, message: str | None = None) -> JSON:
        name = _STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
        text = message or f"{name} (injected by FakeGemini)."
        return {"error": {"code": status, "message": text, "status": name}}

    def recorded(
        self, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> RecordedRequest:
        match = _PATH.match(path)
        model = match.group("model").rsplit("/", 1)[-1] if match else ""
        vertex = bool(match and match.group("model").startswith("publishers/"))
        return RecordedRequest(self.command, path, query, headers, body, vertex, model)

    def route(self, path: str, query: dict[str, str], body: Any) -> None:
        match = _PATH.match(path)
        if match is None or self.command != "POST":
            self.reply_error(404, None)
            return
        if not isinstance(body, dict):
            self.reply_error(400, None)
            return
        method, model = match.group("method"), match.group("model").rsplit("/", 1)[-1]
        model = self.fake.model(model)
        if method == "generateContent":
            self.reply_json(200, self._generate(body, model)[0])
        elif method == "streamGenerateContent":
            self._stream_generate(body, model, sse=query.get("alt") == "sse")
        elif method == "batchEmbedContents":
            texts = [_parts_text(r.get("content")) for r in body.get("requests") or []]
            self.reply_json(200, self._embeddings(texts, "batch"))
        elif method == "embedContent":
            self.reply_json(200, self._embeddings([_parts_text(body.get("content"))], "single"))
        elif method == "predict":
            texts = [str(i.get("content") or "") for i in body.get("instances") or []]
            self.reply_json(200, self._embeddings(texts, "predict"))
        elif method == "countTokens":
            contents = body.get("contents") or []
            self.reply_json(200, {"totalTokens": _count(contents, body.get("systemInstruction"))})
        else:
            self.reply_error(404, None)

    # -- generateContent -----------------------------------------------------------------

    def _generate(self, body: JSON, model: str, pieces: int = 0) -> tuple[JSON, list[JSON]]:
        """The whole answer, and (for a stream: ``pieces`` > 0 text chunks) its chunks."""
        fake = self.fake
        contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
        reply = fake._take(fake._replies) or self._default_reply(body, contents)
        config = body.get("generationConfig") or {}
        thinking = config.get("thinkingConfig") or {}
        thought = reply.thought
        if thought is None and (fake.thinking or thinking.get("includeThoughts")):
            thought = "Thinking about it."
        prompt = _count(contents, body.get("systemInstruction"))
        calls = [{"name": n, "args": a} for n, a in reply.function_calls]
        answer = reply.text or ""
        candidates = words(answer) + sum(words(json.dumps(c)) for c in calls)
        thoughts = fake.thoughts_tokens + (words(thought) if thought else 0)
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
            texts = split(reply.text, pieces) if reply.text else []
            said = 0
            if head:
                chunks.append(response(head, None, self._usage(prompt, 0, thoughts)))
            for i, piece in enumerate(texts):
                said += words(piece)
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
        fake = self.fake
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
        fake = self.fake
        _, chunks = self._generate(body, model, fake.stream_chunks)
        events = [f"data: {json.dumps(c)}\r\n\r\n" for c in chunks]
        fault = fake.take_stream_fault()
        if fault is not None:
            events = events[: fault.after]
            if fault.kind == "error":
                name = _STATUS.get(fault.detail, "INTERNAL")
                error = {"error": {"code": fault.detail, "status": name,
                                   "message": f"{name} mid-stream (FakeGemini)."}}  # fmt: skip
                events.append(f"data: {json.dumps(error)}\r\n\r\n")
        if not sse:  # a JSON array, as the REST API sends without alt=sse
            self.reply_json(200, json.dumps(chunks))
            return
        cut = fault is not None and fault.kind == "cut"
        self.reply_chunked(events, "text/event-stream", cut=cut)

    # -- embeddings ----------------------------------------------------------------------

    def _embeddings(self, texts: list[str], kind: str) -> JSON:
        dim = self.fake.embedding_dim
        vectors = []
        for text in texts:
            digest = b""
            while len(digest) < dim:
                digest += hashlib.sha256(text.encode() + len(digest).to_bytes(4, "big")).digest()
            vectors.append([round(b / 127.5 - 1.0, 4) for b in digest[:dim]])
        tokens = sum(words(t) for t in texts)
        usage = {"promptTokenCount": tokens, "totalTokenCount": tokens}
        if kind == "predict":  # Vertex AI text-embedding models
            predictions = []
            for text, vector in zip(texts, vectors, strict=True):
                stats = {"token_count": words(text), "truncated": False}
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


class FakeGemini(LoopbackServer):
    """A Gemini-compatible server on ``127.0.0.1:<free port>``, run in a daemon thread.

    Settings (attributes, changeable while it runs): ``model_map`` (requested model ->
    model in the reply), ``stream_chunks``, ``chunk_delay`` (seconds before each streamed
    event), ``cached_tokens`` / ``thoughts_tokens`` / ``tool_use_tokens`` (put in every
    usage), ``thinking`` (a thought part before every answer), ``embedding_dim``.
    :meth:`reset` forgets scripted replies too.
    """

    handler = _Handler

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
        super().__init__(model_map=model_map, stream_chunks=stream_chunks, chunk_delay=chunk_delay)
        self.cached_tokens = cached_tokens
        self.thoughts_tokens = thoughts_tokens
        self.tool_use_tokens = tool_use_tokens
        self.thinking = thinking
        self.embedding_dim = embedding_dim
        self._replies: deque[Reply] = deque()

    @property
    def base_url(self) -> str:
        """For ``genai.Client(http_options=types.HttpOptions(base_url=...))``."""
        return self.url

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
        return cast(RecordedRequest, super().last_request)  # every request the handler keeps

    def _queues(self) -> list[deque[Any]]:
        return [*super()._queues(), self._replies]

    # -- scripting (each queued item is used by one request, in order) -------------------

    def script(self, *replies: Reply) -> None:
        """Answer the next generateContent / streamGenerateContent requests with these."""
        self._put(self._replies, *replies)

    def cut_stream_next(self, after_chunks: int = 1) -> None:
        """Make the next stream send ``after_chunks`` events, then close the connection
        abruptly (no chunked-encoding terminator)."""
        self.fault_stream_next(StreamFault("cut", after_chunks))

    def error_in_stream_next(self, after_chunks: int = 1, status: int = 500) -> None:
        """Make the next stream send ``after_chunks`` events, then an error event
        (``data: {"error": ...}``), as Gemini reports a failure mid-stream."""
        self.fault_stream_next(StreamFault("error", after_chunks, status))
