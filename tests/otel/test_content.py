"""Content: off unless asked for, and then only what the session's capture mode and
redactors kept (they run before any backend sees an event; the export never goes back to
the text)."""

from __future__ import annotations

import json

import openai
import pytest

from hilt_otel.testing import ReceivedSpan

from .conftest import Harness

CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "hilt.content.text")


def _call(h: Harness, client: openai.OpenAI, text: str = "my secret plan") -> ReceivedSpan:
    client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": text}],
    )
    (span,) = h.spans(1)
    return span


def _no_text_anywhere(span: ReceivedSpan, *texts: str) -> None:
    blob = json.dumps([span.attributes, span.status_message, span.name])
    for text in texts:
        assert text not in blob


def test_content_is_off_by_default(h: Harness, client: openai.OpenAI) -> None:
    h.instrument()
    span = _call(h, client)
    for key in CONTENT_KEYS:
        assert key not in span.attributes
    _no_text_anywhere(span, "my secret plan", "be brief", "Echo")
    # ... while the local JSONL file beside it has the text (capture="full")
    assert h.events()[0]["content"]["text"] == "my secret plan"


def test_the_standard_variable_turns_content_on(
    h: Harness, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    h.instrument()
    span = _call(h, client)
    assert json.loads(span.attributes["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "my secret plan"}]},
    ]
    assert json.loads(span.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Echo: my secret plan"}],
            "finish_reason": "stop",
        }
    ]


def test_the_option_wins_over_the_variable(
    h: Harness, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    h.instrument(otel_capture_content=False)
    span = _call(h, client)
    for key in CONTENT_KEYS:
        assert key not in span.attributes


def test_content_on_with_capture_hash_exports_the_hashes(h: Harness, client: openai.OpenAI) -> None:
    h.instrument(capture="hash", hash_salt="s3cret", otel_capture_content=True)
    span = _call(h, client)
    prompt, done = h.events()
    assert span.attributes["hilt.capture"] == "hash"
    sent_in = json.loads(span.attributes["gen_ai.input.messages"])
    sent_out = json.loads(span.attributes["gen_ai.output.messages"])
    texts_in = [m["parts"][0]["content"] for m in sent_in]
    # exactly the hashes the JSONL file holds: the export reads the event as it was kept
    assert texts_in == [m["text"] for m in prompt["content"]["messages"]]
    assert all(t.startswith("sha256:") for t in texts_in)
    assert sent_out[0]["parts"][0]["content"] == done["content"]["text"]
    assert done["content"]["text"].startswith("sha256:")
    _no_text_anywhere(span, "my secret plan", "be brief", "Echo")


def test_content_on_with_capture_metadata_exports_no_content(
    h: Harness, client: openai.OpenAI
) -> None:
    h.instrument(capture="metadata", otel_capture_content=True)
    span = _call(h, client)
    for key in CONTENT_KEYS:
        assert key not in span.attributes
    _no_text_anywhere(span, "my secret plan", "be brief", "Echo")
    assert span.attributes["gen_ai.usage.input_tokens"] > 0  # the numbers are still there


def test_content_on_with_capture_redacted_exports_the_redacted_text(
    h: Harness, client: openai.OpenAI
) -> None:
    h.instrument(capture="redacted", otel_capture_content=True)
    span = _call(h, client, text="mail jane.doe@example.com today")
    sent = span.attributes["gen_ai.input.messages"]
    assert "jane.doe@example.com" not in sent
    assert h.events()[0]["content"]["text"] in sent  # what the redactor left


def test_an_error_message_is_content_too(h: Harness, client: openai.OpenAI, srv: object) -> None:
    from hilt_openai.testing import FakeOpenAI

    assert isinstance(srv, FakeOpenAI)
    h.instrument(otel_capture_content=True)
    srv.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    (span,) = h.spans(1)
    assert span.status_message.startswith("Error code: 429")
    assert "gen_ai.output.messages" not in span.attributes
