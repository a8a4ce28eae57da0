"""Capture modes: how much of an event's text is stored.

- ``full``: everything, after the redactors that are on;
- ``redacted``: as ``full``, but at least one redactor must run (the ``pii`` plugin unless
  ``redactors=[...]`` says otherwise);
- ``hash``: every text replaced by ``"sha256:" + HMAC-SHA256(salt, text)`` (see
  :mod:`hilt_core.salt`): equal texts can be grouped, none can be read;
- ``metadata``: every text-bearing field removed; tokens, cost, latency, status, model and
  ids stay.

The mode is applied on the writer thread after the redactors, to every event of the
session (those of provider plugins and those the application appends), before any
backend sees it. Which fields carry text is defined once, in :mod:`hilt_core.textfields`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from hilt_core import redactors as _redactors
from hilt_core.errors import ConfigError
from hilt_core.model import Event
from hilt_core.registry import Registry
from hilt_core.salt import hash_key
from hilt_core.textfields import drop_text, map_text
from hilt_core.vocab import TEXT_EXTENSION_KEYS

CAPTURE_MODES = ("full", "redacted", "hash", "metadata")
REDACTORS_ENV = "HILT_REDACTORS"
DEFAULT_REDACTOR = "pii"

__all__ = [
    "CAPTURE_MODES",
    "TEXT_EXTENSION_KEYS",
    "Capture",
    "capture_policy",
    "check_mode",
    "hasher",
    "strip_content",
]


def check_mode(mode: str) -> str:
    if mode not in CAPTURE_MODES:
        raise ConfigError(
            f"Unknown capture mode {mode!r}: choose one of {', '.join(CAPTURE_MODES)} "
            "(or set HILT_CAPTURE to one of them)"
        )
    return mode


def strip_content(event: Event, reason: str) -> None:
    """Remove every text-bearing field of ``event`` and mark why (fail closed)."""
    drop_text(event)
    ext: dict[str, Any] = event.extensions if event.extensions is not None else {}
    ext["hilt_redaction"] = reason
    event.extensions = ext


def hasher(key: bytes) -> Callable[[str], str]:
    """``text -> "sha256:" + hex HMAC-SHA256(key, text)``."""

    def hash_text(text: str) -> str:
        digest = hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return "sha256:" + digest.hexdigest()

    return hash_text


@attrs.frozen
class Capture:
    """A session's capture policy: the mode, the redactors it chose, the hash key (every
    mode but ``full`` has one: it also keys the conversation ids)."""

    mode: str = "full"
    redactors: tuple[str, ...] = ()
    hash_key: bytes | None = attrs.field(default=None, repr=False)

    def finisher(self) -> Callable[[Event], None] | None:
        """What the mode does to an event once the redactors have run (None: nothing)."""
        if self.mode == "metadata":
            return _drop_all
        if self.mode == "hash":
            if self.hash_key is None:
                return _no_key  # fails closed: the pipeline strips the content
            hash_text = hasher(self.hash_key)
            return lambda event: map_text(event, hash_text)
        return None


def _drop_all(event: Event) -> None:
    drop_text(event)


def _no_key(event: Event) -> None:
    raise ConfigError("capture='hash' without a hash key (build the policy with capture_policy)")


def capture_policy(registry: Registry, mode: str, options: Mapping[str, Any]) -> Capture:
    """Build and check a session's policy from its options (``redactors``, ``hash_salt``)
    and the environment (``HILT_REDACTORS``, ``HILT_HASH_SALT``). Raises ConfigError."""
    check_mode(mode)
    wanted = options.get("redactors")
    if wanted is None:
        env = os.environ.get(REDACTORS_ENV)
        if env is not None:
            wanted = [p.strip() for p in env.split(",") if p.strip()]
    if isinstance(wanted, str):
        raise ConfigError(f"redactors must be a list of names, e.g. [{wanted!r}]")
    if wanted is None:
        wanted = []
        if mode == "redacted" and DEFAULT_REDACTOR in _redactors.redactor_names(registry):
            wanted = [DEFAULT_REDACTOR]
    chosen = _redactors.resolve_names(registry, [str(n) for n in wanted])
    if mode == "redacted" and not chosen and not _redactors.always_on(registry):
        raise ConfigError(
            "capture='redacted' needs a redactor and none is available: install hilt-pii "
            "(the built-in PII redactor, part of `pip install hilt`), register one with "
            "hilt.register_redactor(fn) before instrument(), or name one with redactors=[...]"
        )
    # Every mode but "full" needs the key: "hash" for its texts, all of them for the
    # conversation ids derived from text (hilt_core.provider.conversation).
    key = hash_key(options.get("hash_salt")) if mode != "full" else None
    return Capture(mode=mode, redactors=chosen, hash_key=key)
