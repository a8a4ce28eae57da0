"""Errors reach the app unchanged and are recorded as system events linked to their prompt,
with the status, the SDK's attempts and Anthropic's error type; HILT's own failures never
reach the app, and HILT prints nothing."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import anthropic
import pytest

from hilt_anthropic import extract
from hilt_anthropic.testing import FakeAnthropic
from hilt_core import testing
from hilt_core.provider import call as call_module
from hilt_core.provider import streams as core_streams
from hilt_core.testing import broken, raised

from .conftest import MODEL, SDK, Harness

try:  # exported from anthropic 0.108; in anthropic._exceptions before
    from anthropic import OverloadedError
except ImportError:  # pragma: no cover - older SDKs
    from anthropic._exceptions import OverloadedError


class RecordingClient(anthropic.Anthropic):
    """An app's client subclass that keeps the status errors the SDK makes."""

    made: list[Exception]

    def _make_status_error(self, err_msg: str, *, body: object, response: Any) -> Any:
        error = super()._make_status_error(err_msg, body=body, response=response)
        self.made.append(error)
        return error


def ask(client: Any, word: str, **kwargs: Any) -> Any:
    return client.messages.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": f"hi {word}"}], **kwargs
    )


def check_error(
    prompt: dict[str, Any], err: dict[str, Any], kind: str, status: int, model: str = MODEL
) -> None:
    testing.check_error(prompt, err, actor="anthropic", kind=kind, status=status, model=model)


def unique(value: Any) -> Any:
    """``value`` with the fake's fresh request ids set aside."""
    return re.sub(r"req_[0-9a-f]+", "req_<v>", str(value))


@pytest.mark.parametrize(
    ("status", "kind", "detail"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (529, OverloadedError, "overloaded_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
    ],
)
def test_status_errors_reraised_unchanged_and_recorded(
    srv: FakeAnthropic,
    h: Harness,
    word: str,
    status: int,
    kind: type[anthropic.APIStatusError],
    detail: str,
) -> None:
    client = RecordingClient(base_url=srv.base_url, api_key="k", max_retries=0)
    client.made = []
    srv.fail_next(status)
    plain = raised(lambda: ask(client, word))
    h.instrument()
    srv.fail_next(status)
    got = raised(lambda: ask(client, word))
    assert type(got) is type(plain) is kind
    assert isinstance(got, anthropic.APIStatusError)
    assert isinstance(plain, anthropic.APIStatusError)
    assert (unique(got.message), got.status_code, unique(got.body)) == (
        unique(plain.message),
        plain.status_code,
        unique(plain.body),
    )
    assert got is client.made[-1]  # the SDK's own object, not a copy
    prompt, err = h.one()
    check_error(prompt, err, kind.__name__, status)
    assert err["content"]["text"] == got.message
    assert err["extensions"]["attempts"] == 1
    assert err["extensions"]["error_detail"] == detail


def test_retries_are_counted(srv: FakeAnthropic, hi: Harness, word: str) -> None:
    with anthropic.Anthropic(base_url=srv.base_url, api_key="k", max_retries=2) as client:
        srv.fail_next(529, times=2)
        got = ask(client, word)
        srv.fail_next(429, times=3)
        with pytest.raises(anthropic.RateLimitError):
            ask(client, word + "x")
        ask(client, word + "y")
    assert got.content[0].text == f"Echo: hi {word}"
    assert len(srv.requests) == 3 + 3 + 1
    (_, ok), (prompt, failed), (_, plain) = hi.calls()
    assert ok["action"] == "completion"
    assert ok["extensions"]["attempts"] == 3
    check_error(prompt, failed, "RateLimitError", 429)
    assert failed["extensions"]["attempts"] == 3
    assert plain["extensions"]["attempts"] == 1


def test_timeout_recorded_with_no_response(
    srv: FakeAnthropic, client: Any, h: Harness, word: str
) -> None:
    def run() -> BaseException:
        srv.stall_next(2.0)
        return raised(lambda: ask(client.with_options(timeout=0.2, max_retries=0), word))

    plain = run()
    h.instrument()
    got = run()
    assert type(got) is type(plain) is anthropic.APITimeoutError
    assert str(got) == str(plain)
    prompt, err = h.one()
    check_error(prompt, err, "APITimeoutError", 0)  # 0: no response came back


def test_connection_error_recorded_with_no_response(
    srv: FakeAnthropic, client: Any, h: Harness, word: str
) -> None:
    def run() -> BaseException:
        srv.drop_connection_next()
        return raised(lambda: ask(client.with_options(max_retries=0), word))

    plain = run()
    h.instrument()
    got = run()
    assert type(got) is type(plain) is anthropic.APIConnectionError
    assert str(got) == str(plain)
    assert type(got.__cause__) is type(plain.__cause__)
    prompt, err = h.one()
    check_error(prompt, err, "APIConnectionError", 0)


def test_stream_refused_before_it_starts(srv: FakeAnthropic, client: Any, hi: Harness) -> None:
    srv.fail_next(529, times=2)
    with pytest.raises(OverloadedError):
        ask(client, "refused", stream=True)
    prompt, err = hi.one()
    check_error(prompt, err, "OverloadedError", 529)
    assert err["extensions"]["attempts"] == 2
    srv.fail_next(529, times=2)
    manager = client.messages.stream(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "helper refused"}]
    )
    with pytest.raises(OverloadedError):
        manager.__enter__()
    _, helper_err = hi.calls()[1]
    assert helper_err["extensions"]["error_type"] == "OverloadedError"


def test_async_errors(srv: FakeAnthropic, hi: Harness, word: str) -> None:
    async def run() -> list[str]:
        kinds = []
        async with anthropic.AsyncAnthropic(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            srv.fail_next(429)
            try:
                await ask(c, word)
            except anthropic.RateLimitError as exc:
                kinds.append(type(exc).__name__)
            srv.drop_connection_next()
            try:
                await ask(c, word)
            except anthropic.APIConnectionError as exc:
                kinds.append(type(exc).__name__)
            srv.stall_next(2.0)
            try:
                await ask(c.with_options(timeout=0.2), word, stream=True)
            except anthropic.APITimeoutError as exc:
                kinds.append(type(exc).__name__)
        return kinds

    assert asyncio.run(run()) == ["RateLimitError", "APIConnectionError", "APITimeoutError"]
    (p1, e1), (p2, e2), (p3, e3) = hi.calls()
    check_error(p1, e1, "RateLimitError", 429)
    check_error(p2, e2, "APIConnectionError", 0)
    check_error(p3, e3, "APITimeoutError", 0)


# -- HILT's own failures -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["start", "completion", "error"])
def test_internal_errors_never_reach_the_call(
    hilt_production: None,
    srv: FakeAnthropic,
    client: Any,
    hi: Harness,
    word: str,
    method: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(call_module.Call, method, broken)
    assert ask(client, word).content[0].text == f"Echo: hi {word}"
    stream = ask(client, word, stream=True)
    assert type(stream) is anthropic.Stream
    text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")
    assert text == f"Echo: hi {word}"
    with client.messages.stream(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": f"hi {word}"}]
    ) as helper:
        assert helper.get_final_text() == f"Echo: hi {word}"
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": f"hi {word}"}]
    )
    assert raw.parse().content[0].text == f"Echo: hi {word}"
    srv.fail_next(429, times=2)
    with pytest.raises(anthropic.RateLimitError):
        ask(client, word)
    assert any("HILT could not record" in r.getMessage() for r in caplog.records)


def test_internal_errors_inside_a_stream_never_reach_the_app(
    hilt_production: None,
    client: Any,
    h: Harness,
    word: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plain = list(ask(client, word, stream=True))
    h.instrument()
    monkeypatch.setattr(core_streams.StreamRecord, "first_token", broken)  # per event
    monkeypatch.setattr(extract, "content_blocks", broken)  # fails when the stream ends
    events = list(ask(client, word, stream=True))
    h.same(plain, events)
    assert any("HILT could not" in r.getMessage() for r in caplog.records)


def test_closed_session_is_not_an_error_for_the_app(
    client: Any, hi: Harness, word: str, caplog: pytest.LogCaptureFixture
) -> None:
    stream = ask(client, word, stream=True)
    assert hi.session is not None
    hi.session.close()  # the app closed HILT's session while a call was in flight
    text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")
    assert text == f"Echo: hi {word}"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_prints_nothing(
    srv: FakeAnthropic, client: Any, hi: Harness, word: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ask(client, word)
    list(ask(client, word, stream=True))
    stream = ask(client, word, stream=True)
    next(iter(stream))
    stream.close()
    srv.fail_next(500, times=2)
    with pytest.raises(anthropic.InternalServerError):
        ask(client, word)
    assert len(hi.calls()) == 4
    assert capsys.readouterr().out == ""


def test_the_key_is_not_logged(srv: FakeAnthropic, hi: Harness, word: str) -> None:
    key = "sk-ant-api03-" + word
    with anthropic.Anthropic(base_url=srv.base_url, api_key=key, max_retries=0) as client:
        ask(client, word)
        srv.fail_next(401)
        with pytest.raises(anthropic.AuthenticationError):
            ask(client, word)
    text = "\n".join(hi.lines())
    assert len(hi.calls()) == 2
    assert key not in text
    assert "Bearer" not in text


@pytest.mark.skipif(SDK < (2, 6), reason="Vertex raised plain 5xx errors for 529 before 2.6")
def test_vertex_overloaded(srv: FakeAnthropic, hi: Harness) -> None:
    vertex = anthropic.AnthropicVertex(
        region="us-east5",
        project_id="p",
        access_token="t",
        base_url=srv.vertex_base_url,
        max_retries=0,
    )
    srv.fail_next(529)
    with pytest.raises(OverloadedError):
        vertex.messages.create(
            model="claude-haiku-4-5@20251001",
            max_tokens=10,
            messages=[{"role": "user", "content": "busy?"}],
        )
    prompt, err = hi.one()
    check_error(prompt, err, "OverloadedError", 529, "claude-haiku-4-5@20251001")
    assert err["extensions"]["provider"] == "gcp.vertex_ai"
