"""``hilt export``: flat rows with the Sheets column vocabulary, as CSV or Parquet."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from hilt_core.columns import KNOWN_COLUMNS


def test_csv_to_stdout(run: Any, library_log: Path) -> None:
    res = run("export", library_log, "--to", "csv")
    assert res.code == 0, res.err
    rows = list(csv.DictReader(io.StringIO(res.out)))
    assert len(rows) == 12
    assert list(rows[0]) == list(KNOWN_COLUMNS)
    answer = rows[1]
    assert answer["speaker"] == "agent: openai"
    assert answer["session"] == "Conv.aaaaaaaa"
    assert (answer["tokens_in"], answer["tokens_out"], answer["total_tokens"]) == (
        "100",
        "20",
        "120",
    )
    assert answer["cost_usd"] == "0.00045"
    assert answer["latency_ms"] == "100.0"
    assert answer["model"] == "gpt-4o-2024-08-06"
    assert answer["status_code"] == "200"
    assert answer["reply_to"] == rows[0]["event_id"]
    assert answer["user_id"] == "alice"
    assert rows[0]["tokens_in"] == ""  # absent stays empty
    assert res.err == ""


def test_csv_file_columns_filters(
    run: Any, library_log: Path, legacy_log: Path, tmp_path: Path
) -> None:
    out = tmp_path / "calls.csv"
    res = run(
        "export",
        library_log,
        legacy_log,
        "-o",
        out,
        "--columns",
        "timestamp,model,status_code,cost_usd",
        "--action",
        "completion",
    )
    assert res.code == 0, res.err
    assert f"exported 7 rows to {out}" in res.err
    rows = list(csv.reader(out.open(newline="")))
    assert rows[0] == ["timestamp", "model", "status_code", "cost_usd"]
    assert len(rows) == 8
    assert rows[-1][1:] == ["gpt-4o", "200", "5e-05"]  # the 0.2.8 string cost, as a number


def test_message_limit(run: Any, tmp_path: Path, log_writer: Any, calls: Any) -> None:
    from dataclasses import replace

    path = log_writer(tmp_path / "long.jsonl", [replace(calls[0], answer="word " * 300)])
    full = run("export", path, "--to", "csv", "--columns", "message", "--action", "completion")
    assert len(full.out.splitlines()[1]) == len(("word " * 300).strip())
    cut = run(
        "export",
        path,
        "--to",
        "csv",
        "--columns",
        "message",
        "--message-limit",
        "500",
        "--action",
        "completion",
    )
    assert len(cut.out.splitlines()[1]) == 500


def test_unknown_column(run: Any, library_log: Path) -> None:
    res = run("export", library_log, "--to", "csv", "--columns", "model,modle")
    assert res.code == 2
    assert "Unknown columns: ['modle']" in res.err


def test_parquet(run: Any, library_log: Path, legacy_log: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    out = tmp_path / "calls.parquet"
    res = run("export", library_log, legacy_log, "-o", out)  # the format from the suffix
    assert res.code == 0, res.err
    table = pq.read_table(out)
    assert table.num_rows == 20
    assert table.column_names == list(KNOWN_COLUMNS)
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("tokens_in").type == pa.int64()
    assert table.schema.field("cost_usd").type == pa.float64()
    assert table.schema.field("model").type == pa.string()
    data = table.to_pydict()
    assert data["tokens_in"][1] == 100
    assert data["tokens_in"][0] is None
    assert sum(c for c in data["cost_usd"] if c is not None) == pytest.approx(0.0013635 + 0.000065)
    assert data["timestamp"][0].isoformat() == "2025-03-30T23:59:00+00:00"


def test_parquet_needs_an_output_file(run: Any, library_log: Path) -> None:
    res = run("export", library_log, "--to", "parquet")
    assert res.code == 2
    assert "-o OUT.parquet" in res.err


def test_format(run: Any, library_log: Path, tmp_path: Path) -> None:
    assert run("export", library_log).out.startswith("timestamp,conversation_id,")  # CSV
    res = run("export", library_log, "-o", tmp_path / "calls.xlsx")
    assert res.code == 2
    assert "add --to csv or --to parquet" in res.err


def test_parallel_export_keeps_the_rows_in_order(
    library_log: Path, legacy_log: Path, tmp_path: Path
) -> None:
    from hilt import _export
    from hilt.reading import make_filter

    big = tmp_path / "big.jsonl"
    big.write_bytes(library_log.read_bytes() * 15)
    paths = [big, legacy_log]
    cols = list(KNOWN_COLUMNS)

    def csv_text(workers: int, chunk: int | None, **filters: Any) -> str:
        out = io.StringIO()
        n = _export.export(
            paths,
            fmt="csv",
            output=None,
            stdout=out,
            columns=cols,
            message_limit=None,
            keep=make_filter(**filters),
            workers=workers,
            chunk_bytes=chunk,
        )
        assert n == len(out.getvalue().splitlines()) - 1
        return out.getvalue()

    one = csv_text(1, None)
    assert len(one.splitlines()) == 1 + 12 * 15 + 8
    for size in (333, 4096):
        assert csv_text(2, size) == one
    assert csv_text(2, 500, action="system") == csv_text(1, None, action="system")

    pq = pytest.importorskip("pyarrow.parquet")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    runs: list[tuple[Path, int, int | None]] = [(a, 1, None), (b, 2, 777)]
    for target, workers, chunk in runs:
        _export.export(
            paths,
            fmt="parquet",
            output=str(target),
            stdout=io.StringIO(),
            columns=cols,
            message_limit=None,
            keep=make_filter(),
            workers=workers,
            chunk_bytes=chunk,
        )
    assert pq.read_table(a).equals(pq.read_table(b))
    assert pq.read_table(b).num_rows == 12 * 15 + 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".hilt-export-")]
