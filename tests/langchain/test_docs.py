"""docs/langchain.md says what the plugin does: its example runs and writes the log the
page shows (the same events, speakers and keys; the page's texts and numbers are a real
model's), and its table of keys is the plugin's own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import hilt
import hilt_langchain
from hilt.cli import main
from hilt_openai.testing import FakeOpenAI

DOC = Path(__file__).resolve().parents[2] / "docs" / "langchain.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text("utf-8"), re.DOTALL)


def test_the_keys_table_is_the_plugin_s() -> None:
    text = DOC.read_text("utf-8")
    table = text[text.index("<!-- keys:langchain -->") : text.index("<!-- /keys:langchain -->")]
    rows = dict(re.findall(r"^\| `(\w+)` \| (.*) \|$", table, re.MULTILINE))
    assert rows == hilt_langchain.HILT_EXTENSION_KEYS


@pytest.fixture
def example_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (code,) = blocks("python")
    monkeypatch.chdir(tmp_path)
    with FakeOpenAI() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        exec(compile(code, str(DOC), "exec", dont_inherit=True), {"__name__": "support"})
        hilt.uninstrument()
    return tmp_path / "logs" / "support.jsonl"


def test_the_example_writes_the_log_shown(
    example_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tail, stats = blocks("console")
    shown = [line.split()[3:6] for line in tail.splitlines() if line.strip()]
    events = [json.loads(line) for line in example_log.read_text().splitlines()]
    written = [[e["actor"]["type"] + ":", e["actor"]["id"], e["action"]] for e in events]
    assert shown == written
    assert {e["session_id"] for e in events} == {"ticket-4521"}
    # the JSON shown has the keys of the events written
    first, lines = blocks("json")
    for sample in [json.loads(first), *map(json.loads, lines.splitlines())]:
        twin = next(
            e
            for e in events
            if (e["action"], e["actor"]) == (sample["action"], sample["actor"])
            and set(e["extensions"]) == set(sample["extensions"])
        )
        assert set(twin) == set(sample)
        assert set(twin.get("content", {})) == set(sample.get("content", {}))
        assert set(twin["metrics"]) - {"cost_unknown_reason"} <= set(sample["metrics"])
    capsys.readouterr()
    assert main(["stats", str(example_log), "--by", "conversation"]) == 0
    out = capsys.readouterr().out.splitlines()
    doc = stats.splitlines()[1:]
    assert out[0].split(" (")[0] == doc[0].split(" (")[0]  # 20 events, 4 calls, 1 conversation
    assert out[3].split()[:3] == doc[3].split()[:3] == ["ticket-4521", "4", "0"]


def test_every_sample_line_is_a_valid_event() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import hilt_core.schema

    validator = jsonschema.Draft202012Validator(hilt_core.schema.load())
    lines: list[Any] = [json.loads(blocks("json")[0])]
    lines += [json.loads(line) for line in blocks("json")[1].splitlines()]
    for line in lines:
        assert not list(validator.iter_errors(line))
