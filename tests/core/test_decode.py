"""The line decoder is the kernel's: logs are read with the JSONL plugin disabled, or not
installed at all, and every reader decodes a line the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hilt_core import Actor, Content, Event, HILTError, Metrics, dumps
from hilt_core.decode import decode_line, event_from_data, is_event, is_row
from hilt_core.session import Session

DATA = Path(__file__).parent / "data"
LOGS = [DATA / "hilt-0.2.8.jsonl", DATA / "hilt-0.2.8-columns.jsonl"]

# In the child: the JSONL plugin is disabled by name and its package cannot be imported,
# as if only hilt-core and hilt were installed.
_READ_WITHOUT_JSONL = """
import json, sys
sys.modules["hilt_jsonl"] = None  # any import of it raises ImportError
import hilt
from hilt import reading

out = {}
for path in sys.argv[1:]:
    out[path] = {
        "events": [e.to_dict() for e in hilt.read_events(path, strict=True)],
        "records": len(list(reading.records(path, strict=True))),
        "rows": [r["message"] for r in reading.rows(path)],
    }
try:
    hilt.Session(sys.argv[1], backend="jsonl", mode="r")
except hilt.UnknownPluginError as exc:
    out["session"] = str(exc)
print(json.dumps(out))
"""


def _v1_log(path: Path) -> Path:
    events = [
        Event(
            session_id="conv_1",
            actor=Actor(type="human", id="u1"),
            action="prompt",
            content=Content(text="hi"),
        ),
        Event(
            session_id="conv_1",
            actor=Actor(type="agent", id="openai"),
            action="completion",
            content=Content(text="hello"),
            metrics=Metrics(tokens={"prompt": 1, "completion": 1}, cost_usd=0.5),
            extensions={"model": "gpt-4o"},
        ),
    ]
    path.write_bytes(b"".join(dumps(e) for e in events))
    return path


def test_logs_are_read_with_the_jsonl_plugin_disabled_and_absent(tmp_path: Path) -> None:
    logs = [str(p) for p in [_v1_log(tmp_path / "v1.jsonl"), *LOGS]]
    env = {**os.environ, "HILT_DISABLE_PLUGINS": "jsonl"}
    res = subprocess.run(
        [sys.executable, "-c", _READ_WITHOUT_JSONL, *logs],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    # The backend is gone, as asked, ...
    assert "disabled by HILT_DISABLE_PLUGINS" in out.pop("session")
    for path in logs:
        # ... and reading gives what Session(path, mode="r") gives with the plugin.
        with_plugin = [e.to_dict() for e in Session(path, mode="r").read()]
        assert out[path]["events"] == with_plugin
        assert out[path]["records"] == len(with_plugin) > 0
        assert len(out[path]["rows"]) == len(with_plugin)
    assert out[logs[0]]["rows"] == ["hi", "hello"]


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.name)
def test_every_form_of_line_decodes_to_an_event(path: Path) -> None:
    for line in path.read_bytes().splitlines():
        data = json.loads(line)
        assert is_event(data)
        event = decode_line(line)
        assert event == event_from_data(data)
        assert is_row(data) == ("columns" in path.name)
        assert event.session_id.startswith("conv_")


def test_what_is_not_an_event() -> None:
    assert not is_event([1, 2])
    assert not is_event({"hello": "world"})
    with pytest.raises(HILTError, match="not a JSON object"):
        decode_line(b"[1, 2]\n")
    with pytest.raises(ValueError):
        decode_line(b'{"torn": \n')


def test_cattrs_reads_a_line_with_the_rules_of_the_format() -> None:
    line = {
        "event_id": None,  # written as null: as if left out
        "timestamp": "2026-01-01 12:00:00",
        "session_id": "conv_1",
        "actor": {"type": "agent", "id": "openai", "name": None},
        "action": "completion",
        "content": {"text": "hi", "parts": [{"type": "text"}]},
        "metrics": {"cost_usd": "0,5", "ttft_ms": 3},
        "extensions": {"model": "gpt-4o", "tags": ["a"]},
        "provenance": None,
        "unknown_key": 1,
    }
    event = Event.from_dict(line)
    assert event.event_id
    assert event.event_id != "None"
    assert event.hilt_version == "0.2"  # no version: hilt-python 0.2.8
    assert event.timestamp.isoformat() == "2026-01-01T12:00:00+00:00"
    assert event.content is not None
    assert event.content.extra == {"parts": [{"type": "text"}]}
    assert event.metrics is not None
    assert (event.metrics.cost_usd, event.metrics.extra) == (0.5, {"ttft_ms": 3})
    assert event.extensions is line["extensions"]  # taken as it is, not copied
    assert Event.from_dict({**line, "hilt_version": "1.0"}).hilt_version == "1.0"
    with pytest.raises(KeyError, match="session_id"):
        Event.from_dict({k: v for k, v in line.items() if k != "session_id"})
    with pytest.raises(TypeError, match="must be a JSON object"):
        Event.from_dict([line])  # type: ignore[arg-type]
