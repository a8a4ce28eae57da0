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

import json
import re
from collections import deque
from collections.abc import Iterable
from typing import Any, ClassVar

import anthropic
from anthropic.types import MessageTokensCount

from hilt_core.testing.loopback import (
    LoopbackHandler,
    LoopbackServer,
    RecordedRequest,
    StreamFault,
)

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


def error_body(status: int, message: str | None = None, kind: str | None = None) -> JSON:
    """Anthropic's error JSON: ``{"type": "error", "error": {"type", "message"}, ...}``."""
    default_kind, default_message = _ERRORS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", "Error")
    )
    return {"type": "error",
            "error": {"type": kind or default_kind, "message": message or default_message},
            "request_id": new_id("req_")}  # fmt: skip


class _Handler(LoopbackHandler):
    fake: FakeAnthropic
    # The SDK ignores "retry-after: 0" (it backs off 0.5 s+); "retry-after-ms" wins.
    retry_headers: ClassVar[dict[str, str]] = {"retry-after": "1", "retry-after-ms": "1"}

    def response_headers(self) -> dict[str, str]:
        return {"request-id": new_id("req_")}

    def error_body(self, status: int, message: str | None = None) -> JSON:
        return error_body(status, message)

    def route(self, path: str, query: dict[str, str], body: Any) -> None:
        post = self.command == "POST"
        _, models, model = path.partition("/v1/models")
        if models and self.command == "GET" and model in ("", "/"):
            self.reply_json(200, self._models())
            return
        if models and self.command == "GET" and model.count("/") == 1:
            self.reply_json(200, self._model_info(model[1:]))
            return
        if not post:
            self.reply_error(404, None)
            return
        if not isinstance(body, dict):
            self.reply_error(400, error_body(400, "Request body must be a JSON object."))
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
            self.reply_error(404, None)

    # -- endpoints ------------------------------------------------------------------------

    def _messages(self, body: JSON, model: str, streamed: bool, bedrock: bool = False) -> None:
        fake = self.fake
        if not isinstance(body.get("messages"), list):
            self.reply_error(400, error_body(400, "messages: Field required"))
            return
        script = fake._take(fake._scripts)
        reply = plan(body, fake.model(model), script,
                     fake.cache_creation_tokens, fake.cache_read_tokens)  # fmt: skip
        if not streamed:
            self.reply_json(200, message_body(reply))
            return
        self._send_events(reply, bedrock)

    def _send_events(self, reply: Reply, bedrock: bool) -> None:
        fake = self.fake
        events = stream_events(reply, fake.stream_chunks, fake.message_deltas)
        if bedrock:  # Bedrock's message_stop carries invocation metrics
            name, stop = events[-1]
            metrics = {"inputTokenCount": reply.usage.get("input_tokens", 0),
                       "outputTokenCount": reply.usage.get("output_tokens", 0),
                       "invocationLatency": 1, "firstByteLatency": 1}  # fmt: skip
            events[-1] = (name, {**stop, "amazon-bedrock-invocationMetrics": metrics})
        fault = fake.take_stream_fault()
        frames: list[Event | float] = list(events)
        if fault is not None:
            frames = frames[: fault.after]
            if fault.kind == "error":
                status = 529 if fault.detail == "overloaded_error" else 500
                error = error_body(status, kind=fault.detail)
                del error["request_id"]
                frames.append(("error", error))
            elif fault.kind == "hang":
                frames.append(fault.seconds)
        if not bedrock and fake.ping and frames and frames[0] == events[0]:
            frames.insert(1, _PING)  # the API pings after message_start; the SDK skips it
        cut = fault is not None and fault.kind != "error"
        headers = {"cache-control": "no-cache"}
        if bedrock:
            payloads = (e if isinstance(e, float) else eventstream.chunk(e[1]) for e in frames)
            self.reply_chunked(payloads, eventstream.CONTENT_TYPE, cut=cut, headers=headers)
            return
        sse = (
            e if isinstance(e, float) else f"event: {e[0]}\ndata: {json.dumps(e[1])}\n\n"
            for e in frames
        )
        self.reply_chunked(sse, "text/event-stream; charset=utf-8", cut=cut, headers=headers)

    def _count_tokens(self, body: JSON) -> None:
        self.reply_json(200, wire(MessageTokensCount, {"input_tokens": input_tokens(body)}))

    def _model_info(self, model: str) -> JSON:
        info = {"type": "model", "id": model, "display_name": model,
                "created_at": "2025-01-01T00:00:00Z", "lifecycle": "active"}  # fmt: skip
        try:
            from anthropic.types import ModelInfo
        except ImportError:  # an SDK without the models API
            return info
        return wire(ModelInfo, {k: v for k, v in info.items() if k in ModelInfo.model_fields})

    def _models(self) -> JSON:
        data = [self._model_info(m) for m in self.fake.models]
        return {"data": data, "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}  # fmt: skip


class FakeAnthropic(LoopbackServer):
    """An Anthropic-compatible server on ``127.0.0.1:<free port>``, run in a daemon thread.

    Settings (attributes, changeable while it runs): ``model_map`` (requested model ->
    model in the reply), ``stream_chunks`` (deltas per text / thinking / tool input),
    ``chunk_delay`` (seconds before each streamed frame), ``cache_creation_tokens`` /
    ``cache_read_tokens`` (put in every usage), ``message_deltas`` (how many cumulative
    ``message_delta`` events a stream sends), ``ping`` (a ``ping`` event after
    ``message_start``), ``models`` (what ``/v1/models`` lists). 429 and 5xx errors carry
    ``retry-after: 1`` and ``retry-after-ms: 1`` (the SDK waits 1 ms) unless
    :meth:`fail_next`'s ``headers`` override them. :meth:`reset` forgets scripted replies
    too.
    """

    handler = _Handler

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
        super().__init__(model_map=model_map, stream_chunks=stream_chunks, chunk_delay=chunk_delay)
        self.cache_creation_tokens = cache_creation_tokens
        self.cache_read_tokens = cache_read_tokens
        self.message_deltas = message_deltas
        self.ping = ping
        self.models = list(models)
        self._scripts: deque[Script] = deque()

    @property
    def base_url(self) -> str:
        """For ``Anthropic(base_url=...)`` and ``AnthropicBedrock(base_url=...)``."""
        return self.url

    @property
    def vertex_base_url(self) -> str:
        """For ``AnthropicVertex(base_url=...)`` (Vertex's URLs start with ``/v1``)."""
        return f"{self.url}/v1"

    def client(self, *, retries: int = 0, **options: Any) -> anthropic.Anthropic:
        """An ``anthropic.Anthropic`` on this server (a test key; ``retries``: the SDK's
        ``max_retries``; ``options`` go to the constructor)."""
        return anthropic.Anthropic(
            base_url=self.base_url, api_key="test", max_retries=retries, **options
        )

    def _queues(self) -> list[deque[Any]]:
        return [*super()._queues(), self._scripts]

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
        self._put(self._scripts, *[script] * times)

    # -- stream faults (each consumed by the next streamed reply) ---------------------------

    def cut_stream_next(self, after_events: int = 1) -> None:
        """Make the next *streamed* reply send ``after_events`` events (``ping`` not
        counted), then close the connection (no ``message_stop``, no chunked terminator)."""
        self.fault_stream_next(StreamFault("cut", after_events))

    def error_stream_next(
        self, after_events: int = 1, error_type: str = "overloaded_error"
    ) -> None:
        """Make the next *streamed* reply send ``after_events`` events, then an ``error``
        event (``{"type": "error", "error": {"type": error_type, ...}}``) and close."""
        self.fault_stream_next(StreamFault("error", after_events, error_type))

    def hang_stream_next(self, after_events: int, seconds: float) -> None:
        """Make the next *streamed* reply send ``after_events`` events, wait ``seconds``
        (the client's read timeout fires), then close the connection."""
        self.fault_stream_next(StreamFault("hang", after_events, seconds=seconds))
