"""What a kernel module needs of a session, as a Protocol.

The context variables, the recorder handed to providers and the hook specifications type
against :class:`SessionLike`, not against :class:`hilt_core.session.Session`: they do not
depend on how sessions are built (a session depends on them), and no module of the kernel
imports in a circle (``tests/core/test_imports.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hilt_core.model import Event


class SessionLike(Protocol):
    """Where events go: what ``Recorder.session()``, ``hilt_core.current_session()`` and
    ``use_session()`` deal in. :class:`hilt_core.session.Session` is one."""

    #: The key of the conversation ids providers derive from text (None in "full" mode).
    conversation_key: bytes | None

    @property
    def closed(self) -> bool: ...

    def append(self, event: Event | Mapping[str, Any]) -> None:
        """Queue ``event`` for writing. Never waits on I/O."""

    def defer(self, build: Callable[[], Event | None]) -> None:
        """Queue an event that ``build()`` makes later, on the writer thread."""

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event queued so far is stored."""

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush and release the backend."""


__all__ = ["SessionLike"]
