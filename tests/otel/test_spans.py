"""What a span says: every GenAI attribute of a call, checked against the events the real
``openai`` SDK made through HILT (the JSONL file written beside the export), as decoded
by a receiver from the protobuf the real OTLP/HTTP exporter sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import openai
import pytest

import hilt
from hilt_core import Actor, Content, Event, Metrics
from hilt_openai.testing import FakeOpenAI
from hilt_otel import semconv as sc
from hilt_otel.testing import ReceivedSpan

from .conftest import Harness


def _ns(ts: str) -> int:
    d = datetime.fromisoformat(ts)
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1_000


def _by_name(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.name: s for s in spans}


@pytest.mark.usefixtures("prices")
def test_a_chat_call_is_one_client_span_with_the_genai_attributes(
    h: Harness, client: openai.OpenAI, srv: FakeOpenAI
) -> None:
    srv.cached_tokens = 2
    srv.reasoning_tokens = 3
    h.instrument(otel_service_name="checkout", otel_resource_attributes={"team": "payments"})
    with hilt.scope(user_id="u-17", tenant_id="acme", tags=["beta"]):
        client.chat.completions.create(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hello there friend"},
            ],
        )
    prompt, done = h.events()
    (span,) = h.spans(1)
    ext = done["extensions"]
    tokens = done["metrics"]["tokens"]
    assert span.name == "chat gpt-4o"
    assert span.kind == "CLIENT"
    assert span.status == "UNSET"
    assert span.start_ns == _ns(prompt["timestamp"])
    assert span.end_ns == _ns(done["timestamp"])
    assert span.parent_span_id == ""
    assert span.scope == "hilt"
    assert span.resource["service.name"] == "checkout"
    assert span.resource["team"] == "payments"
    port = srv.port
    assert span.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",  # the OpenAI SDK, on an OpenAI-compatible server
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.id": ext["response_id"],
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": tokens["prompt"],
        "gen_ai.usage.output_tokens": tokens["completion"],
        "gen_ai.usage.cache_read.input_tokens": 2,
        "gen_ai.usage.reasoning.output_tokens": 3,
        "gen_ai.conversation.id": prompt["session_id"],
        "session.id": prompt["session_id"],
        "user.id": "u-17",
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 200,
        "hilt.cost_usd": done["metrics"]["cost_usd"],
        "operation.cost": done["metrics"]["cost_usd"],
        "hilt.prompt.event_id": prompt["event_id"],
        "hilt.response.event_id": done["event_id"],
        "hilt.api": "chat.completions",
        "hilt.provider": "openai-compatible",
        "hilt.stream": False,
        "hilt.attempts": 1,
        "hilt.tenant_id": "acme",
        "hilt.tags": ["beta"],
        "hilt.capture": "full",
    }
    assert tokens["prompt"] > 0
    assert done["metrics"]["cost_usd"] > 0


def test_a_rate_limited_call_is_an_error_span(
    h: Harness, client: openai.OpenAI, srv: FakeOpenAI
) -> None:
    h.instrument()
    srv.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "too fast"}]
        )
    prompt, error = h.events()
    (span,) = h.spans(1)
    assert error["action"] == "system"
    assert span.name == "chat gpt-4o-mini"
    assert span.status == "ERROR"
    assert span.status_message == "rate_limit_exceeded"  # the provider's code, not its text
    a = span.attributes
    assert a["error.type"] == "RateLimitError"
    assert a["http.response.status_code"] == 429
    assert a["hilt.error_code"] == "api_error"
    assert a["hilt.error_detail"] == "rate_limit_exceeded"
    assert a["gen_ai.request.model"] == "gpt-4o-mini"
    assert a["hilt.prompt.event_id"] == prompt["event_id"]
    assert a["hilt.response.event_id"] == error["event_id"]
    for absent in ("gen_ai.response.model", "gen_ai.response.id", "gen_ai.usage.input_tokens"):
        assert absent not in a
    assert span.start_ns == _ns(prompt["timestamp"])
    assert span.end_ns == _ns(error["timestamp"])


def test_a_connection_error_has_no_http_status(
    h: Harness, client: openai.OpenAI, srv: FakeOpenAI
) -> None:
    h.instrument()
    srv.drop_connection_next()
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "dropped"}]
        )
    (span,) = h.spans(1)
    assert span.status == "ERROR"
    assert span.attributes["error.type"] == "APIConnectionError"
    assert "http.response.status_code" not in span.attributes


def test_streams_responses_and_embeddings_name_their_operation(
    h: Harness, client: openai.OpenAI
) -> None:
    h.instrument()
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "stream it"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    client.responses.create(model="gpt-4o-mini", input="a response")
    client.embeddings.create(model="text-embedding-3-small", input="vectors")
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="legacy")
    events = h.events()
    spans = h.spans(4)
    names = [s.name for s in spans]
    assert names == [
        "chat gpt-4o",
        "chat gpt-4o-mini",
        "embeddings text-embedding-3-small",
        "text_completion gpt-3.5-turbo-instruct",
    ]
    streamed, responses, embeddings, legacy = spans
    assert streamed.attributes["hilt.stream"] is True
    assert streamed.attributes["gen_ai.usage.output_tokens"] > 0
    assert streamed.attributes["hilt.ttft_ms"] == events[1]["metrics"]["ttft_ms"]
    assert streamed.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert responses.attributes["hilt.api"] == "responses"
    assert responses.attributes["gen_ai.response.finish_reasons"] == ["completed"]
    assert embeddings.attributes["gen_ai.operation.name"] == "embeddings"
    assert embeddings.attributes["hilt.dimensions"] == 8
    assert legacy.attributes["gen_ai.operation.name"] == "text_completion"
    assert all(s.kind == "CLIENT" for s in spans)


def _pair(model: str = "claude-sonnet-4-5", **tokens: int) -> tuple[Event, Event]:
    prompt = Event(
        session_id="conv_manual",
        actor=Actor(type="human", id="user"),
        action="prompt",
        content=Content(text="cache this"),
        extensions={"model": model, "provider": "anthropic", "api": "messages"},
    )
    done = Event(
        session_id="conv_manual",
        actor=Actor(type="agent", id="anthropic"),
        action="completion",
        content=Content(text="cached"),
        metrics=Metrics(tokens=tokens, latency_ms=40.0, cost_usd=0.25),
        extensions={
            "reply_to": prompt.event_id,
            "model": model,
            "request_model": model,
            "provider": "anthropic",
            "api": "messages",
            "endpoint": "api.anthropic.com",
            "status_code": 200,
            "finish_reason": "end_turn",
            "response_id": "msg_01",
        },
    )
    return prompt, done


def test_an_applications_own_call_events_make_a_span_with_both_cache_names(
    h: Harness,
) -> None:
    # Cache creation comes from Anthropic; its provider plugin is not in this tree yet, so
    # the application writes the pair itself, in HILT's token vocabulary.
    session = h.instrument(providers=[])
    prompt, done = _pair(prompt=100, completion=20, total=120, cached=30, cache_write=50)
    session.append(prompt)
    session.append(done)
    (span,) = h.spans(1)
    a = span.attributes
    assert span.name == "chat claude-sonnet-4-5"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.usage.input_tokens"] == 100  # cached and cache-written included
    assert a["gen_ai.usage.cache_read.input_tokens"] == 30
    assert a["gen_ai.usage.cache_creation.input_tokens"] == 50
    assert a["gen_ai.usage.cache_write.input_tokens"] == 50
    assert a["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert a["server.address"] == "api.anthropic.com"
    assert "server.port" not in a
    assert a["hilt.cost_usd"] == 0.25


def test_other_events_are_internal_spans_linked_to_their_call(h: Harness) -> None:
    session = h.instrument(providers=[])
    prompt, done = _pair(prompt=1, completion=1, total=2)
    feedback = Event(
        session_id="conv_manual",
        actor=Actor(type="human", id="reviewer"),
        action="feedback",
        content=Content(text="great answer"),
        extensions={"reply_to": done.event_id, "score": 0.9, "user_id": "rev-1"},
    )
    tool = Event(
        session_id="conv_manual",
        actor=Actor(type="tool", id="search"),
        action="tool_result",
        extensions={"tool_name": "search", "tool_call_id": "call_1"},
    )
    for e in (prompt, done, feedback, tool):
        session.append(e)
    spans = _by_name(h.spans(3))
    call, fb, tr = (
        spans["chat claude-sonnet-4-5"],
        spans["hilt feedback"],
        spans["hilt tool_result"],
    )
    assert fb.kind == "INTERNAL"
    assert (
        fb.start_ns
        == fb.end_ns
        == int(feedback.timestamp.timestamp()) * 10**9 + (feedback.timestamp.microsecond * 1000)
    )
    assert fb.links == [(call.trace_id, call.span_id)]
    assert fb.attributes == {
        "hilt.action": "feedback",
        "hilt.actor.type": "human",
        "hilt.actor.id": "reviewer",
        "hilt.event_id": feedback.event_id,
        "hilt.reply_to": done.event_id,
        "hilt.score": 0.9,
        "gen_ai.conversation.id": "conv_manual",
        "session.id": "conv_manual",
        "user.id": "rev-1",
        "hilt.capture": "full",
    }
    assert fb.status == "UNSET"
    assert tr.attributes["hilt.tool_name"] == "search"
    assert tr.attributes["hilt.tool_call_id"] == "call_1"
    assert tr.links == []


def test_a_follow_up_call_links_to_the_call_it_continues(h: Harness, client: openai.OpenAI) -> None:
    h.instrument()
    first = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "first turn"}]
    )
    client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "user", "content": "first turn"},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "second turn"},
        ],
    )
    one, two = h.spans(2)
    assert two.links == [(one.trace_id, one.span_id)]
    assert two.attributes["gen_ai.conversation.id"] == one.attributes["gen_ai.conversation.id"]


def test_an_event_naming_the_applications_trace_becomes_a_child_of_it(h: Harness) -> None:
    session = h.instrument(providers=[])
    prompt, done = _pair(prompt=1, completion=1, total=2)
    trace_id, span_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    assert prompt.extensions is not None
    prompt.extensions.update(trace_id=trace_id, span_id=span_id)
    session.append(prompt)
    session.append(done)
    (span,) = h.spans(1)
    assert span.trace_id == trace_id
    assert span.parent_span_id == span_id


def test_an_answer_without_its_prompt_still_makes_a_call_span(h: Harness) -> None:
    session = h.instrument(providers=[])
    _prompt, done = _pair(prompt=1, completion=1, total=2)
    session.append(done)  # its prompt was never written (dropped, another process)
    (span,) = h.spans(1)
    assert span.name == "chat claude-sonnet-4-5"
    assert span.end_ns - span.start_ns == 40_000_000  # metrics.latency_ms before it
    assert "hilt.prompt.event_id" not in span.attributes


def test_a_prompt_never_answered_is_exported_at_close(h: Harness) -> None:
    session = h.instrument(providers=[])
    prompt, _ = _pair()
    session.append(prompt)
    session.flush()
    assert h.rx.spans == []  # it waits for its answer
    hilt.uninstrument()
    (span,) = h.rx.wait_for(1)
    assert span.attributes["hilt.unanswered"] is True
    assert span.start_ns == span.end_ns


def test_hilts_drop_report_is_a_span(h: Harness) -> None:
    session = h.instrument(providers=[])
    session.append(
        Event(
            session_id="hilt",
            actor=Actor(type="system", id="hilt"),
            action="system",
            content=Content(text="HILT dropped 3 events: the queue was full"),
            extensions={"error_code": "hilt_dropped", "dropped": 3},
        )
    )
    (span,) = h.spans(1)
    assert span.name == "hilt system"
    assert span.attributes["hilt.dropped"] == 3
    assert span.attributes["hilt.error_code"] == "hilt_dropped"
    assert "gen_ai.conversation.id" not in span.attributes


def test_the_global_tracer_provider_is_never_set(h: Harness, client: openai.OpenAI) -> None:
    from opentelemetry import trace

    before = trace.get_tracer_provider()
    h.instrument()
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    h.spans(1)
    assert trace.get_tracer_provider() is before
    assert type(before).__name__ == "ProxyTracerProvider"  # nothing set it, here or before


def test_semconv_names_every_attribute_the_docs_list() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "otel.md").read_text(encoding="utf-8")
    names: list[Any] = [v for k, v in vars(sc).items() if k.isupper() and isinstance(v, str)]
    names += list(sc.EXTENSIONS.values())
    missing = sorted({n for n in names if n != sc.ERROR_OTHER and f"`{n}`" not in doc})
    assert not missing, f"attributes docs/otel.md does not list: {missing}"
