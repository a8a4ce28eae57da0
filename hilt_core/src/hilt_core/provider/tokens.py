"""Token counts in HILT's one meaning (see :data:`hilt_core.vocab.TOKENS`): providers
convert their SDK's usage with :func:`tokens`."""

from __future__ import annotations

from typing import Any


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def tokens(
    *,
    prompt: Any = None,
    completion: Any = None,
    cached: Any = None,
    cache_write: Any = None,
    reasoning: Any = None,
    total: Any = None,
) -> dict[str, int] | None:
    """``metrics.tokens`` from counts already in HILT's meaning: ``prompt`` includes the
    ``cached`` and ``cache_write`` tokens, ``completion`` includes ``reasoning``. A count
    that is not a whole number >= 0 is left out (never guessed); ``total`` defaults to
    ``prompt + completion``. None when nothing was counted."""
    out: dict[str, int] = {}
    p = _count(prompt)
    c = _count(completion)
    if p is not None:
        out["prompt"] = p
    if c is not None:
        out["completion"] = c
    t = _count(total)
    if t is None and (p is not None or c is not None):
        t = (p or 0) + (c or 0)
    if t is not None:
        out["total"] = t
    for name, value in (("cached", cached), ("cache_write", cache_write), ("reasoning", reasoning)):
        n = _count(value)
        if n is not None:
            out[name] = n
    return out or None


__all__ = ["tokens"]
