"""What a provider plugin gets from the core: where to send events, and the options."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hilt_core import context

if TYPE_CHECKING:
    from hilt_core.model import Event
    from hilt_core.protocols import SessionLike

log = logging.getLogger("hilt")


class Recorder:
    """Hands a provider's events to the session in effect for the calling context.

    ``session()`` is ``None`` when nothing is instrumented (a patch that outlived
    ``uninstrument()``, or a ``use_session`` that ended): the provider should then call the
    SDK untouched and do no capture work at all.
    """

    __slots__ = ("options",)

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = options

    @staticmethod
    def session() -> SessionLike | None:
        return context.current_session()

    @staticmethod
    def conversation_id() -> str | None:
        """The conversation id the application set (``hilt.conversation``), if any."""
        return context.current_conversation()

    @staticmethod
    def emit(event: Event, session: SessionLike | None = None) -> None:
        """Append ``event`` to ``session`` (default: the current one). Never raises."""
        target = session if session is not None else context.current_session()
        if target is None:
            return
        try:
            target.append(event)
        except Exception:
            log.exception("HILT could not record an event; the application is unaffected")
