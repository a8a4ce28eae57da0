"""Events to sheet rows: the 0.2.8 column vocabulary (from ``hilt_core.columns``), made
safe for cells.

Rows are sent with ``valueInputOption=RAW``, so text is never parsed: a prompt such as
``=IMPORTXML(...)`` stays text. Numbers are sent as JSON numbers so teams can sum them;
numeric columns that arrive as text ("0.000005", 0.2.8's cost form) become numbers. Text
longer than a cell can hold is cut with a visible marker rather than rejected by the API.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from hilt_core import Event
from hilt_core.columns import row

MAX_CELL_CHARS = 50_000  # Google's per-cell limit; a longer cell fails the whole append
NUMERIC_COLUMNS = frozenset(
    {
        "status_code",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "latency_ms",
        "relevance_score",
        "cached_tokens",
        "reasoning_tokens",
        "total_tokens",
    }
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SAFE_INT = 2**53  # Sheets stores doubles: larger integers would silently change

Cell = str | int | float | bool
Row = dict[str, Cell]


def cut(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """``text`` if it fits a cell, else its start and a marker saying how long it was."""
    if len(text) <= limit:
        return text
    marker = f" …[cut by HILT: {len(text):,} characters in all]"
    return text[: limit - len(marker)] + marker


def _number(text: str) -> int | float | None:
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        return None
    value = float(stripped)
    if not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < _SAFE_INT and not any(c in stripped for c in ".eE"):
        return int(value)
    return value


def cell(column: str, value: Any) -> Cell:
    """One cell's JSON value: numbers stay numbers, text is cut to fit."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < _SAFE_INT else str(value)
    if isinstance(value, (float, Decimal)):
        number = float(value)
        return number if math.isfinite(number) else str(value)
    if isinstance(value, str):
        if column in NUMERIC_COLUMNS:
            parsed = _number(value)
            if parsed is not None:
                return parsed
        return cut(value)
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        text = str(value)
    return cut(text)


def event_rows(
    events: Iterable[Event], columns: Sequence[str], message_limit: int | None
) -> list[Row]:
    """The configured columns of each event, keyed by column name (mapped to the sheet's
    header at upload time, by name)."""
    out: list[Row] = []
    for event in events:
        values = row(event, message_limit)
        out.append({c: cell(c, values[c]) for c in columns})
    return out


def _json_size(value: Cell) -> int:
    if isinstance(value, str):
        # requests sends JSON with ensure_ascii: non-ASCII text costs up to 6 bytes a char
        return len(value) + 2 if value.isascii() else len(json.dumps(value))
    return 24


def row_bytes(data: Row) -> int:
    """The row's share of a request body (values only: the header is not sent)."""
    return sum(_json_size(v) + 1 for v in data.values()) + 2
