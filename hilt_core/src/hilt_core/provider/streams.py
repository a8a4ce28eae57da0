"""Streams, recorded however they end: run to the end, closed, left through ``break`` or
``with``, failed, garbage-collected unclosed, or still open when their session closes
(``uninstrument()``) or the interpreter exits. Then the answer is written as partial,
never dropped.

A provider subclasses :class:`StreamRecord`: :meth:`~StreamRecord.take` keeps what the
event needs of each chunk (as little as it can: a string rather than the chunk object),
:meth:`~StreamRecord.parts` turns what was kept into a :class:`~hilt_core.provider.Completion`
on the writer thread. The record finishes once; the core does the rest.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from typing import TYPE_CHECKING, Any

from hilt_core import forksafe
from hilt_core import session as _session
from hilt_core import shutdown as _shutdown
from hilt_core.internal import internal_error

if TYPE_CHECKING:
    from hilt_core.provider.call import Call, Completion

log = logging.getLogger("hilt")


class StreamRecord:
    """What one stream of a call has delivered so far; finished exactly once."""

    # Few objects per record: a stream's record lives until the writer builds its event,
    # and every object held across calls counts towards the application's next garbage
    # collection (see docs/performance.md, "Objects in flight").
    __slots__ = ("__weakref__", "call", "done", "gen", "how", "info", "ref", "t_first")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.t_first = 0.0
        self.done = False
        self.how = ""  # how it ended, and its Completion["stream"]: for __call__
        self.info: dict[str, Any] | None = None
        # The wrapping generator (weakly: it refers to this record). It is running while
        # the SDK produces the next chunk, and an SDK that closes its HTTP response at the
        # end of the body does so from inside it: that close is not the app leaving early.
        self.gen: weakref.ref[Any] | None = None
        self.ref: weakref.ref[Any] | None = None  # to the stream object, while it is open

    # -- for providers -------------------------------------------------------------------
    def take(self, chunk: Any) -> bool:
        """Keep what the event needs of ``chunk``; return False to hide the chunk from the
        application (a usage chunk HILT asked for). Must not raise."""
        raise NotImplementedError

    def parts(self, how: str, info: dict[str, Any]) -> Completion:
        """The completion read from what was kept (on the writer thread). ``info`` is the
        stream's ``Completion["stream"]`` so far (``stream``, ``ttft_ms``, ``stream_end``,
        ``error_type``); set ``info["partial"] = True`` for an answer that did not end."""
        raise NotImplementedError

    def first_token(self) -> None:
        """Mark the time to first token (call it from :meth:`take` at the first chunk
        that carries output)."""
        if not self.t_first:
            self.t_first = perf_counter()

    # -- the lifecycle ---------------------------------------------------------------------
    def iterate(self, inner: Iterator[Any]) -> Iterator[Any]:
        """The generator that replaces the SDK stream's iterator."""
        take = self.take
        with self:
            for chunk in inner:
                if take(chunk):
                    yield chunk

    async def aiterate(self, inner: AsyncIterator[Any]) -> AsyncIterator[Any]:
        take = self.take
        with self:
            async for chunk in inner:
                if take(chunk):
                    yield chunk

    def __enter__(self) -> StreamRecord:
        """``with record:`` around a provider's own loop over the SDK's chunks finishes
        the record as that loop ends: ``complete``, ``closed`` (the application left the
        generator: ``close()``, ``break``, garbage collection) or ``error``."""
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if kind is None:
            self.finish("complete")
        elif issubclass(kind, GeneratorExit):
            self.finish("closed")
        else:
            self.finish("error", exc)

    def watch(self, stream: Any, gen: Any = None) -> None:
        """Finish the record when ``stream`` is garbage-collected unfinished, or when its
        session closes first. ``gen`` is the wrapping generator (see :meth:`closed_by_app`).
        A weak reference with a callback: cheaper than weakref.finalize, and gone once the
        stream ends."""
        if gen is not None:
            self.gen = weakref.ref(gen)
        self.ref = ref = weakref.ref(stream, _collected)
        _open[ref] = self

    def closed_by_app(self) -> None:
        """The app closed the stream's response (``close()``, ``with``): finish as
        ``closed``, unless the SDK is closing it from inside the iteration at the end."""
        gen = self.gen() if self.gen is not None else None
        if gen is not None:
            running = gen.gi_running if hasattr(gen, "gi_running") else gen.ag_running
            if running:
                return
        self.finish("closed")

    def finish(self, how: str, exc: BaseException | None = None) -> None:
        """End the record (once): ``complete``, ``closed``, ``error``, ``gc``,
        ``uninstrumented`` or ``exit``."""
        with _finishing:  # one lock for all records, held for two lines
            if self.done:
                return
            self.done = True
        if self.ref is not None:
            _open.pop(self.ref, None)
            self.ref = None
        self.gen = None  # a weak reference is a tracked object too (see __slots__)
        try:
            self._emit(how, exc)
        except Exception:
            internal_error("record a stream")

    def _emit(self, how: str, exc: BaseException | None) -> None:
        call = self.call
        info: dict[str, Any] = {"stream": True}
        if self.t_first:
            info["ttft_ms"] = round((self.t_first - call.t0) * 1000.0, 3)
        if how != "complete":
            info["stream_end"] = how
            info["partial"] = True
        if exc is not None:
            info["error_type"] = type(exc).__name__
        self.how, self.info = how, info
        # The record itself is the call's ``parts`` (see __call__): no closure or bound
        # method held until the writer runs.
        call.completion(parts=self)

    def __call__(self) -> Completion:
        """The completion, read on the writer thread once the record has finished."""
        assert self.info is not None
        return self.parts(self.how, self.info)


# Re-entrant: a GC callback (_collected) may run inside. Fork-safe: see forksafe.py.
_finishing = forksafe.RLock()


# Streams not finished yet, by a weak reference to the stream object.
_open: dict[weakref.ref[Any], StreamRecord] = {}


def _collected(ref: weakref.ref[Any]) -> None:
    rec = _open.pop(ref, None)
    if rec is not None:
        rec.finish("gc")


def open_streams() -> int:
    """How many recorded streams are still open (all sessions)."""
    return len(_open)


def finish_open(session: object | None = None, how: str = "uninstrumented") -> None:
    """Write the streams still open (of ``session``, or all) as partial answers."""
    for rec in list(_open.values()):
        if session is None or rec.call.session is session:
            rec.finish(how)


def _before_close(session: object) -> None:
    finish_open(session, "uninstrumented")


_session.before_close.append(_before_close)


def _finish_at_exit() -> None:
    finish_open(None, "exit")


# On the way out, inside the exit budget and before the last flush, which writes them
# (whichever of the two modules was imported first).
_shutdown.before_exit(_finish_at_exit)


__all__ = ["StreamRecord", "finish_open", "open_streams"]
