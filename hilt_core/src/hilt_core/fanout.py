"""Several backends for one session: ``instrument(backend=["jsonl", "otel"])``.

The pipeline sees one backend: this module, whose ``backend_write`` / ``backend_close``
hand each batch to every backend of the list through that backend's own plugin. A
backend that fails keeps its own copy of what it has not taken yet (at most
``max_queue`` events, the oldest dropped beyond that, counted) and retries it with its
own backoff on the next batch, flush or close, so a failing backend never holds up the
others and the others never receive an event twice. The pipeline's own retry is not
used: it would hand the whole batch back, healthy backends included.

Options: every keyword of the session reaches every backend (a backend takes the ones
it declares, so name clashes are avoided by prefixes: ``otel_endpoint``); for the
options several backends share a name for (``columns``, ``filepath``) give
``backend_options={"sheets": {"columns": [...]}}``, which overrides the session's
options for that backend only.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from hilt_core import options as _options
from hilt_core import pipeline, shutdown
from hilt_core.errors import ConfigError, HILTError
from hilt_core.model import Actor, Content, Event
from hilt_core.registry import Registry

log = logging.getLogger("hilt")

OPTION = "backend_options"
# Options of the whole session, applied before any backend sees an event: they cannot
# differ per backend.
SESSION_WIDE = frozenset(
    {
        "mode",
        "capture",
        "redactors",
        "hash_salt",
        "max_queue",
        "flush_interval",
        "batch_size",
        "queue_block_timeout",
        OPTION,
    }
)
# How long close() keeps retrying a failing backend before it reports what is lost
# (within the close's own bound: see close_timeout; at exit, what is left of the budget).
CLOSE_RETRY_SECONDS = 2.0


def backend_list(backend: object, mode: str, options: Mapping[str, Any]) -> list[str] | None:
    """The names of ``backend=[...]``, checked; None when ``backend`` names one backend."""
    if not isinstance(backend, list | tuple):
        if options.get(OPTION):
            raise ConfigError(
                f"{OPTION}= is for a list of backends (backend=['jsonl', 'otel']); with one "
                "backend give its options as keywords"
            )
        return None
    names = [str(b) for b in backend]
    if not names:
        raise ConfigError("backend=[] names no backend: give at least one, e.g. ['jsonl']")
    if mode == "r":
        raise ConfigError("mode='r' reads one backend: name one backend, not a list")
    return names


def resolve(
    registry: Registry, names: Sequence[str], options: Mapping[str, Any]
) -> list[tuple[str, object]]:
    """``(registered name, plugin)`` of each name, each plugin once; ``backend_options``
    checked against the names and the options of each backend."""
    found: list[tuple[str, object]] = []
    for name in names:
        real, plugin = registry.resolve(name, "backend")
        if any(p is plugin for _, p in found):
            raise ConfigError(
                f"backend={list(names)!r} names the backend {real!r} more than once; "
                "open one session per file or sheet to write two of them"
            )
        found.append((real, plugin))
    per = options.get(OPTION) or {}
    if not isinstance(per, Mapping):
        raise ConfigError(f"{OPTION}= must be a dict of backend name to a dict of options")
    for key, opts in per.items():
        match = [(n, p) for given, (n, p) in zip(names, found, strict=True) if key in (given, n)]
        if not match:
            raise ConfigError(
                f"{OPTION}: {key!r} is not one of this session's backends {list(names)!r}"
            )
        if not isinstance(opts, Mapping):
            raise ConfigError(f"{OPTION}[{key!r}] must be a dict of options, not {opts!r}")
        wide = sorted(SESSION_WIDE & set(opts))
        if wide:
            raise ConfigError(
                f"{OPTION}[{key!r}]: {', '.join(wide)} applies to the whole session (every "
                "backend receives the same events): give it as a keyword of its own"
            )
        _options.check(opts, match)
    return found


def child_options(given: str, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The session's options with this backend's ``backend_options`` entry on top."""
    per = options.get(OPTION) or {}
    own = per.get(given) or per.get(name) or {}
    return {**options, **own}


class _Child:
    """One backend of the list, with what it has not taken yet."""

    def __init__(
        self, name: str, plugin: object, handle: object, registry: Registry, limit: int
    ) -> None:
        self.name = name
        self.plugin = plugin
        self.handle = handle
        self._write = registry.bound(plugin, "backend_write")
        self._close = registry.bound(plugin, "backend_close")
        self.limit = max(1, limit)
        self.pending: deque[Event] = deque()
        self.retry_at = 0.0
        self.backoff = 0.0
        self.written = 0
        self.write_errors = 0
        self.dropped = 0
        self.dropped_unreported = 0
        self.unwritable = 0  # events replaced by a hilt_unwritable stand-in
        self.last_error = ""
        self.last_warning = float("-inf")

    def take(self, events: Sequence[Event]) -> None:
        if not self.pending and time.monotonic() >= self.retry_at:
            self._try(events)
            return
        self.pending.extend(events)
        self._trim()
        if time.monotonic() >= self.retry_at:
            self.retry()

    def _trim(self) -> None:
        over = len(self.pending) - self.limit
        if over > 0:
            for _ in range(over):
                self.pending.popleft()
            self._dropped(over)

    def retry(self) -> bool:
        """Write what is kept; True when nothing is left."""
        if self.pending:
            self._try(list(self.pending), kept=True)
        return not self.pending

    def _try(self, events: Sequence[Event], kept: bool = False) -> None:
        """Write ``events`` (the backlog itself when ``kept``); on failure keep what is
        not written, in order, for a retry."""
        report = _drop_report(self.dropped_unreported) if self.dropped_unreported else None
        batch = [report, *events] if report is not None else list(events)
        try:
            self._write(handle=self.handle, events=batch)
        except Exception as exc:
            if not pipeline.unfixable(exc):
                self._failed(exc, events, kept)
                return
            # An event this backend cannot write costs that event only, as with a single
            # backend: the rest of the batch is written, the bad one stood in for.
            done, replaced, left, error = pipeline.isolate(self._write_list, batch, exc, self.name)
            self.unwritable += replaced
            self.written += done
            if report is not None and not any(e is report for e in left):
                self.dropped_unreported = 0
            if error is not None:
                self._failed(error, [e for e in left if e is not report], kept, replace=True)
                return
        else:
            self.written += len(events)
        self.dropped_unreported = 0
        self.backoff = 0.0
        self.retry_at = 0.0
        if kept:
            self.pending.clear()

    def _write_list(self, events: list[Event]) -> None:
        self._write(handle=self.handle, events=events)

    def _failed(
        self, exc: Exception, left: Sequence[Event], kept: bool, replace: bool = False
    ) -> None:
        """A write failed: keep ``left`` (all of the batch, or what ``isolate`` could not
        write) and retry with the backoff."""
        self.write_errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.backoff = min(max(self.backoff * 2, 0.1), 30.0)
        self.retry_at = time.monotonic() + self.backoff
        if kept and replace:
            self.pending = deque(left)
        elif not kept:
            self.pending.extend(left)
            self._trim()
        log.error(
            "HILT backend %r failed to write %d events (%s); kept, retrying in %.1fs; "
            "the session's other backends are unaffected",
            self.name,
            len(self.pending),
            self.last_error,
            self.backoff,
        )

    def _dropped(self, n: int) -> None:
        self.dropped += n
        self.dropped_unreported += n
        now = time.monotonic()
        if now - self.last_warning > 10.0:
            self.last_warning = now
            log.warning(
                "HILT dropped %d events for backend %r, which is failing (%s): it keeps at "
                "most %d (max_queue); %d dropped so far. The session's other backends "
                "are unaffected",
                n,
                self.name,
                self.last_error,
                self.limit,
                self.dropped,
            )

    def close(self, flush_only: bool) -> str | None:
        """backend_close on this backend; what went wrong, or None."""
        try:
            self._close(handle=self.handle, flush_only=flush_only)
        except HILTError as exc:
            return f"{self.name}: {exc}"
        except Exception as exc:
            log.exception("HILT backend %r failed to flush/close", self.name)
            return f"{self.name}: {type(exc).__name__}: {exc}"
        return None


def _drop_report(n: int) -> Event:
    """The same ``hilt_dropped`` event the pipeline writes for its own drops."""
    return Event(
        session_id="hilt",
        actor=Actor(type="system", id="hilt"),
        action="system",
        content=Content(text=f"HILT dropped {n} events: the backend was failing"),
        extensions={"error_code": "hilt_dropped", "dropped": n},
    )


class FanOut:
    """The handle the pipeline holds for a list of backends."""

    def __init__(self, children: list[_Child]) -> None:
        self.children = children
        _live.add(self)

    @property
    def path(self) -> object:
        """The first backend's file, if it has one (``Session.filepath``)."""
        return getattr(self.children[0].handle, "path", None)

    @property
    def first(self) -> object:
        return self.children[0].handle

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        """Per backend: ``written``, ``write_errors``, ``pending`` (kept for a retry),
        ``dropped`` (past ``max_queue`` while failing), ``unwritable`` (events it could
        not write at all, replaced by a ``hilt_unwritable`` stand-in) and ``last_error``."""
        return {
            c.name: {
                "written": c.written,
                "write_errors": c.write_errors,
                "pending": len(c.pending),
                "dropped": c.dropped,
                "unwritable": c.unwritable,
                "last_error": c.last_error,
            }
            for c in self.children
        }

    def write(self, events: Sequence[Event]) -> None:
        for child in self.children:
            child.take(events)

    @property
    def close_timeout(self) -> float:
        """How long a close may take: the retries, then each backend's own close bound
        (``close()`` without a timeout waits for it: see ``Pipeline.close_timeout``)."""
        return CLOSE_RETRY_SECONDS + sum(
            pipeline.declared_close_timeout(c.handle) for c in self.children
        )

    def close(self, flush_only: bool) -> None:
        problems: list[str] = []
        # At interpreter exit, within what is left of HILT_EXIT_TIMEOUT.
        deadline = time.monotonic() + shutdown.close_time_left(CLOSE_RETRY_SECONDS)
        for child in self.children:
            # A flush retries a failing backend when its backoff allows; a close keeps
            # retrying, with the backoff, for a bounded time.
            if child.pending and (not flush_only or time.monotonic() >= child.retry_at):
                child.retry()
            while child.pending and not flush_only and child.retry_at <= deadline:
                time.sleep(max(0.0, child.retry_at - time.monotonic()))
                child.retry()
            left = len(child.pending)
            if left and flush_only:
                problems.append(f"{child.name}: {left} events not written yet ({child.last_error})")
            elif left:
                log.error(
                    "HILT could not write %d events to backend %r before closing; they are "
                    "lost (last error: %s)",
                    left,
                    child.name,
                    child.last_error,
                )
                problems.append(f"{child.name}: {left} events lost")
                child.pending.clear()
            problem = child.close(flush_only)
            if problem:
                problems.append(problem)
            if child.dropped and not flush_only:
                # The warnings while it failed came at most one per 10 s: the total, once.
                log.warning(
                    "HILT dropped %d events in all for backend %r while it was failing (it "
                    "keeps at most %d, max_queue); the session's other backends have them",
                    child.dropped,
                    child.name,
                    child.limit,
                )
        if problems:
            raise HILTError("; ".join(problems))


_live: weakref.WeakSet[FanOut] = weakref.WeakSet()


def _reset_after_fork() -> None:
    # A backlog kept before a fork is the parent's to write (as the pipeline's queue is).
    for fan in list(_live):
        for child in fan.children:
            child.pending.clear()
            child.dropped_unreported = 0


os.register_at_fork(after_in_child=_reset_after_fork)


def open_all(
    registry: Registry,
    names: Sequence[str],
    found: Sequence[tuple[str, object]],
    options: Mapping[str, Any],
    max_queue: int,
) -> FanOut:
    """Open every backend of the list (``backend_open`` on each one's own plugin). If
    one cannot open, those already open are closed and a ConfigError names it."""
    children: list[_Child] = []
    try:
        for given, (name, plugin) in zip(names, found, strict=True):
            own = child_options(given, name, options)
            try:
                handle = registry.caller(plugin, "backend_open")(name=given, options=own)
            except HILTError:
                raise
            except Exception as exc:
                raise ConfigError(
                    f"The HILT backend {name!r} could not open: {type(exc).__name__}: {exc}"
                ) from exc
            if handle is None:
                raise ConfigError(f"The HILT backend plugin {name!r} did not open a backend")
            children.append(_Child(name, plugin, handle, registry, max_queue))
    except BaseException:
        for child in children:
            child.close(flush_only=False)
        raise
    return FanOut(children)


def first_handle(handle: object) -> object:
    """The handle a session reads from: the first backend's for a list."""
    return handle.first if isinstance(handle, FanOut) else handle


# The two hooks the pipeline calls (through Registry.bound: this module is a plugin object
# the registry does not hold, so no name resolves to it and no broadcast reaches it).
def backend_write(handle: FanOut, events: Sequence[Event]) -> None:
    handle.write(events)


def backend_close(handle: FanOut, flush_only: bool) -> None:
    handle.close(flush_only)


__all__ = ["OPTION", "FanOut", "backend_list", "first_handle", "open_all", "resolve"]
