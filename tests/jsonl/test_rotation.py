"""Optional rotation: by UTC day (``rotate="day"``) or size (``rotate="size", max_bytes=``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core import Event


def _event(text: str) -> Event:
    return Event(
        session_id="c", actor={"type": "human", "id": "u"}, action="prompt", content={"text": text}
    )


def test_rotate_by_day_names_the_file_for_the_utc_date(tmp_path: Path) -> None:
    session = hilt.Session(tmp_path / "app.jsonl", rotate="day")
    session.append(_event("today"))
    assert session.close()
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    assert [p.name for p in tmp_path.iterdir()] == [f"app-{day}.jsonl"]
    older = tmp_path / "app-2020-01-01.jsonl"
    older.write_bytes(hilt.Event.to_json(_event("long ago")).encode() + b"\n")
    texts = [
        e.content.text
        for e in hilt.Session(tmp_path / "app.jsonl", mode="r", rotate="day").read()
        if e.content
    ]
    assert texts == ["long ago", "today"]  # every day's file, oldest first


def test_rotate_by_size_rolls_over_and_reads_everything_in_order(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    session = hilt.Session(path, rotate="size", max_bytes="2KB", batch_size=4)
    for i in range(200):
        session.append(_event(f"e{i:03}"))
        if i % 4 == 3:
            assert session.flush()
    assert session.close()
    rolled = sorted(tmp_path.glob("app.*.jsonl"))
    assert len(rolled) >= 5
    for old in rolled:
        assert old.stat().st_size <= 2048 + 1024  # rolled once a batch crossed the limit
    texts = [e.content.text for e in session.read() if e.content]
    assert texts == [f"e{i:03}" for i in range(200)]


def test_size_rotation_with_several_processes_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    script = textwrap.dedent(
        """
        import sys, hilt
        s = hilt.Session(sys.argv[1], rotate="size", max_bytes=4096, batch_size=3,
                         flush_interval=0.001)
        for i in range(300):
            s.append(hilt.Event(session_id="c", actor={"type": "human", "id": "u"},
                                action="prompt", content={"text": f"{sys.argv[2]}-{i}"}))
        sys.exit(0 if s.close() else 3)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), str(p)]) for p in range(3)]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    texts: list[str] = []
    for file in [*sorted(tmp_path.glob("app.*.jsonl")), path]:
        if file.exists():
            texts += [
                json.loads(line)["content"]["text"] for line in file.read_bytes().splitlines()
            ]
    assert sorted(texts) == sorted(f"{p}-{i}" for p in range(3) for i in range(300))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rotate": "hourly"}, "rotate must be"),
        ({"rotate": "size"}, "needs max_bytes"),
        ({"rotate": "size", "max_bytes": "lots"}, "max_bytes must be a size"),
    ],
)
def test_bad_rotation_options(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(hilt.ConfigError, match=message):
        hilt.instrument(filepath=tmp_path / "x.jsonl", providers=[], **options)
