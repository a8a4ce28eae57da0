"""Anthropic, Bedrock and Vertex calls are priced from genai-prices' tables by the cost
plugin, from what the provider records (``provider``, ``model``, tokens); cache reads and
cache writes at their own rates. A local server is not priced as Anthropic."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from hilt_anthropic.testing import FakeAnthropic

from .conftest import Harness, bedrock_client

USER = [{"role": "user", "content": "price this call please"}]
# genai-prices' Claude Haiku 4.5, dollars per million tokens
HAIKU = {"input": 1.0, "cache_read": 0.1, "cache_write": 1.25, "output": 5.0}


def cost(tokens: dict[str, int]) -> float:
    uncached = tokens["prompt"] - tokens.get("cached", 0) - tokens.get("cache_write", 0)
    return (
        uncached * HAIKU["input"]
        + tokens.get("cached", 0) * HAIKU["cache_read"]
        + tokens.get("cache_write", 0) * HAIKU["cache_write"]
        + tokens["completion"] * HAIKU["output"]
    ) / 1e6


def only_completion(h: Harness) -> dict[str, Any]:
    _, done = h.one()
    assert done["action"] == "completion"
    return done


def test_anthropic_with_cache_reads_and_writes(srv: FakeAnthropic, hi: Harness) -> None:
    srv.cache_creation_tokens, srv.cache_read_tokens = 2_000, 30_000
    http = anthropic.DefaultHttpxClient(proxy=srv.base_url)  # api.anthropic.com, via the fake
    with anthropic.Anthropic(
        api_key="k", base_url="http://api.anthropic.com", http_client=http, max_retries=0
    ) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    done = only_completion(hi)
    tokens = done["metrics"]["tokens"]
    assert (tokens["cached"], tokens["cache_write"]) == (30_000, 2_000)
    assert done["extensions"]["provider"] == "anthropic"
    assert done["metrics"]["cost_usd"] == pytest.approx(cost(tokens))
    assert "anthropic/claude-haiku-4-5" in done["metrics"]["cost_source"]


def test_vertex(srv: FakeAnthropic, hi: Harness) -> None:
    vertex = anthropic.AnthropicVertex(
        region="us-east5", project_id="p", access_token="t", base_url=srv.vertex_base_url
    )
    vertex.messages.create(model="claude-haiku-4-5@20251001", max_tokens=10, messages=USER)
    done = only_completion(hi)
    assert done["extensions"]["provider"] == "gcp.vertex_ai"
    assert done["metrics"]["cost_usd"] == pytest.approx(cost(done["metrics"]["tokens"]))
    assert "google/claude-haiku-4-5" in done["metrics"]["cost_source"]


def test_bedrock(srv: FakeAnthropic, hi: Harness) -> None:
    bedrock = bedrock_client(srv.base_url)
    model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    bedrock.messages.create(model=model, max_tokens=10, messages=USER)
    done = only_completion(hi)
    assert done["extensions"]["provider"] == "aws.bedrock"
    assert done["metrics"]["cost_usd"] > 0
    assert "aws/" in done["metrics"]["cost_source"]


def test_a_local_server_is_not_priced_as_anthropic(client: Any, h: Harness) -> None:
    h.instrument()
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    done = only_completion(h)
    assert done["extensions"]["provider"] == "anthropic-compatible"
    assert "cost_usd" not in done["metrics"]
    assert "127.0.0.1" in done["metrics"]["cost_unknown_reason"]


def test_a_gateway_said_to_serve_anthropic_is_priced(client: Any, h: Harness) -> None:
    h.instrument(price_endpoints={"127.0.0.1": "anthropic"})
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=USER)
    done = only_completion(h)
    assert done["metrics"]["cost_usd"] == pytest.approx(cost(done["metrics"]["tokens"]))
