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
from hilt_core.markers import hookimpl
from hilt_core.model import Actor, Content, Event, Metrics, dumps
from hilt_core.recorder import Recorder
from hilt_core.registry import Registry
from hilt_core.textfields import map_text, text_fields


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from hilt_core.versions import version_of

        return version_of(__name__)  # the distribution hilt-core (names are normalised)
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
