"""Fixtures of the cost-table tests: the ``costs`` plugin reached through the registry,
as HILT reaches it, and events shaped like the provider plugins' completions.

Expected figures come from genai-prices' own API (``calc_price``, or ``extract_usage`` on
a provider's raw usage payload), never from the code under test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

import hilt_costs
from hilt_core import Event, Registry


@pytest.fixture(autouse=True)
def _fresh_prices(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user price, alias, prices file, warning memory or cached lookup leaks between
    tests; the environment does not choose prices behind a test's back."""
    monkeypatch.delenv(hilt_costs.ENV_FILE, raising=False)
    monkeypatch.delenv(hilt_costs.ENV_AUTO_UPDATE, raising=False)
    hilt_costs.clear_prices()
    yield
    hilt_costs.clear_prices()


@pytest.fixture(scope="session")
def registry() -> Registry:
    reg = Registry()
    reg.load()
    return reg


@pytest.fixture
def enrich(registry: Registry) -> Callable[[Event], Event]:
    """``event_enrich`` of the installed ``costs`` plugin, through the plugin manager."""
    plugin = registry.pm.get_plugin("costs")
    assert plugin is not None, f"the costs plugin is not installed: {registry.failed}"
    call = registry.caller(plugin, "event_enrich")

    def run(event: Event) -> Event:
        call(event=event, options={})
        return event

    return run


def _completion(
    model: str | None,
    tokens: dict[str, int] | None,
    *,
    provider: str | None = "openai",
    endpoint: str | None = None,
    request_model: str | None = None,
    timestamp: datetime | None = None,
    **extensions: Any,
) -> Event:
    """A completion event as the provider plugins write it."""
    ext: dict[str, Any] = {"reply_to": "evt_prompt", "api": "chat.completions"}
    if model is not None:
        ext["model"] = model
    if request_model is not None:
        ext["request_model"] = request_model
    if provider is not None:
        ext["provider"] = provider
    if endpoint is not None:
        ext["endpoint"] = endpoint
    ext.update(extensions)
    metrics: dict[str, Any] = {"latency_ms": 12.5}
    if tokens is not None:
        metrics["tokens"] = {
            **tokens,
            "total": tokens.get("prompt", 0) + tokens.get("completion", 0),
        }
    kwargs: dict[str, Any] = {} if timestamp is None else {"timestamp": timestamp}
    return Event(
        session_id="conv_0123456789ab",
        actor={"type": "agent", "id": provider or "app"},
        action="completion",
        content={"text": "hello"},
        metrics=metrics,
        extensions=ext,
        **kwargs,
    )


@pytest.fixture
def completion() -> Callable[..., Event]:
    """Make a completion event: ``completion(model, tokens, provider=..., ...)``."""
    return _completion
