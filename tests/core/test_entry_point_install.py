"""A plugin distribution installed with pip is usable by its entry-point name.

Builds two tiny distributions in tmp_path (a backend, and one whose import raises),
``pip install``s them into a throwaway venv and runs a script there that calls
``hilt.instrument(backend="test-backend")``. The venv is made with
``--system-site-packages`` and a ``.pth`` that adds this interpreter's site-packages, so
the repository's hilt packages (editable installs) and hatchling are seen without any
download; pip runs with ``--no-index``. About 5 s, so not marked slow.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

BACKEND = '''
"""A test backend: one line per event, the event's text only."""
import os
from hilt_core import hookimpl

class Handle:
    def __init__(self, path):
        self.path = path

@hookimpl
def backend_open(name, options):
    return Handle(options["filepath"])

@hookimpl
def backend_write(handle, events):
    with open(handle.path, "a", encoding="utf-8") as fh:
        for event in events:
            fh.write(f"{name_of(event)}\\n")

@hookimpl
def backend_close(handle, flush_only):
    pass

def name_of(event):
    return event.content.text
'''

SCRIPT = """
import json, logging, hilt
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger("hilt").addHandler(Keep())
session = hilt.instrument(backend="test-backend", filepath="out.txt", providers=[])
for i in range(3):
    session.append(hilt.Event(session_id="c", actor={"type": "human", "id": "u"},
                              action="prompt", content={"text": f"line {i}"}))
hilt.uninstrument()
try:
    hilt.instrument(backend="test-broken", providers=[])
    unknown = ""
except hilt.ConfigError as exc:
    unknown = str(exc)
print(json.dumps({"records": records, "unknown": unknown}))
"""


def _distribution(root: Path, name: str, module: str, entry: str, code: str) -> Path:
    folder = root / name
    (folder / "src" / module).mkdir(parents=True)
    (folder / "src" / module / "__init__.py").write_text(textwrap.dedent(code))
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{name}"
            version = "0.1"
            dependencies = ["hilt-core"]

            [project.entry-points.hilt]
            {entry} = "{module}"

            [tool.hatch.build.targets.wheel]
            packages = ["src/{module}"]
            """
        )
    )
    return folder


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HILT_")}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env, check=False
    )


def test_pip_installed_plugin_is_usable_by_entry_point_name(tmp_path: Path) -> None:
    good = _distribution(
        tmp_path, "hilt-test-backend", "hilt_test_backend", "test-backend", BACKEND
    )
    broken = _distribution(
        tmp_path,
        "hilt-test-broken",
        "hilt_test_broken",
        "test-broken",
        "raise ImportError('hilt_test_broken needs a missing SDK')\n",
    )
    venv = tmp_path / "venv"
    made = _run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        tmp_path,
    )
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    (purelib,) = (venv / "lib").glob("python3*/site-packages")
    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    here = [p for p in dirs if Path(p).is_dir()]
    (purelib / "_hilt_dev_env.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in here) + "\n"
    )
    pip = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(good),
            str(broken),
        ],
        tmp_path,
    )
    assert pip.returncode == 0, pip.stderr

    result = _run([str(python), "-c", SCRIPT], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # the script's one line: hilt printed nothing
    assert (tmp_path / "out.txt").read_text().splitlines() == ["line 0", "line 1", "line 2"]
    assert any(
        "'test-broken' from hilt-test-broken 0.1 failed to load" in r for r in report["records"]
    )
    assert "installed but failed to load" in report["unknown"]
    assert "hilt_test_broken needs a missing SDK" in report["unknown"]
    assert "test-backend" in report["unknown"]  # listed among the installed backends
