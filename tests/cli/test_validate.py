"""``hilt validate``: each line against the JSON Schema of format v1, wrong lines named
with their number, the failing field and why; the exit code says whether all are valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jsonschema")


def test_logs_the_library_wrote_are_valid(run: Any, library_log: Path) -> None:
    res = run("validate", library_log)
    assert res.code == 0, res.out
    assert res.out.strip() == f"{library_log}: 12 lines, all valid"


def test_log_written_by_the_openai_provider_is_valid(run: Any, provider_log: Path) -> None:
    res = run("validate", provider_log)
    assert res.code == 0, res.out
    assert "6 lines, all valid" in res.out


def test_wrong_lines_are_named(run: Any, library_log: Path) -> None:
    lines = library_log.read_text().splitlines()
    lines[2] = lines[2].replace('"action":"prompt"', '"action":"question"')
    lines[3] = (
        lines[3]
        .replace('"prompt":200', '"prompt":-5')
        .replace('"cost_usd":0.0009', '"cost_usd":"0.0009"')
    )
    lines[5] = "{not json"
    library_log.write_text("\n".join(lines) + "\n" + '{"hilt_version":"1.0","event_id":"x","ti')
    res = run("validate", library_log)
    assert res.code == 1
    out = res.out
    assert f"{library_log}:3: action: 'question' is not one of" in out
    assert f"{library_log}:4: metrics.cost_usd: '0.0009' is not of type 'number'" in out
    assert f"{library_log}:4: metrics.tokens.prompt: -5 is less than the minimum of 0" in out
    assert f"{library_log}:6: (line): not JSON" in out
    assert f"{library_log}:13: (line): torn last line" in out
    assert f"{library_log}: 13 lines, 4 invalid" in out


def test_many_files_and_max_errors(run: Any, library_log: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"session_id": "s", "actor": {"type": "robot", "id": "r"}, "action": "prompt"}\n' * 5
    )
    res = run("validate", library_log, bad, "--max-errors", "2")
    assert res.code == 1
    assert f"{library_log}: 12 lines, all valid" in res.out
    assert res.out.count(f"{bad}:") == 4  # 2 problems shown, "... and N more", the summary
    assert "... and" in res.out
    assert f"{bad}: 5 lines, 5 invalid" in res.out
    quiet = run("validate", bad, "-q")
    assert quiet.out.strip() == f"{bad}: 5 lines, 5 invalid"


def test_hilt_028_lines_are_readable_but_not_v1(run: Any, legacy_log: Path) -> None:
    res = run("validate", legacy_log)
    assert res.code == 1
    assert f"{legacy_log}:1: (line): 'hilt_version' is a required property" in res.out
    assert f"{legacy_log}:2: metrics.cost_usd: '0.000006' is not of type 'number'" in res.out
    assert "8 lines are hilt-python 0.2.8 lines" in res.out
    lenient = run("validate", legacy_log, "--lenient")
    assert lenient.code == 0, lenient.out
    assert "8 lines, all valid" in lenient.out


def test_columns_form(run: Any, tmp_path: Path, log_writer: Any) -> None:
    path = log_writer(tmp_path / "rows.jsonl", columns=["timestamp", "speaker", "message"])
    res = run("validate", path)
    assert res.code == 1
    assert "a flat row of the columns= form, not a full event" in res.out
    assert run("validate", path, "--lenient").code == 0


def test_without_jsonschema_the_reader_checks(library_log: Path, tmp_path: Path) -> None:
    """jsonschema is a test dependency, not a runtime one: without it validate still
    checks what the reader can, and says so."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        library_log.read_text()
        + '{"session_id": "s", "actor": {"type": "robot", "id": "r"}, "action": "prompt"}\n'
    )
    code = (
        "import sys; sys.modules['jsonschema'] = None\n"
        "from hilt.cli import main\n"
        f"raise SystemExit(main(['validate', {str(bad)!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    assert "jsonschema is not installed" in proc.stderr
    assert f"{bad}:13: (line): Invalid actor type 'robot'" in proc.stdout


def test_parallel_check_numbers_lines_the_same(library_log: Path, tmp_path: Path) -> None:
    from hilt import _validate

    good = library_log.read_text().splitlines()
    lines = []
    for i in range(30):
        lines.extend(good)
        lines.append(f'{{"not": "an event {i}"}}')
        lines.append("")
    big = tmp_path / "big.jsonl"
    big.write_text("\n".join(lines) + "\n")
    one = _validate.validate_files([big], workers=1)[0]
    for chunk in (101, 977, 5000):
        two = _validate.validate_files([big], workers=2, chunk_bytes=chunk)[0]
        assert (two.lines, two.valid, two.problems) == (one.lines, one.valid, one.problems)
    assert one.invalid == 30
    assert one.problems[0][0] == 13  # the line after the first 12 events
