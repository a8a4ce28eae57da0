"""HILT - Human-AI Log Tracing: one line at start-up, every LLM call logged to storage
you control.

    from hilt import instrument
    instrument(backend="local", filepath="logs/chat.jsonl")

The public names of hilt-python 0.2.8 keep working. The machinery lives in the
``hilt_core`` kernel and in plugins; this package is the application-facing front.
"""

from typing import TYPE_CHECKING, Any

from hilt import _plugin_hints  # noqa: F401  (tells the kernel where plugins come from)
from hilt_core import (
    ACTIONS,
    ACTOR_TYPES,
    ALL_COLUMNS,
    CAPTURE_MODES,
    Actor,
    ConfigError,
    Content,
    Event,
    HILTError,
    Metrics,
    Session,
    SessionError,
    UnknownPluginError,
    ValidationError,
    carry,
    conversation,
    hookimpl,
    instrument,
    is_instrumented,
    register_plugin,
    register_redactor,
    scope,
    uninstrument,
    unregister_plugin,
    use_session,
)

if TYPE_CHECKING:
    from hilt.reading import read_events, to_dataframe

__version__ = "1.0.0"


def __getattr__(name: str) -> Any:
    # The reading API is imported on first use, to keep `import hilt` light.
    if name in ("read_events", "to_dataframe"):
        from hilt import reading

        return getattr(reading, name)
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
