"""HILT cost estimates: ``metrics.cost_usd`` for every logged LLM call, from genai-prices.

Registered in the entry-point group ``hilt`` as ``costs``; it implements ``event_enrich``
and so prices the events of every provider plugin. Prices come from the tables bundled
with genai-prices (no network unless ``cost_auto_update`` is turned on); the user's own
prices (:func:`set_price`, :func:`load_prices`, ``HILT_PRICES_FILE`` for every session;
``prices_file=`` for one session's events) win over them, and a gateway can be priced as
the provider it serves (:func:`endpoint`, ``price_endpoints=``). A model nobody prices
gets no cost, a ``cost_unknown_reason``, and one warning in the ``hilt`` log. See
docs/costs.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hilt_core import Event, hookimpl

if TYPE_CHECKING:
    from hilt_costs.pricer import ENV_AUTO_UPDATE, ENV_FILE, Estimate, Pricer

HILT_OPTIONS = {
    "prices_file": "A JSON or TOML prices file (model -> prices per million tokens).",
    "cost_auto_update": "Let genai-prices download fresh prices (the network; off).",
}

_pricer: Pricer | None = None


def _get() -> Pricer:
    # The pricer is imported on first use (on HILT's writer thread, or by a call below):
    # every installed plugin is imported when HILT starts, and start-up must stay fast.
    global _pricer
    if _pricer is None:
        from hilt_costs.pricer import PRICER

        _pricer = PRICER
    return _pricer


# The options this plugin reads from instrument() / Session(), for the kernel's list of
# the options each plugin takes.
HILT_OPTIONS = {
    "prices_file": "a TOML or JSON prices file for this session's events (docs/costs.md)",
    "cost_auto_update": "True: genai-prices downloads fresh prices now and hourly",
    "price_endpoints": "{endpoint: provider}: price this session's calls to a gateway as "
    "that provider's, e.g. {'llm-gateway.internal': 'openai'}",
}


@hookimpl(trylast=True)
def event_enrich(event: Event, options: Mapping[str, Any]) -> None:
    # trylast: enrichers registered later (say, a plugin that knows a negotiated price and
    # sets cost_usd) run first, and a cost already set is never overwritten.
    (_pricer or _get()).enrich(event, options)


@hookimpl
def session_open(options: Mapping[str, Any]) -> None:
    """Read the session's ``prices_file`` (and check its ``price_endpoints``) when it
    opens; a broken one raises :class:`hilt_core.ConfigError` from ``instrument()`` /
    ``Session()``."""
    if options.get("prices_file") or options.get("price_endpoints") is not None:
        _get().open_session(options)


def set_price(
    model: str,
    *,
    input_per_mtok: float,
    output_per_mtok: float,
    cached_input_per_mtok: float | None = None,
    cache_write_per_mtok: float | None = None,
    reasoning_per_mtok: float | None = None,
    provider: str | None = None,
) -> None:
    """Price ``model`` in dollars per million tokens, over any price source.

    Cached input, cache writes and reasoning tokens cost as input (output) unless given.
    ``provider`` limits the price to events of that provider (``extensions.provider``).
    Zero is a price: a local model at 0 gets ``cost_usd`` 0.0.
    """
    from hilt_costs.overrides import make_price

    pricer = _get()
    pricer.book.add(
        [
            make_price(
                model,
                input_per_mtok=input_per_mtok,
                output_per_mtok=output_per_mtok,
                cached_input_per_mtok=cached_input_per_mtok,
                cache_write_per_mtok=cache_write_per_mtok,
                reasoning_per_mtok=reasoning_per_mtok,
                provider=provider,
            )
        ],
        {},
    )
    pricer.invalidate()


def alias(name: str, model: str) -> None:
    """Price ``name`` (an Azure deployment, a proxy's model name) as ``model``."""
    pricer = _get()
    pricer.book.add([], {name: model})
    pricer.invalidate()


def endpoint(endpoint: str, provider: str) -> None:
    """Price the calls to ``endpoint`` (a host name, ``host:port`` or URL: a LiteLLM
    proxy, a company gateway) at ``provider``'s prices, for every model it serves.

    Applies to events whose provider plugin did not name a provider of its own
    (``"openai-compatible"`` / ``"anthropic-compatible"``: an SDK pointed at another
    server). A host without a port stands for every port.
    """
    from hilt_costs.overrides import make_route

    pricer = _get()
    pricer.book.add([], {}, dict([make_route(endpoint, provider, "hilt_costs.endpoint")]))
    pricer.invalidate()


def load_prices(path: str | Path) -> int:
    """Read a JSON or TOML prices file (model -> prices per million tokens, or model ->
    another model's name; an ``endpoints`` table of endpoint -> provider); return how
    many entries it held. Raises
    :class:`hilt_core.ConfigError` naming the problem."""
    return _get().load_file(path)


def clear_prices() -> None:
    """Forget every user price and alias (and which prices files were read)."""
    _get().reset()


def estimate(
    model: str,
    tokens: Mapping[str, int],
    *,
    provider: str | None = None,
    endpoint: str | None = None,
    service_tier: str | None = None,
    at: datetime | None = None,
) -> Estimate:
    """Price a call without an event: ``tokens`` as HILT records them (prompt,
    completion, cached, cache_write, reasoning), ``at`` the time of the call (default
    now) for prices that changed over time."""
    return _get().estimate(
        model, tokens, provider=provider, endpoint=endpoint, service_tier=service_tier, at=at
    )


def reprice(event: Event) -> float | None:
    """Price ``event`` again with today's tables (an old log line, say), replacing its
    ``cost_usd`` / ``cost_source`` / ``cost_unknown_reason``; return the new cost."""
    return _get().reprice(event)


def enable_auto_update(url: str | None = None, interval: float = 3600.0) -> None:
    """Let genai-prices download fresh prices now and every ``interval`` seconds (the one
    thing here that uses the network; off unless asked for)."""
    _get().auto_update(url, interval)


def disable_auto_update() -> None:
    """Stop downloading prices; the last ones fetched stay in use."""
    _get().stop_auto_update()


def __getattr__(name: str) -> Any:
    if name in ("ENV_AUTO_UPDATE", "ENV_FILE", "Estimate"):
        from hilt_costs import pricer

        return getattr(pricer, name)
    raise AttributeError(f"module 'hilt_costs' has no attribute {name!r}")


__all__ = [
    "ENV_AUTO_UPDATE",
    "HILT_OPTIONS",
    "ENV_FILE",
    "Estimate",
    "alias",
    "clear_prices",
    "disable_auto_update",
    "enable_auto_update",
    "endpoint",
    "estimate",
    "load_prices",
    "reprice",
    "set_price",
]
