"""The JSONL file: append-only, one UTF-8 event per line, folders created, torn lines."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import hilt
from hilt_core import Event, Registry, dumps
from hilt_jsonl import iter_events


def _event(text: str, **kw: object) -> Event:
    return Event(
        session_id="conv_0123456789ab",
        actor={"type": "human", "id": "u"},
        action="prompt",
        content={"text": text},
        **kw,  # type: ignore[arg-type]
    )


def test_reached_by_name_through_the_registry() -> None:
    reg = Registry()
    assert reg.resolve("jsonl", "backend")[0] == "jsonl"
    assert reg.resolve("local", "backend")[0] == "jsonl"


def test_one_utf8_object_per_line_in_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c" / "chat.jsonl"
    session = hilt.instrument(backend="local", filepath=path, providers=[])
    texts = ["plain", "accents: é à ü", "emoji 🙂", 'new\nline and "quotes"', "\u2028 sep"]
    for text in texts:
        session.append(_event(text))
    assert session.flush()
    raw = path.read_bytes()
    assert "é".encode() in raw
    assert "🙂".encode() in raw
    lines = raw.split(b"\n")
    assert lines[-1] == b""
    assert len(lines) == len(texts) + 1
    assert [json.loads(line)["content"]["text"] for line in lines[:-1]] == texts


def test_appends_never_rewrite_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    for round_ in range(3):
        session = hilt.Session(path)
        session.append(_event(f"round {round_}"))
        assert session.close()
    before = path.read_bytes()
    session = hilt.Session(path)  # mode="a" (the default)
    session.append(_event("more"))
    assert session.close()
    after = path.read_bytes()
    assert after.startswith(before)
    assert [e.content.text for e in iter_events(path) if e.content] == [
        "round 0",
        "round 1",
        "round 2",
        "more",
    ]


def test_mode_w_starts_a_new_file_and_mode_r_only_reads(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"not": "kept"}\n')
    session = hilt.Session(path, mode="w")
    session.append(_event("fresh"))
    assert session.close()
    reader = hilt.Session(path, mode="r")
    assert [e.content.text for e in reader.read() if e.content] == ["fresh"]
    with pytest.raises(hilt.SessionError, match="read only"):
        reader.append(_event("no"))


def test_default_path_and_hilt_filepath(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    session = hilt.instrument(providers=[])
    assert session.filepath == Path("logs/hilt.jsonl")
    hilt.uninstrument()
    assert (tmp_path / "logs" / "hilt.jsonl").exists()
    monkeypatch.setenv("HILT_FILEPATH", str(tmp_path / "env" / "x.jsonl"))
    session = hilt.instrument(providers=[])
    assert session.filepath == tmp_path / "env" / "x.jsonl"


def test_bad_places_are_config_errors_at_instrument_time(tmp_path: Path) -> None:
    with pytest.raises(hilt.ConfigError, match="does not exist"):
        hilt.Session(tmp_path / "missing" / "x.jsonl", create_dirs=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(hilt.ConfigError, match="cannot"):
        hilt.instrument(filepath=tmp_path / "file" / "x.jsonl", providers=[])
    with pytest.raises(hilt.ConfigError, match="UTF-8"):
        hilt.Session(tmp_path / "x.jsonl", encoding="latin-1")
    assert not hilt.is_instrumented()


def test_a_torn_last_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "crash.jsonl"
    good = [_event(f"ok {i}") for i in range(3)]
    torn = dumps(_event("torn"))[:40]
    path.write_bytes(b"".join(dumps(e) for e in good) + torn)
    caplog.set_level(logging.WARNING, logger="hilt")
    assert [e.event_id for e in iter_events(path)] == [e.event_id for e in good]
    assert "skipped torn last line" in caplog.text
    assert f"{path}:4" in caplog.text
    with pytest.raises(hilt.HILTError, match=r":4: torn last line"):
        list(iter_events(path, strict=True))
    # Appending after a crash starts on a fresh line: the new events are whole.
    session = hilt.Session(path)
    session.append(_event("after the crash"))
    assert session.close()
    caplog.clear()
    texts = [e.content.text for e in hilt.Session(path, mode="r").read() if e.content]
    assert texts == ["ok 0", "ok 1", "ok 2", "after the crash"]
    assert "skipped invalid line" in caplog.text  # the torn fragment, now on its own line


def test_the_streaming_reader_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    session = hilt.Session(path)
    for i in range(5000):
        session.append(_event(f"e{i}"))
    assert session.close()
    events = iter_events(path)
    assert isinstance(events, Iterator)
    first = next(events)
    assert first.content is not None
    assert first.content.text == "e0"
    with path.open("ab") as fh:  # read line by line: what is appended meanwhile shows up
        fh.write(dumps(_event("appended while reading")))
    rest = [e.content.text for e in events if e.content]
    assert len(rest) == 5000
    assert rest[-1] == "appended while reading"


def test_reading_errors(tmp_path: Path) -> None:
    with pytest.raises(hilt.HILTError, match="not found"):
        list(iter_events(tmp_path / "nope.jsonl"))
    with pytest.raises(hilt.HILTError, match="directory"):
        list(iter_events(tmp_path))


def test_fsync_option(tmp_path: Path) -> None:
    path = tmp_path / "durable.jsonl"
    session = hilt.Session(path, fsync=True)
    session.append(_event("x"))
    assert session.flush()
    assert session.close()
    assert os.path.getsize(path) > 0
