"""Putting the handler in every LangChain run, and taking it out again.

``register_configure_hook`` makes LangChain add the handler of a ``ContextVar`` to every
callback manager it configures; the variable's *default* is the handler, so every thread
and every asyncio task sees it, even those started before ``instrument()``. LangChain
has no way to unregister a hook: the undo removes exactly the entry this install added
from its list (``_configure_hooks``), and turns the handler off for managers already
configured (a run in flight).

Importing langchain-core takes about half a second, and many applications have it
installed without using it. So when the application has not imported it yet,
``instrument()`` imports nothing: the hook is registered right after LangChain loads the
module that holds the hooks (``langchain_core.tracers.context``, which LangChain itself
loads when it configures its first run's callbacks), through an import hook that then
removes itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from types import ModuleType
from typing import Any

from hilt_core import session as hilt_session
from hilt_core.internal import internal_error
from hilt_core.provider import add_source
from hilt_core.recorder import Recorder

log = logging.getLogger("hilt")

HOOKS_MODULE = "langchain_core.tracers.context"


def install(recorder: Recorder) -> Callable[[], None]:
    """Register now if LangChain is loaded, else when it loads its hooks; the undo."""
    if HOOKS_MODULE in sys.modules or "langchain_core" in sys.modules:
        return _register(recorder)
    undo: list[Callable[[], None]] = []

    def loaded(module: ModuleType) -> None:
        try:
            undo.append(_register(recorder))
        except Exception:
            internal_error("register with LangChain")

    watch = _AfterImport(HOOKS_MODULE, loaded)
    sys.meta_path.insert(0, watch)

    def undo_all() -> None:
        watch.remove()
        while undo:
            undo.pop()()

    return undo_all


def _register(recorder: Recorder) -> Callable[[], None]:
    from langchain_core.tracers import context as lc_context

    from hilt_langchain.handler import HiltHandler

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


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``callback(module)`` once, right after the module ``name`` is first executed,
    then leaves ``sys.meta_path``."""

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.callback = callback
        self.searching = False

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> Any:
        if fullname != self.name or self.searching:
            return None
        self.searching = True  # the real finders find it; this one steps aside
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self.searching = False
        if spec is None or spec.loader is None:
            return None
        self.remove()
        spec.loader = _ThenCall(spec.loader, self.callback)
        return spec

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


class _ThenCall(importlib.abc.Loader):
    """A module's own loader, which then calls ``callback`` with the loaded module."""

    def __init__(self, loader: Any, callback: Callable[[ModuleType], None]) -> None:
        self.loader = loader
        self.callback = callback

    def create_module(self, spec: Any) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        self.callback(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename... for tracebacks
        return getattr(self.loader, name)
