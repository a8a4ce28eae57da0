"""What surrounds a call: frameworks above the SDK (LangGraph, LangChain, LiteLLM) tell
the provider contract about the run a model call happens in, so that the call is recorded
once, by the provider that captured its SDK, and carries the framework's context.

A framework plugin adds a *source*: a function called on the application's thread when a
provider's :class:`~hilt_core.provider.Call` begins, which returns an :class:`Ambient`
(or None when no run of that framework surrounds the call):

- ``extensions``: keys stamped on the call's events (a LangGraph node and step, LiteLLM's
  provider name...); declare them with ``HILT_EXTENSION_KEYS`` when they are labels;
- ``conversation``: the conversation id the framework knows (a ``thread_id``), used when
  the application set none with ``hilt.conversation()``;
- ``claim``: called with the Call, so the framework layer knows that a provider recorded
  this model call and writes no second completion (nor a second cost) for it.

A source added with ``add_source(fn, call=True)`` is called with the provider's Call (its
``api``, ``request_model``, ``body`` as the SDK sends it): a framework that cannot tell
its run from the calling context alone (LiteLLM prepares some calls on an executor
thread, then sends them from the application's task) recognises its call by its request.

Sources cost nothing when none is added (one truthiness test per call).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypedDict, cast

from hilt_core.internal import internal_error

log = logging.getLogger("hilt")


class Ambient(TypedDict, total=False):
    extensions: dict[str, Any]
    conversation: str
    claim: Callable[[Any], None]  # called with the provider's Call


Source = Callable[[], Ambient | None]
CallSource = Callable[[Any], Ambient | None]  # given the provider's Call

SOURCES: list[CallSource] = []


def add_source(source: Source | CallSource, *, call: bool = False) -> Callable[[], None]:
    """Consult ``source`` at the start of every provider call (``source(call)`` with
    ``call=True``, else ``source()``); returns its removal (for the framework plugin's
    undo handle)."""
    if call:
        entry = cast(CallSource, source)
    else:
        plain = cast(Source, source)

        def entry(_call: Any) -> Ambient | None:
            return plain()

        entry.__wrapped__ = plain  # type: ignore[attr-defined]  # the source as it was given

    SOURCES.append(entry)

    def remove() -> None:
        if entry in SOURCES:
            SOURCES.remove(entry)

    return remove


def gather(call: object) -> tuple[dict[str, Any] | None, str | None]:
    """Ask every source about ``call`` (on the application's thread): the extensions to
    stamp and the conversation id a framework knows. A source that raises is HILT's
    bug: reported, and the call is recorded without it."""
    extensions: dict[str, Any] | None = None
    conversation: str | None = None
    for source in list(SOURCES):
        try:
            found = source(call)
            if not found:
                continue
            more = found.get("extensions")
            if more:
                extensions = {**extensions, **more} if extensions else dict(more)
            if conversation is None:
                conversation = found.get("conversation") or None
            claim = found.get("claim")
            if claim is not None:
                claim(call)
        except Exception:
            internal_error("read the context of a call")
    return extensions, conversation


__all__ = ["SOURCES", "Ambient", "CallSource", "Source", "add_source", "gather"]
