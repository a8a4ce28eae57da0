"""Debian's headless Chromium, driven over the DevTools Protocol through a pipe.

``--remote-debugging-pipe`` makes Chromium read commands on fd 3 and write answers and
events on fd 4 (JSON, each message ended by a NUL byte): no port, no driver, no library.
A page records every network request it makes (``Network.requestWillBeSent``), every
console message and uncaught exception, so a test can say "nothing was fetched, nothing
failed".
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The flags Chromium needs on this machine (root, no GPU, a closed network).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--hide-scrollbars",
    "--mute-audio",
]


def find() -> str | None:
    """The Chromium binary: $HILT_CHROMIUM, else chromium / chromium-browser on PATH."""
    named = os.environ.get("HILT_CHROMIUM")
    if named:
        return named
    return shutil.which("chromium") or shutil.which("chromium-browser")


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="hilt-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def child() -> None:
            # Move the pipe ends to 3 and 4 without clobbering one with the other.
            r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self._stderr = open(os.path.join(self.profile, "stderr.log"), "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                executable,
                *FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=child,  # noqa: PLW1509 (no threads of ours run yet)
            close_fds=False,
        )
        os.close(cmd_r)
        os.close(res_w)
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._answers: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.version = self.send("Browser.getVersion")

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._res_r, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    self._closed = True
                    self._lock.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._lock:
                    if "id" in msg:
                        self._answers[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self._lock.notify_all()

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> Any:
        n = next(self._ids)
        msg: dict[str, Any] = {"id": n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        with self._lock:
            while n not in self._answers:
                if self._closed:
                    raise CDPError(f"Chromium exited: {self.stderr_tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"no answer to {method} in {self.timeout} s")
                self._lock.wait(left)
            answer = self._answers.pop(n)
        if "error" in answer:
            raise CDPError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def wait_event(
        self, match: Callable[[dict[str, Any]], bool], timeout: float | None = None, start: int = 0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._lock:
            while True:
                for ev in self.events[start:]:
                    if match(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CDPError("the awaited event did not come")
                self._lock.wait(left)

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        return Page(self, session, target)

    def stderr_tail(self) -> str:
        try:
            return Path(self.profile, "stderr.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(CDPError):
                    self.send("Browser.close")
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
        finally:
            os.close(self._cmd_w)
            self._reader.join(5)
            os.close(self._res_r)
            self._stderr.close()
            shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One tab. ``requests``, ``console_errors`` and ``exceptions`` read what it recorded."""

    def __init__(self, browser: Browser, session: str, target: str) -> None:
        self.browser = browser
        self.session = session
        self.target = target
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, self.session)

    def _mine(self) -> list[dict[str, Any]]:
        with self.browser._lock:
            return [e for e in self.browser.events if e.get("sessionId") == self.session]

    def goto(self, url: str, width: int = 1280, height: int = 900) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        start = len(self.browser.events)
        self.send("Page.navigate", {"url": url})
        self.browser.wait_event(
            lambda e: e.get("sessionId") == self.session and e["method"] == "Page.loadEventFired",
            start=start,
        )

    def eval(self, expression: str) -> Any:
        res = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in res:
            raise CDPError(f"{expression!r} raised: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise CDPError(f"{expression!r} stayed false for {timeout} s")
            time.sleep(0.05)

    @property
    def requests(self) -> list[str]:
        """The URL of every request the page made (navigations included)."""
        return [
            e["params"]["request"]["url"]
            for e in self._mine()
            if e["method"] == "Network.requestWillBeSent"
        ]

    @property
    def console_errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and the browser's own log
        entries of level error or warning (a CSP violation is one)."""
        out = []
        for e in self._mine():
            p = e["params"]
            if e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning"):
                out.append("console: " + " ".join(str(a.get("value", a)) for a in p["args"]))
            elif e["method"] == "Runtime.exceptionThrown":
                details = p["exceptionDetails"]
                desc = details.get("exception", {}).get("description") or details.get("text")
                out.append(f"exception: {desc}")
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"log ({p['entry'].get('source')}): {p['entry']['text']}")
        return out

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
