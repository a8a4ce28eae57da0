"""A short program as users write them: instrument, log a few events, exit. Nothing is
closed by hand: interpreter exit closes the session. Run by the close tests in its own
process against a FakeGoogle of the test (``python short_program.py CONFIG.json``)."""

from __future__ import annotations

import json
import logging
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

import gspread

import hilt

_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


def main() -> None:
    cfg: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text("utf-8"))
    base = cfg["base_url"]

    class Loopback(gspread.HTTPClient):
        def __init__(self, auth: Any, session: Any = None) -> None:
            super().__init__(auth, session)
            self.session.trust_env = False

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            for host in _HOSTS:
                if endpoint.startswith(host):
                    endpoint = base + endpoint[len(host) :]
            return super().request(method, endpoint, *args, **kwargs)

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    if "file_size_limit" in cfg:  # a full disk, for real: writes past it fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = cfg["file_size_limit"]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    session = hilt.instrument(
        backend="sheets",
        sheet_id=cfg["sheet_id"],
        credentials_json=cfg["key"],
        http_client=Loopback,
        worksheet_name=cfg["tab"],
        spill_path=cfg["spill"],
        providers=[],
        **cfg.get("options", {}),
    )
    for i in range(cfg["events"]):
        session.append(
            hilt.Event(
                session_id="conv_0123456789ab",
                actor=hilt.Actor(type="human", id="user"),
                action="prompt",
                content=hilt.Content(text=f"question {i}"),
            )
        )
    print(f"logged at {time.monotonic():.3f}", flush=True)


if __name__ == "__main__":
    main()
