"""Every LiteLLM call recorded once: by the provider plugin that captured the SDK LiteLLM
went through, or here.

LiteLLM tells its loggers about a call at three points:

1. ``pre_call``, on the application's thread (or task), just before LiteLLM sends the
   request. :meth:`Tracker.pre` opens a :class:`Run` for the call (keyed by
   ``litellm_call_id``), keeps what the events will need (the request, the calling
   context), and *arms* it in a context variable.
2. If LiteLLM sends the request with the ``openai`` SDK and HILT's OpenAI provider is
   active, that provider starts its own :class:`~hilt_core.provider.Call`: it asks the
   ambient sources (:meth:`Tracker.source`), gets LiteLLM's context to stamp on its
   events, and *claims* the run. The run is found in the context variable when the
   request is sent from the thread or task that armed it; LiteLLM prepares some async
   calls (``aembedding``, ``atext_completion``) on an executor thread and sends them from
   the application's task, and those are found among the armed runs by their request
   (model and input). An armed run is claimed once; it is disarmed by the claim, by
   LiteLLM's ``post_call`` on the thread or task that armed it (the response came without
   the ``openai`` SDK: LiteLLM's own HTTP handlers), and by the end of the call, so a
   later direct ``openai`` call is never mistaken for LiteLLM's.
3. The success or failure callback, on LiteLLM's thread pool or a background task, once
   the call is over. A claimed run writes nothing (the provider wrote the prompt and the
   answer); any other call is recorded here, in the calling context kept at step 1, with
   the call's own start and end times. Callbacks are counted by ``litellm_call_id``: a
   call whose sync and async callbacks both fire (litellm#14340) is written once.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVarTuple

from hilt_core import Recorder
from hilt_core.context import current_metadata, current_session
from hilt_core.provider import Ambient, Call, Prompt
from hilt_litellm import providers
from hilt_litellm.read import describe_request, get, read_response

log = logging.getLogger("hilt")

MAX_OPEN = 4_096  # runs kept while LiteLLM has not ended them (abandoned streams)
MAX_DONE = 4_096  # call ids remembered as ended, for callbacks that fire twice
Ts = TypeVarTuple("Ts")  # what _in_context hands on

# LiteLLM's call types that are model calls, and the API HILT names them by.
APIS: dict[str, str] = {
    "completion": "chat.completions",
    "acompletion": "chat.completions",
    "text_completion": "completions",
    "atext_completion": "completions",
    "embedding": "embeddings",
    "aembedding": "embeddings",
    "responses": "responses",
    "aresponses": "responses",
}

# Extension keys of this plugin (declared in HILT_EXTENSION_KEYS).
LITELLM_PROVIDER = "litellm_provider"
LITELLM_CALL_ID = "litellm_call_id"
LITELLM_MODEL_GROUP = "litellm_model_group"
LITELLM_RESPONSE_COST = "litellm_response_cost"
LITELLM_CACHE_HIT = "litellm_cache_hit"


def _where() -> tuple[int, int]:
    """The thread and the asyncio task running now (0 outside a task)."""
    try:
        import asyncio

        task = asyncio.current_task()
    except RuntimeError:
        task = None
    return threading.get_ident(), id(task) if task is not None else 0


class Run:
    """One LiteLLM call, from its ``pre_call`` to its end."""

    __slots__ = (
        "api",
        "armed",
        "body",
        "claimed",
        "client",
        "context",
        "conversation",
        "extensions",
        "started",
        "stream",
        "where",
    )

    def __init__(self) -> None:
        self.armed = False
        self.claimed = False
        self.where = (0, 0)
        self.api = ""
        self.body: dict[str, Any] = {}
        self.client = ("", "")
        self.context: contextvars.Context | None = None
        self.conversation: str | None = None
        self.extensions: dict[str, Any] = {}
        self.started = 0.0
        self.stream = False

    def claim(self, call: Call) -> None:
        """A provider recorded this call (the ambient source's ``claim``)."""
        self.claimed = True
        self.armed = False

    def ambient(self) -> Ambient:
        found: Ambient = {"extensions": self.extensions, "claim": self.claim}
        if self.conversation:
            found["conversation"] = self.conversation
        return found


_CURRENT: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "hilt_litellm_run", default=None
)


class LiteLLMAdapter:
    """The provider contract's adapter for a call recorded here."""

    name = "litellm"

    __slots__ = ("conversation", "extensions")

    def __init__(self, conversation: str | None, extensions: dict[str, Any]) -> None:
        self.conversation = conversation
        self.extensions = extensions

    def prompt(self, api: str, body: Mapping[str, Any]) -> Prompt:
        found = describe_request(api, body)
        if self.conversation:
            found["conversation"] = self.conversation
        found["extensions"] = self.extensions
        return found


def _params(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    params = kwargs.get("litellm_params")
    return params if isinstance(params, Mapping) else {}


def _metadata(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = _params(kwargs).get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def conversation_of(kwargs: Mapping[str, Any]) -> str | None:
    """LiteLLM's session id: ``litellm_session_id``, else ``metadata["session_id"]``."""
    for value in (_params(kwargs).get("litellm_session_id"), _metadata(kwargs).get("session_id")):
        if isinstance(value, str) and value:
            return value
    return None


def context_extensions(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """LiteLLM's context as extension keys: its provider, its call id, the Router's model
    group, and the user (``user=``, else ``metadata["user_id"]``) unless the application
    set one with ``hilt.scope(user_id=...)``."""
    ext: dict[str, Any] = {}
    provider = kwargs.get("custom_llm_provider") or _params(kwargs).get("custom_llm_provider")
    if isinstance(provider, str) and provider:
        ext[LITELLM_PROVIDER] = provider
    call_id = kwargs.get("litellm_call_id")
    if isinstance(call_id, str) and call_id:
        ext[LITELLM_CALL_ID] = call_id
    group = _metadata(kwargs).get("model_group")
    if isinstance(group, str) and group:
        ext[LITELLM_MODEL_GROUP] = group
    scope = current_metadata()
    if not (scope and "user_id" in scope):
        user = kwargs.get("user")
        if not (isinstance(user, str) and user):
            user = _metadata(kwargs).get("user_id")
        if isinstance(user, str) and user:
            ext["user_id"] = user
    return ext


def request_body(api: str, kwargs: Mapping[str, Any], messages: Any = None) -> dict[str, Any]:
    """What the events need of the request, copied (an application that appends the
    answer to its ``messages`` list must not change the recorded prompt)."""
    body: dict[str, Any] = {"model": kwargs.get("model")}
    if api in ("chat.completions", "completions"):
        found = messages if messages is not None else kwargs.get("messages")
        if isinstance(found, list | tuple):
            body["messages"] = list(found)
        elif isinstance(kwargs.get("prompt"), str):
            body["prompt"] = kwargs["prompt"]
    else:
        raw = kwargs.get("input")
        body["input"] = list(raw) if isinstance(raw, list | tuple) else raw
        if api == "responses":
            optional = kwargs.get("optional_params")
            for key in ("instructions", "previous_response_id"):
                value = get(optional, key) if optional is not None else None
                if value is None:
                    value = kwargs.get(key)
                if value is not None:
                    body[key] = value
    return body


def _request_key(api: str, body: Mapping[str, Any]) -> Any:
    """What tells one request from another of the same model: the input of an embedding,
    the prompt text of a completion (LiteLLM sends a text completion's messages as
    ``prompt``), the last message of a chat."""
    if api in ("embeddings", "responses"):
        raw = body.get("input")
        return list(raw) if isinstance(raw, list | tuple) else raw
    prompt = body.get("prompt")
    if prompt is not None:
        return prompt[0] if isinstance(prompt, list) and len(prompt) == 1 else prompt
    messages = body.get("messages")
    if isinstance(messages, list | tuple) and messages:
        return get(messages[-1], "content")
    return None


def _same_request(run: Run, call: Call) -> bool:
    """``call`` (a provider's, as its SDK sends it) is the request ``run`` prepared."""
    if run.api != call.api or run.body.get("model") != call.request_model:
        return False
    return bool(_request_key(run.api, run.body) == _request_key(call.api, call.body))


def _client(kwargs: Mapping[str, Any], slo: Mapping[str, Any] | None) -> tuple[str, str]:
    """(provider, endpoint) of a LiteLLM call, as the extensions record them."""
    slo = slo or {}
    name = kwargs.get("custom_llm_provider") or slo.get("custom_llm_provider")
    api_base = slo.get("api_base") or _params(kwargs).get("api_base")
    return providers.provider(name, api_base), providers.endpoint(api_base)


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return None


class Tracker:
    """The runs of one ``instrument()``: what LiteLLM's callbacks report, recorded once."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.done: OrderedDict[str, None] = OrderedDict()
        self.lock = threading.Lock()
        # Runs armed on a thread with no asyncio task (LiteLLM's executor, or a sync
        # call): a provider call sent from elsewhere looks for its run among them.
        self.armed_off_task: dict[int, Run] = {}

    # -- on the application's thread ----------------------------------------------------
    def pre(self, kwargs: Mapping[str, Any], messages: Any) -> None:
        """LiteLLM is about to send a request: arm its run."""
        call_id = kwargs.get("litellm_call_id")
        if not isinstance(call_id, str) or current_session() is None:
            return
        api = APIS.get(str(kwargs.get("call_type") or ""))
        if api is None:
            return
        with self.lock:
            if call_id in self.done:
                return
            run = self.runs.get(call_id)
            if run is None:
                run = self.runs[call_id] = Run()
                if len(self.runs) > MAX_OPEN:
                    _, dropped = self.runs.popitem(last=False)
                    self.armed_off_task.pop(id(dropped), None)
        if run.context is None:  # the first attempt's context is the caller's
            run.api = api
            run.body = request_body(api, kwargs, messages)
            run.conversation = conversation_of(kwargs)
            run.extensions = context_extensions(kwargs)
            run.started = time.time()
            run.stream = bool(kwargs.get("stream"))
            run.client = _client(kwargs, None)
            run.context = contextvars.copy_context()
        run.where = _where()
        run.armed = True
        if run.where[1] == 0:
            self.armed_off_task[id(run)] = run
        _CURRENT.set(run)

    def post(self, kwargs: Mapping[str, Any]) -> None:
        """LiteLLM has the response: a run that no provider claimed by now was not sent
        through an instrumented SDK. Only on the thread or task that armed it (LiteLLM
        also reports from its executor threads), and not when the "response" is the
        coroutine that will send the request (LiteLLM's async calls report that too)."""
        call_id = kwargs.get("litellm_call_id")
        run = self.runs.get(call_id) if isinstance(call_id, str) else None
        if run is None or not run.armed or run.where != _where():
            return
        if inspect.isawaitable(kwargs.get("original_response")):
            return
        self._disarm(run)

    def _disarm(self, run: Run) -> None:
        run.armed = False
        self.armed_off_task.pop(id(run), None)

    def source(self, call: Call) -> Ambient | None:
        """The ambient source: LiteLLM's context for a provider call it is making."""
        run = _CURRENT.get()
        if run is not None and run.armed and run.where == _where():
            self.armed_off_task.pop(id(run), None)
            return run.ambient()
        if not self.armed_off_task:
            return None
        here = threading.get_ident()
        for other in list(self.armed_off_task.values()):
            if other.armed and other.where[0] != here and _same_request(other, call):
                self.armed_off_task.pop(id(other), None)
                return other.ambient()
        return None

    def finish_open(self, how: str) -> None:
        """Write the calls LiteLLM has not ended (a stream left before its end, a call
        still in flight) as partial answers: ``how`` is ``uninstrumented`` or ``exit``.
        Their end, should LiteLLM report it later, is not written again."""
        with self.lock:
            found = [
                (k, r) for k, r in self.runs.items() if not r.claimed and r.context is not None
            ]
            for call_id, _ in found:
                del self.runs[call_id]
                self.done[call_id] = None
            while len(self.done) > MAX_DONE:
                self.done.popitem(last=False)
        for _, run in found:
            self._disarm(run)
            if run.context is not None:
                run.context.copy().run(self._partial, run, how)

    def _partial(self, run: Run, how: str) -> None:
        session = current_session()
        if session is None or session.closed:
            return
        adapter = LiteLLMAdapter(run.conversation, run.extensions)
        model = run.body.get("model")
        call = Call(
            adapter, run.api, run.body, session, self.recorder, run.client,
            request_model=model, started=run.started,
        )  # fmt: skip
        call.start()
        stream = {"stream": run.stream, "partial": True, "stream_end": how}
        call.completion(
            {"content": {"text": None}, "stream": stream, "extensions": dict(run.extensions)}
        )

    # -- on LiteLLM's callback threads and tasks ----------------------------------------
    def _end(self, kwargs: Mapping[str, Any]) -> tuple[bool, Run | None]:
        """(record it here?, its run) for the end of a call; False for a second end."""
        call_id = kwargs.get("litellm_call_id")
        if not isinstance(call_id, str):
            return True, None
        with self.lock:
            if call_id in self.done:
                return False, None
            self.done[call_id] = None
            if len(self.done) > MAX_DONE:
                self.done.popitem(last=False)
            run = self.runs.pop(call_id, None)
        if run is None:
            return True, None
        self._disarm(run)
        return not run.claimed, run

    def success(self, kwargs: Mapping[str, Any], response: Any, start: Any, end: Any) -> None:
        record, run = self._end(kwargs)
        if record:
            _in_context(run, self._record, kwargs, response, None, start, end)

    def failure(self, kwargs: Mapping[str, Any], start: Any, end: Any) -> None:
        record, run = self._end(kwargs)
        if record:
            exc = kwargs.get("exception")
            if not isinstance(exc, BaseException):
                exc = RuntimeError(str(exc or "LiteLLM call failed"))
            _in_context(run, self._record, kwargs, None, exc, start, end)

    def _record(
        self,
        run: Run | None,
        kwargs: Mapping[str, Any],
        response: Any,
        exc: BaseException | None,
        start: Any,
        end: Any,
    ) -> None:
        session = current_session()
        if session is None:
            return
        slo = kwargs.get("standard_logging_object")
        slo = slo if isinstance(slo, Mapping) else {}
        if run is not None:
            api, body = run.api, run.body
            conversation, ext = run.conversation, dict(run.extensions)
        else:
            found = APIS.get(str(kwargs.get("call_type") or slo.get("call_type") or ""))
            if found is None:
                return
            api, body = found, request_body(found, kwargs)
            conversation, ext = conversation_of(kwargs), context_extensions(kwargs)
        client = _client(kwargs, slo)
        started = _seconds(slo.get("startTime")) or _seconds(start)
        ended = _seconds(slo.get("endTime")) or _seconds(end)
        call = Call(
            LiteLLMAdapter(conversation, ext),
            api,
            body,
            session,
            self.recorder,
            client,
            request_model=body.get("model") or slo.get("model"),
            started=started,
        )
        call.start()
        if exc is not None:
            status = getattr(exc, "status_code", None)
            call.error(
                exc, ext, status=status if type(status) is int else 0, detail="", ended=ended
            )
            return
        fields = read_response(api, response)
        more = dict(ext)
        cost = slo.get("response_cost", kwargs.get("response_cost"))
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            more[LITELLM_RESPONSE_COST] = cost
        if slo.get("cache_hit") or kwargs.get("cache_hit"):
            more[LITELLM_CACHE_HIT] = True
            fields["tokens"] = None  # no model processed them: nothing to price
        fields["extensions"] = more
        if kwargs.get("stream") or slo.get("stream"):
            stream = dict(fields.get("stream") or {})
            stream["stream"] = True
            first = _seconds(slo.get("completionStartTime"))
            if first is not None and started is not None and first >= started:
                stream["ttft_ms"] = round((first - started) * 1000.0, 3)
            fields["stream"] = stream
        call.completion(fields, ended=ended)


def _in_context(run: Run | None, record: Callable[[Run | None, *Ts], None], *args: *Ts) -> None:
    """``record(run, *args)`` in the context of the call (its session, hilt.conversation(),
    hilt.scope()): LiteLLM's callback may run on a thread that has none of it (its sync
    streams)."""
    if run is not None and run.context is not None:
        run.context.copy().run(record, run, *args)
    else:
        record(run, *args)


__all__ = ["APIS", "LiteLLMAdapter", "Run", "Tracker"]
