"""The docs cannot rot: every ```python block of docs/analytics.md and every `$ hilt ...`
line of the ```console blocks of docs/cli.md and docs/analytics.md runs here, in document
order, against logs HILT wrote; where a console block shows output, the output must match.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hilt.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs"
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_EXIT = re.compile(r"\s+#\s*exit code (\d+)\s*$")


@dataclass
class Block:
    doc: str
    lang: str
    code: str
    line: int

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    def needs(self) -> list[str]:
        mods = []
        if "duckdb" in self.code:
            mods.append("duckdb")
        if "pandas" in self.code or "to_dataframe" in self.code or "dataframe(" in self.code:
            mods.append("pandas")
        if "parquet" in self.code:
            mods.append("pyarrow")
        if "hilt validate" in self.code:
            mods.append("jsonschema")
        if "hilt demo" in self.code:
            mods.append("hilt_openai.testing")
        return mods


def blocks(doc: str) -> list[Block]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    return [
        Block(doc, m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in _FENCE.finditer(text)
        if m.group(1) in ("python", "console")
    ]


@pytest.fixture(scope="module")
def workspace(
    tmp_path_factory: pytest.TempPathFactory,
    log_writer: Any,
    calls: list[Any],
    legacy_source: Path,
) -> Callable[[str], Path]:
    """A fresh folder per doc: logs/ with two files rotated by day, written by HILT, and
    old/ with the hilt-python 0.2.8 log."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(name)
        log_writer(root / "logs" / "app-2025-03-30.jsonl", calls[:2])
        log_writer(root / "logs" / "app-2025-03-31.jsonl", calls[2:])
        (root / "old").mkdir()
        shutil.copy(legacy_source, root / "old" / legacy_source.name)
        return root

    return make


@pytest.fixture(scope="module")
def cli_workspace(workspace: Callable[[str], Path]) -> Path:
    return workspace("cli-doc")


@pytest.fixture(scope="module")
def analytics_workspace(workspace: Callable[[str], Path]) -> Path:
    return workspace("analytics-doc")


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run_console(block: Block) -> None:
    """Run each `$ hilt ...` line; compare with the lines shown after it, if any."""
    commands: list[tuple[str, list[str]]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
    for line, shown in commands:
        expected_code = 0
        command = line
        m = _EXIT.search(line)
        if m:
            expected_code = int(m.group(1))
            command = line[: m.start()]
        argv = shlex.split(command)
        assert argv[0] == "hilt", command
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv[1:])
        assert code == expected_code, f"{command}\n{out.getvalue()}{err.getvalue()}"
        if shown:
            got = (out.getvalue() + err.getvalue()).rstrip("\n").splitlines()
            assert [ln.rstrip() for ln in got] == [ln.rstrip() for ln in shown], command


def run_python(block: Block) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block.code, block.id, "exec"), {"__name__": "__doc_recipe__"})
    return out.getvalue()


def check(block: Block, where: Path) -> None:
    for module in block.needs():
        pytest.importorskip(module)
    with cwd(where):
        if block.lang == "console":
            run_console(block)
        else:
            assert run_python(block).strip(), "the recipe printed nothing"


@pytest.mark.parametrize("block", blocks("analytics.md"), ids=lambda b: b.id)
def test_analytics_recipe(block: Block, analytics_workspace: Path) -> None:
    check(block, analytics_workspace)


@pytest.mark.parametrize("block", blocks("cli.md"), ids=lambda b: b.id)
def test_cli_example(block: Block, cli_workspace: Path) -> None:
    check(block, cli_workspace)


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for command in ("demo", "tail", "stats", "validate", "export", "report", "plugins", "erase"):
        assert f"## `hilt {command}`" in text
        assert f"$ hilt {command}" in text
    assert "BENCH" not in text, "put the benchmark figures in docs/cli.md"
