"""The worked example of docs/plugins.md: built as a wheel, installed into a throwaway
target, found through its entry point and used by name via instrument()."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hilt_core.testing import BackendContract

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hilt_sqlite"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
            "--no-build-isolation", "--target", str(target), str(EXAMPLE),
        ],
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    assert list(target.glob("hilt_sqlite-*.dist-info/entry_points.txt"))
    return target


def test_installed_plugin_is_used_by_name_through_instrument(
    installed: Path, tmp_path: Path
) -> None:
    script = f"""
import json, hilt
from hilt import Event, Actor, Content
s = hilt.instrument(backend="sqlite", filepath={str(tmp_path / "log.db")!r}, providers=[])
s.append(Event(session_id="conv_1", actor=Actor(type="human", id="u"), action="prompt",
               content=Content(text="hello sqlite")))
hilt.uninstrument()
back = list(hilt.Session(backend="sqlite", filepath={str(tmp_path / "log.db")!r}, mode="r").read())
print(json.dumps([e.content.text for e in back]))
"""
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, env=env
    )
    assert json.loads(out.stdout) == ["hello sqlite"]


def test_without_the_plugin_the_name_is_unknown_and_the_error_says_so(tmp_path: Path) -> None:
    script = "import hilt; hilt.instrument(backend='sqlite', providers=[])"
    out = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "Unknown HILT backend 'sqlite'" in out.stderr
    assert "jsonl" in out.stderr  # lists what is installed


def test_docs_show_the_example_exactly() -> None:
    """docs/plugins.md quotes the example's files; they must not drift apart."""
    doc = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for rel in ("pyproject.toml", "src/hilt_sqlite/__init__.py"):
        source = (EXAMPLE / rel).read_text(encoding="utf-8").strip()
        blocks = [b.strip() for b in re.findall(r"```(?:python|toml)\n(.*?)```", doc, re.S)]
        assert source in blocks, f"docs/plugins.md does not show examples/hilt_sqlite/{rel}"


class TestSqliteBackendContract(BackendContract):
    """The contract of hilt_core.testing, run in-process against the example (registered
    in code here, since the wheel is installed only into the throwaway target)."""

    backend_name = "sqlite-contract"

    @pytest.fixture(autouse=True)
    def _register(self) -> None:
        sys.path.insert(0, str(EXAMPLE / "src"))
        import hilt_sqlite

        import hilt

        with contextlib.suppress(ValueError):  # registered by an earlier test of this class
            hilt.register_plugin(hilt_sqlite, name="sqlite-contract")
        sys.path.remove(str(EXAMPLE / "src"))

    def backend_options(self, tmp_path: Path) -> dict[str, object]:
        return {"filepath": tmp_path / "events.db"}
