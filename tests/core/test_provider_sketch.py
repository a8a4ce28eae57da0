"""The provider sketch of docs/plugins.md works as written: run against a small SDK made
here, it records a linked prompt and completion, an error, and is undone exactly."""

from __future__ import annotations

import importlib.machinery
import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core import Registry
from hilt_core.provider import opening_id

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


class _Usage:
    input = 7
    output = 3


class _Result:
    def __init__(self, text: str) -> None:
        self.text = f"echo: {text}"
        self.model = "acme-1-2026"
        self.usage = _Usage()


class _Client:
    host = "api.acme.test"

    def complete(self, **kwargs: Any) -> _Result:
        if kwargs["prompt"] == "fail":
            raise RuntimeError("acme is down")
        return _Result(kwargs["prompt"])


@pytest.fixture
def acme() -> Iterator[types.ModuleType]:
    sdk = types.ModuleType("acme")
    sdk.__spec__ = importlib.machinery.ModuleSpec("acme", None)  # as an installed one has
    sdk.Client = _Client  # type: ignore[attr-defined]
    sys.modules["acme"] = sdk
    yield sdk
    del sys.modules["acme"]


def _sketch() -> types.ModuleType:
    doc = DOC.read_text(encoding="utf-8")
    (code,) = [
        block
        for block in re.findall(r"```python\n(.*?)```", doc, re.DOTALL)
        if "class AcmeAdapter" in block
    ]
    module = types.ModuleType("hilt_acme_sketch")
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)
    return module


def test_the_sketch_records_calls_and_errors_and_undoes_exactly(
    reg: Registry, acme: types.ModuleType, tmp_path: Path
) -> None:
    original = acme.Client.complete
    hilt.register_plugin(_sketch(), name="acme")
    log = tmp_path / "acme.jsonl"
    hilt.instrument(filepath=log)  # on by default: its SDK is importable
    assert acme.Client.complete is not original
    client = acme.Client()
    assert client.complete(prompt="hello").text == "echo: hello"
    with pytest.raises(RuntimeError, match="acme is down"):
        client.complete(prompt="fail")
    hilt.uninstrument()
    assert acme.Client.complete is original
    prompt, completion, prompt2, error = (json.loads(x) for x in log.read_text().splitlines())
    assert completion["extensions"]["reply_to"] == prompt["event_id"]
    assert prompt["session_id"] == opening_id(None, "hello")
    assert completion["metrics"]["tokens"] == {"prompt": 7, "completion": 3, "total": 10}
    assert completion["extensions"]["model"] == "acme-1-2026"
    assert error["action"] == "system"
    assert error["extensions"]["reply_to"] == prompt2["event_id"]
    assert error["extensions"]["error_type"] == "RuntimeError"
