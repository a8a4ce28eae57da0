"""``hilt plugins``: every loaded plugin with its distribution, version and hooks; those
that failed to load and why; those left out by HILT_DISABLE_PLUGINS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import hilt
from hilt_core import hookimpl


def test_installed_plugins(run: Any) -> None:
    res = run("plugins")
    assert res.code == 0
    jsonl = next(line for line in res.out.splitlines() if line.startswith("jsonl "))
    assert "hilt-jsonl 1.0.0" in jsonl
    assert "backend_open" in jsonl
    assert "backend_write" in jsonl
    assert "(also: local)" in jsonl


def test_json_and_a_plugin_registered_in_code(run: Any) -> None:
    class Tagger:
        @hookimpl
        def event_enrich(self, event: Any) -> None:
            return None

    hilt.register_plugin(Tagger(), name="tagger")
    try:
        res = run("plugins", "--json")
    finally:
        hilt.unregister_plugin("tagger")
    info = json.loads(res.out)
    by_name = {p["name"]: p for p in info["plugins"]}
    assert by_name["tagger"]["distribution"] == "(registered in code)"
    assert by_name["tagger"]["hooks"] == ["event_enrich"]
    assert by_name["jsonl"]["distribution"] == "hilt-jsonl"
    assert by_name["jsonl"]["version"] == "1.0.0"


def test_broken_and_disabled_plugins(tmp_path: Path) -> None:
    """A real distribution on sys.path whose entry point fails to import."""
    (tmp_path / "hilt_frob.py").write_text(
        "raise ImportError('hilt-frob needs the frobnicator SDK: pip install frobnicator')\n"
    )
    info = tmp_path / "hilt_frob-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hilt-frob\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text("[hilt]\nfrob = hilt_frob\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "HILT_DISABLE_PLUGINS": "jsonl",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "hilt", "plugins"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (
        "FAILED frob (hilt-frob 0.3.1): ImportError: hilt-frob needs the frobnicator SDK: "
        "pip install frobnicator" in proc.stdout
    )
    assert "not loaded (HILT_LOAD_PLUGINS / HILT_DISABLE_PLUGINS): jsonl" in proc.stdout
    assert not any(line.startswith("jsonl ") for line in proc.stdout.splitlines())
