"""Structuring decoded lines into events: cattrs' generated hook against a hand-written one.

    python benchmarks/structure.py                  # 100,000 lines, best of 5 rounds
    python benchmarks/structure.py --lines 20000 --rounds 3

The lines are those ``benchmarks/bench_stats.py`` writes (half prompts, half answers of
the shape the OpenAI provider writes, 2% errors), decoded by orjson beforehand: only the
step from a dict to an ``Event`` is timed. The ways:

- ``cattrs generated``: ``Event.from_dict``, the hook cattrs generates for the attrs class
  (``hilt_core.model.converter()``: ``make_dict_structure_fn``, the model's own attrs
  converters for ``actor`` / ``content`` / ``metrics`` / ``timestamp``, JSON dicts taken
  as they are, nulls left out, no ``hilt_version`` = 0.2);
- ``hand-written, through a converter``: the hook HILT used before (kept below for the
  comparison), registered in a cattrs converter as it was;
- ``hand-written, direct``: the same function called without cattrs' dispatch.

Every way must build equal events from every line (the v1 lines and the log of
hilt-python 0.2.8 in tests/core/data), or the script stops. CPU time of this process
(``time.process_time``), the best of the rounds: the machine may be shared.
The figures go in docs/architecture.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from bench_stats import make_events

from hilt_core import Event, dumps
from hilt_core.model import converter

LEGACY = Path(__file__).parent.parent / "tests" / "core" / "data" / "hilt-0.2.8.jsonl"


def hand_written(data: Any, _cls: Any) -> Event:
    """The structure hook HILT used before cattrs generated it."""
    if not isinstance(data, dict):
        raise TypeError(f"an event must be a JSON object, got {type(data).__name__}")
    kwargs: dict[str, Any] = {
        "session_id": data["session_id"],
        "actor": data["actor"],
        "action": data["action"],
    }
    for key in ("event_id", "timestamp", "content", "metrics", "provenance", "extensions"):
        value = data.get(key)
        if value is not None:
            kwargs[key] = value
    kwargs["hilt_version"] = str(data["hilt_version"]) if "hilt_version" in data else "0.2"
    return Event(**kwargs)


def ways() -> dict[str, Callable[[Any], Event]]:
    from cattrs.preconf.orjson import make_converter

    shipped = converter()
    before = make_converter()
    before.register_structure_hook(Event, hand_written)
    return {
        "cattrs generated (Event.from_dict)": lambda d: shipped.structure(d, Event),
        "hand-written, through a converter": lambda d: before.structure(d, Event),
        "hand-written, direct": lambda d: hand_written(d, Event),
    }


def check_equal(all_ways: dict[str, Callable[[Any], Event]], lines: list[Any]) -> None:
    for data in lines:
        built = [(name, way(data).to_dict()) for name, way in all_ways.items()]
        for name, d in built[1:]:
            if d != built[0][1]:
                raise SystemExit(f"{name} differs on {data}:\n{d}\n{built[0][1]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    lines = [orjson.loads(dumps(e)) for e in make_events(args.lines)]
    legacy = [orjson.loads(line) for line in LEGACY.read_bytes().splitlines()]
    all_ways = ways()
    check_equal(all_ways, lines[:2000] + legacy)

    raw = [orjson.dumps(d) for d in lines]
    decode = float("inf")
    best: dict[str, float] = dict.fromkeys(all_ways, float("inf"))
    for _ in range(args.rounds):
        t0 = time.process_time()
        for line in raw:
            orjson.loads(line)
        decode = min(decode, time.process_time() - t0)
        for name, way in all_ways.items():  # interleaved: a busy moment hits every way
            t0 = time.process_time()
            for data in lines:
                way(data)
            best[name] = min(best[name], time.process_time() - t0)

    base = best["cattrs generated (Event.from_dict)"]
    print(f"{len(lines):,} lines, best of {args.rounds} rounds (CPU seconds)")
    for name, seconds in [("orjson.loads of the line (for scale)", decode), *best.items()]:
        print(
            f"  {name:36s} {seconds:6.3f} s  {seconds / len(lines) * 1e6:5.2f} µs/line"
            f"  {seconds / base:5.2f}x"
        )


if __name__ == "__main__":
    main()
