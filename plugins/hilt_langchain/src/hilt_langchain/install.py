"""Putting the handler in every LangChain run, and taking it out again.

``register_configure_hook`` makes LangChain add the handler of a ``ContextVar`` to every
callback manager it configures; the variable's *default* is the handler, so every thread
and every asyncio task sees it, even those started before ``instrument()``. LangChain
has no way to unregister a hook: the undo removes exactly the entry this install added
from its list (``_configure_hooks``), and turns the handler off for managers already
configured (a run in flight).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from langchain_core.tracers import context as lc_context

from hilt_core import session as hilt_session
from hilt_core.provider import add_source
from hilt_core.recorder import Recorder
from hilt_langchain.handler import HiltHandler


def install(recorder: Recorder) -> Callable[[], None]:
    handler = HiltHandler(recorder)
    var: ContextVar[HiltHandler | None] = ContextVar("hilt_langchain", default=handler)
    lc_context.register_configure_hook(var, inheritable=True)
    remove_source = add_source(handler.source)
    hilt_session.before_close.append(handler.finish_open)

    def undo() -> None:
        handler.active = False
        handler.finish_open()  # before instrument() closes the session they write to
        hooks = lc_context._configure_hooks
        for i, entry in enumerate(hooks):
            if entry[0] is var:
                del hooks[i]
                break
        remove_source()
        if handler.finish_open in hilt_session.before_close:
            hilt_session.before_close.remove(handler.finish_open)
        handler.runs.clear()

    return undo
