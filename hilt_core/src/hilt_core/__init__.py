"""The HILT kernel: the event format, the plugin registry, sessions and the pipeline.

Plugin authors import from here: ``from hilt_core import hookimpl, Event, Actor, ...``.
Applications use the ``hilt`` package, which re-exports the public part of this one.
"""

from hilt_core.capture import CAPTURE_MODES, strip_content
from hilt_core.columns import ALL_COLUMNS, KNOWN_COLUMNS
from hilt_core.context import (
    carry,
    conversation,
    current_conversation,
    current_session,
    scope,
    use_session,
)
from hilt_core.convert import loads
from hilt_core.errors import (
    ConfigError,
    HILTError,
    SessionError,
    UnknownPluginError,
    ValidationError,
)
from hilt_core.ids import new_event_id
from hilt_core.instrument import instrument, is_instrumented, uninstrument
from hilt_core.markers import PROJECT, hookimpl, hookspec
from hilt_core.model import (
    ACTIONS,
    ACTOR_TYPES,
    HILT_VERSION,
    Actor,
    Content,
    Event,
    Metrics,
    converter,
    dumps,
    event_dict,
)
from hilt_core.protocols import SessionLike
from hilt_core.recorder import Recorder
from hilt_core.redactors import register_redactor
from hilt_core.registry import (
    Registry,
    default_registry,
    register_plugin,
    set_default_registry,
    unregister_plugin,
)
from hilt_core.session import Session
from hilt_core.textfields import drop_text, map_text, text_fields

__version__ = "1.0.0"

__all__ = [
    "ACTIONS",
    "ACTOR_TYPES",
    "ALL_COLUMNS",
    "CAPTURE_MODES",
    "HILT_VERSION",
    "KNOWN_COLUMNS",
    "PROJECT",
    "Actor",
    "ConfigError",
    "Content",
    "Event",
    "HILTError",
    "Metrics",
    "Recorder",
    "Registry",
    "Session",
    "SessionError",
    "SessionLike",
    "UnknownPluginError",
    "ValidationError",
    "__version__",
    "carry",
    "conversation",
    "converter",
    "current_conversation",
    "current_session",
    "default_registry",
    "drop_text",
    "dumps",
    "event_dict",
    "hookimpl",
    "hookspec",
    "instrument",
    "is_instrumented",
    "loads",
    "map_text",
    "new_event_id",
    "register_plugin",
    "register_redactor",
    "scope",
    "set_default_registry",
    "strip_content",
    "text_fields",
    "uninstrument",
    "unregister_plugin",
    "use_session",
]
