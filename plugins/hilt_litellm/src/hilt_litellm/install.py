"""Putting HILT's logger into LiteLLM and taking it out again, exactly.

``instrument()`` does not import LiteLLM: importing it takes seconds and, unless
``LITELLM_LOCAL_MODEL_COST_MAP=True``, fetches LiteLLM's price list from the network. If
the application has imported ``litellm``, the logger goes into ``litellm.callbacks`` at
once; if not, a finder on ``sys.meta_path`` waits for the application's own
``import litellm`` and adds it right after LiteLLM has loaded (then removes itself).

LiteLLM copies ``litellm.callbacks`` into its other lists (``input_callback``,
``success_callback``, ``_async_success_callback``, ...) at its first call. The undo takes
HILT's logger out of every list of the ``litellm`` module that holds it, in place, and
leaves everything else (the application's own callbacks) where it was.

LiteLLM runs async success callbacks on a background worker: the last call of an
``asyncio.run(...)`` is reported after the loop has closed, by LiteLLM's own exit handler.
HILT registers a callback of its exit step when it installs the logger
(``hilt_core.shutdown.before_exit``: it runs before HILT writes its last events, within
the exit budget ``HILT_EXIT_TIMEOUT``) that drains that worker first; the undo drains it
too, so ``asyncio.run(main()); hilt.uninstrument()`` keeps the last call.
"""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.machinery
import logging
import sys
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any

from hilt_core import Recorder, shutdown
from hilt_core.internal import internal_error
from hilt_core.provider import add_source
from hilt_litellm.tracker import Tracker

log = logging.getLogger("hilt")

DRAIN_SECONDS = 5.0  # at exit, for LiteLLM's pending async callbacks


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``then(module)`` once ``name`` has been imported by the application."""

    def __init__(self, name: str, then: Callable[[types.ModuleType], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        for finder in list(sys.meta_path):
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return None
        original = loader.exec_module
        then = self.then

        def exec_module(module: types.ModuleType) -> None:
            try:
                original(module)
            finally:
                # The loader is this import's own object: take the wrapper off it.
                vars(loader).pop("exec_module", None)
            then(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


class Installation:
    """HILT's logger in LiteLLM for one ``instrument()``; :meth:`undo` takes it out."""

    def __init__(self, recorder: Recorder) -> None:
        self.tracker = Tracker(recorder)
        self.logger: Any = None
        self.module: types.ModuleType | None = None
        self.finder: _AfterImport | None = None
        self.remove_source: Callable[[], None] | None = None
        self.lock = threading.Lock()
        self.undone = False

    def apply(self) -> Callable[[], None]:
        module = sys.modules.get("litellm")
        if module is not None and hasattr(module, "callbacks"):
            self._install(module)
        else:
            self.finder = _AfterImport("litellm", self._imported)
            sys.meta_path.insert(0, self.finder)
        return self.undo

    def _imported(self, module: types.ModuleType) -> None:
        self._drop_finder()
        try:
            self._install(module)
        except Exception:
            internal_error("add HILT's logger to LiteLLM")

    def _drop_finder(self) -> None:
        finder, self.finder = self.finder, None
        if finder is not None and finder in sys.meta_path:
            sys.meta_path.remove(finder)

    def _install(self, litellm: types.ModuleType) -> None:
        from hilt_litellm.logger import HiltLogger

        with self.lock:
            if self.undone or self.logger is not None:
                return
            callbacks = litellm.callbacks
            if any(isinstance(cb, HiltLogger) for cb in callbacks):
                log.warning("HILT: LiteLLM already has a HILT logger; not adding a second")
                return
            self.logger = HiltLogger(self.tracker)
            self.module = litellm
            callbacks.append(self.logger)
            self.remove_source = add_source(self.tracker.source, call=True)
            shutdown.before_exit(self.at_exit)

    def undo(self) -> None:
        with self.lock:
            self.undone = True
            self._drop_finder()
            if self.remove_source is not None:
                self.remove_source()
                self.remove_source = None
            logger, module = self.logger, self.module
            self.logger = self.module = None
        if logger is None or module is None:
            return
        shutdown.remove_before_exit(self.at_exit)
        # Ends LiteLLM has not reported yet (an asyncio.run() that just returned) go to
        # this session, which closes after the undo; what is still open is partial.
        self.drain()
        self.tracker.finish_open("uninstrumented")
        lists = [v for v in vars(module).values() if isinstance(v, list)]
        utils = sys.modules.get("litellm.utils")
        if utils is not None:  # LiteLLM's list of callbacks it has set up
            lists += [v for v in vars(utils).values() if isinstance(v, list)]
        lock = getattr(
            getattr(module, "logging_callback_manager", None), "callback_lists_lock", None
        )
        with lock if lock is not None else threading.Lock():
            for found in lists:
                for i in range(len(found) - 1, -1, -1):
                    if found[i] is logger:
                        del found[i]

    def at_exit(self) -> None:
        """Before HILT writes its last events: LiteLLM's pending ends, then the calls
        still open as partial answers."""
        self.drain()
        try:
            self.tracker.finish_open("exit")
        except Exception:
            log.warning("HILT: LiteLLM calls still open at exit were not written", exc_info=True)

    def drain(self) -> None:
        """Run LiteLLM's async callbacks still waiting for a loop (at exit, and at
        ``uninstrument()`` when it is not called from a running loop, whose own worker
        runs them)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return
        try:
            worker_module = sys.modules.get("litellm.litellm_core_utils.logging_worker")
            worker = getattr(worker_module, "GLOBAL_LOGGING_WORKER", None)
            if worker is None or not getattr(worker, "pending_count", 0):
                return
            # At exit, within what is left of HILT's exit budget.
            wait = shutdown.close_time_left(DRAIN_SECONDS)
            asyncio.run(asyncio.wait_for(worker.flush(), wait))
        except Exception:
            log.warning("HILT: LiteLLM's last callbacks could not be run at exit", exc_info=True)


__all__ = ["Installation"]
