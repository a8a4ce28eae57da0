"""Errors reach the app unchanged and are recorded as system events linked to their prompt;
retries are counted; HILT's own failures never reach the app, and HILT prints nothing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import openai
import pytest

from hilt_core import testing
from hilt_core.provider import call as call_module
from hilt_core.provider import streams as core_streams
from hilt_core.testing import broken, raised
from hilt_openai import streams
from hilt_openai.testing import FakeOpenAI


class RecordingClient(openai.OpenAI):
    """An app's client subclass that keeps the status errors the SDK makes."""

    made: list[Exception]

    def _make_status_error(self, err_msg: str, *, body: object, response: Any) -> Any:
        error = super()._make_status_error(err_msg, body=body, response=response)
        self.made.append(error)
        return error


def check_error(prompt: dict[str, Any], err: dict[str, Any], kind: str, status: int) -> None:
    testing.check_error(prompt, err, actor="openai", kind=kind, status=status, model="m")


def user(word: str) -> Any:
    return [{"role": "user", "content": f"hi {word}"}]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (401, openai.AuthenticationError),
        (400, openai.BadRequestError),
    ],
)
def test_status_errors_reraised_unchanged_and_recorded(
    srv: FakeOpenAI, h: Any, word: str, status: int, kind: type[openai.APIStatusError]
) -> None:
    client = RecordingClient(base_url=srv.base_url, api_key="k", max_retries=0)
    client.made = []
    srv.fail_next(status)
    plain = raised(lambda: client.chat.completions.create(model="m", messages=user(word)))
    h.instrument()
    srv.fail_next(status)
    got = raised(lambda: client.chat.completions.create(model="m", messages=user(word)))
    assert type(got) is type(plain) is kind
    assert str(got) == str(plain)
    assert isinstance(got, openai.APIStatusError)
    assert isinstance(plain, openai.APIStatusError)
    assert (got.message, got.status_code, got.code, got.body) == (
        plain.message,
        plain.status_code,
        plain.code,
        plain.body,
    )
    assert got is client.made[-1]  # the SDK's own object, not a copy
    prompt, err = h.one()
    check_error(prompt, err, kind.__name__, status)
    assert err["content"]["text"] == got.message
    assert err["extensions"]["attempts"] == 1
    if got.code:
        assert err["extensions"]["error_detail"] == got.code


def test_retries_are_counted(srv: FakeOpenAI, hi: Any, word: str) -> None:
    with openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=2) as client:
        srv.fail_next(429, times=2)
        got = client.chat.completions.create(model="m", messages=user(word))
        srv.fail_next(429, times=3)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=user(word + "x"))
        client.chat.completions.create(model="m", messages=user(word + "y"))
    assert got.choices[0].message.content == f"Echo: hi {word}"
    assert len(srv.requests) == 3 + 3 + 1
    (_, ok), (prompt, failed), (_, plain) = hi.calls()
    assert ok["action"] == "completion"
    assert ok["extensions"]["attempts"] == 3
    check_error(prompt, failed, "RateLimitError", 429)
    assert failed["extensions"]["attempts"] == 3
    assert plain["extensions"]["attempts"] == 1


def test_timeout_recorded_with_no_response(srv: FakeOpenAI, client: Any, h: Any, word: str) -> None:
    def run() -> BaseException:
        srv.stall_next(2.0)
        create = client.with_options(timeout=0.2).chat.completions.create
        return raised(lambda: create(model="m", messages=user(word)))

    plain = run()
    h.instrument()
    got = run()
    assert type(got) is type(plain) is openai.APITimeoutError
    assert str(got) == str(plain)
    prompt, err = h.one()
    check_error(prompt, err, "APITimeoutError", 0)  # 0: no response came back


def test_connection_error_recorded_with_no_response(
    srv: FakeOpenAI, client: Any, h: Any, word: str
) -> None:
    def run() -> BaseException:
        srv.drop_connection_next()
        return raised(lambda: client.chat.completions.create(model="m", messages=user(word)))

    plain = run()
    h.instrument()
    got = run()
    assert type(got) is type(plain) is openai.APIConnectionError
    assert str(got) == str(plain)
    assert type(got.__cause__) is type(plain.__cause__)
    prompt, err = h.one()
    check_error(prompt, err, "APIConnectionError", 0)


def test_stream_refused_before_it_starts(srv: FakeOpenAI, client: Any, hi: Any, word: str) -> None:
    srv.fail_next(503)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=user(word), stream=True)
    prompt, err = hi.one()
    check_error(prompt, err, "InternalServerError", 503)


def test_async_errors(srv: FakeOpenAI, hi: Any, word: str) -> None:
    async def run() -> list[str]:
        kinds = []
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            srv.fail_next(429)
            try:
                await c.chat.completions.create(model="m", messages=user(word))
            except openai.RateLimitError as exc:
                kinds.append(type(exc).__name__)
            srv.drop_connection_next()
            try:
                await c.responses.create(model="m", input=word)
            except openai.APIConnectionError as exc:
                kinds.append(type(exc).__name__)
            srv.stall_next(2.0)
            try:
                await c.with_options(timeout=0.2).embeddings.create(model="m", input=word)
            except openai.APITimeoutError as exc:
                kinds.append(type(exc).__name__)
        return kinds

    assert asyncio.run(run()) == ["RateLimitError", "APIConnectionError", "APITimeoutError"]
    (p1, e1), (p2, e2), (p3, e3) = hi.calls()
    check_error(p1, e1, "RateLimitError", 429)
    check_error(p2, e2, "APIConnectionError", 0)
    check_error(p3, e3, "APITimeoutError", 0)
    assert (e2["extensions"]["api"], e3["extensions"]["api"]) == ("responses", "embeddings")


# -- HILT's own failures -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["start", "completion", "error"])
def test_internal_errors_never_reach_the_call(
    hilt_production: None,
    srv: FakeOpenAI,
    client: Any,
    hi: Any,
    word: str,
    method: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(call_module.Call, method, broken)
    got = client.chat.completions.create(model="m", messages=user(word))
    assert got.choices[0].message.content == f"Echo: hi {word}"
    stream = client.chat.completions.create(model="m", messages=user(word), stream=True)
    assert type(stream) is openai.Stream
    assert "".join(c.choices[0].delta.content or "" for c in stream) == f"Echo: hi {word}"
    raw = client.chat.completions.with_raw_response.create(model="m", messages=user(word))
    assert raw.parse().choices[0].message.content == f"Echo: hi {word}"
    r = client.responses.create(model="m", input=word)
    assert r.output_text == f"Echo: {word}"
    srv.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=user(word))
    assert any("HILT could not record" in r.getMessage() for r in caplog.records)
    assert all(r.name == "hilt" for r in caplog.records if "HILT could" in r.getMessage())


def test_internal_error_in_async_calls(
    hilt_production: None, srv: FakeOpenAI, hi: Any, word: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(call_module.Call, "completion", broken)
    monkeypatch.setattr(call_module.Call, "error", broken)

    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            r = await c.chat.completions.create(model="m", messages=user(word))
            stream = await c.chat.completions.create(model="m", messages=user(word), stream=True)
            text = "".join([ch.choices[0].delta.content or "" async for ch in stream])
            assert text == r.choices[0].message.content
            srv.fail_next(500)
            with pytest.raises(openai.InternalServerError):
                await c.chat.completions.create(model="m", messages=user(word))
            return text

    assert asyncio.run(run()) == f"Echo: hi {word}"


class BrokenClock:
    @staticmethod
    def perf_counter() -> float:
        raise RuntimeError("HILT bug")


def test_internal_errors_inside_a_stream_never_reach_the_app(
    hilt_production: None,
    srv: FakeOpenAI,
    client: Any,
    h: Any,
    word: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plain = list(client.chat.completions.create(model="m", messages=user(word), stream=True))
    h.instrument(include_usage=True)
    monkeypatch.setattr(core_streams, "perf_counter", BrokenClock.perf_counter)  # per chunk
    monkeypatch.setattr(streams, "_chat_parts", broken)  # fails when the stream ends
    chunks = list(client.chat.completions.create(model="m", messages=user(word), stream=True))
    h.same(plain, chunks)  # and the injected usage chunk is still hidden
    assert any("HILT could not" in r.getMessage() for r in caplog.records)


def test_closed_session_is_not_an_error_for_the_app(
    srv: FakeOpenAI, client: Any, hi: Any, word: str, caplog: pytest.LogCaptureFixture
) -> None:
    stream = client.chat.completions.create(model="m", messages=user(word), stream=True)
    hi.session.close()  # the app closed HILT's session while a call was in flight
    assert "".join(c.choices[0].delta.content or "" for c in stream) == f"Echo: hi {word}"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_prints_nothing(
    srv: FakeOpenAI, client: Any, hi: Any, word: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client.chat.completions.create(model="m", messages=user(word))
    list(client.chat.completions.create(model="m", messages=user(word), stream=True))
    stream = client.chat.completions.create(model="m", messages=user(word), stream=True)
    next(iter(stream))
    stream.close()
    client.responses.create(model="m", input=word)
    client.embeddings.create(model="e", input=word)
    srv.fail_next(500)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=user(word))
    assert len(hi.calls()) == 6
    assert capsys.readouterr().out == ""


def test_error_carries_no_http_detail_it_should_not(
    srv: FakeOpenAI, client: Any, hi: Any, word: str
) -> None:
    srv.fail_next(401)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="m", messages=user(word))
    text = "\n".join(hi.lines())
    assert "Bearer" not in text
    assert "authorization" not in text.lower()
