"""The kit's loopback server on its own: a fake of a made-up API built on it, driven with
the standard library's HTTP client (no SDK), and what importing it needs."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from hilt_core.testing import LoopbackHandler, LoopbackServer, StreamFault
from hilt_core.testing.loopback import split


class _Handler(LoopbackHandler):
    fake: FakeEcho
    retry_headers: ClassVar[dict[str, str]] = {"retry-after": "0"}

    def error_body(self, status: int, message: str | None = None) -> dict[str, Any]:
        return {"error": {"status": status, "message": message or "injected"}}

    def route(self, path: str, query: dict[str, str], body: Any) -> None:
        if path == "/boom":
            raise ValueError("a bug of the fake")
        if path != "/echo" or self.command != "POST":
            self.reply_error(404, None)
            return
        text = f"echo {body['text']}"
        if not body.get("stream"):
            self.reply_json(200, {"text": text, "model": self.fake.model(body["model"])})
            return
        fault = self.fake.take_stream_fault()
        frames = [f"data: {p}\n\n" for p in split(text, self.fake.stream_chunks)]
        if fault is not None:
            frames = frames[: fault.after]
        self.reply_chunked(frames, "text/event-stream", cut=fault is not None)


class FakeEcho(LoopbackServer):
    handler = _Handler


@pytest.fixture
def echo() -> Iterator[FakeEcho]:
    with FakeEcho(model_map={"m": "m-1"}) as server:
        yield server


def post(
    server: FakeEcho, path: str, body: Any, timeout: float = 5
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_answers_and_records(echo: FakeEcho) -> None:
    assert echo.url == f"http://127.0.0.1:{echo.port}"
    status, _, data = post(echo, "/echo?x=1&y=", {"text": "hi", "model": "m"})
    assert status == 200
    assert json.loads(data) == {"text": "echo hi", "model": "m-1"}
    request = echo.last_request
    assert (request.method, request.path, request.query) == ("POST", "/echo", {"x": "1", "y": ""})
    assert request.body == {"text": "hi", "model": "m"}
    assert request.headers["content-type"] == "application/json"
    echo.reset()
    assert echo.requests == []


def test_faults_are_used_in_order(echo: FakeEcho) -> None:
    echo.fail_next(503, times=2)
    echo.fail_next(400, body="plain", headers={"x-extra": "1"})
    first = post(echo, "/echo", {"text": "a", "model": "m"})
    assert first[0] == 503
    assert first[1]["retry-after"] == "0"
    assert json.loads(first[2]) == {"error": {"status": 503, "message": "injected"}}
    assert post(echo, "/echo", {"text": "a", "model": "m"})[0] == 503
    status, headers, data = post(echo, "/echo", {"text": "a", "model": "m"})
    assert (status, data, headers["x-extra"]) == (400, b"plain", "1")
    assert "retry-after" not in headers
    assert post(echo, "/nowhere", {})[0] == 404
    assert len(echo.requests) == 4


def test_a_bug_of_the_fake_is_a_500_that_says_so(echo: FakeEcho) -> None:
    status, headers, data = post(echo, "/boom", {})
    assert status == 500
    assert headers["x-should-retry"] == "false"
    assert "FakeEcho failed: ValueError: a bug of the fake" in json.loads(data)["error"]["message"]


def test_stall_and_drop(echo: FakeEcho) -> None:
    echo.stall_next(3)
    with pytest.raises(TimeoutError):
        post(echo, "/echo", {"text": "a", "model": "m"}, timeout=0.2)
    echo.drop_connection_next()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        post(echo, "/echo", {"text": "a", "model": "m"})
    assert post(echo, "/echo", {"text": "a", "model": "m"})[0] == 200


def test_a_stream_whole_and_cut(echo: FakeEcho) -> None:
    status, headers, data = post(echo, "/echo", {"text": "a b c d", "model": "m", "stream": True})
    assert (status, headers["transfer-encoding"]) == (200, "chunked")
    assert data.decode().count("data: ") == echo.stream_chunks
    echo.fault_stream_next(StreamFault("cut", 1))
    with pytest.raises(http.client.IncompleteRead):
        post(echo, "/echo", {"text": "a b c d", "model": "m", "stream": True})


def test_stop_frees_the_port_and_ends_kept_alive_connections() -> None:
    server = FakeEcho().start()
    port = server.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", "/echo", json.dumps({"text": "a", "model": "m"}))
    assert conn.getresponse().read()  # the connection stays open (HTTP/1.1)
    server.stop()
    with pytest.raises(RuntimeError, match="FakeEcho is not running"):
        _ = server.port
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/")

    def again() -> bytes:
        conn.request("POST", "/echo", json.dumps({"text": "b", "model": "m"}))
        return conn.getresponse().read()

    with pytest.raises((http.client.HTTPException, OSError)):  # no handler answers on it
        again()
    conn.close()


def test_the_server_needs_neither_pytest_nor_an_sdk() -> None:
    code = (
        "import sys\n"
        "for name in ('pytest', 'openai', 'anthropic', 'google.genai'):\n"
        "    sys.modules[name] = None\n"
        "from hilt_core.testing import Harness, LoopbackServer\n"
        "with LoopbackServer() as server:\n"
        "    assert server.port\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
