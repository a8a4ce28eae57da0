"""``hilt erase``: the erasure of the privacy issue, from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hilt

pytest.importorskip("hilt_jsonl.erase", reason="hilt_jsonl.erase (the erasure module) is missing")


def test_erase_a_user_with_export(run: Any, library_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "alice.jsonl"
    dry = run("erase", library_log, "--user", "alice", "--dry-run")
    assert dry.code == 0, dry.err
    assert "(dry run)" in dry.out
    assert "would remove 6 events" in dry.out
    assert len(list(hilt.read_events(library_log))) == 12

    res = run("erase", library_log, "--user", "alice", "--export", out)
    assert res.code == 0, res.err
    assert "removed 6 events from 1 of 1 files" in res.out
    assert f"exported 6 events to {out}" in res.out
    left = list(hilt.read_events(library_log))
    assert len(left) == 6
    assert all((e.extensions or {}).get("user_id") == "bob" for e in left)
    assert {e.extensions["user_id"] for e in hilt.read_events(out) if e.extensions} == {"alice"}


def test_erase_a_conversation_in_a_folder_as_json(
    run: Any, tmp_path: Path, log_writer: Any
) -> None:
    log_writer(tmp_path / "logs" / "a.jsonl")
    log_writer(tmp_path / "logs" / "b.jsonl")
    res = run("erase", tmp_path / "logs", "--conversation", "conv_bbbbbbbbbbbb", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["files_scanned"] == 2
    assert report["files_rewritten"] == 2
    assert report["events_removed"] == 8
    stats = json.loads(run("stats", str(tmp_path / "logs" / "*.jsonl"), "--json").out)
    assert stats["total"]["calls"] == 8


def test_erase_says_whose_events(run: Any, library_log: Path) -> None:
    res = run("erase", library_log)
    assert res.code == 2
    assert "--conversation ID and/or --user ID" in res.err
    missing = run("erase", library_log.parent / "nope.jsonl", "--user", "x")
    assert missing.code == 2
    assert "No such log file" in missing.err


def test_erase_a_size_rotated_log_through_a_link(run: Any, tmp_path: Path, log_writer: Any) -> None:
    """The log of an application that rotates by size, reached through a symbolic link:
    every file of it is erased, the link stays a link, the counts are the true ones."""
    real = tmp_path / "var" / "app.jsonl"
    log_writer(real, rotate="size", max_bytes=1200, batch_size=2)
    files = sorted(real.parent.iterdir())
    assert len(files) >= 3
    alice = sum(f.read_text().count('"alice"') for f in files)
    link = tmp_path / "app.jsonl"
    link.symlink_to(real)
    res = run("erase", link, "--user", "alice")
    assert res.code == 0, res.err
    assert f"removed {alice} events from " in res.out
    assert f" of {len(files)} files" in res.out
    assert link.is_symlink()
    assert not any('"alice"' in f.read_text() for f in sorted(real.parent.iterdir()))


def test_erase_exits_1_when_a_file_could_not_be_searched(
    run: Any, library_log: Path, tmp_path: Path
) -> None:
    import gzip

    rotated = library_log.with_name(library_log.name + ".1.gz")
    rotated.write_bytes(gzip.compress(library_log.read_bytes()))
    res = run("erase", library_log, "--user", "alice")
    assert res.code == 1
    assert "removed 6 events from 1 of 1 files; 1 file NOT searched" in res.out
    assert f"{rotated}: NOT searched: gzip-compressed" in res.out
