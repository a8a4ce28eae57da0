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
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hilt_core import ConfigError, forksafe
from hilt_costs.rates import Rates, Schedule

PRICE_KEYS = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "reasoning_per_mtok",
)
REQUIRED_KEYS = ("input_per_mtok", "output_per_mtok")


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


def read_file(path: str | Path) -> tuple[list[UserPrice], dict[str, str]]:
    """Parse a prices file; raise :class:`hilt_core.ConfigError` saying what is wrong."""
    p = Path(path).expanduser()
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


def parse_mapping(data: object, origin: str) -> tuple[list[UserPrice], dict[str, str]]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: expected a mapping of model name -> prices")
    prices: list[UserPrice] = []
    aliases: dict[str, str] = {}
    for name, value in data.items():
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
    return prices, aliases


class PriceBook:
    """The user's prices and aliases. Changed from any thread; read by the writer."""

    def __init__(self) -> None:
        self._lock = forksafe.Lock()
        self._prices: dict[tuple[str | None, str], UserPrice] = {}
        self._aliases: dict[str, str] = {}

    def add(self, prices: list[UserPrice], aliases: Mapping[str, str]) -> None:
        with self._lock:
            new_prices = dict(self._prices)
            for up in prices:
                new_prices[(up.provider, up.model.lower())] = up
            new_aliases = dict(self._aliases)
            for name, target in aliases.items():
                if not isinstance(target, str) or not target.strip():
                    raise ConfigError(f"alias {name!r} must name a model, not {target!r}")
                new_aliases[name.strip().lower()] = target.strip()
            # Readers never lock: they see the old tables or the new ones, never half.
            self._prices, self._aliases = new_prices, new_aliases

    def clear(self) -> None:
        with self._lock:
            self._prices, self._aliases = {}, {}

    def alias(self, name: str) -> str:
        return self._aliases.get(name.lower(), name)

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
