"""An OpenAI-compatible HTTP server on 127.0.0.1 for tests and offline demos.

Every body is built by validating a dict against the ``openai`` package's own types
(``ChatCompletion``, ``ChatCompletionChunk``, ``Response`` and its stream events,
``CreateEmbeddingResponse``, ``Completion``), so a field the installed SDK requires and
the fake forgot fails loudly (a 500 with ``x-should-retry: false``). The dicts carry the
superset of fields used by newer SDKs (``sequence_number``, ``logprobs``,
``input_tokens_details``); older SDK types keep them as extras.

Replies are deterministic: ``"Echo: " + <last user text>``; token counts are word counts.
A chat request whose last user text starts with ``refuse`` gets that reply as a refusal
(``message.refusal``, or ``delta.refusal`` pieces in a stream) and no content.

    with FakeOpenAI() as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="test")
        srv.fail_next(429)
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import time
import uuid
from collections.abc import Callable
from itertools import count
from typing import Any, ClassVar, get_args

import openai
from openai import BaseModel
from openai.types import Completion, CreateEmbeddingResponse
from openai.types import responses as r
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from hilt_core.testing.loopback import (
    LoopbackHandler,
    LoopbackServer,
    RecordedRequest,
    StreamFault,
    split,
    words,
)

__all__ = ["FakeOpenAI", "RecordedRequest"]

JSON = dict[str, Any]
_FINGERPRINT = "fp_hilt_fake"
_DONE = "data: [DONE]\n\n"
_SSE = "text/event-stream; charset=utf-8"
_AZURE_DEPLOYMENT = re.compile(r"^/openai/deployments/([^/]+)(/.*)$")
_EVENT_CLASSES: tuple[type[BaseModel], ...] = (
    r.ResponseCreatedEvent, r.ResponseInProgressEvent, r.ResponseOutputItemAddedEvent,
    r.ResponseContentPartAddedEvent, r.ResponseTextDeltaEvent, r.ResponseTextDoneEvent,
    r.ResponseContentPartDoneEvent, r.ResponseFunctionCallArgumentsDeltaEvent,
    r.ResponseFunctionCallArgumentsDoneEvent, r.ResponseOutputItemDoneEvent,
    r.ResponseCompletedEvent,
)  # fmt: skip
# "response.created" -> ResponseCreatedEvent, read from each class's ``type: Literal[...]``
_EVENT_TYPES = {get_args(c.model_fields["type"].annotation)[0]: c for c in _EVENT_CLASSES}
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request (injected by FakeOpenAI)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("permission_error", None, "You are not allowed to access this resource."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached (injected by FakeOpenAI)."),
    500: ("server_error", None, "The server had an error (injected by FakeOpenAI)."),
    503: ("server_error", None, "The engine is currently overloaded."),
}


_SAFE = {"filtered": False, "severity": "safe"}
_AZURE_FILTER_CHUNK: JSON = {
    "choices": [],
    "created": 0,
    "id": "",
    "model": "",
    "object": "",
    "prompt_filter_results": [
        {
            "prompt_index": 0,
            "content_filter_results": dict.fromkeys(
                ("hate", "self_harm", "sexual", "violence"), _SAFE
            ),
        }
    ],
}


def _wire(model: type[BaseModel], data: JSON) -> JSON:
    """Validate ``data`` with an SDK type and return the wire form of the fields we set."""
    obj = model.model_validate(data)
    return obj.model_dump(mode="json", exclude_unset=True, by_alias=True)


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _text_of(content: Any) -> str:
    """Text of a message content: a string, or the text parts of a list joined by spaces."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def _last_user_text(messages: list[Any]) -> str:
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return _text_of(msg.get("content"))
    return ""


def schema_default(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A trivial instance of a JSON schema: every property filled by its type's default."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 32:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for key in ref[2:].split("/"):
            target = target.get(key, {}) if isinstance(target, dict) else {}
        return schema_default(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or [] if o.get("type") != "null"]
        if options:
            return schema_default(options[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: schema_default(v, root, depth + 1) for k, v in props.items()}
    if kind == "string":
        fmt = schema.get("format")
        dates = {"date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "time": "00:00:00"}
        if fmt == "uuid":
            return "00000000-0000-4000-8000-000000000000"
        return dates.get(fmt, "x") if isinstance(fmt, str) else "x"
    defaults = {"integer": 1, "number": 1.0, "boolean": True, "array": [], "null": None}
    return defaults.get(kind, {}) if isinstance(kind, str) else {}


def _pick_tool(body: JSON, user_text: str) -> tuple[str, str] | None:
    """(name, arguments JSON) when the request should be answered by a tool call."""
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    functions = [t.get("function", t) for t in tools if t.get("type", "function") == "function"]
    choice = body.get("tool_choice")
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict):  # {"type": "function", "function": {"name"}} or {"name"}
        wanted = choice.get("function", choice).get("name")
        functions = [f for f in functions if f.get("name") == wanted] or functions
    elif choice != "required" and "use tool" not in user_text.lower():
        return None
    fn = functions[0]
    return str(fn.get("name", "tool")), json.dumps(schema_default(fn.get("parameters") or {}))


def _json_reply(fmt: Any, echo: str) -> str | None:
    """The reply for a ``json_schema`` / ``json_object`` format, None for plain text."""
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema", fmt)  # chat nests it; responses inlines it
        return json.dumps(schema_default(spec.get("schema") or {}))
    if fmt.get("type") == "json_object":
        return json.dumps({"echo": echo})
    return None


class _Handler(LoopbackHandler):
    fake: FakeOpenAI
    # The SDK ignores "retry-after: 0" (it backs off 0.5 s+); "retry-after-ms: 1" wins.
    retry_headers: ClassVar[dict[str, str]] = {"retry-after": "0", "retry-after-ms": "1"}

    def response_headers(self) -> dict[str, str]:
        return {"x-request-id": _new_id("req_"), "openai-processing-ms": "1"}

    def error_body(self, status: int, message: str | None = None) -> JSON:
        kind, code, default = _ERRORS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None, "Error")
        )
        error = {"message": message or default, "type": kind, "param": None, "code": code}
        return {"error": error}

    def route(self, path: str, query: dict[str, str], body: Any) -> None:
        deployment = None
        match = _AZURE_DEPLOYMENT.match(path)
        if match:
            deployment, path = match.group(1), match.group(2)
            if "api-version" not in query:
                self.reply_error(404, {"error": {"code": "404", "message": "Resource not found"}})
                return
        else:
            for prefix in ("/openai/v1/", "/openai/", "/v1/"):
                if path.startswith(prefix):
                    path = path[len(prefix) - 1 :]
                    break
        routes: dict[str, Callable[[JSON, str], None]] = {
            "/chat/completions": self._chat,
            "/responses": self._responses,
            "/embeddings": self._embeddings,
            "/completions": self._completions,
        }
        handler = routes.get(path.rstrip("/"))
        if handler is None or self.command != "POST":
            self.reply_error(404, None)
            return
        if not isinstance(body, dict):
            self.reply_error(400, {"error": {"message": "Body must be a JSON object."}})
            return
        model = deployment or str(body.get("model") or "")
        self.azure_deployment = deployment is not None
        handler(body, self.fake.model(model))

    def _stream(self, events: list[str]) -> None:
        """Send SSE events, as the server's stream faults say (a cut drops ``[DONE]``)."""
        fault = self.fake.take_stream_fault()
        if fault is not None:
            events = [e for e in events if e != _DONE][: fault.after]
        headers = {"cache-control": "no-cache"}
        self.reply_chunked(events, _SSE, cut=fault is not None, headers=headers)

    # -- endpoints ------------------------------------------------------------------------

    def _usage(self, prompt: int, completion: int) -> JSON:
        fake = self.fake
        completion += fake.reasoning_tokens
        zeros = ("audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens")
        return {
            "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": fake.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": fake.reasoning_tokens,
                                          **dict.fromkeys(zeros, 0)},
        }  # fmt: skip

    def _chat(self, body: JSON, model: str) -> None:
        messages = body.get("messages") or []
        user = _last_user_text(messages)
        text = _json_reply(body.get("response_format"), "Echo: " + user) or "Echo: " + user
        tool = _pick_tool(body, user)
        refuse = user.startswith("refuse") and not tool
        n = int(body.get("n") or 1)
        prompt = sum(words(_text_of(m.get("content"))) for m in messages if isinstance(m, dict))
        usage = self._usage(prompt, n * words(" ".join(tool) if tool else text))
        finish = "tool_calls" if tool else "stop"
        call_id = _new_id("call_")
        base = {"id": _new_id("chatcmpl-"), "created": int(time.time()), "model": model,
                "system_fingerprint": _FINGERPRINT, "service_tier": "default"}  # fmt: skip
        if not body.get("stream"):
            message: JSON = {"role": "assistant", "content": None if tool or refuse else text,
                             "refusal": text if refuse else None, "annotations": []}  # fmt: skip
            if tool:
                fn = {"name": tool[0], "arguments": tool[1]}
                message["tool_calls"] = [{"id": call_id, "type": "function", "function": fn}]
            choices = [{"index": i, "message": message, "logprobs": None, "finish_reason": finish}
                       for i in range(n)]  # fmt: skip
            payload = {**base, "object": "chat.completion", "choices": choices, "usage": usage}
            self.reply_json(200, _wire(ChatCompletion, payload))
            return

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(choices: list[JSON], **extra: Any) -> str:
            data = {**base, "object": "chat.completion.chunk", "choices": choices, **extra}
            if include_usage and "usage" not in data:
                data["usage"] = None
            return f"data: {json.dumps(_wire(ChatCompletionChunk, data))}\n\n"

        def choice(i: int, delta: JSON, finish_reason: str | None = None) -> JSON:
            return {"index": i, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

        pieces = split(tool[1] if tool else text, self.fake.stream_chunks)
        events = []
        if getattr(self, "azure_deployment", False):
            # Azure's first chunk: the prompt's content-filter results, no model, no id.
            events.append(f"data: {json.dumps(_AZURE_FILTER_CHUNK)}\n\n")
        for i in range(n):
            first: JSON = {"role": "assistant", "content": None if tool or refuse else "",
                           "refusal": "" if refuse else None}  # fmt: skip
            if tool:
                fn = {"name": tool[0], "arguments": ""}
                first["tool_calls"] = [
                    {"index": 0, "id": call_id, "type": "function", "function": fn}
                ]
            events.append(chunk([choice(i, first)]))
        for piece in pieces:
            for i in range(n):
                calls = [{"index": 0, "function": {"arguments": piece}}]
                delta = {"tool_calls": calls} if tool else {"content": piece}
                events.append(chunk([choice(i, {"refusal": piece} if refuse else delta)]))
        events += [chunk([choice(i, {}, finish)]) for i in range(n)]
        if include_usage:
            events.append(chunk([], usage=usage))
        self._stream([*events, _DONE])

    def _responses(self, body: JSON, model: str) -> None:
        raw_input = body.get("input")
        items = (
            [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input
        )
        items = [i for i in items or [] if isinstance(i, dict)]
        user = _last_user_text(items)
        fmt = (body.get("text") or {}).get("format")
        text = _json_reply(fmt, "Echo: " + user) or "Echo: " + user
        tool = _pick_tool(body, user)
        fake = self.fake
        prompt = words(str(body.get("instructions") or ""))
        prompt += sum(
            words(_text_of(i.get("content")) or str(i.get("output") or "")) for i in items
        )
        output = words(" ".join(tool) if tool else text) + fake.reasoning_tokens
        usage = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": fake.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": fake.reasoning_tokens},
            "total_tokens": prompt + output,
        }
        tools = [{"parameters": {}, "strict": True, **t} for t in body.get("tools") or []
                 if isinstance(t, dict) and t.get("type") == "function"]  # fmt: skip
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        item: JSON = {"type": "message", "id": _new_id("msg_"), "role": "assistant",
                      "status": "completed", "content": [part]}  # fmt: skip
        if tool:
            item = {"type": "function_call", "id": _new_id("fc_"), "call_id": _new_id("call_"),
                    "name": tool[0], "arguments": tool[1], "status": "completed"}  # fmt: skip
        echoed = ("instructions", "max_output_tokens", "previous_response_id", "user")
        response: JSON = {
            "id": _new_id("resp_"), "object": "response", "created_at": int(time.time()),
            "status": "completed", "error": None, "incomplete_details": None, "model": model,
            "output": [item], "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
            "temperature": body.get("temperature", 1.0), "top_p": body.get("top_p", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}}, "tools": tools,
            "tool_choice": body.get("tool_choice", "auto"), "truncation": "disabled",
            "usage": usage, "metadata": body.get("metadata") or {},
            **{key: body.get(key) for key in echoed},
        }  # fmt: skip
        if not body.get("stream"):
            self.reply_json(200, _wire(r.Response, response))
            return

        seq = count()

        def event(kind: str, **fields: Any) -> str:
            data = _wire(_EVENT_TYPES[kind], {"type": kind, "sequence_number": next(seq), **fields})
            return f"event: {kind}\ndata: {json.dumps(data)}\n\n"

        pending = {**response, "status": "in_progress", "output": [], "usage": None}
        at = {"item_id": item["id"], "output_index": 0}
        events = [
            event("response.created", response=pending),
            event("response.in_progress", response=pending),
        ]
        if tool:
            added = {**item, "status": "in_progress", "arguments": ""}
            events.append(event("response.output_item.added", output_index=0, item=added))
            for piece in split(tool[1], fake.stream_chunks):
                events.append(event("response.function_call_arguments.delta", delta=piece, **at))
            events.append(event("response.function_call_arguments.done", arguments=tool[1], **at))
        else:
            added = {**item, "status": "in_progress", "content": []}
            empty = {**part, "text": ""}
            at["content_index"] = 0
            events.append(event("response.output_item.added", output_index=0, item=added))
            events.append(event("response.content_part.added", part=empty, **at))
            for piece in split(text, fake.stream_chunks):
                events.append(event("response.output_text.delta", delta=piece, logprobs=[], **at))
            events.append(event("response.output_text.done", text=text, logprobs=[], **at))
            events.append(event("response.content_part.done", part=part, **at))
        events.append(event("response.output_item.done", output_index=0, item=item))
        events.append(event("response.completed", response=response))
        self._stream(events)

    def _embeddings(self, body: JSON, model: str) -> None:
        raw = body.get("input")
        inputs: list[Any] = [raw] if isinstance(raw, str) else list(raw or [])
        if inputs and all(isinstance(x, int) for x in inputs):
            inputs = [inputs]  # one tokenized input
        dim = int(body.get("dimensions") or self.fake.embedding_dim)
        data, tokens = [], 0
        for index, item in enumerate(inputs):
            tokens += words(item) if isinstance(item, str) else len(item)
            seed, digest = json.dumps(item).encode(), b""
            while len(digest) < dim:
                digest += hashlib.sha256(seed + len(digest).to_bytes(4, "big")).digest()
            vector = [round(b / 127.5 - 1.0, 4) for b in digest[:dim]]
            data.append({"object": "embedding", "index": index, "embedding": vector})
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        payload = _wire(
            CreateEmbeddingResponse,
            {"object": "list", "data": data, "model": model, "usage": usage},
        )
        if body.get("encoding_format") == "base64":  # the SDK asks for this by default
            for entry in payload["data"]:
                floats = entry["embedding"]
                entry["embedding"] = base64.b64encode(
                    struct.pack(f"<{len(floats)}f", *floats)
                ).decode()
        self.reply_json(200, payload)

    def _completions(self, body: JSON, model: str) -> None:
        raw = body.get("prompt")
        prompts = [raw] if isinstance(raw, str) else [p for p in raw or [] if isinstance(p, str)]
        n = int(body.get("n") or 1)
        texts = ["Echo: " + p for p in prompts for _ in range(n)] or ["Echo: "]
        usage = self._usage(sum(map(words, prompts)), sum(map(words, texts)))
        usage.pop("prompt_tokens_details")
        base = {"id": _new_id("cmpl-"), "object": "text_completion", "created": int(time.time()),
                "model": model, "system_fingerprint": _FINGERPRINT}  # fmt: skip
        if not body.get("stream"):
            choices = [{"index": i, "text": t, "logprobs": None, "finish_reason": "stop"}
                       for i, t in enumerate(texts)]  # fmt: skip
            self.reply_json(200, _wire(Completion, {**base, "choices": choices, "usage": usage}))
            return

        def chunk(index: int, piece: str, finish: str | None, **extra: Any) -> str:
            choice = {"index": index, "text": piece, "logprobs": None, "finish_reason": "stop"}
            choices = [choice] if index >= 0 else []
            data = _wire(Completion, {**base, "choices": choices, **extra})
            for wire_choice in data["choices"]:  # the SDK types finish_reason as non-null;
                wire_choice["finish_reason"] = finish  # the wire sends null mid-stream
            return f"data: {json.dumps(data)}\n\n"

        events = [
            chunk(i, piece, None)
            for i, t in enumerate(texts)
            for piece in split(t, self.fake.stream_chunks)
        ]
        events += [chunk(i, "", "stop") for i in range(len(texts))]
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(chunk(-1, "", None, usage=usage))
        self._stream([*events, _DONE])


class FakeOpenAI(LoopbackServer):
    """An OpenAI-compatible server on ``127.0.0.1:<free port>``, run in a daemon thread.

    Settings (attributes, changeable while it runs): ``model_map`` (requested model ->
    model in the reply), ``stream_chunks``, ``chunk_delay`` (seconds before each streamed
    event), ``cached_tokens`` / ``reasoning_tokens`` (put in every usage),
    ``embedding_dim``. 429 and 5xx errors carry ``retry-after: 0`` and ``retry-after-ms:
    1`` (the SDK retries at once) unless :meth:`fail_next`'s ``headers`` override them.
    """

    handler = _Handler

    def __init__(
        self,
        *,
        model_map: dict[str, str] | None = None,
        stream_chunks: int = 5,
        chunk_delay: float = 0.0,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
        embedding_dim: int = 8,
    ) -> None:
        super().__init__(model_map=model_map, stream_chunks=stream_chunks, chunk_delay=chunk_delay)
        self.cached_tokens = cached_tokens
        self.reasoning_tokens = reasoning_tokens
        self.embedding_dim = embedding_dim

    @property
    def azure_endpoint(self) -> str:
        """For ``AzureOpenAI(azure_endpoint=...)``."""
        return self.url

    @property
    def base_url(self) -> str:
        """For ``OpenAI(base_url=...)``."""
        return f"{self.url}/v1"

    def client(self, *, retries: int = 0, **options: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` on this server (a test key; ``retries``: the SDK's
        ``max_retries``; ``options`` go to the constructor)."""
        return openai.OpenAI(base_url=self.base_url, api_key="test", max_retries=retries, **options)

    def cut_stream_next(self, after_chunks: int = 1) -> None:
        """Make the next *streamed* response send ``after_chunks`` SSE events, then close the
        connection abruptly (no ``[DONE]``, no chunked-encoding terminator)."""
        self.fault_stream_next(StreamFault("cut", after_chunks))
