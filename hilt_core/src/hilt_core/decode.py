"""One line of a HILT log, decoded: format v1, hilt-python 0.2.8, and the flat rows of the
``columns=`` form.

Every reader decodes through here: ``hilt.reading`` and the CLI, the JSONL backend's
``Session(path, mode="r").read()``. So a log can be read whatever backend plugins are
installed or enabled (``HILT_DISABLE_PLUGINS=jsonl``): reading a file is the kernel's.
"""

from __future__ import annotations

from typing import Any

import orjson

from hilt_core.columns import KNOWN_COLUMNS, from_row
from hilt_core.errors import HILTError
from hilt_core.model import Event


def is_row(data: dict[str, Any]) -> bool:
    """True for a line of the ``columns=`` form (flat columns, no ``actor``)."""
    return "actor" not in data and bool(data) and all(k in KNOWN_COLUMNS for k in data)


def is_event(data: Any) -> bool:
    """True for a decoded line that is a HILT event in any of the forms read here."""
    return isinstance(data, dict) and (
        ("action" in data and ("actor" in data or "session_id" in data)) or is_row(data)
    )


def event_from_data(data: Any) -> Event:
    """The event of one decoded line: v1, hilt-python 0.2.8, or the ``columns=`` form."""
    if not isinstance(data, dict):
        raise HILTError("not a JSON object")
    if is_row(data):
        return from_row(data)
    return Event.from_dict(data)


def decode_line(line: bytes | str) -> Event:
    """The event of one line of a log (JSON); raises on a line that is not one."""
    return event_from_data(orjson.loads(line))


__all__ = ["decode_line", "event_from_data", "is_event", "is_row"]
