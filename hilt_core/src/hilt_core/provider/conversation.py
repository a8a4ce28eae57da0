"""Conversation ids and ``reply_to`` links, shared by every provider.

One rule for every provider, so the same conversation keeps its id when its turns go to
OpenAI, then to Anthropic, then to Gemini (docs/format.md, "Conversation ids"):

- the id the application set (``hilt.conversation()`` / ``hilt.scope()``), as given;
- an id the provider knows (a Responses API ``conversation``, a LangGraph ``thread_id``);
- else ``conv_`` + 12 hex digits of a digest of the conversation's opening: the system
  text and the first user text, joined by ``\\x1f``.

The digest is SHA-256 in ``capture="full"``. In every other mode it is HMAC-SHA256 keyed
by the install's salt (the key of ``capture="hash"``): an unkeyed digest of the first
message would let anyone test a guess ("I think I am pregnant") against the log.

Links: the event id of each completion is kept, by a hash of (conversation, answer
text) and by the response id a later request may name, so that the next turn's prompt
can say which completion it follows up (``reply_to``). The store is in-process, bounded
(the newest 4,096 completions) and shared by every provider.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections import OrderedDict
from typing import Any

LINKS_MAX = 4_096
_SEP = "\x1f"


def digest(parts: tuple[str, ...] | list[str], key: bytes | None = None) -> str:
    """``conv_`` + 12 hex digits of SHA-256 (or HMAC-SHA256 with ``key``) over ``parts``
    joined by ``\\x1f``."""
    data = _SEP.join(parts).encode("utf-8", "surrogatepass")
    if key is None:
        return "conv_" + hashlib.sha256(data).hexdigest()[:12]
    return "conv_" + hmac.new(key, data, hashlib.sha256).hexdigest()[:12]


def opening_id(system: str | None, first_user: str | None, key: bytes | None = None) -> str:
    """The conversation id of a conversation opened with ``system`` and ``first_user``."""
    return digest((system or "", first_user or ""), key)


class Links:
    """Completion event ids by turn and by response id (bounded, newest kept).

    An OrderedDict: once full, every completion evicts the oldest, which popitem() finds
    at once; a dict's first key is found by scanning past the slots of deleted keys
    (2.8 against 0.4 µs per completion on the project's VM).
    """

    def __init__(self, limit: int = LINKS_MAX) -> None:
        self.limit = limit
        self.entries: OrderedDict[Any, tuple[str, str]] = OrderedDict()

    def remember(self, key: Any, event_id: str, conversation: str) -> None:
        entries = self.entries
        entries[key] = (event_id, conversation)
        if len(entries) > self.limit:
            # Another session's writer may evict at the same moment: losing that race
            # costs nothing.
            with contextlib.suppress(KeyError):
                entries.popitem(last=False)

    def get(self, key: Any) -> tuple[str, str] | None:
        """``(event_id, conversation)`` of the completion remembered under ``key``."""
        return self.entries.get(key)

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        self.entries.clear()


def turn_key(conversation: str, text: str | None) -> int:
    """The key of an answer: the conversation and the answer's text."""
    return hash((conversation, text or ""))


LINKS = Links()
"""The process's links, shared by every provider plugin."""

__all__ = ["LINKS", "LINKS_MAX", "Links", "digest", "opening_id", "turn_key"]
