"""Errors: the application gets the SDK's own exception, unchanged (errors.ClientError 429,
errors.ServerError 5xx, transport errors), and HILT records it with its status, Google's
status name and the attempts the SDK made. HILT's own failures never reach the app."""

from __future__ import annotations

import logging

import pytest
from google import genai
from google.genai import errors, types

from hilt_gemini import extract
from hilt_gemini.testing import FakeGemini

from .conftest import MODEL, TIMEOUT_ERROR, TRANSPORT_ERROR, Harness


def _raise(client: genai.Client) -> BaseException:
    with pytest.raises(Exception) as caught:
        client.models.generate_content(model=MODEL, contents="x")
    return caught.value


@pytest.mark.parametrize(
    ("status", "name", "kind"),
    [
        (429, "RESOURCE_EXHAUSTED", errors.ClientError),
        (500, "INTERNAL", errors.ServerError),
        (503, "UNAVAILABLE", errors.ServerError),
    ],
)
def test_api_errors_are_re_raised_unchanged_and_recorded(
    h: Harness,
    any_client: genai.Client,
    srv: FakeGemini,
    status: int,
    name: str,
    kind: type[BaseException],
) -> None:
    srv.fail_next(status)
    plain = _raise(any_client)
    h.instrument()
    srv.fail_next(status)
    got = _raise(any_client)
    assert type(got) is type(plain) is kind
    assert str(got) == str(plain)
    assert isinstance(got, errors.APIError)
    assert isinstance(plain, errors.APIError)
    assert (got.code, got.status, got.message, got.details) == (
        plain.code,
        plain.status,
        plain.message,
        plain.details,
    )
    prompt, failed = h.one()
    ext = failed["extensions"]
    assert failed["action"] == "system"
    assert failed["actor"] == {"type": "system", "id": "gemini"}
    assert ext["reply_to"] == prompt["event_id"]
    assert ext["status_code"] == status
    assert ext["error_detail"] == name
    assert ext["error_type"] == kind.__name__
    assert ext["error_code"] == "api_error"
    assert ext["attempts"] == 1
    assert failed["content"]["text"] == got.message


def test_retries_are_counted_as_attempts(hi: Harness, srv: FakeGemini) -> None:
    client = srv.client(retries=3)
    srv.fail_next(503, times=2)
    assert client.models.generate_content(model=MODEL, contents="retry").text == "Echo: retry"
    srv.fail_next(429, times=4)
    with pytest.raises(errors.ClientError):
        client.models.generate_content(model=MODEL, contents="give up")
    (_, ok), (_, failed) = hi.calls()
    assert ok["extensions"]["attempts"] == 3
    assert ok["extensions"]["status_code"] == 200
    assert failed["extensions"]["attempts"] == 4
    assert failed["extensions"]["status_code"] == 429


def test_retried_stream_counts_attempts(hi: Harness, srv: FakeGemini) -> None:
    client = srv.client(retries=2)
    srv.fail_next(500, times=1)
    list(client.models.generate_content_stream(model=MODEL, contents="retry stream"))
    _, done = hi.one()
    assert done["extensions"]["attempts"] == 2
    assert done["extensions"]["stream"] is True


def test_no_response_is_status_0(hi: Harness, client: genai.Client, srv: FakeGemini) -> None:
    srv.drop_connection_next()
    with pytest.raises(TRANSPORT_ERROR):
        client.models.generate_content(model=MODEL, contents="dropped")
    _, failed = hi.one()
    assert failed["extensions"]["status_code"] == 0
    assert failed["extensions"]["error_type"] == "RemoteProtocolError"


def test_a_timeout_is_status_0(hi: Harness, client: genai.Client, srv: FakeGemini) -> None:
    srv.stall_next(2.0)
    config = types.GenerateContentConfig(http_options=types.HttpOptions(timeout=200))
    with pytest.raises(TIMEOUT_ERROR):
        client.models.generate_content(model=MODEL, contents="slow", config=config)
    _, failed = hi.one()
    assert failed["extensions"]["status_code"] == 0
    assert failed["extensions"]["error_type"] == "ReadTimeout"


def test_a_hilt_failure_never_reaches_the_app(
    h: Harness,
    client: genai.Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("HILT_STRICT")  # production behaviour: logged, not raised

    def broken(body: object) -> None:
        raise RuntimeError("a bug in HILT")

    monkeypatch.setattr(extract, "describe_generate", broken)
    h.instrument()
    with caplog.at_level(logging.ERROR, logger="hilt"):
        r = client.models.generate_content(model=MODEL, contents="still works")
        list(client.models.generate_content_stream(model=MODEL, contents="stream too"))
        h.events()
    assert r.text == "Echo: still works"
    assert "a bug in HILT" in caplog.text
