"""The reading API: events from many files and globs, lazily, with filters; flat rows
that match the Sheets columns; a pandas DataFrame in one call."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

import hilt
from hilt import reading
from hilt_core import HILTError
from hilt_core.columns import row
from hilt_core.decode import decode_line


def test_events_are_the_written_events(library_log: Path) -> None:
    events = list(hilt.read_events(library_log))
    assert len(events) == 12
    assert [e.action for e in events[:2]] == ["prompt", "completion"]
    assert events[1].extensions is not None
    assert events[1].extensions["reply_to"] == events[0].event_id
    assert events[1].metrics is not None
    assert events[1].metrics.tokens == {
        "prompt": 100,
        "completion": 20,
        "total": 120,
        "cached": 0,
        "reasoning": 0,
    }


def test_events_are_lazy(library_log: Path) -> None:
    it = reading.events(library_log)
    first = next(it)
    assert first.action == "prompt"
    library_log.unlink()  # the file is open: reading goes on
    assert sum(1 for _ in it) == 11


def test_many_files_and_globs(tmp_path: Path, log_writer: Any, legacy_log: Path) -> None:
    log_writer(tmp_path / "logs" / "a.jsonl")
    log_writer(tmp_path / "logs" / "b.jsonl")
    assert len(list(reading.events(tmp_path / "logs" / "*.jsonl"))) == 24
    assert len(list(reading.events(str(tmp_path / "**" / "*.jsonl")))) == 32
    both = reading.files(tmp_path / "logs" / "a.jsonl", str(tmp_path / "logs" / "*.jsonl"))
    assert [p.name for p in both] == ["a.jsonl", "b.jsonl"]  # each file once, in order


@pytest.mark.parametrize(
    ("filters", "count"),
    [
        ({"action": "completion"}, 4),
        ({"action": ["completion", "system"]}, 6),
        ({"conversation": "conv_aaaaaaaaaaaa"}, 4),
        ({"model": "gpt-4o-mini"}, 4),  # prompts name the model asked for, answers both
        ({"model": "gpt-4o-mini-2024-07-18"}, 2),
        ({"user": "bob"}, 6),
        ({"since": "2025-03-31"}, 8),
        ({"since": date(2025, 3, 31)}, 8),
        ({"until": datetime(2025, 3, 31, tzinfo=UTC)}, 4),
        ({"since": "2025-03-31T00:01:00", "until": "2025-03-31T00:02:00"}, 2),
        ({"since": "24h"}, 0),
        ({"user": "alice", "action": "system"}, 1),
    ],
)
def test_filters(library_log: Path, filters: dict[str, Any], count: int) -> None:
    assert len(list(reading.events(library_log, **filters))) == count


def test_a_bad_time_says_what_is_expected() -> None:
    with pytest.raises(HILTError, match="ISO date"):
        reading.parse_time("yesterday-ish")


def test_hilt_028_events(legacy_log: Path) -> None:
    events = list(reading.events(legacy_log))
    assert len(events) == 8
    answer = events[1]
    assert answer.hilt_version == "0.2"
    assert answer.metrics is not None
    assert answer.metrics.cost_usd == pytest.approx(0.000006)
    errors = list(reading.events(legacy_log, action="system"))
    assert errors[0].extensions is not None
    assert errors[0].extensions["status_code"] == 429


def test_flat_rows_match_the_sheets_columns(
    library_log: Path, legacy_log: Path, tmp_path: Path, log_writer: Any
) -> None:
    """flat_row (from the dict, fast) gives what hilt_core.columns.row gives on the event."""
    for path in (library_log, legacy_log):
        for line in path.read_bytes().splitlines():
            data = orjson.loads(line)
            assert reading.flat_row(data, 500) == row(decode_line(line), 500), line


def test_flat_rows_of_the_columns_form(tmp_path: Path, log_writer: Any) -> None:
    """A columns= log already holds flat rows: they come back as written, the columns it
    left out empty (not made up: no fresh event_id, no timestamp of today)."""
    cols = ["conversation_id", "speaker", "action", "message", "cost_usd", "tokens_in"]
    rows_log = log_writer(tmp_path / "rows.jsonl", columns=cols)
    for line in rows_log.read_bytes().splitlines():
        data = orjson.loads(line)
        flat = reading.flat_row(data)
        assert {c: flat[c] for c in cols} == data
        assert flat["session"] == "Conv." + data["conversation_id"][5:13]
        assert flat["event_id"] == flat["timestamp"] == flat["model"] == ""


def test_rows_select_columns(library_log: Path) -> None:
    got = list(reading.rows(library_log, columns=["model", "tokens_in"], action="completion"))
    assert got[0] == {"model": "gpt-4o-2024-08-06", "tokens_in": 100}
    with pytest.raises(HILTError, match="Unknown columns"):
        list(reading.rows(library_log, columns=["modle"]))


def test_torn_last_line_is_skipped_with_a_warning(
    library_log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with library_log.open("ab") as fh:
        fh.write(b'{"hilt_version":"1.0","event_id":"x","timest')  # a crash mid-write
    with caplog.at_level(logging.WARNING, logger="hilt"):
        assert len(list(reading.events(library_log))) == 12
    assert "torn last line" in caplog.text
    assert f"{library_log}:13" in caplog.text
    with pytest.raises(HILTError, match="torn last line"):
        list(reading.events(library_log, strict=True))


def test_invalid_lines_are_named_then_counted(
    library_log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with library_log.open("ab") as fh:
        fh.write(b"not json\n" * 8)
    with caplog.at_level(logging.WARNING, logger="hilt"):
        assert len(list(reading.events(library_log))) == 12
    assert caplog.text.count("invalid line") == 6  # five named, then a count
    assert "HILT skipped 8 invalid lines" in caplog.text


def test_input_errors(tmp_path: Path) -> None:
    with pytest.raises(HILTError, match="File not found"):
        list(reading.events(tmp_path / "nope.jsonl"))
    with pytest.raises(HILTError, match=r"is a directory with no \*\.jsonl file in it"):
        list(reading.events(tmp_path))
    with pytest.raises(HILTError, match="No file matches"):
        list(reading.events(str(tmp_path / "*.jsonl")))
    other = tmp_path / "package.json"
    other.write_text('{\n  "name": "left-pad",\n  "version": "1.3.0"\n}\n')
    with pytest.raises(HILTError, match="is not a HILT log"):
        list(reading.events(other))
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n')
    with pytest.raises(HILTError, match="is not a HILT log: its first line is not a HILT event"):
        list(reading.events(records))


def test_dataframe(library_log: Path, legacy_log: Path) -> None:
    pd = pytest.importorskip("pandas")
    df = hilt.to_dataframe(library_log, legacy_log)
    assert len(df) == 20
    assert str(df["timestamp"].dtype).startswith("datetime64")
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert df["tokens_in"].dtype == "Int64"
    assert df["cost_usd"].dtype == "float64"
    answers = df[df["action"] == "completion"]
    assert answers["tokens_in"].sum() == 360 + 45
    assert answers["cost_usd"].sum() == pytest.approx(0.0013635 + 0.000065)
    assert pd.isna(df.loc[0, "tokens_in"])  # a prompt has no tokens: missing, not ""
    small = reading.dataframe(library_log, columns=["model", "latency_ms"], action="system")
    assert list(small.columns) == ["model", "latency_ms"]
    assert small["latency_ms"].tolist() == [50.0, 500.0]
