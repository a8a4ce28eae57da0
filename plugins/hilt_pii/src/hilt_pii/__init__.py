"""HILT's built-in PII redactor: e-mail addresses, phone numbers, payment cards (Luhn),
IBANs (mod-97), IP addresses and secrets (API keys, bearer tokens, private key blocks)
become ``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``, ``[IP]``, ``[SECRET]``.

Registered in the entry-point group ``hilt`` as ``pii``. It is opt-in (``HILT_OPT_IN``):
installed, it does nothing until a session chooses it with ``redactors=["pii"]`` or
``capture="redacted"``. It covers every text-bearing field the core lists
(:func:`hilt_core.map_text`). Use :func:`redact_text` on your own strings.
"""

from __future__ import annotations

from hilt_core import Event, hookimpl, map_text
from hilt_pii.detect import KINDS, Finding, find_pii, redact_text, scan

HILT_OPT_IN = True


@hookimpl
def redact(event: Event, mode: str) -> None:
    map_text(event, redact_text)


__all__ = ["KINDS", "Finding", "find_pii", "redact_text", "scan"]
