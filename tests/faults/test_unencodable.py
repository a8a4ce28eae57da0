"""Item 1 (and the encoder's part of 15): one event that cannot be written as it is costs
at most that event (repaired and marked, or replaced), never its batch or the log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import hilt
from hilt_core import Event, Registry, dumps

from .conftest import Backend, assert_valid_log, event, texts


def _nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    __repr__ = __str__


def test_bad_events_cost_nothing_but_themselves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bad.jsonl"
    session = hilt.Session(path)
    session.append(event("before"))
    session.append(event("cut emoji \ud83d"))  # what max_tokens leaves of an emoji
    session.append(event("split pair \ud83d\ude00"))
    session.append(event("deep", extensions={"metadata": _nested(2_000)}))
    session.append(event("unprintable", extensions={"metadata": {"x": Unprintable()}}))
    session.append(event("big int", extensions={"metadata": {"n": 2**80, (1, 2): "tuple key"}}))
    session.append(event("after"))
    assert session.flush(timeout=10), "a bad event blocked its batch"
    session.append(event("later"))
    assert session.close(timeout=10)

    logged = assert_valid_log(path)
    assert texts(path) == [
        "before", "cut emoji \ufffd", "split pair \U0001f600", "deep", "unprintable",
        "big int", "after", "later",
    ]  # fmt: skip
    repaired = {d["content"]["text"]: d.get("extensions", {}).get("hilt_repaired") for d in logged}
    assert repaired["before"] is None
    assert repaired["after"] is None
    assert repaired["cut emoji \ufffd"] == ["content.text: lone surrogates replaced by U+FFFD"]
    assert any("nested deeper than" in n for n in repaired["deep"])
    assert any("Unprintable" in n for n in repaired["unprintable"])
    assert logged[4]["extensions"]["metadata"] == {"x": "<unrepresentable Unprintable>"}
    assert logged[5]["extensions"]["metadata"] == {"n": str(2**80), "(1, 2)": "tuple key"}
    assert any("repaired" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_a_nan_metric_is_left_out_not_written_as_null(tmp_path: Path) -> None:
    path = tmp_path / "nan.jsonl"
    session = hilt.Session(path)
    session.append(
        event(
            "nan",
            metrics={"latency_ms": float("nan"), "cost_usd": float("inf"), "tokens": {"prompt": 3}},
        )
    )
    session.append(event("fine", metrics={"latency_ms": 12.5}))
    assert session.close(timeout=10)
    nan, fine = assert_valid_log(path)
    assert nan["metrics"] == {"tokens": {"prompt": 3}}
    assert sorted(nan["extensions"]["hilt_repaired"]) == [
        "metrics.cost_usd: inf left out",
        "metrics.latency_ms: nan left out",
    ]
    assert fine["metrics"] == {"latency_ms": 12.5}
    assert "extensions" not in fine


def test_the_slow_path_writes_timestamps_the_schema_accepts(tmp_path: Path) -> None:
    # The old fallback (json.dumps(default=str)) wrote "2026-01-01 12:00:00+00:00".
    path = tmp_path / "slow.jsonl"
    path.write_bytes(dumps(event("x", extensions={"metadata": {(1, 2): 2**70}})))
    (line,) = assert_valid_log(path)
    assert "T" in line["timestamp"]


class _CutEmojiOpenAI(BaseHTTPRequestHandler):
    """A chat completions endpoint whose answer ends in half an emoji (JSON's ``\\ud83d``,
    which the SDK decodes to a lone surrogate), as a model stopped by max_tokens can."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = (
            b'{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",'
            b'"choices":[{"index":0,"finish_reason":"length","message":{"role":"assistant",'
            b'"content":"Sure \\ud83d"}}],'
            b'"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}'
        )
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def cut_emoji_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CutEmojiOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_provider_answer_with_half_an_emoji_does_not_stop_logging(
    tmp_path: Path, cut_emoji_server: str
) -> None:
    openai = pytest.importorskip("openai")
    path = tmp_path / "provider.jsonl"
    session = hilt.instrument(filepath=path, providers=["openai"])
    client = openai.OpenAI(base_url=cut_emoji_server, api_key="test", max_retries=0)
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=2
    )
    assert answer.choices[0].message.content == "Sure \ud83d"  # the app's answer, unchanged
    session.append(event("after the call"))
    assert session.flush(timeout=10)
    logged = assert_valid_log(path)
    completion = next(d for d in logged if d["action"] == "completion")
    assert completion["content"]["text"] == "Sure \ufffd"
    assert completion["extensions"]["hilt_repaired"]
    assert logged[-1]["content"]["text"] == "after the call"


def test_a_backend_that_cannot_encode_one_event_loses_only_that_one(
    reg: Registry, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    backend.refuse = "poison"
    session = hilt.Session(backend="faulty", flush_interval=60)
    for i in range(100):
        session.append(event("poison" if i == 37 else f"e{i}"))
    assert session.flush(timeout=10)
    session.append(event("next batch"))
    assert session.flush(timeout=10)
    got = backend.texts()
    assert got == [
        *(f"e{i}" for i in range(37)),
        "HILT could not write this event; this one stands in",
        *(f"e{i}" for i in range(38, 100)),
        "next batch",
    ]
    stand_in: Event = backend.events[37]
    assert stand_in.extensions is not None
    assert stand_in.extensions["error_code"] == "hilt_unwritable"
    assert stand_in.extensions["error_type"] == "UnicodeEncodeError"
    assert session.stats["unwritable"] == 1
    assert session.stats["written"] == 101
    assert any("cannot write event" in r.getMessage() for r in caplog.records)
