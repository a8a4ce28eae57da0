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
                why: str = f"is not JSON: {exc}"
                # Only a line that fails to decode can be torn: a crash cut it short.
                torn = not line.endswith(b"\n")
            else:
                if type(data) is dict and (
                    ("actor" in data and "action" in data) or is_event(data)
                ):
                    seen = True
                    yield data
                    continue
                why = "is not a HILT event" if isinstance(data, dict) else "is not a JSON object"
                torn = False
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
    metrics = data.get("metrics") or {}
    actor = data.get("actor") or {}
    return assemble(
        timestamp=data.get("timestamp", ""),
        conversation_id=str(data.get("session_id", "")),
        event_id=data.get("event_id", ""),
        speaker=f"{actor.get('type', '')}: {actor.get('id', '')}",
        action=data.get("action", ""),
        text=(data.get("content") or {}).get("text"),
        tokens=metrics.get("tokens") or {},
        cost=_cost(metrics.get("cost_usd")),
        latency=metrics.get("latency_ms"),
        ext=data.get("extensions") or {},
        message_limit=message_limit,
    )


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
    for data in lines:
        if check is not None and not check(data):
            continue
        try:
            values = flat_row(data, message_limit)
        except Exception as exc:
            if strict:
                raise HILTError(f"Invalid event {data.get('event_id', '')}: {exc}") from exc
            log.warning("HILT skipped an invalid event %s (%s)", data.get("event_id", ""), exc)
            continue
        yield values if cols is None else {c: values[c] for c in cols}


INT_COLUMNS = frozenset(
    {"status_code", "tokens_in", "tokens_out", "cached_tokens", "reasoning_tokens", "total_tokens"}
)
FLOAT_COLUMNS = frozenset({"cost_usd", "latency_ms", "relevance_score"})


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
    appenders = [(c, data[c].append) for c in cols]
    for values in rows(*paths, columns=cols, message_limit=message_limit, **filters):
        for c, add in appenders:
            v = values[c]
            add(None if v == "" else v)
    frame = pd.DataFrame(data, columns=cols)
    for c in cols:
        if c == "timestamp":
            frame[c] = pd.to_datetime(frame[c], utc=True, format="ISO8601")
        elif c in INT_COLUMNS:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Int64")
        elif c in FLOAT_COLUMNS:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    return frame


to_dataframe = dataframe

__all__ = [
    "Filter",
    "dataframe",
    "events",
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
