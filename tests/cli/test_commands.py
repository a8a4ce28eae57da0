"""The command itself: ``hilt`` and ``python -m hilt``, help, ``hilt demo`` forwarding,
and helpful errors for a missing file, a directory, a non-HILT JSON file, a torn line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hilt

COMMANDS_READING_LOGS = [
    ["stats"],
    ["tail"],
    ["validate"],
    ["export", "--to", "csv"],
]


def test_console_script_and_module(library_log: Path) -> None:
    script = Path(sys.executable).with_name("hilt")
    exe = [str(script)] if script.exists() else [shutil.which("hilt") or "hilt"]
    for cmd in (exe, [sys.executable, "-m", "hilt"]):
        proc = subprocess.run(
            [*cmd, "stats", str(library_log), "--json"],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["total"]["calls"] == 6
        assert proc.stderr == ""


def test_help_and_version(run: Any) -> None:
    res = run("--help")
    assert res.code == 0
    for command in ("demo", "tail", "stats", "validate", "export", "plugins", "erase"):
        assert f"    {command} " in res.out
    assert run("--version").out.strip() == f"hilt {hilt.__version__}"
    assert run().code == 2  # no command: the help, and a usage exit code
    bad = run("stats")
    assert bad.code == 2
    assert "the following arguments are required: FILE" in bad.err


def test_demo_is_forwarded(run: Any, tmp_path: Path) -> None:
    pytest.importorskip("hilt.demo")
    res = run("demo", "--help")
    assert res.code == 0
    assert "usage: hilt demo" in res.out


def test_demo_runs(run: Any, tmp_path: Path) -> None:
    pytest.importorskip("hilt.demo")
    pytest.importorskip("hilt_openai.testing")
    log = tmp_path / "demo.jsonl"
    res = run("demo", "--file", log)
    assert res.code == 0, res.err
    stats = json.loads(run("stats", log, "--json").out)["total"]
    assert stats["calls"] >= 2
    assert stats["errors_by_status"] == {"429": 1}
    assert run("validate", log).code == 0


@pytest.mark.parametrize("command", COMMANDS_READING_LOGS)
def test_missing_file(run: Any, tmp_path: Path, command: list[str]) -> None:
    res = run(command[0], tmp_path / "nope.jsonl", *command[1:])
    assert res.code == 2
    assert res.err.strip() == f"hilt: error: File not found: {tmp_path / 'nope.jsonl'}"
    assert res.out == ""


@pytest.mark.parametrize("command", COMMANDS_READING_LOGS)
def test_directory(run: Any, tmp_path: Path, command: list[str]) -> None:
    """A directory stands for its *.jsonl files; without any, the error says what to give."""
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run(command[0], empty, *command[1:])
    assert res.code == 2
    assert f"hilt: error: {empty} is a directory with no *.jsonl file in it" in res.err
    assert f"'{empty / '**' / '*.jsonl'}'" in res.err


@pytest.mark.parametrize("command", [c for c in COMMANDS_READING_LOGS if c[0] != "tail"])
def test_directory_of_logs(run: Any, tmp_path: Path, log_writer: Any, command: list[str]) -> None:
    log_writer(tmp_path / "logs" / "a.jsonl")
    log_writer(tmp_path / "logs" / "b.jsonl")
    res = run(command[0], tmp_path / "logs", *command[1:])
    assert res.code == 0, res.err
    if command[0] == "stats":
        assert res.out.startswith("24 events, 12 calls")


def test_tail_reads_one_file(run: Any, tmp_path: Path, log_writer: Any) -> None:
    log_writer(tmp_path / "logs" / "a.jsonl")
    assert run("tail", tmp_path / "logs", "-n", "1").code == 0  # the one file in it
    log_writer(tmp_path / "logs" / "b.jsonl")
    res = run("tail", tmp_path / "logs")
    assert res.code == 2
    assert "tail reads one file;" in res.err
    assert "names 2:" in res.err


@pytest.mark.parametrize("command", [["stats"], ["export", "--to", "csv"], ["tail"]])
def test_not_a_hilt_log(run: Any, tmp_path: Path, command: list[str]) -> None:
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "left-pad", "version": "1.3.0"}, indent=2) + "\n")
    res = run(command[0], other, *command[1:])
    assert res.code == 2
    assert f"hilt: error: {other} is not a HILT log: its first line is not JSON" in res.err
    assert res.out == ""  # not even a CSV header
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": 1}\n{"id": 2}\n')
    res = run(command[0], records, *command[1:])
    assert res.code == 2
    assert f"hilt: error: {records} is not a HILT log: its first line is not a HILT event" in (
        res.err
    )
    assert res.out == ""
    assert "WARNING" not in res.err


def test_tail_of_a_log_being_started_is_no_error(run: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert run("tail", empty).code == 0
    torn = tmp_path / "torn.jsonl"  # the first event is being written: no newline yet
    torn.write_bytes(b'{"hilt_version":"1.0","event_id":"e1","session_id":"conv_a","ac')
    res = run("tail", torn)
    assert (res.code, res.out) == (0, "")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_of_a_non_log_leaves_no_output_file(
    run: Any, tmp_path: Path, library_log: Path, suffix: str
) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": 1}\n{"id": 2}\n')
    out = tmp_path / f"out{suffix}"
    res = run("export", library_log, records, "-o", out)  # the good log comes first
    assert res.code == 2
    assert "is not a HILT log" in res.err
    assert not out.exists()


def test_not_a_hilt_log_validate(run: Any, tmp_path: Path) -> None:
    pytest.importorskip("jsonschema")
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": 1}\n{"id": 2}\n')
    res = run("validate", records)
    assert res.code == 1
    assert f"{records}:1: (line): 'hilt_version' is a required property" in res.out


def test_tail_skips_a_line_that_is_no_event_in_a_log_with_a_warning(
    run: Any, library_log: Path
) -> None:
    with library_log.open("ab") as fh:
        fh.write(b'{"id": 1}\n')
    res = run("tail", library_log, "-n", "2")
    assert res.code == 0
    assert len(res.out.splitlines()) == 1
    assert "not a HILT event" in res.err


@pytest.mark.parametrize("command", [["stats", "--json"], ["export", "--to", "csv"]])
def test_torn_last_line(run: Any, library_log: Path, command: list[str]) -> None:
    with library_log.open("ab") as fh:
        fh.write(b'{"hilt_version":"1.0","event_id":"01a2')
    res = run(command[0], library_log, *command[1:])
    assert res.code == 0
    assert f"hilt: WARNING: HILT skipped torn last line {library_log}:13" in res.err
    if command[0] == "stats":
        assert json.loads(res.out)["total"]["events"] == 12
    else:
        assert len(res.out.splitlines()) == 13  # header + 12 rows


def test_broken_pipe_is_quiet(library_log: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(library_log.read_bytes() * 2000)
    proc = subprocess.run(
        f"{sys.executable} -m hilt export {big} --to csv | head -n 2",
        shell=True,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr
    assert "BrokenPipe" not in proc.stderr
