"""The flat column vocabulary of hilt-python 0.2.8, shared by the JSONL ``columns=``
filter, the Sheets backend and ``hilt export``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hilt_core.errors import ConfigError
from hilt_core.model import Actor, Content, Event
from hilt_core.values import timestamp_or_none

ALL_COLUMNS = (
    "timestamp",
    "conversation_id",
    "event_id",
    "reply_to",
    "status_code",
    "session",
    "speaker",
    "action",
    "message",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "latency_ms",
    "model",
    "relevance_score",
)
# Columns added in v1; they keep the meaning of the fields they come from.
EXTRA_COLUMNS = (
    "user_id",
    "tenant_id",
    "provider",
    "finish_reason",
    "error_type",
    "cached_tokens",
    "reasoning_tokens",
    "total_tokens",
)
KNOWN_COLUMNS = ALL_COLUMNS + EXTRA_COLUMNS
MESSAGE_LIMIT = 500
_SPACES = re.compile(r"\s+")


def check_columns(columns: Iterable[str] | None) -> list[str] | None:
    """Validate a ``columns=`` list (the JSONL and Sheets backends, ``hilt.reading``,
    ``hilt export --columns``): a ConfigError (a ValueError) for unknown names, a bare
    string or an empty list."""
    if columns is None:
        return None
    if isinstance(columns, str):
        raise ConfigError(f"columns must be a list of names, e.g. [{columns!r}]")
    cols = list(columns)
    bad = [c for c in cols if c not in KNOWN_COLUMNS]
    if bad:
        hints = [m for c in bad for m in difflib.get_close_matches(c, KNOWN_COLUMNS, n=1)]
        hint = f" (did you mean {', '.join(map(repr, hints))}?)" if hints else ""
        raise ConfigError(f"Unknown columns: {bad}{hint}. Available columns: {list(KNOWN_COLUMNS)}")
    if not cols:
        raise ConfigError("columns=[] names no column; leave columns out to keep them all")
    return cols


def session_alias(conversation_id: str) -> str:
    if conversation_id.startswith("conv_"):
        return f"Conv.{conversation_id[5:13]}"
    return conversation_id[:12]


def one_line(text: str | None, limit: int | None = MESSAGE_LIMIT) -> str:
    if not text:
        return ""
    flat = _SPACES.sub(" ", text).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return flat


def row(event: Event, message_limit: int | None = MESSAGE_LIMIT) -> dict[str, Any]:
    """Every known column of ``event``; absent values are "" (numbers stay numbers)."""
    metrics = event.metrics
    latency: Any = None
    cost: Any = ""
    if metrics is not None:
        latency = metrics.latency_ms
        if metrics.cost_usd is not None:
            cost = metrics.cost_usd
    return assemble(
        timestamp=event.timestamp.isoformat(),
        conversation_id=event.session_id,
        event_id=event.event_id,
        speaker=f"{event.actor.type}: {event.actor.id}",
        action=event.action,
        text=event.content.text if event.content else None,
        tokens=(metrics.tokens if metrics else None) or {},
        cost=cost,
        latency=latency,
        ext=event.extensions or {},
        message_limit=message_limit,
    )


def assemble(
    *,
    timestamp: Any,
    conversation_id: str,
    event_id: Any,
    speaker: str,
    action: Any,
    text: str | None,
    tokens: Mapping[str, Any],
    cost: Any,
    latency: Any,
    ext: Mapping[str, Any],
    message_limit: int | None,
) -> dict[str, Any]:
    """The one definition of the flat columns, shared by :func:`row` (events) and the
    reading API's fast path (decoded lines)."""
    if latency is None:
        latency = ext.get("latency_ms", "")
    return {
        "timestamp": timestamp,
        "conversation_id": conversation_id,
        "event_id": event_id,
        "reply_to": ext.get("reply_to") or "",
        "status_code": ext.get("status_code", ""),
        "session": session_alias(conversation_id),
        "speaker": speaker,
        "action": action,
        "message": one_line(text, message_limit),
        "tokens_in": tokens.get("prompt", ""),
        "tokens_out": tokens.get("completion", ""),
        "cost_usd": cost,
        "latency_ms": latency,
        "model": ext.get("model", ""),
        "relevance_score": ext.get("score", ext.get("relevance_score", "")),
        "user_id": ext.get("user_id", ""),
        "tenant_id": ext.get("tenant_id", ""),
        "provider": ext.get("provider", ""),
        "finish_reason": ext.get("finish_reason", ""),
        "error_type": ext.get("error_type", ""),
        "cached_tokens": tokens.get("cached", ""),
        "reasoning_tokens": tokens.get("reasoning", ""),
        "total_tokens": tokens.get("total", ""),
    }


def select(event: Event, columns: Sequence[str]) -> dict[str, Any]:
    values = row(event)
    return {c: values[c] for c in columns}


def from_row(data: dict[str, Any]) -> Event:
    """Rebuild a minimal event from a filtered row (the ``columns=`` JSONL form)."""
    speaker = str(data.get("speaker") or "system: unknown")
    kind, _, ident = speaker.partition(":")
    kind = kind.strip()
    if not ident or kind not in ("human", "agent", "tool", "system"):
        kind, ident = "system", speaker
    ts = data.get("timestamp")
    kwargs: dict[str, Any] = {
        "session_id": str(data.get("conversation_id") or data.get("session") or "unknown"),
        "actor": Actor(type=kind, id=ident.strip()),
        "action": str(data.get("action") or "system"),
    }
    if data.get("event_id"):
        kwargs["event_id"] = str(data["event_id"])
    timestamp = timestamp_or_none(ts)
    if timestamp is not None:
        kwargs["timestamp"] = timestamp
    if "message" in data:
        kwargs["content"] = Content(text=str(data["message"]))
    ext = {
        k: data[k]
        for k in ("reply_to", "status_code", "model", "relevance_score", "user_id")
        if data.get(k) not in (None, "")
    }
    if ext:
        kwargs["extensions"] = ext
    tokens = {
        name: data[col]
        for col, name in (("tokens_in", "prompt"), ("tokens_out", "completion"))
        if isinstance(data.get(col), int)
    }
    metric: dict[str, Any] = {}
    if tokens:
        metric["tokens"] = tokens
    if isinstance(data.get("cost_usd"), (int, float, str)) and data.get("cost_usd") != "":
        metric["cost_usd"] = data["cost_usd"]
    if isinstance(data.get("latency_ms"), (int, float)):
        metric["latency_ms"] = data["latency_ms"]
    if metric:
        kwargs["metrics"] = metric
    return Event(**kwargs)
