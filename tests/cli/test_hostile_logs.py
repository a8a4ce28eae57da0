"""Logs that fight back: what a prompt, a model name or a broken writer puts in a log must
never take over the operator's terminal, and no line, however wrong, may end a command
with a traceback. Every command (and the reading API) reads the same hostile lines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt import Actor, Content, Event, Metrics

# What must not reach a terminal: C0 controls but the newline ending each line, DEL, C1
# controls (0x9b is a one-byte CSI on many terminals), and the bidi controls that make
# text read other than it is.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m\u202etxt.exe"


def _hostile_event_log(path: Path) -> Path:
    """A log HILT itself wrote, where the text and the names carry terminal escapes."""
    with hilt.Session(path) as session:
        prompt = Event(
            session_id="conv_\x1b[8mhidden",
            actor=Actor(type="human", id="user\x1b[5m"),
            action="prompt",
            content=Content(text=f"hello {ESCAPES}"),
            extensions={"user_id": "eve\nline two\x1b[1m"},
        )
        session.append(prompt)
        session.append(
            Event(
                session_id="conv_\x1b[8mhidden",
                actor=Actor(type="agent", id="openai"),
                action="completion",
                content=Content(text=f"answer {ESCAPES}"),
                metrics=Metrics(tokens={"prompt": 3, "completion": 4}, latency_ms=10.0),
                extensions={
                    "model": "evil\nmodel\x1b[31m",
                    "provider": "\x1b[2Jopenai",
                    "user_id": "eve\nline two\x1b[1m",
                    "status_code": 200,
                    "reply_to": prompt.event_id,
                },
            )
        )
        session.append(
            Event(
                session_id="conv_\x1b[8mhidden",
                actor=Actor(type="system", id="openai"),
                action="system",
                content=Content(text="RateLimitError"),
                extensions={"model": "evil\nmodel\x1b[31m", "status_code": "42\x1b[9"},
            )
        )
    return path


def _assert_safe(text: str) -> None:
    found = _UNSAFE.findall(text)
    assert not found, f"control characters reach the terminal: {found!r} in {text!r}"


# -- terminal escapes ------------------------------------------------------------------------
def test_tail_shows_escapes_as_text(run: Any, tmp_path: Path) -> None:
    log = _hostile_event_log(tmp_path / "app.jsonl")
    res = run("tail", log, "--width", "400")
    assert res.code == 0, res.err
    _assert_safe(res.out)
    _assert_safe(res.err)
    lines = res.out.splitlines()
    assert len(lines) == 3  # one line per event: no newline got through
    assert "\\x1b]0;pwned\\x07" in lines[0]  # shown, readable, inert


@pytest.mark.parametrize("by", ["model", "conversation", "user", "provider", "day"])
def test_stats_table_shows_escapes_as_text(run: Any, tmp_path: Path, by: str) -> None:
    log = _hostile_event_log(tmp_path / "app.jsonl")
    res = run("stats", log, "--by", by)
    assert res.code == 0, res.err
    _assert_safe(res.out)
    _assert_safe(res.err)
    groups = json.loads(run("stats", log, "--by", by, "--json").out)["groups"]
    table = res.out.split("\n\n")[1].splitlines()
    assert len(table) == len(groups) + 3, res.out  # titles, the groups, the rule, the total
    assert len({len(line) for line in table}) == 1, res.out  # no name breaks the columns


def test_stats_json_keeps_the_names_exactly(run: Any, tmp_path: Path) -> None:
    log = _hostile_event_log(tmp_path / "app.jsonl")
    res = run("stats", log, "--json")
    assert res.code == 0, res.err
    _assert_safe(res.out)  # JSON escapes them
    data = json.loads(res.out)
    assert data["groups"][0]["key"] == "evil\nmodel\x1b[31m"


def test_warnings_and_errors_show_escapes_as_text(run: Any, tmp_path: Path) -> None:
    log = _hostile_event_log(tmp_path / "app.jsonl")
    with log.open("ab") as fh:  # an invalid event, named by its id in the warning
        fh.write(b'{"event_id":"\\u001b[2Jx","session_id":"c","actor":"bob","action":"prompt"}\n')
    for command in (["tail"], ["export"], ["validate"]):
        res = run(command[0], log, *command[1:])
        assert res.code in (0, 1), res.err
        _assert_safe(res.err)
        if command[0] != "export":
            _assert_safe(res.out)


# -- lines of the wrong shape ----------------------------------------------------------------
GOOD = {
    "hilt_version": "1.0",
    "event_id": "good-1",
    "timestamp": "2026-01-01T00:00:00+00:00",
    "session_id": "conv_aaaaaaaaaaaa",
    "actor": {"type": "agent", "id": "openai"},
    "action": "completion",
    "content": {"text": "Paris."},
    "metrics": {"tokens": {"prompt": 1, "completion": 2}, "cost_usd": 0.5, "latency_ms": 5.0},
    "extensions": {"model": "m", "user_id": "u", "provider": "openai", "status_code": 200},
}


def _with(path: str, value: Any) -> bytes:
    """The good event, as a line, with the field at ``path`` (a.b.c) set to ``value``."""
    event = json.loads(json.dumps(GOOD))
    event["event_id"] = "bad-1"
    *parents, last = path.split(".")
    node = event
    for key in parents:
        node = node[key]
    node[last] = value
    return json.dumps(event).encode()


def _raw(path: str, text: str) -> bytes:
    """As :func:`_with`, with ``text`` written as it is (for what json.dumps refuses)."""
    return _with(path, "@@").replace(b'"@@"', text.encode())


HOSTILE: dict[str, bytes] = {
    "numeric timestamp": _with("timestamp", 1767225600),
    "string token count": _with("metrics.tokens.prompt", "12"),
    "word token count": _with("metrics.tokens.completion", "many"),
    "NaN latency": _raw("metrics.latency_ms", "NaN"),
    "infinite cost": _raw("metrics.cost_usd", "1e999"),
    "huge integer tokens": _raw("metrics.tokens.prompt", "1" + "0" * 30),
    "huge float latency": _with("metrics.latency_ms", 1e308),
    "negative tokens": _with("metrics.tokens.prompt", -5),
    "boolean tokens": _with("metrics.tokens.prompt", True),
    "metrics a string": _with("metrics", "x"),
    "tokens a list": _with("metrics.tokens", [1, 2]),
    "cost a list": _with("metrics.cost_usd", [1]),
    "latency a word": _with("metrics.latency_ms", "slow"),
    "extensions a list": _with("extensions", [1, 2]),
    "model an object": _with("extensions.model", {"name": "m"}),
    "user a list": _with("extensions.user_id", ["u"]),
    "status an object": _with("extensions.status_code", {"code": 500}),
    "session_id a list": _with("session_id", ["conv"]),
    "event_id an object": _with("event_id", {"id": 1}),
    "actor a string": _with("actor", "bob"),
    "content a string": _with("content", "hi"),
    "text a number": _with("content.text", 42),
    "action a list": _with("action", ["completion"]),
    "nested beyond the decoder's limit": _raw("content.metadata", "[" * 5000 + "]" * 5000),
    "nested deep": _raw("content.metadata", "[" * 1000 + "]" * 1000),
}


# Well-formed JSON the format's schema accepts (it sets no upper bound on numbers), but
# that stats does not believe.
SCHEMA_VALID = {"nested deep", "huge integer tokens", "huge float latency"}


def _hostile_log(tmp_path: Path, case: str) -> Path:
    log = tmp_path / "hostile.jsonl"
    log.write_bytes(json.dumps(GOOD).encode() + b"\n" + HOSTILE[case] + b"\n")
    return log


COMMANDS = [
    ["stats"],
    ["stats", "--json"],
    ["stats", "--by", "day"],
    ["stats", "--by", "conversation"],
    ["stats", "--by", "user"],
    ["stats", "--by", "provider", "--json"],
    ["stats", "--by", "none"],
    ["stats", "--model", "m", "--user", "u", "--conversation", "conv_aaaaaaaaaaaa"],
    ["stats", "--action", "completion", "--since", "2025-01-01", "--json"],
    ["tail", "--width", "200"],
    ["export"],
    ["export", "--to", "parquet", "-o", "{tmp}/out.parquet"],
    ["validate"],
    ["validate", "--lenient"],
]


@pytest.mark.parametrize("case", list(HOSTILE))
def test_no_command_ends_in_a_traceback(run: Any, tmp_path: Path, case: str) -> None:
    """Every command reads past the line: no traceback (``run`` would raise), the good
    line is still counted, and validate names the bad one."""
    log = _hostile_log(tmp_path, case)
    for command in COMMANDS:
        if "parquet" in command:
            pytest.importorskip("pyarrow")
        args = [a.replace("{tmp}", str(tmp_path)) for a in command]
        res = run(args[0], log, *args[1:])
        expected = (0, 1) if args[0] == "validate" else (0,)
        assert res.code in expected, (command, res.err)
        if args == ["stats", "--json"]:
            assert json.loads(res.out)["total"]["calls"] >= 1
        if args[0] == "tail":
            assert "Paris." in res.out
        if args == ["validate"] and case not in SCHEMA_VALID:
            assert res.code == 1
            assert f"{log}:2: " in res.out  # the bad line is named


@pytest.mark.parametrize("case", list(HOSTILE))
def test_the_reading_api_skips_or_reads_every_hostile_line(tmp_path: Path, case: str) -> None:
    from hilt import reading

    log = _hostile_log(tmp_path, case)
    assert len(list(reading.records(log))) in (1, 2)
    assert next(iter(reading.events(log))).event_id == "good-1"
    assert list(reading.events(log, since="2025-01-01", model="m", user="u"))
    assert next(iter(reading.rows(log)))["event_id"] == "good-1"
    pytest.importorskip("pandas")
    frame = reading.dataframe(log)
    assert frame["event_id"][0] == "good-1"


def _stats(run: Any, log: Path, *args: str) -> tuple[dict[str, Any], str]:
    res = run("stats", log, "--json", *args)
    assert res.code == 0, res.err
    return json.loads(res.out), res.err


def test_stats_reads_a_token_count_written_as_a_string(run: Any, tmp_path: Path) -> None:
    data, err = _stats(run, _hostile_log(tmp_path, "string token count"))
    assert data["total"]["tokens"]["prompt"] == 1 + 12
    assert "wrong type" in err
    assert "metrics.tokens.prompt '12' read as 12" in err


@pytest.mark.parametrize(
    "case",
    [
        "word token count",
        "huge integer tokens",
        "negative tokens",
        "boolean tokens",
        "tokens a list",
        "metrics a string",
    ],
)
def test_stats_leaves_out_token_counts_it_cannot_read(run: Any, tmp_path: Path, case: str) -> None:
    data, err = _stats(run, _hostile_log(tmp_path, case))
    assert data["total"]["calls"] == 2  # the call is counted...
    tokens = data["total"]["tokens"]
    assert tokens["prompt"] in (1, 2)  # ...not the value it cannot read
    assert tokens["completion"] in (2, 4)
    assert type(tokens["prompt"]) is int
    assert "wrong type" in err


def test_stats_with_a_numeric_timestamp(run: Any, tmp_path: Path) -> None:
    log = _hostile_log(tmp_path, "numeric timestamp")
    data, err = _stats(run, log)
    assert data["total"]["events"] == 2
    assert data["total"]["first"] == data["total"]["last"] == GOOD["timestamp"]
    assert "timestamp 1767225600 is not a string" in err
    by_day, _ = _stats(run, log, "--by", "day")
    assert {g["key"]: g["calls"] for g in by_day["groups"]} == {"2026-01-01": 1, None: 1}


@pytest.mark.parametrize("case", ["huge float latency", "latency a word", "cost a list"])
def test_stats_leaves_out_amounts_it_cannot_read(run: Any, tmp_path: Path, case: str) -> None:
    data, err = _stats(run, _hostile_log(tmp_path, case))
    assert data["total"]["latency_ms"]["max"] in (5.0, None)
    assert data["total"]["cost_usd"] in (0.5, 1.0)
    assert "wrong type" in err


@pytest.mark.parametrize("case", ["model an object", "user a list", "session_id a list"])
def test_stats_groups_by_a_name_that_is_not_a_string(run: Any, tmp_path: Path, case: str) -> None:
    log = _hostile_log(tmp_path, case)
    for by in ("model", "user", "conversation"):
        data, err = _stats(run, log, "--by", by)
        assert sum(g["calls"] for g in data["groups"]) == 2
        assert all(g["key"] is None or type(g["key"]) is str for g in data["groups"])
        if by in case or case.startswith("session_id"):  # the name was used: and said so
            assert "wrong type" in err


@pytest.mark.parametrize("case", ["actor a string", "content a string", "text a number"])
def test_export_skips_an_event_of_the_wrong_shape_and_says_why(
    run: Any, tmp_path: Path, case: str
) -> None:
    res = run("export", _hostile_log(tmp_path, case), "--columns", "event_id")
    assert res.code == 0, res.err
    assert res.out.split() == ["event_id", "good-1"]
    assert "skipped an invalid event bad-1" in res.err
    assert "not an object" in res.err or "not a string" in res.err


def test_parquet_leaves_empty_what_does_not_fit_a_column_and_says_so(
    run: Any, tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    log = tmp_path / "log.jsonl"
    log.write_bytes(
        b"\n".join(
            [
                json.dumps(GOOD).encode(),
                HOSTILE["numeric timestamp"],
                HOSTILE["string token count"],
                HOSTILE["word token count"],
                _raw("metrics.tokens.prompt", "1" + "0" * 30),
            ]
        )
        + b"\n"
    )
    out = tmp_path / "out.parquet"
    res = run("export", log, "-o", out)
    assert res.code == 0, res.err
    data = pq.read_table(out).to_pydict()
    assert data["timestamp"][1] is None
    assert data["tokens_in"][2] == 12  # a number written as a string is read
    assert data["tokens_out"][3] is None
    assert data["tokens_in"][4] is None  # beyond 64 bits
    assert "3 values could not be stored as their column's type" in res.err


def test_dataframe_leaves_missing_what_does_not_fit_a_column(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("pandas")
    from hilt import reading

    log = tmp_path / "log.jsonl"
    log.write_bytes(
        json.dumps(GOOD).encode()
        + b"\n"
        + HOSTILE["numeric timestamp"]
        + b"\n"
        + HOSTILE["huge integer tokens"]
        + b"\n"
    )
    frame = reading.dataframe(log)
    assert len(frame) == 3
    assert frame["timestamp"].isna().tolist() == [False, True, False]
    assert frame["tokens_in"].isna().tolist() == [False, False, True]
    assert "2 values could not be stored as their column's type" in caplog.text
