"""The spill file holds message text: it is private, and no link planted at its path makes
HILT write (or read and upload) another file (issue #14, item 12)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hilt


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files 0644, readable by every local user
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def spill_rows(session: Any, sheet: Any, make_prompt: Any, n: int = 2) -> None:
    sheet.g.outage(True)
    for i in range(n):
        session.append(make_prompt(f"secret {i}"))
    assert session.flush() is False


def test_spill_files_are_private_whatever_the_umask(
    sheet: Any, make_prompt: Any, umask_022: None
) -> None:
    session = sheet.instrument()
    spill_rows(session, sheet, make_prompt)
    assert len(sheet.spilled()) == 2
    assert mode(sheet.spill) == 0o600
    for lock in sheet.spill.parent.glob("spill.jsonl.*lock"):
        assert mode(lock) == 0o600, lock


def test_default_spill_directory_is_private(
    sheet: Any, make_prompt: Any, umask_022: None, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    session = sheet.instrument(spill_path=None)
    spill_rows(session, sheet, make_prompt)
    where = session.handle.spill_path
    assert where.parent == tmp_path / "data" / "hilt" / "sheets"
    assert mode(where.parent) == 0o700
    assert mode(where) == 0o600


def test_a_spill_file_left_readable_is_narrowed(
    sheet: Any, make_prompt: Any, umask_022: None
) -> None:
    sheet.spill.write_text("")
    sheet.spill.chmod(0o644)  # written by an older version
    session = sheet.instrument()
    spill_rows(session, sheet, make_prompt)
    assert mode(sheet.spill) == 0o600


def test_symlink_at_the_spill_path_is_refused_at_start(sheet: Any, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text('{"event_id": "e-1", "message": "not a HILT row"}\n')
    sheet.spill.symlink_to(elsewhere)
    with pytest.raises(hilt.ConfigError, match="symbolic link"):
        sheet.instrument()
    assert elsewhere.read_text() == '{"event_id": "e-1", "message": "not a HILT row"}\n'
    assert sheet.appends() == []  # nothing read from it was uploaded


def test_symlink_at_a_lock_path_is_refused_at_start(sheet: Any, tmp_path: Path) -> None:
    target = tmp_path / "victim"
    lock = sheet.spill.with_name(sheet.spill.name + ".lock")
    lock.symlink_to(target)
    with pytest.raises(hilt.ConfigError, match="symbolic link"):
        sheet.instrument()
    assert not target.exists()  # not created through the link


def test_symlink_planted_later_is_not_followed_and_the_loss_is_reported(
    sheet: Any, make_prompt: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session = sheet.instrument()
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("someone else's file\n")
    sheet.spill.symlink_to(elsewhere)
    with caplog.at_level(logging.ERROR, logger="hilt"):
        spill_rows(session, sheet, make_prompt, n=3)
    assert elsewhere.read_text() == "someone else's file\n"
    assert "lost 3 rows" in caplog.text
    assert "symbolic link" in caplog.text
    assert session.handle.stats["lost"] == 3
    sheet.g.outage(False)
    assert session.flush() is True  # nothing waits any more; the loss was reported


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_spill_file_of_another_user_is_refused(sheet: Any) -> None:
    sheet.spill.write_text("")
    os.chown(sheet.spill, 12345, 12345)  # someone pre-created it to read what we write
    with pytest.raises(hilt.ConfigError, match="another user"):
        sheet.instrument()
