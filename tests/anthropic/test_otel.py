"""With a global OpenTelemetry tracer provider set, the SDK traces its own calls (anthropic
1.14 on); HILT, instrumented or not, changes none of its spans.

Run in a fresh interpreter: a global tracer provider can be set once per process, and it
would make the SDK trace every later test's calls."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import SDK

pytest.importorskip("opentelemetry.sdk", reason="opentelemetry-sdk: the test's tracer provider")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import anthropic, hilt
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from hilt_anthropic.testing import FakeAnthropic

    VOLATILE = {"anthropic.request.id", "gen_ai.response.id", "server.port", "url.full",
                "gen_ai.response.time_to_first_chunk"}
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    USER = [{"role": "user", "content": "trace me please"}]

    def calls(srv):
        client = anthropic.Anthropic(base_url=srv.base_url, api_key="k", max_retries=0)
        client.messages.create(model="m", max_tokens=10, messages=USER)
        list(client.messages.create(model="m", max_tokens=10, messages=USER, stream=True))
        with client.messages.stream(model="m", max_tokens=10, messages=USER) as stream:
            stream.get_final_message()
        stream = client.messages.create(model="m", max_tokens=10, messages=USER, stream=True)
        next(iter(stream)); next(iter(stream))
        stream.close()
        client.messages.with_raw_response.create(model="m", max_tokens=10, messages=USER).parse()
        srv.fail_next(429)
        try:
            client.messages.create(model="m", max_tokens=10, messages=USER)
        except anthropic.RateLimitError:
            pass
        spans = []
        for span in exporter.get_finished_spans():
            attrs = {k: v for k, v in span.attributes.items() if k not in VOLATILE}
            spans.append([span.name, attrs, str(span.status.status_code),
                          [e.name for e in span.events], span.parent is None])
        exporter.clear()
        return spans

    with FakeAnthropic() as srv:
        plain = calls(srv)
        hilt.instrument(filepath=sys.argv[1], providers=["anthropic"])
        recorded = calls(srv)
        hilt.uninstrument()
    print(json.dumps({"plain": plain, "recorded": recorded}))
    """
)


@pytest.mark.skipif(SDK < (1, 14), reason="the SDK traces its calls from anthropic 1.14")
def test_the_sdks_own_spans_are_unchanged(tmp_path: Path) -> None:
    log = tmp_path / "otel.jsonl"
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(log)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    plain, recorded = result["plain"], result["recorded"]
    assert len(plain) == 6
    assert all(name.startswith("anthropic.messages") for name, *_ in plain)
    assert recorded == plain
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(events) == 12  # and HILT recorded the six calls
