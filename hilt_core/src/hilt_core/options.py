"""Options are checked: each plugin declares the keyword options it takes, and a keyword
that no plugin of the session takes is a :class:`ConfigError` naming the closest match.

A plugin declares its options with a module (or object) attribute, each name with a
one-line description::

    HILT_OPTIONS = {"prices_file": "A JSON or TOML file of prices for this session."}

The check runs when a session opens (``instrument()`` opens one). Its plugins are the
backend it writes to, every registered provider, enricher, redactor and ``session_open``
implementation. A plugin that declares nothing (one written before ``HILT_OPTIONS``
existed) turns the check off for that session: it keeps receiving every extra keyword,
as docs/plugins.md promises.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from hilt_core.errors import ConfigError

# The options of the kernel itself: Session's own signature (hilt-python 0.2.8's), the
# capture policy and the pipeline.
CORE_OPTIONS: dict[str, str] = {
    "filepath": "Where a file backend writes (JSONL: default logs/hilt.jsonl).",
    "mode": "'a' append, 'w' start a new log, 'r' read only.",
    "create_dirs": "Create missing parent folders of filepath (default True).",
    "encoding": "Text encoding of a file backend (UTF-8 only for JSONL).",
    "sheet_id": "Google Sheets backend: the spreadsheet id.",
    "credentials_path": "Google Sheets backend: a service-account JSON file.",
    "credentials_json": "Google Sheets backend: the service-account key as a dict.",
    "worksheet_name": "Google Sheets backend: the tab (default Logs).",
    "columns": "Write only these flat columns (docs/format.md).",
    "capture": "Capture mode: full, redacted, hash or metadata (docs/privacy.md).",
    "redactors": "Redactors to run, in order (docs/privacy.md).",
    "hash_salt": "The key of capture='hash' (default: the install's salt).",
    "max_queue": "Events the session's queue holds before it drops (default 10,000).",
    "flush_interval": "Seconds between the writer's wake-ups (default 0.2).",
    "batch_size": "Events per backend write (default 256).",
    "queue_block_timeout": "Seconds a burst may wait for a full queue (default 0.5).",
    "backend_options": "With backend=[...]: options for one backend, {name: {option: value}}.",
}

ATTRIBUTE = "HILT_OPTIONS"


def declared(plugin: object) -> Mapping[str, str] | None:
    """The options ``plugin`` declared, or None when it declared nothing."""
    found = getattr(plugin, ATTRIBUTE, None)
    if found is None:
        return None
    if isinstance(found, Mapping):
        return found
    return {str(name): "" for name in found}  # a list of names is accepted too


def check(
    options: Mapping[str, object],
    plugins: Iterable[tuple[str, object]],
    *,
    unavailable: Iterable[str] = (),
) -> None:
    """Raise ConfigError for a keyword in ``options`` that neither the kernel nor any of
    ``plugins`` (``(name, plugin)`` pairs) takes, when every one of them declared its
    options. ``unavailable`` names plugins that are installed but not loaded, for the
    message."""
    known = set(CORE_OPTIONS)
    for _name, plugin in plugins:
        mine = declared(plugin)
        if mine is None:
            return  # a plugin that takes anything: nothing can be called unknown
        known.update(mine)
    unknown = sorted(k for k in options if k not in known)
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    msg = (
        f"Unknown HILT option{'s' if len(parts) > 1 else ''} {', '.join(parts)}: no plugin "
        "of this session takes it (`hilt plugins` lists the options each plugin takes)"
    )
    off = sorted(set(unavailable))
    if off:
        msg += f"; installed but not loaded: {', '.join(off)}"
    raise ConfigError(msg)


__all__ = ["ATTRIBUTE", "CORE_OPTIONS", "check", "declared"]
