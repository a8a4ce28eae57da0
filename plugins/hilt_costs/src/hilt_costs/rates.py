"""Prices reduced to arithmetic: what one call costs, given HILT's token counts.

HILT counts tokens the way OpenAI reports them: ``prompt`` includes the ``cached`` (and
``cache_write``) tokens, ``completion`` includes the ``reasoning`` tokens. A price table
charges each part at its own rate, so within one price tier the cost is linear in those
counts; :class:`Rates` holds the coefficients, and a :class:`Schedule` holds one
:class:`Rates` per tier of prompt size.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

PER = 1_000_000.0


@dataclass(frozen=True, slots=True)
class Rates:
    """Dollars per million tokens. ``cached``, ``cache_write`` and ``reasoning`` are what
    such a token costs *more* than a plain prompt (or completion) token, usually negative
    for cached tokens; ``per_call`` is dollars per call. A call costs::

        per_call + (prompt * rates.prompt + cached * rates.cached
                    + cache_write * rates.cache_write + completion * rates.completion
                    + reasoning * rates.reasoning) / 1e6
    """

    prompt: float
    cached: float
    cache_write: float
    completion: float
    reasoning: float
    per_call: float = 0.0

    @classmethod
    def flat(
        cls,
        input_per_mtok: float,
        output_per_mtok: float,
        cached_input_per_mtok: float | None = None,
        cache_write_per_mtok: float | None = None,
        reasoning_per_mtok: float | None = None,
    ) -> Rates:
        """From a price list; a part without its own price is charged as input (output)."""
        return cls(
            prompt=input_per_mtok,
            cached=_delta(cached_input_per_mtok, input_per_mtok),
            cache_write=_delta(cache_write_per_mtok, input_per_mtok),
            completion=output_per_mtok,
            reasoning=_delta(reasoning_per_mtok, output_per_mtok),
        )


def _delta(price: float | None, base: float) -> float:
    return 0.0 if price is None else price - base


@dataclass(frozen=True, slots=True)
class Schedule:
    """Rates by prompt size: ``rates[i]`` applies when the prompt has more than
    ``starts[i - 1]`` tokens (and ``rates[0]`` up to ``starts[0]``); a tier then prices the
    whole call, as providers' long-context prices do."""

    starts: tuple[int, ...]
    rates: tuple[Rates, ...]

    @classmethod
    def single(cls, rates: Rates) -> Schedule:
        return cls((), (rates,))

    def for_prompt(self, prompt: int) -> Rates:
        if not self.starts:
            return self.rates[0]
        return self.rates[bisect_left(self.starts, prompt)]
