"""One intercepted SDK call: its prompt event at the start, its completion or error at the end.

On the application's thread a call takes the time, fixes the event ids, keeps a reference
to the request body (which the SDK built for this request) and reads the response's few
fields (content, finish reason, tokens, model, id), letting the SDK's objects go; its
events are built on the session's writer thread (``Session.defer``), in order, with the
other events of the batch. Values that belong to the calling context
(``hilt.conversation``, the session) are read on the application's thread.

Objects held from the app's thread until the writer has run make the app's garbage
collector run: a call holds a few, not the SDK's response (about twenty objects), and a
chat stream holds the text of its text chunks, not the chunk objects (about ten each;
see streams.py for the chunks that are kept). docs/performance.md has the measurements.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from time import perf_counter, time
from typing import Any

from hilt_core import Actor, Content, Event, Metrics, Recorder, SessionLike
from hilt_core.ids import format_event_id, new_event_key
from hilt_openai import extract

log = logging.getLogger("hilt")

PROVIDER_ACTOR = Actor(type="agent", id="openai")
USER_ACTOR = Actor(type="human", id="user")
SYSTEM_ACTOR = Actor(type="system", id="openai")
NO_RESPONSE = 0  # status_code recorded when no HTTP response came back (timeout, network)

_LINKS_MAX = 4_096
# Completion event ids by a hash of (conversation, completion text) and by response id, so
# the next turn's prompt can say which completion it answers. Bounded and in-process: the
# most recent 4,096 completions (about 0.6 MB), never growing with the number of calls.
# An OrderedDict: once full, every completion evicts the oldest, which popitem() finds at
# once; a dict's first key is found by scanning past the slots of the keys deleted before
# it (2.8 against 0.4 µs per completion on the project's VM).
_links: OrderedDict[Any, tuple[str, str]] = OrderedDict()


def _content(fields: dict[str, Any]) -> Content:
    """``Content(**fields)`` without its keyword-argument round trip."""
    if len(fields) == 1 and "text" in fields:
        return Content.trusted(fields["text"])
    if "images" in fields or "metadata" in fields:
        return Content(**fields)
    extra = dict(fields)
    return Content.trusted(extra.pop("text", None), extra)


def turn_key(conversation: str, text: str | None) -> int:
    return hash((conversation, text or ""))


def remember(key: Any, event_id: str, conversation: str) -> None:
    _links[key] = (event_id, conversation)
    if len(_links) > _LINKS_MAX:
        # Another session's writer may evict at the same moment; losing that race is
        # harmless.
        with contextlib.suppress(KeyError):
            _links.popitem(last=False)


def read_response(api: str, response: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The keyword arguments of ``Call._completion`` from a response (an SDK object or a
    dict): its content, finish reason, token counts, model and id; ``extra`` adds to the
    extensions it gives."""
    stream: dict[str, Any] | None = None
    if type(response) in extract.ATTRIBUTE_TYPES:  # an SDK object: no get() per field
        model = getattr(response, "model", None)
        response_id = getattr(response, "id", None)
        usage = getattr(response, "usage", None)
    else:
        model = extract.get(response, "model")
        response_id = extract.get(response, "id")
        usage = extract.get(response, "usage")
    if api == "chat.completions":
        parts = extract.chat_choices(extract.get(response, "choices") or ())
        content, finish_reason = parts["content"], parts["finish_reason"]
    elif api == "responses":
        parts = extract.responses_output(response)
        content, finish_reason = parts["content"], parts["finish_reason"]
    elif api == "completions":
        choices = extract.get(response, "choices") or ()
        first = choices[0] if choices else None
        content = {"text": extract.get(first, "text") if first is not None else None}
        finish_reason = extract.get(first, "finish_reason") if first is not None else None
    else:  # embeddings
        data = extract.get(response, "data") or ()
        content = None
        finish_reason = None
        vec = extract.get(data[0], "embedding") if data else None
        stream = {"embeddings": len(data)}
        if isinstance(vec, list):
            stream["dimensions"] = len(vec)
    if extra:
        stream = {**stream, **extra} if stream else extra
    return {
        "content": content,
        "finish_reason": finish_reason,
        "tokens": extract.chat_usage(usage),
        "model": model,
        "response_id": response_id,
        "stream": stream,
    }


class Call:
    """State of one logical call (all its HTTP attempts)."""

    __slots__ = (
        "api",
        "attempts",
        "body",
        "client_info",
        "conv_set",
        "conversation",
        "end",
        "prompt_id",
        "prompt_key",
        "recorder",
        "request_model",
        "session",
        "t0",
        "wall0",
    )

    def __init__(
        self,
        api: str,
        body: Mapping[str, Any],
        session: SessionLike,
        recorder: Recorder,
        client_info: tuple[str, str],
    ) -> None:
        self.api = api
        self.body = body
        self.session = session
        self.recorder = recorder
        self.client_info = client_info
        self.attempts = 1
        self.request_model = body.get("model")
        self.wall0 = time()
        self.t0 = perf_counter()
        self.conv_set = recorder.conversation_id()  # hilt.conversation(): the caller's context
        self.conversation = ""
        self.prompt_key = 0
        self.end: tuple[Any, ...] | None = None  # what completion() saw, until it is built
        self.prompt_id = ""  # its string, made on the writer thread

    # -- start ---------------------------------------------------------------------------
    def start(self) -> None:
        # The id is fixed here: UUIDv7 ids sort by the time they were made, and the
        # completion's reply_to must hold even if the prompt event is never built. Its
        # string (half the cost) is written on the writer thread.
        self.prompt_key = new_event_key()
        self.session.defer(self._prompt)

    def _prompt(self) -> Event:
        """The prompt event (on the writer thread)."""
        body = self.body
        api = self.api
        reply_to: str | None = None
        conv = self.conv_set
        if api == "chat.completions":
            messages = body.get("messages") or ()
            if conv is None:
                conv = extract.conversation_of(messages)
            new, last_assistant = extract.new_turn(messages)
            content = extract.turn_content(new)
            if last_assistant is not None:
                said = extract.message_text(extract.get(last_assistant, "content"))[0]
                link = _links.get(turn_key(conv, said))
                reply_to = link[0] if link else None
        elif api == "responses":
            items, instructions = extract.responses_input(body)
            prev = body.get("previous_response_id")
            link = _links.get(prev) if prev else None
            if conv is None:
                if body.get("conversation"):
                    c = body["conversation"]
                    conv = "conv_" + extract.short_hash(str(extract.get(c, "id") or c))
                elif link is not None:
                    conv = link[1]
                elif prev:
                    conv = "conv_" + extract.short_hash(str(prev))
                else:
                    conv = extract.conversation_of(
                        [{"role": "system", "content": instructions}, *items]
                    )
            new, last_said = extract.new_turn(items)
            content = extract.turn_content(new)
            if link is None and last_said is not None:  # history sent by hand
                said = extract.message_text(extract.get(last_said, "content"))[0]
                link = _links.get(turn_key(conv, said))
            reply_to = link[0] if link else None
        else:  # embeddings, completions: the input is the prompt
            raw = body.get("input", body.get("prompt"))
            text: str | None
            if isinstance(raw, str):
                text = raw
                content = {"text": raw}
            elif isinstance(raw, list) and raw and all(isinstance(x, str) for x in raw):
                text = raw[0]
                content = {"text": raw[0], "inputs": len(raw)} if len(raw) > 1 else {"text": raw[0]}
            else:
                text = None
                content = {"text": None}
            if conv is None:
                conv = "conv_" + extract.short_hash(api, text or "")
        if self.recorder.options.get("capture_request"):
            content["request"] = dict(body)
        self.conversation = conv
        ext: dict[str, Any] = {
            "model": self.request_model,
            "provider": self.client_info[0],
            "endpoint": self.client_info[1],
            "api": api,
        }
        if reply_to:
            ext["reply_to"] = reply_to
        when = datetime.fromtimestamp(self.wall0, UTC)
        return Event.trusted(
            conv, USER_ACTOR, "prompt", _content(content), None, ext, when, self._prompt_id()
        )

    def _prompt_id(self) -> str:
        if not self.prompt_id:
            self.prompt_id = format_event_id(self.prompt_key)
        return self.prompt_id

    def _ensure_conversation(self) -> None:
        # The prompt is built first, in queue order; if it was dropped (a full queue) or
        # failed, work the conversation id out for the completion or error alone.
        if not self.conversation:
            self._prompt()

    def _closed(self, what: str) -> bool:
        if not self.session.closed:
            return False
        # The app closed (or re-instrumented) HILT while this call was in flight; the
        # prompt went to that session, so the answer must not go to another one.
        log.warning(
            "HILT: an OpenAI call ended after its session was closed; its %s is not recorded",
            what,
        )
        return True

    # -- end -----------------------------------------------------------------------------
    def _extensions(self, status: int) -> dict[str, Any]:
        ext: dict[str, Any] = {
            "reply_to": self._prompt_id(),
            "model": self.request_model,
            "request_model": self.request_model,
            "provider": self.client_info[0],
            "endpoint": self.client_info[1],
            "api": self.api,
            "status_code": status,
            "attempts": self.attempts,
        }
        return ext

    def completion(
        self,
        response: Any,
        *,
        parts: Callable[[], dict[str, Any]] | None = None,
        content: dict[str, Any] | None = None,
        stream: dict[str, Any] | None = None,
    ) -> None:
        """Record the end of a call: ``response`` (an SDK object or a dict), or for a stream
        ``parts()``, which returns the keyword arguments of :meth:`_completion` and is
        called on the writer thread.

        The response's few fields are read here, and the SDK's objects let go: held
        until the writer built the event, they were promoted by the app's garbage
        collector and made it run full collections (see docs/performance.md)."""
        latency = (perf_counter() - self.t0) * 1000.0
        wall = time()
        key = new_event_key()
        if self._closed("completion"):
            return
        fields: dict[str, Any] | None = None
        if parts is None:
            if response is None:
                fields = {"content": content, "stream": stream}
            else:
                try:
                    fields = read_response(self.api, response, stream)
                except Exception:  # read again on the writer, where a failure is logged
                    api = self.api
                    parts = lambda: read_response(api, response, stream)  # noqa: E731
        # Kept on the call (not in a closure): fewer objects live until the writer builds
        # the event.
        end = (latency, wall, key, parts, fields)
        if self.end is None:
            self.end = end
            self.session.defer(self._build_completion)
        else:  # a second end before the first was built: not expected, but kept apart
            self.session.defer(lambda: self._build_completion(end))

    def _build_completion(self, end: tuple[Any, ...] | None = None) -> Event:
        if end is None:
            end, self.end = self.end, None
            assert end is not None
        latency, wall, key, parts, fields = end
        return self._completion(latency, wall, key, **(parts() if parts is not None else fields))

    def _completion(
        self,
        latency: float,
        wall: float,
        event_key: int,
        *,
        content: dict[str, Any] | None = None,
        finish_reason: Any = None,
        usage: Any = None,
        tokens: dict[str, int] | None = None,
        model: Any = None,
        response_id: Any = None,
        stream: dict[str, Any] | None = None,
    ) -> Event:
        """The completion event (on the writer thread)."""
        self._ensure_conversation()
        api = self.api
        if tokens is None:
            tokens = extract.chat_usage(usage)
        ext = self._extensions(200)
        if model:
            ext["model"] = model
        ext["stream"] = False
        if response_id:
            ext["response_id"] = response_id
        if finish_reason is not None:
            ext["finish_reason"] = finish_reason
        ext["latency_ms"] = int(latency)
        metrics = Metrics.trusted(tokens, round(latency, 3), {})
        if stream:
            for key, value in stream.items():
                if key == "ttft_ms":
                    metrics.extra["ttft_ms"] = value
                else:
                    ext[key] = value
        if content is not None and content.get("tool_calls"):
            ext["tool_calls"] = len(content["tool_calls"])
        event = Event.trusted(
            self.conversation,
            PROVIDER_ACTOR,
            "completion",
            _content(content) if content is not None else None,
            metrics,
            ext,
            datetime.fromtimestamp(wall, UTC),
            format_event_id(event_key),
        )
        if api in ("chat.completions", "responses"):
            text = content.get("text") if content else None
            remember(turn_key(self.conversation, text), event.event_id, self.conversation)
            if api == "responses" and response_id:
                remember(response_id, event.event_id, self.conversation)
        return event

    def error(self, exc: BaseException, partial: dict[str, Any] | None = None) -> None:
        """Record a call that failed with ``exc`` (read here; the event is built later)."""
        latency = (perf_counter() - self.t0) * 1000.0
        wall = time()
        status = getattr(exc, "status_code", None)
        if not isinstance(status, int):
            status = NO_RESPONSE
        found: dict[str, Any] = {"error_code": "api_error", "error_type": type(exc).__name__}
        found["latency_ms"] = int(latency)
        code = getattr(exc, "code", None)
        if isinstance(code, str):
            found["error_detail"] = code
        if partial:
            found.update(partial)
        message = str(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
        key = new_event_key()

        def build() -> Event:
            self._ensure_conversation()
            ext = self._extensions(status)
            ext.update(found)
            return Event.trusted(
                self.conversation,
                SYSTEM_ACTOR,
                "system",
                Content.trusted(message),
                Metrics.trusted(None, round(latency, 3), {}),
                ext,
                datetime.fromtimestamp(wall, UTC),
                format_event_id(key),
            )

        if not self._closed("error"):
            self.session.defer(build)
