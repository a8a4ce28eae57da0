"""Pricing behind a gateway: the user says once that an endpoint serves a provider's models.

The calls go through the real ``openai`` SDK to the loopback fake OpenAI server, which HILT
records as provider ``"openai-compatible"`` at endpoint ``127.0.0.1:<port>``: a private
server genai-prices does not know, so by default it is not priced. Expected figures come
from genai-prices' own ``calc_price`` on the token counts in the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import genai_prices
import openai
import pytest
from genai_prices import Usage, calc_price

import hilt
import hilt_costs
from hilt_core import ConfigError, Event
from hilt_openai.testing import FakeOpenAI

Enrich = Callable[[Event], Event]
Make = Callable[..., Event]
SOURCE = f"genai-prices {genai_prices.__version__}"


@pytest.fixture
def srv() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(model_map={"gpt-4o": "gpt-4o-2024-08-06"}) as server:
        yield server


def _call(srv: FakeOpenAI, model: str = "gpt-4o-mini") -> None:
    with openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0) as client:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "how much is this call"}]
        )


def _metrics(log: Path) -> list[dict[str, Any]]:
    """The metrics of the completions in the log, in order."""
    events = [json.loads(line) for line in log.read_text().splitlines()]
    return [e["metrics"] for e in events if e["action"] == "completion"]


def _openai_price(metrics: dict[str, Any], model: str = "gpt-4o-mini") -> float:
    tokens = metrics["tokens"]
    usage = Usage(input_tokens=tokens["prompt"], output_tokens=tokens["completion"])
    return float(calc_price(usage, model, provider_id="openai").total_price)


def _instrumented_call(tmp_path: Path, srv: FakeOpenAI, **options: Any) -> dict[str, Any]:
    log = tmp_path / "x.jsonl"
    hilt.instrument(filepath=log, providers=["openai"], **options)
    _call(srv)
    hilt.uninstrument()
    (metrics,) = _metrics(log)
    return metrics


def test_a_gateway_is_not_priced_by_default(tmp_path: Path, srv: FakeOpenAI) -> None:
    metrics = _instrumented_call(tmp_path, srv)
    assert "cost_usd" not in metrics
    assert f"endpoint '127.0.0.1:{srv.port}' is not a provider" in metrics["cost_unknown_reason"]


def test_the_price_endpoints_option(tmp_path: Path, srv: FakeOpenAI) -> None:
    metrics = _instrumented_call(tmp_path, srv, price_endpoints={f"127.0.0.1:{srv.port}": "openai"})
    assert metrics["tokens"]["prompt"] > 0
    assert metrics["cost_usd"] == pytest.approx(_openai_price(metrics))
    assert metrics["cost_source"] == f"{SOURCE} openai/gpt-4o-mini"


def test_the_endpoints_table_of_a_prices_file(tmp_path: Path, srv: FakeOpenAI) -> None:
    prices = tmp_path / "prices.toml"
    # A host without a port: every port of that host.
    prices.write_text('"my-alias" = "gpt-4o"\n\n[endpoints]\n"127.0.0.1" = "openai"\n')
    metrics = _instrumented_call(tmp_path, srv, prices_file=str(prices))
    assert metrics["cost_usd"] == pytest.approx(_openai_price(metrics))


def test_endpoint_in_code_applies_to_every_session(tmp_path: Path, srv: FakeOpenAI) -> None:
    hilt_costs.endpoint(srv.base_url, "OpenAI")  # a URL: its host and port
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _instrumented_call(tmp_path / "a", srv)
    second = _instrumented_call(tmp_path / "b", srv)
    for metrics in (first, second):
        assert metrics["cost_usd"] == pytest.approx(_openai_price(metrics))


def test_a_session_s_endpoints_do_not_price_other_sessions(tmp_path: Path, srv: FakeOpenAI) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    mapped = _instrumented_call(
        tmp_path / "a", srv, price_endpoints={f"127.0.0.1:{srv.port}": "openai"}
    )
    plain = _instrumented_call(tmp_path / "b", srv)
    assert mapped["cost_usd"] > 0
    assert "cost_usd" not in plain
    assert "not a provider" in plain["cost_unknown_reason"]


def test_another_port_of_the_host_is_not_mapped(tmp_path: Path, srv: FakeOpenAI) -> None:
    metrics = _instrumented_call(
        tmp_path, srv, price_endpoints={f"127.0.0.1:{srv.port + 1}": "openai"}
    )
    assert "cost_usd" not in metrics


def test_the_mapped_provider_s_user_prices_and_unknown_models(
    tmp_path: Path, srv: FakeOpenAI
) -> None:
    hilt_costs.set_price("gpt-4o-mini", input_per_mtok=1e6, output_per_mtok=0, provider="openai")
    log = tmp_path / "x.jsonl"
    hilt.instrument(filepath=log, providers=["openai"], price_endpoints={"127.0.0.1": "openai"})
    _call(srv, "gpt-4o-mini")
    _call(srv, "house-llama")
    hilt.uninstrument()
    priced, unknown = _metrics(log)
    assert priced["cost_usd"] == pytest.approx(priced["tokens"]["prompt"])
    assert priced["cost_source"] == "user price (set_price) openai/gpt-4o-mini"
    assert "cost_usd" not in unknown
    reason = unknown["cost_unknown_reason"]
    assert "'house-llama' not in" in reason
    assert f"endpoint '127.0.0.1:{srv.port}' is priced as 'openai' by price_endpoints" in reason


def test_a_provider_named_by_the_event_wins_over_the_mapping(
    enrich: Enrich, completion: Make
) -> None:
    hilt_costs.endpoint("gw.internal", "anthropic")
    azure = enrich(
        completion(
            "gpt-4o-2024-08-06",
            {"prompt": 100, "completion": 10},
            provider="azure",
            endpoint="gw.internal",
        )
    )
    mapped = enrich(
        completion(
            "claude-3-5-sonnet-20241022",
            {"prompt": 100, "completion": 10},
            provider="openai-compatible",
            endpoint="gw.internal:443",
        )
    )
    assert azure.metrics is not None
    assert mapped.metrics is not None
    assert azure.metrics.extra["cost_source"].startswith(f"{SOURCE} azure/")
    assert mapped.metrics.extra["cost_source"] == f"{SOURCE} anthropic/claude-3-5-sonnet"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hilt_costs.endpoint("", "openai"), "not an endpoint"),
        (lambda: hilt_costs.endpoint("gw:99999", "openai"), "not an endpoint"),
        (lambda: hilt_costs.endpoint("gw", ""), "provider's name"),
        (lambda: hilt_costs.endpoint("gw", "openai-compatible"), "prices apply"),
        (
            lambda: hilt_costs.session_open(options={"price_endpoints": ["gw"]}),
            "price_endpoints: expected a mapping of endpoint -> provider",
        ),
        (
            lambda: hilt_costs.session_open(options={"price_endpoints": {"gw": 3}}),
            "price_endpoints: endpoint 'gw' must map to a provider's name",
        ),
    ],
    ids=["no-host", "bad-port", "no-provider", "compatible", "not-a-mapping", "not-a-name"],
)
def test_bad_mappings_say_what_is_wrong(call: Callable[[], None], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()


def test_a_bad_endpoints_table_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"endpoints": "openai"}))
    with pytest.raises(ConfigError, match=r"prices.json: endpoints: expected a mapping"):
        hilt_costs.load_prices(path)
    path.write_text(json.dumps({"endpoints": {"gw.internal": "openai"}, "m": "gpt-4o"}))
    assert hilt_costs.load_prices(path) == 2
