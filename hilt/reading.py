"""Read HILT logs back: events from many files and globs, lazily, filtered.

    from hilt.reading import events, dataframe
    for event in events("logs/*.jsonl", since="24h", model="gpt-4o"):
        ...
    df = dataframe("logs/*.jsonl", conversation="conv_4f1c0a2b9d3e")   # needs pandas

Every log HILT can write is read: format v1, hilt-python 0.2.8 lines, and the flat
``columns=`` form. Files are read line by line, so a log of any size is read in constant
memory. A torn last line (a crash mid-write) is skipped with a warning in the ``hilt``
log; so are other invalid lines (the first few of each file are named), unless
``strict=True``. A file whose first line is not a HILT event is refused with an error
that says so: it is not a HILT log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from hilt_core import Event, HILTError
from hilt_core.columns import KNOWN_COLUMNS, assemble, check_columns, one_line, session_alias
from hilt_core.decode import event_from_data, is_event, is_row
from hilt_core.paths import PathArg, log_files
from hilt_core.values import as_utc, number_or_none, parse_timestamp, timestamp_or_none

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped,unused-ignore]

log = logging.getLogger("hilt")

TimeArg = datetime | date | str
# Invalid lines named one by one in the log, per file; the rest are counted.
_NAMED_BAD_LINES = 5
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# -- files --------------------------------------------------------------------------------
files = log_files  # files, directories and glob patterns: see hilt_core.paths.log_files


# -- raw lines ----------------------------------------------------------------------------
def _not_a_log(path: Path, line: bytes, why: str) -> HILTError:
    start = line[:80].decode("utf-8", "replace").strip()
    return HILTError(
        f"{path} is not a HILT log: its first line {why} ({start!r}...). A HILT log has one "
        "JSON event per line with session_id, actor and action (or the columns= form)"
    )


def _undecoded(line: bytes, exc: Exception) -> tuple[str, bool]:
    """Why a line that fails to decode is skipped, and whether it is torn: only such a
    line can be, when a crash cut it short (no newline)."""
    return f"is not JSON: {exc}", not line.endswith(b"\n")


def _not_event(data: Any) -> str:
    return "is not a HILT event" if isinstance(data, dict) else "is not a JSON object"


def check_log(path: Path) -> None:
    """Raise the :class:`HILTError` that reading ``path`` would raise on its first line
    when the file is not a HILT log, without reading further: commands call it before
    they write anything. An empty file, or one whose only line is still being written
    (torn), passes."""
    with path.open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                why, torn = _undecoded(line, exc)
                if torn:
                    return
                raise _not_a_log(path, line, why) from None
            if not is_event(data):
                raise _not_a_log(path, line, _not_event(data))
            return


def records(
    *paths: PathArg,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the decoded lines (plain dicts) of the log files, without building events.

    The fast path under ``hilt stats``: several times quicker than :func:`events` when
    only a few fields are needed. ``progress`` is called now and then with the number of
    bytes read so far (over all files).
    """
    done = 0
    for path in files(*paths):
        size = path.stat().st_size
        yield from file_records(path, strict=strict, progress=progress, offset=done)
        done += size
        if progress is not None:
            progress(done)


def seek_range(fh: IO[bytes], start: int) -> int:
    """Move ``fh`` to the first line that begins at or after ``start``; return its offset.
    A line begun before ``start`` belongs to the range before (see ``hilt._pool``)."""
    if start <= 0:
        return 0
    fh.seek(start - 1)
    if fh.read(1) == b"\n":
        return start
    return start + len(fh.readline())


def file_records(
    path: Path,
    *,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    offset: int = 0,
    start: int = 0,
    end: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The decoded lines of one file, or of the lines that begin in the byte range
    ``[start, end)`` (so that workers can share a big file: every line is read by
    exactly one range). Outside the first range, lines are named by byte offset."""
    loads = orjson.loads
    bad = 0
    seen = start > 0  # the "is this a HILT log at all" test is the first range's
    with path.open("rb") as fh:
        pos = seek_range(fh, start)
        stop = end if end is not None else -1
        for lineno, line in enumerate(fh, start=1):
            if pos >= stop >= 0:
                break
            here = pos
            pos += len(line)
            if not lineno & 0x3FFF and progress is not None:
                progress(offset + pos)
            try:
                data = loads(line)
            except orjson.JSONDecodeError as exc:
                if not line.strip():
                    continue
                why, torn = _undecoded(line, exc)
            else:
                if type(data) is dict and (
                    ("actor" in data and "action" in data) or is_event(data)
                ):
                    seen = True
                    yield data
                    continue
                why, torn = _not_event(data), False
            if not seen and not torn:
                raise _not_a_log(path, line, why)
            what = "torn last line" if torn else "invalid line"
            where = f"{path}:{lineno}" if start == 0 else f"{path} (byte {here})"
            if strict:
                raise HILTError(f"{where}: {what}: {why}")
            bad += 1
            if bad <= _NAMED_BAD_LINES or torn:
                log.warning("HILT skipped %s %s (%s)", what, where, why)
    if bad > _NAMED_BAD_LINES:
        log.warning("HILT skipped %d invalid lines in %s", bad, path)


# -- filters ------------------------------------------------------------------------------
def parse_time(value: TimeArg, *, now: datetime | None = None) -> datetime:
    """A point in time from a datetime, a date, an ISO 8601 string, or an age such as
    ``"90m"``, ``"24h"``, ``"7d"`` (before now). Naive times are UTC."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    unit = _UNITS.get(text[-1:].lower())
    if unit is not None and text[:-1].replace(".", "", 1).isdigit():
        return (now or datetime.now(UTC)) - timedelta(seconds=float(text[:-1]) * unit)
    try:
        return parse_timestamp(text)
    except ValueError:
        raise HILTError(
            f"Not a time: {value!r}. Give an ISO date or time (2026-11-27, "
            "2026-11-27T14:00) or an age (30m, 24h, 7d)"
        ) from None


def _as_set(value: str | Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


def timestamp_of(data: dict[str, Any]) -> datetime | None:
    """The time of a decoded line (UTC when the line names no offset), or None."""
    return timestamp_or_none(data.get("timestamp"))


def _ext(data: dict[str, Any]) -> dict[str, Any]:
    ext = data.get("extensions")
    return ext if isinstance(ext, dict) else data  # the columns= form is flat


def model_of(data: dict[str, Any]) -> str | None:
    ext = _ext(data)
    return ext.get("model") or ext.get("request_model") or None


def conversation_of(data: dict[str, Any]) -> str | None:
    return data.get("session_id") or data.get("conversation_id") or None


def user_of(data: dict[str, Any]) -> str | None:
    return _ext(data).get("user_id") or None


@dataclass(frozen=True)
class Filter:
    """Which lines to keep; every criterion given must hold. Built by :func:`make_filter`."""

    since: datetime | None = None
    until: datetime | None = None
    conversations: frozenset[str] | None = None
    models: frozenset[str] | None = None
    actions: frozenset[str] | None = None
    users: frozenset[str] | None = None

    @property
    def empty(self) -> bool:
        return self == Filter()

    def __call__(self, data: dict[str, Any]) -> bool:
        try:
            return self._keeps(data)
        except TypeError:  # a list or an object where a name should be: no match
            return False

    def _keeps(self, data: dict[str, Any]) -> bool:
        if self.actions is not None and data.get("action") not in self.actions:
            return False
        if self.conversations is not None and conversation_of(data) not in self.conversations:
            return False
        if self.models is not None:
            ext = _ext(data)
            if ext.get("model") not in self.models and ext.get("request_model") not in (
                self.models
            ):
                return False
        if self.users is not None and user_of(data) not in self.users:
            return False
        if self.since is not None or self.until is not None:
            ts = timestamp_of(data)
            if ts is None:
                return False
            if self.since is not None and ts < self.since:
                return False
            if self.until is not None and ts >= self.until:
                return False
        return True


def make_filter(
    *,
    since: TimeArg | None = None,
    until: TimeArg | None = None,
    conversation: str | Iterable[str] | None = None,
    model: str | Iterable[str] | None = None,
    action: str | Iterable[str] | None = None,
    user: str | Iterable[str] | None = None,
) -> Filter:
    """The filter the reading functions apply: ``since`` inclusive, ``until`` exclusive;
    ``model`` matches the model that answered or the model asked for (exactly); each of
    ``conversation``, ``model``, ``action``, ``user`` may be one value or several."""
    now = datetime.now(UTC)
    return Filter(
        since=parse_time(since, now=now) if since is not None else None,
        until=parse_time(until, now=now) if until is not None else None,
        conversations=_as_set(conversation),
        models=_as_set(model),
        actions=_as_set(action),
        users=_as_set(user),
    )


# -- events -------------------------------------------------------------------------------
def events(
    *paths: PathArg,
    since: TimeArg | None = None,
    until: TimeArg | None = None,
    conversation: str | Iterable[str] | None = None,
    model: str | Iterable[str] | None = None,
    action: str | Iterable[str] | None = None,
    user: str | Iterable[str] | None = None,
    strict: bool = False,
) -> Iterator[Event]:
    """Iterate the :class:`~hilt.Event` objects of log files and glob patterns, lazily.

    Filters: ``since`` / ``until`` (datetime, date, ISO string or an age like ``"24h"``;
    ``until`` excluded), ``conversation`` (the ``session_id``), ``model`` (events that name
    that model: completions and errors, not prompts), ``action``, ``user``
    (``extensions.user_id``). Lines that cannot be read are skipped with a warning in the
    ``hilt`` log, or raise :class:`HILTError` when ``strict=True``.
    """
    keep = make_filter(
        since=since,
        until=until,
        conversation=conversation,
        model=model,
        action=action,
        user=user,
    )
    check = None if keep.empty else keep
    for data in records(*paths, strict=strict):
        if check is not None and not check(data):
            continue
        try:
            yield event_from_data(data)
        except Exception as exc:
            if strict:
                raise HILTError(f"Invalid event {data.get('event_id', '')}: {exc}") from exc
            log.warning("HILT skipped an invalid event %s (%s)", data.get("event_id", ""), exc)


read_events = events


# -- flat rows ----------------------------------------------------------------------------
def _cost(value: Any) -> Any:
    cost = number_or_none(value)  # hilt-python 0.2.8 wrote a string ("0.000005")
    return "" if cost is None else cost


def flat_row(data: dict[str, Any], message_limit: int | None = None) -> dict[str, Any]:
    """The flat columns (the Sheets vocabulary: ``hilt_core.columns.KNOWN_COLUMNS``) of one decoded
    line, straight from the dict; the same values as ``hilt_core.columns.row`` on its event.
    Absent values are "" (numbers stay numbers)."""
    if is_row(data):
        values = {c: data.get(c, "") for c in KNOWN_COLUMNS}
        if not values["session"] and values["conversation_id"]:
            values["session"] = session_alias(str(values["conversation_id"]))
        values["message"] = one_line(str(values["message"]), message_limit)
        values["cost_usd"] = _cost(values["cost_usd"])
        return values
    metrics = _object(data, "metrics")
    actor = _object(data, "actor")
    text = _object(data, "content").get("text")
    if text is not None and type(text) is not str:
        raise HILTError(f"content.text is {_a(text)}, not a string")
    tokens = metrics.get("tokens") or _NOTHING
    if type(tokens) is not dict:
        raise HILTError(f"metrics.tokens is {_a(tokens)}, not an object")
    return assemble(
        timestamp=data.get("timestamp", ""),
        conversation_id=str(data.get("session_id", "")),
        event_id=data.get("event_id", ""),
        speaker=f"{actor.get('type', '')}: {actor.get('id', '')}",
        action=data.get("action", ""),
        text=text,
        tokens=tokens,
        cost=_cost(metrics.get("cost_usd")),
        latency=metrics.get("latency_ms"),
        ext=_object(data, "extensions"),
        message_limit=message_limit,
    )


_NOTHING: dict[str, Any] = {}


def _a(value: Any) -> str:
    """What a JSON value is, in words, for a message."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    """``data[key]`` when it is an object, {} when absent; an error naming it otherwise."""
    value = data.get(key) or _NOTHING
    if type(value) is not dict:
        raise HILTError(f"{key} is {_a(value)}, not an object")
    return value


def rows(
    *paths: PathArg,
    columns: Iterable[str] | None = None,
    message_limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    strict: bool = False,
    **filters: Any,
) -> Iterator[dict[str, Any]]:
    """Flat rows (see :func:`flat_row`) of the events that pass ``filters``; ``columns``
    picks and orders the columns (default: all of ``hilt_core.columns.KNOWN_COLUMNS``)."""
    cols = check_columns(columns)
    lines = records(*paths, strict=strict, progress=progress)
    yield from rows_of(lines, cols, message_limit, make_filter(**filters), strict=strict)


def rows_of(
    lines: Iterable[dict[str, Any]],
    columns: list[str] | None,
    message_limit: int | None,
    keep: Filter,
    *,
    strict: bool = False,
) -> Iterator[dict[str, Any]]:
    """The flat rows of decoded lines that pass ``keep`` (columns already checked)."""
    check = None if keep.empty else keep
    cols = None if columns is None or list(columns) == list(KNOWN_COLUMNS) else columns
    skipped = 0
    try:
        for data in lines:
            if check is not None and not check(data):
                continue
            try:
                values = flat_row(data, message_limit)
            except Exception as exc:
                if strict:
                    raise HILTError(f"Invalid event {data.get('event_id', '')}: {exc}") from exc
                skipped += 1
                if skipped <= _NAMED_BAD_LINES:
                    log.warning(
                        "HILT skipped an invalid event %s (%s)", data.get("event_id", ""), exc
                    )
                continue
            yield values if cols is None else {c: values[c] for c in cols}
    finally:
        if skipped > _NAMED_BAD_LINES:
            log.warning("HILT skipped %d invalid events in all", skipped)


INT_COLUMNS = frozenset(
    {"status_code", "tokens_in", "tokens_out", "cached_tokens", "reasoning_tokens", "total_tokens"}
)
FLOAT_COLUMNS = frozenset({"cost_usd", "latency_ms", "relevance_score"})
_INT64 = 1 << 63


class ColumnTypes:
    """The typed value of a flat column, for Parquet and DataFrames: ``timestamp`` a UTC
    datetime, counts and ``status_code`` 64-bit integers, amounts finite floats, the rest
    text; None when absent. A number written as a string (``"12"``) is read. A value that
    does not fit (a numeric timestamp, a count of ``"many"`` or beyond 64 bits) is None
    as well, and counted, so that the caller can say so (:meth:`warn`)."""

    def __init__(self) -> None:
        self.bad = 0
        self.first_bad = ""

    def converter(self, column: str) -> Callable[[Any], Any]:
        if column == "timestamp":
            return self.timestamp
        if column in INT_COLUMNS:
            return partial(self.integer, column=column)
        if column in FLOAT_COLUMNS:
            return partial(self.real, column=column)
        return self.text

    def _bad(self, column: str, value: Any) -> None:
        if not self.bad:
            self.first_bad = f"{column} {_short_repr(value)}"
        self.bad += 1

    def timestamp(self, value: Any) -> datetime | None:
        if value == "" or value is None:
            return None
        ts = timestamp_or_none(value)
        if ts is None:
            self._bad("timestamp", value)
        return ts

    def integer(self, value: Any, column: str) -> int | None:
        if type(value) is int and -_INT64 <= value < _INT64:
            return value
        if value == "" or value is None:
            return None
        number = number_or_none(value)
        if number is not None and number.is_integer() and -_INT64 <= number < _INT64:
            return int(number)
        self._bad(column, value)
        return None

    def real(self, value: Any, column: str) -> float | None:
        if value == "" or value is None:
            return None
        number = number_or_none(value)
        if number is None:
            self._bad(column, value)
        return number

    @staticmethod
    def text(value: Any) -> str | None:
        return None if value == "" or value is None else str(value)

    def warn(self, what: str) -> None:
        if self.bad:
            log.warning(
                "HILT %s: %d values could not be stored as their column's type and were "
                "left empty (the first: %s)",
                what,
                self.bad,
                self.first_bad,
            )


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dataframe(
    *paths: PathArg,
    columns: Iterable[str] | None = None,
    message_limit: int | None = None,
    **filters: Any,
) -> pandas.DataFrame:
    """A pandas DataFrame of the events, one row per event, with the flat columns of
    :func:`flat_row` (``timestamp`` as UTC datetimes, numbers as nullable numbers, absent
    values as missing). Takes the filters of :func:`events`. Needs pandas
    (``pip install pandas``)."""
    try:
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise HILTError("hilt.reading.dataframe() needs pandas: pip install pandas") from None
    cols = check_columns(columns) or list(KNOWN_COLUMNS)
    data: dict[str, list[Any]] = {c: [] for c in cols}
    types = ColumnTypes()
    typed = {"timestamp"} | INT_COLUMNS | FLOAT_COLUMNS

    def keep_as_is(v: Any) -> Any:
        return None if v == "" else v

    appenders = [
        (c, data[c].append, types.converter(c) if c in typed else keep_as_is) for c in cols
    ]
    for values in rows(*paths, columns=cols, message_limit=message_limit, **filters):
        for c, add, convert in appenders:
            add(convert(values[c]))
    types.warn("dataframe()")
    frame = pd.DataFrame(data, columns=cols)
    for c in cols:
        if c == "timestamp":
            frame[c] = pd.to_datetime(frame[c], utc=True)
        elif c in INT_COLUMNS:
            frame[c] = pd.array(data[c], dtype="Int64")
        elif c in FLOAT_COLUMNS:
            frame[c] = pd.array(data[c], dtype="Float64").astype("float64")
    return frame


to_dataframe = dataframe

__all__ = [
    "Filter",
    "dataframe",
    "events",
    "check_log",
    "files",
    "flat_row",
    "is_event",
    "make_filter",
    "parse_time",
    "read_events",
    "records",
    "rows",
    "to_dataframe",
]
