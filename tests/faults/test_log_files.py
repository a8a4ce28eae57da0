"""Item 12 (the JSONL backend's part): a symbolic link at the log path is refused, not
followed, and new log files are readable by their owner only."""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path

import pytest

import hilt

from .conftest import event, texts


def test_a_symlink_at_the_log_path_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"  # say ~/.bashrc, linked from a shared log folder
    victim.write_text("precious\n")
    link = tmp_path / "hilt.jsonl"
    link.symlink_to(victim)
    with pytest.raises(hilt.ConfigError, match="symbolic link") as err:
        hilt.Session(link)
    assert str(victim) in str(err.value)  # says where it points: the user can pass that
    with pytest.raises(hilt.ConfigError, match="symbolic link"):
        hilt.Session(link, mode="w")
    assert victim.read_text() == "precious\n"


def test_a_symlink_swapped_in_after_open_is_not_followed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hilt.jsonl"
    session = hilt.Session(path, flush_interval=60)
    session.append(event("first"))
    assert session.flush(timeout=5)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    path.rename(tmp_path / "moved.jsonl")  # the log is moved away, a link put in its place
    path.symlink_to(victim)
    session.append(event("second"))
    assert not session.flush(timeout=5)
    assert victim.read_text() == "precious\n"
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    path.unlink()  # the link is gone: the kept event goes to a new file
    deadline = time.monotonic() + 10
    while not session.flush(timeout=5):  # False at once until the backoff's next retry
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert texts(path) == ["second"]
    session.close()


def test_a_folder_that_is_a_symlink_is_fine(tmp_path: Path) -> None:
    real = tmp_path / "real-logs"
    real.mkdir()
    (tmp_path / "logs").symlink_to(real)
    session = hilt.Session(tmp_path / "logs" / "app.jsonl")
    session.append(event("through a linked folder"))
    assert session.close(timeout=5)
    assert texts(real / "app.jsonl") == ["through a linked folder"]


def test_new_log_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which gave 0644 before
    try:
        plain = hilt.Session(tmp_path / "plain.jsonl")
        rotated = hilt.Session(tmp_path / "r.jsonl", rotate="size", max_bytes=200)
        for i in range(5):
            plain.append(event(f"e{i}"))
            rotated.append(event(f"e{i}"))
            assert rotated.flush(timeout=5)  # one write each: each write rolls over
        assert plain.close(timeout=5)
        assert rotated.close(timeout=5)
    finally:
        os.umask(old)
    files = sorted(tmp_path.glob("*.jsonl"))
    assert len(files) >= 3  # the size rotation made new files
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


def test_an_existing_log_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    path.touch()
    path.chmod(0o640)  # the user chose to share it with a group
    session = hilt.Session(path)
    session.append(event("x"))
    assert session.close(timeout=5)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
