"""The HILT kernel: the event format, the plugin registry, sessions and the pipeline.

Plugin authors import from here what a plugin uses: ``from hilt_core import hookimpl,
Event, Actor, ...``; everything else is in the module that defines it
(``hilt_core.session.Session``, ``hilt_core.columns.KNOWN_COLUMNS``, ...). Applications
use the ``hilt`` package.
"""

from typing import Any

from hilt_core.context import current_session
from hilt_core.convert import loads
from hilt_core.errors import ConfigError, HILTError, SessionError
from hilt_core.instrument import instrument as instrument  # the function, not the module
from hilt_core.markers import hookimpl
from hilt_core.model import Actor, Content, Event, Metrics, dumps
from hilt_core.recorder import Recorder
from hilt_core.registry import Registry
from hilt_core.textfields import map_text, text_fields

# Names the kernel's root exported before it listed only what plugins use: still
# importable from here (a plugin written against the earlier docs keeps loading), each
# from the module that defines it.
_EARLIER = {
    "ACTIONS": "model",
    "ACTOR_TYPES": "model",
    "HILT_VERSION": "model",
    "converter": "model",
    "event_dict": "model",
    "ALL_COLUMNS": "columns",
    "KNOWN_COLUMNS": "columns",
    "CAPTURE_MODES": "capture",
    "strip_content": "capture",
    "PROJECT": "markers",
    "hookspec": "markers",
    "Session": "session",
    "UnknownPluginError": "errors",
    "ValidationError": "errors",
    "carry": "context",
    "conversation": "context",
    "current_conversation": "context",
    "scope": "context",
    "use_session": "context",
    "default_registry": "registry",
    "register_plugin": "registry",
    "set_default_registry": "registry",
    "unregister_plugin": "registry",
    "drop_text": "textfields",
    "new_event_id": "ids",
    "register_redactor": "redactors",
    "is_instrumented": "instrument",
    "uninstrument": "instrument",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from hilt_core.versions import version_of

        return version_of(__name__)  # the distribution hilt-core (names are normalised)
    where = _EARLIER.get(name)
    if where is not None:
        import importlib

        return getattr(importlib.import_module(f"hilt_core.{where}"), name)
    raise AttributeError(f"module 'hilt_core' has no attribute {name!r}")


__all__ = [
    # the format
    "Actor",
    "Content",
    "Event",
    "Metrics",
    # errors a plugin raises or catches
    "ConfigError",
    "HILTError",
    "SessionError",
    # hooks, and a registry of its own for a plugin's tests
    "Registry",
    "hookimpl",
    # providers: where the events of a call go
    "Recorder",
    "current_session",
    # backends: one line of JSON per event
    "dumps",
    "loads",
    # redactors: every text-bearing field of an event
    "map_text",
    "text_fields",
    "__version__",
]
