"""Costs of real models across providers, compared with genai-prices' own figures.

HILT records tokens as OpenAI does: ``prompt`` includes ``cached`` and ``cache_write``,
``completion`` includes ``reasoning``. Where a provider reports usage differently
(Anthropic, Google), the expected figure comes from genai-prices parsing the provider's
own raw usage payload (``extract_usage``), so the test also checks HILT's convention
against the source's reading of each provider.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import genai_prices
import pytest
from genai_prices import Usage, calc_price

import hilt_costs
from hilt_core import Event

Enrich = Callable[[Event], Event]
Make = Callable[..., Event]
SOURCE = f"genai-prices {genai_prices.__version__}"


def approx(value: Decimal) -> Any:
    return pytest.approx(float(value), rel=1e-9, abs=1e-15)


def test_the_costs_plugin_is_installed_under_its_name(registry: Any) -> None:
    plugin = registry.pm.get_plugin("costs")
    assert plugin is hilt_costs
    names = [i.plugin_name for i in registry.pm.hook.event_enrich.get_hookimpls()]
    assert "costs" in names


def test_openai_gpt_4o_mini(enrich: Enrich, completion: Make) -> None:
    ev = enrich(completion("gpt-4o-mini", {"prompt": 1234, "completion": 567}))
    expected = calc_price(
        Usage(input_tokens=1234, output_tokens=567), "gpt-4o-mini", provider_id="openai"
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)
    assert ev.metrics.extra["cost_source"] == f"{SOURCE} openai/gpt-4o-mini"
    assert "cost_unknown_reason" not in ev.metrics.extra


def test_dated_snapshot_resolves_to_its_model(enrich: Enrich, completion: Make) -> None:
    raw = {
        "model": "gpt-4o-2024-08-06",
        "usage": {"prompt_tokens": 2000, "completion_tokens": 400, "total_tokens": 2400},
    }
    expected = genai_prices.extract_usage(raw, provider_id="openai", api_flavor="chat")
    ev = enrich(
        completion("gpt-4o-2024-08-06", {"prompt": 2000, "completion": 400}, request_model="gpt-4o")
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.calc_price().total_price)
    assert ev.metrics.extra["cost_source"] == f"{SOURCE} openai/gpt-4o"


def test_openai_cached_input_tokens(enrich: Enrich, completion: Make) -> None:
    raw = {
        "model": "gpt-4o-mini-2024-07-18",
        "usage": {
            "prompt_tokens": 3000,
            "completion_tokens": 250,
            "total_tokens": 3250,
            "prompt_tokens_details": {"cached_tokens": 2048},
        },
    }
    expected = genai_prices.extract_usage(raw, provider_id="openai", api_flavor="chat")
    ev = enrich(
        completion("gpt-4o-mini-2024-07-18", {"prompt": 3000, "completion": 250, "cached": 2048})
    )
    uncached = enrich(completion("gpt-4o-mini-2024-07-18", {"prompt": 3000, "completion": 250}))
    assert ev.metrics is not None
    assert uncached.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.calc_price().total_price)
    assert ev.metrics.cost_usd is not None
    assert uncached.metrics.cost_usd is not None
    assert ev.metrics.cost_usd < uncached.metrics.cost_usd  # cached tokens are cheaper


@pytest.mark.parametrize("model", ["o3-mini-2025-01-31", "o1"])
def test_openai_reasoning_tokens(enrich: Enrich, completion: Make, model: str) -> None:
    raw = {
        "model": model,
        "usage": {
            "prompt_tokens": 1500,
            "completion_tokens": 5000,
            "total_tokens": 6500,
            "prompt_tokens_details": {"cached_tokens": 1024},
            "completion_tokens_details": {"reasoning_tokens": 4096},
        },
    }
    expected = genai_prices.extract_usage(raw, provider_id="openai", api_flavor="chat")
    ev = enrich(
        completion(model, {"prompt": 1500, "completion": 5000, "cached": 1024, "reasoning": 4096})
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.calc_price().total_price)


def test_anthropic_claude_with_cache_reads_and_writes(enrich: Enrich, completion: Make) -> None:
    # Anthropic reports input_tokens *without* the cached parts; HILT's prompt has them.
    raw = {
        "model": "claude-3-5-sonnet-20241022",
        "usage": {
            "input_tokens": 120,
            "cache_read_input_tokens": 4000,
            "cache_creation_input_tokens": 900,
            "output_tokens": 350,
        },
    }
    expected = genai_prices.extract_usage(raw, provider_id="anthropic")
    tokens = {"prompt": 120 + 4000 + 900, "completion": 350, "cached": 4000, "cache_write": 900}
    ev = enrich(completion("claude-3-5-sonnet-20241022", tokens, provider="anthropic"))
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.calc_price().total_price)
    assert ev.metrics.extra["cost_source"] == f"{SOURCE} anthropic/claude-3-5-sonnet"


def test_google_gemini_with_thinking_and_cache(enrich: Enrich, completion: Make) -> None:
    # Gemini reports thoughts beside candidates; HILT's completion includes them.
    raw = {
        "modelVersion": "gemini-2.0-flash",
        "usageMetadata": {
            "promptTokenCount": 5000,
            "cachedContentTokenCount": 3000,
            "candidatesTokenCount": 700,
            "thoughtsTokenCount": 300,
            "totalTokenCount": 6000,
        },
    }
    expected = genai_prices.extract_usage(raw, provider_id="google")
    tokens = {"prompt": 5000, "completion": 1000, "cached": 3000, "reasoning": 300}
    ev = enrich(completion("gemini-2.0-flash", tokens, provider="google"))
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.calc_price().total_price)


@pytest.mark.parametrize("prompt", [1_000, 200_000, 200_001, 500_000])
def test_google_long_context_tier(enrich: Enrich, completion: Make, prompt: int) -> None:
    ev = enrich(
        completion("gemini-2.5-pro", {"prompt": prompt, "completion": 800}, provider="google")
    )
    expected = calc_price(
        Usage(input_tokens=prompt, output_tokens=800), "gemini-2.5-pro", provider_id="google"
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)


@pytest.mark.parametrize(
    ("model", "provider", "expect_model", "expect_provider"),
    [
        ("anthropic/claude-3-5-sonnet", None, "claude-3-5-sonnet", "anthropic"),
        ("openai:gpt-4o", None, "gpt-4o", "openai"),
        ("openai/gpt-4o-mini", "openai", "gpt-4o-mini", "openai"),
        ("google/gemini-2.0-flash", None, "gemini-2.0-flash", "google"),
    ],
)
def test_provider_prefixed_names(
    enrich: Enrich,
    completion: Make,
    model: str,
    provider: str | None,
    expect_model: str,
    expect_provider: str,
) -> None:
    ev = enrich(completion(model, {"prompt": 1000, "completion": 100}, provider=provider))
    expected = calc_price(
        Usage(input_tokens=1000, output_tokens=100), expect_model, provider_id=expect_provider
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)
    assert ev.metrics.extra["cost_source"].startswith(f"{SOURCE} {expect_provider}/")


def test_azure_deployment_of_a_known_model(enrich: Enrich, completion: Make) -> None:
    ev = enrich(
        completion(
            "gpt-4o-2024-08-06",
            {"prompt": 800, "completion": 200, "cached": 128},
            provider="azure",
            endpoint="acme.openai.azure.com",
            request_model="prod-chat",
        )
    )
    expected = calc_price(
        Usage(input_tokens=800, output_tokens=200, cache_read_tokens=128),
        "gpt-4o-2024-08-06",
        provider_id="azure",
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)
    assert ev.metrics.extra["cost_source"] == f"{SOURCE} azure/gpt-4o"


def test_azure_deployment_name_only_is_unknown_until_aliased(
    enrich: Enrich, completion: Make
) -> None:
    tokens = {"prompt": 800, "completion": 200}
    ev = enrich(completion("prod-chat", tokens, provider="azure"))
    assert ev.metrics is not None
    assert ev.metrics.cost_usd is None
    reason = ev.metrics.extra["cost_unknown_reason"]
    assert "prod-chat" in reason
    assert "hilt_costs.alias" in reason
    assert "set_price" in reason

    hilt_costs.alias("prod-chat", "gpt-4o")
    ev = enrich(completion("prod-chat", tokens, provider="azure"))
    expected = calc_price(Usage(input_tokens=800, output_tokens=200), "gpt-4o", provider_id="azure")
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)


@pytest.mark.parametrize(
    ("model", "endpoint"),
    [
        ("llama-3.1-8b-instant", "api.groq.com"),
        ("deepseek-chat", "api.deepseek.com"),
        ("anthropic/claude-3.5-sonnet", "openrouter.ai"),
    ],
)
def test_openai_compatible_endpoints_the_source_knows(
    enrich: Enrich, completion: Make, model: str, endpoint: str
) -> None:
    ts = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    ev = enrich(
        completion(
            model,
            {"prompt": 1000, "completion": 300},
            provider="openai-compatible",
            endpoint=endpoint,
            timestamp=ts,
        )
    )
    expected = calc_price(
        Usage(input_tokens=1000, output_tokens=300),
        model,
        provider_api_url=f"https://{endpoint}",
        genai_request_timestamp=ts,
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)


@pytest.mark.parametrize(
    ("provider", "endpoint", "source_id"),
    [
        ("gcp.gen_ai", "gemini-gateway.corp:443", "google"),  # OpenTelemetry's names
        ("gcp.vertex_ai", None, "google"),
        ("aws.bedrock", None, "aws"),
    ],
)
def test_hilt_s_provider_names_are_the_source_s_providers(
    enrich: Enrich, completion: Make, provider: str, endpoint: str | None, source_id: str
) -> None:
    model = (
        "gemini-2.0-flash" if source_id == "google" else "anthropic.claude-3-5-sonnet-20240620-v1:0"
    )
    ev = enrich(
        completion(model, {"prompt": 1000, "completion": 100}, provider=provider, endpoint=endpoint)
    )
    expected = calc_price(Usage(input_tokens=1000, output_tokens=100), model, provider_id=source_id)
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)
    assert ev.metrics.extra["cost_source"].startswith(f"{SOURCE} {source_id}/")


def test_a_local_openai_compatible_server_gets_no_guessed_price(
    enrich: Enrich, completion: Make
) -> None:
    # gpt-4o-mini is a name the source knows, but this server is not OpenAI.
    ev = enrich(
        completion(
            "gpt-4o-mini",
            {"prompt": 1000, "completion": 300},
            provider="openai-compatible",
            endpoint="127.0.0.1:11434",
        )
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd is None
    assert "127.0.0.1:11434" in ev.metrics.extra["cost_unknown_reason"]


def test_unknown_model_no_cost_a_reason_and_one_warning(
    enrich: Enrich, completion: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hilt")
    first = enrich(completion("foo-model-9000", {"prompt": 10, "completion": 5}))
    second = enrich(completion("foo-model-9000", {"prompt": 20, "completion": 7}))
    for ev in (first, second):
        assert ev.metrics is not None
        assert ev.metrics.cost_usd is None
        assert "cost_source" not in ev.metrics.extra
        reason = ev.metrics.extra["cost_unknown_reason"]
        assert "foo-model-9000" in reason
        assert "openai" in reason
        assert SOURCE in reason
        assert "cost_usd" not in ev.to_dict()["metrics"]
    warnings = [r for r in caplog.records if "foo-model-9000" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].name == "hilt"
    assert warnings[0].levelno == logging.WARNING
    assert "set_price" in warnings[0].getMessage()


def test_user_price_for_a_fine_tuned_model(enrich: Enrich, completion: Make) -> None:
    model = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
    hilt_costs.set_price(model, input_per_mtok=2.0, output_per_mtok=8.0, cached_input_per_mtok=1.0)
    ev = enrich(completion(model, {"prompt": 3000, "completion": 500, "cached": 1000}))
    assert ev.metrics is not None
    # 2000 uncached at $2/M, 1000 cached at $1/M, 500 out at $8/M
    assert ev.metrics.cost_usd == pytest.approx(0.004 + 0.001 + 0.004)
    assert ev.metrics.extra["cost_source"] == f"user price (set_price) {model}"


def test_user_price_wins_over_the_source(enrich: Enrich, completion: Make) -> None:
    hilt_costs.set_price("gpt-4o", input_per_mtok=1.0, output_per_mtok=4.0, provider="openai")
    mine = enrich(completion("gpt-4o", {"prompt": 1_000_000, "completion": 1_000_000}))
    theirs = enrich(
        completion("gpt-4o", {"prompt": 1_000_000, "completion": 1_000_000}, provider="azure")
    )
    assert mine.metrics is not None
    assert theirs.metrics is not None
    assert mine.metrics.cost_usd == pytest.approx(5.0)
    assert mine.metrics.extra["cost_source"] == "user price (set_price) openai/gpt-4o"
    # provider="openai" limits the negotiated rate to OpenAI's own events
    expected = calc_price(
        Usage(input_tokens=1_000_000, output_tokens=1_000_000), "gpt-4o", provider_id="azure"
    )
    assert theirs.metrics.cost_usd == approx(expected.total_price)


def test_a_local_model_at_zero_costs_zero_not_unknown(enrich: Enrich, completion: Make) -> None:
    hilt_costs.set_price("llama3.1:8b", input_per_mtok=0, output_per_mtok=0)
    ev = enrich(
        completion(
            "llama3.1:8b",
            {"prompt": 900, "completion": 100},
            provider="openai-compatible",
            endpoint="localhost:11434",
        )
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == 0.0
    assert "cost_unknown_reason" not in ev.metrics.extra
    assert ev.to_dict()["metrics"]["cost_usd"] == 0.0


def test_a_cost_already_set_is_never_overwritten(enrich: Enrich, completion: Make) -> None:
    ev = completion("gpt-4o-mini", {"prompt": 1000, "completion": 100})
    assert ev.metrics is not None
    ev.metrics.cost_usd = 0.5
    enrich(ev)
    assert ev.metrics.cost_usd == 0.5
    assert "cost_source" not in ev.metrics.extra


def test_events_without_tokens_or_model_are_left_alone(enrich: Enrich, completion: Make) -> None:
    no_tokens = enrich(completion("gpt-4o-mini", None))
    no_model = enrich(completion(None, {"prompt": 10, "completion": 2}))
    prompt = enrich(
        Event(
            session_id="conv_0123456789ab",
            actor={"type": "human", "id": "user"},
            action="prompt",
            content={"text": "hi"},
        )
    )
    for ev in (no_tokens, no_model):
        assert ev.metrics is not None
        assert ev.metrics.cost_usd is None
        assert not ev.metrics.extra
    assert prompt.metrics is None


def test_request_model_is_used_when_the_answer_has_no_model(
    enrich: Enrich, completion: Make
) -> None:
    ev = enrich(completion(None, {"prompt": 100, "completion": 10}, request_model="gpt-4o-mini"))
    expected = calc_price(
        Usage(input_tokens=100, output_tokens=10), "gpt-4o-mini", provider_id="openai"
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)


def test_embeddings_have_only_prompt_tokens(enrich: Enrich, completion: Make) -> None:
    ev = enrich(completion("text-embedding-3-small", {"prompt": 5000}, api="embeddings"))
    expected = calc_price(Usage(input_tokens=5000), "text-embedding-3-small", provider_id="openai")
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)


def test_inconsistent_token_counts_get_a_reason(enrich: Enrich, completion: Make) -> None:
    ev = enrich(completion("gpt-4o-mini", {"prompt": 10, "completion": 5, "cached": 50}))
    assert ev.metrics is not None
    assert ev.metrics.cost_usd is None
    assert "inconsistent token counts" in ev.metrics.extra["cost_unknown_reason"]


def test_prices_that_change_with_the_time_of_day(enrich: Enrich, completion: Make) -> None:
    # DeepSeek charges less off-peak: the event's own timestamp picks the price.
    seen = set()
    for hour in (3, 12, 20):
        ts = datetime(2026, 3, 2, hour, 15, tzinfo=UTC)
        ev = enrich(
            completion(
                "deepseek-chat",
                {"prompt": 4000, "completion": 900, "cached": 1000},
                provider="deepseek",
                timestamp=ts,
            )
        )
        expected = calc_price(
            Usage(input_tokens=4000, output_tokens=900, cache_read_tokens=1000),
            "deepseek-chat",
            provider_id="deepseek",
            genai_request_timestamp=ts,
        )
        assert ev.metrics is not None
        assert ev.metrics.cost_usd == approx(expected.total_price)
        seen.add(ev.metrics.cost_usd)
    assert len(seen) == 2  # peak and off-peak


def test_service_tier_prices(enrich: Enrich, completion: Make) -> None:
    ts = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    tokens = {"prompt": 10_000, "completion": 2_000, "cached": 4_000}
    usage = Usage(input_tokens=10_000, output_tokens=2_000, cache_read_tokens=4_000)
    for tier in ("flex", "priority", "default"):
        ev = enrich(completion("gpt-5", tokens, service_tier=tier, timestamp=ts))
        expected = calc_price(
            usage,
            "gpt-5",
            provider_id="openai",
            genai_request_timestamp=ts,
            price_context={"service_tier": tier},
        )
        assert ev.metrics is not None
        assert ev.metrics.cost_usd == approx(expected.total_price), tier


def test_estimate_and_reprice(enrich: Enrich, completion: Make) -> None:
    expected = calc_price(Usage(input_tokens=500, output_tokens=50), "gpt-4o", provider_id="openai")
    est = hilt_costs.estimate("gpt-4o", {"prompt": 500, "completion": 50}, provider="openai")
    assert est.cost_usd == approx(expected.total_price)
    assert est.source == f"{SOURCE} openai/gpt-4o"
    assert est.reason is None

    # A hilt-python 0.2.8 line priced every model as gpt-4o-mini, as a string.
    old = Event.from_dict(
        {
            "event_id": "0b0e8f9e-1f43-4d8a-9a37-2d1c6f0c2b11",
            "timestamp": "2025-01-15T10:00:00+00:00",
            "session_id": "conv_0123456789ab",
            "actor": {"type": "agent", "id": "openai"},
            "action": "completion",
            "metrics": {
                "tokens": {"prompt": 500, "completion": 50, "total": 550},
                "cost_usd": "0.000105",
            },
            "extensions": {"model": "gpt-4o", "status_code": 200},
        }
    )
    enrich(old)  # the plugin never overwrites a recorded figure...
    assert old.metrics is not None
    assert old.metrics.cost_usd == pytest.approx(0.000105)
    new = hilt_costs.reprice(old)  # ...reprice() does, on purpose
    assert new == approx(expected.total_price)
    assert old.metrics.cost_usd == new
    assert old.metrics.extra["cost_source"] == f"{SOURCE} openai/gpt-4o"


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ({"prompt": 10, "completion": -5}, "must be numbers >= 0"),
        ({"prompt": "10", "completion": 5}, "must be numbers >= 0"),
        ({"total": 15}, "no prompt or completion"),
    ],
)
def test_garbage_token_counts_get_a_reason_not_an_exception(
    enrich: Enrich, completion: Make, tokens: dict[str, Any], message: str
) -> None:
    ev = completion("gpt-4o-mini", None)
    assert ev.metrics is not None
    ev.metrics.tokens = tokens
    enrich(ev)
    assert ev.metrics.cost_usd is None
    assert message in ev.metrics.extra["cost_unknown_reason"]


def test_an_unhashable_model_gets_a_reason_not_an_exception(
    enrich: Enrich, completion: Make
) -> None:
    ev = enrich(completion(["gpt-4o"], {"prompt": 1, "completion": 1}))
    assert ev.metrics is not None
    assert ev.metrics.cost_usd is None
    assert "must be strings" in ev.metrics.extra["cost_unknown_reason"]


@pytest.mark.parametrize("provider", ["gcp.gen_ai", "gcp.vertex_ai"])
def test_the_gemini_providers_are_priced_as_google(
    enrich: Enrich, completion: Make, provider: str
) -> None:
    # The Gemini plugin names its providers as OpenTelemetry's GenAI conventions do; a
    # proxy or a test server at another endpoint is still Google's models at Google's price.
    tokens = {"prompt": 5000, "completion": 1000, "cached": 3000, "reasoning": 300}
    ev = enrich(
        completion("gemini-2.5-flash", tokens, provider=provider, endpoint="127.0.0.1:8080")
    )
    expected = calc_price(
        Usage(input_tokens=5000, output_tokens=1000, cache_read_tokens=3000),
        "gemini-2.5-flash",
        provider_id="google",
    )
    assert ev.metrics is not None
    assert ev.metrics.cost_usd == approx(expected.total_price)
    assert ev.metrics.extra["cost_source"] == f"{SOURCE} google/gemini-2.5-flash"
