"""One intercepted LLM call: its prompt event at the start, its completion or error at the
end, linked by ``reply_to``. The lifecycle every provider plugin shares.

On the application's thread a call takes the time, fixes the event ids (UUIDv7 keys, so
ids sort by the time of the call) and reads the response's few fields (a
:class:`Completion`), letting the SDK's objects go; the events are built on the session's
writer thread (``Session.defer``), in order, with the other events of the batch. Values
that belong to the calling context (``hilt.conversation``, the session) are read on the
application's thread.

A provider plugin gives the call an :class:`Adapter`: how to describe a request as a
:class:`Prompt` (on the writer thread) and, usually, how to read a response as a
:class:`Completion`. The conversation id, the links, the actors, the extension keys, the
error convention and the closed-session rule are the core's.

Objects held from the app's thread until the writer has run make the app's garbage
collector run (docs/performance.md): hold as few as you can.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from time import perf_counter, time
from typing import Any, Protocol, TypedDict

from hilt_core.ids import format_event_id, new_event_key
from hilt_core.model import Actor, Content, Event, Metrics
from hilt_core.protocols import SessionLike
from hilt_core.provider.ambient import SOURCES, gather
from hilt_core.provider.conversation import LINKS, digest, opening_id, turn_key
from hilt_core.recorder import Recorder

log = logging.getLogger("hilt")

USER_ACTOR = Actor(type="human", id="user")
NO_RESPONSE = 0  # status_code when no HTTP response came back (timeout, network)


class Prompt(TypedDict, total=False):
    """What a provider says about a request (all keys optional).

    - ``content``: the prompt event's content (``text`` = the new user text of this turn,
      ``messages`` when the turn has more than one message or non-text parts).
    - ``opening``: ``(system text, first user text)``: the conversation id comes from it
      when nothing more specific is known.
    - ``thread``: parts of a provider-known conversation id (a Responses API
      ``conversation``): the id is their digest (``conv_`` + 12 hex).
    - ``conversation``: a conversation id to use as given (a LangGraph ``thread_id``).
    - ``previous``: a response id the request continues (``previous_response_id``).
    - ``said``: the text of the request's last assistant message (None when it had no
      text: a tool-call answer), to link this prompt to the completion that said it.
      Leave the key out when the request has no assistant message.
    - ``extensions``: extra extension keys for the prompt event.
    """

    content: dict[str, Any]
    opening: tuple[str | None, str | None]
    thread: tuple[str, ...]
    conversation: str
    previous: str
    said: str | None
    extensions: dict[str, Any]


class Completion(TypedDict, total=False):
    """What a provider read from a response (all keys optional).

    - ``content``: the completion event's content (``text``, ``tool_calls``, ...);
      ``None`` for an answer without text (embeddings).
    - ``finish_reason``, ``model`` (the model that answered), ``response_id``.
    - ``tokens``: in HILT's semantics (:func:`hilt_core.provider.tokens`).
    - ``link_id``: an id a later request may name to continue this one (the Responses
      API's response id); remembered for ``Prompt["previous"]``.
    - ``stream``: stream details: ``ttft_ms`` goes to ``metrics``, the rest
      (``stream``, ``stream_end``, ``partial``, ``error_type``) to ``extensions``.
    - ``extensions``: extra extension keys (``service_tier``, a plugin's declared keys).
    """

    content: dict[str, Any] | None
    finish_reason: Any
    model: Any
    response_id: Any
    tokens: dict[str, int] | None
    link_id: Any
    stream: dict[str, Any] | None
    extensions: dict[str, Any] | None


class Adapter(Protocol):
    """A provider's knowledge of its SDK's shapes. ``name`` is the actor id of the
    provider's answers and errors ("openai", "anthropic")."""

    name: str

    def prompt(self, api: str, body: Mapping[str, Any]) -> Prompt:
        """Describe the request (on the writer thread)."""
        ...


def content_of(fields: dict[str, Any]) -> Content:
    """``Content(**fields)`` without its keyword-argument round trip."""
    if len(fields) == 1 and "text" in fields:
        return Content.trusted(fields["text"])
    if "images" in fields or "metadata" in fields:
        return Content(**fields)
    extra = dict(fields)
    return Content.trusted(extra.pop("text", None), extra)


class Call:
    """State of one logical call (all its HTTP attempts) of ``adapter``'s SDK.

    ``client`` is ``(provider, endpoint)`` as the extensions record them; ``body`` the
    request as the SDK is about to send it (kept until the prompt is built, read only
    there). Use :meth:`start` once, then exactly one of :meth:`completion` or
    :meth:`error` (a stream calls :meth:`completion` when it ends, however it ends).

    A call recorded after the fact (a framework's callback that fires once the call is
    over: LiteLLM's) gives its times: ``started`` here and ``ended`` to :meth:`completion`
    or :meth:`error` (seconds since the epoch); the timestamps and the latency are then
    the call's, not the callback's.
    """

    __slots__ = (
        "adapter",
        "agent",
        "ambient",
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
        "system",
        "t0",
        "wall0",
    )

    def __init__(
        self,
        adapter: Adapter,
        api: str,
        body: Mapping[str, Any],
        session: SessionLike,
        recorder: Recorder,
        client_info: tuple[str, str],
        *,
        request_model: Any = None,
        started: float | None = None,
    ) -> None:
        self.adapter = adapter
        self.api = api
        self.body = body
        self.session = session
        self.recorder = recorder
        self.client_info = client_info
        self.attempts = 1
        self.request_model = body.get("model") if request_model is None else request_model
        self.wall0 = time()
        self.t0 = perf_counter()
        if started is not None:
            self.t0 -= self.wall0 - started
            self.wall0 = started
        self.conv_set = recorder.conversation_id()  # hilt.conversation(): the caller's context
        self.conversation = ""
        self.prompt_key = 0
        self.end: tuple[Any, ...] | None = None  # what completion() saw, until it is built
        self.prompt_id = ""  # its string, made on the writer thread
        self.agent, self.system = _actors(adapter.name)
        # What surrounds the call (a LangGraph node, a LiteLLM call): see ambient.py.
        self.ambient: dict[str, Any] | None = None
        if SOURCES:
            self.ambient, conversation = gather(self)
            if self.conv_set is None:
                self.conv_set = conversation

    # -- start ---------------------------------------------------------------------------
    def start(self) -> None:
        """Queue the prompt event. Its id is fixed here: UUIDv7 ids sort by the time they
        were made, and the completion's reply_to must hold even if the prompt event is
        never built. Its string (half the cost) is written on the writer thread."""
        self.prompt_key = new_event_key()
        self.session.defer(self._prompt)

    def _prompt(self) -> Event:
        """The prompt event (on the writer thread)."""
        found = self.adapter.prompt(self.api, self.body)
        conv, reply_to = self._resolve(found)
        content = found.get("content") or {"text": None}
        if self.recorder.options.get("capture_request"):
            content = {**content, "request": dict(self.body)}
        ext: dict[str, Any] = {
            "model": self.request_model,
            "provider": self.client_info[0],
            "endpoint": self.client_info[1],
            "api": self.api,
        }
        more = found.get("extensions")
        if more:
            ext.update(more)
        if self.ambient:
            ext.update(self.ambient)
        if reply_to:
            ext["reply_to"] = reply_to
        when = datetime.fromtimestamp(self.wall0, UTC)
        return Event.trusted(
            conv, USER_ACTOR, "prompt", content_of(content), None, ext, when, self._prompt_id()
        )

    def _resolve(self, found: Prompt) -> tuple[str, str | None]:
        """The conversation id and the ``reply_to`` of the prompt (see conversation.py)."""
        key = self.session.conversation_key
        previous = found.get("previous")
        link = LINKS.get(previous) if previous else None
        conv = self.conv_set or found.get("conversation")
        if not conv:
            thread = found.get("thread")
            if thread:
                conv = digest(thread, key)
            elif link is not None:
                conv = link[1]
            elif previous:
                conv = digest((str(previous),), key)
            else:
                system, user = found.get("opening") or (None, None)
                conv = opening_id(system, user, key)
        self.conversation = conv
        if link is None and "said" in found:
            link = LINKS.get(turn_key(conv, found["said"]))
        return conv, (link[0] if link else None)

    def _prompt_id(self) -> str:
        if not self.prompt_id:
            self.prompt_id = format_event_id(self.prompt_key)
        return self.prompt_id

    def _ensure_conversation(self) -> None:
        # The prompt is built first, in queue order; if it was dropped (a full queue) or
        # failed, work the conversation id out for the completion or error alone.
        if not self.conversation:
            self._resolve(self.adapter.prompt(self.api, self.body))

    def _closed(self, what: str) -> bool:
        if not self.session.closed:
            return False
        # The app closed (or re-instrumented) HILT while this call was in flight; the
        # prompt went to that session, so the answer must not go to another one.
        log.warning(
            "HILT: a %s call ended after its session was closed; its %s is not recorded",
            self.adapter.name,
            what,
        )
        return True

    # -- end -----------------------------------------------------------------------------
    def _ended(self, ended: float | None) -> tuple[float, float]:
        """(latency in ms, wall-clock end) of the call: now, or ``ended`` if given."""
        if ended is None:
            return (perf_counter() - self.t0) * 1000.0, time()
        return max(0.0, (ended - self.wall0) * 1000.0), ended

    def _extensions(self, status: int) -> dict[str, Any]:
        ext = {
            "reply_to": self._prompt_id(),
            "model": self.request_model,
            "request_model": self.request_model,
            "provider": self.client_info[0],
            "endpoint": self.client_info[1],
            "api": self.api,
            "status_code": status,
            "attempts": self.attempts,
        }
        if self.ambient:
            ext.update(self.ambient)
        return ext

    def completion(
        self,
        fields: Completion | None = None,
        *,
        parts: Callable[[], Completion] | None = None,
        ended: float | None = None,
    ) -> None:
        """Record the end of a call: ``fields`` read from the response on the caller's
        thread, or ``parts()``, called on the writer thread (a stream's chunks are read
        there, or a response that could not be read on the caller's thread). ``ended``:
        when the call ended, for a call recorded after the fact."""
        latency, wall = self._ended(ended)
        key = new_event_key()
        if self._closed("completion"):
            return
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
        return self._completion(latency, wall, key, parts() if parts is not None else fields)

    def _completion(
        self, latency: float, wall: float, event_key: int, found: Completion | None
    ) -> Event:
        """The completion event (on the writer thread)."""
        self._ensure_conversation()
        found = found or {}
        ext = self._extensions(200)
        model = found.get("model")
        if model:
            ext["model"] = model
        ext["stream"] = False
        response_id = found.get("response_id")
        if response_id:
            ext["response_id"] = response_id
        finish_reason = found.get("finish_reason")
        if finish_reason is not None:
            ext["finish_reason"] = finish_reason
        ext["latency_ms"] = int(latency)
        metrics = Metrics.trusted(found.get("tokens"), round(latency, 3), {})
        stream = found.get("stream")
        if stream:
            for k, value in stream.items():
                if k == "ttft_ms":
                    metrics.extra["ttft_ms"] = value
                else:
                    ext[k] = value
        more = found.get("extensions")
        if more:
            ext.update(more)
        content = found.get("content")
        if content is not None and content.get("tool_calls"):
            ext["tool_calls"] = len(content["tool_calls"])
        event = Event.trusted(
            self.conversation,
            self.agent,
            "completion",
            content_of(content) if content is not None else None,
            metrics,
            ext,
            datetime.fromtimestamp(wall, UTC),
            format_event_id(event_key),
        )
        if content is not None:
            LINKS.remember(
                turn_key(self.conversation, content.get("text")),
                event.event_id,
                self.conversation,
            )
        link_id = found.get("link_id")
        if link_id:
            LINKS.remember(link_id, event.event_id, self.conversation)
        return event

    def error(
        self,
        exc: BaseException,
        partial: dict[str, Any] | None = None,
        *,
        status: int | None = None,
        detail: str | None = None,
        ended: float | None = None,
    ) -> None:
        """Record a call that failed with ``exc`` (read here; the event is built later).
        ``status`` defaults to the exception's ``status_code`` (0 when no response came);
        ``detail`` to its ``code``, the provider's error code; ``ended`` as for
        :meth:`completion`."""
        latency, wall = self._ended(ended)
        if status is None:
            status = getattr(exc, "status_code", None)
            if not isinstance(status, int):
                status = NO_RESPONSE
        found: dict[str, Any] = {"error_code": "api_error", "error_type": type(exc).__name__}
        found["latency_ms"] = int(latency)
        if detail is None:
            code = getattr(exc, "code", None)
            detail = code if isinstance(code, str) else None
        if detail:
            found["error_detail"] = detail
        if partial:
            found.update(partial)
        message = str(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
        key = new_event_key()
        code = status

        def build() -> Event:
            self._ensure_conversation()
            ext = self._extensions(code)
            ext.update(found)
            return Event.trusted(
                self.conversation,
                self.system,
                "system",
                Content.trusted(message),
                Metrics.trusted(None, round(latency, 3), {}),
                ext,
                datetime.fromtimestamp(wall, UTC),
                format_event_id(key),
            )

        if not self._closed("error"):
            self.session.defer(build)


_ACTORS: dict[str, tuple[Actor, Actor]] = {}


def _actors(name: str) -> tuple[Actor, Actor]:
    """The (answer, error) actors of a provider: ``agent: <name>``, ``system: <name>``.
    Shared objects: an event never changes its actor (capture modes copy before)."""
    found = _ACTORS.get(name)
    if found is None:
        found = _ACTORS[name] = (Actor(type="agent", id=name), Actor(type="system", id=name))
    return found


__all__ = ["NO_RESPONSE", "USER_ACTOR", "Adapter", "Call", "Completion", "Prompt", "content_of"]
