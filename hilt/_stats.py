"""``hilt stats``: calls, errors, tokens, cost and latency of logs, grouped by a key.

Works on the decoded dicts of :func:`hilt.reading.records` and takes the few fields it
needs straight from them: building Event objects would make it ten times slower, and a
million-event log must take seconds.

A *call* is an event that carries the outcome of an LLM request: a ``completion``, or a
``system`` event that reports an error (``error_code`` / ``error_type`` or a status code
other than 200). ``run`` and ``step`` events (format 1.1: a LangGraph run and its nodes)
are never calls, whatever they carry. Tokens and cost are summed over calls; latency
percentiles are over the calls that measured one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from hilt import _pool
from hilt._pool import Progress, Task
from hilt._terminal import printable
from hilt.reading import Filter, file_records, files
from hilt_core.paths import PathArg
from hilt_core.values import number_or_none

log = logging.getLogger("hilt")

GROUPS = ("model", "day", "conversation", "user", "provider", "none")
_NO_KEY = "(none)"


@dataclass(slots=True)
class Tally:
    """The counters of one group (or of the whole log)."""

    events: int = 0
    calls: int = 0
    errors: int = 0
    errors_by_status: dict[str, int] = field(default_factory=dict)
    prompt: int = 0
    completion: int = 0
    total: int = 0
    cached: int = 0
    reasoning: int = 0
    cost: float = 0.0
    unpriced: int = 0
    latencies: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {
            "events": self.events,
            "calls": self.calls,
            "errors": self.errors,
            "error_rate": round(self.errors / self.calls, 6) if self.calls else 0.0,
            "errors_by_status": dict(sorted(self.errors_by_status.items())),
            "tokens": {
                "prompt": self.prompt,
                "completion": self.completion,
                "total": self.total,
                "cached": self.cached,
                "reasoning": self.reasoning,
            },
            "cost_usd": round(self.cost, 9),
            "unpriced_calls": self.unpriced,
            "latency_ms": {
                "count": len(lat),
                "p50": percentile(lat, 50),
                "p95": percentile(lat, 95),
                "p99": percentile(lat, 99),
                "max": lat[-1] if lat else None,
            },
        }


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile of sorted values, interpolated linearly between the two
    nearest ranks (numpy's and pandas' default method), or None without values."""
    if not ordered:
        return None
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    value = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
    return round(value, 3)


# Values past these are not believed (a trillion tokens, a trillion dollars or ms).
_MAX_COUNT = 1 << 40
_MAX_AMOUNT = 1e12


def _number(value: Any) -> float | None:
    """A finite amount from a JSON number or a numeric string (as every reader reads
    them: hilt_core.values), or None; None past a trillion too."""
    number = number_or_none(value)
    return number if number is not None and -_MAX_AMOUNT < number < _MAX_AMOUNT else None


class _Odd:
    """Lines with values of the wrong type (a numeric timestamp, a token count written as
    text, an object where a name goes): they are read as far as possible, counted, and
    the first one is described in one warning at the end."""

    __slots__ = ("_line", "first", "lines", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines = 0
        self.first = ""
        self._line: dict[str, Any] | None = None

    def note(self, d: dict[str, Any], what: str) -> None:
        if self._line is d:
            return
        self._line = d
        self.lines += 1
        if self.lines == 1:
            self.first = f"{self.path}, event {_short(d.get('event_id'))}: {what}"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _name(value: Any) -> str:
    """A group name from a value that is not a string: its JSON text."""
    return orjson.dumps(value).decode()


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number")


def _count(value: Any, name: str, d: dict[str, Any], odd: _Odd) -> int:
    """A token count, from what a line holds: a count written as text or as a whole float
    is read (and noted); anything else (negative, past a trillion, a word) counts 0."""
    if type(value) is int and 0 <= value < _MAX_COUNT:
        return value
    number = _number(value)
    if number is not None and number.is_integer() and 0 <= number < _MAX_COUNT:
        odd.note(d, f"metrics.tokens.{name} {_short(value)} read as {int(number)}")
        return int(number)
    odd.note(d, f"metrics.tokens.{name} {_short(value)} left out")
    return 0


def _from_row(d: dict[str, Any]) -> dict[str, Any]:
    """A line of the flat ``columns=`` form, in the places of a whole event."""
    tokens = {
        k: d[c]
        for c, k in (("tokens_in", "prompt"), ("tokens_out", "completion"))
        if isinstance(d.get(c), int)
    }
    ext = {
        k: d[k]
        for k in ("model", "status_code", "user_id", "provider")
        if d.get(k) not in (None, "")
    }
    return {
        "timestamp": d.get("timestamp"),
        "session_id": d.get("conversation_id") or d.get("session"),
        "action": d.get("action"),
        "metrics": {
            "tokens": tokens,
            "cost_usd": d.get("cost_usd") if d.get("cost_usd") != "" else None,
            "latency_ms": d.get("latency_ms") if d.get("latency_ms") != "" else None,
        },
        "extensions": ext,
    }


_KeyOf = Callable[[dict[str, Any], dict[str, Any], "str | None", "str | None"], Any]


def _key_function(by: str) -> _KeyOf:
    """The group of a line, from the line, its extensions, its conversation and its
    timestamp (the last two already checked to be strings or None)."""
    if by == "model":
        return lambda d, ext, sid, ts: ext.get("model") or ext.get("request_model")
    if by == "day":
        return lambda d, ext, sid, ts: ts[:10] if ts else None
    if by == "conversation":
        return lambda d, ext, sid, ts: sid
    if by == "user":
        return lambda d, ext, sid, ts: ext.get("user_id")
    if by == "provider":
        return lambda d, ext, sid, ts: ext.get("provider")
    if by == "none":
        return lambda d, ext, sid, ts: None
    raise ValueError(f"Unknown grouping {by!r}; choose one of {', '.join(GROUPS)}")


@dataclass
class Report:
    paths: list[str]
    group_by: str
    total: Tally
    groups: dict[Any, Tally]
    conversations: int
    first: str | None
    last: str | None

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        ordered = self.ordered_groups()
        shown = ordered if not limit else ordered[:limit]
        return {
            "files": self.paths,
            "group_by": self.group_by,
            "total": {
                **self.total.as_dict(),
                "conversations": self.conversations,
                "first": self.first,
                "last": self.last,
            },
            "groups": [{"key": key, **tally.as_dict()} for key, tally in shown],
            "groups_not_shown": len(ordered) - len(shown),
        }

    def ordered_groups(self) -> list[tuple[Any, Tally]]:
        """Groups that made calls: days in order, other keys by number of calls."""
        items = [(k, t) for k, t in self.groups.items() if t.calls]
        if self.group_by == "day":
            return sorted(items, key=lambda kt: (kt[0] is None, kt[0] or ""))
        return sorted(items, key=lambda kt: (-kt[1].calls, str(kt[0])))


@dataclass
class _Part:
    """What one range of one file adds up to."""

    groups: dict[Any, Tally] = field(default_factory=dict)
    conversations: set[Any] = field(default_factory=set)
    first: str | None = None
    last: str | None = None
    odd_lines: int = 0  # lines with values of the wrong type (see _Odd)
    odd_first: str = ""


def _scan(task: Task, progress: Progress | None, *, by: str, keep: Filter | None) -> _Part:
    """Tally the lines of one task (a file, or a byte range of one)."""
    key_of = _key_function(by)
    part = _Part()
    groups = part.groups
    conversations = part.conversations
    first: str | None = None
    last: str | None = None
    check = None if keep is None or keep.empty else keep
    lines = file_records(
        Path(task.path), progress=progress, offset=task.offset, start=task.start, end=task.end
    )
    odd = _Odd(task.path)
    for line in lines:
        if check is not None and not check(line):
            continue
        d = line if "actor" in line else _from_row(line)
        # Each value is checked where it is used: a line of the wrong shape is read as
        # far as it can be, never ends the command (see _Odd).
        ext = d.get("extensions") or _EMPTY
        if type(ext) is not dict:
            odd.note(d, f"extensions is {_kind(ext)}, not an object")
            ext = _EMPTY
        sid = d.get("session_id")
        if sid is not None and type(sid) is not str:
            odd.note(d, f"session_id {_short(sid)} is not a string")
            sid = _name(sid)
        ts = d.get("timestamp")
        if ts is not None and type(ts) is not str:
            odd.note(d, f"timestamp {_short(ts)} is not a string")
            ts = None
        key = key_of(d, ext, sid, ts)
        if key is not None and type(key) is not str:
            odd.note(d, f"the {by} {_short(key)} is not a string")
            key = _name(key)
        tally = groups.get(key)
        if tally is None:
            tally = groups[key] = Tally()
        tally.events += 1
        conversations.add(sid)
        if ts is not None:
            if first is None or ts < first:
                first = ts
            if last is None or ts > last:
                last = ts
        action = d.get("action")
        if action == "completion":
            _count_call(tally, d, ext, False, odd)
        elif action == "system" and (
            "error_code" in ext or "error_type" in ext or ext.get("status_code", 200) != 200
        ):
            _count_call(tally, d, ext, True, odd)
    part.odd_lines, part.odd_first = odd.lines, odd.first
    part.first, part.last = first, last
    return part


_EMPTY: dict[str, Any] = {}


def compute(
    paths: Iterable[PathArg],
    *,
    by: str = "model",
    keep: Filter | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    chunk_bytes: int | None = None,
) -> Report:
    """Read the logs once and tally them (see the module docstring for what counts).

    Logs over 64 MB are read by one process per CPU (``workers``), each taking byte
    ranges of the files; ``workers=1`` reads in this process.
    """
    _key_function(by)  # an unknown grouping fails before any work
    found = files(*paths)
    if workers is None:
        workers = _pool.default_workers(found)
    tasks = _pool.split(found, workers, chunk_bytes)
    parts = _pool.run(partial(_scan, by=by, keep=keep), tasks, workers, progress)
    if progress is not None:
        progress(sum(p.stat().st_size for p in found))
    odd = [p for p in parts if p.odd_lines]
    if odd:
        log.warning(
            "HILT stats read %d lines with values of the wrong type as far as it could: "
            "numbers written as text were read, other wrong values left out (the first: %s)",
            sum(p.odd_lines for p in odd),
            odd[0].odd_first,
        )
    return _combine([str(p) for p in found], by, parts)


def _combine(names: list[str], by: str, parts: list[_Part]) -> Report:
    groups: dict[Any, Tally] = {}
    conversations: set[Any] = set()
    firsts = [p.first for p in parts if p.first is not None]
    lasts = [p.last for p in parts if p.last is not None]
    for part in parts:
        conversations |= part.conversations
        for key, tally in part.groups.items():
            into = groups.get(key)
            if into is None:
                groups[key] = tally
            else:
                into.events += tally.events
                _merge(into, tally)
    total = Tally()
    for tally in groups.values():
        _merge(total, tally)
    total.events = sum(t.events for t in groups.values())
    return Report(
        paths=names,
        group_by=by,
        total=total,
        groups=groups,
        conversations=len(conversations - {None}),
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
    )


def _count_call(
    tally: Tally, d: dict[str, Any], ext: dict[str, Any], error: bool, odd: _Odd
) -> None:
    tally.calls += 1
    metrics = d.get("metrics") or _EMPTY
    if type(metrics) is not dict:
        odd.note(d, f"metrics is {_kind(metrics)}, not an object")
        metrics = _EMPTY
    if error:
        tally.errors += 1
        status = str(ext.get("status_code", "unknown"))
        tally.errors_by_status[status] = tally.errors_by_status.get(status, 0) + 1
    tokens = metrics.get("tokens")
    if tokens and type(tokens) is not dict:
        odd.note(d, f"metrics.tokens is {_kind(tokens)}, not an object")
    elif tokens:
        prompt = tokens.get("prompt") or 0
        completion = tokens.get("completion") or 0
        total = tokens.get("total") or 0
        cached = tokens.get("cached") or 0
        reasoning = tokens.get("reasoning") or 0
        if not (  # the usual line: five plain counts
            type(prompt) is int
            and type(completion) is int
            and type(total) is int
            and type(cached) is int
            and type(reasoning) is int
            and 0 <= (prompt | completion | total | cached | reasoning) < _MAX_COUNT
        ):
            prompt = _count(prompt, "prompt", d, odd)
            completion = _count(completion, "completion", d, odd)
            total = _count(total, "total", d, odd)
            cached = _count(cached, "cached", d, odd)
            reasoning = _count(reasoning, "reasoning", d, odd)
        tally.prompt += prompt
        tally.completion += completion
        tally.total += total or (prompt + completion)
        tally.cached += cached
        tally.reasoning += reasoning
    cost = metrics.get("cost_usd")
    if type(cost) is float and -_MAX_AMOUNT < cost < _MAX_AMOUNT:
        tally.cost += cost
    else:
        number = _number(cost)
        if number is not None:
            tally.cost += number
        else:
            if cost is not None:
                odd.note(d, f"metrics.cost_usd {_short(cost)} left out")
            if not error:
                tally.unpriced += 1
    latency = metrics.get("latency_ms")
    if latency is None:
        latency = ext.get("latency_ms")  # where hilt-python 0.2.8 wrote it
    if type(latency) is float and 0 <= latency < _MAX_AMOUNT:
        tally.latencies.append(latency)
    elif latency is not None:
        value = _number(latency)
        if value is not None and value >= 0:
            tally.latencies.append(value)
        else:
            odd.note(d, f"latency_ms {_short(latency)} left out")


def _merge(into: Tally, part: Tally) -> None:
    into.calls += part.calls
    into.errors += part.errors
    for status, n in part.errors_by_status.items():
        into.errors_by_status[status] = into.errors_by_status.get(status, 0) + n
    into.prompt += part.prompt
    into.completion += part.completion
    into.total += part.total
    into.cached += part.cached
    into.reasoning += part.reasoning
    into.cost += part.cost
    into.unpriced += part.unpriced
    into.latencies.extend(part.latencies)


# -- text ---------------------------------------------------------------------------------
def _int(n: int) -> str:
    return f"{n:,}"


def _cost(value: float) -> str:
    if value >= 100:
        return f"{value:,.2f}"
    if value >= 1:
        return f"{value:,.4f}"
    return f"{value:.6f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def render(report: Report, limit: int | None = 25) -> str:
    """The report as a text table (``limit`` groups at most; None or 0 for all)."""
    data = report.as_dict(limit=limit or None)
    tot = data["total"]
    n_files = len(report.paths)
    head = (
        f"{_int(tot['events'])} events, {_int(tot['calls'])} calls, "
        f"{_int(tot['conversations'])} conversation{'s' * (tot['conversations'] != 1)} "
        f"in {n_files} file{'s' * (n_files != 1)}"
    )
    if report.first and report.last:
        head += f" ({printable(report.first[:19])} .. {printable(report.last[:19])})"
    titles = [
        report.group_by if report.group_by != "none" else "",
        "calls",
        "errors",
        "tokens in",
        "tokens out",
        "cost $",
        "p50 ms",
        "p95 ms",
        "p99 ms",
    ]
    table: list[list[str]] = [titles]

    def line(key: str, g: dict[str, Any]) -> list[str]:
        err = _int(g["errors"])
        if g["errors"]:
            err += f" ({g['error_rate'] * 100:.1f}%)"
        lat = g["latency_ms"]
        priced = g["calls"] - g["errors"] - g["unpriced_calls"]
        cost = _cost(g["cost_usd"]) if priced or g["cost_usd"] else "-"
        cost += "*" if g["unpriced_calls"] else ""
        return [
            key,
            _int(g["calls"]),
            err,
            _int(g["tokens"]["prompt"]),
            _int(g["tokens"]["completion"]),
            cost,
            _ms(lat["p50"]),
            _ms(lat["p95"]),
            _ms(lat["p99"]),
        ]

    if report.group_by != "none":
        for g in data["groups"]:
            key = _NO_KEY if g["key"] is None else printable(str(g["key"]))
            table.append(line(key if len(key) <= 40 else key[:39] + "~", g))
    table.append(line("total", tot))
    widths = [max(len(r[i]) for r in table) for i in range(len(titles))]
    out = [head, ""]
    for i, r in enumerate(table):
        if i == len(table) - 1 and len(table) > 2:
            out.append("  ".join("-" * w for w in widths))
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    if data["groups_not_shown"]:
        out.append(f"... and {data['groups_not_shown']:,} more (--limit 0 shows all)")
    notes = []
    if tot["errors_by_status"]:
        parts = [f"{printable(code)}: {n:,}" for code, n in tot["errors_by_status"].items()]
        notes.append("errors by status code: " + ", ".join(parts))
    if tot["unpriced_calls"]:
        notes.append(f"* {tot['unpriced_calls']:,} calls carry no cost (model not priced)")
    if tot["tokens"]["cached"] or tot["tokens"]["reasoning"]:
        notes.append(
            f"cached tokens: {tot['tokens']['cached']:,}, "
            f"reasoning tokens: {tot['tokens']['reasoning']:,}"
        )
    if notes:
        out.append("")
        out.extend(notes)
    return "\n".join(out)
