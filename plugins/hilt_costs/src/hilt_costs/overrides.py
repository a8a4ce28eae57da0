"""Prices the user sets (in code or in a file) and names the user maps to other names.

They win over the price source: a fine-tuned model, a negotiated rate, a local model at
zero. A prices file is JSON or TOML mapping a model name to its prices per million tokens,
or to another model's name (an alias, e.g. an Azure deployment name)::

    "my-deployment" = "gpt-4o"

    ["ft:gpt-4o-mini-2024-07-18:acme::abc123"]
    input_per_mtok = 0.30
    output_per_mtok = 1.20
    cached_input_per_mtok = 0.15

    [llama3]
    input_per_mtok = 0
    output_per_mtok = 0

    [endpoints]  # a server that serves a provider's models, priced as that provider
    "llm-gateway.internal" = "openai"
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from hilt_core import ConfigError, forksafe
from hilt_core.paths import user_path
from hilt_costs.rates import Rates, Schedule
from hilt_costs.resolved import Match, Unknown

PRICE_KEYS = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
)
REQUIRED_KEYS = ("input_per_mtok", "output_per_mtok")
ENDPOINTS = "endpoints"  # the prices file's table of endpoint -> provider
# Names HILT's provider plugins write in extensions.provider for "some server that speaks
# this SDK's API" (as source.COMPATIBLE): no provider whose prices apply.
_NOT_A_PROVIDER = frozenset({"openai-compatible", "anthropic-compatible", "compatible", "custom"})
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)

# (host, port): an endpoint as HILT's provider plugins record it ("host:port"); port None
# in a mapping the user gave stands for every port.
Where = tuple[str, int | None]


@dataclass(frozen=True, slots=True)
class UserPrice:
    model: str
    provider: str | None
    schedule: Schedule
    origin: str  # "set_price" or the file it came from

    @property
    def source(self) -> str:
        where = f"{self.provider}/{self.model}" if self.provider else self.model
        return f"user price ({self.origin}) {where}"


def _price(name: str, key: str, value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} of {name!r} must be a number, not {value!r}")
    price = float(value)
    if not math.isfinite(price) or price < 0:
        raise ConfigError(f"{where}: {key} of {name!r} must be a finite number >= 0, not {value}")
    return price


def make_price(
    model: str,
    *,
    input_per_mtok: object,
    output_per_mtok: object,
    cached_input_per_mtok: object = None,
    cache_write_per_mtok: object = None,
    reasoning_per_mtok: object = None,
    provider: str | None = None,
    origin: str = "set_price",
) -> UserPrice:
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"{origin}: a model name must be a non-empty string, not {model!r}")
    if provider is not None and (not isinstance(provider, str) or not provider.strip()):
        raise ConfigError(f"{origin}: provider of {model!r} must be a name, not {provider!r}")

    def opt(key: str, value: object) -> float | None:
        return None if value is None else _price(model, key, value, origin)

    rates = Rates.flat(
        _price(model, "input_per_mtok", input_per_mtok, origin),
        _price(model, "output_per_mtok", output_per_mtok, origin),
        opt("cached_input_per_mtok", cached_input_per_mtok),
        opt("cache_write_per_mtok", cache_write_per_mtok),
        opt("reasoning_per_mtok", reasoning_per_mtok),
    )
    return UserPrice(
        model=model.strip(),
        provider=provider.strip().lower() if provider else None,
        schedule=Schedule.single(rates),
        origin=origin,
    )


@dataclass(frozen=True, slots=True)
class Route:
    """An endpoint the user said serves ``provider``'s models; ``origin`` says where."""

    provider: str
    origin: str


class Entries(NamedTuple):
    """What a prices file (or an option) holds."""

    prices: list[UserPrice]
    aliases: dict[str, str]
    endpoints: dict[Where, Route]

    @property
    def size(self) -> int:
        return len(self.prices) + len(self.aliases) + len(self.endpoints)


def where(endpoint: object) -> Where | None:
    """``(host, port)`` of an endpoint: "host", "host:port" or a URL (its path ignored);
    None if it names no host."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        return None
    text = endpoint.strip()
    try:
        parts = urlsplit(text if _SCHEME.match(text) else f"//{text}")
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    return (host.lower(), port) if host else None


def make_route(endpoint: object, provider: object, origin: str) -> tuple[Where, Route]:
    key = where(endpoint)
    if key is None:
        raise ConfigError(
            f"{origin}: {endpoint!r} is not an endpoint: give a host name, host:port or URL "
            "(e.g. 'llm-gateway.internal')"
        )
    if not isinstance(provider, str) or not provider.strip():
        raise ConfigError(
            f"{origin}: endpoint {endpoint!r} must map to a provider's name (e.g. 'openai'), "
            f"not {provider!r}"
        )
    name = provider.strip().lower()
    if name in _NOT_A_PROVIDER:
        raise ConfigError(
            f"{origin}: endpoint {endpoint!r} must map to the provider whose prices apply "
            f"(e.g. 'openai', 'anthropic'), not {provider!r}"
        )
    return key, Route(name, origin)


def parse_endpoints(data: object, origin: str) -> dict[Where, Route]:
    """An endpoint -> provider mapping (``price_endpoints=``, a file's ``endpoints``)."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{origin}: expected a mapping of endpoint -> provider, e.g. "
            f"{{'llm-gateway.internal': 'openai'}}, not {data!r}"
        )
    return dict(make_route(endpoint, provider, origin) for endpoint, provider in data.items())


def read_file(path: str | os.PathLike[str]) -> Entries:
    """Parse a prices file; raise :class:`hilt_core.ConfigError` saying what is wrong."""
    p = user_path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"HILT cannot read the prices file {str(p)!r}: {exc}") from exc
    try:
        if p.suffix.lower() == ".json":
            data: Any = json.loads(raw)
        else:
            import tomllib  # only when a file is read: importing HILT's plugins stays cheap

            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "JSON" if p.suffix.lower() == ".json" else "TOML"
        raise ConfigError(f"The prices file {str(p)!r} is not valid {kind}: {exc}") from exc
    return parse_mapping(data, origin=str(p))


def parse_mapping(data: object, origin: str) -> Entries:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: expected a mapping of model name -> prices")
    prices: list[UserPrice] = []
    aliases: dict[str, str] = {}
    endpoints: dict[Where, Route] = {}
    for name, value in data.items():
        if name == ENDPOINTS:
            endpoints = parse_endpoints(value, f"{origin}: {ENDPOINTS}")
            continue
        if isinstance(value, str):
            aliases[str(name)] = value
            continue
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"{origin}: {name!r} must map to a table of prices "
                f"({', '.join(REQUIRED_KEYS)}, ...) or to another model's name"
            )
        unknown = sorted(set(value) - {*PRICE_KEYS, "provider"})
        if unknown:
            raise ConfigError(
                f"{origin}: unknown key(s) {', '.join(unknown)} for {name!r}; allowed: "
                f"{', '.join(PRICE_KEYS)}, provider"
            )
        missing = [k for k in REQUIRED_KEYS if k not in value]
        if missing:
            raise ConfigError(f"{origin}: {name!r} lacks {' and '.join(missing)}")
        prices.append(
            make_price(
                str(name),
                input_per_mtok=value["input_per_mtok"],
                output_per_mtok=value["output_per_mtok"],
                cached_input_per_mtok=value.get("cached_input_per_mtok"),
                cache_write_per_mtok=value.get("cache_write_per_mtok"),
                reasoning_per_mtok=value.get("reasoning_per_mtok"),
                provider=value.get("provider"),
                origin=origin,
            )
        )
    return Entries(prices, aliases, endpoints)


class PriceBook:
    """User prices and aliases from one place: the process-wide ones (``set_price``,
    ``alias``, ``load_prices``, ``HILT_PRICES_FILE``) or one session's ``prices_file``.
    Changed from any thread; read by the writer."""

    def __init__(self) -> None:
        self._lock = forksafe.Lock()
        self._prices: dict[tuple[str | None, str], UserPrice] = {}
        self._aliases: dict[str, str] = {}
        self._routes: dict[Where, Route] = {}

    def add(
        self,
        prices: list[UserPrice],
        aliases: Mapping[str, str],
        endpoints: Mapping[Where, Route] | None = None,
    ) -> None:
        with self._lock:
            new_prices = dict(self._prices)
            for up in prices:
                new_prices[(up.provider, up.model.lower())] = up
            new_aliases = dict(self._aliases)
            for name, target in aliases.items():
                if not isinstance(target, str) or not target.strip():
                    raise ConfigError(f"alias {name!r} must name a model, not {target!r}")
                new_aliases[name.strip().lower()] = target.strip()
            new_routes = {**self._routes, **endpoints} if endpoints else self._routes
            # Readers never lock: they see the old tables or the new ones, never half.
            self._prices, self._aliases, self._routes = new_prices, new_aliases, new_routes

    def clear(self) -> None:
        with self._lock:
            self._prices, self._aliases, self._routes = {}, {}, {}

    def alias(self, name: str) -> str | None:
        return self._aliases.get(name.lower()) if self._aliases else None

    def route(self, host: str, port: int | None) -> Route | None:
        routes = self._routes
        if not routes:
            return None
        return routes.get((host, port)) or routes.get((host, None))

    def find(self, provider: str | None, model: str) -> UserPrice | None:
        prices = self._prices
        if not prices:
            return None
        key = model.lower()
        if provider:
            found = prices.get((provider.lower(), key))
            if found is not None:
                return found
        return prices.get((None, key))


class Prices:
    """The user prices in force for a session: its own file's first, then the
    process-wide ones. Holds the session's resolved lookups (``cache``), which the pricer
    empties whenever any user price changes."""

    __slots__ = ("books", "cache")

    def __init__(self, *books: PriceBook) -> None:
        self.books = books
        self.cache: dict[Any, Match | Unknown] = {}

    def alias(self, name: str) -> str:
        for book in self.books:
            target = book.alias(name)
            if target is not None:
                return target
        return name

    def find(self, provider: str | None, model: str) -> UserPrice | None:
        for book in self.books:
            found = book.find(provider, model)
            if found is not None:
                return found
        return None

    def route(self, endpoint: object) -> Route | None:
        """The provider the user said serves ``endpoint`` (as recorded on an event)."""
        at = where(endpoint)
        if at is None:
            return None
        for book in self.books:
            found = book.route(*at)
            if found is not None:
                return found
        return None
