"""How spans travel: OTLP/HTTP configured by options or the standard variables, gzip,
headers; a collector that stops and comes back, one that is slow, one that never
answers, one that refuses; bounded memory, and the one WARNING that says what could not
be sent by the time uninstrument() returns. Faults are real: the receiver stops
listening, answers late or answers errors."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import openai
import pytest

import hilt
import hilt_otel.export
from hilt_core import Actor, ConfigError, Content, Event, Metrics
from hilt_otel.testing import OTLPReceiver

from .conftest import Harness

LOST = "could not be sent"


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry a collector that is down every 0.1-0.3 s instead of 1-30 s."""
    monkeypatch.setattr(hilt_otel.export, "FIRST_BACKOFF", 0.1)
    monkeypatch.setattr(hilt_otel.export, "MAX_BACKOFF", 0.3)


def _pair(i: int) -> tuple[Event, Event]:
    prompt = Event(
        session_id="conv_export",
        actor=Actor(type="human", id="user"),
        action="prompt",
        content=Content(text=f"question {i}"),
        extensions={"model": "m", "provider": "openai", "api": "chat.completions"},
    )
    done = Event(
        session_id="conv_export",
        actor=Actor(type="agent", id="openai"),
        action="completion",
        content=Content(text=f"answer {i}"),
        metrics=Metrics(tokens={"prompt": 1, "completion": 1, "total": 2}, latency_ms=1.0),
        extensions={"reply_to": prompt.event_id, "model": "m", "status_code": 200},
    )
    return prompt, done


def _calls(session: hilt.Session, n: int, start: int = 0) -> list[str]:
    """Append ``n`` calls; return their prompts' event ids."""
    ids = []
    for i in range(start, start + n):
        prompt, done = _pair(i)
        session.append(prompt)
        session.append(done)
        ids.append(prompt.event_id)
    return ids


def _lost_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hilt" and r.levelno == logging.WARNING and LOST in r.getMessage()
    ]


def _until(predicate: Any, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- configuration -------------------------------------------------------------------------
def test_gzip_by_default_and_headers_from_the_option_and_the_variable(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Basic cGs6c2s=")
    session = h.instrument(providers=[], otel_headers={"x-write-token": "tok"})
    _calls(session, 1)
    h.spans(1)
    (headers,) = h.rx.requests
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["authorization"] == "Basic cGs6c2s="
    assert headers["x-write-token"] == "tok"


def test_compression_can_be_turned_off(h: Harness) -> None:
    session = h.instrument(providers=[], otel_compression="none")
    _calls(session, 1)
    h.spans(1)
    assert "content-encoding" not in h.rx.requests[0]


def test_the_standard_variables_configure_the_endpoint_and_the_service(
    tmp_path: Path, rx: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The base URL of every signal: the backend adds /v1/traces, as the SDK does.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{rx.port}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "deflate")
    session = hilt.instrument(backend="otel", providers=[], otel_schedule_delay=0.05)
    _calls(session, 1)
    session.flush()
    (span,) = rx.wait_for(1)
    assert span.resource["service.name"] == "from-env"
    assert rx.requests[0]["content-encoding"] == "deflate"
    assert session.backend == "otel"
    assert session.filepath is None


def test_the_alias_otlp_is_the_same_backend(rx: OTLPReceiver) -> None:
    session = hilt.Session(backend="otlp", otel_endpoint=rx.endpoint)
    _calls(session, 1)
    assert session.close()
    assert len(rx.wait_for(1)) == 1


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"otel_endpoint": "collector:4318"}, "http:// or https://"),
        ({"otel_compression": "zstd"}, "otel_compression"),
        ({"otel_headers": "no-equals-sign"}, "name=value"),
        ({"otel_max_queue": 0}, "otel_max_queue"),
        ({"otel_close_timeout": -1}, "otel_close_timeout"),
        ({"otel_capture_content": "yes"}, "True or False"),
        ({"otel_exporter": object()}, "SpanExporter"),
        ({"otel_endpiont": "http://x"}, "did you mean 'otel_endpoint'"),
        ({"mode": "r"}, "cannot read"),
    ],
)
def test_bad_settings_are_config_errors_at_instrument_time(
    options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        hilt.Session(backend="otel", **options)


def test_an_sdk_turned_off_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    with pytest.raises(ConfigError, match="OTEL_SDK_DISABLED"):
        hilt.instrument(backend=["jsonl", "otel"], providers=[])
    assert not hilt.is_instrumented()


# -- a collector that misbehaves -------------------------------------------------------------
@pytest.mark.usefixtures("quick_backoff")
def test_an_outage_keeps_the_spans_and_sends_them_once_when_the_collector_is_back(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    session = h.instrument(providers=[], otel_timeout=1)
    first = _calls(session, 1)
    h.spans(1)
    h.rx.stop()
    with caplog.at_level(logging.INFO, logger="hilt"):
        during = _calls(session, 5, start=1)
        assert len(h.events()) == 12  # the JSONL file is written as if nothing happened
        otel = session.handle.children[1].handle
        _until(lambda: otel.stats["failing"])
        assert session.flush() is False  # the collector is behind: flush says so
        h.rx.start()
        spans = h.rx.wait_for(6)
        hilt.uninstrument()
    got = [s.attributes["hilt.prompt.event_id"] for s in spans]
    assert got == first + during  # every call once, in order
    assert len({s.span_id for s in spans}) == 6
    messages = [r.getMessage() for r in caplog.records]
    assert any("cannot take spans now" in m for m in messages)
    assert any("takes spans again" in m for m in messages)
    assert not _lost_warnings(caplog)


@pytest.mark.usefixtures("quick_backoff")
def test_memory_is_bounded_during_an_outage_and_the_loss_is_one_warning(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.rx.stop()
    session = h.instrument(providers=[], otel_max_queue=5, otel_timeout=1, otel_close_timeout=1)
    otel = session.handle.children[1].handle
    ids = _calls(session, 20)
    _until(lambda: otel.stats["spans_dropped"] == 15)
    assert otel.stats["waiting"] == 5
    h.rx.start()
    spans = h.rx.wait_for(5)
    assert [s.attributes["hilt.prompt.event_id"] for s in spans] == ids[15:]  # the newest
    with caplog.at_level(logging.WARNING, logger="hilt"):
        hilt.uninstrument()
        lost = _lost_warnings(caplog)  # reported by the time uninstrument() returned
    assert len(lost) == 1
    assert f"15 spans {LOST} to {h.rx.endpoint}" in lost[0]
    assert "15 dropped" in lost[0]
    assert "otel_max_queue=5" in lost[0]
    assert len(h.path.read_text().splitlines()) == 40  # the file has every event


@pytest.mark.usefixtures("quick_backoff")
def test_a_collector_that_never_comes_back_is_reported_at_close(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}/v1/traces"  # nothing listens there
    session = hilt.instrument(
        backend=["jsonl", "otel"],
        filepath=tmp_path / "log.jsonl",
        providers=[],
        otel_endpoint=endpoint,
        otel_timeout=1,
        otel_close_timeout=0.5,
    )
    _calls(session, 3)
    with caplog.at_level(logging.WARNING, logger="hilt"):
        started = time.monotonic()
        hilt.uninstrument()
        took = time.monotonic() - started
        lost = _lost_warnings(caplog)
    assert took < 8  # bounded by otel_close_timeout (and otel_timeout), not by the outage
    assert len(lost) == 1
    assert f"3 spans {LOST} to {endpoint}" in lost[0]
    assert "3 still unsent at close" in lost[0]
    assert "ConnectionError" in lost[0]
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 6


def test_a_slow_collector_delays_neither_the_application_nor_the_file(
    h: Harness, client: openai.OpenAI
) -> None:
    h.rx.delay = 6.0  # every export request waits 6 s for its answer
    arrived = threading.Event()
    h.rx.on_request = arrived.set
    session = h.instrument(otel_timeout=30)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "0"}])
    assert session.flush()  # the file is written; the span is handed to the export thread
    assert arrived.wait(10)  # an export request is now hanging on the collector
    started = time.monotonic()
    for i in range(10):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"call {i}"}]
        )
    calls = time.monotonic() - started
    assert session.flush(timeout=10)
    flushed = time.monotonic() - started
    assert len(h.events()) == 22
    # Coarse: the calls and the file's flush took a fraction of the collector's 6 s.
    assert calls < 4
    assert flushed < 4.5
    h.rx.delay = 0.0
    assert len(h.rx.wait_for(11, timeout=30)) == 11  # and the spans got there after all


def test_a_collector_that_never_answers_holds_uninstrument_for_otel_close_timeout_only(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.rx.delay = 60.0
    arrived = threading.Event()
    h.rx.on_request = arrived.set
    session = h.instrument(providers=[], otel_timeout=60, otel_close_timeout=1)
    _calls(session, 2)
    session.flush()
    assert arrived.wait(10)
    with caplog.at_level(logging.WARNING, logger="hilt"):
        started = time.monotonic()
        hilt.uninstrument()
        took = time.monotonic() - started
        lost = _lost_warnings(caplog)
    assert took < 5  # otel_close_timeout=1 s, not the collector's 60 s
    assert len(lost) == 1
    assert "2 still unsent at close" in lost[0]


def test_what_the_collector_refuses_is_given_up_and_counted(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.rx.fail_next(401)  # a bad token: retrying would be refused too
    session = h.instrument(providers=[])
    with caplog.at_level(logging.WARNING, logger="hilt"):
        _calls(session, 2)
        session.flush()
        otel = session.handle.children[1].handle
        _until(lambda: otel.stats["spans_rejected"] == 2)
        _calls(session, 1, start=2)
        assert len(h.spans(1)) == 1  # the next batch goes through
        h.rx.reject_next_spans = 1  # OTLP partial success
        _calls(session, 2, start=3)
        session.flush()
        _until(lambda: otel.stats["spans_rejected"] == 3)
        hilt.uninstrument()
    assert any("refused 2 spans (HTTP 401" in r.getMessage() for r in caplog.records)
    (lost,) = _lost_warnings(caplog)
    assert f"3 spans {LOST}" in lost
    assert "3 refused by it" in lost
    assert "rejected by OTLPReceiver" in lost


@pytest.mark.usefixtures("quick_backoff")
def test_a_503_is_retried(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    h.rx.fail_next(500, times=2)
    session = h.instrument(providers=[])
    ids = _calls(session, 2)
    spans = h.spans(2)
    assert [s.attributes["hilt.prompt.event_id"] for s in spans] == ids
    hilt.uninstrument()
    assert not _lost_warnings(caplog)


def test_flush_can_wait_for_the_collector(h: Harness) -> None:
    session = h.instrument(providers=[], otel_flush_timeout=10, otel_schedule_delay=30)
    _calls(session, 3)
    assert session.flush()
    assert len(h.rx.spans) == 3  # there already: flush() waited for the export


# -- the process -----------------------------------------------------------------------------
SCRIPT = """
import sys, openai, hilt
from hilt_openai.testing import FakeOpenAI
with FakeOpenAI() as srv:
    client = openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)
    hilt.instrument(backend=["jsonl", "otel"], filepath=sys.argv[1], providers=["openai"],
                    otel_endpoint=sys.argv[2], otel_timeout=1, otel_close_timeout=0.5)
    reply = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "are you there"}])
    print(reply.choices[0].message.content)
    hilt.uninstrument()
"""


def test_an_absent_collector_prints_nothing_and_the_sdk_says_nothing(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}/v1/traces"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(tmp_path / "l.jsonl"), endpoint],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "HILT_STRICT": "0"},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Echo: are you there\n"  # the application's own output, only
    # Python's last-resort handler shows HILT's warnings (no logging is configured); the
    # SDK exporter's own messages about each failed attempt are not among them.
    assert f"1 spans {LOST} to {endpoint}" in out.stderr
    assert "Failed to export" not in out.stderr
    assert "Transient error" not in out.stderr
    assert len((tmp_path / "l.jsonl").read_text().splitlines()) == 2


FORK = """
import os, sys
import hilt
from hilt_core import Actor, Content, Event

def pair(text):
    p = Event(session_id="c", actor=Actor(type="human", id="u"), action="prompt",
              content=Content(text=text), extensions={"model": text})
    d = Event(session_id="c", actor=Actor(type="agent", id="a"), action="completion",
              extensions={"reply_to": p.event_id, "model": text})
    return p, d

session = hilt.instrument(backend=["jsonl", "otel"], filepath=sys.argv[1], providers=[],
                          otel_endpoint=sys.argv[2], otel_schedule_delay=30)
for e in pair("before"):
    session.append(e)
session.flush()  # the span is made, and waits for its export in the parent
pid = os.fork()
if pid == 0:
    for e in pair("child"):
        session.append(e)
    hilt.uninstrument()
    os._exit(0)
os.waitpid(pid, 0)
for e in pair("parent"):
    session.append(e)
hilt.uninstrument()
"""


def test_a_forked_child_exports_its_own_spans_only(tmp_path: Path, rx: OTLPReceiver) -> None:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FORK), str(tmp_path / "l.jsonl"), rx.endpoint],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    rx.wait_for(3)
    time.sleep(0.5)  # a duplicate would arrive about now
    assert sorted(s.name for s in rx.spans) == ["chat before", "chat child", "chat parent"]


def test_another_span_exporter_can_be_given(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    session = hilt.instrument(
        backend=["jsonl", "otel"],
        filepath=tmp_path / "l.jsonl",
        providers=[],
        otel_exporter=exporter,
    )
    ids = _calls(session, 2)
    hilt.uninstrument()
    spans = exporter.get_finished_spans()
    assert [s.attributes["hilt.prompt.event_id"] for s in spans] == ids  # type: ignore[index]
    assert all(s.name == "chat m" for s in spans)
