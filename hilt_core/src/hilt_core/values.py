"""How HILT reads the values of a log line that have been written in more than one way.

One definition each, for the event model, the readers (``hilt.reading``, the CLI) and the
plugins:

- a **timestamp** is ISO 8601 (v1 writes ``2026-01-01T12:00:00.123456+00:00``; ``Z`` is
  read too); hilt-python 0.2.8's ``columns=`` form wrote ``2026-01-01 12:00:00``, with no
  offset: a time without an offset is UTC. Times are returned in UTC.
- a **cost** is a number of US dollars; hilt-python 0.2.8 wrote it as a string
  (``"0.000005"``, sometimes with a decimal comma); ``""`` and ``None`` mean no cost.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

_ZERO = timedelta(0)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC: a naive time is taken as UTC, an aware one is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.utcoffset() == _ZERO else value.astimezone(UTC)


def parse_timestamp(text: str) -> datetime:
    """The UTC time of a timestamp as HILT has written it. Raises ``ValueError``."""
    return as_utc(datetime.fromisoformat(text))


def timestamp_or_none(value: Any) -> datetime | None:
    """The UTC time of a line's ``timestamp`` value, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def parse_cost(value: float | int | str | None) -> float | None:
    """A cost in US dollars as a float, or None for no cost (``None``, ``""``).
    Raises ``ValueError`` for anything else that is not a number (a bool included)."""
    if value is None or type(value) is float:
        return value
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        return float(text) if text else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int beyond any float
            raise ValueError(f"a cost must be a number of dollars, not {value!r}") from None
    raise ValueError(f"a cost must be a number, not {value!r}")


def number_or_none(value: Any) -> float | None:
    """A number of a line (a cost, a latency) as a float, read as :func:`parse_cost`
    reads costs; None when there is none or it is not a finite number."""
    try:
        number = parse_cost(value)
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


__all__ = ["as_utc", "number_or_none", "parse_cost", "parse_timestamp", "timestamp_or_none"]
