"""instrument() does not import the anthropic SDK for an application that has not: it
patches it when the application imports it (an OpenAI-only app with anthropic installed
pays neither its start-up time nor its memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys, hilt
from hilt_anthropic.testing import FakeAnthropic
log = sys.argv[1]
with FakeAnthropic() as srv:
    # FakeAnthropic builds its bodies with the SDK's types: it imports anthropic itself,
    # so drop it again to start as an application that has not imported it.
    for name in [m for m in sys.modules if m == "anthropic" or m.startswith("anthropic.")]:
        del sys.modules[name]
    hilt.instrument(filepath=log)
    before = "anthropic" in sys.modules
    import anthropic
    client = anthropic.Anthropic(base_url=srv.base_url, api_key="k", max_retries=0)
    client.messages.create(model="claude-sonnet-4-5", max_tokens=16,
                           messages=[{"role": "user", "content": "late import"}])
    hilt.uninstrument()
    patched_after_undo = getattr(anthropic._base_client.SyncAPIClient.request, "__hilt__", False)
print(json.dumps({"imported_by_instrument": before, "patched_after_undo": patched_after_undo}))
"""


def test_the_sdk_is_patched_when_the_app_imports_it(tmp_path: Path) -> None:
    log = tmp_path / "lazy.jsonl"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(log)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"imported_by_instrument": False, "patched_after_undo": False}
    events = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert [e["action"] for e in events] == ["prompt", "completion"]
    assert events[1]["actor"]["id"] == "anthropic"
