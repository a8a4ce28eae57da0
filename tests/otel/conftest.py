"""Fixtures of the OpenTelemetry backend tests: a loopback OTLP/HTTP receiver that decodes
what the real SDK exporter sends (hilt_otel.testing), the real ``openai`` SDK against
FakeOpenAI, and a harness that instruments into a JSONL file and the receiver at once
(``backend=["jsonl", "otel"]``), as an application would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

import hilt
import hilt_costs
from hilt_openai.testing import FakeOpenAI
from hilt_otel.testing import OTLPReceiver, ReceivedSpan

# Variables of the OpenTelemetry SDK that would change what these tests see.
OTEL_ENV = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_SAMPLER",
)


@pytest.fixture(autouse=True)
def _otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def rx() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture
def srv() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(model_map={"gpt-4o": "gpt-4o-2024-08-06"}) as server:
        yield server


@pytest.fixture
def client(srv: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def prices() -> Iterator[None]:
    """Prices for the fake's models, so that events carry a cost."""
    hilt_costs.set_price("gpt-4o-2024-08-06", input_per_mtok=2.5, output_per_mtok=10.0)
    hilt_costs.set_price("gpt-4o-mini", input_per_mtok=0.15, output_per_mtok=0.6)
    yield
    hilt_costs.clear_prices()


class Harness:
    """HILT instrumented into a JSONL file and the receiver; reads both back."""

    def __init__(self, path: Path, rx: OTLPReceiver) -> None:
        self.path = path
        self.rx = rx
        self.session: hilt.Session | None = None

    def instrument(self, **options: Any) -> hilt.Session:
        options.setdefault("backend", ["jsonl", "otel"])
        options.setdefault("providers", ["openai"])
        options.setdefault("otel_endpoint", self.rx.endpoint)
        options.setdefault("otel_schedule_delay", 0.05)
        self.session = hilt.instrument(filepath=str(self.path), **options)
        return self.session

    def events(self) -> list[dict[str, Any]]:
        if self.session is not None and not self.session.closed:
            assert self.session.flush(timeout=10)
        if not self.path.exists():
            return []
        return [json.loads(x) for x in self.path.read_text(encoding="utf-8").splitlines()]

    def spans(self, n: int, timeout: float = 15.0) -> list[ReceivedSpan]:
        if self.session is not None and not self.session.closed:
            self.session.flush(timeout=10)
        return self.rx.wait_for(n, timeout)


@pytest.fixture
def h(tmp_path: Path, rx: OTLPReceiver) -> Harness:
    return Harness(tmp_path / "hilt.jsonl", rx)
