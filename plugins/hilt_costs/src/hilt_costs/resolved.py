"""What a (provider, model) resolves to: a price, or the reason there is none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hilt_costs.rates import Rates, Schedule


@dataclass(frozen=True, slots=True)
class Match:
    """A price for one (provider, model). ``schedule`` when it never changes, else
    ``schedule_at(timestamp)`` (price history, off-peak hours). ``snapshot`` is the price
    table it came from, so a table replaced by an update is noticed."""

    source: str
    schedule: Schedule | None = None
    schedule_at: Callable[[datetime], Schedule] | None = None
    snapshot: object | None = None
    # The one Rates of a price that has no tiers and never changes: the common case,
    # read without a call.
    rates: Rates | None = None

    def __post_init__(self) -> None:
        if self.schedule is not None and not self.schedule.starts:
            object.__setattr__(self, "rates", self.schedule.rates[0])

    def at(self, timestamp: datetime) -> Schedule:
        if self.schedule is not None:
            return self.schedule
        assert self.schedule_at is not None
        return self.schedule_at(timestamp)


@dataclass(frozen=True, slots=True)
class Unknown:
    """No price: ``reason`` is written on the event; ``hint`` only goes to the log."""

    reason: str
    hint: str = ""
    snapshot: object | None = None
    rates: None = None
