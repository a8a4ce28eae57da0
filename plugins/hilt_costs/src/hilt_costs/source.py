"""The price source: genai-prices (MIT, maintained by Pydantic), its bundled tables only.

genai-prices touches the network only through its ``UpdatePrices`` updater, which HILT
starts only when asked (``cost_auto_update=True`` / ``HILT_COST_AUTO_UPDATE=1``). Its
import costs most of a second, so it happens on the writer thread at the first event that
needs it, never when HILT loads its plugins. Its own lookup takes about 250 µs per call,
so a model is resolved once and its prices are turned into :class:`Rates` (see
:func:`schedule_of`); later events cost a dict lookup and a few multiplications.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hilt_costs.rates import PER, Rates, Schedule
from hilt_costs.resolved import Match, Unknown

if TYPE_CHECKING:
    from decimal import Decimal

    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, ModelPrice, Provider

DIST = "genai-prices"
# Names HILT's provider plugins write in extensions.provider that are not genai-prices ids.
COMPATIBLE = frozenset({"openai-compatible", "anthropic-compatible", "compatible", "custom"})
# Names HILT's provider plugins write (OpenTelemetry's GenAI provider names) that are not
# genai-prices ids: the id whose prices apply.
PROVIDER_IDS = {
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "aws.bedrock": "aws",
}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def snapshot() -> DataSnapshot:
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot()


def snapshot_getter() -> Callable[[], DataSnapshot]:
    """genai-prices' own accessor of the table in use (replaced when it auto-updates)."""
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot


def label(snap: DataSnapshot) -> str:
    """Name and version of the table that produced a figure, for ``cost_source``."""
    from genai_prices import __version__

    text = f"{DIST} {__version__}"
    if snap.from_auto_update:
        fetched = snap.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text += f" (prices fetched {fetched})"
    return text


def start_auto_update(url: str | None = None, interval: float = 3600.0) -> Callable[[], None]:
    """Start genai-prices' background updater; return what stops it."""
    from genai_prices import UpdatePrices

    updater = (
        UpdatePrices(update_interval=interval)
        if url is None
        else UpdatePrices(update_interval=interval, url=url)
    )
    updater.start()
    return updater.stop


def _url(endpoint: object) -> str | None:
    if not isinstance(endpoint, str) or not endpoint.strip():
        return None
    text = endpoint.strip()
    return text if _SCHEME.match(text) else f"https://{text}"


def resolve(
    provider: str | None,
    endpoint: object,
    model: str,
    service_tier: str | None = None,
) -> Match | Unknown:
    """Find ``model`` in genai-prices, as served by ``provider`` (or at ``endpoint``).

    Only where the source knows who serves the model: an unknown provider or endpoint
    (a local server, say) gets no price rather than some other provider's.
    """
    from genai_prices.data_snapshot import find_provider_by_id

    snap = snapshot()
    lbl = label(snap)
    pid = provider.strip().lower() if provider and provider.strip() else None
    pid = PROVIDER_IDS.get(pid, pid) if pid is not None else None
    url = _url(endpoint)
    head, sep, rest = model.partition("/")
    if not sep:
        head, sep, rest = model.partition(":")
        if sep and find_provider_by_id(snap.providers, head) is None:
            sep = ""  # "llama3.1:8b", "ft:gpt-4o-mini:...": a colon that is no prefix
    names = [model, rest] if sep and rest else [model]

    served_by: Provider | None = None
    if pid is not None and pid not in COMPATIBLE:
        served_by = _provider(snap, pid, None)
    if served_by is None and url is not None:
        served_by = _provider(snap, None, url)
    if served_by is not None:
        for name in names:
            found = served_by.find_model(name, all_providers=snap.providers)
            if found is not None:
                return _match(snap, lbl, served_by, found, service_tier)
        return Unknown(
            f"model {model!r} not in {lbl} for provider {served_by.id!r}",
            snapshot=snap,
        )

    # Nobody identified the server: a prefix may name it ("anthropic/claude-3-5-sonnet",
    # "openai:gpt-4o", a LiteLLM-style proxy), else the source's own matching by model
    # name, but only when no provider or endpoint was recorded at all.
    if sep and rest and (prefixed := find_provider_by_id(snap.providers, head)) is not None:
        found = prefixed.find_model(rest, all_providers=snap.providers)
        if found is not None:
            return _match(snap, lbl, prefixed, found, service_tier)
        return Unknown(f"model {rest!r} not in {lbl} for provider {prefixed.id!r}", snapshot=snap)
    if pid is None and url is None:
        try:
            by_name, found = snap.find_provider_model(model, None, None, None)
        except LookupError:
            return Unknown(
                f"model {model!r} not in {lbl} (no provider was recorded and the name "
                "matches none)",
                snapshot=snap,
            )
        return _match(snap, lbl, by_name, found, service_tier)
    if pid is not None and pid not in COMPATIBLE:
        where = f" (endpoint {endpoint!r})" if url is not None else ""
        return Unknown(f"provider {provider!r}{where} not in {lbl}", snapshot=snap)
    if url is not None:
        return Unknown(
            f"endpoint {endpoint!r} is not a provider {lbl} knows (a local or private server?)",
            snapshot=snap,
        )
    return Unknown(f"no endpoint was recorded for the {provider!r} provider", snapshot=snap)


def _provider(snap: DataSnapshot, pid: str | None, url: str | None) -> Provider | None:
    try:
        return snap.find_provider(None, pid, url)
    except LookupError:
        return None


def _match(
    snap: DataSnapshot, lbl: str, provider: Provider, model: ModelInfo, service_tier: str | None
) -> Match | Unknown:
    from genai_prices.types import ModelPrice

    source = f"{lbl} {provider.id}/{model.id}"
    # genai-prices applies request variants only to a provider's own models (not to a
    # model borrowed from a fallback provider): do the same.
    ctx: dict[str, str] | None = None
    if service_tier and model.price_variants and any(m is model for m in provider.models):
        ctx = {"service_tier": service_tier}
    constraints: list[Any] = []
    if not isinstance(model.prices, ModelPrice):
        constraints += [cp.constraint for cp in model.prices if cp.constraint is not None]
    if ctx is not None:
        constraints += [
            v.constraint
            for v in model.price_variants or ()
            if v.constraint is not None and all(ctx.get(k) == val for k, val in v.when.items())
        ]
    try:
        if not constraints:
            now = datetime.now(UTC)
            return Match(source, schedule=schedule_of(model.get_prices(now, ctx)), snapshot=snap)
        return Match(source, schedule_at=_Dated(model, ctx, tuple(constraints)), snapshot=snap)
    except (ValueError, ArithmeticError) as exc:
        return Unknown(
            f"{lbl} cannot price {provider.id}/{model.id} from HILT's token counts: {exc}",
            snapshot=snap,
        )


class _Dated:
    """Prices that change with the date (price history) or the time of day (off-peak).

    Which of the model's constraints hold picks the prices, so a schedule is kept per
    combination. Evaluating the constraints costs microseconds, so when they all change
    only on whole minutes (start dates, off-peak hours like 16:30) the answer is also kept
    per minute of the event's timestamp.
    """

    __slots__ = ("_by_minute", "_by_state", "_constraints", "_ctx", "_model", "_whole_minutes")

    def __init__(self, model: ModelInfo, ctx: dict[str, str] | None, constraints: tuple[Any, ...]):
        self._model = model
        self._ctx = ctx
        self._constraints = constraints
        self._by_state: dict[tuple[bool, ...], Schedule] = {}
        self._by_minute: dict[int, Schedule] = {}
        self._whole_minutes = all(_on_whole_minutes(c) for c in constraints)

    def __call__(self, timestamp: datetime) -> Schedule:
        if timestamp.tzinfo is None:  # genai-prices reads naive times as UTC
            timestamp = timestamp.replace(tzinfo=UTC)
        if not self._whole_minutes:
            return self._for_state(timestamp)
        minute = int(timestamp.timestamp() // 60)
        found = self._by_minute.get(minute)
        if found is None:
            found = self._for_state(timestamp)
            if len(self._by_minute) >= 4096:
                self._by_minute = {}
            self._by_minute[minute] = found
        return found

    def _for_state(self, timestamp: datetime) -> Schedule:
        state = tuple(c.active(timestamp) for c in self._constraints)
        found = self._by_state.get(state)
        if found is None:
            found = schedule_of(self._model.get_prices(timestamp, self._ctx))
            self._by_state[state] = found
        return found


def _on_whole_minutes(constraint: object) -> bool:
    from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

    if isinstance(constraint, StartDateConstraint):
        return True
    if isinstance(constraint, TimeOfDateConstraint):
        for t in (constraint.start_time, constraint.end_time):
            offset = t.utcoffset()
            if t.second or t.microsecond or (offset is not None and offset.seconds % 60):
                return False
        return True
    return False


def schedule_of(prices: ModelPrice) -> Schedule:
    """Turn genai-prices' prices into HILT's linear rates, using genai-prices' own
    arithmetic: each rate is the difference its token kind makes to the source's price of
    a probe usage. Prices are linear within a tier, so this is exact; tiers (by prompt
    size) get one probe set each."""
    from genai_prices.types import TieredPrices

    starts = sorted(
        {
            tier.start
            for value in vars(prices).values()
            if isinstance(value, TieredPrices)
            for tier in value.tiers
        }
    )
    probes = [starts[0] if starts else int(PER)] + [s + 1 for s in starts]
    return Schedule(tuple(starts), tuple(_probe(prices, n) for n in probes))


def _probe(prices: ModelPrice, n: int) -> Rates:
    from decimal import Decimal

    from genai_prices.types import Usage

    m = int(PER)

    def total(**usage: int) -> Decimal:
        return prices.calc_price(Usage(**usage))["total_price"]

    base = prices.calc_price(Usage(input_tokens=n))
    per_call = base["total_price"] - base["input_price"] - base["output_price"]
    if n > 0:
        prompt = base["input_price"] / n * m
        cached = (total(input_tokens=n, cache_read_tokens=n) - base["total_price"]) / n * m
        cache_write = (total(input_tokens=n, cache_write_tokens=n) - base["total_price"]) / n * m
    else:  # a tier that only an empty prompt falls in
        prompt = cached = cache_write = Decimal(0)
    with_output = total(input_tokens=n, output_tokens=m)
    completion = with_output - base["total_price"]
    reasoning = total(input_tokens=n, output_tokens=m, output_reasoning_tokens=m) - with_output
    return Rates(
        prompt=float(prompt),
        cached=float(cached),
        cache_write=float(cache_write),
        completion=float(completion),
        reasoning=float(reasoning),
        per_call=float(per_call),
    )
