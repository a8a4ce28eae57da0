"""``hilt report``: one self-contained HTML page of a log (overview and conversations).

The numbers are counted by the code of ``hilt stats`` (``hilt._stats``: the same *call*,
the same sums, the same percentiles), so the page agrees with ``hilt stats --json``. The
page carries its data as JSON and a small script that draws it (charts are inline SVG
made by that script); it loads nothing: a Content-Security-Policy of ``default-src
'none'`` lets only its own inline script and style run, by their hashes.

Size: the overview covers every event. The conversations carried in the page with their
text are the ``max_conversations`` most recent (by their last event), and no more than
``MAX_EVENTS`` of their events; the page says how many there are in all. Reading keeps
the events of about twice that many conversations, and at most ``10 * MAX_EVENTS``
events, in memory: the least recently active are let go, and read again in a second
pass when one of them is among the most recent at the end.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from hilt._stats import Tally, _count_call, _from_row, _merge, _Odd
from hilt.reading import Filter, file_records, files
from hilt_core.paths import PathArg

MAX_CONVERSATIONS = 500
MAX_EVENTS = 20_000  # events of those conversations carried in the page (about 6 MB)
MAX_TEXT = 20_000  # characters of one text carried in the page
TOP_KEYS = 25  # rows of the by-model / by-user / by-tenant tables
HOURLY_UP_TO_HOURS = 72  # a longer window is charted by day
_HASHED = re.compile(r"sha256:[0-9a-f]{64}")
_TEXT_KEYS = ("text", "messages", "tool_calls", "parts", "refusal", "images", "hash")


def _is_call(d: dict[str, Any], ext: dict[str, Any]) -> tuple[bool, bool]:
    """(is a call, is an error): the rule of ``hilt stats`` (see ``hilt._stats``)."""
    action = d.get("action")
    if action == "completion":
        return True, False
    if action == "system" and (
        "error_code" in ext or "error_type" in ext or ext.get("status_code", 200) != 200
    ):
        return True, True
    return False, False


def _hour(ts: Any) -> str | None:
    """``YYYY-MM-DDTHH`` of a timestamp as HILT writes it (UTC), or None."""
    if not isinstance(ts, str) or len(ts) < 13:
        return None
    return f"{ts[:10]}T{ts[11:13]}"


def _short(text: str) -> dict[str, Any]:
    if len(text) <= MAX_TEXT:
        return {"text": text}
    return {"text": text[:MAX_TEXT], "cut": len(text) - MAX_TEXT}


def _text_state(text: str) -> str:
    return "hash" if _HASHED.fullmatch(text) else "text"


def _message(msg: Any) -> dict[str, Any] | None:
    if not isinstance(msg, dict):
        return None
    out: dict[str, Any] = {"role": str(msg.get("role") or "")}
    text = msg.get("text", msg.get("content"))
    if isinstance(text, str):
        out.update(_short(text))
        out["state"] = _text_state(text)
    elif text is not None:
        out.update(_short(orjson.dumps(text).decode()))
        out["state"] = "text"
    for key in ("name", "tool_call_id"):
        if isinstance(msg.get(key), str):
            out[key] = msg[key]
    if isinstance(msg.get("tool_calls"), list):
        out["tool_calls"] = [_tool_call(c) for c in msg["tool_calls"]]
    if isinstance(msg.get("parts"), list):
        out["parts"] = len(msg["parts"])
    return out


def _tool_call(call: Any) -> dict[str, str]:
    if not isinstance(call, dict):
        return {"name": "", "arguments": _as_text(call)}
    return {
        "name": _as_text(call.get("name")),
        "arguments": _short(_as_text(call.get("arguments")))["text"],
    }


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def item_of(line: dict[str, Any]) -> dict[str, Any]:
    """What the conversation view shows of one decoded line: who, what, when, the text
    (or why there is none: ``state`` is ``text``, ``hash``, ``none`` or ``removed``), tool
    calls, tokens, cost, latency, model, status."""
    row = "actor" not in line
    d = _from_row(line) if row else line
    ext = d.get("extensions") or {}
    metrics = d.get("metrics") or {}
    is_call, is_error = _is_call(d, ext)
    item: dict[str, Any] = {
        "ts": d.get("timestamp"),
        "action": d.get("action"),
    }
    if row:
        item["who"] = str(line.get("speaker") or "")
    else:
        actor = line.get("actor") or {}
        item["who"] = f"{actor.get('type', '')}: {actor.get('id', '')}"
    if is_call:
        item["call"] = True
    if is_error:
        item["error"] = str(ext.get("error_type") or ext.get("error_code") or "error")
    # Text, or why there is none.
    if row:
        text = line.get("message")
        if isinstance(text, str) and text:
            item.update(_short(text))
            item["state"] = _text_state(text)
        else:
            item["state"] = "none"
            item["why"] = "columns" if "message" not in line else "empty"
    else:
        content = line.get("content")
        content = content if isinstance(content, dict) else {}
        text = content.get("text")
        if isinstance(text, str):
            item.update(_short(text))
            item["state"] = _text_state(text)
        msgs = content.get("messages")
        if isinstance(msgs, list) and (
            len(msgs) > 1
            or not isinstance(text, str)
            or any(isinstance(m, dict) and m.get("role") != "user" for m in msgs)
        ):
            item["messages"] = [m for m in (_message(x) for x in msgs) if m is not None]
        calls = content.get("tool_calls")
        if isinstance(calls, list) and calls:
            item["tool_calls"] = [_tool_call(c) for c in calls]
        if "state" not in item:
            if item.get("messages") or item.get("tool_calls"):
                said = [m.get("text", "") for m in item.get("messages", [])] + [
                    v for c in item.get("tool_calls", []) for v in (c["name"], c["arguments"])
                ]
                hashed = all(_HASHED.fullmatch(t) for t in said if t)
                item["state"] = "hash" if hashed and any(said) else "text"
            elif ext.get("hilt_redaction"):
                item["state"] = "removed"
                item["why"] = str(ext["hilt_redaction"])
            elif "embeddings" in ext:
                item["state"] = "none"
                item["why"] = "embeddings"
                item["embeddings"] = ext.get("embeddings")
                item["dimensions"] = ext.get("dimensions")
            elif not any(k in content for k in _TEXT_KEYS):
                item["state"] = "none"
                item["why"] = "metadata"
            else:
                item["state"] = "none"
                item["why"] = "other"
    # Numbers and context.
    tokens = metrics.get("tokens") or {}
    for key, name in (("prompt", "tokens_in"), ("completion", "tokens_out")):
        if isinstance(tokens.get(key), int):
            item[name] = tokens[key]
    if is_call:
        # The same cost and latency hilt stats counts for this call.
        one = Tally()
        _count_call(one, d, ext, is_error, _Odd(""))
        if one.cost or metrics.get("cost_usd") not in (None, ""):
            item["cost"] = one.cost
        if one.latencies:
            item["latency_ms"] = one.latencies[0]
    model = ext.get("model") or ext.get("request_model")
    if model:
        item["model"] = str(model)
    for key in ("status_code", "finish_reason", "user_id", "tenant_id"):
        value = ext.get(key)
        if value not in (None, ""):
            item[key] = value
    event_id = line.get("event_id")
    if event_id:
        item["id"] = str(event_id)
    reply_to = ext.get("reply_to") if not row else line.get("reply_to")
    if reply_to:
        item["reply_to"] = str(reply_to)
    return item


def turns_of(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The items of one conversation as turns: a prompt followed by what answers it (by
    ``reply_to``; an answer naming no prompt answers the last prompt still unanswered).
    Other events (a tool result, feedback) are turns of their own. Turns follow the order
    of the prompts in the log."""
    turns: list[list[dict[str, Any]]] = []
    by_prompt: dict[str, list[dict[str, Any]]] = {}
    open_turn: list[dict[str, Any]] | None = None
    for item in items:
        if item.get("action") == "prompt":
            turn = [item]
            turns.append(turn)
            if "id" in item:
                by_prompt[item["id"]] = turn
            open_turn = turn
            continue
        if item.get("call"):
            target = by_prompt.get(item.get("reply_to") or "")
            if target is None and open_turn is not None and "reply_to" not in item:
                target = open_turn
            if target is not None:
                target.append(item)
                if target is open_turn:
                    open_turn = None
                continue
        turns.append([item])
    return turns


@dataclass(slots=True)
class _Kept:
    """A conversation whose events are held for the page."""

    items: list[dict[str, Any]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    users: set[str] = field(default_factory=set)
    tenants: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)


class Builder:
    """Reads decoded lines (``add``) and makes the page's data (``data``)."""

    def __init__(
        self, *, max_conversations: int = MAX_CONVERSATIONS, hold: int | None = None
    ) -> None:
        self.max_conversations = max_conversations
        # Conversations whose events are held: a few times the number shown, least
        # recently active first (dict order); those let go are read again if needed.
        if hold is None:
            hold = max_conversations * 2 + 200
        self.hold = max(hold, 1) if max_conversations else 0
        # ... and at most this many of their events (a bound on memory, about 0.3 GB).
        self.hold_events = 10 * MAX_EVENTS
        self.held_events = 0
        self.total = Tally()
        self.hours: dict[str | None, Tally] = {}
        self.by: dict[str, dict[Any, Tally]] = {"model": {}, "user": {}, "tenant": {}}
        self.last_seen: dict[Any, str] = {}  # conversation -> its latest timestamp
        self.sizes: dict[Any, int] = {}  # conversation -> its number of events
        self.kept: dict[Any, _Kept] = {}
        self.let_go: set[Any] = set()
        self.first: str | None = None
        self.last: str | None = None
        self.states: dict[str, int] = {}
        # Values of the wrong type are read as hilt stats reads them (it warns about them).
        self.odd = _Odd("")

    def add(self, line: dict[str, Any]) -> None:
        d = line if "actor" in line else _from_row(line)
        ext = d.get("extensions") or {}
        self.total.events += 1
        conv = d.get("session_id")
        ts = d.get("timestamp")
        if isinstance(ts, str):
            if self.first is None or ts < self.first:
                self.first = ts
            if self.last is None or ts > self.last:
                self.last = ts
        if conv is not None:
            before = self.last_seen.get(conv)
            if before is None or (isinstance(ts, str) and ts > before):
                self.last_seen[conv] = ts if isinstance(ts, str) else (before or "")
            self.sizes[conv] = self.sizes.get(conv, 0) + 1
        is_call, is_error = _is_call(d, ext)
        if is_call:
            _count_call(self.total, d, ext, is_error, self.odd)
            hour = _hour(ts)
            for key, groups in (
                (hour, self.hours),
                (ext.get("model") or ext.get("request_model"), self.by["model"]),
                (ext.get("user_id"), self.by["user"]),
                (ext.get("tenant_id"), self.by["tenant"]),
            ):
                tally = groups.get(key)
                if tally is None:
                    tally = groups[key] = Tally()
                _count_call(tally, d, ext, is_error, self.odd)
        if conv is None or not self.hold:
            return
        kept = self.kept.pop(conv, None)
        if kept is None:
            if conv in self.let_go:
                return  # read again in the second pass, if shown
            kept = _Kept()
        self.kept[conv] = kept  # the most recently active, last
        self.held_events += 1
        while len(self.kept) > self.hold or self.held_events > self.hold_events:
            gone = next(iter(self.kept))
            if gone == conv:
                break  # one conversation alone: keep it whole
            self.held_events -= len(self.kept.pop(gone).items)
            self.let_go.add(gone)
        self._keep(kept, line, d, ext, is_call, is_error)

    def _keep(
        self,
        kept: _Kept,
        line: dict[str, Any],
        d: dict[str, Any],
        ext: dict[str, Any],
        is_call: bool,
        is_error: bool,
        count: bool = True,
    ) -> None:
        item = item_of(line)
        kept.items.append(item)
        kept.tally.events += 1
        if is_call:
            _count_call(kept.tally, d, ext, is_error, self.odd)
        for key, into in (("user_id", kept.users), ("tenant_id", kept.tenants)):
            if ext.get(key):
                into.add(str(ext[key]))
        if item.get("model") and d.get("action") != "prompt":
            kept.models.add(item["model"])
        state = item["state"] if item["state"] != "none" else f"none:{item.get('why')}"
        if count and d.get("action") in ("prompt", "completion"):
            self.states[state] = self.states.get(state, 0) + 1

    def shown(self) -> list[Any]:
        """The conversations the page carries: the most recent, newest first, at most
        ``max_conversations`` of them and, past the first, ``MAX_EVENTS`` events in all."""
        if not self.max_conversations:
            return []
        newest = sorted(self.last_seen.items(), key=lambda kv: (kv[1], str(kv[0])), reverse=True)
        out: list[Any] = []
        events = 0
        for conv, _ts in newest[: self.max_conversations]:
            events += self.sizes[conv]
            if out and events > MAX_EVENTS:
                break
            out.append(conv)
        return out

    def missing(self) -> set[Any]:
        """Shown conversations some of whose events were let go: read them again."""
        return {c for c in self.shown() if c in self.let_go}

    def readd(self, line: dict[str, Any], wanted: set[Any]) -> None:
        """The second pass: keep the events of ``wanted`` conversations only."""
        d = line if "actor" in line else _from_row(line)
        conv = d.get("session_id")
        if conv not in wanted:
            return
        ext = d.get("extensions") or {}
        if conv in self.let_go:
            self.let_go.discard(conv)
            self.kept[conv] = _Kept()
        is_call, is_error = _is_call(d, ext)
        self._keep(self.kept[conv], line, d, ext, is_call, is_error, count=False)

    # -- the page's data ------------------------------------------------------------------
    def data(self, *, files: list[str], filters: dict[str, Any]) -> dict[str, Any]:
        total = self.total.as_dict()
        total["conversations"] = len(self.last_seen)
        total["first"] = self.first
        total["last"] = self.last
        hourly = _span_hours(self.first, self.last) <= HOURLY_UP_TO_HOURS
        conversations = []
        for conv in self.shown():
            kept = self.kept[conv]
            items = sorted(kept.items, key=lambda it: it.get("ts") or "")
            tally = kept.tally.as_dict()
            conversations.append(
                {
                    "id": str(conv),
                    "first": items[0].get("ts") if items else None,
                    "last": items[-1].get("ts") if items else None,
                    "users": sorted(kept.users),
                    "tenants": sorted(kept.tenants),
                    "models": sorted(kept.models),
                    "events": tally["events"],
                    "calls": tally["calls"],
                    "errors": tally["errors"],
                    "tokens_in": tally["tokens"]["prompt"],
                    "tokens_out": tally["tokens"]["completion"],
                    "cost_usd": tally["cost_usd"],
                    "turns": _lean(turns_of(items)),
                }
            )
        return {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
            "filters": {k: v for k, v in filters.items() if v},
            "total": total,
            "bucket": "hour" if hourly else "day",
            "series": _series(self.hours, hourly),
            "groups": {name: _top(groups) for name, groups in self.by.items()},
            "text_states": dict(sorted(self.states.items())),
            "conversations_shown": len(conversations),
            "limits": {"conversations": self.max_conversations, "events": MAX_EVENTS},
            "conversations": conversations,
        }


_LINKS_ONLY = ("id", "reply_to", "user_id", "tenant_id")


def _lean(turns: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Drop what only served to make the turns (ids) or is said once per conversation."""
    for turn in turns:
        for item in turn:
            for key in _LINKS_ONLY:
                item.pop(key, None)
    return turns


def _span_hours(first: str | None, last: str | None) -> float:
    try:
        a = datetime.fromisoformat(str(first).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(last).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if (a.tzinfo is None) != (b.tzinfo is None):
        return 0.0
    return (b - a).total_seconds() / 3600


def _brief(tally: Tally) -> dict[str, Any]:
    full = tally.as_dict()
    return {
        "calls": full["calls"],
        "errors": full["errors"],
        "error_rate": full["error_rate"],
        "tokens_in": full["tokens"]["prompt"],
        "tokens_out": full["tokens"]["completion"],
        "cost_usd": full["cost_usd"],
        "p50": full["latency_ms"]["p50"],
        "p95": full["latency_ms"]["p95"],
    }


def _series(hours: dict[str | None, Tally], hourly: bool) -> list[dict[str, Any]]:
    """One point per hour (or day) from the first to the last, empty ones included."""
    buckets: dict[str, Tally] = {}
    for hour, tally in hours.items():
        if hour is None:
            continue
        key = hour if hourly else hour[:10]
        into = buckets.get(key)
        if into is None:
            buckets[key] = into = Tally()
        _merge(into, tally)
    if not buckets:
        return []
    keys = sorted(buckets)
    step = 3600 if hourly else 86400
    fmt = "%Y-%m-%dT%H" if hourly else "%Y-%m-%d"
    try:
        start = datetime.strptime(keys[0], fmt).replace(tzinfo=UTC)
        end = datetime.strptime(keys[-1], fmt).replace(tzinfo=UTC)
    except ValueError:
        return [{"t": k, **_brief(buckets[k])} for k in keys]
    out = []
    n = int((end - start).total_seconds() // step)
    for i in range(n + 1):
        key = datetime.fromtimestamp(start.timestamp() + i * step, UTC).strftime(fmt)
        out.append({"t": key, **_brief(buckets.get(key) or Tally())})
    return out


def _top(groups: dict[Any, Tally]) -> dict[str, Any]:
    """The groups by cost (then calls), the first ``TOP_KEYS``; the rest summed."""
    ordered = sorted(groups.items(), key=lambda kt: (-kt[1].cost, -kt[1].calls, str(kt[0])))
    rows = [{"key": key, **_brief(t)} for key, t in ordered[:TOP_KEYS]]
    rest = Tally()
    for _key, t in ordered[TOP_KEYS:]:
        _merge(rest, t)
    return {
        "rows": rows,
        "others": len(ordered) - len(rows),
        "others_calls": rest.calls,
        "others_cost_usd": round(rest.cost, 9),
    }


def _lines(paths: list[Path], keep: Filter | None) -> Iterator[dict[str, Any]]:
    check = None if keep is None or keep.empty else keep
    for path in paths:
        for line in file_records(path):
            if check is None or check(line):
                yield line


def build(
    paths: Iterable[PathArg],
    *,
    keep: Filter | None = None,
    filters: dict[str, Any] | None = None,
    max_conversations: int = MAX_CONVERSATIONS,
    hold: int | None = None,
) -> dict[str, Any]:
    """Read the logs (files, folders, globs) and return the page's data: ``total`` (the
    numbers of ``hilt stats --json``), ``series`` (per hour, or per day past three days),
    ``groups`` (by model, user, tenant), and the ``max_conversations`` most recent
    conversations with their turns. ``hold``: how many conversations' events to keep in
    memory while reading (default: twice those shown, plus 200)."""
    found = files(*paths)
    builder = Builder(max_conversations=max_conversations, hold=hold)
    for line in _lines(found, keep):
        builder.add(line)
    wanted = builder.missing()
    if wanted:
        for line in _lines(found, keep):
            builder.readd(line, wanted)
    return builder.data(files=[str(p) for p in found], filters=filters or {})


# -- the page -----------------------------------------------------------------------------
def _asset(name: str) -> str:
    return (resources.files("hilt") / "_report_assets" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def csp(script: str, style: str) -> str:
    """Nothing may load, connect or be sent; only the page's own script and style run."""
    return (
        f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def json_for_html(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in (nor open a comment)."""
    text = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def page(data: dict[str, Any]) -> tuple[str, str]:
    """The HTML page of ``data`` and its Content-Security-Policy."""
    script = "\n" + _asset("report.js")
    style = "\n" + _asset("report.css")
    policy = csp(script, style)
    title = "HILT report"
    if data.get("files"):
        names = [Path(f).name for f in data["files"]]
        title += ": " + ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
    doc = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>{style}</style>\n"
        "</head><body>\n"
        '<noscript><p class="noscript">This report draws itself with JavaScript: '
        "allow scripts for this file to see it.</p></noscript>\n"
        '<div id="app"></div>\n'
        f'<script type="application/json" id="hilt-data">{json_for_html(data)}</script>\n'
        f"<script>{script}</script>\n"
        "</body></html>\n"
    )
    return doc, policy


def write(
    paths: list[str],
    output: str,
    *,
    keep: Filter | None,
    filters: dict[str, Any],
    max_conversations: int,
) -> tuple[int, dict[str, Any]]:
    """Write the page to ``output`` (``-``: stdout); return its size in bytes and data."""
    data = build(paths, keep=keep, filters=filters, max_conversations=max_conversations)
    doc, _policy = page(data)
    body = doc.encode("utf-8")
    if output == "-":
        import sys

        sys.stdout.write(doc)
        sys.stdout.flush()
    else:
        target = Path(output)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(body)
        tmp.replace(target)
    return len(body), data


# -- --serve ------------------------------------------------------------------------------
class _Live:
    """The page of the logs as they are now: built again when a file changed (or a new
    one matches the patterns), else served from the last build."""

    def __init__(
        self, paths: list[str], keep: Filter | None, filters: dict[str, Any], max_conv: int
    ) -> None:
        import threading

        self.paths, self.keep, self.filters, self.max_conv = paths, keep, filters, max_conv
        self.lock = threading.Lock()
        self.signature: tuple[Any, ...] | None = None
        self.body = b""
        self.policy = ""

    def _signature(self) -> tuple[Any, ...]:
        out = []
        for p in files(*self.paths):
            st = p.stat()
            out.append((str(p), st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def get(self) -> tuple[bytes, str]:
        with self.lock:
            sig = self._signature()
            if sig != self.signature:
                data = build(
                    self.paths,
                    keep=self.keep,
                    filters=self.filters,
                    max_conversations=self.max_conv,
                )
                data["live"] = True
                doc, self.policy = page(data)
                self.body, self.signature = doc.encode("utf-8"), sig
            return self.body, self.policy


def serve(
    paths: list[str],
    *,
    port: int,
    keep: Filter | None,
    filters: dict[str, Any],
    max_conversations: int,
    ready: Any = None,
) -> None:
    """Serve the page on 127.0.0.1:``port`` (0: any free port) until interrupted; each
    request reads the logs again if they changed. ``ready(url)`` is called once listening."""
    import logging
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from hilt_core import HILTError

    live = _Live(paths, keep, filters, max_conversations)
    log = logging.getLogger("hilt")

    class Handler(BaseHTTPRequestHandler):
        server_version = "hilt-report"
        sys_version = ""

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/", "/index.html"):
                self._send(404, b"not found\n", "text/plain; charset=utf-8", "default-src 'none'")
                return
            try:
                body, policy = live.get()
            except (HILTError, OSError) as exc:
                text = f"hilt report: cannot read the logs: {exc}\n"
                self._send(500, text.encode(), "text/plain; charset=utf-8", "default-src 'none'")
                return
            self._send(200, body, "text/html; charset=utf-8", policy)

        def _send(self, code: int, body: bytes, kind: str, policy: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", policy)
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("hilt report: " + format, *args)

    live.get()  # a log that cannot be read fails now, not at the first request
    with ThreadingHTTPServer(("127.0.0.1", port), Handler) as server:
        server.daemon_threads = True
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        if ready is not None:
            ready(url)
        server.serve_forever()
