"""The data ``hilt report`` builds its page from: the same numbers as ``hilt stats
--json``, turns in order, text that was not kept said so, a bounded page, escaping."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from hilt import _report
from hilt.cli import main

_DATA = re.compile(r'<script type="application/json" id="hilt-data">(.*?)</script>', re.DOTALL)
# What both show; "files" and "group_by" differ by design.
TOTAL_KEYS = (
    "events",
    "calls",
    "errors",
    "error_rate",
    "errors_by_status",
    "tokens",
    "cost_usd",
    "unpriced_calls",
    "latency_ms",
    "conversations",
    "first",
    "last",
)


def hilt(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def stats_total(capsys: pytest.CaptureFixture[str], *args: Any) -> dict[str, Any]:
    code, out, err = hilt(capsys, "stats", *args, "--json")
    assert code == 0, err
    total: dict[str, Any] = json.loads(out)["total"]
    return total


def page_data(html: str) -> dict[str, Any]:
    m = _DATA.search(html)
    assert m, "the page carries no data"
    data: dict[str, Any] = json.loads(m.group(1))
    return data


def report_data(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: Any) -> dict[str, Any]:
    out = tmp_path / "report.html"
    code, _out, err = hilt(capsys, "report", *args, "-o", out)
    assert code == 0, err
    return page_data(out.read_text(encoding="utf-8"))


def rotated(tmp_path: Path, source: Path) -> str:
    """``source`` cut in two files, as rotation leaves them; returns their glob."""
    lines = source.read_bytes().splitlines(keepends=True)
    folder = tmp_path / "rotated"
    folder.mkdir()
    (folder / "app.20261204T000000.jsonl").write_bytes(b"".join(lines[:5]))
    (folder / "app.jsonl").write_bytes(b"".join(lines[5:]))
    return str(folder / "app*.jsonl")


# -- the numbers --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "which", ["provider", "metadata", "legacy", "legacy_columns", "rotated", "columns"]
)
def test_totals_are_hilt_stats_json(
    which: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from conftest import write_provider_log

    if which == "rotated":
        log: Any = rotated(tmp_path, request.getfixturevalue("provider_log"))
    elif which == "columns":
        log = write_provider_log(
            tmp_path / "columns.jsonl",
            columns=[
                "timestamp",
                "conversation_id",
                "action",
                "tokens_in",
                "tokens_out",
                "cost_usd",
                "latency_ms",
                "model",
                "status_code",
                "user_id",
            ],
        )
    else:
        log = request.getfixturevalue(f"{which}_log")
    expected = stats_total(capsys, log)
    assert expected["calls"] > 0
    got = report_data(capsys, tmp_path, log)["total"]
    assert {k: got[k] for k in TOTAL_KEYS} == {k: expected[k] for k in TOTAL_KEYS}


@pytest.mark.parametrize(
    "filters",
    [
        ["--user", "bob"],
        ["--model", "gpt-4o"],
        ["--conversation", "ticket-4521"],
        ["--until", "2000-01-01"],
    ],
)
def test_filters_as_in_hilt_stats(
    filters: list[str], provider_log: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    expected = stats_total(capsys, provider_log, *filters)
    data = report_data(capsys, tmp_path, provider_log, *filters)
    assert {k: data["total"][k] for k in TOTAL_KEYS} == {k: expected[k] for k in TOTAL_KEYS}
    assert data["filters"]


def test_since_keeps_the_later_calls(
    provider_log: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    middle = sorted(json.loads(x)["timestamp"] for x in provider_log.read_text().splitlines())[5]
    expected = stats_total(capsys, provider_log, "--since", middle)
    got = report_data(capsys, tmp_path, provider_log, "--since", middle)["total"]
    assert 0 < got["calls"] < 5
    assert {k: got[k] for k in TOTAL_KEYS} == {k: expected[k] for k in TOTAL_KEYS}


def test_series_and_groups_add_up(provider_log: Path) -> None:
    data = _report.build([provider_log])
    total = data["total"]
    assert data["bucket"] == "hour"
    series = data["series"]
    hours = [p["t"] for p in series]
    assert hours == sorted(hours)
    assert len(hours) >= 2
    assert sum(p["calls"] for p in series) == total["calls"]
    assert sum(p["errors"] for p in series) == total["errors"]
    assert sum(p["cost_usd"] for p in series) == pytest.approx(total["cost_usd"])
    for name in ("model", "user", "tenant"):
        rows = data["groups"][name]["rows"]
        assert sum(r["calls"] for r in rows) == total["calls"], name
    users = {r["key"]: r for r in data["groups"]["user"]["rows"]}
    assert set(users) == {"alice", "bob"}
    assert (users["alice"]["calls"], users["bob"]["calls"], users["bob"]["errors"]) == (3, 2, 1)
    assert {r["key"] for r in data["groups"]["tenant"]["rows"]} == {"acme", "globex"}


def test_a_long_window_is_charted_by_day_with_empty_days(tmp_path: Path) -> None:
    log = tmp_path / "days.jsonl"
    lines = []
    for day in (1, 2, 6):
        ts = f"2026-11-0{day}T10:00:00+00:00"
        lines.append(
            {
                "timestamp": ts,
                "session_id": f"c{day}",
                "actor": {"type": "agent", "id": "x"},
                "action": "completion",
                "metrics": {"cost_usd": 1.5, "latency_ms": 10.0},
                "extensions": {"model": "m"},
            }
        )
    log.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    data = _report.build([log])
    assert data["bucket"] == "day"
    assert [p["t"] for p in data["series"]] == [f"2026-11-0{d}" for d in range(1, 7)]
    assert [p["calls"] for p in data["series"]] == [1, 1, 0, 0, 0, 1]


def test_groups_beyond_the_top_are_summed(
    provider_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_report, "TOP_KEYS", 1)
    group = _report.build([provider_log])["groups"]["user"]
    assert [r["key"] for r in group["rows"]] == ["alice"]  # the most cost
    assert (group["others"], group["others_calls"]) == (1, 2)


# -- conversations ------------------------------------------------------------------------
def texts(turn: list[dict[str, Any]]) -> list[Any]:
    return [(it["action"], it.get("text")) for it in turn]


def test_a_conversation_reads_in_turns(provider_log: Path) -> None:
    data = _report.build([provider_log])
    convs = {c["id"]: c for c in data["conversations"]}
    assert [c["id"] for c in data["conversations"]] == [
        "ticket-4522",
        "ticket-4521",
    ]  # newest first
    ticket = convs["ticket-4521"]
    assert (ticket["users"], ticket["tenants"], ticket["calls"], ticket["errors"]) == (
        ["alice"],
        ["acme"],
        3,
        0,
    )
    turns = ticket["turns"]
    assert [len(t) for t in turns] == [2, 2, 2]
    first, second, third = turns
    assert first[1]["tool_calls"][0]["name"] == "get_order"
    assert first[1]["finish_reason"] == "tool_calls"
    assert [m["role"] for m in second[0]["messages"]] == ["tool"]
    assert third[0]["text"] == "Thanks, and when will it arrive?"
    assert third[1]["text"].startswith("Echo: Thanks")
    for turn in turns:
        answer = turn[1]
        assert answer["tokens_in"] > 0
        assert answer["latency_ms"] > 0
        assert answer["cost"] > 0
    failed = convs["ticket-4522"]["turns"][1]
    assert failed[1]["error"] == "RateLimitError"
    assert failed[1]["status_code"] == 429
    assert sum(1 for t in turns for it in t if it.get("cost")) == 3
    assert sum(it["cost"] for t in turns for it in t if "cost" in it) == pytest.approx(
        ticket["cost_usd"]
    )


def test_answers_follow_their_prompts_when_calls_interleave() -> None:
    items = [
        {"action": "prompt", "id": "p1", "text": "one"},
        {"action": "prompt", "id": "p2", "text": "two"},
        {"action": "completion", "call": True, "reply_to": "p2", "text": "answer two"},
        {"action": "completion", "call": True, "reply_to": "p1", "text": "answer one"},
        {"action": "feedback", "text": "thanks"},
        {"action": "prompt", "text": "three (a 0.2.8 columns row: no ids)"},
        {"action": "completion", "call": True, "text": "answer three"},
    ]
    assert [[it["text"] for it in turn] for turn in _report.turns_of(items)] == [
        ["one", "answer one"],
        ["two", "answer two"],
        ["thanks"],
        ["three (a 0.2.8 columns row: no ids)", "answer three"],
    ]


def test_legacy_log_reads_as_a_conversation(legacy_log: Path) -> None:
    data = _report.build([legacy_log])
    turns = [t for c in data["conversations"] for t in c["turns"]]
    assert turns
    assert all(t[0]["action"] == "prompt" for t in turns)
    answered = [t for t in turns if len(t) == 2]
    assert answered
    assert all(t[1]["state"] == "text" for t in answered)
    assert any(t[1].get("cost") for t in answered)  # 0.2.8's cost strings are numbers


def states(log: Path) -> set[tuple[str, Any]]:
    data = _report.build([log])
    return {
        (it["state"], it.get("why"))
        for c in data["conversations"]
        for t in c["turns"]
        for it in t
        if it["action"] in ("prompt", "completion")
    }


def test_logs_without_text_say_why(metadata_log: Path, hash_log: Path, tmp_path: Path) -> None:
    from conftest import write_provider_log

    assert states(metadata_log) == {("none", "metadata")}
    assert states(hash_log) == {("hash", None)}
    assert _report.build([metadata_log])["text_states"] == {
        "none:metadata": 9
    }  # 5 prompts, 4 answers
    columns = write_provider_log(
        tmp_path / "cols.jsonl", columns=["timestamp", "conversation_id", "action", "tokens_in"]
    )
    assert states(columns) == {("none", "columns")}
    failed = _report.item_of(
        {
            "session_id": "c",
            "actor": {"type": "human", "id": "u"},
            "action": "prompt",
            "extensions": {"hilt_redaction": "redactor_failed:pii"},
        }
    )
    assert (failed["state"], failed["why"]) == ("removed", "redactor_failed:pii")
    embeddings = _report.item_of(
        {
            "session_id": "c",
            "actor": {"type": "agent", "id": "openai"},
            "action": "completion",
            "extensions": {"embeddings": 3, "dimensions": 8},
        }
    )
    assert (embeddings["state"], embeddings["why"], embeddings["embeddings"]) == (
        "none",
        "embeddings",
        3,
    )


def test_long_texts_are_cut(tmp_path: Path) -> None:
    item = _report.item_of(
        {
            "session_id": "c",
            "actor": {"type": "human", "id": "u"},
            "action": "prompt",
            "content": {"text": "x" * (_report.MAX_TEXT + 5)},
        }
    )
    assert (len(item["text"]), item["cut"]) == (_report.MAX_TEXT, 5)


# -- size: the most recent conversations --------------------------------------------------
def conversation_log(path: Path, order: list[str]) -> Path:
    """One prompt and one answer per entry of ``order`` (a conversation id), a minute apart."""
    lines = []
    for n, conv in enumerate(order):
        ts = f"2026-11-20T10:{n:02d}:00+00:00"
        lines.append(
            {
                "event_id": f"p{n}",
                "timestamp": ts,
                "session_id": conv,
                "actor": {"type": "human", "id": "user"},
                "action": "prompt",
                "content": {"text": f"question {n} of {conv}"},
            }
        )
        lines.append(
            {
                "event_id": f"a{n}",
                "timestamp": ts.replace(":00+", ":01+"),
                "session_id": conv,
                "actor": {"type": "agent", "id": "openai"},
                "action": "completion",
                "content": {"text": f"answer {n}"},
                "metrics": {"tokens": {"prompt": 1, "completion": 1}, "cost_usd": 0.5},
                "extensions": {"reply_to": f"p{n}", "model": "m", "status_code": 200},
            }
        )
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return path


def test_the_page_holds_the_most_recent_conversations(tmp_path: Path) -> None:
    log = conversation_log(tmp_path / "log.jsonl", ["a", "b", "c", "d", "e"])
    data = _report.build([log], max_conversations=2)
    assert data["total"]["conversations"] == 5
    assert data["total"]["calls"] == 5  # the overview counts every conversation
    assert [c["id"] for c in data["conversations"]] == ["e", "d"]
    assert _report.build([log], max_conversations=0)["conversations"] == []


def test_the_page_holds_a_bounded_number_of_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_report, "MAX_EVENTS", 5)
    log = conversation_log(tmp_path / "log.jsonl", ["a", "b", "c", "d", "e"])
    assert [c["id"] for c in _report.build([log])["conversations"]] == ["e", "d"]  # 4 events
    monkeypatch.setattr(_report, "MAX_EVENTS", 1)
    assert [c["id"] for c in _report.build([log])["conversations"]] == ["e"]  # one at least


def test_memory_holds_a_bounded_number_of_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Conversations that all come back (the ids repeat through the log) never make a new
    # one arrive: the bound must hold all the same.
    monkeypatch.setattr(_report, "MAX_EVENTS", 1)  # holds 10 events
    log = conversation_log(tmp_path / "log.jsonl", list("abcdef") * 3)  # 6 events each
    builder = _report.Builder(max_conversations=3)
    most = 0
    for line in _report._lines([log], None):
        builder.add(line)
        most = max(most, builder.held_events)
    assert most <= 10
    assert builder.let_go
    monkeypatch.setattr(_report, "MAX_EVENTS", 100)
    data = _report.build([log], max_conversations=3)
    assert [c["calls"] for c in data["conversations"]] == [3, 3, 3]


def test_a_conversation_let_go_while_reading_is_read_again(tmp_path: Path) -> None:
    # "a" opens, three others pass (holding one conversation, "a" is let go), "a" ends last.
    log = conversation_log(tmp_path / "log.jsonl", ["a", "b", "c", "d", "a"])
    data = _report.build([log], max_conversations=1, hold=1)
    (conv,) = data["conversations"]
    assert conv["id"] == "a"
    assert [t[0]["text"] for t in conv["turns"]] == ["question 0 of a", "question 4 of a"]
    assert (conv["calls"], conv["cost_usd"]) == (2, 1.0)


# -- the page -----------------------------------------------------------------------------
def test_json_cannot_leave_its_script_element() -> None:
    data = {"text": "</script><script>alert(1)</script><!-- & \u2028\u2029 </SCRIPT>"}
    text = _report.json_for_html(data)
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "\u2028" not in text
    assert "\u2029" not in text
    assert orjson.loads(text) == data


def test_the_policy_allows_only_the_page_s_own_script_and_style(provider_log: Path) -> None:
    doc, policy = _report.page(_report.build([provider_log]))
    assert f'content="{policy}"' in doc.replace("&#x27;", "'")
    assert "default-src 'none'" in policy
    assert "unsafe" not in policy
    scripts = re.findall(r"<script>(.*?)</script>", doc, re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", doc, re.DOTALL)
    assert len(scripts) == 1
    assert len(styles) == 1
    for body, directive in ((scripts[0], "script-src"), (styles[0], "style-src")):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy
    links = doc.replace('"http://www.w3.org/2000/svg"', "")  # a name, not an address
    assert "http://" not in links
    assert "https://" not in links


def test_the_injected_prompt_is_data_only(provider_log: Path) -> None:
    from conftest import INJECTION

    doc, _policy = _report.page(_report.build([provider_log]))
    assert INJECTION not in doc
    assert doc.count("<script") == 2  # the data, the page's own script
    said = [it.get("text") for c in page_data(doc)["conversations"] for t in c["turns"] for it in t]
    assert INJECTION in said


# -- the command --------------------------------------------------------------------------
def test_default_output_and_stdout(
    provider_log: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = hilt(capsys, "report", provider_log)
    assert code == 0
    assert out == ""
    assert "wrote hilt-report.html" in err
    assert "5 calls, 2 conversations" in err
    assert page_data((tmp_path / "hilt-report.html").read_text())["total"]["calls"] == 5
    code, out, err = hilt(capsys, "report", provider_log, "-o", "-")
    assert code == 0
    assert page_data(out)["total"]["calls"] == 5


def test_unreadable_input_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = hilt(capsys, "report", tmp_path / "nope.jsonl", "-o", tmp_path / "r.html")
    assert code == 2
    assert "File not found" in err
    assert not (tmp_path / "r.html").exists()


def test_a_folder_of_logs(
    provider_log: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(provider_log, folder / "a.jsonl")
    shutil.copy(provider_log, folder / "b.jsonl")
    data = report_data(capsys, tmp_path, folder)
    assert data["total"]["calls"] == 10
    assert len(data["files"]) == 2
