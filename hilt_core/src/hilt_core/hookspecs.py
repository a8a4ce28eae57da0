"""Hook specifications: the whole contract between the core and its plugins.

Specs only. The core owns ordering, batching, threading and the failure policy: an
exception raised by a hook is logged to the ``hilt`` logger and never reaches the
application (a raising ``redact`` drops the event's content: redaction fails closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hilt_core.markers import hookspec

if TYPE_CHECKING:
    from hilt_core.model import Event
    from hilt_core.recorder import Recorder


@hookspec(firstresult=True)
def provider_patch(
    name: str, recorder: Recorder, options: Mapping[str, Any]
) -> Callable[[], None] | None:
    """Patch an LLM SDK so that its calls are recorded.

    Fires once per ``instrument(providers=[...])`` for each provider name, and only on the
    plugin registered under that name (or one of its ``HILT_ALIASES``). ``recorder`` hands
    the provider's events to the session in effect for the calling context; ``options`` are
    the keyword options given to ``instrument()``. Returns a callable that undoes the patch
    exactly (restoring the original objects); ``uninstrument()`` calls it.
    """


@hookspec
def event_enrich(event: Event, options: Mapping[str, Any]) -> None:
    """Derive fields of ``event`` (cost, environment, ...), changing it in place.

    Fires for every event, on the writer thread, before ``redact``, for every registered
    plugin that implements it (order: ``tryfirst``/``trylast``, then last registered
    first). The context of the call that made the event is already stamped onto it
    (``extensions``: ``user_id``, ``tenant_id``, ``tags``, ``metadata``). ``options`` are
    the options of the session the event belongs to (``prices_file=``, ...): read them
    here, never a global session (the writer thread has no calling context). It is the
    same mapping for the life of a session. An implementation may leave ``options`` out
    of its signature. Returns nothing.
    """


@hookspec
def redact(event: Event, mode: str, options: Mapping[str, Any]) -> bool | None:
    """Scrub or drop content of ``event`` before anything stores it.

    Fires for every event, on the writer thread, after ``event_enrich`` and before
    ``backend_write``, for every always-on redactor and for the opt-in ones
    (``HILT_OPT_IN = True``) the session named in ``redactors=[...]``. ``mode`` is the
    capture mode chosen at ``instrument()`` ("full", "redacted", "hash" or "metadata"),
    applied by the core after every redactor. Change the event's text fields in place
    (``hilt_core.map_text`` reaches them all); return ``False`` to drop the whole event (it
    is counted, not written). Order: the ``redactors=[...]`` list, then the other
    always-on ones (``tryfirst`` first, ``trylast`` last, else registration order). If one
    raises, the event's content is removed and the event is kept with a marker:
    redaction fails closed. ``options`` are the session's options, as for
    ``event_enrich`` (an implementation may leave it out of its signature).
    """


@hookspec
def session_open(options: Mapping[str, Any]) -> None:
    """Check the options of a session that is opening (``instrument()``, ``Session()``).

    Fires once per session that writes, before its backend opens, for every registered
    plugin that implements it. Validate the options your plugin takes (read files they
    name, parse values) and raise :class:`hilt_core.ConfigError` with a message that says
    what to do: ``instrument()`` / ``Session()`` raise it and nothing is patched or opened.
    ``options`` is the mapping ``event_enrich`` and ``redact`` will receive for the
    session's events. Returns nothing.
    """


@hookspec(firstresult=True)
def backend_open(name: str, options: Mapping[str, Any]) -> object | None:
    """Open a storage backend for a session.

    Fires when a ``Session`` opens, only on the plugin registered under ``name`` (or one of
    its ``HILT_ALIASES``). ``options`` are the session's keyword options (``filepath``,
    ``columns``, ``sheet_id``, ...). Validate them here and raise
    :class:`hilt_core.ConfigError` with a message that says what to do. Returns a handle
    (any object) that the core passes back to ``backend_write`` / ``backend_close`` /
    ``backend_read``.
    """


@hookspec
def backend_write(handle: Any, events: Sequence[Event]) -> None:
    """Store a batch of events, in order.

    Fires on the writer thread, only on the plugin that opened ``handle``. Raise on
    failure: the core keeps the batch and retries it with backoff (events are never
    dropped silently). A backend that talks to a slow service should hand the batch to its
    own buffer and return quickly.
    """


@hookspec
def backend_close(handle: Any, flush_only: bool) -> None:
    """Make everything written durable (``flush_only=True``: ``Session.flush()``), or also
    release the backend's resources (``flush_only=False``: ``close()``, ``uninstrument()``,
    interpreter exit). Fires on the writer thread, only on the plugin that opened it."""


@hookspec(firstresult=True)
def backend_read(handle: Any) -> Iterator[Event] | None:
    """Iterate the events stored by this backend (``Session(..., mode="r").read()``).
    Returns ``None`` when the backend cannot read."""
