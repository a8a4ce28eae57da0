"""``Session``: one open backend and the pipeline that feeds it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from hilt_core import context, shutdown
from hilt_core import fanout as _fanout
from hilt_core import options as _options
from hilt_core.capture import Capture, capture_policy, check_mode
from hilt_core.errors import ConfigError, HILTError, SessionError
from hilt_core.internal import internal_error
from hilt_core.model import HILT_VERSION, Event
from hilt_core.pipeline import _BIG, Pipeline, open_pipelines
from hilt_core.registry import Registry, default_registry

_PIPELINE_OPTIONS = (
    "max_queue",
    "max_queue_bytes",
    "flush_interval",
    "batch_size",
    "queue_block_timeout",
)

# Called with the session as close() begins, while it still takes events (the provider
# contract writes the streams still open as partial answers here).
before_close: list[Callable[[Session], None]] = []


def _stamped(event: Event | None, meta: Mapping[str, Any]) -> Event | None:
    if event is not None:
        event.extensions = context.stamp(event.extensions, meta)
    return event


class Session:
    """Where events go. ``instrument()`` returns one; applications may open more.

    The signature is hilt-python 0.2.8's: ``Session("logs/app.jsonl")``,
    ``Session(backend="sheets", sheet_id=..., credentials_path=...)``,
    ``Session(path, mode="r").read()``. Other keyword options go to the backend plugin
    (and ``capture``, ``max_queue``, ``flush_interval``, ``batch_size`` to the pipeline).
    ``backend=["jsonl", "otel"]`` writes every event to each backend of the list (see
    hilt_core.fanout); ``backend``, ``filepath`` and ``read()`` are the first one's.
    ``append()`` never waits on I/O: events are written by a background thread;
    ``flush()`` waits for them, ``close()`` and interpreter exit flush too.
    """

    def __init__(
        self,
        backend_or_filepath: str | Path | None = None,
        filepath: str | Path | None = None,
        mode: str = "a",
        create_dirs: bool = True,
        encoding: str = "utf-8",
        backend: str | list[str] | tuple[str, ...] | None = None,
        sheet_id: str | None = None,
        credentials_path: str | None = None,
        credentials_json: dict[str, Any] | None = None,
        worksheet_name: str = "Logs",
        columns: list[str] | None = None,
        *,
        registry: Registry | None = None,
        **options: Any,
    ) -> None:
        self._registry = registry if registry is not None else default_registry()
        reg = self._registry
        reg.load()
        if backend_or_filepath is not None:
            text = str(backend_or_filepath)
            if isinstance(backend_or_filepath, str) and self._is_backend(text):
                backend = text
            else:
                filepath = backend_or_filepath
                backend = backend or "local"
        if backend is None:
            backend = "sheets" if (sheet_id and filepath is None) else "local"
        if mode not in ("a", "w", "r"):
            raise ConfigError(f"mode must be 'a', 'w' or 'r', not {mode!r}")
        backends = _fanout.backend_list(backend, mode, options)
        if backends is not None:
            backend = backends[0]
        backend = str(backend)
        capture = check_mode(
            str(options.pop("capture", None) or os.environ.get("HILT_CAPTURE") or "full")
        )
        # A reader writes nothing: no redactor to require, no salt to make.
        policy = capture_policy(reg, capture, options) if mode != "r" else Capture(capture)
        pipeline_opts = {k: options.pop(k) for k in _PIPELINE_OPTIONS if k in options}
        self._pipeline_opts = pipeline_opts  # kept for open() after close()
        self.backend = backend
        self.backends = backends if backends is not None else [backend]
        self._fan = backends is not None
        self.mode = mode
        self.encoding = encoding
        # A string is left for the backend to refuse (list() would split it into letters).
        self.columns = list(columns) if isinstance(columns, list | tuple) else columns
        self.capture = capture
        # Keys the conversation ids derived from text in every mode but "full" (see
        # hilt_core.provider.conversation): an unkeyed digest would let a guess be tested.
        self.conversation_key: bytes | None = policy.hash_key
        self._name, self._plugin = reg.resolve(backend, "backend")
        found = _fanout.resolve(reg, backends, options) if backends is not None else []
        if mode != "r":
            plugins = [p for _, p in found] or [self._plugin]
            _options.check(options, reg.session_plugins(*plugins), unavailable=reg.unloaded())
        self.options: dict[str, Any] = {
            "filepath": filepath,
            "mode": mode,
            "create_dirs": create_dirs,
            "encoding": encoding,
            "sheet_id": sheet_id,
            "credentials_path": credentials_path,
            "credentials_json": credentials_json,
            "worksheet_name": worksheet_name,
            "columns": self.columns,
            "capture": capture,
            **options,
        }
        if mode != "r":
            self._check_with_plugins(reg)
        writer: object = self._plugin
        name = self._name
        handle: Any
        if backends is not None:
            limit = int(pipeline_opts.get("max_queue", 10_000))
            handle = _fanout.open_all(reg, backends, found, self.options, limit)
            writer, name = _fanout, "+".join(n for n, _ in found)
        else:
            try:
                handle = reg.caller(self._plugin, "backend_open")(
                    name=backend, options=self.options
                )
            except HILTError:
                raise
            except Exception as exc:
                # Nothing could be stored: fail at instrument()/Session() time, naming the
                # plugin, rather than hand back a session that silently loses every event.
                raise ConfigError(
                    f"The HILT backend {self._name!r} could not open: {type(exc).__name__}: {exc}"
                ) from exc
        if handle is None:
            raise ConfigError(f"The HILT backend plugin {self._name!r} did not open a backend")
        self.handle = handle
        fp = getattr(handle, "path", None)
        self.filepath: Path | None = Path(fp) if fp is not None else None
        shutdown.hook_process()  # the last flush on every way out this process has
        self._pipeline = Pipeline(
            registry=reg,
            plugin=writer,
            handle=handle,
            backend_name=name,
            capture=policy,
            options=self.options,
            **pipeline_opts,
        )
        self._closed = False

    def _check_with_plugins(self, reg: Registry) -> None:
        """``session_open``: each plugin checks the options it takes. A ConfigError (a
        plugin's deliberate refusal) is raised; anything else is a broken plugin, named."""
        for impl in reg.pm.hook.session_open.get_hookimpls():
            try:
                impl.function(*[{"options": self.options}[n] for n in impl.argnames])
            except HILTError:
                raise
            except Exception as exc:
                raise ConfigError(
                    f"The HILT plugin {impl.plugin_name!r} failed to check this session's "
                    f"options: {type(exc).__name__}: {exc}"
                ) from exc

    def _is_backend(self, text: str) -> bool:
        try:
            self._registry.resolve(text, "backend")
        except ConfigError:
            return False
        return True

    # -- writing -------------------------------------------------------------------------
    def append(self, event: Event | Mapping[str, Any]) -> None:
        """Queue ``event`` for writing (a dict is read as an event). Never waits on I/O."""
        if self._closed:
            raise SessionError("This HILT session is closed; open() it again or make a new one")
        if self.mode == "r":
            raise SessionError("This HILT session was opened with mode='r' (read only)")
        if not isinstance(event, Event):
            data = dict(event)
            data.setdefault("hilt_version", HILT_VERSION)
            event = Event.from_dict(data)
        if context._meta.get() is not None:
            event.extensions = context.stamp(event.extensions)
        self._pipeline.put(event)

    def defer(self, build: Callable[[], Event | None], size: int = 0) -> None:
        """Queue an event that ``build()`` makes later, on the writer thread, in its place
        in the queue (``None`` for no event). For provider plugins: the application's
        thread keeps what the event needs (as few objects as it can: objects held until
        the writer runs make the application's garbage collector work), and the event is
        built with other events in a batch. ``build`` must not depend on the calling
        context (read ``contextvars`` before deferring); the context's metadata
        (``hilt.scope``) is stamped for it. ``size``, the bytes of text the event will
        hold if the provider knows it cheaply, counts it against ``max_queue_bytes``
        (1 KiB or more; without it, a deferred event counts against ``max_queue`` only).
        An exception in ``build`` is logged and counted in ``stats["build_errors"]``."""
        if self._closed:
            raise SessionError("This HILT session is closed; open() it again or make a new one")
        if self.mode == "r":
            raise SessionError("This HILT session was opened with mode='r' (read only)")
        meta = context._meta.get()
        if meta is not None:
            item: Callable[[], Event | None] = lambda: _stamped(build(), meta)  # noqa: E731
        else:
            item = build
        if size >= _BIG:
            self._pipeline.put_sized(item, size)
        else:
            self._pipeline.put(item)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event appended so far is stored. False if the backend failed
        (the events are kept and retried), ``timeout`` seconds passed, or, without a
        timeout, one ``backend_write`` has not returned for 10 s (a hanging backend)."""
        return self._pipeline.flush(timeout)

    @property
    def stats(self) -> dict[str, int]:
        """Counters: written, dropped (queue full), write_errors, redaction_failures..."""
        return {**self._pipeline.stats, "dropped": self._pipeline.dropped}

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> Session:
        """Reopen a closed session (writing starts again on the next append)."""
        if self._closed:
            self.__init__(  # type: ignore[misc]
                backend=self.backends if self._fan else self.backend,
                registry=self._registry,
                **self.options,
                **self._pipeline_opts,
            )
        return self

    def close(self, timeout: float | None = None) -> bool:
        """Flush everything and release the backend, within ``timeout`` seconds (default:
        5, or the backend's own close bound when longer, such as the Sheets backend's
        ``close_timeout``): a failing backend is retried with the backoff until then.
        Returns False if events could not be written (their number is logged in the
        ``hilt`` log)."""
        if self._closed:
            return True
        for callback in before_close:
            try:
                callback(self)
            except Exception:
                internal_error("finish what was open before closing a session")
        self._closed = True
        ok = self._pipeline.close(timeout)
        if not open_pipelines():
            shutdown.unhook_sigterm()  # no session open: SIGTERM's default back
        return ok

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Session:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------
    def read(self) -> Iterator[Event]:
        """Iterate the stored events (after writing out what this session queued)."""
        if not self._closed and self.mode != "r":
            self.flush()
        handle = _fanout.first_handle(self.handle)
        events = self._registry.caller(self._plugin, "backend_read")(handle=handle)
        if events is None:
            raise SessionError(f"The HILT backend {self._name!r} cannot read events back")
        yield from events

    def __repr__(self) -> str:
        where = f" {self.filepath}" if self.filepath is not None else ""
        return f"<hilt.Session {self.backend}{where}{' closed' if self._closed else ''}>"
