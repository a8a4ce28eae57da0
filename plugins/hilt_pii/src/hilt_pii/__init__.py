"""HILT's built-in PII redactor: e-mail addresses, phone numbers, payment cards (Luhn),
IBANs (mod-97), IP addresses and secrets (API keys, bearer tokens, private key blocks)
become ``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``, ``[IP]``, ``[SECRET]``.

Registered in the entry-point group ``hilt`` as ``pii``. It is opt-in (``HILT_OPT_IN``):
installed, it does nothing until a session chooses it with ``redactors=["pii"]`` or
``capture="redacted"``. It covers every text-bearing field the core lists
(:func:`hilt_core.map_text`). Use :func:`redact_text` on your own strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hilt_core import Event, hookimpl, map_text

if TYPE_CHECKING:
    from hilt_pii.detect import KINDS, Finding, find_pii, redact_text, scan

HILT_OPT_IN = True
HILT_OPTIONS: dict[str, str] = {}  # takes no option


@hookimpl
def redact(event: Event, mode: str) -> None:
    # Imported here: every installed plugin is imported when HILT starts, and compiling
    # the patterns is only worth it for a session that chose this redactor.
    from hilt_pii.detect import redact_text

    map_text(event, redact_text)


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hilt_pii import detect

        return getattr(detect, name)
    raise AttributeError(f"module 'hilt_pii' has no attribute {name!r}")


__all__ = ["KINDS", "Finding", "find_pii", "redact_text", "scan"]
