"""Pricing events: the per-event path (a dict lookup and arithmetic) and the slow path
that resolves a new (provider, model) once and remembers the answer, price or not."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from hilt_core import ConfigError, Event, Metrics, forksafe
from hilt_costs import source
from hilt_costs.overrides import PriceBook, Prices, UserPrice, parse_endpoints, read_file
from hilt_costs.rates import PER
from hilt_costs.resolved import Match, Unknown

log = logging.getLogger("hilt")

ENV_FILE = "HILT_PRICES_FILE"
ENV_AUTO_UPDATE = "HILT_COST_AUTO_UPDATE"
MAX_CACHE = 10_000
MAX_SESSIONS = 256  # options mappings remembered with the prices they chose
_TRUE = frozenset({"1", "true", "yes", "on"})

# (provider, endpoint, model, request_model, service_tier) as recorded on the event
Key = tuple[Any, Any, Any, Any, Any]


class Estimate(NamedTuple):
    """A priced call: ``cost_usd`` (None when unknown), the ``source`` that priced it, or
    the ``reason`` there is no price."""

    cost_usd: float | None
    source: str | None
    reason: str | None


class Pricer:
    def __init__(self) -> None:
        self.book = PriceBook()  # process-wide: set_price, alias, load_prices, the env
        self._global = Prices(self.book)
        # A session's own prices (its prices_file, its price_endpoints), by those two
        # options; and which prices each session's options chose, by the options'
        # identity. Each entry holds its
        # options mapping, so that identity is never reused while it is remembered.
        self._sessions: dict[tuple[str | None, str | None], Prices] = {}
        self._by_options: dict[int, tuple[object, Prices]] = {}
        self._lock = forksafe.RLock()  # taken on the writer thread: see docs/plugins.md
        self._warned: set[tuple[Any, Any]] = set()
        self._snapshot_of: Callable[[], object] | None = None  # set once genai-prices loads
        self._env_done = False
        self._files_loaded: set[str] = set()
        self._stop_update: Callable[[], None] | None = None

    # -- the per-event path ------------------------------------------------------------
    def enrich(self, event: Event, options: Mapping[str, Any] | None = None) -> None:
        metrics = event.metrics
        if metrics is None or metrics.cost_usd is not None:
            return  # never overwrite a cost someone else set
        tokens = metrics.tokens
        if not tokens:
            return
        ext = event.extensions
        if not ext:
            return
        model = ext.get("model")
        requested = ext.get("request_model")
        if not model and not requested:
            return
        extra = metrics.extra
        if "cost_unknown_reason" in extra:
            return
        # The options of the event's own session, handed to the hook by the pipeline,
        # choose the prices: its prices_file's over the process-wide ones.
        seen = self._by_options.get(id(options))
        prices = seen[1] if seen is not None and seen[0] is options else self._prices_for(options)
        key: Key = (
            ext.get("provider"),
            ext.get("endpoint"),
            model,
            requested,
            ext.get("service_tier"),
        )
        self._apply(prices, metrics, extra, tokens, key, event.timestamp)

    def _apply(
        self,
        prices: Prices,
        metrics: Metrics,
        extra: dict[str, Any],
        tokens: Mapping[str, Any],
        key: Key,
        timestamp: datetime,
    ) -> None:
        try:
            found = prices.cache.get(key)
        except TypeError:  # an unhashable model or provider in a hand-made event
            extra["cost_unknown_reason"] = "extensions.model and .provider must be strings"
            return
        if found is None or (
            found.snapshot is not None
            and self._snapshot_of is not None
            and found.snapshot is not self._snapshot_of()
        ):
            found = self._resolve(prices, key)
        if isinstance(found, Unknown):
            extra["cost_unknown_reason"] = found.reason
            return
        prompt = tokens.get("prompt") or 0
        completion = tokens.get("completion") or 0
        cached = tokens.get("cached") or 0
        cache_write = tokens.get("cache_write") or 0
        reasoning = tokens.get("reasoning") or 0
        try:
            if (
                cached + cache_write > prompt
                or reasoning > completion
                or cached < 0
                or cache_write < 0
                or reasoning < 0
                or (not prompt and "prompt" not in tokens and "completion" not in tokens)
            ):
                extra["cost_unknown_reason"] = _bad_counts(tokens)
                return
            rates = found.rates
            if rates is None:  # tiers, or prices that change over time
                rates = found.at(timestamp).for_prompt(prompt)
        except TypeError:
            extra["cost_unknown_reason"] = _bad_counts(tokens)
            return
        # This runs for every priced event on the writer thread: plain arithmetic only.
        cost = (
            rates.per_call
            + (
                prompt * rates.prompt
                + cached * rates.cached
                + cache_write * rates.cache_write
                + completion * rates.completion
                + reasoning * rates.reasoning
            )
            / PER
        )
        metrics.cost_usd = round(cost, 12)
        extra["cost_source"] = found.source

    # -- the slow path: once per (provider, model) ---------------------------------------
    def _resolve(self, prices: Prices, key: Key) -> Match | Unknown:
        with self._lock:
            if not self._env_done:
                self._take_env()
            found = prices.cache.get(key)
            if found is not None and (
                found.snapshot is None
                or self._snapshot_of is None
                or found.snapshot is self._snapshot_of()
            ):
                return found
            if found is not None:  # the price table was replaced (auto-update)
                self._clear_caches()
            try:
                found = self._lookup(prices, key)
            except Exception as exc:  # a bug here must cost a figure, not the event
                log.exception("HILT could not look up the price of %r", key[2] or key[3])
                found = Unknown(f"price lookup failed: {type(exc).__name__}: {exc}")
            if len(prices.cache) >= MAX_CACHE:
                prices.cache = {}
            prices.cache[key] = found
            said = (key[0], key[2] or key[3])  # one warning per (provider, model)
            if isinstance(found, Unknown) and said not in self._warned:
                self._warned.add(said)
                log.warning(
                    "HILT cannot price model %r (provider %r): %s. Its events get no cost_usd%s",
                    key[2] or key[3],
                    key[0],
                    found.reason,
                    found.hint,
                )
            return found

    def _lookup(self, prices: Prices, key: Key) -> Match | Unknown:
        provider, endpoint, model, requested, tier = key
        pname = provider if isinstance(provider, str) and provider else None
        names = list(dict.fromkeys(n for n in (model, requested) if isinstance(n, str) and n))
        if not names:
            return Unknown("no model name was recorded")
        # A server the user said serves a provider's models (a gateway): priced as that
        # provider, when the event names no provider of its own.
        route = None
        if pname is None or pname.lower() in source.COMPATIBLE:
            route = prices.route(endpoint)
            if route is not None:
                pname, endpoint = route.provider, None
        for name in names:
            up: UserPrice | None = prices.find(pname, name) or prices.find(
                pname, prices.alias(name)
            )
            if up is not None:
                return Match(up.source, schedule=up.schedule)
        first: Unknown | None = None
        for name in names:
            try:
                found = source.resolve(
                    pname, endpoint, prices.alias(name), tier if isinstance(tier, str) else None
                )
            except ImportError as exc:
                return Unknown(
                    f"the price source {source.DIST} is not installed ({exc})",
                    hint=f"; install it: pip install {source.DIST}",
                )
            if self._snapshot_of is None:
                self._snapshot_of = source.snapshot_getter()
            if isinstance(found, Match):
                return found
            first = first or found
        assert first is not None
        name = names[0]
        hint = (
            f"; add a price with hilt_costs.set_price({name!r}, input_per_mtok=..., "
            f"output_per_mtok=...) or in a prices file ({ENV_FILE})"
        )
        reason = first.reason
        if route is not None:
            reason += f" (endpoint {key[1]!r} is priced as {route.provider!r} by {route.origin})"
        if pname == "azure":
            reason += (
                f"; price it with hilt_costs.set_price() or, if {name!r} is an Azure "
                f"deployment name, map it to its model with hilt_costs.alias({name!r}, 'gpt-4o')"
            )
        return Unknown(reason, hint=hint, snapshot=first.snapshot)

    # -- configuration -------------------------------------------------------------------
    def invalidate(self) -> None:
        with self._lock:
            self._clear_caches()

    def _clear_caches(self) -> None:
        for prices in self._all_prices():
            prices.cache = {}

    def load_file(self, path: str | os.PathLike[str]) -> int:
        entries = read_file(path)
        self.book.add(*entries)
        self.invalidate()
        return entries.size

    def _take_env(self) -> None:
        self._env_done = True
        path = os.environ.get(ENV_FILE, "").strip()
        if path:
            self._load_once(path, ENV_FILE)
        if os.environ.get(ENV_AUTO_UPDATE, "").strip().lower() in _TRUE:
            self.auto_update()

    def open_session(self, options: Mapping[str, Any]) -> None:
        """A session opens with these options: read its prices file now (again, if an
        earlier session read it), raising :class:`ConfigError` if it or
        ``price_endpoints`` is wrong."""
        key = _session_key(options)
        if key is None:
            return
        prices = self._session_prices(options)
        with self._lock:
            # Sessions that already priced events keep the prices they were opened with.
            self._sessions[key] = prices

    def _session_prices(self, options: Mapping[str, Any]) -> Prices:
        """A session's own prices (its file, its endpoints), before the process-wide."""
        book = PriceBook()
        path = options.get("prices_file")
        if path:
            if not isinstance(path, str | Path):
                raise ConfigError(f"prices_file must be a path, not {path!r}")
            book.add(*read_file(path))
        endpoints = options.get("price_endpoints")
        if endpoints is not None:
            book.add([], {}, parse_endpoints(endpoints, "price_endpoints"))
        return Prices(book, self.book)

    def _prices_for(self, options: Mapping[str, Any] | None) -> Prices:
        """The prices a session's options choose, the first time they are seen."""
        with self._lock:
            seen = self._by_options.get(id(options))
            if seen is not None and seen[0] is options:
                return seen[1]
            prices = self._global
            key = _session_key(options) if options else None
            if options and key is not None:
                found = self._sessions.get(key)
                if found is None:
                    # No session_open hook read them: read them here, on the writer thread.
                    try:
                        found = self._session_prices(options)
                    except ConfigError as exc:
                        log.error("HILT ignored this session's own prices: %s", exc)
                        found = self._global
                    self._sessions[key] = found
                prices = found
            self._remember(options, prices)  # once per session, whatever happens next
            if options and options.get("cost_auto_update"):
                try:
                    self.auto_update()
                except Exception:
                    log.exception("HILT could not start genai-prices' auto-update")
            return prices

    def _remember(self, options: object, prices: Prices) -> None:
        if len(self._by_options) >= MAX_SESSIONS:
            self._by_options = {}
        self._by_options[id(options)] = (options, prices)

    def _load_once(self, path: str, where: str) -> None:
        if path in self._files_loaded:
            return
        self._files_loaded.add(path)
        try:
            n = self.load_file(path)
        except ConfigError as exc:
            log.error("HILT ignored the prices file given by %s: %s", where, exc)
        else:
            log.debug("HILT loaded %d prices from %s (%s)", n, path, where)

    def auto_update(self, url: str | None = None, interval: float = 3600.0) -> None:
        with self._lock:
            if self._stop_update is not None:
                return
            self._stop_update = source.start_auto_update(url, interval)
            self._snapshot_of = source.snapshot_getter()
            log.info("HILT cost tables: genai-prices auto-update is on (every %.0fs)", interval)

    def stop_auto_update(self) -> None:
        with self._lock:
            stop, self._stop_update = self._stop_update, None
        if stop is not None:
            stop()

    def _all_prices(self) -> list[Prices]:
        return [
            self._global,
            *self._sessions.values(),
            *(prices for _, prices in self._by_options.values()),
        ]

    def reset(self) -> None:
        """Forget user prices, files read, warnings given and cached lookups (tests)."""
        with self._lock:
            self.book.clear()
            self._global.cache = {}
            self._sessions = {}
            self._by_options = {}
            self._warned.clear()
            self._files_loaded.clear()
            self._env_done = False

    # -- pricing outside the writer ------------------------------------------------------
    def estimate(
        self,
        model: str,
        tokens: Mapping[str, int],
        *,
        provider: str | None = None,
        endpoint: str | None = None,
        service_tier: str | None = None,
        at: datetime | None = None,
    ) -> Estimate:
        metrics = Metrics(tokens=dict(tokens))
        key: Key = (provider, endpoint, model, None, service_tier)
        self._apply(self._global, metrics, metrics.extra, tokens, key, at or datetime.now(UTC))
        return Estimate(
            metrics.cost_usd,
            metrics.extra.get("cost_source"),
            metrics.extra.get("cost_unknown_reason"),
        )

    def reprice(self, event: Event) -> float | None:
        metrics = event.metrics
        if metrics is None:
            return None
        metrics.cost_usd = None
        metrics.extra.pop("cost_source", None)
        metrics.extra.pop("cost_unknown_reason", None)
        self.enrich(event)
        return metrics.cost_usd


def _session_key(options: Mapping[str, Any]) -> tuple[str | None, str | None] | None:
    """What makes a session's own prices: its prices_file and its price_endpoints (None
    when it has neither)."""
    path = options.get("prices_file")
    endpoints = options.get("price_endpoints")
    if not path and endpoints is None:
        return None
    if isinstance(endpoints, Mapping):
        endpoints = sorted((str(k), str(v)) for k, v in endpoints.items())
    return (str(path) if path else None, None if endpoints is None else repr(endpoints))


def _bad_counts(tokens: Mapping[str, Any]) -> str:
    if "prompt" not in tokens and "completion" not in tokens:
        return "no prompt or completion token counts were recorded"
    shown = ", ".join(f"{k}={v!r}" for k, v in tokens.items())
    if not all(isinstance(v, int | float) and v >= 0 for v in tokens.values()):
        return f"token counts must be numbers >= 0 ({shown})"
    return (
        f"inconsistent token counts ({shown}): cached and cache_write are part of prompt, "
        "reasoning is part of completion"
    )


PRICER = Pricer()
