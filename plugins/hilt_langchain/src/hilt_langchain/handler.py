"""The callback handler LangChain calls for every run, and the ambient source that tells
provider plugins which run a model call belongs to.

The handler is added to every callback manager LangChain configures, through
``register_configure_hook`` (the application passes no ``callbacks=``). It runs inline
(``run_inline``): in async code LangChain then calls it in the caller's task, not in an
executor thread, so what it sets in a ``ContextVar`` when a model run starts is seen by
the SDK call that follows.

What it writes (docs/langchain.md):

- ``run`` when a top-level graph or chain ends, ``step`` when a LangGraph node ends;
- ``tool_call`` / ``tool_result`` for a tool, ``retrieval`` for a retriever;
- a model call's prompt and completion (or error), only when no provider plugin
  recorded it (the provider claims it through :meth:`HiltHandler.source`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from time import perf_counter, time
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from uuid import UUID

# Only modules LangChain has loaded before its hooks' module: this one may be imported
# while LangChain is still importing itself (see install.py). ``runnables.config`` is not
# one of them: _config_var() imports it at the first SDK call.
from langchain_core.callbacks.base import BaseCallbackHandler
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import LLMResult

from hilt_core.errors import SessionError
from hilt_core.ids import format_event_id, new_event_key
from hilt_core.internal import internal_error, strict
from hilt_core.model import Actor, Event, Metrics
from hilt_core.protocols import SessionLike
from hilt_core.provider import Ambient, Call, content_of, digest, opening_id
from hilt_core.recorder import Recorder
from hilt_langchain import readable
from hilt_langchain.calls import API_CHAT, API_LLM, adapter_for, read_result, request_body
from hilt_langchain.runs import ModelRun, Root, Run

log = logging.getLogger("hilt")

# The model run open in this context: the SDK call a provider plugin captures next is its.
_MODEL: ContextVar[ModelRun | None] = ContextVar("hilt_langchain_model", default=None)

MAX_OPEN_RUNS = 100_000  # runs whose end never came (a bug elsewhere) are let go past this
_CONVERSATION_KEYS = ("thread_id", "session_id", "conversation_id")
_NOT_CONTEXT = ("node", "step", "node_path")


class _Actors:
    """Shared actor objects, by (type, id): an event never changes its actor."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, str], Actor] = {}

    def __call__(self, kind: str, name: str) -> Actor:
        key = (kind, name)
        found = self.known.get(key)
        if found is None:
            if len(self.known) > 4_096:
                self.known.clear()
            found = self.known[key] = Actor(type=kind, id=name)
        return found


_actor = _Actors()


_CONFIG: list[ContextVar[Any]] = []


def _config_var() -> ContextVar[Any]:
    """LangChain's context variable of the current run's config (imported at first use)."""
    if not _CONFIG:
        from langchain_core.runnables.config import var_child_runnable_config

        _CONFIG.append(var_child_runnable_config)
    return _CONFIG[0]


def _outcome(error: BaseException) -> str:
    """How a run that raised ``error`` ended: ``error``, or a way of ending that is not a
    failure (LangGraph's interrupt, a stream the application closed, a cancelled task)."""
    if isinstance(error, GeneratorExit):
        return "closed"
    names = {c.__name__ for c in type(error).__mro__}
    if "GraphInterrupt" in names:
        return "interrupted"
    if "GraphBubbleUp" in names:  # ParentCommand: control handed to the parent graph
        return "handed_off"
    if not isinstance(error, Exception):  # asyncio.CancelledError, KeyboardInterrupt
        return "cancelled"
    return "error"


def _interrupt_text(error: BaseException) -> str | None:
    """What a LangGraph interrupt asks: the values of its ``Interrupt`` objects."""
    found = error.args[0] if error.args else None
    if isinstance(found, (list, tuple)):
        values = [getattr(i, "value", i) for i in found]
        return readable.text_of(values[0] if len(values) == 1 else values)
    return readable.text_of(found) if found is not None else None


def _message(error: BaseException) -> str:
    return str(getattr(error, "message", None) or str(error) or type(error).__name__)


def _node_path(metadata: Mapping[str, Any]) -> str | None:
    """``parent/child`` for a node of a subgraph, from LangGraph's checkpoint namespace
    (``parent:<id>|child:<id>``); None at the top level."""
    ns = metadata.get("langgraph_checkpoint_ns")
    if not isinstance(ns, str) or "|" not in ns:
        return None
    return "/".join(part.split(":", 1)[0] for part in ns.split("|"))


def _is_node(name: str, tags: Sequence[str] | None, metadata: Mapping[str, Any] | None) -> bool:
    """A LangGraph node's own run (not a runnable inside it): LangGraph names it after the
    node and tags it ``graph:step:<n>``."""
    if not metadata or metadata.get("langgraph_node") != name:
        return False
    return any(isinstance(t, str) and t.startswith("graph:step:") for t in tags or ())


def _name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if serialized:
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return name
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return ids[-1]
    return default


class _Start(NamedTuple):
    """A run LangChain starts, as every ``on_*_start`` is told of it."""

    name: str
    run_id: UUID
    parent: Run | None  # the run it is part of, when HILT follows that one
    serialized: Mapping[str, Any] | None
    kwargs: dict[str, Any]  # the rest of LangChain's arguments: parent_run_id, tags, ...


class HiltHandler(BaseCallbackHandler):
    """Records LangChain / LangGraph runs into the session in effect when each top-level
    run starts."""

    run_inline = True

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self.runs: dict[UUID, Run] = {}
        self.active = True
        # Under HILT's test suite a bug here must fail the test: LangChain re-raises the
        # exceptions of a handler with raise_error (and only logs the others).
        self.raise_error = strict()

    # -- the ambient source ---------------------------------------------------------------
    def source(self) -> Ambient | None:
        """Called by a provider plugin at the start of each SDK call (see
        hilt_core.provider.ambient): the run's context and conversation, and the claim of
        the model run this call belongs to."""
        model = _MODEL.get()
        if model is not None and model.open and self.runs.get(model.run_id) is model:
            found: Ambient = {"claim": model.claim, "conversation": model.root.conversation}
            if model.ext:
                found["extensions"] = model.ext
            return found
        # Not inside a model run (a tool or a node calling the SDK itself): the run that
        # LangChain's context names as the parent of what runs now.
        config = _config_var().get()
        if not config:
            return None
        parent = getattr(config.get("callbacks"), "parent_run_id", None)
        run = self.runs.get(parent) if isinstance(parent, UUID) else None
        if run is None:
            return None
        found = {"conversation": run.root.conversation}
        if run.ext:
            found["extensions"] = run.ext
        return found

    # -- runs: where they belong ----------------------------------------------------------
    def _root(
        self,
        run_id: UUID,
        name: str,
        metadata: Mapping[str, Any] | None,
        value: Any,
        ext: dict[str, Any],
        messages: Sequence[BaseMessage] | None = None,
    ) -> Root | None:
        """A new top-level run, in the session in effect now (None when HILT is off).
        ``messages``: those of ``value``, when the caller has them already."""
        session = self.recorder.session()
        if session is None or session.closed:
            return None
        return Root(session, self._conversation(session, name, metadata, value, messages), ext)

    def _conversation(
        self,
        session: SessionLike,
        name: str,
        metadata: Mapping[str, Any] | None,
        value: Any,
        messages: Sequence[BaseMessage] | None,
    ) -> str:
        """The conversation id of a run: the application's (``hilt.conversation``), the
        ``thread_id`` (then ``session_id``, ``conversation_id``) of its metadata, else the
        contract's rule on its input: the digest of its opening messages, or of the input
        itself."""
        found = self.recorder.conversation_id()
        if found:
            return found
        for key in _CONVERSATION_KEYS:
            value_ = (metadata or {}).get(key)
            if value_ is not None and value_ != "":
                return str(value_)
        key_ = session.conversation_key
        if messages is None:
            messages = readable.messages_in(value)
        if messages:
            return opening_id(*readable.opening(messages), key_)
        return digest(("langchain", name, readable.text_of(value) or ""), key_)

    def _parent(self, parent_run_id: UUID | None) -> Run | None:
        return self.runs.get(parent_run_id) if parent_run_id is not None else None

    def _open(self, run: Run) -> None:
        runs = self.runs
        if len(runs) >= MAX_OPEN_RUNS:
            # Ends that never came (LangChain failed between a start and its end): forget
            # the oldest rather than grow without bound.
            for key in list(runs)[: MAX_OPEN_RUNS // 10]:
                runs.pop(key, None)
        runs[run.run_id] = run

    # -- writing --------------------------------------------------------------------------
    def _write(
        self,
        root: Root,
        actor: Actor,
        action: str,
        content: dict[str, Any] | None,
        ext: dict[str, Any],
        latency: float | None = None,
        event_id: str | None = None,
    ) -> None:
        session = root.session
        if session.closed:
            log.warning(
                "HILT: a LangChain run ended after its session was closed; its %s is not recorded",
                action,
            )
            return
        # Built on the writer thread, as a provider's events are: the application's thread
        # keeps plain values and the time only.
        conversation = root.conversation
        wall = time()
        key = new_event_key() if event_id is None else 0

        def build() -> Event:
            metrics = Metrics.trusted(None, latency, {}) if latency is not None else None
            return Event.trusted(
                conversation,
                actor,
                action,
                content_of(content) if content is not None else None,
                metrics,
                ext,
                datetime.fromtimestamp(wall, UTC),
                event_id or format_event_id(key),
            )

        with contextlib.suppress(SessionError):  # closed meanwhile by another thread
            session.defer(build)

    def _failure(self, run: Run, error: BaseException, ext: dict[str, Any]) -> str | None:
        """Fill ``ext`` with how ``run`` ended; return the error's message when this is the
        event that records the failure (the first one to see it), or what an interrupt
        asks."""
        outcome = _outcome(error)
        ext["outcome"] = outcome
        if outcome == "interrupted":
            asked = _interrupt_text(error)
            with run.root.lock:
                run.root.interrupted = True
                run.root.interrupt = asked
            return asked
        if outcome != "error" or run.root.was_recorded(error):
            return None
        run.root.mark_recorded(error)
        ext["error_type"] = type(error).__name__
        return _message(error)

    # -- a run starts, a run ends ----------------------------------------------------------
    def _start(
        self,
        kind: str,
        begin: Callable[[_Start, Any], None],
        serialized: Mapping[str, Any] | None,
        value: Any,
        run_id: UUID,
        kwargs: dict[str, Any],
    ) -> None:
        """LangChain starts a run (an ``on_*_start``; ``value`` is what the run is given):
        while HILT is on, ``begin`` follows it. ``kind`` names the run when LangChain
        gives no name."""
        if not self.active:
            return
        try:
            parent = self._parent(kwargs.get("parent_run_id"))
            start = _Start(_name(serialized, kwargs, kind), run_id, parent, serialized, kwargs)
            begin(start, value)
        except Exception:
            internal_error(f"follow a LangChain {kind}")

    def _end(self, what: str, finish: Callable[[Run, Any], None], run_id: UUID, value: Any) -> None:
        """LangChain ends a run (an ``on_*_end`` or ``on_*_error``; ``value`` is its output
        or error): ``finish`` records it, when HILT follows the run. ``what`` names the kind
        of run in HILT's error log."""
        run = self.runs.pop(run_id, None)
        if run is None:
            return
        try:
            finish(run, value)
        except Exception:
            internal_error(f"record a LangChain {what}")

    def _place(
        self, start: _Start, value: Any, messages: Sequence[BaseMessage] | None = None
    ) -> tuple[Root, dict[str, Any]] | None:
        """Where a tool, retriever or model run belongs: its parent's root and extensions,
        or those of a new top-level run (None when HILT is off)."""
        parent = start.parent
        if parent is not None:
            return parent.root, parent.ext
        metadata = start.kwargs.get("metadata")
        root = self._root(start.run_id, start.name, metadata, value, {}, messages)
        return None if root is None else (root, {})

    def _open_run(self, kind: str, start: _Start, value: str) -> Run | None:
        """Open a tool's or a retriever's run, given ``value``, where it belongs; None when
        HILT is off."""
        place = self._place(start, value)
        if place is None:
            return None
        root, ext = place
        run = Run(kind, start.run_id, root, start.name, ext, value)
        self._open(run)
        return run

    # -- chains: graphs, nodes, chains ----------------------------------------------------
    def on_chain_start(
        self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._start("chain", self._begin_chain, serialized, inputs, run_id, kwargs)

    def _begin_chain(self, start: _Start, inputs: Any) -> None:
        name, run_id, parent = start.name, start.run_id, start.parent
        metadata = start.kwargs.get("metadata")
        ext: dict[str, Any]
        if parent is None:
            ext = {"run_id": str(run_id), "graph": name}
            messages = readable.messages_in(inputs) or []
            root = self._root(run_id, name, metadata, inputs, ext, messages)
            if root is not None:
                text = readable.input_text(inputs, messages)
                self._open(Run("root", run_id, root, name, ext, text))
            return
        if _is_node(name, start.kwargs.get("tags"), metadata):
            assert metadata is not None
            ext = {**parent.root.ext, "node": name}
            step = metadata.get("langgraph_step")
            if isinstance(step, int):
                ext["step"] = step
            path = _node_path(metadata)
            if path:
                ext["node_path"] = path
            self._open(Run("step", run_id, parent.root, name, ext))
        else:
            self._open(Run("chain", run_id, parent.root, name, parent.ext))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end("run", self._chain_ended, run_id, outputs)

    def _chain_ended(self, run: Run, outputs: Any) -> None:
        if run.kind == "chain":
            return
        ext = dict(run.ext)
        text: str | None
        if run.kind == "root" and run.root.interrupted:
            # A node called interrupt(): the graph ends normally, waiting for an answer.
            ext["outcome"] = "interrupted"
            text = run.root.interrupt
        else:
            ext["outcome"] = "ok"
            text = readable.text_of(outputs)
        self._end_chain(run, ext, {"text": text} if text is not None else None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end("run", self._chain_failed, run_id, error)

    def _chain_failed(self, run: Run, error: BaseException) -> None:
        if run.kind == "chain":
            return  # a failure inside a node is recorded by the node (or the graph)
        ext = dict(run.ext)
        message = self._failure(run, error, ext)
        self._end_chain(run, ext, {"text": message} if message is not None else None)

    def _end_chain(self, run: Run, ext: dict[str, Any], content: dict[str, Any] | None) -> None:
        root = run.root
        if run.kind == "step":
            with root.lock:
                root.steps += 1
            self._write_end(run, "agent", "step", content, ext)
            return
        root.recorded.clear()  # the run is over: let its exceptions (and their frames) go
        if root.steps:
            ext["steps"] = root.steps
        if run.text is not None:
            content = {**(content or {"text": None}), "input": run.text}
        self._write_end(run, "agent", "run", content, ext)

    def _write_end(
        self, run: Run, actor: str, action: str, content: dict[str, Any] | None, ext: dict[str, Any]
    ) -> None:
        """Write the event of ``run``, which ended: from the agent or tool named after it,
        with the run's latency."""
        self._write(run.root, _actor(actor, run.name), action, content, ext, run.latency())

    # -- tools ----------------------------------------------------------------------------
    def on_tool_start(
        self, serialized: dict[str, Any] | None, input_str: str, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._start("tool", self._begin_tool, serialized, input_str, run_id, kwargs)

    def _begin_tool(self, start: _Start, input_str: str) -> None:
        run = self._open_run("tool", start, input_str)
        if run is None:
            return
        # The arguments as JSON (LangChain's input_str is a Python repr of them).
        inputs = start.kwargs.get("inputs")
        asked = readable.as_json(inputs) if isinstance(inputs, Mapping) else input_str
        run.text = asked
        call_id = start.kwargs.get("tool_call_id")
        run.tool_call_id = call_id if isinstance(call_id, str) else None
        run.opened = format_event_id(new_event_key())
        ext = run.ext
        caller = ext.get("node") or ext.get("graph") or "langchain"
        self._write(
            run.root,
            _actor("agent", str(caller)),
            "tool_call",
            {"text": asked},
            self._tool_ext(run),
            event_id=run.opened,
        )

    @staticmethod
    def _tool_ext(run: Run) -> dict[str, Any]:
        ext = dict(run.ext)
        ext["tool_name"] = run.name
        if run.tool_call_id:
            ext["tool_call_id"] = run.tool_call_id
        return ext

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end("tool", self._tool_ended, run_id, output)

    def _tool_ended(self, run: Run, output: Any) -> None:
        if run.tool_call_id is None:  # early langchain-core 1.x: only in the ToolMessage
            call_id = getattr(output, "tool_call_id", None)
            run.tool_call_id = call_id if isinstance(call_id, str) else None
        ext = self._tool_ext(run)
        ext["reply_to"] = run.opened
        ext["outcome"] = "ok"
        content = getattr(output, "content", output) if isinstance(output, BaseMessage) else output
        text = readable.content_text(content) if not isinstance(content, str) else content
        if text is None:
            text = readable.text_of(content)
        self._write_end(run, "tool", "tool_result", {"text": text}, ext)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end("tool", self._tool_failed, run_id, error)

    def _tool_failed(self, run: Run, error: BaseException) -> None:
        ext = self._tool_ext(run)
        ext["reply_to"] = run.opened
        message = self._failure(run, error, ext)
        content = {"text": message} if message is not None else None
        self._write_end(run, "tool", "tool_result", content, ext)

    # -- retrievers -----------------------------------------------------------------------
    def on_retriever_start(
        self, serialized: dict[str, Any] | None, query: str, *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._start("retriever", self._begin_retriever, serialized, query, run_id, kwargs)

    def _begin_retriever(self, start: _Start, query: str) -> None:
        self._open_run("retriever", start, query)

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._end("retriever", self._retriever_ended, run_id, documents)

    def _retriever_ended(self, run: Run, documents: Sequence[Any]) -> None:
        docs = [readable.document(d) for d in documents if hasattr(d, "page_content")]
        ext = dict(run.ext)
        ext["outcome"] = "ok"
        ext["documents"] = len(docs)
        content = {"text": run.text, "documents": docs}
        self._write_end(run, "tool", "retrieval", content, ext)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end("retriever", self._retriever_failed, run_id, error)

    def _retriever_failed(self, run: Run, error: BaseException) -> None:
        ext = dict(run.ext)
        message = self._failure(run, error, ext)
        content: dict[str, Any] = {"text": run.text}
        if message is not None:
            content["error"] = message
        self._write_end(run, "tool", "retrieval", content, ext)

    # -- model calls ----------------------------------------------------------------------
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        self._start("model", self._begin_chat, serialized, messages, run_id, kwargs)

    def on_llm_start(
        self, serialized: dict[str, Any] | None, prompts: list[str], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self._start("model", self._begin_llm, serialized, prompts, run_id, kwargs)

    def _begin_chat(self, start: _Start, messages: list[list[BaseMessage]]) -> None:
        asked = messages[0] if messages else None
        self._begin_model(start, API_CHAT, asked)

    def _begin_llm(self, start: _Start, prompts: list[str]) -> None:
        asked = [HumanMessage(prompts[0])] if prompts else None
        self._begin_model(start, API_LLM, asked)

    def _begin_model(self, start: _Start, api: str, messages: Sequence[BaseMessage] | None) -> None:
        place = self._place(start, messages, messages or [])
        if place is None:
            return
        root, ext = place
        kwargs = start.kwargs
        meta = kwargs.get("metadata") or {}
        params = kwargs.get("invocation_params") or {}
        request_model = params.get("model") or params.get("model_name") or meta.get("ls_model_name")
        provider = meta.get("ls_provider") or "langchain"
        run = ModelRun(
            start.run_id,
            root,
            start.name,
            ext,
            api=api,
            provider=str(provider),
            where=(start.serialized, params),
            request_model=str(request_model) if request_model else None,
            messages=messages,
        )
        parent_run_id = kwargs.get("parent_run_id")
        size = kwargs.get("batch_size")
        if isinstance(size, int) and size > 1:
            before = _MODEL.get()
            if (
                before is not None
                and before.open
                and before.parent_id == parent_run_id
                and len(before.batch) < size
            ):
                before.batch.append(run)
                run.batch = before.batch
        run.parent_id = parent_run_id
        self._open(run)
        _MODEL.set(run)

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        run = self.runs.get(run_id)
        if isinstance(run, ModelRun) and not run.t_first:
            run.t_first = perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        run = self.runs.pop(run_id, None)
        if not isinstance(run, ModelRun):
            return
        _close(run)
        if run.claimed:
            run.messages = None
            return  # the provider plugin's events are the record of this call
        try:
            call = self._call(run)
            if call is None:
                return
            fields = read_result(response)
            if run.t_first:
                fields["stream"] = {
                    "stream": True,
                    "ttft_ms": round((run.t_first - run.t0) * 1000.0, 3),
                }
            call.completion(fields)
        except Exception:
            internal_error("record a LangChain model call")

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        run = self.runs.pop(run_id, None)
        if not isinstance(run, ModelRun):
            return
        _close(run)
        try:
            if run.claimed and run.raised_by_sdk(error):
                run.root.mark_recorded(error)  # the provider wrote the error event
                return
            if run.claimed or _outcome(error) != "error" or run.root.was_recorded(error):
                return  # failed in LangChain after the call: the node or graph records it
            call = self._call(run)
            if call is None:
                return
            run.root.mark_recorded(error)
            call.error(error)
        except Exception:
            internal_error("record a LangChain model call")

    def _call(self, run: ModelRun) -> Call | None:
        """The provider contract's Call for a model run no provider recorded."""
        session = run.root.session
        if session.closed:
            return None
        body = request_body(run.request_model, run.messages)
        run.messages = None
        call = _LangChainCall(
            adapter_for(run.provider),
            run.api,
            body,
            session,
            self.recorder,
            (run.provider, _endpoint(*run.where)),
            request_model=run.request_model,
        )
        call.wall0, call.t0 = run.wall0, run.t0  # it began when the model run began
        call.ambient = dict(run.ext) if run.ext else None
        if call.conv_set is None:
            call.conv_set = run.root.conversation
        call.start()
        return call

    # -- the end of a session -------------------------------------------------------------
    def finish_open(self, session: object | None = None) -> None:
        """``session`` closes (or, with None, HILT is uninstrumented): write the steps and
        runs still open in it as ``unfinished``, and forget every run of it."""
        for run in reversed(list(self.runs.values())):
            if session is not None and run.root.session is not session:
                continue
            self.runs.pop(run.run_id, None)
            if isinstance(run, ModelRun):
                run.open = False
            if run.kind in ("step", "root"):
                ext = dict(run.ext)
                ext["outcome"] = "unfinished"
                try:
                    self._end_chain(run, ext, None)
                except Exception:
                    internal_error("record an unfinished LangChain run")


def _close(run: ModelRun) -> None:
    """A model run ended: no SDK call may claim it any more, and this context stops
    holding it (its messages, its root) when it is the one that started it."""
    run.open = False
    if _MODEL.get() is run:
        _MODEL.set(None)


class _LangChainCall(Call):
    """A Call that leaves ``endpoint`` out when LangChain does not say where the model is
    (a key whose value is unknown is left out of an event, never written empty)."""

    __slots__ = ()

    def _prompt(self) -> Event:
        event = super()._prompt()
        _drop_empty_endpoint(event)
        return event

    def _extensions(self, status: int) -> dict[str, Any]:
        ext = super()._extensions(status)
        if not ext.get("endpoint"):
            ext.pop("endpoint", None)
        return ext


def _drop_empty_endpoint(event: Event) -> None:
    ext = event.extensions
    if ext is not None and not ext.get("endpoint"):
        ext.pop("endpoint", None)


def _endpoint(serialized: Mapping[str, Any] | None, params: Mapping[str, Any]) -> str:
    """Host (and port) of the model's base URL, when LangChain hands it over (read only
    for the calls the LangChain layer records)."""
    kwargs = (serialized or {}).get("kwargs") or {}
    for source in (params, kwargs):
        for key in ("base_url", "openai_api_base", "api_base", "anthropic_api_url", "endpoint"):
            url = source.get(key) if isinstance(source, Mapping) else None
            if isinstance(url, str) and url:
                host = urlsplit(url if "//" in url else "//" + url).netloc
                if host:
                    return host
    return ""
