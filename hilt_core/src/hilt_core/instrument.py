"""``instrument()`` / ``uninstrument()``: one line at start-up, every LLM call captured."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hilt_core import context
from hilt_core.errors import ConfigError, HILTError
from hilt_core.recorder import Recorder
from hilt_core.registry import default_registry
from hilt_core.session import Session

log = logging.getLogger("hilt")

DEFAULT_FILEPATH = "logs/hilt.jsonl"

_lock = threading.RLock()
_undo: list[tuple[str, Callable[[], None]]] = []


def instrument(
    backend: str | list[str] | tuple[str, ...] | None = None,
    filepath: str | Path | None = None,
    sheet_id: str | None = None,
    credentials_path: str | None = None,
    credentials_json: dict[str, Any] | None = None,
    worksheet_name: str = "Logs",
    columns: list[str] | None = None,
    providers: Sequence[str] | None = None,
    **options: Any,
) -> Session:
    """Open a session and patch the providers so that every LLM call is recorded.

    ``backend`` is a backend plugin's name ("local" / "jsonl", "sheets", or any installed
    or registered one), or a list of them (``["jsonl", "otel"]``: every event goes to each,
    options per backend in ``backend_options={name: {...}}``); without it, ``sheet_id``
    means "sheets" and anything else the JSONL file ``filepath`` (default
    ``logs/hilt.jsonl``). ``providers`` names the
    provider plugins to patch; without it, every installed provider that is on by default
    and whose SDK is installed (OpenAI, Anthropic, ...); ``[]`` patches nothing. Other
    keyword options go to the plugins (``capture=``, ``include_usage=``, ...); a keyword
    no plugin takes is a ConfigError (see hilt_core.options).

    Calling it again replaces the previous session and patches (never double-logs).
    Bad configuration raises :class:`hilt.ConfigError` here, before anything is patched.
    """
    with _lock:
        reg = default_registry()
        reg.load()
        explicit = providers is not None
        if isinstance(providers, str):
            raise ConfigError(f"providers must be a list of names, e.g. [{providers!r}]")
        resolved: list[tuple[str, object]]
        if providers is None:
            # Discovered, not listed: each provider plugin says whether it is on by default
            # (HILT_DEFAULT) and which SDK it needs (HILT_SDK).
            resolved = reg.default_providers()
        else:
            resolved = [
                (name, reg.resolve(name, "provider")[1]) for name in dict.fromkeys(providers)
            ]
        if backend is None:
            backend = "sheets" if (sheet_id and filepath is None) else "local"
        session = Session(
            backend=backend,
            filepath=filepath,
            sheet_id=sheet_id,
            credentials_path=credentials_path,
            credentials_json=credentials_json,
            worksheet_name=worksheet_name,
            columns=columns,
            registry=reg,
            **options,
        )
        _uninstrument_locked()
        context.GLOBAL.session = session
        recorder = Recorder(session.options)
        for name, plugin in resolved:
            try:
                undo = reg.caller(plugin, "provider_patch")(
                    name=name, recorder=recorder, options=session.options
                )
            except HILTError as exc:
                # A plugin's deliberate refusal (bad options, SDK missing): a config error
                # when the app named the provider, a warning for the implicit default.
                if explicit:
                    _uninstrument_locked()
                    raise
                log.warning("HILT: provider %r is not instrumented: %s", name, exc)
                continue
            except Exception:
                # A broken plugin (an SDK version it does not know, a bug) must not stop
                # the application from starting: skip it, loudly.
                log.exception("HILT could not patch provider %r; its calls are not logged", name)
                continue
            if undo is not None:
                _undo.append((name, undo))
        log.debug("HILT instrumented %s -> %r", [n for n, _ in resolved], session)
        if not explicit and not _undo:
            # No SDK a provider knows is importable: say so once, or the application
            # would wonder why nothing is logged (providers=[] asks for none, quietly).
            log.warning(
                "HILT: instrument() found no LLM SDK to patch (installed providers: %s); "
                "only events you append are logged. Pass providers=[] to say that is meant",
                ", ".join(reg.names("provider")) or "none",
            )
        return session


def _uninstrument_locked() -> None:
    while _undo:
        name, undo = _undo.pop()
        try:
            undo()
        except Exception:
            log.exception("HILT could not undo the patch of provider %r", name)
    session = context.GLOBAL.session
    context.GLOBAL.session = None
    if session is not None:
        session.close()


def uninstrument() -> None:
    """Restore every patched SDK object and flush and close the session."""
    with _lock:
        _uninstrument_locked()


def is_instrumented() -> bool:
    return context.GLOBAL.session is not None
