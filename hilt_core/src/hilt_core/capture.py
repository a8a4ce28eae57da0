"""Capture modes and the fail-closed content strip shared by the pipeline and redactors."""

from __future__ import annotations

from typing import Any

from hilt_core.errors import ConfigError
from hilt_core.model import Event

CAPTURE_MODES = ("full", "redacted", "hash", "metadata")

# Keys of ``extensions`` that can carry text from prompts, completions or tools.
TEXT_EXTENSION_KEYS = (
    "tool_calls",
    "tool_arguments",
    "tool_result",
    "error_message",
    "request",
    "response_text",
    "refusal",
)


def check_mode(mode: str) -> str:
    if mode not in CAPTURE_MODES:
        raise ConfigError(
            f"Unknown capture mode {mode!r}: choose one of {', '.join(CAPTURE_MODES)} "
            "(or set HILT_CAPTURE to one of them)"
        )
    return mode


def strip_content(event: Event, reason: str) -> None:
    """Remove every text-bearing field of ``event`` and mark why (fail closed)."""
    event.content = None
    ext: dict[str, Any] = event.extensions if event.extensions is not None else {}
    for key in TEXT_EXTENSION_KEYS:
        ext.pop(key, None)
    ext["hilt_redaction"] = reason
    event.extensions = ext
