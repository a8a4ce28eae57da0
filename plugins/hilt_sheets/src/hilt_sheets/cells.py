"""Events to sheet rows: the 0.2.8 column vocabulary (from ``hilt_core.columns``), made
safe for cells.

Rows are sent with ``valueInputOption=RAW``, so text is never parsed: a prompt such as
``=IMPORTXML(...)`` stays text. Numbers are sent as JSON numbers so teams can sum them;
numeric columns that arrive as text ("0.000005", 0.2.8's cost form) become numbers. Text
longer than a cell can hold is cut with a visible marker rather than rejected by the API.

One event never costs more than itself: text with unpaired UTF-16 surrogates (an emoji cut
in half by ``max_tokens``) is repaired with U+FFFD, a value that cannot be written as text
(nested too deep, a ``__str__`` that raises) becomes a marked cell, and an event whose row
cannot be made at all becomes a marked placeholder row that keeps its ``event_id``. The
caller reports them (:class:`Repairs`).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
_SURROGATE = re.compile("[\ud800-\udfff]")
MARK = "[HILT: "  # how a repaired cell or a placeholder row begins

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


def mend(text: str) -> tuple[str, bool]:
    """``text`` as valid Unicode: surrogate pairs joined, lone surrogates as U+FFFD (they
    cannot be encoded as UTF-8, so neither the request nor the spill file could hold them).
    Returns the text and whether it changed."""
    if _SURROGATE.search(text) is None:
        return text, False
    fixed = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return fixed, True


class Unwritable(Exception):
    """A value that cannot be written as a cell (it became a marked cell instead)."""


def cell(column: str, value: Any) -> Cell:
    """One cell's JSON value: numbers stay numbers, text is cut to fit. Raises
    :class:`Unwritable` (with the marked cell as ``args[0]``) for a value that has no text."""
    try:
        out = _cell(column, value)
    except Exception as exc:  # RecursionError (nesting), whatever a __str__ raises, ...
        raise Unwritable(f"{MARK}value not written: {type(exc).__name__}]") from exc
    return out


def _cell(column: str, value: Any) -> Cell:
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
    except ValueError:  # a cycle: a RecursionError (deep nesting) goes to the caller
        text = str(value)
    return cut(text)


@dataclass
class Repairs:
    """What :func:`event_rows` had to change, for the caller to report."""

    surrogates: list[str] = field(default_factory=list)  # event ids, text mended
    cells: list[str] = field(default_factory=list)  # event ids, a cell marked
    placeholders: list[str] = field(default_factory=list)  # event ids, the row replaced
    why: str = ""  # the first error met

    @property
    def events(self) -> int:
        return len(set(self.surrogates) | set(self.cells) | set(self.placeholders))

    def __bool__(self) -> bool:
        return bool(self.surrogates or self.cells or self.placeholders)

    def describe(self, limit: int = 5) -> str:
        parts = []
        if self.placeholders:
            parts.append(f"{len(self.placeholders)} replaced by a placeholder row")
        if self.cells:
            parts.append(f"{len(self.cells)} with a value marked unwritable")
        if self.surrogates:
            parts.append(f"{len(self.surrogates)} with broken text mended (U+FFFD)")
        ids = list(dict.fromkeys(self.placeholders + self.cells + self.surrogates))
        shown = ", ".join(ids[:limit]) + (", ..." if len(ids) > limit else "")
        why = f"; first error: {self.why}" if self.why else ""
        n = self.events
        return f"{n} event{'s' if n != 1 else ''} ({'; '.join(parts)}: {shown}){why}"


def _text(value: Any, default: str = "") -> str:
    try:
        return mend(value)[0] if isinstance(value, str) else default
    except Exception:
        return default


def placeholder(event: Any, columns: Sequence[str], exc: BaseException) -> Row:
    """A row that says an event existed and could not be written, with what of it is safe."""
    ts = getattr(event, "timestamp", None)
    try:
        stamp = ts.isoformat() if ts is not None else ""
    except Exception:
        stamp = ""
    known: Row = {
        "timestamp": _text(stamp),
        "conversation_id": _text(getattr(event, "session_id", "")),
        # Replays and retries find rows by id: a row without one would match every other.
        "event_id": _text(getattr(event, "event_id", "")) or f"hilt-unwritable-{uuid.uuid4()}",
        "action": _text(getattr(event, "action", "")),
        "message": f"{MARK}this event could not be written to the sheet "
        f"({type(exc).__name__}); see the hilt log]",
        "error_type": "hilt_unwritable",
    }
    return {c: known.get(c, "") for c in columns}


def event_rows(
    events: Iterable[Event],
    columns: Sequence[str],
    message_limit: int | None,
    repairs: Repairs | None = None,
) -> list[Row]:
    """The configured columns of each event, keyed by column name (mapped to the sheet's
    header at upload time, by name). What had to be repaired is added to ``repairs``."""
    repairs = repairs if repairs is not None else Repairs()
    out: list[Row] = []
    for event in events:
        try:
            values = row(event, message_limit)
        except Exception as exc:  # a field of the wrong type, a broken timestamp, ...
            line = placeholder(event, columns, exc)
            repairs.placeholders.append(str(line["event_id"]) if "event_id" in line else "?")
            repairs.why = repairs.why or _why(exc)
            out.append(line)
            continue
        line = {}
        marked = mended = False
        for c in columns:
            try:
                value = cell(c, values[c])
            except Unwritable as exc:
                value, marked = exc.args[0], True
                repairs.why = repairs.why or f"{c}: {_why(exc.__cause__)}"
            if isinstance(value, str):
                value, changed = mend(value)
                mended = mended or changed
            line[c] = value
        event_id = _text(values.get("event_id"), "?")
        if marked:
            repairs.cells.append(event_id)
        if mended:
            repairs.surrogates.append(event_id)
        out.append(line)
    return out


def _why(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    try:
        text = str(exc)
    except Exception:
        text = ""
    text = mend(text)[0][:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _json_size(value: Cell) -> int:
    if isinstance(value, str):
        # requests sends JSON with ensure_ascii: non-ASCII text costs up to 6 bytes a char
        return len(value) + 2 if value.isascii() else len(json.dumps(value))
    return 24


def row_bytes(data: Row) -> int:
    """The row's share of a request body (values only: the header is not sent)."""
    return sum(_json_size(v) + 1 for v in data.values()) + 2
