"""HILT - Human-AI Log Tracing: one line at start-up, every LLM call logged to storage
you control.

    from hilt import instrument
    instrument(backend="local", filepath="logs/chat.jsonl")

The public names of hilt-python 0.2.8 keep working. The machinery lives in the
``hilt_core`` kernel and in plugins; this package is the application-facing front.
"""

from typing import TYPE_CHECKING, Any

from hilt import _plugin_hints  # noqa: F401  (tells the kernel where plugins come from)
from hilt_core.capture import CAPTURE_MODES
from hilt_core.columns import ALL_COLUMNS
from hilt_core.context import carry, conversation, scope, use_session
from hilt_core.errors import (
    ConfigError,
    HILTError,
    SessionError,
    UnknownPluginError,
    ValidationError,
)
from hilt_core.instrument import instrument, is_instrumented, uninstrument
from hilt_core.markers import hookimpl
from hilt_core.model import ACTIONS, ACTOR_TYPES, Actor, Content, Event, Metrics
from hilt_core.redactors import register_redactor
from hilt_core.registry import register_plugin, unregister_plugin
from hilt_core.session import Session

if TYPE_CHECKING:
    from hilt import reading as reading
    from hilt.reading import read_events, to_dataframe

# Imported on first use, to keep `import hilt` light: the reading API (also as
# `hilt.reading`, without an import of its own) and the version.
_LAZY_FUNCTIONS = ("read_events", "to_dataframe")


def __getattr__(name: str) -> Any:
    if name == "reading" or name in _LAZY_FUNCTIONS:
        import importlib

        module = importlib.import_module("hilt.reading")
        return module if name == "reading" else getattr(module, name)
    if name == "__version__":
        from hilt_core.versions import version_of

        return version_of("hilt")
    raise AttributeError(f"module 'hilt' has no attribute {name!r}")


__all__ = [
    "ACTIONS",
    "ACTOR_TYPES",
    "ALL_COLUMNS",
    "CAPTURE_MODES",
    "Actor",
    "ConfigError",
    "Content",
    "Event",
    "HILTError",
    "Metrics",
    "Session",
    "SessionError",
    "UnknownPluginError",
    "ValidationError",
    "__version__",
    "carry",
    "conversation",
    "hookimpl",
    "instrument",
    "is_instrumented",
    "read_events",
    "register_plugin",
    "register_redactor",
    "scope",
    "to_dataframe",
    "uninstrument",
    "unregister_plugin",
    "use_session",
]
