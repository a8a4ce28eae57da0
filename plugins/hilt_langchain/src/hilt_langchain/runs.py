"""The state the LangChain layer keeps while a run is open: one object per LangChain run
(a graph, a node, a chain, a tool, a retriever, a model call), found by its run id.

``ext`` is the context stamped on the events made inside a run (``run_id``, ``graph``,
``node``, ``step``, ``node_path``); a run inside a node shares its node's. Every run
knows its :class:`Root`: the top-level run, which fixes the session and the
conversation id for all of them, and remembers the failures already recorded, so that a
failure passing up through a node and the graph is recorded once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from time import perf_counter, time
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from hilt_core.protocols import SessionLike
    from hilt_core.provider import Call


class Root:
    """A top-level run (a graph, a chain; a tool, retriever or model called alone)."""

    __slots__ = (
        "conversation",
        "ext",
        "interrupt",
        "interrupted",
        "lock",
        "recorded",
        "session",
        "steps",
    )

    def __init__(self, session: SessionLike, conversation: str, ext: dict[str, Any]) -> None:
        self.session = session
        self.conversation = conversation
        self.ext = ext  # {"run_id", "graph"} for a graph or chain; {} otherwise
        self.recorded: list[BaseException] = []  # failures already written
        self.steps = 0
        self.interrupted = False  # a node called LangGraph's interrupt()
        self.interrupt: str | None = None  # what it asked
        self.lock = threading.Lock()

    def was_recorded(self, error: BaseException) -> bool:
        return any(e is error for e in self.recorded)

    def mark_recorded(self, error: BaseException) -> None:
        with self.lock:
            if not self.was_recorded(error):
                self.recorded.append(error)


class Run:
    """One open LangChain run. ``kind``: ``root``, ``step``, ``chain``, ``tool``,
    ``retriever`` or ``model``."""

    __slots__ = ("ext", "kind", "name", "opened", "root", "run_id", "t0", "text", "tool_call_id")

    def __init__(
        self,
        kind: str,
        run_id: UUID,
        root: Root,
        name: str,
        ext: dict[str, Any],
        text: str | None = None,
    ) -> None:
        self.kind = kind
        self.run_id = run_id
        self.root = root
        self.name = name
        self.ext = ext
        self.t0 = perf_counter()
        self.text = text  # a run's input, a retriever's query
        self.opened = ""  # a tool's tool_call event id
        self.tool_call_id: str | None = None

    def latency(self) -> float:
        return round((perf_counter() - self.t0) * 1000.0, 3)


class ModelRun(Run):
    """A chat model's (or LLM's) run: recorded by a provider plugin that captured its SDK
    (``claimed``), else by the LangChain layer when it ends."""

    __slots__ = (
        "api",
        "batch",
        "messages",
        "open",
        "parent_id",
        "provider",
        "request_model",
        "sdks",
        "t_first",
        "wall0",
        "where",
    )

    def __init__(
        self,
        run_id: UUID,
        root: Root,
        name: str,
        ext: dict[str, Any],
        *,
        api: str,
        provider: str,
        where: tuple[Mapping[str, Any] | None, Mapping[str, Any]],
        request_model: str | None,
        messages: Sequence[BaseMessage] | None,
    ) -> None:
        super().__init__("model", run_id, root, name, ext)
        self.wall0 = time()
        self.api = api
        self.provider = provider
        self.where = where  # (serialized, invocation params): where the model is
        self.request_model = request_model
        self.messages = messages
        self.sdks: list[str] = []  # SDKs whose provider plugin recorded this run's calls
        # The runs of one generate() call with several prompts (LangChain starts them all,
        # then calls the model: once per prompt, or once for all of them): a provider's
        # claim is the whole batch's.
        self.batch: list[ModelRun] = [self]
        self.open = True
        self.parent_id: UUID | None = None
        self.t_first = 0.0

    @property
    def claimed(self) -> bool:
        return bool(self.sdks)

    def claim(self, call: Call) -> None:
        """A provider plugin recorded a call of this run (see hilt_core.provider.ambient)."""
        from hilt_langchain.calls import LangChainAdapter

        if isinstance(call.adapter, LangChainAdapter):
            return  # the LangChain layer's own record of this run
        sdk = str(getattr(call.adapter, "sdk", None) or call.adapter.name)
        for run in self.batch:
            if sdk not in run.sdks:
                run.sdks.append(sdk)

    def raised_by_sdk(self, error: BaseException) -> bool:
        """Whether ``error`` came from a captured SDK, so that its provider recorded it:
        an exception of the SDK, a subclass of one (langchain-openai raises its own
        subclass of ``openai.RateLimitError``), or one raised from one."""
        seen: BaseException | None = error
        for _ in range(8):  # a cause chain, not a cycle
            if seen is None:
                return False
            for cls in type(seen).__mro__:
                module = cls.__module__
                if any(module == sdk or module.startswith(sdk + ".") for sdk in self.sdks):
                    return True
            seen = seen.__cause__ or seen.__context__
        return False
