"""Patch an SDK when the application imports it, not before.

``instrument()`` patches every installed SDK a provider knows; importing an SDK the
application never uses would cost it start-up time and memory (tens of MB for some). A
provider whose SDK is not imported yet waits for the application's own import instead.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from hilt_core.internal import internal_error

Patch = Callable[[], Callable[[], None] | None]


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of ``name`` so that ``patch`` runs right
    after the module has run."""

    def __init__(self, name: str, patch: Patch) -> None:
        self.name = name
        self.patch = patch
        self.undo: Callable[[], None] | None = None
        self.busy = False
        self.fired = False
        self.lock = threading.Lock()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name or self.busy or self.fired:
            return None
        self.busy = True
        try:
            spec = importlib.util.find_spec(fullname)  # the other finders' answer
        finally:
            self.busy = False
        loader: Any = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module
        finder = self

        def exec_module(module: ModuleType) -> None:
            run(module)
            finder.fire()

        loader.exec_module = exec_module
        return spec

    def fire(self) -> None:
        with self.lock:
            if self.fired:
                return
            self.fired = True
        remove(self)
        try:
            self.undo = self.patch()
        except Exception:
            internal_error(f"patch {self.name} when it was imported")

    def cancel(self) -> None:
        with self.lock:
            self.fired = True
        remove(self)
        if self.undo is not None:
            undo, self.undo = self.undo, None
            undo()


def remove(finder: _Finder) -> None:
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)


def when_imported(name: str, patch: Patch) -> Callable[[], None]:
    """Run ``patch`` now if the module ``name`` is imported already, else right after the
    application imports it. Returns the undo: it undoes the patch if it ran, else stops
    waiting."""
    if name in sys.modules:
        undo = patch()
        return undo if undo is not None else (lambda: None)
    finder = _Finder(name, patch)
    sys.meta_path.insert(0, finder)
    return finder.cancel


__all__ = ["when_imported"]
