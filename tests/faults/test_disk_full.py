"""Item 2: a write stopped part-way (a file-size limit, a full disk) is taken back before
the batch is retried: no torn line in the middle of the log, no event written twice."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import hilt

from .conftest import assert_valid_log, event, run, texts

PAD = "x" * 200  # ~300-byte lines: 600 events are ~180 KB


def test_a_file_size_limit_leaves_no_torn_line_and_no_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "limited.jsonl"
    result = run(
        f"""
        import resource, signal
        import hilt
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
        session = hilt.Session({str(path)!r}, flush_interval=0.05)
        for i in range(600):
            session.append(hilt.Event(session_id="c", actor={{"type": "human", "id": "u"}},
                                      action="prompt", content={{"text": f"e{{i}} {PAD}"}}))
        assert not session.flush(timeout=5), "the limit should have stopped a write"
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
        assert session.close(timeout=30)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "File too large" in result.stderr
    assert_valid_log(path)
    assert texts(path) == [f"e{i} {PAD}" for i in range(600)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KB tmpfs (needs root and the right to mount; skipped elsewhere)."""
    where = tmp_path / "disk"
    where.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_leaves_no_torn_line_and_no_duplicate(small_disk: Path) -> None:
    path = small_disk / "full.jsonl"
    session = hilt.Session(path, flush_interval=0.05)
    for i in range(600):
        session.append(event(f"e{i} {PAD}"))
    assert not session.flush(timeout=5), "the full disk should have stopped a write"
    subprocess.run(["mount", "-o", "remount,size=1m", str(small_disk)], check=True)
    assert session.close(timeout=30)
    assert_valid_log(path)
    assert texts(path) == [f"e{i} {PAD}" for i in range(600)]
