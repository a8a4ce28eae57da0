"""hilt-python 0.2.8's context object, kept for code written against it.

``get_context().use_session(s)`` now rests on ``contextvars``: the override holds in the
current thread or asyncio task and the tasks it starts, not in other threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hilt_core import context
from hilt_core.protocols import SessionLike
from hilt_core.session import Session


class InstrumentationContext:
    @property
    def session(self) -> SessionLike | None:
        return context.current_session()

    @property
    def is_instrumented(self) -> bool:
        return context.GLOBAL.session is not None

    def set_global_session(self, session: Session) -> None:
        context.GLOBAL.session = session

    def clear(self) -> None:
        context.GLOBAL.session = None

    @contextmanager
    def use_session(self, session: Session) -> Iterator[None]:
        with context.use_session(session):
            yield


_context = InstrumentationContext()


def get_context() -> InstrumentationContext:
    return _context


__all__ = ["InstrumentationContext", "get_context"]
