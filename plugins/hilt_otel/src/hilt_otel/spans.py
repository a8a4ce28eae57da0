"""HILT events as OpenTelemetry spans (the mapping docs/otel.md documents).

- A model call, a prompt and the completion or error whose ``extensions.reply_to`` names
  it, is one CLIENT span ``"{gen_ai.operation.name} {gen_ai.request.model}"`` from the
  prompt's timestamp to the answer's, with the GenAI attributes. The prompt is held until
  its answer arrives (at most ``max_open`` prompts; past that, and at close, a prompt
  still unanswered becomes a span of its own with ``hilt.unanswered``).
- An answer whose prompt was never seen (dropped, or written by another process) is a
  span of its own, starting ``metrics.latency_ms`` before it.
- Every other event (feedback, tool calls and results, retrievals, chunks, HILT's own
  ``system`` reports, an application's own events) is an INTERNAL span of zero duration
  named ``"hilt {action}"``, linked to the call it replies to when that call's span was
  made in this process.

Everything read here has been through the session's redactors and capture mode already:
content is taken from the event as it is (hashes in ``capture="hash"``, nothing in
``"metadata"``), and only when content export is on.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hilt_otel import semconv as sc

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import Link, SpanContext, Tracer

    from hilt_core import Event

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
# How many calls' span contexts are remembered for links (a feedback to a completion, a
# prompt following up an answer).
LINKED = 4096


def to_ns(ts: datetime) -> int:
    """A UTC datetime as Unix nanoseconds, exactly (no float on the way)."""
    d = ts - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1_000


def _endpoint(value: Any) -> tuple[str | None, int | None]:
    """``"host:port"`` (or ``"[::1]:port"``, or a bare host) as address and port."""
    if not isinstance(value, str) or not value:
        return None, None
    host, port = value, None
    if value.startswith("["):
        end = value.find("]")
        host = value[1:end] if end > 0 else value
        rest = value[end + 1 :] if end > 0 else ""
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif value.count(":") == 1:
        head, _, tail = value.partition(":")
        if tail.isdigit():
            host, port = head, int(tail)
    return host, port


def _is_error(event: Event) -> bool:
    ext = event.extensions or {}
    return event.action == "system" and (
        ext.get("error_code") == "api_error" or "error_type" in ext
    )


def _tool_call_part(call: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "tool_call"}
    if isinstance(call, Mapping):
        for key in ("id", "name", "arguments"):
            if call.get(key) is not None:
                part[key] = call[key]
    return part


def _message(m: Mapping[str, Any]) -> dict[str, Any]:
    role = str(m.get("role") or "user")
    text = m.get("text")
    if role == "tool" or (m.get("tool_call_id") and role in ("tool", "function_call_output")):
        part: dict[str, Any] = {"type": "tool_call_response", "response": text}
        if m.get("tool_call_id"):
            part["id"] = m["tool_call_id"]
        return {"role": "tool", "parts": [part]}
    parts: list[dict[str, Any]] = []
    if text is not None:
        parts.append({"type": "text", "content": text})
    for described in m.get("parts") or ():
        kind = described.get("type") if isinstance(described, Mapping) else None
        parts.append({"type": str(kind or "other")})
    for call in m.get("tool_calls") or ():
        parts.append(_tool_call_part(call))
    return {"role": role, "parts": parts}


def input_messages(prompt: Event) -> list[dict[str, Any]] | None:
    """The prompt's new turn in the GenAI conventions' message form."""
    c = prompt.content
    if c is None:
        return None
    messages = c.extra.get("messages")
    if isinstance(messages, list) and messages:
        return [_message(m) for m in messages if isinstance(m, Mapping)]
    if c.text is None and not c.extra.get("parts"):
        return None
    return [_message({"role": "user", "text": c.text, "parts": c.extra.get("parts")})]


def output_messages(answer: Event) -> list[dict[str, Any]] | None:
    c = answer.content
    if c is None:
        return None
    parts: list[dict[str, Any]] = []
    if c.text is not None:
        parts.append({"type": "text", "content": c.text})
    refusal = c.extra.get("refusal")
    if refusal is not None:
        parts.append({"type": "refusal", "content": refusal})
    for call in c.extra.get("tool_calls") or ():
        parts.append(_tool_call_part(call))
    if not parts:
        return None
    message: dict[str, Any] = {"role": "assistant", "parts": parts}
    finish = (answer.extensions or {}).get("finish_reason")
    if finish is not None:
        message["finish_reason"] = str(finish)
    return [message]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class Assembler:
    """Turns events, in order, into ended spans handed to ``sink``; one per session,
    used by one thread (the backend's export thread)."""

    def __init__(
        self,
        tracer: Tracer,
        *,
        content: bool,
        capture: str,
        max_open: int = 10_000,
    ) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self._tracer = tracer
        self._content = content
        self._capture = capture
        self._max_open = max_open
        self._open: OrderedDict[str, Event] = OrderedDict()
        self._contexts: OrderedDict[str, SpanContext] = OrderedDict()
        self._client = SpanKind.CLIENT
        self._internal = SpanKind.INTERNAL
        self._error = Status(StatusCode.ERROR)
        self._status = Status
        self._code = StatusCode.ERROR

    @property
    def open_prompts(self) -> int:
        return len(self._open)

    # -- the way in ------------------------------------------------------------------------
    def add(self, event: Event) -> None:
        action = event.action
        if action == "prompt":
            self._open[event.event_id] = event
            if len(self._open) > self._max_open:
                _, oldest = self._open.popitem(last=False)
                self._call(oldest, None)
            return
        if action == "completion" or _is_error(event):
            reply_to = (event.extensions or {}).get("reply_to")
            prompt = self._open.pop(reply_to, None) if isinstance(reply_to, str) else None
            self._call(prompt, event)
            return
        self._other(event)

    def finish(self) -> None:
        """Close time: every prompt still waiting for its answer becomes a span."""
        while self._open:
            _, prompt = self._open.popitem(last=False)
            self._call(prompt, None)

    # -- spans -----------------------------------------------------------------------------
    def _links(self, event: Event) -> list[Link] | None:
        ref = (event.extensions or {}).get("reply_to")
        ctx = self._contexts.get(ref) if isinstance(ref, str) else None
        if ctx is None:
            return None
        from opentelemetry.trace import Link

        return [Link(ctx)]

    def _parent(self, ext: Mapping[str, Any]) -> Any:
        """The application's own trace, when an event names one (``trace_id`` and
        ``span_id`` in hex): the span becomes a child of it."""
        trace_id, span_id = ext.get("trace_id"), ext.get("span_id")
        if not (isinstance(trace_id, str) and isinstance(span_id, str)):
            return None
        trace_id, span_id = trace_id.lower(), span_id.lower()
        if not (_HEX32.fullmatch(trace_id) and _HEX16.fullmatch(span_id)):
            return None
        from opentelemetry import trace
        from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

        parent = SpanContext(
            int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(1)
        )
        return trace.set_span_in_context(NonRecordingSpan(parent))

    def _remember(self, event_ids: tuple[str | None, ...], ctx: SpanContext) -> None:
        for event_id in event_ids:
            if event_id:
                self._contexts[event_id] = ctx
        while len(self._contexts) > LINKED:
            self._contexts.popitem(last=False)

    def _common(self, attrs: dict[str, Any], event: Event, ext: Mapping[str, Any]) -> None:
        session_id = event.session_id
        if session_id and session_id != "hilt":
            attrs[sc.CONVERSATION_ID] = session_id
            attrs[sc.SESSION_ID] = session_id
        user = ext.get("user_id")
        if isinstance(user, str):
            attrs[sc.USER_ID] = user
        for key, name in sc.EXTENSIONS.items():
            value = ext.get(key)
            if value is None or name in attrs:
                continue
            if isinstance(value, bool | int | float | str):
                attrs[name] = value
            elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                attrs[name] = list(value)
        attrs[sc.CAPTURE] = self._capture

    def _call(self, prompt: Event | None, answer: Event | None) -> None:
        first = prompt if prompt is not None else answer
        assert first is not None
        p_ext = (prompt.extensions or {}) if prompt is not None else {}
        a_ext = (answer.extensions or {}) if answer is not None else {}
        ext = {**p_ext, **a_ext}
        attrs: dict[str, Any] = {}
        api = ext.get("api")
        operation = (
            sc.OPERATIONS.get(api, sc.DEFAULT_OPERATION)
            if isinstance(api, str)
            else (sc.DEFAULT_OPERATION)
        )
        attrs[sc.OPERATION_NAME] = operation
        provider = ext.get("provider")
        if isinstance(provider, str) and provider:
            attrs[sc.PROVIDER_NAME] = sc.PROVIDERS.get(provider, provider)
        else:
            attrs[sc.PROVIDER_NAME] = sc.ERROR_OTHER
        # An answer whose prompt was not seen may carry only the model that answered.
        request_model = a_ext.get("request_model") or p_ext.get("model") or a_ext.get("model")
        if isinstance(request_model, str):
            attrs[sc.REQUEST_MODEL] = request_model
        failed = answer is not None and _is_error(answer)
        if answer is not None and not failed:
            if isinstance(a_ext.get("model"), str):
                attrs[sc.RESPONSE_MODEL] = a_ext["model"]
            if isinstance(a_ext.get("response_id"), str):
                attrs[sc.RESPONSE_ID] = a_ext["response_id"]
            finish = a_ext.get("finish_reason")
            if finish is not None:
                attrs[sc.FINISH_REASONS] = [str(finish)]
        host, port = _endpoint(ext.get("endpoint"))
        if host:
            attrs[sc.SERVER_ADDRESS] = host
        if port is not None:
            attrs[sc.SERVER_PORT] = port
        status = a_ext.get("status_code")
        if isinstance(status, int) and not isinstance(status, bool) and status > 0:
            attrs[sc.HTTP_STATUS] = status
        metrics = answer.metrics if answer is not None else None
        if metrics is not None:
            tokens = metrics.tokens or {}
            for key, names in (
                ("prompt", (sc.INPUT_TOKENS,)),
                ("completion", (sc.OUTPUT_TOKENS,)),
                ("cached", (sc.CACHE_READ_TOKENS,)),
                ("cache_write", (sc.CACHE_CREATION_TOKENS, sc.CACHE_WRITE_TOKENS)),
                ("reasoning", (sc.REASONING_TOKENS,)),
            ):
                value = tokens.get(key)
                if isinstance(value, int) and not isinstance(value, bool):
                    for name in names:
                        attrs[name] = value
            if metrics.cost_usd is not None:
                attrs[sc.COST_USD] = float(metrics.cost_usd)
                attrs[sc.OPERATION_COST] = float(metrics.cost_usd)
            ttft = metrics.extra.get("ttft_ms", a_ext.get("ttft_ms"))
            if isinstance(ttft, int | float) and not isinstance(ttft, bool):
                attrs[sc.TTFT_MS] = float(ttft)
        if prompt is not None:
            attrs[sc.PROMPT_EVENT_ID] = prompt.event_id
        if answer is not None:
            attrs[sc.RESPONSE_EVENT_ID] = answer.event_id
        else:
            attrs[sc.UNANSWERED] = True
        self._common(attrs, answer if answer is not None else first, ext)
        status_obj = None
        if failed:
            assert answer is not None
            error_type = a_ext.get("error_type") or a_ext.get("error_code")
            attrs[sc.ERROR_TYPE] = str(error_type) if error_type else sc.ERROR_OTHER
            description = str(a_ext.get("error_detail") or attrs[sc.ERROR_TYPE])
            if self._content and answer.content is not None and answer.content.text:
                description = answer.content.text
            status_obj = self._status(self._code, description)
        if self._content:
            if prompt is not None:
                messages = input_messages(prompt)
                if messages:
                    attrs[sc.INPUT_MESSAGES] = _json(messages)
            if answer is not None and not failed:
                out = output_messages(answer)
                if out:
                    attrs[sc.OUTPUT_MESSAGES] = _json(out)
        start = to_ns(first.timestamp)
        end = to_ns(answer.timestamp) if answer is not None else start
        latency = metrics.latency_ms if metrics is not None else None
        if prompt is None and isinstance(latency, int | float) and latency > 0:
            start = end - int(latency * 1_000_000)
        end = max(end, start)
        name = f"{operation} {attrs[sc.REQUEST_MODEL]}" if sc.REQUEST_MODEL in attrs else operation
        links = self._links(prompt) if prompt is not None else None
        span = self._tracer.start_span(
            name,
            context=self._parent(ext),
            kind=self._client,
            attributes=attrs,
            links=links,
            start_time=start,
        )
        if status_obj is not None:
            span.set_status(status_obj)
        self._remember(
            (
                prompt.event_id if prompt is not None else None,
                answer.event_id if answer is not None else None,
            ),
            span.get_span_context(),
        )
        span.end(end_time=end)

    def _other(self, event: Event) -> None:
        ext = event.extensions or {}
        attrs: dict[str, Any] = {
            sc.ACTION: event.action,
            sc.ACTOR_TYPE: event.actor.type,
            sc.ACTOR_ID: event.actor.id,
            sc.EVENT_ID: event.event_id,
        }
        reply_to = ext.get("reply_to")
        if isinstance(reply_to, str):
            attrs[sc.REPLY_TO] = reply_to
        for key, name in (("model", sc.REQUEST_MODEL), ("provider", sc.PROVIDER_NAME)):
            value = ext.get(key)
            if isinstance(value, str):
                attrs[name] = sc.PROVIDERS.get(value, value) if key == "provider" else value
        self._common(attrs, event, ext)
        if self._content and event.content is not None and event.content.text is not None:
            attrs[sc.CONTENT_TEXT] = event.content.text
        at = to_ns(event.timestamp)
        span = self._tracer.start_span(
            f"hilt {event.action}",
            context=self._parent(ext),
            kind=self._internal,
            attributes=attrs,
            links=self._links(event),
            start_time=at,
        )
        if ext.get("error_code") not in (None, "hilt_dropped") or _is_error(event):
            span.set_status(self._error)
        self._remember((event.event_id,), span.get_span_context())
        span.end(end_time=at)


def collecting_processor(sink: Callable[[ReadableSpan], None]) -> Any:
    """A span processor handing each ended span to ``sink``, on the thread that ended it
    (the export thread, which batches and sends them itself)."""
    from opentelemetry.sdk.trace import SpanProcessor

    class _Collect(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            sink(span)

    return _Collect()
