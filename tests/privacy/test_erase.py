"""Erasure of a conversation or a user from JSONL logs: exact, reported, atomic, and safe
next to live writers and across a crash in the middle of a rewrite."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import hilt
from hilt_core import HILTError
from hilt_jsonl.erase import PAUSE_ENV, erase


def _event(conv: str, i: int, user: str | None = None) -> hilt.Event:
    ext = {"model": "gpt-4o-mini", "status_code": 200}
    if user is not None:
        ext["user_id"] = user
    return hilt.Event(
        session_id=conv,
        actor={"type": "human", "id": "user"},
        action="prompt",
        content={"text": f"message {i} of {conv}"},
        extensions=ext,
    )


def make_log(path: Path, n: int = 30) -> list[bytes]:
    """A log of ``n`` events over conversations a, b, c (users u-a, u-b, none)."""
    session = hilt.Session(str(path))
    for i in range(n):
        conv = ("conv_a", "conv_b", "conv_c")[i % 3]
        user = {"conv_a": "u-a", "conv_b": "u-b"}.get(conv)
        session.append(_event(conv, i, user))
    assert session.close()
    return path.read_bytes().splitlines(keepends=True)


def _convs(path: Path) -> list[str]:
    return [json.loads(x)["session_id"] for x in path.read_bytes().splitlines()]


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.hilt-erase-*.tmp"))


# -- what is removed -----------------------------------------------------------------------
def test_erase_a_conversation_keeps_every_other_line_byte_for_byte(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    lines = make_log(log)
    report = erase(log, conversation_id="conv_b")
    assert log.read_bytes() == b"".join(x for x in lines if b'"conv_b"' not in x)
    assert report.files_scanned == 1
    assert report.files_rewritten == 1
    assert report.events_removed == 10
    assert report.events_exported == 0
    (f,) = report.files
    assert (f.events, f.matched, f.removed, f.rewritten) == (30, 10, 10, True)
    assert f.bytes_after == log.stat().st_size < f.bytes_before
    assert str(report) == (
        "HILT erase of conversation conv_b: removed 10 events from 1 of 1 files\n"
        f"  {log}: 10 of 30 events removed, file rewritten"
    )
    assert not _temps(tmp_path)


def test_erase_a_user_by_extensions_user_id(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    make_log(log)
    report = erase(log, user_id="u-a")
    assert report.events_removed == 10
    assert "conv_a" not in _convs(log)


def test_conversation_and_user_together_and_lists(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    make_log(log)
    report = erase(log, conversation_id=["conv_c"], user_id=["u-a", "nobody"])
    assert report.events_removed == 20
    assert set(_convs(log)) == {"conv_b"}


def test_lines_of_hilt_0_2_and_of_columns_form_are_matched(tmp_path: Path) -> None:
    log = tmp_path / "old.jsonl"
    rows = [
        {  # hilt-python 0.2.8
            "event_id": "7b0e5c5e-7f4a-4b8e-9b6e-1f2d3c4b5a69",
            "timestamp": "2025-10-01T10:00:00+00:00",
            "session_id": "conv_old",
            "actor": {"type": "human", "id": "user"},
            "action": "prompt",
            "content": {"text": "hi"},
        },
        {"conversation_id": "conv_old", "speaker": "human: user", "message": "hi"},
        {"conversation_id": "conv_x", "user_id": "u-9", "message": "hello"},
        {"conversation_id": "conv_x", "message": "kept"},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = erase(log, conversation_id="conv_old", user_id="u-9")
    assert report.events_removed == 3
    assert [json.loads(x)["message"] for x in log.read_text().splitlines()] == ["kept"]


def test_torn_fragments_naming_the_id_go_too_and_other_junk_stays(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    lines = make_log(log, n=6)
    junk = b"not json, mentions conv_b without quotes\n"
    torn = b'{"session_id": "conv_b", "actor": {"ty'  # a crash mid-write, no newline
    log.write_bytes(b"".join(lines) + junk + torn)
    report = erase(log, conversation_id="conv_b")
    assert report.files[0].fragments == 1
    assert report.events_removed == 3
    kept = [x for x in lines if b'"conv_b"' not in x]
    assert log.read_bytes() == b"".join(kept) + junk
    assert "with 1 unreadable fragments naming it" in str(report)


def test_nothing_matching_leaves_the_file_untouched(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    make_log(log)
    before = log.stat()
    report = erase(log, conversation_id="conv_zzz")
    after = log.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert report.files_rewritten == 0
    assert "no matching events" in str(report)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_rewritten_file_keeps_its_permissions(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    make_log(log)
    os.chmod(log, 0o640)
    erase(log, conversation_id="conv_a")
    assert stat.S_IMODE(log.stat().st_mode) == 0o640


# -- many files ----------------------------------------------------------------------------
def test_globs_folders_and_rotated_files(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("hilt-2026-01-01.jsonl", "hilt-2026-01-02.jsonl", "other.jsonl"):
        make_log(logs / name, n=9)
    (logs / "notes.txt").write_text("conv_a is not a log")
    report = erase(str(logs / "hilt-*.jsonl"), conversation_id="conv_a")
    assert report.files_scanned == 2
    assert report.events_removed == 6
    assert "conv_a" in _convs(logs / "other.jsonl")
    report = erase(logs, conversation_id="conv_a")  # a folder: its *.jsonl
    assert report.files_scanned == 3
    assert report.events_removed == 3
    assert report.files_rewritten == 1
    assert (logs / "notes.txt").read_text() == "conv_a is not a log"


def test_bad_requests_raise_clear_errors(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    make_log(log, n=3)
    with pytest.raises(HILTError, match=r"conversation_id=\.\.\. and/or user_id"):
        erase(log)
    with pytest.raises(HILTError, match="No such log file"):
        erase(tmp_path / "missing.jsonl", conversation_id="conv_a")
    with pytest.raises(HILTError, match="No log files found"):
        erase(str(tmp_path / "nothing-*.jsonl"), conversation_id="conv_a")
    with pytest.raises(HILTError, match="export_to"):
        erase(log, conversation_id="conv_a", remove=False)
    with pytest.raises(HILTError, match="non-empty string"):
        erase(log, conversation_id="")


# -- export and dry run --------------------------------------------------------------------
def test_export_then_remove(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    lines = make_log(log)
    out = tmp_path / "export" / "conv_b.jsonl"
    report = erase(log, conversation_id="conv_b", export_to=out)
    assert out.read_bytes() == b"".join(x for x in lines if b'"conv_b"' in x)
    assert report.events_exported == report.events_removed == 10
    assert f"exported 10 events to {out}" in str(report)
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_export_only_leaves_the_log_as_it_was(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    lines = make_log(log)
    before = log.stat()
    out = tmp_path / "u-a.jsonl"
    report = erase(log, user_id="u-a", export_to=out, remove=False)
    assert log.read_bytes() == b"".join(lines)
    assert log.stat().st_ino == before.st_ino
    assert out.read_bytes().count(b"\n") == 10
    assert report.events_removed == 0
    assert report.events_exported == 10
    # Exporting again adds nothing: events already in the file are not repeated.
    again = erase(log, user_id="u-a", export_to=out, remove=False)
    assert again.events_exported == 0
    assert again.export_skipped == 10
    assert out.read_bytes().count(b"\n") == 10


def test_export_file_inside_the_scanned_folder_is_not_scanned(tmp_path: Path) -> None:
    make_log(tmp_path / "hilt.jsonl")
    out = tmp_path / "export.jsonl"
    erase(tmp_path, conversation_id="conv_a", export_to=out)
    report = erase(tmp_path, conversation_id="conv_a", export_to=out)
    assert report.files_scanned == 1  # the export itself is left alone
    assert out.read_bytes().count(b"\n") == 10


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    lines = make_log(log)
    out = tmp_path / "export.jsonl"
    report = erase(log, conversation_id="conv_a", export_to=out, dry_run=True)
    assert log.read_bytes() == b"".join(lines)
    assert not out.exists()
    assert report.events_matched == 10
    assert report.events_removed == 0
    assert str(report).startswith(
        "HILT erase (dry run) of conversation conv_a: would remove 10 events found in 1 of "
        "1 files; nothing was changed"
    )
    assert report.to_dict()["events_matched"] == 10


# -- atomicity -----------------------------------------------------------------------------
_RUN = (
    "import sys\n"
    "from hilt_jsonl.erase import erase\n"
    "erase(sys.argv[1], conversation_id='conv_b', export_to=sys.argv[2])\n"
)


def _spawn(log: Path, out: Path, pause: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, PAUSE_ENV: str(pause)}
    return subprocess.Popen([sys.executable, "-c", _RUN, str(log), str(out)], env=env)


def _wait_for_half_written_temp(folder: Path, proc: subprocess.Popen[bytes]) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        temps = _temps(folder)
        if temps and temps[0].stat().st_size > 0:
            return temps[0]
        assert proc.poll() is None, "the erasure ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("the erasure never started its rewrite")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_crash_mid_rewrite_leaves_the_log_whole_and_a_rerun_finishes(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    lines = make_log(log, n=300)
    original = log.read_bytes()
    out = tmp_path / "export.jsonl"
    proc = _spawn(log, out, pause=120)
    try:
        temp = _wait_for_half_written_temp(tmp_path, proc)
        assert 0 < temp.stat().st_size < len(original)  # really mid-rewrite
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # The log is exactly as it was: complete, no half-written version in its place.
    assert log.read_bytes() == original
    assert _temps(tmp_path) == [temp]  # what the crash left behind
    # The export was made durable before anything was to be removed.
    assert out.read_bytes() == b"".join(x for x in lines if b'"conv_b"' in x)

    report = erase(log, conversation_id="conv_b", export_to=out)
    assert report.events_removed == 100
    assert report.events_exported == 0  # already exported by the interrupted run
    assert report.export_skipped == 100
    assert report.files[0].stale_temps_removed == 1
    assert not _temps(tmp_path)
    assert log.read_bytes() == b"".join(x for x in lines if b'"conv_b"' not in x)
    assert out.read_bytes().count(b"\n") == 100


def test_writers_keep_appending_during_an_erasure_and_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The erasure holds the writers' flock; a writer that waited for it finds the path now
    names the rewritten file, reopens it, and appends there."""
    log = tmp_path / "hilt.jsonl"
    make_log(log, n=60)
    writer = hilt.Session(str(log))
    writer.append(_event("conv_live", -1))
    assert writer.flush(timeout=10)  # its descriptor is open on the file being erased
    old_inode = log.stat().st_ino

    monkeypatch.setenv(PAUSE_ENV, "1.0")
    results: list[object] = []
    thread = threading.Thread(
        target=lambda: results.append(erase(log, conversation_id="conv_b")), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not _temps(tmp_path):  # the erasure holds the lock and is mid-rewrite
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for i in range(20):
        writer.append(_event("conv_live", i))
    assert writer.flush(timeout=30)  # blocked until the erasure released the lock
    thread.join(timeout=30)
    assert results, "the erasure did not finish"
    assert writer.close()

    assert log.stat().st_ino != old_inode
    convs = _convs(log)
    assert "conv_b" not in convs
    assert convs.count("conv_a") == convs.count("conv_c") == 20
    assert convs.count("conv_live") == 21  # none of the lines written meanwhile is lost
    assert convs[-20:] == ["conv_live"] * 20


def test_a_second_erasure_waits_for_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "hilt.jsonl"
    make_log(log, n=60)
    monkeypatch.setenv(PAUSE_ENV, "0.5")
    first: list[object] = []
    t = threading.Thread(target=lambda: first.append(erase(log, conversation_id="conv_a")))
    t.start()
    while not _temps(tmp_path):
        time.sleep(0.01)
    monkeypatch.setenv(PAUSE_ENV, "0")
    second = erase(log, conversation_id="conv_b")
    t.join(timeout=30)
    assert second.events_removed == 20
    assert set(_convs(log)) == {"conv_c"}


# -- links, rotated logs, open descriptors ----------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_symbolic_link_is_followed_to_the_log_it_names(tmp_path: Path) -> None:
    real = tmp_path / "var" / "app.jsonl"
    real.parent.mkdir()
    lines = make_log(real)
    logs = tmp_path / "logs"
    logs.mkdir()
    link = logs / "app.jsonl"
    link.symlink_to(real)

    report = erase(link, conversation_id="conv_b")
    assert link.is_symlink()  # still the link the application writes through
    assert os.readlink(link) == str(real)
    assert real.read_bytes() == b"".join(x for x in lines if b'"conv_b"' not in x)
    assert (report.files_scanned, report.files_rewritten, report.events_removed) == (1, 1, 10)
    assert report.files[0].path == link
    assert report.files[0].target == real
    assert f"{link} (-> {real}): 10 of 30 events removed" in str(report)

    # The link and its target, or a folder holding the link, name the file once.
    again = erase([link, real, logs], conversation_id="conv_a")
    assert again.files_scanned == 1
    assert again.events_removed == 10
    assert set(_convs(real)) == {"conv_c"}


def _rotated_by_size(path: Path) -> list[Path]:
    with hilt.Session(str(path), rotate="size", max_bytes=2000, batch_size=3) as session:
        for i in range(30):
            conv = ("conv_a", "conv_b", "conv_c")[i % 3]
            session.append(_event(conv, i, {"conv_a": "u-a"}.get(conv)))
    files = sorted(path.parent.glob("app*.jsonl"))
    assert len(files) > 2, files
    return files


def test_every_file_of_a_log_rotated_by_size_is_erased(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "app.jsonl"
    files = _rotated_by_size(path)
    (tmp_path / "logs" / "other.jsonl").write_bytes(b"")  # not part of app.jsonl's log
    report = erase(path, conversation_id="conv_b")
    assert sorted(f.path for f in report.files) == files
    assert report.files_scanned == len(files)
    assert report.events_removed == 10
    for f in files:
        assert "conv_b" not in _convs(f)
    assert f"removed 10 events from {report.files_rewritten} of {len(files)} files" in str(report)


def test_a_rotated_log_whose_current_file_is_not_there_yet(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "app.jsonl"
    _rotated_by_size(path)
    path.unlink(missing_ok=True)  # just rolled over: the next write creates it
    left = sorted(path.parent.glob("app.*.jsonl"))
    expected = sum(_convs(f).count("conv_a") for f in left)
    report = erase(path, user_id="u-a")
    assert report.files_scanned == len(left)
    assert report.events_removed == expected > 0
    assert all("conv_a" not in _convs(f) for f in left)
    day = tmp_path / "daily" / "app.jsonl"  # rotate="day": app-YYYY-MM-DD.jsonl
    day.parent.mkdir()
    for name in ("app-2026-01-01.jsonl", "app-2026-01-02.jsonl", "app-extra.jsonl"):
        make_log(day.parent / name, n=9)
    report = erase(day, user_id="u-a")
    assert [f.path.name for f in report.files] == ["app-2026-01-01.jsonl", "app-2026-01-02.jsonl"]
    assert report.events_removed == 6
    assert "conv_a" in _convs(day.parent / "app-extra.jsonl")  # not a file of this log


def test_compressed_rotations_are_reported_not_searched(tmp_path: Path) -> None:
    import gzip

    log = tmp_path / "app.jsonl"
    lines = make_log(log, n=9)
    (tmp_path / "app.jsonl.1").write_bytes(b"".join(lines))  # logrotate's plain copy
    (tmp_path / "app.jsonl.2.gz").write_bytes(gzip.compress(b"".join(lines)))
    report = erase(log, conversation_id="conv_a")
    assert report.files_scanned == 2
    assert report.events_removed == 6
    assert [s.path.name for s in report.skipped] == ["app.jsonl.2.gz"]
    assert "NOT searched" in str(report)
    assert "gzip" in str(report)
    assert report.to_dict()["files_skipped"] == [
        {"path": str(tmp_path / "app.jsonl.2.gz"), "reason": report.skipped[0].reason}
    ]


def _descriptors_of(path: Path) -> list[str]:
    """This process's descriptors open on ``path`` (or on what it named before)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)):
            found.append(f"/proc/self/fd/{fd}")
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_an_idle_writers_open_descriptor_no_longer_shows_the_erased_text(tmp_path: Path) -> None:
    """A running application keeps its log open between writes; after an erasure that
    descriptor names the old file. Anyone who can read it (/proc/PID/fd, the process
    itself) must not find the erased text there."""
    log = tmp_path / "hilt.jsonl"
    make_log(log, n=30)
    writer = hilt.Session(str(log))
    writer.append(_event("conv_b", 99, "u-b"))
    assert writer.flush(timeout=10)  # idle now, its descriptor open
    held = _descriptors_of(log)
    assert held, "the writer keeps no descriptor open"

    report = erase(log, conversation_id="conv_b")
    assert report.events_removed == 11
    for fd in held:
        with open(fd, "rb") as old:
            assert b"conv_b" not in old.read()

    writer.append(_event("conv_live", 1))  # and the writer loses nothing after
    assert writer.close()
    assert _convs(log).count("conv_live") == 1
    assert "conv_b" not in _convs(log)


@pytest.mark.skipif(not hasattr(os, "link"), reason="needs hard links")
def test_other_hard_links_of_the_log_are_erased_too(tmp_path: Path) -> None:
    log = tmp_path / "hilt.jsonl"
    make_log(log)
    other = tmp_path / "backup.jsonl"
    os.link(log, other)
    erase(log, conversation_id="conv_b")
    assert other.read_bytes() == log.read_bytes()
    assert "conv_b" not in _convs(other)
