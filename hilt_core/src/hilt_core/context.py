"""Per-request, per-worker and per-tenant overrides, built on ``contextvars``.

A value set inside ``with hilt.scope(...)`` holds in that thread or asyncio task and in
tasks it creates, and never leaks into others. A ``ThreadPoolExecutor`` does not copy the
context into its workers: submit ``hilt.carry(fn)`` (or
``contextvars.copy_context().run``) to take it along.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from hilt_core.protocols import SessionLike

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound=SessionLike)

_session: contextvars.ContextVar[SessionLike | None] = contextvars.ContextVar(
    "hilt_session", default=None
)
_conversation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "hilt_conversation", default=None
)
_meta: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "hilt_meta", default=None
)


class _Global:
    session: SessionLike | None = None


GLOBAL = _Global()


def current_session() -> SessionLike | None:
    """The session events go to here: a ``use_session`` override, else ``instrument()``'s."""
    s = _session.get()
    return s if s is not None else GLOBAL.session


def current_conversation() -> str | None:
    """The conversation id set by ``hilt.conversation()`` / ``hilt.scope()``, if any."""
    return _conversation.get()


def current_metadata() -> Mapping[str, Any] | None:
    """Extra fields (``user_id``, ``tenant_id``, ``tags``, ``metadata``) stamped on events."""
    return _meta.get()


@contextmanager
def use_session(session: S) -> Iterator[S]:
    """Send the events of this context to ``session`` instead of the global one."""
    token = _session.set(session)
    try:
        yield session
    finally:
        _session.reset(token)


@contextmanager
def conversation(conversation_id: str) -> Iterator[str]:
    """Thread every LLM call in this context into the conversation ``conversation_id``."""
    token = _conversation.set(conversation_id)
    try:
        yield conversation_id
    finally:
        _conversation.reset(token)


@contextmanager
def scope(
    *,
    session: SessionLike | None = None,
    conversation_id: str | None = None,
    user_id: str | None = None,
    tenant_id: str | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    **metadata: Any,
) -> Iterator[None]:
    """Override the session, the conversation id and extra metadata for this context.

    ``user_id``, ``tenant_id``, ``tags`` and other keyword ``metadata`` are written into
    the ``extensions`` of every event made in the context; nested scopes merge (inner
    wins, tags add up).
    """
    tokens: list[tuple[contextvars.ContextVar[Any], contextvars.Token[Any]]] = []
    if session is not None:
        tokens.append((_session, _session.set(session)))
    if conversation_id is not None:
        tokens.append((_conversation, _conversation.set(conversation_id)))
    extra: dict[str, Any] = {}
    if user_id is not None:
        extra["user_id"] = user_id
    if tenant_id is not None:
        extra["tenant_id"] = tenant_id
    if tags:
        extra["tags"] = list(tags)
    if metadata:
        extra["metadata"] = dict(metadata)
    if extra:
        outer = _meta.get()
        if outer:
            merged = dict(outer)
            if "tags" in extra and "tags" in outer:
                extra["tags"] = list(outer["tags"]) + [
                    t for t in extra["tags"] if t not in outer["tags"]
                ]
            if "metadata" in extra and "metadata" in outer:
                extra["metadata"] = {**outer["metadata"], **extra["metadata"]}
            merged.update(extra)
            extra = merged
        tokens.append((_meta, _meta.set(extra)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def carry(fn: Callable[P, R]) -> Callable[P, R]:
    """Bind ``fn`` to a copy of the current context, to run it in a thread pool.

    ``executor.submit(hilt.carry(work), item)`` keeps the session, conversation and
    metadata of the submitting code inside the worker.
    """
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return ctx.copy().run(fn, *args, **kwargs)

    return run


def stamp(
    extensions: dict[str, Any] | None, meta: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """Merge the context's metadata (or ``meta``, read earlier in the caller's context)
    into an event's extensions (the event's own win)."""
    if meta is None:
        meta = _meta.get()
    if not meta:
        return extensions
    if extensions is None:
        return dict(meta)
    for key, value in meta.items():
        extensions.setdefault(key, value)
    return extensions
